"""The price tables of a run with ``[markets]``: ``prices.parquet`` and the
premium outside China with its interval (summary.json's ``markets`` block)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ..model.kpis import PRICE_PREMIUM, describe, price_premium
from ..model.markets import PRICE_COLUMNS
from ..model.records import Records

#: The columns of prices.parquet (SPEC §4).
PRICE_FILE_COLUMNS = ["replication", "day", "date", "market", "item", "tier", "usd_per_kg"]


def price_frame(ok: Sequence[Records], start_date: date) -> pd.DataFrame | None:
    """Every replication's prices, tidy; None when the run had no markets."""
    frames = []
    for o in ok:
        if o.prices is None:
            return None
        df = pd.DataFrame(o.prices.data, columns=list(PRICE_COLUMNS))
        df.insert(0, "replication", o.replication)
        frames.append(df)
    if not frames:
        return None
    df = pd.concat(frames, ignore_index=True)
    day = df["day"].to_numpy(dtype="int64")
    df["day"] = day
    df.insert(2, "date", np.datetime64(start_date, "D") + day.astype("timedelta64[D]"))
    return df[PRICE_FILE_COLUMNS]


def markets_summary(prices: pd.DataFrame) -> dict[str, Any]:
    """The premium outside China across replications (mean, 95% interval, percentiles)."""
    values = [price_premium(g) for _, g in prices.groupby("replication", sort=True)]
    return {PRICE_PREMIUM.name: describe(values, PRICE_PREMIUM.bounds)}
