"""Each design point's outcome: the mean of every KPI over its replications.

Sensitivity indices and scenario discovery both read a sweep as one number
per point and KPI. Here that number is the mean over the point's
replications with first-event days censored at the horizon (a restricted
mean, ``resim.experiment.censoring``), so every point has a value, and
``stockout_probability`` is the share of replications with a stockout.

A point with a failed replication is left out, and named: its mean would
rest on other random numbers than its neighbours' (replication r of every
point shares child r of the seed), which is what makes differences between
points precise with few replications.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..model.kpis import ALL, METRICS, STOCKOUT_PROBABILITY
from ..model.price_kpis import is_price_outcome
from ..scenario.errors import ScenarioError
from ..scenario.keys import did_you_mean
from .censoring import censor_first_days
from .price_outcomes import price_columns

#: What a point's outcome can be read on: every KPI and the stockout probability.
OUTCOMES = (*METRICS, STOCKOUT_PROBABILITY.name)


@dataclass(frozen=True)
class PointOutcomes:
    """``means``: one row per point x automaker (``point``, ``automaker``,
    ``replications``, then one column per outcome); ``failed``: points left out."""

    means: pd.DataFrame
    failed: list[int]

    def names_for(self, automaker: str) -> list[str]:
        """The outcomes of ``automaker``: every KPI, and for ``all`` the price
        outcomes of a sweep with ``[markets]`` (a price is no automaker's)."""
        return [*OUTCOMES, *(price_columns(self.means) if automaker == ALL else [])]

    def automakers(self) -> list[str]:
        return list(dict.fromkeys(self.means["automaker"].astype(str)))

    def column(self, automaker: str, outcome: str, points: int) -> np.ndarray:
        """The outcome of ``automaker`` at points 0..points-1 (NaN where left out)."""
        rows = self.means[self.means["automaker"].astype(str) == automaker]
        return rows.set_index("point")[outcome].reindex(range(points)).to_numpy(dtype=float)


def horizon_of(design: Mapping[str, Any], points: pd.DataFrame) -> float | np.ndarray:
    """The horizon each point ran to: its swept ``scenario.horizon``, else the scenario's."""
    if "scenario.horizon" in points.columns:
        return points["scenario.horizon"].to_numpy(dtype=float)
    return float(design["scenario"]["scenario"]["horizon"])


def point_outcomes(results: pd.DataFrame, horizon: float | np.ndarray) -> PointOutcomes:
    """Per point and automaker, the mean of each outcome over replications
    (``results`` is a sweep's results.parquet; ``horizon`` a number or one per
    point, indexed by point number)."""
    bad = results["error"].notna()
    failed = sorted({int(p) for p in results.loc[bad, "point"]})
    ok = results[~bad & ~results["point"].isin(failed)]
    if np.ndim(horizon):
        horizon = np.asarray(horizon, dtype=float)[ok["point"].to_numpy(dtype=int)]
    rows = censor_first_days(ok, horizon).assign(
        **{STOCKOUT_PROBABILITY.name: ok[STOCKOUT_PROBABILITY.occurrence_of].notna().astype(float)})
    cols, by = [*OUTCOMES, *price_columns(rows)], [rows["point"], rows["automaker"]]
    means = rows[cols].groupby(by, sort=False).mean()
    # a KPI undefined in some replication (vehicles of a buyer given in tonnes) is undefined at the point
    means = means.mask(rows[cols].isna().groupby(by, sort=False).any())
    means.insert(0, "replications", rows.groupby(by, sort=False).size())
    means = means.reset_index()
    means["point"] = means["point"].astype(int)
    means["automaker"] = means["automaker"].astype(str)
    return PointOutcomes(means.sort_values(["point"], kind="stable").reset_index(drop=True), failed)


#: What a sweep with ``[markets]`` adds to the outcomes (``model.price_kpis``).
PRICE_OUTCOMES_HINT = ("; with [markets] also price_premium and KPI:ITEM:MARKET:TIER of mean_price_usd_per_kg, "
                       "price_peak_ratio, price_peak_day (e.g. price_peak_ratio:Dy_oxide:outside:spot)")


def check_outcome(name: str, source: str = "--kpi") -> str:
    """``name`` if it is an outcome, else a one-line error listing them."""
    if name not in OUTCOMES and not is_price_outcome(name):
        raise ScenarioError(source, name, f"is not a KPI{did_you_mean(name, OUTCOMES)}; one of {', '.join(OUTCOMES)}"
                            f"{PRICE_OUTCOMES_HINT}")
    return name


__all__ = ["OUTCOMES", "PointOutcomes", "check_outcome", "horizon_of", "point_outcomes"]
