"""One experiment: scenario points x replications, planned, run, decided, summarised.

Every way resim runs the model many times goes through :class:`Experiment`:
a run is one point, a paired comparison two, a sweep or a sensitivity design
many. It owns the loop the layers below know nothing of:

1. **plan** the units still to run, ``(point, replication)``, from what a
   sink already holds (a resumed sweep holds some);
2. **run** them on an executor (in process, a process pool, Dask), where each
   unit is ``replications.simulate_replication`` of its point - pure, so the
   executor and the number of workers never change a result;
3. **decide**, with a precision target (``--target-ci``), whether a point
   needs more replications (``sequential.decide``, Hoad et al.'s rule), and
   plan another round; without one, every point runs its replications once;
4. **summarise** each point's KPIs (``kpis.summarise_kpis``).

Replication r of every point draws from child r of the scenario seed, so
points are paired (common random numbers). Where results go is the sink's
business: :class:`Memory` keeps them (whole record tables for a run, KPI
rows for a comparison); :class:`Stored` has the workers write them as
Parquet parts of a sweep store (crash-safe, resumable, memory flat).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from ..model.kpis import summarise_kpis
from ..model.records import Records
from ..scenario import Loaded
from .executors import DaskConnection, execute
from .interrupts import as_interrupted
from .price_outcomes import with_price_kpis
from .replications import RESULT_COLUMNS, died_output, kpi_rows, simulate_replication
from .sequential import Decision, Target, decide, first_batch, values
from .store import SweepStore

#: A unit of work: (point, replication).
Unit = tuple[int, int]


@dataclass(frozen=True)
class Work:
    """What every worker needs, sent once per worker: the points, whether a
    unit's whole record tables come back (``records``) or only its KPI rows,
    and where a worker stores its rows itself (a sweep's parts folder)."""

    points: tuple[Loaded, ...]
    records: bool = True
    parts: Path | None = None


def unit_result(work: Work, unit: Unit, outcome: Records) -> Records | pd.DataFrame:
    """A unit's result as the sink keeps it: the record tables, or the KPI rows."""
    point, _ = unit
    if work.records:
        return outcome
    return with_price_kpis(kpi_rows([outcome], work.points[point]).assign(point=point)[RESULT_COLUMNS], outcome)


def run_units(work: Work, units: Sequence[Unit]) -> list[Any]:
    """Worker task: simulate each unit. With a parts folder the worker stores
    the KPI rows itself (the parent only counts) and returns error counts."""
    results = [unit_result(work, u, simulate_replication(work.points[u[0]], u[1])) for u in units]
    if work.parts is None:
        return results
    SweepStore(work.parts.parent).write_part(pd.concat(results, ignore_index=True))
    return [int(r["error"].notna().sum()) for r in results]


class Sink(Protocol):
    """Where an experiment's results go, and what it already holds."""

    chunk_max: int

    def work(self, points: Sequence[Loaded]) -> Work: ...

    def done(self) -> set[Unit]: ...

    def take(self, units: Sequence[Unit], results: Sequence[Any]) -> int:
        """Keep a finished chunk's results; the number of failed units."""

    def rows(self, point: int) -> pd.DataFrame:
        """The KPI rows of ``point`` held so far (for the sequential rule)."""


class Memory:
    """Results kept in this process: a run's record tables (``records=True``)
    or a comparison's KPI rows."""

    def __init__(self, records: bool = True):
        self.records = records
        self.chunk_max = 8  # small chunks: an interrupt loses at most the chunks in progress
        self.results: dict[Unit, Any] = {}
        self._points: Sequence[Loaded] = ()

    def work(self, points: Sequence[Loaded]) -> Work:
        self._points = points
        return Work(tuple(points), self.records)

    def done(self) -> set[Unit]:
        return set(self.results)

    def take(self, units: Sequence[Unit], results: Sequence[Any]) -> int:
        self.results.update(zip(units, results, strict=True))
        return sum(_errors(r) for r in results)

    def of(self, point: int, keep: int | None = None) -> list[Any]:
        """``point``'s results in replication order (the first ``keep``)."""
        reps = sorted(r for p, r in self.results if p == point)
        return [self.results[point, r] for r in reps if keep is None or r < keep]

    def rows(self, point: int) -> pd.DataFrame:
        held = self.of(point)
        if self.records:
            return kpi_rows(held, self._points[point])
        return pd.concat(held, ignore_index=True) if held else pd.DataFrame(columns=RESULT_COLUMNS)


class Stored:
    """A sweep's results: KPI rows written as Parquet parts of ``store`` by
    the workers (or by this process for Dask workers, which may not share
    the disk), so a killed sweep keeps every finished part."""

    def __init__(self, store: SweepStore, in_workers: bool = True):
        self.store = store
        self.in_workers = in_workers
        self.chunk_max = 32
        self._parts: pd.DataFrame | None = None  # read once per round, not once per point

    def work(self, points: Sequence[Loaded]) -> Work:
        return Work(tuple(points), records=False, parts=self.store.parts if self.in_workers else None)

    def done(self) -> set[Unit]:
        return self.store.done_units()

    def take(self, units: Sequence[Unit], results: Sequence[Any]) -> int:
        self._parts = None
        frames = [r for r in results if isinstance(r, pd.DataFrame)]
        if frames:
            self.store.write_part(pd.concat(frames, ignore_index=True))
        return sum(_errors(r) for r in results)

    def rows(self, point: int) -> pd.DataFrame:
        if self._parts is None:
            self._parts = self.store.read_parts()
        return self._parts[self._parts["point"] == point]


def _errors(result: Any) -> int:
    if isinstance(result, int):
        return result
    if isinstance(result, pd.DataFrame):
        return int(result["error"].notna().sum())
    return int(result.error is not None)


def prefix(done: set[Unit], point: int) -> int:
    """How many replications of ``point``, from 0 on, are held without a gap."""
    m = 0
    while (point, m) in done:
        m += 1
    return m


class Experiment:
    """Points x replications, run in rounds until every point is decided.

    ``replications`` is each point's number of replications, or with a
    ``target`` the most it may run. ``progress(units, failed)`` is called as
    chunks finish; ``on_total(units, done)`` each round with the units known
    so far (so a progress bar's estimate is the round's, not the cap's)."""

    def __init__(self, points: Sequence[Loaded], replications: int, *, target: Target | None = None,
                 workers: int = 1, dask: DaskConnection | None = None, sink: Sink | None = None,
                 chunk: int | None = None, progress: Callable[[int, int], None] | None = None,
                 on_total: Callable[[int, int], None] | None = None):
        self.points = list(points)
        self.cap = replications
        self.target = target
        self.workers = max(1, workers)
        self.dask = dask
        self.sink: Sink = sink if sink is not None else Memory()
        self.chunk = chunk
        self.progress = progress
        self.on_total = on_total
        start = replications if target is None else first_batch(replications)
        self.totals = [start] * len(self.points)
        self.decisions: list[Decision] | None = None

    # ------------------------------------------------------------------ loop
    def run(self) -> Experiment:
        """Plan, run and decide until no point needs more; ``self``."""
        while True:
            todo = self.plan()
            if self.on_total:
                self.on_total(len(self.sink.done()) + len(todo), len(self.sink.done()))
            self._execute(todo)
            if not self.decide():
                return self

    def plan(self) -> list[Unit]:
        """The units the current round still has to run, point by point."""
        done = self.sink.done()
        return [(p, r) for p, total in enumerate(self.totals) for r in range(total) if (p, r) not in done]

    def decide(self) -> bool:
        """With a target: each point's decision, and whether another round is
        needed (the totals grow for the points that need more)."""
        if self.target is None:
            return False
        done = self.sink.done()
        self.decisions = [self._decide(p, prefix(done, p)) for p in range(len(self.points))]
        more = [p for p, d in enumerate(self.decisions) if d.status == "more"]
        if more:
            self._grow(more, done)
        return bool(more)

    def _grow(self, more: list[int], done: set[Unit]) -> None:
        """Raise the totals of the points that need more: to their decision's
        next total, and by at least a share of the workers each, so a round
        keeps every worker busy."""
        step = max(1, math.ceil(self.workers / len(more)))
        for p in more:
            self.totals[p] = min(self.cap, max(self.decisions[p].next_total or 0, prefix(done, p) + step))

    def _decide(self, point: int, held: int) -> Decision:
        horizon = float(self.points[point].scenario.scenario.horizon)
        assert self.target is not None
        return decide(values(self.sink.rows(point), self.target, horizon, held), self.target, self.cap)

    def kept(self, point: int) -> int:
        """Replications ``point`` keeps: its decision's, else all it ran."""
        return self.decisions[point].replications if self.decisions else self.totals[point]

    def summarise(self) -> list[dict[str, dict[str, Any]]]:
        """Per point, the ``kpis`` block of summary.json over the kept replications."""
        out = []
        for p in range(len(self.points)):
            rows = self.sink.rows(p)
            out.append(summarise_kpis(rows[rows["replication"] < self.kept(p)]))
        return out

    # ------------------------------------------------------------- execution
    def _chunk(self, todo: Sequence[Unit]) -> int:
        if self.chunk:
            return self.chunk
        if self.workers <= 1 and isinstance(self.sink, Memory):
            return 1
        return max(1, min(self.sink.chunk_max, math.ceil(len(todo) / (self.workers * 8)) if todo else 1))

    def _execute(self, todo: Sequence[Unit]) -> None:
        work = self.sink.work(self.points)
        workers = max(1, min(self.workers, len(todo) or 1))
        try:
            for units, results in execute(run_units, work, todo, workers=workers, chunk=self._chunk(todo),
                                          dask=self.dask, died=lambda u, why: self._died(work, u, why)):
                failed = self.sink.take(units, results)
                if self.progress:
                    self.progress(len(units), failed)
        except KeyboardInterrupt as e:
            raise as_interrupted(e, self._finished()) from None

    @staticmethod
    def _died(work: Work, unit: Unit, reason: str) -> Any:
        return unit_result(work, unit, died_output(unit[1], reason))

    def _finished(self) -> list[Any]:
        """What an interrupt keeps: a one-point run's finished replications, in order."""
        if isinstance(self.sink, Memory) and len(self.points) == 1:
            return self.sink.of(0)
        return []


def run_points(points: Iterable[Loaded], replications: int, workers: int = 1,
               records: bool = True, progress: Callable[[int], None] | None = None) -> Memory:
    """Every replication of each point, kept in memory (a run, a comparison)."""
    sink = Memory(records)
    Experiment(list(points), replications, workers=workers, sink=sink,
               progress=(lambda n, _: progress(n)) if progress else None).run()
    return sink


__all__ = ["Experiment", "Memory", "Stored", "Unit", "Work", "prefix", "run_points", "run_units"]
