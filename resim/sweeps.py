"""Sweeps: many design points x many replications, streamed to a store.

Replication r of every point uses the same seed sequence (child r of the
scenario seed), so differences between points are paired (common random
numbers). Work is cut into chunks of (point, replication) units so per-task
overhead is amortised; each finished chunk becomes a Parquet part. The final
tables are sorted by point, replication and automaker, so the executor and the
number of workers never change them.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .api import load_scenario
from .budget import check_sweep
from .design import Point, full_grid, latin_hypercube, sobol
from .errors import ScenarioError
from .execution import execute, kpi_rows, simulate_replication
from .kpis import BOUNDS, METRICS, describe, wilson
from .scenario import Loaded, get_key, with_values
from .store import SweepStore, design_hash, write_parquet, write_text

RESULT_COLUMNS = ["point", "replication", "automaker", *METRICS, "error", "seed"]


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

    def plot_heatmap(self, x: str, y: str, metric: str = "vehicles_lost", automaker: str = "all"):  # noqa: ANN201
        from .output.figures.sweep import sweep_heatmap

        return sweep_heatmap(self.summary, x, y, metric, automaker)

    def plot_lines(self, x: str, metric: str = "vehicles_lost", automaker: str = "all", by: str | None = None):  # noqa: ANN201
        from .output.figures.sweep import sweep_lines

        return sweep_lines(self.summary, x, metric, automaker, by)


def make_design(
    loaded: Loaded,
    grid: Mapping[str, Sequence[Any]] | None = None,
    sampler: str = "grid",
    ranges: Sequence[tuple[str, float, float]] = (),
    samples: int | None = None,
) -> tuple[list[str], list[Point]]:
    """The design points: an explicit grid, LHS or Sobol over ranges, or the
    scenario's own ``[sweep]`` grid."""
    scn = loaded.scenario
    if sampler == "grid":
        g = dict(grid) if grid else dict(scn.sweep.grid)
        if not g:
            raise ScenarioError(loaded.source, "sweep.grid", "nothing to sweep: give --grid KEY=V1,V2 or a [sweep] grid")
        return list(g), full_grid(g)
    if sampler not in ("lhs", "sobol"):
        raise ScenarioError("--sampler", "", "must be grid, lhs or sobol", sampler)
    if not ranges:
        raise ScenarioError("--sampler", sampler, "needs at least one --range KEY=LO:HI")
    if not samples or samples < 1:
        raise ScenarioError("--samples", "", "must be a whole number >= 1 with --sampler lhs|sobol", samples)
    integer = [_is_integer_key(scn, k) for k, _, _ in ranges]
    seed = scn.scenario.seed
    fn = latin_hypercube if sampler == "lhs" else sobol
    return [k for k, _, _ in ranges], fn(ranges, samples, seed, integer)


def _is_integer_key(scn: Any, key: str) -> bool:
    try:
        v = get_key(scn, key)
    except (KeyError, AttributeError, IndexError, StopIteration, TypeError, ValueError):
        return False
    return (isinstance(v, int) and not isinstance(v, bool)) or key.endswith("reviewers")


def _units(points: int, reps: int) -> list[tuple[int, int]]:
    return [(p, r) for p in range(points) for r in range(reps)]


def run_units(units: Sequence[tuple[int, Loaded, int]]) -> pd.DataFrame:
    """Worker task: KPI rows of some (point, replication) units; a unit that
    raises becomes a row with its error and seed."""
    frames = [kpi_rows([simulate_replication(loaded, r)], loaded).assign(point=point)
              for point, loaded, r in units]
    return pd.concat(frames, ignore_index=True)[RESULT_COLUMNS]


def summarise(results: pd.DataFrame, points: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """One row per point x automaker: mean, 95% CI and p50 of each KPI."""
    rows = []
    ok = results[results["error"].isna()]
    for (point, who), g in ok.groupby(["point", "automaker"], sort=False):
        row: dict[str, Any] = {"point": int(point), "automaker": who, "replications": len(g)}
        for m in METRICS:
            d = describe(g[m].to_numpy(dtype=float), BOUNDS[m])
            row[f"{m}_mean"] = d["mean"]
            row[f"{m}_ci_low"], row[f"{m}_ci_high"] = d["ci95"]
            row[f"{m}_p50"] = d["p50"]
        hit = int(g["first_stockout_day"].notna().sum())
        row["stockout_probability_mean"] = hit / len(g)
        row["stockout_probability_ci_low"], row["stockout_probability_ci_high"] = wilson(hit, len(g))
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
    workers: int = 1,
    dask: str | None = None,
    out: str | Path = "results/sweep",
    resume: bool = False,
    chunk: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_design: Callable[[int, int], None] | None = None,
    report: bool = True,
) -> SweepResults:
    """Run a sweep; see ``resim sweep --help``. Raises ScenarioError on bad input.

    ``report=False`` skips report.html (a few seconds of plotting), e.g. when
    timing the executors alone."""
    t0 = time.perf_counter()
    base = load_scenario(scenario, overrides)
    keys, design = make_design(base, grid, sampler, ranges, samples)
    n = replications or base.scenario.sweep.replications
    check_sweep(base.scenario, base.source, len(design), n)
    # validate every point before anything runs (and before anything is written)
    loaded_points: list[Loaded] = []
    for i, point in enumerate(design):
        try:
            scn = with_values(base.scenario, point, source=f"design point {i}")
        except ScenarioError as e:
            raise ScenarioError(e.source, e.path, e.message, e.value) from None
        loaded_points.append(load_scenario(scn))
    store = SweepStore(Path(out))
    spec = {
        "source": base.source,
        "scenario": base.scenario.model_dump(mode="json", by_alias=True, exclude_none=True),
        "keys": keys,
        "points": design,
        "replications": n,
        "sampler": sampler,
    }
    spec["design_id"] = design_hash(spec)
    if store.exists():
        if not resume:
            raise ScenarioError(str(out), "", "already holds a sweep; use --resume to finish it or choose another --out")
        old = store.read_design()
        if old.get("design_id") != spec["design_id"]:
            raise ScenarioError(str(out), "--resume", "the sweep in this directory has a different design or scenario")
        store.clean_temporaries()
        done = store.done_units()
    else:
        store.start(spec)
        done = set()
    todo = [u for u in _units(len(design), n) if u not in done]
    if on_design:
        on_design(len(design) * n, len(done))
    size = chunk or max(1, min(32, math.ceil(len(todo) / (max(1, workers) * 8)) if todo else 1))
    tasks = [([(p, loaded_points[p], r) for p, r in todo[i:i + size]],) for i in range(0, len(todo), size)]
    for i, part in execute(run_units, tasks, workers, dask):
        store.write_part(part)
        if progress:
            progress(len(tasks[i][0]), int(part["error"].notna().sum()))
    return finish(store, keys, design, time.perf_counter() - t0, report)


def finish(store: SweepStore, keys: list[str], design: list[Point], runtime: float,
           report: bool = True) -> SweepResults:
    """Assemble the final tables from the parts (sorted, so executors agree)."""
    parts = store.read_parts()
    points = pd.DataFrame([{"point": i, **p} for i, p in enumerate(design)])
    order = {name: i for i, name in enumerate(dict.fromkeys(parts["automaker"].dropna()))}
    if "all" in order:
        order["all"] = len(order) + 1
    parts = parts.assign(_o=parts["automaker"].map(order).fillna(-1))
    parts = parts.sort_values(["point", "replication", "_o"], kind="stable").drop(columns="_o")
    results = points.merge(parts, on="point", how="right")
    results = results[["point", *keys, *[c for c in RESULT_COLUMNS if c != "point"]]].reset_index(drop=True)
    summary = summarise(results[RESULT_COLUMNS], points, keys)
    write_parquet(store.root / "points.parquet", points)
    write_parquet(store.root / "results.parquet", results)
    write_parquet(store.root / "summary.parquet", summary)
    failures = [
        {"point": int(r.point), "replication": int(r.replication), "error": r.error, "seed": r.seed}
        for r in results[results["error"].notna()].itertuples()
    ]
    design_doc = store.read_design()
    design_doc.update({"status": "complete", "units": int(len(points) * design_doc["replications"]),
                       "failures": failures, "runtime_s": round(runtime, 3)})
    write_text(store.root / "sweep.json", json.dumps(design_doc, indent=2, default=str) + "\n")
    if report and len(summary) and all(pd.api.types.is_numeric_dtype(points[k]) for k in keys):
        from .output.report import write_sweep_report

        write_sweep_report(store.root, summary, keys)
    return SweepResults(store.root, keys, points, results, summary, failures, runtime)


def load_sweep(out: str | Path) -> SweepResults:
    """Read a finished sweep directory back."""
    root = Path(out)
    d = json.loads((root / "sweep.json").read_text())
    return SweepResults(root, d["keys"], pd.read_parquet(root / "points.parquet"),
                        pd.read_parquet(root / "results.parquet"), pd.read_parquet(root / "summary.parquet"),
                        d.get("failures", []), d.get("runtime_s", math.nan))


__all__ = ["SweepResults", "finish", "load_sweep", "make_design", "run_units", "summarise", "sweep"]
