"""Each market's demand and supply per day, read from the automakers' daily
record (the model's own tables; no actor's internals).

The Chinese domestic market is the automakers of the controlling jurisdiction
(``controls.jurisdiction``), the market outside China every other automaker.
Demand is the magnets they wanted, supply what they consumed: every
controlled item's scarcity is its buyers' magnet shortfall (all grades hold
Dy and Tb, so a magnet short is their content short).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

CHINA, OUTSIDE = "china", "outside"
MARKETS = (CHINA, OUTSIDE)


def market_of(jurisdiction: str, home: str) -> str:
    return CHINA if jurisdiction == home else OUTSIDE


def daily_balance(timeseries: dict[str, Sequence[Any]], jurisdictions: dict[str, str], home: str,
                  days: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{market: (demand_t, supply_t)}`` per day of the run, summed over the
    market's automaker entries (days without a row count nothing)."""
    day = np.asarray(timeseries["day"], dtype=np.int64)
    who = np.asarray(timeseries["automaker"], dtype=object)
    demand = np.asarray(timeseries["demand_t"], dtype=float)
    consumed = np.asarray(timeseries["consumed_t"], dtype=float)
    market = np.array([market_of(jurisdictions.get(w, ""), home) for w in who], dtype=object)
    out = {}
    for m in MARKETS:
        mine = market == m
        out[m] = (np.bincount(day[mine], weights=demand[mine], minlength=days)[:days],
                  np.bincount(day[mine], weights=consumed[mine], minlength=days)[:days])
    return out


def step_means(values: np.ndarray, step: int) -> np.ndarray:
    """Means of consecutive windows of ``step`` days (the last may be shorter)."""
    starts = np.arange(0, values.size, step)
    sums = np.add.reduceat(values, starts) if values.size else np.zeros(0)
    return sums / np.diff(np.append(starts, values.size))
