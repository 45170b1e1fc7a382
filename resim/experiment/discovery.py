"""Scenario discovery: where in parameter space does a condition hold?

``resim discover DIR --where "vehicles_lost > 100000 and fill_rate < 0.9"``
reads a finished sweep, evaluates the condition on each point's mean
(``resim.experiment.point_outcomes``: first-event days censored at the horizon), and runs PRIM
(``resim.experiment.prim``) over the swept keys. The answer is a box - an interval per
key that matters - with its coverage (the share of the points where the
condition holds that the box keeps) and density (the share of the points in
the box where it holds), chosen from the peeling trajectory as the densest
box keeping ``min_coverage`` of the hits, and said in plain words.

Grammar of ``--where``: ``KPI OP NUMBER`` clauses joined by ``and``; OP is one
of ``<``, ``<=``, ``>``, ``>=``; KPI is any KPI of ``resim run`` or
``stockout_probability`` (a misspelt one gets a "did you mean"); NUMBER may
use ``_``, ``e`` or a suffix k, M or B (``100_000``, ``1e5``, ``300k``,
``1.5M``).

In a notebook, ``SweepResults.discover(...)`` gives the same answer as an
object EMA Workbench users know (``resim.output.prim_box.PrimBox``):
``show_tradeoff()``, ``inspect(i)`` and ``select(i)`` over the trajectory.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..scenario.errors import ScenarioError
from ..scenario.keys import did_you_mean
from .point_outcomes import OUTCOMES, PointOutcomes, horizon_of, point_outcomes
from .prim import Box, Trajectory, prim
from .rounding import digits_for
from .store import write_text

FILE = "discovery.json"
OPS: dict[str, Callable[[Any, Any], Any]] = {"<=": operator.le, ">=": operator.ge, "<": operator.lt,
                                             ">": operator.gt}
_CLAUSE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*([-+0-9._eE]+)\s*([kMB]?)\s*$")
#: Number suffixes of --where: thousands, millions, billions.
SUFFIXES = {"": 1.0, "k": 1e3, "M": 1e6, "B": 1e9}


@dataclass(frozen=True)
class Clause:
    kpi: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.kpi} {self.op} {self.value:g}"


def _number(text: str, suffix: str) -> float:
    try:
        value = float(text) * SUFFIXES[suffix]
    except ValueError:
        raise ScenarioError("--where", text + suffix, "is not a number (e.g. 100000, 1e5, 300k, 1.5M)") from None
    if not math.isfinite(value):
        raise ScenarioError("--where", text + suffix, "must be a finite number")
    return value


def _clause(part: str, text: str) -> Clause:
    m = _CLAUSE.match(part)
    if not m:
        raise ScenarioError("--where", text, f"cannot read {part.strip()!r}: write KPI OP NUMBER, e.g. "
                            "vehicles_lost > 100k, joined by and")
    kpi, op, number, suffix = m.groups()
    if kpi not in OUTCOMES:
        raise ScenarioError("--where", kpi, f"is not a KPI{did_you_mean(kpi, OUTCOMES)}; one of {', '.join(OUTCOMES)}")
    return Clause(kpi, op, _number(number, suffix))


def parse_where(text: str) -> list[Clause]:
    """``KPI OP NUMBER [and KPI OP NUMBER]...``; a one-line error otherwise."""
    return [_clause(part, text) for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE)]


@dataclass(frozen=True)
class Discovery:
    """A PRIM run over a sweep: the condition, the trajectory and the chosen box."""

    where: list[Clause]
    automaker: str
    keys: list[str]
    ranges: dict[str, tuple[float, float]]
    trajectory: Trajectory
    chosen: int
    min_coverage: float
    left_out: list[int]
    ignored_keys: list[str]
    box: Box          # the chosen box, its insignificant restrictions dropped
    freed: list[str]  # the keys whose restriction was dropped
    max_p: float

    def select(self, i: int) -> Discovery:
        """Box ``i`` of the trajectory as the answer, all its restrictions kept
        (EMA Workbench's ``PrimBox.select``)."""
        if not -len(self.trajectory.boxes) <= i < len(self.trajectory.boxes):
            raise IndexError(f"the trajectory has boxes 0 to {len(self.trajectory.boxes) - 1}, no {i}")
        i %= len(self.trajectory.boxes)
        return replace(self, chosen=i, box=self.trajectory.boxes[i], freed=[])

    def limits(self, box: Box | None = None) -> list[dict[str, Any]]:
        """Per key ``box`` (default: the chosen one) restricts: its interval
        (None on a side left at the sweep's range), the sweep's range, the
        quasi-p-value."""
        box = self.box if box is None else box
        qp = self.trajectory.quasi_p(box)
        x = self.trajectory.x
        out = []
        for j in box.restricted:
            k = self.keys[j]
            lo, hi = self.ranges[k]
            d = digits_for(lo, hi)
            low = None if box.lower[j] <= x[:, j].min() else round(box.lower[j], d)
            high = None if box.upper[j] >= x[:, j].max() else round(box.upper[j], d)
            out.append({"key": k, "low": low, "high": high, "range": [lo, hi], "quasi_p": qp[k]})
        return out

    def _head(self) -> str:
        cond = " and ".join(str(c) for c in self.where)
        who = "all automakers together" if self.automaker == "all" else self.automaker
        return f"{cond} ({who}) holds at {int(self.trajectory.y.sum())} of {len(self.trajectory.y)} design points"

    def _no_box(self, head: str) -> str | None:
        """The words when there is no box to describe; None when there is one."""
        hits, n = int(self.trajectory.y.sum()), len(self.trajectory.y)
        if hits == 0:
            return head + ": there is no box to find."
        if hits == n:
            return head + ": everywhere in the swept ranges."
        if not self.box.restricted and self.freed:
            peeled = self.trajectory.boxes[self.chosen]
            return (f"{head}. PRIM's densest box keeping {self.min_coverage:.0%} of them (density "
                    f"{peeled.density:.0%}, coverage {peeled.coverage:.0%}) restricts {', '.join(self.freed)}, "
                    f"but no restriction is significant (quasi-p-value above {self.max_p:g}): too few points to "
                    "tell where it holds. Sample more points, or pass --max-quasi-p 1 to see that box anyway.")
        if not self.box.restricted:
            return head + "; PRIM found no box denser than the whole design."
        return None

    def words(self) -> str:
        """The chosen box in plain words."""
        head = self._head()
        none = self._no_box(head)
        if none is not None:
            return none
        b = self.box
        parts = [_limit_words(lim) for lim in self.limits()]
        text = (f"{head}. It holds where {' and '.join(parts)}: at {b.hits} of the {b.points} points in that "
                f"box (density {b.density:.0%}), which are {b.coverage:.0%} of the points where it holds "
                f"(coverage).")
        return text + self._free_words()

    def _free_words(self) -> str:
        """The keys the box leaves free, and the restrictions dropped as insignificant."""
        free = [k for j, k in enumerate(self.keys) if j not in self.box.restricted]
        text = f" Anywhere in its range: {', '.join(free)}." if free else ""
        if self.freed:
            text += (f" (PRIM's box also restricted {', '.join(self.freed)}; dropped, as the density does not "
                     f"need it: quasi-p-value above {self.max_p:g}.)")
        return text

    def to_json(self) -> dict[str, Any]:
        b = self.box
        return {
            "where": [str(c) for c in self.where], "automaker": self.automaker, "keys": self.keys,
            "min_coverage": self.min_coverage, "points": len(self.trajectory.y),
            "hits": int(self.trajectory.y.sum()), "left_out_points": self.left_out,
            "ignored_keys": self.ignored_keys, "chosen": self.chosen, "max_quasi_p": self.max_p,
            "dropped_restrictions": self.freed,
            "box": {"coverage": b.coverage, "density": b.density, "mass": b.mass, "points": b.points,
                    "hits": b.hits, "limits": self.limits()},
            "words": self.words(),
            "trajectory": [{"coverage": t.coverage, "density": t.density, "mass": t.mass,
                            "restricted": len(t.restricted), "lower": list(t.lower), "upper": list(t.upper)}
                           for t in self.trajectory.boxes],
        }


def _limit_words(lim: Mapping[str, Any]) -> str:
    if lim["low"] is not None and lim["high"] is not None:
        return f"{lim['key']} is between {lim['low']:g} and {lim['high']:g}"
    if lim["low"] is not None:
        return f"{lim['key']} is above {lim['low']:g}"
    return f"{lim['key']} is below {lim['high']:g}"


def _check_shares(min_coverage: float, max_p: float) -> None:
    if not 0 < min_coverage <= 1:
        raise ScenarioError("--min-coverage", "", "must be above 0 and at most 1", min_coverage)
    if not 0 < max_p <= 1:
        raise ScenarioError("--max-quasi-p", "", "must be above 0 and at most 1", max_p)


def _numeric_keys(root: Path, design: Mapping[str, Any], points: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The swept keys PRIM can use (numbers), and the others."""
    keys = [k for k in design["keys"] if pd.api.types.is_numeric_dtype(points[k])]
    if not keys:
        raise ScenarioError(str(root), "keys", "no swept key is a number; PRIM needs numeric keys",
                            design["keys"])
    return keys, [k for k in design["keys"] if k not in keys]


def _hits(outcomes: PointOutcomes, automaker: str, clauses: Sequence[Clause], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Which points have every outcome the clauses read (ok), and where all clauses hold (hit)."""
    if automaker not in outcomes.automakers():
        raise ScenarioError("--automaker", automaker, f"is not an automaker of this sweep; one of "
                            f"{', '.join(outcomes.automakers())}")
    ok, hit = np.ones(n, dtype=bool), np.ones(n, dtype=bool)
    for c in clauses:
        v = outcomes.column(automaker, c.kpi, n)
        ok &= np.isfinite(v)
        hit &= OPS[c.op](np.nan_to_num(v), c.value)
    return ok, hit


def discover(root: str | Path, where: str | Sequence[Clause], automaker: str = "all",
             min_coverage: float = 0.8, max_p: float = 0.05) -> Discovery:
    """PRIM over the finished sweep in ``root``: the densest box of the
    trajectory keeping ``min_coverage`` of the hits, without restrictions
    whose quasi-p-value is above ``max_p``."""
    root = Path(root)
    design = json.loads((root / "sweep.json").read_text(encoding="utf-8"))
    clauses = parse_where(where) if isinstance(where, str) else list(where)
    _check_shares(min_coverage, max_p)
    points = pd.read_parquet(root / "points.parquet")
    outcomes = point_outcomes(pd.read_parquet(root / "results.parquet"), horizon_of(design, points))
    ok, hit = _hits(outcomes, automaker, clauses, len(points))
    keys, ignored = _numeric_keys(root, design, points)
    traj = prim(points.loc[ok, keys].to_numpy(dtype=float), hit[ok], keys)
    ranges = {k: (float(points[k].min()), float(points[k].max())) for k in keys}
    chosen = traj.choose(min_coverage)
    box, freed = traj.significant(traj.boxes[chosen], max_p)
    return Discovery(clauses, automaker, keys, ranges, traj, chosen, min_coverage,
                     [int(i) for i in np.flatnonzero(~ok)], ignored, box, freed, max_p)


def write_discovery(root: Path, found: Discovery) -> Path:
    path = Path(root) / FILE
    write_text(path, json.dumps(found.to_json(), indent=2) + "\n")
    return path


__all__ = ["FILE", "Clause", "Discovery", "discover", "parse_where", "write_discovery"]
