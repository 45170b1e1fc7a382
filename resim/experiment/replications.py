"""Execution: a run's replications, serially or on a process pool.

The work is ``simulate_replication`` (model + that replication's KPIs), which
is pure; ``resim.experiment.executors`` only schedules it. Results come back ordered by
replication index whatever the number of workers, and each replication's
random streams derive from its index alone, so ``--workers 1`` and
``--workers 8`` write identical files. A replication that raises, or whose
worker process dies, becomes an output with its error (a row with its seed),
never a crashed batch; an interrupt keeps the replications that finished.
"""

from __future__ import annotations

import math
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ..model.kpis import METRICS, replication_kpis
from ..model.records import Records
from ..model.replication import run_one
from ..scenario import Loaded
from . import executors
from .executors import DaskConnection
from .interrupts import as_interrupted

#: Worker processes allowed per core: more only adds memory and switching.
WORKERS_PER_CORE = 4
#: Most replications sent to a worker in one task.
CHUNK_MAX = 8


def monthly_flows(flows: dict[str, list[Any]], start: date) -> pd.DataFrame:
    """Shipments by departure month, origin, destination and product, from
    the flow table's columns (a few hundred rows per replication: summed in
    a dict, which costs a tenth of a pandas groupby)."""
    cols = ["month", "origin", "destination", "product", "tonnes"]
    if not flows["day"]:
        return pd.DataFrame(columns=cols)
    days = np.asarray(flows["day"], dtype=float).astype("int64")
    month = (np.datetime64(start, "D") + days.astype("timedelta64[D]")).astype("datetime64[M]").astype(str)
    sums: dict[tuple[str, str, str, str], float] = {}
    keys = zip(month.tolist(), flows["origin"], flows["destination"], flows["product"], strict=True)
    for key, t in zip(keys, flows["tonnes"], strict=True):
        sums[key] = sums.get(key, 0.0) + t
    keys = sorted(sums)
    return pd.DataFrame([(*k, sums[k]) for k in keys], columns=cols)


def simulate_replication(loaded: Loaded, replication: int) -> Records:
    """Run one replication and its KPIs; an exception becomes an error row.
    Under ``--posterior`` the replication first draws its parameter values
    (from its own named stream: the same draw in every scenario of a
    comparison)."""
    try:
        if loaded.posterior is not None:
            from ..calibration.posterior import replication_scenario

            loaded = replication_scenario(loaded, loaded.posterior, replication)
        rec = run_one(loaded, replication)
        output = loaded.scenario.output
        rec.kpis = replication_kpis(rec.timeseries.frame(), rec.costs.frame(), rec.firms.frame())
        rec.monthly = monthly_flows(rec.flows.data, loaded.scenario.scenario.start_date)
        rec.flows = None  # summed by month: the raw rows stay in the worker
        if not output.firm_records:
            rec.firms = None
        if not output.stocks:
            rec.stocks = None
        return rec
    except Exception as exc:  # noqa: BLE001 - isolation is the point
        tb = traceback.format_exc(limit=-3).strip().splitlines()
        where = tb[-3].strip() if len(tb) >= 3 else ""
        return Records(replication=replication, error=f"{type(exc).__name__}: {exc} [{where}]")


def _replicate(loaded: Loaded, reps: Sequence[int]) -> list[Records]:
    return [simulate_replication(loaded, r) for r in reps]


def died_output(replication: int, reason: str) -> Records:
    """The output of a replication whose worker process died running it."""
    return Records(replication=replication, error=f"WorkerDied: {reason}")


def cores() -> int:
    """Cores this process may run on."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def default_workers() -> int:
    return cores()


def cap_workers(workers: int, units: int, announce: bool = True) -> int:
    """``workers`` capped at the number of units and at 4x the cores, saying
    so on stderr: ``--workers 1000`` must not fork a thousand processes."""
    limit = max(1, min(units, WORKERS_PER_CORE * cores()))
    if workers > limit:
        if announce:
            why = f"{units} units of work" if limit == units else f"{WORKERS_PER_CORE} x {cores()} cores"
            print(f"resim: --workers {workers} capped at {limit} ({why})", file=sys.stderr)
        return limit
    return workers


def run_replications(
    loaded: Loaded,
    replications: Sequence[int],
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[Records]:
    """Run replications, in order of index, on ``workers`` processes.

    On Ctrl-C or SIGTERM raises :class:`resim.experiment.interrupts.Interrupted` whose
    ``finished`` holds the outputs that completed, in order of index."""
    reps = list(replications)
    workers = max(1, min(workers, len(reps) or 1))
    # small chunks: a chunk's replications come back together, so an
    # interrupt loses at most the chunks in progress
    size = 1 if workers <= 1 else max(1, min(CHUNK_MAX, math.ceil(len(reps) / (workers * 8))))
    results: dict[int, Records] = {}
    try:
        for chunk, outs in executors.execute(_replicate, loaded, reps, workers=workers, chunk=size,
                                             died=died_output):
            for o in outs:
                results[o.replication] = o
            if progress:
                progress(len(chunk))
    except KeyboardInterrupt as e:
        raise as_interrupted(e, [results[r] for r in reps if r in results]) from None
    return [results[r] for r in reps]


def _apply(fn: Callable[..., Any], units: Sequence[tuple[int, tuple[Any, ...]]]) -> list[tuple[int, Any]]:
    return [(i, fn(*task)) for i, task in units]


def _task_died(unit: tuple[int, tuple[Any, ...]], reason: str) -> Any:
    raise RuntimeError(f"task {unit[0]} failed: {reason}")


def execute(
    fn: Callable[..., Any],
    tasks: Sequence[tuple[Any, ...]],
    workers: int = 1,
    dask: str | None = None,
) -> Iterator[tuple[int, Any]]:
    """Run ``fn(*task)`` for each task; yield ``(task index, result)`` as they
    finish (callers order results by index, so the executor never changes them).

    For work that has no failure row of its own (calibration's batches): a
    task whose worker process dies raises. Interrupts and dead workers are
    handled as in ``resim.experiment.executors.execute``."""
    units = list(enumerate(tasks))
    conn = DaskConnection(dask, workers) if dask else None
    try:
        for _, results in executors.execute(_apply, fn, units, workers=workers, chunk=1, died=_task_died,
                                            dask=conn):
            yield from results
    finally:
        if conn is not None:
            conn.close()


KPI_COLUMNS = ["replication", "automaker", *METRICS, "error", "seed_entropy"]


def kpi_rows(outputs: Sequence[Records], loaded: Loaded) -> pd.DataFrame:
    """One row per replication x automaker with every KPI; a failed
    replication is one row with its error. Replication r is reproduced by
    ``SeedSequence(seed_entropy, spawn_key=(r,))``: two integer columns a
    frame can filter and join on, not a JSON string."""
    frames = []
    entropy = int(loaded.scenario.scenario.seed)
    for o in outputs:
        if o.error:
            frames.append(pd.DataFrame([{"replication": o.replication, "automaker": None,
                                         **{m: math.nan for m in METRICS}, "error": o.error}]))
        else:
            frames.append(o.kpis.assign(replication=o.replication, error=None))  # type: ignore[union-attr]
    if not frames:
        return pd.DataFrame(columns=KPI_COLUMNS).astype({"replication": "int64", "seed_entropy": "int64"})
    out = pd.concat(frames, ignore_index=True).assign(seed_entropy=entropy)[KPI_COLUMNS]
    return out.astype({"replication": "int64", "seed_entropy": "int64", "error": "string", "automaker": "string"})

