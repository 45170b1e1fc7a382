"""Price KPIs as the outcomes of sweeps and sensitivity designs.

A sweep keeps KPI rows per point, replication and automaker. A price is not
an automaker's: each replication of a scenario with ``[markets]`` has one
value per price series and KPI (``model.price_kpis.wide_price_kpis``:
``price_peak_ratio:Dy_oxide:outside:spot``, ``price_premium``), stored as a
column of its ``all`` row (NaN on the automakers' rows). Without
``[markets]`` no such column exists, so results.parquet, summary.parquet and
the indices of a sweep without markets are what they were. Sensitivity
indices, ``--kpi`` and the per-point summary read these columns beside the
automaker KPIs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..model.kpis import ALL, describe
from ..model.markets import PRICE_COLUMNS
from ..model.price_kpis import is_price_outcome, outcome_bounds, wide_price_kpis
from ..model.records import Records


def price_columns(frame: pd.DataFrame) -> list[str]:
    """The price outcome columns of a results frame, in their order there (none without markets)."""
    return [c for c in frame.columns if is_price_outcome(str(c))]


def with_price_kpis(rows: pd.DataFrame, outcome: Records) -> pd.DataFrame:
    """A unit's KPI rows with its price KPIs on the ``all`` row (unchanged
    without markets or when the replication failed)."""
    if outcome.error or outcome.prices is None:
        return rows
    wide = wide_price_kpis(pd.DataFrame(outcome.prices.data, columns=list(PRICE_COLUMNS))
                           .assign(replication=outcome.replication))
    total = (rows["automaker"] == ALL).fillna(False).to_numpy()
    extra = pd.DataFrame({name: np.where(total, value, np.nan) for name, value in wide.items()}, index=rows.index)
    return pd.concat([rows, extra], axis=1)


def price_summary(results: pd.DataFrame, horizon: Any = None) -> pd.DataFrame:
    """Per point, the ``all`` row's price outcomes: mean, 95% CI and median
    over the point's replications (the columns of summary.parquet); empty
    without markets. Days are bounded by ``horizon`` as in summary.json."""
    names = price_columns(results)
    ok = results[(results["automaker"] == ALL).fillna(False) & results["error"].isna()]
    rows = [_point_row(int(point), g, names, _at(horizon, int(point))) for point, g in ok.groupby("point")]
    return pd.DataFrame(rows if names else [])


def _at(horizon: Any, point: int) -> float | None:
    """The horizon of one point: one for all, one per point, or none."""
    return None if horizon is None else float(horizon if np.ndim(horizon) == 0 else horizon[point])


def _point_row(point: int, g: pd.DataFrame, names: Sequence[str], horizon: float | None) -> dict[str, Any]:
    row: dict[str, Any] = {"point": point, "automaker": ALL}
    for name in names:
        d = describe(g[name].to_numpy(dtype=float), outcome_bounds(name, horizon))
        row[f"{name}_mean"], (row[f"{name}_ci_low"], row[f"{name}_ci_high"]) = d["mean"], d["ci95"]
        row[f"{name}_p50"] = d["p50"]
    return row


__all__ = ["price_columns", "price_summary", "with_price_kpis"]
