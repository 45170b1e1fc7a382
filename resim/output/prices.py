"""The price tables of a run with ``[markets]``: ``prices.parquet``, and
summary.json's ``markets`` block (the premium outside China and each price
series' KPIs, with their intervals)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ..model.kpis import PRICE_PREMIUM, describe, price_premium
from ..model.markets import PRICE_COLUMNS
from ..model.price_kpis import (
    MEAN_PRICE,
    PRICE_PEAK_DAY,
    PRICE_PEAK_RATIO,
    price_kpis,
    summarise_prices,
)
from ..model.records import Records
from .formatting import format_number

#: The columns of prices.parquet (SPEC §4).
PRICE_FILE_COLUMNS = ["replication", "day", "date", "market", "item", "tier", "usd_per_kg"]


def no_prices() -> pd.DataFrame:
    """The price table of a run without ``[markets]``: no rows, the columns of prices.parquet."""
    return pd.DataFrame({"replication": pd.Series(dtype="int64"), "day": pd.Series(dtype="int64"),
                         "date": pd.Series(dtype="datetime64[s]"), "market": pd.Series(dtype="str"),
                         "item": pd.Series(dtype="str"), "tier": pd.Series(dtype="str"),
                         "usd_per_kg": pd.Series(dtype=float)})[PRICE_FILE_COLUMNS]


def price_frame(ok: Sequence[Records], start_date: date) -> pd.DataFrame:
    """Every replication's prices, tidy; no rows when the run had no markets
    (or no replication finished)."""
    frames = []
    for o in ok:
        if o.prices is None:
            return no_prices()
        df = pd.DataFrame(o.prices.data, columns=list(PRICE_COLUMNS))
        df.insert(0, "replication", o.replication)
        frames.append(df)
    if not frames:
        return no_prices()
    df = pd.concat(frames, ignore_index=True)
    day = df["day"].to_numpy(dtype="int64")
    df["day"] = day
    df.insert(2, "date", np.datetime64(start_date, "D") + day.astype("timedelta64[D]"))
    return df[PRICE_FILE_COLUMNS]


def markets_summary(prices: pd.DataFrame, horizon: float | None = None) -> dict[str, Any]:
    """The premium outside China across replications, and per item, market
    and tier the series KPIs (mean price, peak over base, peak day): each a
    mean with its 95% interval and percentiles (``horizon`` bounds the days)."""
    values = [price_premium(g) for _, g in prices.groupby("replication", sort=True)]
    return {PRICE_PREMIUM.name: describe(values, PRICE_PREMIUM.bounds),
            "series": summarise_prices(price_kpis(prices), horizon)}


def _cell(d: dict[str, Any] | None, digits: int, scale: float = 1.0) -> str:
    """A KPI block as ``mean [lo, hi]`` times ``scale`` (the mean alone without an interval)."""
    if not d or d.get("mean") is None:
        return "–"
    lo, hi = (d.get("ci95") or [None, None])[:2]
    text = format_number(d["mean"] * scale, digits)
    return text if lo is None else f"{text} [{format_number(lo * scale, digits)}, {format_number(hi * scale, digits)}]"


def _peak_date(d: dict[str, Any] | None, start: date) -> str:
    """The mean peak day of the run as a date."""
    if not d or d.get("mean") is None:
        return "–"
    return str(start + timedelta(days=round(float(d["mean"]))))


def report_prices(summary: dict[str, Any], start: date) -> dict[str, Any] | None:
    """The report's price table (per item, market and tier: mean price, peak
    over base and when it came, with 95% CIs) and the premium outside China;
    None without ``[markets]``."""
    markets = summary.get("markets") or {}
    series = markets.get("series") or []
    if not series:
        return None
    head = ["item", "market", "tier", f"{MEAN_PRICE.heading} [95% CI]", f"{PRICE_PEAK_RATIO.heading} [95% CI]",
            "peak (mean day)"]
    rows = [[b["item"], b["market"], b["tier"], _cell(b[MEAN_PRICE.name], MEAN_PRICE.digits),
             _cell(b[PRICE_PEAK_RATIO.name], PRICE_PEAK_RATIO.digits), _peak_date(b[PRICE_PEAK_DAY.name], start)]
            for b in series]
    premium = _cell(markets.get(PRICE_PREMIUM.name), PRICE_PREMIUM.digits, PRICE_PREMIUM.scale)
    return {"head": head, "rows": rows, "premium": premium}
