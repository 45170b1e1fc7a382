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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..model.kpis import METRICS, summarise_kpis
from ..scenario import Loaded
from ..scenario.errors import ScenarioError
from .budget import check_memory, check_sweep, sweep_budget
from .design import INDEX_SAMPLERS, Point, build_points, design_origin, design_size, make_design
from .executors import DaskConnection
from .experiment import Experiment, Stored
from .interrupts import Interrupted
from .point_outcomes import horizon_of
from .price_outcomes import price_columns, price_summary
from .replications import RESULT_COLUMNS, cap_workers, default_workers
from .runfolder import RunFolder, WriteError, read_marker
from .sequential import Decision, Target, check_target
from .store import SweepStore, design_hash, write_parquet, write_text


@dataclass
class SweepData:
    """A finished sweep's data: ``points``, ``results`` (tidy) and per-point
    ``summary`` (``resim.output.sweep.SweepResults`` adds its figures and
    notebook view)."""

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
    #: True for what an interrupted sweep held when it stopped (nothing of it
    #: written but its parts; ``resume`` finishes it).
    partial: bool = False


def summarise(results: pd.DataFrame, points: pd.DataFrame, keys: Sequence[str],
              horizon: Any = None) -> pd.DataFrame:
    """One row per point x automaker: mean, 95% CI and p50 of each KPI, from
    the same summariser as a run's summary.json (``kpis.summarise_kpis``;
    ``horizon``, one number or one per point, bounds the KPIs in days)."""
    rows = []
    for point, g in results.groupby("point", sort=False):
        h = _horizon_at(horizon, int(point))
        rows.extend(_summary_row(int(point), who, block) for who, block in summarise_kpis(g, h).items())
    s = pd.DataFrame(rows)
    if s.empty:
        return s
    s = points.merge(s, on="point", how="right")
    return s.astype({c: float for c in s.columns if c.endswith(("_mean", "_ci_low", "_ci_high", "_p50"))})


def _horizon_at(horizon: Any, point: int) -> float | None:
    """The horizon of one point: one for all, one per point (a swept horizon) or none."""
    if horizon is None:
        return None
    return float(horizon if np.ndim(horizon) == 0 else horizon[point])


def _summary_row(point: int, who: str, block: dict[str, Any]) -> dict[str, Any]:
    """One automaker's KPIs at one point, flat: mean, CI and median of each
    (a probability has no median: each replication's value is 0 or 1)."""
    row: dict[str, Any] = {"point": point, "automaker": who,
                           "replications": block["stockout_probability"]["n"]}
    for m in (*METRICS, "stockout_probability"):
        row[f"{m}_mean"] = block[m]["mean"]
        row[f"{m}_ci_low"], row[f"{m}_ci_high"] = block[m]["ci95"]
        if m != "stockout_probability":
            row[f"{m}_p50"] = block[m]["p50"]
    return row


@dataclass(frozen=True)
class SweepPlan:
    """A checked sweep before it runs: the design and its points, the
    replications per point, and the spec stored in sweep.json (whose hash is
    the sweep's identity for ``--resume``)."""

    keys: list[str]
    design: list[Point]
    points: list[Loaded]
    replications: int
    spec: dict[str, Any]


def plan_sweep(base: Loaded, grid: Mapping[str, Sequence[Any]] | None = None, sampler: str = "grid",
               ranges: Sequence[tuple[str, float, float]] = (), samples: int | None = None,
               replications: int | None = None, target: Target | None = None) -> SweepPlan:
    """Make and check the design (every point built like a scenario file);
    ``ScenarioError`` on bad input, before anything is written."""
    n = replications or base.scenario.sweep.replications
    check_sweep(base.scenario, base.source, design_size(base, grid, sampler, samples, ranges), n)
    if target is not None:
        check_target(target, base)
    keys, design = make_design(base, grid, sampler, ranges, samples)
    points = [replace(p, draws=base.draws) for p in build_points(base, design, design_origin(grid, sampler))]
    spec: dict[str, Any] = {
        "source": base.source,
        "scenario": base.scenario.model_dump(mode="json", by_alias=True, exclude_none=True),
        "keys": keys, "points": design, "replications": n, "sampler": sampler,
        "posterior": None if base.draws is None else base.draws.source,
        **_spec_extras(base, sampler, ranges, samples, target),
    }
    # the identity is the content: another spelling of the same file resumes
    spec["design_id"] = design_hash({k: v for k, v in spec.items() if k != "source"})
    return SweepPlan(keys, design, points, n, spec)


def _spec_extras(base: Loaded, sampler: str, ranges: Sequence[tuple[str, float, float]],
                 samples: int | None, target: Target | None) -> dict[str, Any]:
    """The parts of sweep.json only some sweeps have: the sensitivity plan of
    an index sampler and the sequential target."""
    extras: dict[str, Any] = {}
    if sampler in INDEX_SAMPLERS:
        from .sensitivity import plan

        extras["sensitivity"] = plan(sampler, ranges, int(samples or 0), base.scenario.scenario.seed)
    if target is not None:
        extras["target"] = target.to_json()
    return extras


def run_sweep(
    base: Loaded,
    grid: Mapping[str, Sequence[Any]] | None = None,
    sampler: str = "grid",
    ranges: Sequence[tuple[str, float, float]] = (),
    samples: int | None = None,
    replications: int | None = None,
    workers: int | None = None,
    dask: str | None = None,
    out: str | Path = "results/sweep",
    resume: bool = False,
    chunk: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_design: Callable[[int, int], None] | None = None,
    on_total: Callable[[int, int], None] | None = None,
    overwrite: bool = False,
    max_memory: int | None = None,
    announce: bool = True,
    target: Target | None = None,
    finishing: Callable[[SweepData], None] | None = None,
    max_hours: str | float | None = None,
    on_estimate: Callable[[str], None] | None = None,
) -> SweepData:
    """Run a sweep of ``base`` (loaded, with its ``draws`` under
    ``--posterior``) into ``out``; see ``resim sweep --help``. Raises
    ScenarioError on bad input (before anything is written),
    ``Interrupted`` on Ctrl-C or SIGTERM (the finished parts are kept:
    finish with ``resume``).

    ``workers`` (default: the cores) is capped at the units and 4 x the
    cores (``announce`` says so on stderr). With ``target`` each point
    replicates until its target is met, ``replications`` being the most per
    point. ``on_design(units, done)`` is called once the design is checked;
    with ``target``, ``on_total(units, done)`` each round with the units
    known so far. ``on_estimate(line)`` is called before a long sweep starts
    with its time estimate. ``finishing(data)`` runs in the folder before it is marked
    complete (the caller's report)."""
    t0 = time.perf_counter()
    plan = plan_sweep(base, grid, sampler, ranges, samples, replications, target)
    workers = cap_workers(max(1, workers or default_workers()), len(plan.design) * plan.replications, announce)
    _check_budgets(plan, workers, max_memory, max_hours, on_estimate)
    conn = DaskConnection(dask, workers) if dask else None  # a bad address: exit 2, nothing written
    try:
        with RunFolder(out, "sweep", overwrite) as folder:
            store = SweepStore(folder.out)
            done = _open(folder, store, plan.spec, resume, overwrite, str(out))
            folder.unmark()
            if on_design:
                on_design(len(plan.design) * plan.replications, len(done))
            exp = Experiment(plan.points, plan.replications, target=target, workers=workers, dask=conn,
                             sink=Stored(store, in_workers=conn is None), chunk=chunk, progress=progress,
                             on_total=on_total if target is not None else None)
            data = _run_and_finish(exp, store, plan, t0, finishing, str(out))
            folder.mark("complete", units=len(data.results.drop_duplicates(["point", "replication"])),
                        failures=len(data.failures))
            return data
    finally:
        if conn is not None:
            conn.close()


def _check_budgets(plan: SweepPlan, workers: int, max_memory: int | None, max_hours: str | float | None,
                   on_estimate: Callable[[str], None] | None) -> None:
    """Refuse a sweep whose points would not fit in memory or in time before
    anything is written; pass a long sweep's time estimate to ``on_estimate``."""
    for p in plan.points:
        check_memory(p, workers, max_memory)
    estimate = sweep_budget(plan.points, plan.replications, workers, max_hours)  # default budget.DEFAULT_MAX_HOURS
    if estimate and on_estimate:
        on_estimate(estimate)


def _run_and_finish(exp: Experiment, store: SweepStore, plan: SweepPlan, t0: float,
                    finishing: Callable[[SweepData], None] | None, out: str) -> SweepData:
    """Run, assemble the results and let the caller write its report; a full
    disk is a ``WriteError`` that says the finished parts are kept."""
    try:
        _run_keeping(exp, store, plan, t0)
        data = finish(store, plan.keys, plan.design, time.perf_counter() - t0, exp.decisions)
        if finishing:
            finishing(data)
    except OSError as e:
        raise WriteError(f"could not store the sweep's results in {out} ({e.strerror or e}); the "
                         "finished parts are kept: free some space and finish with --resume") from None
    return data


def _run_keeping(exp: Experiment, store: SweepStore, plan: SweepPlan, t0: float) -> None:
    """Run the experiment; on an interrupt its ``finished`` (``.results``) is
    the partial sweep, for a notebook user who pressed Ctrl-C."""
    try:
        exp.run()
    except Interrupted as e:
        e.finished = partial(store, plan.keys, plan.design, time.perf_counter() - t0)
        raise


def _open(folder: RunFolder, store: SweepStore, spec: dict[str, Any], resume: bool, overwrite: bool,
          label: str) -> set[tuple[int, int]]:
    """Start the store, or reopen it to resume; the units already done.

    A finished sweep is replaced by a new one, as a run replaces a run; an
    unfinished one (killed, interrupted) holds work a plain rerun would throw
    away, so it is kept unless ``--resume`` or ``--overwrite`` says what to do."""
    if store.exists() and folder.existing == "sweep" and not overwrite:
        finished = (read_marker(folder.out) or {}).get("status") == "complete"
        _check_reuse(store, spec, resume, finished, label)
        if resume:
            store.clean_temporaries()
            return store.done_units()
    if folder.existing:
        folder.clear()
    store.start(spec)
    return set()


def _check_reuse(store: SweepStore, spec: dict[str, Any], resume: bool, finished: bool, label: str) -> None:
    """Refuse to throw an unfinished sweep away unasked, and to resume a sweep of another design."""
    if not resume and not finished:
        raise ScenarioError(label, "", "holds an unfinished sweep; use --resume to finish it, --overwrite to "
                            "start again, or choose another --out")
    if resume and store.read_design().get("design_id") != spec["design_id"]:
        what = "drop --resume to replace it" if finished else "use --overwrite to start again"
        raise ScenarioError(label, "--resume", "the sweep in this directory has a different design or "
                            f"scenario; {what}, or choose another --out")


def _results(parts: pd.DataFrame, points: pd.DataFrame, keys: list[str],
             decisions: Sequence[Decision] | None) -> pd.DataFrame:
    """The tidy results: each point's kept replications, sorted by point,
    replication and automaker (``all`` last), so executors agree."""
    if decisions is not None:
        keep = parts["point"].map({p: d.replications for p, d in enumerate(decisions)})
        parts = parts[parts["replication"] < keep].reset_index(drop=True)
    parts = parts.assign(_o=parts["automaker"].map(_automaker_order(parts["automaker"])).fillna(-1))
    parts = parts.sort_values(["point", "replication", "_o"], kind="stable").drop(columns="_o")
    results = points.merge(parts, on="point", how="right")
    columns = ["point", *keys, *[c for c in RESULT_COLUMNS if c != "point"], *price_columns(results)]
    return results[columns].reset_index(drop=True)


def _automaker_order(automakers: pd.Series) -> dict[str, int]:
    """Automakers in their first-seen order, ``all`` after them (a failed row, no automaker, first)."""
    order = {name: i for i, name in enumerate(dict.fromkeys(automakers.dropna()))}
    if "all" in order:
        order["all"] = len(order) + 1
    return order


def _failures(results: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"point": int(r.point), "replication": int(r.replication), "error": r.error,
             "seed_entropy": int(r.seed_entropy)} for r in results[results["error"].notna()].itertuples()]


def _indices(store: SweepStore, design_doc: dict[str, Any], results: pd.DataFrame,
             points: pd.DataFrame) -> tuple[pd.DataFrame | None, list[str], list[tuple[str, str]]]:
    """A sobol or morris design's indices (written to sensitivity.parquet), else none."""
    if not design_doc.get("sensitivity") or not len(results):
        return None, [], []
    from .point_outcomes import point_outcomes
    from .sensitivity import analyse, write_sensitivity

    found = analyse(point_outcomes(results, horizon_of(design_doc, points)), design_doc["sensitivity"], len(points))
    write_sensitivity(store.root, found)
    design_doc.update(sensitivity_notes=found.notes, sensitivity_constant=[list(c) for c in found.constant])
    return found.frame, found.notes, found.constant


def assemble(store: SweepStore, keys: list[str], design: list[Point], runtime: float,
             decisions: Sequence[Decision] | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The points, tidy results and per-point summary of the parts stored so
    far (written nowhere); with ``decisions`` each point keeps the
    replications its decision names."""
    points = pd.DataFrame([{"point": i, **p} for i, p in enumerate(design)])
    results = _results(store.read_parts(), points, keys, decisions)
    horizon = horizon_of(store.read_design(), points)
    summary = summarise(results[RESULT_COLUMNS], points, keys, horizon)
    prices = price_summary(results, horizon)
    if len(prices) and len(summary):  # [markets]: each point's price outcomes on its ``all`` row
        summary = summary.merge(prices, on=["point", "automaker"], how="left")
    return points, results, summary


def partial(store: SweepStore, keys: list[str], design: list[Point], runtime: float) -> SweepData | None:
    """What an interrupted sweep holds: its finished units, summarised but
    not written (None when no unit finished)."""
    if not any(store.parts.glob("part-*.parquet")):
        return None
    points, results, summary = assemble(store, keys, design, runtime)
    return SweepData(store.root, keys, points, results, summary, _failures(results), runtime,
                     store.read_design().get("sampler", "grid"), partial=True)


def finish(store: SweepStore, keys: list[str], design: list[Point], runtime: float,
           decisions: Sequence[Decision] | None = None) -> SweepData:
    """Assemble and write the final tables from the parts; a sobol or morris
    design gets its indices."""
    points, results, summary = assemble(store, keys, design, runtime, decisions)
    design_doc = store.read_design()
    for name, frame in (("points", points), ("results", results), ("summary", summary)):
        write_parquet(store.root / f"{name}.parquet", frame)
    failures = _failures(results)
    sequential = [] if decisions is None else [{"point": p, **d.to_json()} for p, d in enumerate(decisions)]
    sens, notes, constant = _indices(store, design_doc, results, points)
    design_doc.update({"status": "complete", "units": int(len(results.drop_duplicates(["point", "replication"]))),
                       "failures": failures, "runtime_s": round(runtime, 3)})
    if sequential:
        design_doc["sequential"] = sequential
    write_text(store.root / "sweep.json", json.dumps(design_doc, indent=2, default=str) + "\n")
    return SweepData(store.root, keys, points, results, summary, failures, runtime,
                     design_doc.get("sampler", "grid"), sens, notes, constant, sequential)


def load_sweep(out: str | Path) -> SweepData:
    """Read a finished sweep directory back."""
    root = Path(out)
    d = json.loads((root / "sweep.json").read_text())
    sens = root / "sensitivity.parquet"
    return SweepData(root, d["keys"], pd.read_parquet(root / "points.parquet"),
                        pd.read_parquet(root / "results.parquet"), pd.read_parquet(root / "summary.parquet"),
                        d.get("failures", []), d.get("runtime_s", math.nan), d.get("sampler", "grid"),
                        pd.read_parquet(sens) if sens.is_file() else None, d.get("sensitivity_notes", []),
                        [tuple(c) for c in d.get("sensitivity_constant", [])], d.get("sequential", []))


__all__ = ["SweepData", "SweepPlan", "assemble", "finish", "load_sweep", "make_design", "partial", "plan_sweep", "run_sweep", "summarise"]
