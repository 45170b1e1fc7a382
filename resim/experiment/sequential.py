"""Sequential replications: replicate until the mean is known well enough.

``--target-ci REL`` replaces a guessed number of replications by the
confidence-interval method with look-ahead of Hoad, Robinson & Davies
("Automated selection of the number of replications for a discrete-event
simulation", J. Oper. Res. Soc. 61, 2010). After n replications the precision
of a KPI is its 95% CI half-width over its mean; n is the answer when the
precision is within REL - or the half-width within an absolute floor
(``--target-abs``, for KPIs whose mean is near zero) - for every named KPI,
*and stays so* for the next f(n) replications (the look-ahead: 5, or 5% of n
beyond 100 replications), which guards against a CI that is narrow by luck.
The run keeps n + f(n) replications. Without convergence it stops at the
cap (``-n``) and says so.

Deterministic for a seed: replication r always draws from child r of the
seed, the decision at n reads replications 0..n-1 only, and exactly the
prefix of replications the rule asks for is kept. Batches (sized for the
workers and from the projected need) only decide how much is run ahead and
dropped, never the result. First-event days are censored at the horizon and
``stockout_probability`` is the mean of a 0/1 indicator, so every replication
has a value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..model.kpis import FIRST_DAYS
from ..scenario import Loaded
from ..scenario.errors import ScenarioError
from .censoring import restricted
from .point_outcomes import check_outcome

#: Hoad et al.'s kLimit: replications the precision must hold for beyond n (up to 100).
LOOK_AHEAD = 5
#: The first decision is taken after this many replications (and the look-ahead).
MINIMUM = 3


def look_ahead(n: int) -> int:
    """f(kLimit, n): 5 up to 100 replications, then 5% of n."""
    return LOOK_AHEAD if n <= 100 else n * LOOK_AHEAD // 100


def first_batch(cap: int) -> int:
    """Replications before the first decision: the minimum and its look-ahead."""
    return min(cap, MINIMUM + look_ahead(MINIMUM))


@dataclass(frozen=True)
class Target:
    """REL, the KPIs it applies to as (KPI, automaker), and the absolute floor."""

    rel: float
    kpis: tuple[tuple[str, str], ...] = (("vehicles_lost", "all"),)
    abs_floor: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"rel": self.rel, "kpis": [list(k) for k in self.kpis], "abs": self.abs_floor,
                "look_ahead": LOOK_AHEAD, "minimum": MINIMUM}

    def text(self) -> str:
        names = ", ".join(f"{k} ({who})" for k, who in self.kpis)
        floor = f" or within {self.abs_floor:g}" if self.abs_floor is not None else ""
        return f"95% CI half-width within {self.rel:.0%} of the mean{floor} for {names}"


def parse_target(rel: float, kpis: Sequence[str] = (), abs_floor: float | None = None) -> Target:
    """``--target-ci REL``, ``--target-kpi KPI[@AUTOMAKER]`` (repeatable), ``--target-abs A``."""
    if not (math.isfinite(rel) and 0 < rel < 1):
        raise ScenarioError("--target-ci", "", "must be a share between 0 and 1, e.g. 0.05", rel)
    if abs_floor is not None and not (math.isfinite(abs_floor) and abs_floor >= 0):
        raise ScenarioError("--target-abs", "", "must be a number >= 0", abs_floor)
    pairs = [_kpi_pair(text) for text in kpis or ["vehicles_lost"]]
    return Target(rel, tuple(dict.fromkeys(pairs)), abs_floor)


def _kpi_pair(text: str) -> tuple[str, str]:
    """``KPI[@AUTOMAKER]`` -> (KPI, automaker), every automaker together by default."""
    kpi, _, who = text.partition("@")
    return check_outcome(kpi.strip(), "--target-kpi"), who.strip() or "all"


def check_target(target: Target, loaded: Loaded) -> None:
    """Refuse an automaker the scenario does not have, before anything runs."""
    names = [a.name for a in loaded.scenario.automakers]
    for _, who in target.kpis:
        if who != "all" and who not in names:
            raise ScenarioError("--target-kpi", who, f"is not an automaker of {loaded.source}; one of "
                                f"{', '.join(['all', *names])}")


def values(rows: pd.DataFrame, target: Target, horizon: float, replications: int) -> np.ndarray:
    """Replications 0..replications-1 x target KPIs: each replication's value
    (first-event days censored at the horizon; NaN for a failed replication)."""
    ok = rows[rows["error"].isna()]
    out = np.full((replications, len(target.kpis)), np.nan)
    for j, (kpi, who) in enumerate(target.kpis):
        g = ok[ok["automaker"].astype(str) == who]
        r = g["replication"].to_numpy(dtype=int)
        keep = r < replications
        if kpi == "stockout_probability":
            v = g["first_stockout_day"].notna().to_numpy(dtype=float)
        elif kpi in FIRST_DAYS:
            v = restricted(g[kpi].to_numpy(dtype=float), horizon)
        else:
            v = g[kpi].to_numpy(dtype=float)
        out[r[keep], j] = v[keep]
    return out


def prefix_precision(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every prefix length 1..m and column: values counted, mean, and the
    95% t-interval half-width (inf below two values). Sums are taken about
    each column's first value, so large equal values give a width of 0."""
    valid = ~np.isnan(v)
    count = np.cumsum(valid, axis=0)
    first = np.array([c[~np.isnan(c)][0] if (~np.isnan(c)).any() else 0.0 for c in v.T])
    z = np.where(valid, v - first, 0.0)
    s1, s2 = np.cumsum(z, axis=0), np.cumsum(z * z, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s1 / count + first
        var = np.maximum(s2 - s1 * s1 / count, 0.0) / (count - 1)
        half = stats.t.ppf(0.975, np.maximum(count - 1, 1)) * np.sqrt(var / count)
    half = np.where(count >= 2, half, np.inf)
    return count, mean, half


@dataclass(frozen=True)
class Decision:
    """``met`` (keep ``replications``: the solution n plus its look-ahead),
    ``capped`` (keep the cap: not met) or ``more`` (run up to ``next_total``)."""

    status: str
    replications: int
    solution: int | None
    next_total: int | None
    precision: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "replications": self.replications, "solution": self.solution,
                "precision": list(self.precision)}

    def line(self, target: Target) -> str:
        """One sentence for the terminal."""
        got = "; ".join(f"{p['kpi']} ({p['automaker']}) ±" + (f"{p['relative']:.1%} of the mean"
                        if p["relative"] is not None else f"{_short(p['half_width'])}")
                        for p in self.precision)
        if self.status == "met":
            extra = self.replications - (self.solution or 0)
            return (f"target met at {self.solution} replications and held for {extra} more; "
                    f"{self.replications} kept ({got})")
        return f"target not met within -n {self.replications} replications ({got}; asked: {target.text()})"


def _short(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def decide(v: np.ndarray, target: Target, cap: int) -> Decision:
    """The rule applied to replications 0..m-1 (rows of ``v``), with at most ``cap`` in all."""
    m = v.shape[0]
    count, mean, half = prefix_precision(v) if m else (np.zeros((0, 0)),) * 3
    met = _solution(target, count, mean, half) if m else None
    if met is not None:
        n, end = met
        return Decision("met", end, n, None, _precision(target, count, mean, half, end))
    if m >= cap:
        return Decision("capped", cap, None, None, _precision(target, count, mean, half, cap))
    if m == 0:
        return Decision("more", 0, None, first_batch(cap), ())
    return Decision("more", m, None, _next_total(target, count, mean, half, cap), ())


def _next_total(target: Target, count: np.ndarray, mean: np.ndarray, half: np.ndarray, cap: int) -> int:
    """How many replications to have after the next round: what the slowest
    KPI needs at the precision seen so far plus its look-ahead, at most double
    (the estimate is rough while few have run), at least one look-ahead more."""
    m = count.shape[0]
    star = max((_needed(target, count[-1, j], mean[-1, j], half[-1, j]) for j in range(count.shape[1])),
               default=math.inf)
    grow = 2 * m if not math.isfinite(star) else min(2 * m, math.ceil(star) + look_ahead(math.ceil(star)))
    return min(cap, max(m + LOOK_AHEAD, grow))


def _solution(target: Target, count: np.ndarray, mean: np.ndarray, half: np.ndarray) -> tuple[int, int] | None:
    """The first n whose precision holds through its look-ahead, and the
    replications that keeps (n plus the look-ahead); None if none yet."""
    m = count.shape[0]
    ok = (half <= target.rel * np.abs(mean)) | (half == 0)
    if target.abs_floor is not None:
        ok |= half <= target.abs_floor
    ok = ok.all(axis=1)
    for n in range(MINIMUM, m + 1):
        end = n + look_ahead(n)
        if end > m:
            return None
        if ok[n - 1:end].all():
            return n, end
    return None


def _needed(target: Target, count: float, mean: float, half: float) -> float:
    """Replications one KPI needs at the precision seen so far (the CI shrinks as 1/sqrt(n))."""
    if not math.isfinite(half):
        return math.inf
    goals = [g for g in (target.rel * abs(mean), target.abs_floor) if g]
    return min((count * (half / g) ** 2 for g in goals), default=math.inf)


def _precision(target: Target, count: np.ndarray, mean: np.ndarray, half: np.ndarray,
               n: int) -> tuple[dict[str, Any], ...]:
    out = []
    for j, (kpi, who) in enumerate(target.kpis):
        mu, h = float(mean[n - 1, j]), float(half[n - 1, j])
        out.append({"kpi": kpi, "automaker": who, "n": int(count[n - 1, j]), "mean": mu, "half_width": h,
                    "relative": h / abs(mu) if mu and math.isfinite(h) else None})
    return tuple(out)


__all__ = ["LOOK_AHEAD", "MINIMUM", "Decision", "Target", "check_target", "decide", "first_batch", "look_ahead",
           "parse_target", "prefix_precision", "values"]
