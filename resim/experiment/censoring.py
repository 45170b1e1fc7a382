"""Days of a first event, censored at the horizon.

``first_stockout_day`` is undefined (NaN) in a replication without a
stockout. Averaging only the replications that had one answers a different
question at every point (2 of 30 pairs told a compare that the first stockout
came later, with an interval running to negative days), and dropping them
biases every statistic towards early stockouts. A replication without the
event is instead *censored at the horizon*: the event came later than the run
could see. Every replication is followed to the same horizon (administrative
censoring only), so:

* the restricted mean, the mean of min(T, horizon), is an ordinary mean of
  per-replication values: it pairs, bootstraps and averages like any KPI;
* the Kaplan-Meier estimate is the empirical distribution of T below the
  horizon, and its median exists when at least half the replications had
  the event (else it is "beyond the horizon"); scipy's ``stats.ecdf`` gives
  it with Greenwood confidence bands.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..model.kpis import FIRST_DAYS


def restricted(days: np.ndarray, horizon: float | np.ndarray) -> np.ndarray:
    """min(T, horizon) per replication, with "no event" (NaN) at the horizon."""
    days = np.asarray(days, dtype=float)
    return np.where(np.isnan(days), horizon, np.minimum(days, horizon))


def censor_first_days(frame: pd.DataFrame, horizon: float | np.ndarray) -> pd.DataFrame:
    """A KPI table whose first-event day columns are censored at ``horizon``
    (a number, or one per row); other columns untouched."""
    out = frame.copy()
    for c in FIRST_DAYS:
        if c in out.columns:
            out[c] = restricted(out[c].to_numpy(dtype=float), horizon)
    return out


def km_median(days: np.ndarray, horizon: float) -> dict[str, float | None]:
    """Kaplan-Meier median of the first-event day with its 95% CI (the days
    where the survival curve's Greenwood band crosses one half). ``None`` for
    a median or a bound beyond the horizon (fewer than half the replications,
    or the band's edge, reach the event before it)."""
    days = np.asarray(days, dtype=float)
    out: dict[str, float | None] = {"median": None, "ci_low": None, "ci_high": None}
    if days.size == 0 or np.isnan(days).all():
        return out
    event = ~np.isnan(days) & (days <= horizon)
    t = np.where(event, days, horizon)
    res = stats.ecdf(stats.CensoredData(uncensored=t[event], right=t[~event]))
    sf = res.sf
    with warnings.catch_warnings():  # "undefined at some observations": where S(t) is 0 or 1, read as no bound
        warnings.simplefilter("ignore", RuntimeWarning)
        band = sf.confidence_interval(0.95, method="log-log") if event.sum() > 0 else None

    def crossing(q: np.ndarray) -> float | None:
        below = np.flatnonzero(q <= 0.5)
        return float(sf.quantiles[below[0]]) if below.size else None

    out["median"] = crossing(sf.probabilities)
    if band is not None:
        lo = np.nan_to_num(band.low.probabilities, nan=0.0)
        hi = np.nan_to_num(band.high.probabilities, nan=1.0)
        out["ci_low"], out["ci_high"] = crossing(lo), crossing(hi)
    return out


def share_with_event(days: np.ndarray) -> float:
    """The share of replications that had the event (NaN when there are none)."""
    days = np.asarray(days, dtype=float)
    return float((~np.isnan(days)).mean()) if days.size else math.nan


__all__ = ["censor_first_days", "km_median", "restricted", "share_with_event"]
