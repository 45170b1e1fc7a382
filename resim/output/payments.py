"""What buyers paid under ``[markets] payments``: ``payments.parquet`` and
summary.json's ``markets.paid_usd`` (each payer's spend per replication, with
its interval), so procurement cost at market prices is a KPI with a CI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ..model.kpis import describe
from ..model.markets.payments import PAYMENT_COLUMNS
from ..model.records import Records

#: The columns of payments.parquet (SPEC §4 style: replication first, then the day and its date).
PAYMENT_FILE_COLUMNS = ["replication", "day", "date", *PAYMENT_COLUMNS[1:]]


def payment_frame(ok: Sequence[Records], start_date: date) -> pd.DataFrame | None:
    """Every replication's payments, tidy; None when the run did not price
    deliveries (no ``[markets] payments``), so no file is written."""
    frames = []
    for o in ok:
        if o.payments is None:
            return None
        df = pd.DataFrame(o.payments.data, columns=list(PAYMENT_COLUMNS))
        df.insert(0, "replication", o.replication)
        frames.append(df)
    if not frames:
        return None
    df = pd.concat(frames, ignore_index=True)
    day = np.floor(df["day"].to_numpy(dtype=float)).astype("int64")
    df.insert(2, "date", np.datetime64(start_date, "D") + day.astype("timedelta64[D]"))
    return df[PAYMENT_FILE_COLUMNS]


def paid_summary(payments: pd.DataFrame, replications: Sequence[int]) -> dict[str, Any]:
    """Per payer, US dollars paid in a replication (a replication in which a
    payer bought nothing counts as 0): mean, 95% interval and percentiles."""
    paid = payments.groupby(["payer", "replication"])["usd"].sum()
    out: dict[str, Any] = {}
    for payer in dict.fromkeys(payments["payer"]):
        per = paid.loc[payer]
        out[str(payer)] = describe([float(per.get(r, 0.0)) for r in replications], (0.0, None))
    return out
