"""Paired comparison of two scenarios under common random numbers.

Both scenarios run replications 0..n-1 with the same root seed, so
replication r of A and of B share every random draw that their difference
does not touch. The paired difference B - A then has a far narrower interval
than two independent samples would give; the report states by how much (the
ratio of the independent to the paired CI width).

Every row says how many pairs it rests on (``n``). No pair is dropped for
lack of an event: ``first_stockout_day`` (and the firms' first day) is
censored at the horizon, so its row compares restricted means - the mean of
min(first stockout day, horizon) - with a paired interval, beside each
side's Kaplan-Meier median and its CI (``resim.experiment.censoring``); and
``stockout_probability`` gets the paired difference of two proportions with
Bonett and Price's adjusted Wald interval for paired data, which a
t-interval on 0/1 data gets wrong near 0 and 1 and with few discordant pairs.

A replication that fails on either side leaves its pair out of the
statistics and becomes a row of its own (``metric = "failed"``, with the
error and the seed that reproduces it), as a failed replication does in
``resim run``; it never ends the comparison.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..model.kpis import FIRST_DAYS, METRICS
from ..scenario import Loaded
from .censoring import km_median, restricted
from .experiment import run_points

#: The rows of a comparison per automaker, in order: the KPIs, with the
#: stockout probability after the first stockout day.
COMPARED = (*METRICS[:4], "stockout_probability", *METRICS[4:])
COLUMNS = ["automaker", "metric", "n", "mean_a", "mean_b", "diff", "ci_low", "ci_high", "width_ratio", "method",
           "median_a", "median_a_low", "median_a_high", "median_b", "median_b_low", "median_b_high"]


def _failed_pairs(ka: pd.DataFrame, kb: pd.DataFrame) -> pd.DataFrame:
    """One row per replication that failed in A, in B or in both."""
    rows = []
    bad_a = ka[ka["error"].notna()].set_index("replication")
    bad_b = kb[kb["error"].notna()].set_index("replication")
    for r in sorted({*bad_a.index, *bad_b.index}):
        errs = [f"{side}: {bad.loc[r, 'error']}" for side, bad in (("A", bad_a), ("B", bad_b)) if r in bad.index]
        entropy = (bad_a if r in bad_a.index else bad_b).loc[r, "seed_entropy"]
        rows.append({"automaker": None, "metric": "failed", "replication": int(r), "error": "; ".join(errs),
                     "seed_entropy": int(entropy)})
    return pd.DataFrame(rows, columns=["automaker", "metric", "replication", "error", "seed_entropy"])


def paired_stats(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Mean of B - A with its paired 95% t-interval, and the half-width an
    independent-samples (Welch) interval would have had on the same data."""
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    n = a.size
    out = {"n": float(n), "mean_a": math.nan, "mean_b": math.nan, "diff": math.nan,
           "ci_low": math.nan, "ci_high": math.nan, "width_ratio": math.nan}
    if n == 0:
        return out
    d = b - a
    out.update(mean_a=float(a.mean()), mean_b=float(b.mean()), diff=float(d.mean()))
    if n < 2:
        return out
    half = float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / math.sqrt(n))
    out["ci_low"], out["ci_high"] = out["diff"] - half, out["diff"] + half
    va, vb = a.var(ddof=1) / n, b.var(ddof=1) / n
    se_ind = math.sqrt(va + vb)
    if se_ind > 0:
        df = (va + vb) ** 2 / ((va**2 + vb**2) / (n - 1)) if va + vb > 0 else n - 1
        half_ind = float(stats.t.ppf(0.975, df) * se_ind)
        out["width_ratio"] = half_ind / half if half > 0 else math.inf
    return out


Z95 = float(stats.norm.ppf(0.975))


def paired_proportions(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """P(event) in A and B over the same pairs, and B - A with Bonett and
    Price's (2012) adjusted Wald interval for paired proportions (one pair
    added to each discordant cell). It keeps a width when no pair is
    discordant, where Newcombe's hybrid interval collapses to a point -
    common under common random numbers. The width ratio compares it with
    Agresti and Caffo's interval for independent samples (one success and
    one failure added to each side)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    n = a.size
    out = {"n": float(n), "mean_a": math.nan, "mean_b": math.nan, "diff": math.nan,
           "ci_low": math.nan, "ci_high": math.nan, "width_ratio": math.nan}
    if n == 0:
        return out
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    pa, pb = float(a.mean()), float(b.mean())
    qa, qb = (only_a + 1) / (n + 2), (only_b + 1) / (n + 2)
    centre = qb - qa
    half = Z95 * math.sqrt(max(0.0, qa + qb - centre**2) / (n + 2))
    ta, tb = (a.sum() + 1) / (n + 2), (b.sum() + 1) / (n + 2)
    half_ind = Z95 * math.sqrt((ta * (1 - ta) + tb * (1 - tb)) / (n + 2))
    out.update(mean_a=pa, mean_b=pb, diff=pb - pa, ci_low=max(-1.0, centre - half),
               ci_high=min(1.0, centre + half), width_ratio=half_ind / half if half > 0 else math.inf)
    return out


def compare_kpis(ka: pd.DataFrame, kb: pd.DataFrame, horizon_a: float, horizon_b: float) -> pd.DataFrame:
    """Per automaker and KPI (:data:`COMPARED`), B - A over the replications
    both sides have (``ka``, ``kb``: one row per replication x automaker, as
    ``resim run`` writes them, failed replications already left out)."""
    rows = []
    for who in dict.fromkeys(ka["automaker"]):
        if who not in set(kb["automaker"]):
            continue
        ga = ka[ka.automaker == who].set_index("replication").sort_index()
        gb = kb[kb.automaker == who].set_index("replication").sort_index()
        both = ga.index.intersection(gb.index)
        ga, gb = ga.loc[both], gb.loc[both]
        rows += [{"automaker": who, "metric": m, **_compared(m, ga, gb, horizon_a, horizon_b)} for m in COMPARED]
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["n"] = out["n"].astype(int)
    return out.astype({c: float for c in COLUMNS if c.startswith(("median", "mean", "diff", "ci_", "width"))})


def _compared(m: str, ga: pd.DataFrame, gb: pd.DataFrame, horizon_a: float, horizon_b: float) -> dict[str, Any]:
    """One KPI's paired comparison over the common replications, with its method:
    paired proportions for a probability, restricted means (and Kaplan-Meier
    medians) for first-event days censored at the horizon, else a paired t."""
    if m == "stockout_probability":
        return {**paired_proportions(ga["first_stockout_day"].notna().to_numpy(),
                                     gb["first_stockout_day"].notna().to_numpy()),
                "method": "paired proportions (Bonett-Price)"}
    if m not in FIRST_DAYS:
        return {**paired_stats(ga[m].to_numpy(dtype=float), gb[m].to_numpy(dtype=float)), "method": "paired t"}
    da, db = ga[m].to_numpy(dtype=float), gb[m].to_numpy(dtype=float)
    row = {**paired_stats(restricted(da, horizon_a), restricted(db, horizon_b)),
           "method": "restricted mean (no event: censored at the horizon)"}
    for side, days, h in (("a", da, horizon_a), ("b", db, horizon_b)):
        km = km_median(days, h)
        row.update({f"median_{side}": km["median"], f"median_{side}_low": km["ci_low"],
                    f"median_{side}_high": km["ci_high"]})
    return row


def compare_loaded(la: Loaded, lb: Loaded, replications: int, workers: int = 1) -> pd.DataFrame:
    """Per automaker and KPI: A mean, B mean, paired B - A with 95% CI, the
    CI width ratio (independent / paired) and ``n`` pairs, over the pairs
    where both sides succeeded (first-event days censored at the horizon;
    ``stockout_probability`` as paired proportions); then one ``metric =
    "failed"`` row per failed pair. Both run replications 0..n-1 as two
    points of one experiment (the caller gives B A's seed: common random
    numbers)."""
    held = run_points([la, lb], replications, workers, records=False)
    ka, kb = held.rows(0).drop(columns="point"), held.rows(1).drop(columns="point")
    failed = _failed_pairs(ka, kb)
    bad = set(failed["replication"])
    ka, kb = ka[~ka["replication"].isin(bad)], kb[~kb["replication"].isin(bad)]
    out = compare_kpis(ka, kb, float(la.scenario.scenario.horizon), float(lb.scenario.scenario.horizon))
    table = pd.concat([out, failed], ignore_index=True) if len(failed) else out
    table.attrs.update(seed=la.scenario.scenario.seed, replications=replications,
                       horizon_days=float(la.scenario.scenario.horizon),
                       start_date=str(la.scenario.scenario.start_date))
    return table


__all__ = ["COLUMNS", "COMPARED", "compare_kpis", "compare_loaded", "paired_proportions", "paired_stats"]
