"""Which levers matter: Sobol and Morris indices of a finished sweep (SALib).

A ``--sampler sobol`` sweep is a Saltelli design (N base samples, each a
block of D + 2 points: A, the D points AB_i that take key i from B, and B);
a ``--sampler morris`` sweep is N trajectories of D + 1 points, one key
moving per step. Each point's outcome is the mean over its replications
(first-event days censored at the horizon, ``resim.experiment.point_outcomes``), and SALib
turns the outcomes into, per KPI and automaker:

* Sobol: the first-order index S1 (the share of the outcome's variance the
  key explains alone) and the total index ST (alone and in every
  interaction); a key with ST near 0 can be fixed anywhere in its range.
* Morris: mu* (the mean absolute change of the KPI when the key moves across
  its whole range, in the KPI's units) and sigma (how much that change
  depends on the other keys: interactions or curvature).

Each index has a 95% bootstrap interval, seeded by the scenario seed, so a
recomputation (``resim sensitivity DIR``) gives the same numbers. A point with
a failed replication is left out with its whole block or trajectory (the
estimators need every point of one), and the notes say so.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..scenario.errors import ScenarioError
from .design import INDEX_SAMPLERS, MORRIS_LEVELS, index_matrix, points_per_sample
from .point_outcomes import PointOutcomes, horizon_of, point_outcomes
from .store import write_parquet

#: Bootstrap resamples behind each interval.
RESAMPLES = 1000
#: sensitivity.parquet: one row per method x automaker x KPI x key x index.
COLUMNS = ["method", "automaker", "kpi", "parameter", "index", "value", "ci_low", "ci_high", "samples",
           "points"]
FILE = "sensitivity.parquet"
#: The indices of each method, and whether SALib gives each a bootstrap interval.
INDICES = {"sobol": (("S1", "S1_conf"), ("ST", "ST_conf")),
           "morris": (("mu_star", "mu_star_conf"), ("sigma", None), ("mu", None))}


def plan(sampler: str, ranges: Sequence[tuple[str, float, float]], samples: int, seed: int) -> dict[str, Any]:
    """What the analysis needs to know of a design, stored in sweep.json. A
    Morris design keeps its unrounded matrix: its elementary effects are
    steps of a known size, which rounding a whole-number key would blur."""
    out: dict[str, Any] = {"method": sampler, "names": [k for k, _, _ in ranges],
                           "bounds": [[lo, hi] for _, lo, hi in ranges], "samples": samples, "seed": seed,
                           "resamples": RESAMPLES}
    if sampler == "morris":
        out["levels"] = MORRIS_LEVELS
        out["x"] = index_matrix(sampler, ranges, samples, seed).tolist()
    return out


@dataclass
class Sensitivity:
    """The indices (``frame``, columns :data:`COLUMNS`); what was left out
    and why (``notes``, warnings); and the (KPI, automaker) pairs that are the
    same at every point (``constant``: no key changes them, so no indices)."""

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    constant: list[tuple[str, str]] = field(default_factory=list)

    def of(self, kpi: str, automaker: str | None = None) -> pd.DataFrame:
        f = self.frame[self.frame["kpi"] == kpi]
        return f if automaker is None else f[f["automaker"] == automaker]


def _blocks_ok(y: np.ndarray, size: int) -> np.ndarray:
    """Which blocks (base samples, trajectories) have a finite outcome at every point."""
    return np.isfinite(y.reshape(-1, size)).all(axis=1)


def _salib_problem(p: Mapping[str, Any]) -> dict[str, Any]:
    return {"num_vars": len(p["names"]), "names": list(p["names"]), "bounds": p["bounds"]}


def _analyse_one(p: Mapping[str, Any], y: np.ndarray, keep: np.ndarray) -> dict[str, np.ndarray]:
    from SALib.analyze import morris, sobol

    size = points_per_sample(p["method"], len(p["names"]))
    rows = np.repeat(keep, size)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if p["method"] == "sobol":
            return dict(sobol.analyze(_salib_problem(p), y[rows], calc_second_order=False,
                                      num_resamples=p.get("resamples", RESAMPLES), conf_level=0.95,
                                      seed=p["seed"]))
        x = np.asarray(p["x"], dtype=float)[rows]
        return dict(morris.analyze(_salib_problem(p), x, y[rows], num_resamples=p.get("resamples", RESAMPLES),
                                   conf_level=0.95, num_levels=p.get("levels", MORRIS_LEVELS), seed=p["seed"]))


def _rows(p: Mapping[str, Any], si: Mapping[str, np.ndarray], who: str, kpi: str, samples: int,
          size: int) -> list[dict[str, Any]]:
    """sensitivity.parquet's rows of one automaker and KPI."""
    rows = []
    for j, name in enumerate(p["names"]):
        for index, conf in INDICES[p["method"]]:
            v = float(si[index][j])
            half = float(si[conf][j]) if conf else np.nan
            rows.append({"method": p["method"], "automaker": who, "kpi": kpi, "parameter": name, "index": index,
                         "value": v, "ci_low": v - half, "ci_high": v + half, "samples": samples,
                         "points": samples * size})
    return rows


def _doubtful(frame: pd.DataFrame) -> list[str]:
    """Warnings for indices too noisy to read: S1 above ST (impossible for
    the true indices: the total effect contains the first-order one), and
    a 95% interval wider than the index itself."""
    notes = []
    wide = frame[(frame["ci_high"] - frame["ci_low"]) / 2 > frame["value"].abs()]
    if len(wide):
        r = wide.iloc[0]
        notes.append(f"{len(wide)} of {int(frame['ci_low'].notna().sum())} indices have a 95% CI wider than the "
                     f"index (e.g. {r['index']} of {r['parameter']} for {r['kpi']} of {r['automaker']}: "
                     f"{r['value']:.2g} +- {(r['ci_high'] - r['ci_low']) / 2:.2g}): too few samples to tell these "
                     "from 0; use more --samples")
    if frame.empty or frame["method"].iloc[0] != "sobol":
        return notes
    pair = frame.pivot_table(index=["automaker", "kpi", "parameter"], columns="index", values="value")
    over = pair[pair["S1"] > pair["ST"]]
    if len(over):
        (who, kpi, key), r = next(iter(over.iterrows()))
        notes.append(f"{len(over)} of {len(pair)} keys have S1 above ST, which true indices never do (e.g. {key} "
                     f"for {kpi} of {who}: S1 {r['S1']:.2g} > ST {r['ST']:.2g}): the estimates are noise at this "
                     "sample size; use more --samples")
    return notes


def analyse(outcomes: PointOutcomes, p: Mapping[str, Any], n_points: int) -> Sensitivity:
    """Indices of every outcome and automaker of a sweep whose design is ``p``
    (:func:`plan`) and whose per-point outcomes are ``outcomes``."""
    method = p["method"]
    size = points_per_sample(method, len(p["names"]))
    unit = "base sample" if method == "sobol" else "trajectory"
    if n_points != p["samples"] * size:
        raise ScenarioError("sweep.json", "sensitivity", f"{n_points} points do not make {p['samples']} "
                            f"{'base samples' if method == 'sobol' else 'trajectories'} of {size}")
    notes = _failure_notes(outcomes, p["samples"], size, unit)
    rows: list[dict[str, Any]] = []
    constant = []
    for who, kpi, y in _outcome_columns(outcomes, n_points):
        found = _indices(p, y, size, who, kpi)
        if isinstance(found, list):
            rows += found
        elif found == "constant":
            constant.append((kpi, who))
        else:
            notes.append(f"{kpi} of {who}: fewer than two complete {unit}s; no indices")
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return Sensitivity(frame, notes + _doubtful(frame), constant)


def _failure_notes(outcomes: PointOutcomes, samples: int, size: int, unit: str) -> list[str]:
    """A note on the points left out because a replication failed (a failed
    point takes its whole base sample or trajectory with it)."""
    if not outcomes.failed:
        return []
    gone = sorted({pt // size for pt in outcomes.failed})
    return [f"{len(outcomes.failed)} point(s) with a failed replication ({_few(outcomes.failed)}) "
            f"left out with their {unit} ({len(gone)} of {samples}): indices rest on the rest"]


def _outcome_columns(outcomes: PointOutcomes, n_points: int) -> Iterator[tuple[str, str, np.ndarray]]:
    """Each automaker's KPI across the points, but for KPIs undefined for it
    (vehicles of a buyer given in tonnes: all NaN although nothing failed)."""
    for who in outcomes.automakers():
        for kpi in outcomes.names_for(who):
            y = outcomes.column(who, kpi, n_points)
            if not (np.isnan(y).all() and not outcomes.failed):
                yield who, kpi, y


def _indices(p: Mapping[str, Any], y: np.ndarray, size: int, who: str, kpi: str) -> list[dict[str, Any]] | str:
    """The index rows of one automaker and KPI, or why there are none
    ("few": under two complete blocks; "constant": the same at every point)."""
    keep = _blocks_ok(y, size)
    if keep.sum() < 2:
        return "few"
    if np.ptp(y[np.repeat(keep, size)]) == 0:
        return "constant"
    return _rows(p, _analyse_one(p, y, keep), who, kpi, int(keep.sum()), size)


def _few(items: Sequence[int], limit: int = 6) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def sweep_sensitivity(root: str | Path) -> Sensitivity:
    """Recompute the indices of the finished sweep in ``root`` from its files."""
    root = Path(root)
    design = json.loads((root / "sweep.json").read_text(encoding="utf-8"))
    p = design.get("sensitivity")
    if design.get("sampler") not in INDEX_SAMPLERS or not p:
        raise ScenarioError(str(root), "sampler", "sensitivity indices need a sweep with --sampler sobol or "
                            "morris (their designs are built for them)", design.get("sampler"))
    points = pd.read_parquet(root / "points.parquet")
    results = pd.read_parquet(root / "results.parquet")
    return analyse(point_outcomes(results, horizon_of(design, points)), p, len(points))


def write_sensitivity(root: Path, sens: Sensitivity) -> Path:
    path = Path(root) / FILE
    write_parquet(path, sens.frame)
    return path


__all__ = ["COLUMNS", "FILE", "INDICES", "RESAMPLES", "Sensitivity", "analyse", "plan", "sweep_sensitivity",
           "write_sensitivity"]
