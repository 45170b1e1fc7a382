"""PRIM, the patient rule induction method (Friedman & Fisher 1999), for scenario discovery.

Given points in parameter space and, at each, whether a condition holds
(``vehicles_lost > 100000``), PRIM finds a box - an interval per key - inside
which the condition holds at most points (density) while keeping most of the
points where it holds (coverage). It *peels*: each step removes the slice
(``alpha`` of the points in the box, at the low or high end of one key) whose
removal raises the density most per point removed (EMA Workbench's "lenient1"
objective, which keeps whole-number keys from being peeled in big jumps), until
the box holds less than ``mass_min`` of the points; then it *pastes* back
slices that raise the density again. Every box along the way is kept: the
peeling trajectory is the coverage/density trade-off the analyst picks from
(Bryant & Lempert 2010). Each restriction of a chosen box gets a quasi-p-value:
a one-sided binomial test of whether the density would be as high without it.

Why resim carries its own: EMA Workbench's ``analysis.prim`` is BSD-3, but
importing it imports ``ema_workbench``'s optimisation module, which imports
Platypus (GPL-3), and the ``PRIM`` package is GPL-3 itself; resim is
Apache-2.0. The defaults (``alpha`` = ``paste_alpha`` = ``mass_min`` = 0.05,
lenient1, ties broken towards fewer restricted keys) follow EMA Workbench 2.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Box:
    """One box of the trajectory: limits per key, and what it holds."""

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    points: int          # points inside
    hits: int            # of which the condition holds
    coverage: float      # hits inside / all hits
    density: float       # hits inside / points inside
    mass: float          # points inside / all points
    restricted: tuple[int, ...]  # keys whose interval is narrower than the data's


@dataclass(frozen=True)
class Trajectory:
    """The peeling (and pasting) trajectory over keys ``names``."""

    names: tuple[str, ...]
    boxes: tuple[Box, ...]
    x: np.ndarray
    y: np.ndarray

    def choose(self, min_coverage: float = 0.8) -> int:
        """The densest box that keeps ``min_coverage`` of the hits (ties: more
        coverage, then fewer restricted keys)."""
        ok = [i for i, b in enumerate(self.boxes) if b.coverage >= min_coverage - 1e-12] or [0]
        return max(ok, key=lambda i: (self.boxes[i].density, self.boxes[i].coverage,
                                      -len(self.boxes[i].restricted)))

    def quasi_p(self, box: Box) -> dict[str, float]:
        """Per restricted key of ``box``: the one-sided binomial p-value of its
        density against the box without that restriction (small: the
        restriction matters; Bryant & Lempert's quasi-p-value)."""
        return {self.names[j]: self._p(box, self.without(box, j)) for j in box.restricted}

    @staticmethod
    def _p(box: Box, wider: Box) -> float:
        """EMA Workbench's quasi-p-value: the chance of at least the box's hits
        among its points if each hit with the density of the wider box
        (``scipy.stats.binomtest``, one-sided, greater)."""
        if box.points == 0:
            return 1.0
        return float(stats.binomtest(box.hits, box.points, wider.density, alternative="greater").pvalue)

    def without(self, box: Box, j: int, side: str = "both") -> Box:
        """``box`` with key ``j`` released to the data's range on one side or both."""
        lower, upper = np.array(box.lower), np.array(box.upper)
        if side in ("lower", "both"):
            lower[j] = self.x[:, j].min()
        if side in ("upper", "both"):
            upper[j] = self.x[:, j].max()
        init = (self.x.min(axis=0), self.x.max(axis=0))
        return _box(self.x, self.y, _inside(self.x, Box(tuple(lower), tuple(upper), 0, 0, 0, 0, 0, ())),
                    lower, upper, init)

    def significant(self, box: Box, max_p: float = 0.05) -> tuple[Box, list[str]]:
        """``box`` with its limits released, least significant first, while a
        limit's quasi-p-value is above ``max_p`` (a peel the density does not
        need: PRIM's trajectory often restricts a key that does not matter, or
        one side of a key that matters); the box, and the keys left free."""
        start = set(box.restricted)
        while box.restricted:
            sides = self._cut_sides(box)
            p, j, side = max((self._p(box, self.without(box, j, side)), j, side) for j, side in sides)
            if p <= max_p:
                break
            box = self.without(box, j, side)
        return box, [self.names[j] for j in sorted(start - set(box.restricted))]

    def _cut_sides(self, box: Box) -> list[tuple[int, str]]:
        """(key, "lower"/"upper") of every limit of ``box`` inside the data's range."""
        return [(j, side) for j in box.restricted for side, cut, edge in
                (("lower", box.lower[j], self.x[:, j].min()), ("upper", box.upper[j], self.x[:, j].max()))
                if cut != edge]


def _inside(x: np.ndarray, box: Box, skip: int = -1) -> np.ndarray:
    lo, hi = np.array(box.lower), np.array(box.upper)
    ok = (x >= lo) & (x <= hi)
    if skip >= 0:
        ok[:, skip] = True
    return ok.all(axis=1)


def _box(x: np.ndarray, y: np.ndarray, inside: np.ndarray, lower: np.ndarray, upper: np.ndarray,
         init: tuple[np.ndarray, np.ndarray]) -> Box:
    n, k, total = int(inside.sum()), int(y[inside].sum()), max(int(y.sum()), 1)
    restricted = tuple(int(j) for j in np.flatnonzero((lower > init[0]) | (upper < init[1])))
    return Box(tuple(float(v) for v in lower), tuple(float(v) for v in upper), n, k, k / total,
               k / n if n else 0.0, n / len(y), restricted)


def _lenient1(y_old: np.ndarray, y_new: np.ndarray) -> float:
    """Gain in density per point removed (or added)."""
    if y_new.size == 0 or y_new.size == y_old.size:
        return 0.0
    return float((y_new.mean() - y_old.mean()) / abs(y_old.size - y_new.size))


def quantile(data: np.ndarray, q: float) -> float:
    """The cut PRIM peels or pastes at (sdtoolkit's quantile, as EMA Workbench):
    between the two order statistics around ``q``, moved outwards past ties,
    so a cut never falls on a value and tied points stay together."""
    v = np.sort(data)
    i = (v.size - 1) * q
    lo, hi = int(np.floor(i)), int(np.ceil(i))
    if q > 0.5:
        while v[lo] == v[hi] and lo > 0:
            lo -= 1
    else:
        while v[lo] == v[hi] and hi < v.size - 1:
            hi += 1
    return float((v[lo] + v[hi]) / 2)


def _peels(xj: np.ndarray, alpha: float) -> list[tuple[str, float]]:
    """The two candidate cuts of one key: drop about ``alpha`` of the points in
    the box at its high or at its low end (upper first: on a tie EMA Workbench
    takes the upper peel)."""
    return [("upper", quantile(xj, 1 - alpha)), ("lower", quantile(xj, alpha))]


def _pastes(x: np.ndarray, others: np.ndarray, j: int, lower: float, upper: float, alpha: float,
            init: tuple[float, float]) -> list[tuple[str, float]]:
    """Candidate widenings of key ``j``: take back about ``alpha`` of the
    points in the slab just below, or just above, its interval (the slab
    being inside every other limit)."""
    xj = x[others, j]
    below, above = xj[xj < lower], xj[xj > upper]
    return [("lower", quantile(below, 1 - alpha) if below.size else init[0]),
            ("upper", quantile(above, alpha) if above.size else init[1])]


Candidate = tuple[object, int, str, float, np.ndarray]  # (score, key, side, cut, points inside after it)


def _best_peel(x: np.ndarray, y: np.ndarray, inside: np.ndarray, lower: np.ndarray, upper: np.ndarray,
               init: tuple[np.ndarray, np.ndarray], alpha: float) -> Candidate | None:
    """The peel that raises the density most per point removed (ties: fewer restricted keys)."""
    best = None
    for j in range(x.shape[1]):
        for side, cut in _peels(x[inside, j], alpha):
            new = inside & ((x[:, j] >= cut) if side == "lower" else (x[:, j] <= cut))
            if not 0 < new.sum() < inside.sum():
                continue
            score = (_lenient1(y[inside], y[new]), -_restricted_after(lower, upper, init, j, side, cut))
            if best is None or score > best[0]:
                best = (score, j, side, cut, new)
    return best


def _best_paste(x: np.ndarray, y: np.ndarray, inside: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                init: tuple[np.ndarray, np.ndarray], restricted: Sequence[int], alpha: float) -> Candidate | None:
    """The paste that raises the density most per point added, if any does."""
    best = None
    for j in restricted:
        others = _inside(x, Box(tuple(lower), tuple(upper), 0, 0, 0, 0, 0, ()), skip=j)
        for side, cut in _pastes(x, others, j, lower[j], upper[j], alpha, (init[0][j], init[1][j])):
            lo, hi = (cut, upper[j]) if side == "lower" else (lower[j], cut)
            new = others & _within(x[:, j], lo, hi)
            score = _lenient1(y[inside], y[new])
            if y[new].mean() > y[inside].mean() and score > 0 and (best is None or score > best[0]):
                best = (score, j, side, cut, new)
    return best


def _within(col: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (col >= lo) & (col <= hi)


def prim(x: np.ndarray, y: np.ndarray, names: Sequence[str], alpha: float = 0.05, paste_alpha: float = 0.05,
         mass_min: float = 0.05) -> Trajectory:
    """Peel, then paste, from the box around all of ``x`` (points x keys)
    towards where ``y`` (bool) holds; the whole trajectory."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=bool)
    init = (x.min(axis=0), x.max(axis=0))
    lower, upper = init[0].copy(), init[1].copy()
    inside = np.ones(len(y), dtype=bool)
    boxes = [_box(x, y, inside, lower, upper, init)]

    def take(step: Candidate) -> np.ndarray:
        _, j, side, cut, new = step
        (lower if side == "lower" else upper)[j] = cut
        boxes.append(_box(x, y, new, lower, upper, init))
        return new

    while (step := _best_peel(x, y, inside, lower, upper, init, alpha)) is not None \
            and step[0][0] > 0 and step[4].sum() >= mass_min * len(y):  # type: ignore[index]
        inside = take(step)
    while (step := _best_paste(x, y, inside, lower, upper, init, boxes[-1].restricted, paste_alpha)) is not None:
        inside = take(step)
    return Trajectory(tuple(names), tuple(boxes), x, y)


def _restricted_after(lower: np.ndarray, upper: np.ndarray, init: tuple[np.ndarray, np.ndarray], j: int,
                      side: str, cut: float) -> int:
    lo, hi = lower.copy(), upper.copy()
    (lo if side == "lower" else hi)[j] = cut
    return int(((lo > init[0]) | (hi < init[1])).sum())


__all__ = ["Box", "Trajectory", "prim"]
