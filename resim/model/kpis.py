"""KPIs: pure functions of the record tables.

Nothing here touches the model. Per replication, each automaker's daily rows
give vehicles lost, shortfall tonnes, stockout days, the first stockout day,
the longest stoppage and the fill rate; across replications each KPI becomes a
mean with a 95% t-interval and p5/p50/p95. Every figure resim reports comes
with its interval, because a single replication of a stochastic chain is an
anecdote.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

METRICS = (
    "vehicles_lost",
    "shortfall_t",
    "stockout_days",
    "first_stockout_day",
    "longest_stoppage_days",
    "fill_rate",
    "extra_cost_usd",
    "peak_share_stopped",
    "firms_ever_stopped",
    "first_firm_stockout_day",
)
ALL = "all"

#: The range each KPI can take; confidence intervals are clipped to it (a
#: t-interval on few, skewed replications can otherwise dip below zero).
BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "vehicles_lost": (0.0, None),
    "shortfall_t": (0.0, None),
    "stockout_days": (0.0, None),
    "first_stockout_day": (0.0, None),
    "longest_stoppage_days": (0.0, None),
    "fill_rate": (0.0, 1.0),
    "extra_cost_usd": (None, None),
    "peak_share_stopped": (0.0, 1.0),
    "firms_ever_stopped": (0.0, None),
    "first_firm_stockout_day": (0.0, None),
}
#: KPIs counted in days of the run: at most the horizon, so their intervals are clipped to it too.
DAY_KPIS = ("stockout_days", "first_stockout_day", "longest_stoppage_days", "first_firm_stockout_day")
#: KPIs that are days of a first event, undefined (NaN) in a replication without one.
FIRST_DAYS = ("first_stockout_day", "first_firm_stockout_day")


def _runs(short: np.ndarray) -> tuple[int, float, int]:
    """(days short, first day short or NaN, longest run of consecutive short days)."""
    idx = np.flatnonzero(short)
    if idx.size == 0:
        return 0, math.nan, 0
    breaks = np.flatnonzero(np.diff(idx) != 1)
    starts = np.r_[0, breaks + 1]
    ends = np.r_[breaks, idx.size - 1]
    return int(idx.size), float(idx[0]), int((ends - starts + 1).max())


def automaker_kpis(
    day: np.ndarray,
    demand_t: np.ndarray,
    consumed_t: np.ndarray,
    shortfall_t: np.ndarray,
    t_per_vehicle: float | np.ndarray,
    extra_cost_usd: float = 0.0,
    demand_vehicles: np.ndarray | None = None,
    produced_vehicles: np.ndarray | None = None,
    firms: np.ndarray | None = None,
    firms_stopped: np.ndarray | None = None,
    firms_ever_stopped: float | None = None,
) -> dict[str, float]:
    """KPIs of one automaker entry in one replication from its daily rows.

    ``shortfall_t`` is the demand a day could not meet when it arose; goods
    built later from a backlog count in ``consumed_t``, so the tonnes lost
    for good are total demand minus total consumption. Vehicles use each day's
    tonnes per vehicle (substitution lowers it over time), or the entry's
    vehicle columns summed over its firms; NaN for an aggregate buyer given in
    tonnes only. A day is a stockout day when any firm of the entry is short;
    ``firms``/``firms_stopped`` per day give the share of firms stopped
    (without them the entry is one firm).
    """
    order = np.argsort(day, kind="stable")
    short = shortfall_t[order] > 0.0
    n_short, first, longest = _runs(short)
    demand = float(demand_t.sum())
    lost_t = max(0.0, demand - float(consumed_t.sum()))
    if lost_t < 1e-9 * max(demand, 1.0):
        lost_t = 0.0
    if demand_vehicles is None or produced_vehicles is None:
        tpv = np.broadcast_to(np.asarray(t_per_vehicle, dtype=float), demand_t.shape)
        demand_vehicles, produced_vehicles = demand_t / tpv, consumed_t / tpv
    if lost_t == 0.0:
        vehicles = 0.0 if not np.isnan(demand_vehicles).any() else math.nan
    else:
        vehicles = float(demand_vehicles.sum() - produced_vehicles.sum())
        vehicles = max(0.0, vehicles) if not math.isnan(vehicles) else math.nan
    if firms is None or firms_stopped is None:
        share = short.astype(float)
    else:
        share = np.asarray(firms_stopped, dtype=float) / np.asarray(firms, dtype=float)
    first_day = float(day[order][int(first)]) if not math.isnan(first) else math.nan
    return {
        "vehicles_lost": vehicles,
        "shortfall_t": lost_t,
        "stockout_days": float(n_short),
        "first_stockout_day": first_day,
        "longest_stoppage_days": float(longest),
        "fill_rate": 1.0 - lost_t / demand if demand > 0 else 1.0,
        "extra_cost_usd": float(extra_cost_usd),
        "peak_share_stopped": float(share.max()) if share.size else 0.0,
        "firms_ever_stopped": float(firms_ever_stopped if firms_ever_stopped is not None else n_short > 0),
        "first_firm_stockout_day": first_day,
    }


def replication_kpis(timeseries: pd.DataFrame, costs: pd.DataFrame | None = None,
                     firms: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per automaker entry and one for ``all`` (every automaker
    together; a day counts as a stockout for ``all`` when any firm is short).
    ``firms`` (one row per firm, ``firm_kpis``) gives how many firms of each
    entry were ever stopped.

    Plain numpy on the columns (no groupby): it runs once per replication,
    and on a reference replication pandas' grouping cost as much as a tenth
    of the simulation."""
    cost: dict[str, float] = {}
    if costs is not None and len(costs):
        for who, usd in zip(costs["automaker"].tolist(), costs["usd"].tolist(), strict=True):
            cost[who] = cost.get(who, 0.0) + usd
    ever: dict[str, float] = {}
    if firms is not None and len(firms):
        stopped = firms["stockout_days"].to_numpy() > 0
        for who, hit in zip(firms["automaker"].tolist(), stopped.tolist(), strict=True):
            ever[who] = ever.get(who, 0.0) + hit
    codes, names = pd.factorize(timeseries["automaker"].to_numpy(), sort=False)
    base = [timeseries[c].to_numpy() for c in ("day", "demand_t", "consumed_t", "shortfall_t", "t_per_vehicle")]
    extra = [c for c in ("demand_vehicles", "produced_vehicles", "firms", "firms_stopped") if c in timeseries]
    more = {c: timeseries[c].to_numpy(dtype=float) for c in extra}
    rows = []
    for k, name in enumerate(names):
        idx = np.flatnonzero(codes == k)
        day, demand, consumed, short, tpv = (c[idx] for c in base)
        per = {c: v[idx] for c, v in more.items()}
        rows.append({"automaker": name, **automaker_kpis(
            day, demand, consumed, short, tpv, cost.get(name, 0.0), **per,
            firms_ever_stopped=ever.get(name) if firms is not None else None)})
    if rows:
        days, at = np.unique(base[0], return_inverse=True)

        def total(c: np.ndarray) -> np.ndarray:
            return np.bincount(at, weights=c.astype(float), minlength=days.size)

        demand, consumed, short = (total(c) for c in base[1:4])
        head = {c: total(more[c]) for c in ("firms", "firms_stopped") if c in more}
        k = automaker_kpis(days, demand, consumed, short, math.nan, sum(cost.values()), **head,
                           firms_ever_stopped=sum(r["firms_ever_stopped"] for r in rows))
        veh = np.array([r["vehicles_lost"] for r in rows], dtype=float)
        k["vehicles_lost"] = float(np.nansum(veh)) if not np.isnan(veh).all() else math.nan
        rows.append({"automaker": ALL, **k})
    return pd.DataFrame(rows, columns=["automaker", *METRICS])


#: One row per firm of every automaker entry, per replication (``firms.parquet``).
FIRM_COLUMNS = ("automaker", "firm", "name", "demand_share", "initial_inventory_days", "target_days",
                "approval_standing", "vehicles_lost", "shortfall_t", "stockout_days", "first_stockout_day",
                "longest_stoppage_days", "fill_rate")


def firm_kpis(rows: np.ndarray) -> list[dict[str, float]]:
    """KPIs of each firm from its daily rows, an array ``(firms, 5, days)`` of
    inventory, demand, consumed, shortfall (tonnes) and tonnes per vehicle."""
    day = np.arange(rows.shape[2])
    out = []
    for r in rows:
        k = automaker_kpis(day, r[1], r[2], r[3], r[4])
        out.append({m: k[m] for m in ("vehicles_lost", "shortfall_t", "stockout_days", "first_stockout_day",
                                      "longest_stoppage_days", "fill_rate")})
    return out


def describe(values: Iterable[float], bounds: tuple[float | None, float | None] = (None, None)) -> dict[str, Any]:
    """Mean, 95% t-interval of the mean (clipped to ``bounds``), and
    p5/p50/p95 of replication values.

    The interval is scipy's Student t (``stats.t.interval`` around the mean
    with its standard error); identical values give a zero-width interval
    at the mean rather than scipy's NaN for a zero scale."""
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    n = x.size
    if n == 0:
        return {"mean": None, "ci95": [None, None], "p5": None, "p50": None, "p95": None, "n": 0}
    mean = float(x.mean())
    ci: list[float | None] = [None, None]
    if n > 1:
        sem = float(stats.sem(x))
        low, high = stats.t.interval(0.95, n - 1, loc=mean, scale=sem) if sem > 0 else (mean, mean)
        lo, hi = bounds
        ci = [float(low) if lo is None else max(lo, float(low)), float(high) if hi is None else min(hi, float(high))]
    p5, p50, p95 = (float(v) for v in np.percentile(x, [5, 50, 95]))
    return {"mean": mean, "ci95": ci, "p5": p5, "p50": p50, "p95": p95, "n": int(n)}


def wilson(successes: int, n: int) -> list[float | None]:
    """95% Wilson score interval for a proportion (sound at 0 and 1), from
    scipy's ``binomtest(...).proportion_ci(method="wilson")``."""
    if n == 0:
        return [None, None]
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(0.95, method="wilson")
    return [max(0.0, float(ci.low)), min(1.0, float(ci.high))]


def kpi_bounds(metric: str, horizon: float | None = None) -> tuple[float | None, float | None]:
    """The range ``metric`` can take: ``BOUNDS``, and at most ``horizon`` for KPIs in days."""
    lo, hi = BOUNDS[metric]
    if horizon is not None and metric in DAY_KPIS:
        hi = horizon if hi is None else min(hi, horizon)
    return lo, hi


def summarise_kpis(replications: pd.DataFrame, horizon: float | None = None) -> dict[str, dict[str, Any]]:
    """``kpis`` block of summary.json from the replications table (``horizon``:
    the run's, which bounds the intervals of KPIs in days)."""
    out: dict[str, dict[str, Any]] = {}
    ok = replications[replications["error"].isna()] if "error" in replications.columns else replications
    for name, g in ok.groupby("automaker", sort=False):
        block: dict[str, Any] = {}
        for m in METRICS:
            block[m] = describe(g[m].to_numpy(dtype=float), kpi_bounds(m, horizon))
        n = len(g)
        hit = int(g["first_stockout_day"].notna().sum())
        block["stockout_probability"] = {"mean": hit / n if n else None, "ci95": wilson(hit, n), "n": n}
        # a firm's first stockout is its entry's first stockout day, so the two probabilities agree
        block["firm_stockout_probability"] = block["stockout_probability"]
        out[str(name)] = block
    return out


def licensing_summary(licences: pd.DataFrame, stages: pd.DataFrame, replications: list[int]) -> dict[str, Any]:
    """The ``licensing`` block: volumes, approval, decision times, stage waits,
    time-average queue lengths and reviewer utilisation.

    Stage waits are per visit (an application sent back for rework waits
    again); queue lengths and utilisation come from the office's time
    integrals, which include background applications.
    """
    out: dict[str, Any] = {}
    names = list(dict.fromkeys(stages["stage"])) if len(stages) else []
    if len(licences):
        per_rep = licences.groupby("replication").size().reindex(replications, fill_value=0)
        out["applications"] = describe(per_rep.to_numpy(dtype=float))
        decided = licences[licences["outcome"] != "pending"]
        share = decided.groupby("replication")["outcome"].apply(lambda s: float((s == "approved").mean()))
        out["approved_share"] = describe(share.to_numpy(dtype=float))
        out["pending_at_horizon"] = int((licences["outcome"] == "pending").sum())
        days = (decided["decided_day"] - decided["submitted_day"]).to_numpy(dtype=float)
        out["decision_days"] = _pooled(days)
        waits = {}
        for s in names:
            visits = decided[f"visits_{s}"].to_numpy(dtype=float)
            w = decided[f"wait_{s}"].to_numpy(dtype=float)
            mask = visits > 0
            per_visit = w[mask] / visits[mask]
            waits[s] = _pooled(per_visit)
        out["stage_wait_days"] = waits
        by_kind = {}
        for kind, g in decided.groupby("kind"):
            by_kind[str(kind)] = {
                "decided": int(len(g)),
                "approved_share": float((g["outcome"] == "approved").mean()),
            }
        out["by_kind"] = by_kind
    else:
        out["applications"] = describe([0.0] * len(replications))
        out["approved_share"] = describe([])
        out["pending_at_horizon"] = 0
        out["decision_days"] = _pooled(np.array([]))
        out["stage_wait_days"] = {s: _pooled(np.array([])) for s in names}
        out["by_kind"] = {}
    q, util = {}, {}
    for s in names:
        g = stages[stages["stage"] == s]
        q[s] = describe((g["queue_area"] / g["horizon_days"]).to_numpy(dtype=float))
        finite = g[g["reviewer_area"] > 0]
        util[s] = describe((finite["busy_area"] / finite["reviewer_area"]).to_numpy(dtype=float)) \
            if len(finite) else None
    out["queue_length"] = q
    out["reviewer_utilisation"] = util
    return out


def _pooled(x: np.ndarray) -> dict[str, float | None]:
    x = x[~np.isnan(x)]
    if x.size == 0:
        return {"mean": None, "p50": None, "p95": None, "n": 0}
    p50, p95 = np.percentile(x, [50, 95])
    return {"mean": float(x.mean()), "p50": float(p50), "p95": float(p95), "n": int(x.size)}
