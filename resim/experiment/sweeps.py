"""Sweeps: many design points x many replications, streamed to a store.

Replication r of every point uses the same seed sequence (child r of the
scenario seed), so differences between points are paired (common random
numbers). Work is cut into chunks of (point, replication) units so per-task
overhead is amortised; each finished chunk becomes a Parquet part, written by
the worker process that ran it (the parent only counts: encoding and fsyncing
parts in the parent kept it on the critical path), or by the parent for Dask
workers that may not share the disk. The design points reach each worker once,
not with every task. The final tables are sorted by point, replication and
automaker, so the executor and the number of workers never change them.

The folder is held by ``resim.experiment.runfolder`` for the whole sweep (one writer);
an interrupt keeps the parts, and ``--resume`` finishes the sweep.

With ``target`` (``--target-ci``) each point replicates in rounds until its
own target is met (``resim.experiment.sequential``); every point keeps exactly the
prefix of replications the rule asks for, so the rows do not depend on the
rounds, the workers or an interruption. A ``sobol`` or ``morris`` design ends
with its sensitivity indices (``sensitivity.parquet``, ``resim.experiment.sensitivity``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..api import load_scenario, with_posterior
from ..model.kpis import METRICS, summarise_kpis
from ..scenario import Loaded
from ..scenario.errors import ScenarioError
from .budget import check_memory, check_sweep, sweep_budget
from .design import INDEX_SAMPLERS, Point, build_points, design_origin, design_size, make_design
from .executors import DaskConnection, execute
from .point_outcomes import horizon_of
from .replications import cap_workers, default_workers, died_output, kpi_rows, simulate_replication
from .runfolder import RunFolder, WriteError, read_marker
from .sequential import Decision, Target, check_target, decide, first_batch, values
from .store import SweepStore, design_hash, write_parquet, write_text

RESULT_COLUMNS = ["point", "replication", "automaker", *METRICS, "error", "seed_entropy"]


@dataclass
class SweepResults:
    """A finished sweep: ``points``, ``results`` (tidy) and per-point ``summary``."""

    out: Path
    keys: list[str]
    points: pd.DataFrame
    results: pd.DataFrame
    summary: pd.DataFrame
    failures: list[dict[str, Any]]
    runtime_s: float
    sampler: str = "grid"
    #: Sobol or Morris indices (``--sampler sobol|morris``), else None; ``notes``: what they left out.
    sensitivity: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    #: (KPI, automaker) pairs the same at every point: no key changes them, so no indices.
    constant: list[tuple[str, str]] = field(default_factory=list)
    #: Per point, the sequential rule's decision (``--target-ci``), else empty.
    sequential: list[dict[str, Any]] = field(default_factory=list)

    def __repr__(self) -> str:
        from ..output.notebook import sweep_text

        return sweep_text(self)

    def _repr_html_(self) -> str:
        from ..output.notebook import sweep_html

        return sweep_html(self)

    def plot_heatmap(self, x: str, y: str, metric: str = "vehicles_lost", automaker: str = "all"):  # noqa: ANN201
        from ..output.figures.sweep import sweep_heatmap

        return sweep_heatmap(self.summary, x, y, metric, automaker)

    def plot_lines(self, x: str, metric: str = "vehicles_lost", automaker: str = "all", by: str | None = None):  # noqa: ANN201
        from ..output.figures.sweep import sweep_lines

        return sweep_lines(self.summary, x, metric, automaker, by)

    def plot_scatter(self, metric: str = "vehicles_lost", automaker: str = "all"):  # noqa: ANN201
        """Each point's mean against each swept key, with binned means (sampled designs)."""
        from ..output.figures.scatter import sweep_scatter

        return sweep_scatter(self.summary, self.keys, metric, automaker)

    def discover(self, where: str, automaker: str = "all", min_coverage: float = 0.8,  # noqa: ANN201
                 max_quasi_p: float = 0.05):
        """PRIM over this sweep, as ``resim discover``: a PrimBox with
        ``show_tradeoff()``, ``inspect(i)`` and ``select(i)`` (EMA Workbench's names)."""
        from ..output.prim_box import PrimBox
        from .discovery import discover

        return PrimBox(discover(self.out, where, automaker, min_coverage, max_quasi_p))

    def plot_sensitivity(self, kpi: str = "vehicles_lost"):  # noqa: ANN201
        """Sobol or Morris indices of ``kpi`` with their CIs (sobol and morris sweeps)."""
        from ..output.figures.sensitivity import index_bars

        if self.sensitivity is None:
            raise ValueError(f"a {self.sampler} sweep has no sensitivity indices; use --sampler sobol or morris")
        return index_bars(self.sensitivity, kpi)


def _units(points: int, reps: int) -> list[tuple[int, int]]:
    return [(p, r) for p in range(points) for r in range(reps)]


@dataclass(frozen=True)
class _Payload:
    """What every worker needs: the checked design points, and where to
    store parts (None: send rows back to the parent)."""

    points: list[Loaded]
    parts: Path | None


def _unit_rows(points: Sequence[Loaded], point: int, replication: int) -> pd.DataFrame:
    loaded = points[point]
    return kpi_rows([simulate_replication(loaded, replication)], loaded).assign(point=point)[RESULT_COLUMNS]


def run_units(payload: _Payload, units: Sequence[tuple[int, int]]) -> list[pd.DataFrame | int]:
    """Worker task: the KPI rows of some (point, replication) units (a unit
    that raises becomes a row with its error and seed). With a parts folder
    the worker stores them itself and returns each unit's error count."""
    frames = [_unit_rows(payload.points, p, r) for p, r in units]
    if payload.parts is None:
        return list(frames)
    SweepStore(payload.parts.parent).write_part(pd.concat(frames, ignore_index=True))
    return [int(f["error"].notna().sum()) for f in frames]


def _died_rows(points: Sequence[Loaded], unit: tuple[int, int], reason: str) -> pd.DataFrame:
    point, replication = unit
    loaded = points[point]
    return kpi_rows([died_output(replication, reason)], loaded).assign(point=point)[RESULT_COLUMNS]


def summarise(results: pd.DataFrame, points: pd.DataFrame, keys: Sequence[str],
              horizon: Any = None) -> pd.DataFrame:
    """One row per point x automaker: mean, 95% CI and p50 of each KPI, from
    the same summariser as a run's summary.json (``kpis.summarise_kpis``;
    ``horizon``, one number or one per point, bounds the KPIs in days)."""
    rows = []
    for point, g in results.groupby("point", sort=False):
        h = None if horizon is None else float(horizon if np.ndim(horizon) == 0 else horizon[int(point)])
        for who, block in summarise_kpis(g, h).items():
            row: dict[str, Any] = {"point": int(point), "automaker": who,
                                   "replications": block["stockout_probability"]["n"]}
            for m in (*METRICS, "stockout_probability"):
                row[f"{m}_mean"] = block[m]["mean"]
                row[f"{m}_ci_low"], row[f"{m}_ci_high"] = block[m]["ci95"]
                if m != "stockout_probability":
                    row[f"{m}_p50"] = block[m]["p50"]
            rows.append(row)
    s = pd.DataFrame(rows)
    if s.empty:
        return s
    s = points.merge(s, on="point", how="right")
    return s.astype({c: float for c in s.columns if c.endswith(("_mean", "_ci_low", "_ci_high", "_p50"))})


def sweep(
    scenario: str | Path | Mapping[str, Any] | Loaded,
    grid: Mapping[str, Sequence[Any]] | None = None,
    sampler: str = "grid",
    ranges: Sequence[tuple[str, float, float]] = (),
    samples: int | None = None,
    replications: int | None = None,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    workers: int | None = None,
    dask: str | None = None,
    out: str | Path = "results/sweep",
    resume: bool = False,
    chunk: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_design: Callable[[int, int], None] | None = None,
    on_total: Callable[[int, int], None] | None = None,
    report: bool = True,
    overwrite: bool = False,
    max_memory: int | None = None,
    announce: bool = True,
    posterior: str | Path | None = None,
    target: Target | None = None,
    max_hours: str | float | None = None,
) -> SweepResults:
    """Run a sweep; see ``resim sweep --help``. Raises ScenarioError on bad
    input (before anything is written), ``resim.experiment.interrupts.Interrupted`` on
    Ctrl-C or SIGTERM (the finished parts are kept: finish with ``resume``).

    ``workers`` (default: the cores) is capped at the units and 4 x the cores (``announce`` says
    so on stderr). ``report=False`` skips report.html (a few seconds of plotting), e.g. when
    timing the executors alone. With ``posterior`` (a ``resim calibrate``
    folder) every replication of every point draws the fitted parameters
    from the posterior (the same draw at every point: still paired). With
    ``target`` (``resim.experiment.sequential.parse_target``) each point replicates
    until its target is met, ``replications`` being the most per point.

    ``on_design(units, done)`` is called once the design is checked (units
    at most, units already done on resume); with ``target``,
    ``on_total(units, done)`` each round with the units known so far (done
    plus the round's), so a progress bar's ETA is not the cap's."""
    t0 = time.perf_counter()
    base = with_posterior(load_scenario(scenario, overrides), posterior)
    n = replications or base.scenario.sweep.replications
    check_sweep(base.scenario, base.source, design_size(base, grid, sampler, samples, ranges), n)
    if target is not None:
        check_target(target, base)
    keys, design = make_design(base, grid, sampler, ranges, samples)
    points = [replace(p, posterior=base.posterior)
              for p in build_points(base, design, design_origin(grid, sampler))]
    workers = cap_workers(max(1, workers or default_workers()), len(design) * n, announce)
    for p in points:
        check_memory(p, workers, max_memory)
    sweep_budget(points, n, workers, max_hours)  # --max-hours (default budget.DEFAULT_MAX_HOURS)
    spec = {
        "source": base.source,
        "scenario": base.scenario.model_dump(mode="json", by_alias=True, exclude_none=True),
        "keys": keys,
        "points": design,
        "replications": n,
        "sampler": sampler,
        "posterior": None if base.posterior is None else base.posterior.source,
    }
    if sampler in INDEX_SAMPLERS:
        from .sensitivity import plan

        spec["sensitivity"] = plan(sampler, ranges, int(samples or 0), base.scenario.scenario.seed)
    if target is not None:
        spec["target"] = target.to_json()
    # the identity is the content: another spelling of the same file resumes
    spec["design_id"] = design_hash({k: v for k, v in spec.items() if k != "source"})
    conn = DaskConnection(dask, workers) if dask else None  # a bad address: exit 2, nothing written
    try:
        with RunFolder(out, "sweep", overwrite) as folder:
            store = SweepStore(folder.out)
            done = _open(folder, store, spec, resume, overwrite, str(out))
            folder.unmark()
            if on_design:
                on_design(len(design) * n, len(done))
            payload = _Payload(points, None if conn else store.parts)

            def run(todo: list[tuple[int, int]]) -> None:
                size = chunk or max(1, min(32, math.ceil(len(todo) / (workers * 8)) if todo else 1))
                for units, results in execute(run_units, payload, todo, workers=workers, chunk=size, dask=conn,
                                              died=lambda u, why: _died_rows(points, u, why)):
                    frames = [r for r in results if isinstance(r, pd.DataFrame)]
                    if frames:
                        store.write_part(pd.concat(frames, ignore_index=True))
                    if progress:
                        progress(len(units), sum(r if isinstance(r, int) else int(r["error"].notna().sum())
                                                 for r in results))

            try:
                decisions = None
                if target is None:
                    run([u for u in _units(len(design), n) if u not in done])
                else:
                    decisions = _rounds(store, points, target, n, workers, run, on_total)
                res = finish(store, keys, design, time.perf_counter() - t0, report, decisions)
            except OSError as e:
                raise WriteError(f"could not store the sweep's results in {out} ({e.strerror or e}); the "
                                 "finished parts are kept: free some space and finish with --resume") from None
            folder.mark("complete", units=len(res.results.drop_duplicates(["point", "replication"])),
                        failures=len(res.failures))
            return res
    finally:
        if conn is not None:
            conn.close()


def _prefix(done: set[tuple[int, int]], point: int) -> int:
    """How many replications of ``point``, from 0 on, are stored without a gap."""
    m = 0
    while (point, m) in done:
        m += 1
    return m


def _rounds(store: SweepStore, points: Sequence[Loaded], target: Target, cap: int, workers: int,
            run: Callable[[list[tuple[int, int]]], None],
            on_total: Callable[[int, int], None] | None = None) -> list[Decision]:
    """Replicate every point in rounds until its target is met or ``cap`` is
    reached; the decisions. A resumed sweep starts from its stored units."""
    totals = [first_batch(cap)] * len(points)
    while True:
        done = store.done_units()
        todo = [(p, r) for p, t in enumerate(totals) for r in range(t) if (p, r) not in done]
        if on_total:
            on_total(len(done) + len(todo), len(done))
        run(todo)
        done = store.done_units()
        by_point = dict(tuple(store.read_parts().groupby("point", sort=False)))
        decisions = []
        for p, loaded in enumerate(points):
            v = values(by_point[p], target, float(loaded.scenario.scenario.horizon), _prefix(done, p))
            decisions.append(decide(v, target, cap))
        more = [p for p, d in enumerate(decisions) if d.status == "more"]
        if not more:
            return decisions
        step = max(1, math.ceil(workers / len(more)))
        for p in more:
            totals[p] = min(cap, max(decisions[p].next_total or 0, _prefix(done, p) + step))


def _open(folder: RunFolder, store: SweepStore, spec: dict[str, Any], resume: bool, overwrite: bool,
          label: str) -> set[tuple[int, int]]:
    """Start the store, or reopen it to resume; the units already done.

    A finished sweep is replaced by a new one, as a run replaces a run; an
    unfinished one (killed, interrupted) holds work a plain rerun would throw
    away, so it is kept unless ``--resume`` or ``--overwrite`` says what to do."""
    if store.exists() and folder.existing == "sweep" and not overwrite:
        finished = (read_marker(folder.out) or {}).get("status") == "complete"
        if not resume and not finished:
            raise ScenarioError(label, "", "holds an unfinished sweep; use --resume to finish it, --overwrite to "
                                "start again, or choose another --out")
        if resume:
            if store.read_design().get("design_id") != spec["design_id"]:
                what = "drop --resume to replace it" if finished else "use --overwrite to start again"
                raise ScenarioError(label, "--resume", "the sweep in this directory has a different design or "
                                    f"scenario; {what}, or choose another --out")
            store.clean_temporaries()
            return store.done_units()
    if folder.existing:
        folder.clear()
    store.start(spec)
    return set()


def finish(store: SweepStore, keys: list[str], design: list[Point], runtime: float,
           report: bool = True, decisions: Sequence[Decision] | None = None) -> SweepResults:
    """Assemble the final tables from the parts (sorted, so executors agree);
    with ``decisions`` (sequential replications) each point keeps the
    replications its decision names; a sobol or morris design gets its indices."""
    parts = store.read_parts()
    points = pd.DataFrame([{"point": i, **p} for i, p in enumerate(design)])
    if decisions is not None:
        keep = parts["point"].map({p: d.replications for p, d in enumerate(decisions)})
        parts = parts[parts["replication"] < keep].reset_index(drop=True)
    order = {name: i for i, name in enumerate(dict.fromkeys(parts["automaker"].dropna()))}
    if "all" in order:
        order["all"] = len(order) + 1
    parts = parts.assign(_o=parts["automaker"].map(order).fillna(-1))
    parts = parts.sort_values(["point", "replication", "_o"], kind="stable").drop(columns="_o")
    results = points.merge(parts, on="point", how="right")
    results = results[["point", *keys, *[c for c in RESULT_COLUMNS if c != "point"]]].reset_index(drop=True)
    design_doc = store.read_design()
    summary = summarise(results[RESULT_COLUMNS], points, keys, horizon_of(design_doc, points))
    write_parquet(store.root / "points.parquet", points)
    write_parquet(store.root / "results.parquet", results)
    write_parquet(store.root / "summary.parquet", summary)
    failures = [
        {"point": int(r.point), "replication": int(r.replication), "error": r.error,
         "seed_entropy": int(r.seed_entropy)}
        for r in results[results["error"].notna()].itertuples()
    ]
    sequential = [] if decisions is None else [{"point": p, **d.to_json()} for p, d in enumerate(decisions)]
    sens, notes, constant = None, [], []
    if design_doc.get("sensitivity") and len(results):
        from .point_outcomes import point_outcomes
        from .sensitivity import analyse, write_sensitivity

        found = analyse(point_outcomes(results, horizon_of(design_doc, points)), design_doc["sensitivity"],
                        len(points))
        write_sensitivity(store.root, found)
        sens, notes, constant = found.frame, found.notes, found.constant
    design_doc.update({"status": "complete", "units": int(len(results.drop_duplicates(["point", "replication"]))),
                       "failures": failures, "runtime_s": round(runtime, 3)})
    if sequential:
        design_doc["sequential"] = sequential
    if sens is not None:
        design_doc["sensitivity_notes"] = notes
        design_doc["sensitivity_constant"] = [list(c) for c in constant]
    write_text(store.root / "sweep.json", json.dumps(design_doc, indent=2, default=str) + "\n")
    if report and len(summary) and all(pd.api.types.is_numeric_dtype(points[k]) for k in keys):
        from ..output.report import write_sweep_report

        write_sweep_report(store.root, summary, keys)
    return SweepResults(store.root, keys, points, results, summary, failures, runtime,
                        design_doc.get("sampler", "grid"), sens, notes, constant, sequential)


def load_sweep(out: str | Path) -> SweepResults:
    """Read a finished sweep directory back."""
    root = Path(out)
    d = json.loads((root / "sweep.json").read_text())
    sens = root / "sensitivity.parquet"
    return SweepResults(root, d["keys"], pd.read_parquet(root / "points.parquet"),
                        pd.read_parquet(root / "results.parquet"), pd.read_parquet(root / "summary.parquet"),
                        d.get("failures", []), d.get("runtime_s", math.nan), d.get("sampler", "grid"),
                        pd.read_parquet(sens) if sens.is_file() else None, d.get("sensitivity_notes", []),
                        [tuple(c) for c in d.get("sensitivity_constant", [])], d.get("sequential", []))


__all__ = ["SweepResults", "finish", "load_sweep", "make_design", "run_units", "summarise", "sweep"]
