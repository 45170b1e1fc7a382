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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Kpi:
    """One KPI, declared once: every table, file, report, figure and
    command-line check reads what it shows and accepts from here, so adding a
    KPI is this declaration plus its computation in :func:`automaker_kpis`.

    ``unit`` is the unit of the stored value, ``heading`` the tables' name
    for it in the unit shown (the value times ``scale``, with ``digits``
    decimals). ``aggregation`` says how the row of every automaker together
    (``all``) is formed: ``pooled`` from the daily rows of every automaker
    (a day is short when any firm is), ``sum`` over the entries. ``bounds``
    is the range the KPI can take; its confidence intervals are clipped to
    it (a t-interval on few, skewed replications can otherwise dip below
    zero). A ``censored`` KPI is the day of a first event, undefined (NaN) in
    a replication without one; where a value is needed per replication
    (sensitivity, discovery, comparisons, sequential targets) it counts as
    the horizon. ``shown``: where it is shown beyond the result files
    (``report``: the HTML report and notebook; ``terminal``: the terminal
    tables too), ``drop_rank`` the order in which a terminal run table too
    wide for the screen leaves it out (0: never), ``population`` that it is
    shown only when an automaker entry is a population of firms, and
    ``stand_in`` the KPI shown in its place when it is undefined for every
    entry. ``occurrence_of`` marks a share of replications: those in which
    that censored KPI happened."""

    name: str
    label: str
    unit: str
    heading: str
    better: str
    aggregation: str
    meaning: str
    bounds: tuple[float | None, float | None] = (0.0, None)
    digits: int = 0
    scale: float = 1.0
    censored: bool = False
    per_firm: bool = False
    population: bool = False
    shown: str = "files"
    drop_rank: int = 0
    stand_in: str | None = None
    occurrence_of: str | None = None

    @property
    def is_share(self) -> bool:
        """A share (of demand, firms or replications): bounded by 0 and 1."""
        return self.bounds == (0.0, 1.0)


SUM, POOLED = "sum", "pooled"
TERMINAL, REPORT = "terminal", "report"
LOWER, HIGHER = "lower", "higher"

#: The KPIs of one replication, in the column order of replications.parquet.
KPIS: tuple[Kpi, ...] = (
    Kpi("vehicles_lost", "vehicles lost", "vehicles", "vehicles lost", LOWER, SUM,
        "vehicles not built for want of magnets (NaN for a buyer given in tonnes)",
        per_firm=True, shown=TERMINAL, stand_in="shortfall_t"),
    Kpi("shortfall_t", "magnet shortfall", "t", "magnet shortfall (t)", LOWER, POOLED,
        "magnet demand never met: demand minus consumption", per_firm=True, shown=REPORT),
    Kpi("stockout_days", "stockout days", "days", "stockout days", LOWER, POOLED,
        "days on which the entry (any of its firms) was short", per_firm=True, shown=TERMINAL, drop_rank=2),
    Kpi("first_stockout_day", "first stockout", "day of run", "first stockout", HIGHER, POOLED,
        "day of the run on which the first stockout began", censored=True, per_firm=True, shown=TERMINAL),
    Kpi("longest_stoppage_days", "longest stoppage", "days", "longest stoppage (days)", LOWER, POOLED,
        "longest run of consecutive stockout days", per_firm=True, shown=REPORT),
    Kpi("fill_rate", "fill rate", "share of demand", "fill rate %", HIGHER, POOLED,
        "share of magnet demand met", bounds=(0.0, 1.0), digits=1, scale=100.0, per_firm=True,
        shown=TERMINAL, drop_rank=1),
    Kpi("extra_cost_usd", "extra cost", "USD", "extra cost (USD)", LOWER, SUM,
        "US dollars paid above the reference price of magnets", bounds=(None, None)),
    Kpi("peak_share_stopped", "peak share of lines stopped", "share of firms", "peak lines stopped %", LOWER,
        POOLED, "largest share of the entry's firms short on one day", bounds=(0.0, 1.0), scale=100.0,
        population=True, shown=TERMINAL, drop_rank=3),
    Kpi("firms_ever_stopped", "firms ever stopped", "firms", "firms ever stopped", LOWER, SUM,
        "firms of the entry short on at least one day", digits=1, population=True, shown=REPORT),
    Kpi("first_firm_stockout_day", "first firm stockout", "day of run", "first firm stockout", HIGHER, POOLED,
        "day of the run on which the entry's first firm ran short (its first stockout)", censored=True),
)
#: Across replications: the share of them with a stockout (a Wilson interval, not a t-interval).
STOCKOUT_PROBABILITY = Kpi(
    "stockout_probability", "stockout probability", "share of replications", "P(stockout)", LOWER, POOLED,
    "share of replications with a stockout", bounds=(0.0, 1.0), digits=2, shown=TERMINAL, drop_rank=4,
    occurrence_of="first_stockout_day")
#: A market KPI, only with ``[markets]`` (one value per replication, not per automaker;
#: :func:`price_premium`): summary.json's ``markets`` block.
PRICE_PREMIUM = Kpi(
    "price_premium", "price premium outside China", "share of the Chinese price", "premium outside China %",
    LOWER, SUM, "mean over observation days and items of the outside-China contract price over the "
    "Chinese domestic one, minus 1", bounds=(-1.0, None), digits=1, scale=100.0, shown=REPORT)
#: Every KPI in the order tables show them: each share of replications after the day it counts.
READING_ORDER: tuple[Kpi, ...] = tuple(
    x for k in KPIS for x in (k, *(s for s in (STOCKOUT_PROBABILITY,) if s.occurrence_of == k.name)))
BY_NAME: dict[str, Kpi] = {k.name: k for k in READING_ORDER}

METRICS = tuple(k.name for k in KPIS)
ALL = "all"
BOUNDS: dict[str, tuple[float | None, float | None]] = {k.name: k.bounds for k in KPIS}
#: KPIs that are days of a first event, undefined (NaN) in a replication without one.
FIRST_DAYS = tuple(k.name for k in KPIS if k.censored)
#: KPIs counted in days of the run: at most the horizon, so their intervals are clipped to it too.
DAY_KPIS = tuple(k.name for k in KPIS if k.unit in ("days", "day of run"))


def _runs(short: np.ndarray) -> tuple[int, float, int]:
    """(days short, first day short or NaN, longest run of consecutive short days)."""
    idx = np.flatnonzero(short)
    if idx.size == 0:
        return 0, math.nan, 0
    breaks = np.flatnonzero(np.diff(idx) != 1)
    starts = np.r_[0, breaks + 1]
    ends = np.r_[breaks, idx.size - 1]
    return int(idx.size), float(idx[0]), int((ends - starts + 1).max())


def _lost_tonnes(demand_t: np.ndarray, consumed_t: np.ndarray) -> tuple[float, float]:
    """(total demand, tonnes lost for good): demand minus consumption, a
    rounding-sized remainder counted as none."""
    demand = float(demand_t.sum())
    lost_t = max(0.0, demand - float(consumed_t.sum()))
    return demand, 0.0 if lost_t < 1e-9 * max(demand, 1.0) else lost_t


def _vehicles(lost_t: float, demand_vehicles: np.ndarray, produced_vehicles: np.ndarray) -> float:
    """Vehicles not built; NaN when a day's demand has no vehicle count."""
    if lost_t == 0.0:
        return 0.0 if not np.isnan(demand_vehicles).any() else math.nan
    vehicles = float(demand_vehicles.sum() - produced_vehicles.sum())
    return max(0.0, vehicles) if not math.isnan(vehicles) else math.nan


def _share_stopped(short: np.ndarray, firms: np.ndarray | None, firms_stopped: np.ndarray | None) -> np.ndarray:
    """The share of the entry's firms stopped each day (one firm without the counts)."""
    if firms is None or firms_stopped is None:
        return short.astype(float)
    return np.asarray(firms_stopped, dtype=float) / np.asarray(firms, dtype=float)


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
    demand, lost_t = _lost_tonnes(demand_t, consumed_t)
    if demand_vehicles is None or produced_vehicles is None:
        tpv = np.broadcast_to(np.asarray(t_per_vehicle, dtype=float), demand_t.shape)
        demand_vehicles, produced_vehicles = demand_t / tpv, consumed_t / tpv
    share = _share_stopped(short, firms, firms_stopped)
    first_day = float(day[order][int(first)]) if not math.isnan(first) else math.nan
    return {
        "vehicles_lost": _vehicles(lost_t, demand_vehicles, produced_vehicles),
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


def _per_automaker(frame: pd.DataFrame | None, values: Callable[[pd.DataFrame], Any]) -> dict[str, float]:
    """``values`` of a per-row table (costs, firms) summed per automaker (plain
    Python: a few rows per replication)."""
    out: dict[str, float] = {}
    if frame is not None and len(frame):
        for who, x in zip(frame["automaker"].tolist(), values(frame).tolist(), strict=True):
            out[who] = out.get(who, 0.0) + x
    return out


def _sum_of_entries(values: list[float]) -> float:
    """A ``sum`` KPI of every automaker together: NaN only if no entry has it."""
    x = np.array(values, dtype=float)
    return float(np.nansum(x)) if not np.isnan(x).all() else math.nan


def _total_kpis(base: list[np.ndarray], more: dict[str, np.ndarray], rows: list[dict[str, Any]]) -> dict[str, float]:
    """The ``all`` row: pooled KPIs from every entry's daily rows summed per
    day, ``sum`` KPIs (:attr:`Kpi.aggregation`) summed over the entries."""
    days, at = np.unique(base[0], return_inverse=True)

    def total(c: np.ndarray) -> np.ndarray:
        return np.bincount(at, weights=c.astype(float), minlength=days.size)

    demand, consumed, short = (total(c) for c in base[1:4])
    head = {c: total(more[c]) for c in ("firms", "firms_stopped") if c in more}
    k = automaker_kpis(days, demand, consumed, short, math.nan, **head)
    for kpi in KPIS:
        if kpi.aggregation == SUM:
            k[kpi.name] = _sum_of_entries([r[kpi.name] for r in rows])
    return k


def _entry_rows(automaker: np.ndarray, base: list[np.ndarray], more: dict[str, np.ndarray],
                cost: dict[str, float], ever: dict[str, float] | None) -> list[dict[str, Any]]:
    """One row of KPIs per automaker entry, in order of first appearance
    (``ever``: firms ever stopped per entry, None without firm rows)."""
    codes, names = pd.factorize(automaker, sort=False)
    rows = []
    for k, name in enumerate(names):
        idx = np.flatnonzero(codes == k)
        day, demand, consumed, short, tpv = (c[idx] for c in base)
        per = {c: v[idx] for c, v in more.items()}
        rows.append({"automaker": name, **automaker_kpis(
            day, demand, consumed, short, tpv, cost.get(name, 0.0), **per,
            firms_ever_stopped=None if ever is None else ever.get(name))})
    return rows


def replication_kpis(timeseries: pd.DataFrame, costs: pd.DataFrame | None = None,
                     firms: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per automaker entry and one for ``all`` (every automaker
    together; a day counts as a stockout for ``all`` when any firm is short).
    ``firms`` (one row per firm, ``firm_kpis``) gives how many firms of each
    entry were ever stopped.

    Plain numpy on the columns (no groupby): it runs once per replication,
    and on a reference replication pandas' grouping cost as much as a tenth
    of the simulation."""
    cost = _per_automaker(costs, lambda f: f["usd"])
    ever = _per_automaker(firms, lambda f: f["stockout_days"].to_numpy() > 0) if firms is not None else None
    base = [timeseries[c].to_numpy() for c in ("day", "demand_t", "consumed_t", "shortfall_t", "t_per_vehicle")]
    extra = [c for c in ("demand_vehicles", "produced_vehicles", "firms", "firms_stopped") if c in timeseries]
    more = {c: timeseries[c].to_numpy(dtype=float) for c in extra}
    rows = _entry_rows(timeseries["automaker"].to_numpy(), base, more, cost, ever)
    if rows:
        rows.append({"automaker": ALL, **_total_kpis(base, more, rows)})
    return pd.DataFrame(rows, columns=["automaker", *METRICS])


#: The KPIs of each firm in firms.parquet.
FIRM_KPIS = tuple(k.name for k in KPIS if k.per_firm)
#: One row per firm of every automaker entry, per replication (``firms.parquet``).
FIRM_COLUMNS = ("automaker", "firm", "name", "demand_share", "initial_inventory_days", "target_days",
                "approval_standing", *FIRM_KPIS)


def firm_kpis(rows: np.ndarray) -> list[dict[str, float]]:
    """KPIs of each firm from its daily rows, an array ``(firms, 5, days)`` of
    inventory, demand, consumed, shortfall (tonnes) and tonnes per vehicle."""
    day = np.arange(rows.shape[2])
    out = []
    for r in rows:
        k = automaker_kpis(day, r[1], r[2], r[3], r[4])
        out.append({m: k[m] for m in FIRM_KPIS})
    return out


def price_premium(prices: pd.DataFrame) -> float:
    """One replication's :data:`PRICE_PREMIUM` from its price rows (``prices.parquet``):
    contract prices outside China over those in China, averaged over days and items."""
    contract = prices[prices["tier"] == "contract"]
    wide = contract.pivot_table(index=["day", "item"], columns="market", values="usd_per_kg")
    if wide.empty or not {"china", "outside"} <= set(wide.columns):
        return math.nan
    return float((wide["outside"] / wide["china"]).mean() - 1.0)


def _clipped(interval: tuple[float, float], bounds: tuple[float | None, float | None]) -> list[float | None]:
    lo, hi = bounds
    low, high = (float(v) for v in interval)
    return [low if lo is None else max(lo, low), high if hi is None else min(hi, high)]


def _t_interval(x: np.ndarray, mean: float) -> tuple[float, float]:
    """scipy's 95% Student t interval of the mean; identical values give a
    zero-width interval at the mean rather than scipy's NaN for a zero scale."""
    sem = float(stats.sem(x))
    return stats.t.interval(0.95, x.size - 1, loc=mean, scale=sem) if sem > 0 else (mean, mean)


def describe(values: Iterable[float], bounds: tuple[float | None, float | None] = (None, None)) -> dict[str, Any]:
    """Mean, 95% t-interval of the mean (clipped to ``bounds``), and
    p5/p50/p95 of replication values (None and NaN left out)."""
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    n = x.size
    if n == 0:
        return {"mean": None, "ci95": [None, None], "p5": None, "p50": None, "p95": None, "n": 0}
    mean = float(x.mean())
    ci = _clipped(_t_interval(x, mean), bounds) if n > 1 else [None, None]
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
    """The range ``metric`` can take: its declared bounds, and at most ``horizon`` for KPIs in days."""
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
        for kpi in KPIS:
            block[kpi.name] = describe(g[kpi.name].to_numpy(dtype=float), kpi_bounds(kpi.name, horizon))
        n = len(g)
        hit = int(g[STOCKOUT_PROBABILITY.occurrence_of].notna().sum())
        block[STOCKOUT_PROBABILITY.name] = {"mean": hit / n if n else None, "ci95": wilson(hit, n), "n": n}
        # a firm's first stockout is its entry's first stockout day, so the two probabilities agree
        block["firm_stockout_probability"] = block[STOCKOUT_PROBABILITY.name]
        out[str(name)] = block
    return out


def _decisions(licences: pd.DataFrame, names: list[str], replications: list[int]) -> dict[str, Any]:
    """Applications per replication, approved share, pending files, days to
    decision, stage waits per visit and approvals by kind."""
    if not len(licences):
        return {"applications": describe([0.0] * len(replications)), "approved_share": describe([]),
                "pending_at_horizon": 0, "decision_days": _pooled(np.array([])),
                "stage_wait_days": {s: _pooled(np.array([])) for s in names}, "by_kind": {}}
    per_rep = licences.groupby("replication").size().reindex(replications, fill_value=0)
    decided = licences[licences["outcome"] != "pending"]
    share = decided.groupby("replication")["outcome"].apply(lambda s: float((s == "approved").mean()))
    days = (decided["decided_day"] - decided["submitted_day"]).to_numpy(dtype=float)
    return {"applications": describe(per_rep.to_numpy(dtype=float)),
            "approved_share": describe(share.to_numpy(dtype=float)),
            "pending_at_horizon": int((licences["outcome"] == "pending").sum()),
            "decision_days": _pooled(days),
            "stage_wait_days": {s: _wait_per_visit(decided, s) for s in names},
            "by_kind": {str(kind): {"decided": int(len(g)), "approved_share": float((g["outcome"] == "approved").mean())}
                        for kind, g in decided.groupby("kind")}}


def _wait_per_visit(decided: pd.DataFrame, stage: str) -> dict[str, float | None]:
    visits = decided[f"visits_{stage}"].to_numpy(dtype=float)
    w = decided[f"wait_{stage}"].to_numpy(dtype=float)
    mask = visits > 0
    return _pooled(w[mask] / visits[mask])


def _utilisation(g: pd.DataFrame) -> dict[str, Any] | None:
    """Busy reviewer time over reviewer time (None for unlimited reviewers)."""
    finite = g[g["reviewer_area"] > 0]
    return describe((finite["busy_area"] / finite["reviewer_area"]).to_numpy(dtype=float)) if len(finite) else None


def licensing_summary(licences: pd.DataFrame, stages: pd.DataFrame, replications: list[int]) -> dict[str, Any]:
    """The ``licensing`` block: volumes, approval, decision times, stage waits,
    time-average queue lengths and reviewer utilisation.

    Stage waits are per visit (an application sent back for rework waits
    again); queue lengths and utilisation come from the office's time
    integrals, which include background applications.
    """
    names = list(dict.fromkeys(stages["stage"])) if len(stages) else []
    per_stage = {s: stages[stages["stage"] == s] for s in names}
    return {**_decisions(licences, names, replications),
            "queue_length": {s: describe((g["queue_area"] / g["horizon_days"]).to_numpy(dtype=float))
                             for s, g in per_stage.items()},
            "reviewer_utilisation": {s: _utilisation(g) for s, g in per_stage.items()}}


def _pooled(x: np.ndarray) -> dict[str, float | None]:
    x = x[~np.isnan(x)]
    if x.size == 0:
        return {"mean": None, "p50": None, "p95": None, "n": 0}
    p50, p95 = np.percentile(x, [50, 95])
    return {"mean": float(x.mean()), "p50": float(p50), "p95": float(p95), "n": int(x.size)}
