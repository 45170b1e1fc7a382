"""Price KPIs: pure functions of a run's price rows (``prices.parquet``).

A run with ``[markets]`` has one price path per replication, item, market
(``china``, ``outside``) and tier (``contract``, ``spot``). Its KPIs are one
number per replication and series, summarised across replications with the
same intervals as the automakers' KPIs (``kpis.describe``), so a price shock
is read as "Dy oxide outside China peaked at 5.4x its base [4.9, 5.9]", not
as one seeded path. They are declared here, beside the premium outside China
(``kpis.PRICE_PREMIUM``), as :class:`~resim.model.kpis.Kpi` objects: the
terminal table, summary.json and the sweeps read names, units and digits
from these declarations.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pandas as pd

from .kpis import HIGHER, LOWER, PRICE_PREMIUM, REPORT, SUM, TERMINAL, Kpi, describe, price_premium

#: The mean price over the run's observation days (day 0 and every ``step_days``, and the horizon).
MEAN_PRICE = Kpi(
    "mean_price_usd_per_kg", "mean price", "USD/kg", "mean USD/kg", LOWER, SUM,
    "mean over the observation days of one replication's price of an item, market and tier",
    shown=TERMINAL)
#: How high the price went: its largest value over the day-0 (base) price.
PRICE_PEAK_RATIO = Kpi(
    "price_peak_ratio", "price peak over base", "ratio to the base price", "peak/base", LOWER, SUM,
    "largest price of the run over the price on day 0 (the base): 1 when it never rose",
    bounds=(1.0, None), digits=2, shown=TERMINAL)
#: When the price peaked (the first observation day with the largest price).
PRICE_PEAK_DAY = Kpi(
    "price_peak_day", "price peak day", "day of run", "peak day", HIGHER, SUM,
    "first observation day on which the price reached its largest value (0 when it never rose)",
    shown=REPORT)
#: The KPIs of one price series (item, market, tier) in one replication.
SERIES_KPIS: tuple[Kpi, ...] = (MEAN_PRICE, PRICE_PEAK_RATIO, PRICE_PEAK_DAY)
#: Every market KPI: the series KPIs and the premium outside China (one per replication).
MARKET_KPIS: tuple[Kpi, ...] = (*SERIES_KPIS, PRICE_PREMIUM)
SERIES = ("item", "market", "tier")
#: Prices within this relative distance of the largest count as the peak (rounding, not a rise).
PEAK_RTOL = 1e-9
#: Columns of :func:`price_kpis`.
PRICE_KPI_COLUMNS = ("replication", *SERIES, *(k.name for k in SERIES_KPIS))


def _series_kpis(day: np.ndarray, usd: np.ndarray) -> tuple[float, float, float]:
    """(mean, peak over the day-0 price, first day of the peak) of one path."""
    order = np.argsort(day, kind="stable")
    day, usd = day[order], usd[order]
    if not usd.size:
        return math.nan, math.nan, math.nan
    # the first day within rounding of the largest value (a flat path's sums wobble in the last digit)
    top = int(np.flatnonzero(usd >= usd.max() * (1.0 - PEAK_RTOL))[0])
    return float(usd.mean()), float(usd[top] / usd[0]), float(day[top])


def price_kpis(prices: pd.DataFrame) -> pd.DataFrame:
    """One row per replication, item, market and tier (in the order of first
    appearance) with :data:`SERIES_KPIS`, from price rows with the columns
    of ``prices.parquet`` (``date`` is not needed)."""
    rows = []
    for key, g in prices.groupby(["replication", *SERIES], sort=False):
        values = _series_kpis(g["day"].to_numpy(dtype=float), g["usd_per_kg"].to_numpy(dtype=float))
        rows.append((*key, *values))
    return pd.DataFrame(rows, columns=list(PRICE_KPI_COLUMNS))


def series_name(kpi: str, item: str, market: str, tier: str) -> str:
    """The outcome name of one series' KPI in a sweep (``price_peak_ratio:Dy_oxide:outside:spot``)."""
    return f"{kpi}:{item}:{market}:{tier}"


def wide_price_kpis(prices: pd.DataFrame) -> dict[str, float]:
    """One replication's series KPIs and premium as ``{outcome name: value}``
    (:func:`series_name`; ``price_premium`` as it is): a sweep's columns."""
    out: dict[str, float] = {}
    for row in price_kpis(prices).itertuples(index=False):
        for k in SERIES_KPIS:
            out[series_name(k.name, row.item, row.market, row.tier)] = float(getattr(row, k.name))
    out[PRICE_PREMIUM.name] = price_premium(prices)
    return out


def headline_outcomes(columns: Iterable[str]) -> list[Kpi]:
    """The price outcomes a sweep's terminal table shows, among ``columns``
    (a summary's ``NAME_mean`` or a results frame's ``NAME``): the spot peak
    over base outside China of each item, as a :class:`Kpi` named for its column."""
    names = dict.fromkeys(str(c).removesuffix("_mean") for c in columns)
    return [replace(PRICE_PEAK_RATIO, name=n, heading=f"{n.split(':')[1]} outside spot peak/base") for n in names
            if n.startswith(f"{PRICE_PEAK_RATIO.name}:") and n.endswith(":outside:spot")]


def is_price_outcome(name: str) -> bool:
    """Whether ``name`` is a market outcome a sweep may hold (``price_premium``
    or a series KPI named by :func:`series_name`)."""
    head = name.split(":", 1)[0]
    return name == PRICE_PREMIUM.name or (head in {k.name for k in SERIES_KPIS} and name.count(":") == 3)


def summarise_prices(table: pd.DataFrame, horizon: float | None = None) -> list[dict[str, object]]:
    """Per item, market and tier, each series KPI across replications (mean,
    95% CI, p5/p50/p95): summary.json's ``markets.series``."""
    out: list[dict[str, object]] = []
    for key, g in table.groupby(list(SERIES), sort=False):
        block: dict[str, object] = dict(zip(SERIES, key, strict=True))
        for k in SERIES_KPIS:
            block[k.name] = describe(g[k.name].to_numpy(dtype=float), _bounds(k, horizon))
        out.append(block)
    return out


def outcome_bounds(name: str, horizon: float | None = None) -> tuple[float | None, float | None]:
    """The range of a price outcome (:func:`series_name` or ``price_premium``)."""
    kpi = {k.name: k for k in MARKET_KPIS}[name.split(":", 1)[0]]
    return _bounds(kpi, horizon)


def _bounds(kpi: Kpi, horizon: float | None) -> tuple[float | None, float | None]:
    """A KPI's declared bounds, and at most the horizon for a day."""
    if kpi.unit == "day of run":
        return 0.0, horizon
    return kpi.bounds

