"""Monthly tonnes shipped by destination jurisdiction, one panel per product."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ...model import products
from ..formatting import compact
from ..rundata import RunSource, load_run
from .common import (
    PALETTE,
    date_axis,
    empty_figure,
    headroom,
    legend_right,
    mark_events,
    month_bars,
    month_coverage,
    new_figure,
    note_partial_months,
    per_whole_month,
)

PRODUCTS = tuple(p.name for p in products.PRODUCTS)  # upstream first


def _products(tot: pd.Series) -> list[str]:
    """The products shipped: the chain's in order, then any other, sorted."""
    shipped = set(tot.index.get_level_values(0))
    return [p for p in PRODUCTS if p in shipped] + sorted(shipped - set(PRODUCTS))


def _product_panel(ax: Any, table: pd.DataFrame, x: np.ndarray, coverage: np.ndarray,
                   colour: dict[str, str]) -> None:
    """One product's monthly tonnes, stacked by destination (those it never reaches left out)."""
    bottom = np.zeros(len(table))
    for d, c in colour.items():
        if d not in table.columns or not table[d].any():
            continue
        tonnes = per_whole_month(table[d].to_numpy(), coverage)
        month_bars(ax, x, tonnes, coverage, f"to {d}", bottom=bottom.copy(), width=24, color=c)
        bottom += tonnes


def monthly_flows(source: RunSource) -> Figure:
    """Tonnes shipped per month (by departure) by destination, one panel per product.

    Stacked bars of the mean over replications (a month with no shipment in
    a replication counts as 0 t); colours are destination jurisdictions, the
    same in every panel. The first and last months of a run that does not
    start on the 1st are partly simulated: they are scaled to a whole month
    from their simulated days and hatched, not drawn as a fall in shipments
    (a month with less than half its days simulated is left out and named).
    """
    run = load_run(source)
    fl = run.flows
    fl = fl[fl["replication"].isin(run.replications)] if len(fl) else fl
    if not len(fl):  # also a partial run whose finished replications shipped nothing yet
        return empty_figure("Monthly shipments", "no shipments recorded")
    tot = fl.groupby(["product", "month", "destination"])["tonnes"].sum() / len(run.replications)
    products = _products(tot)
    colour = {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(sorted(set(fl["destination"].astype(str))))}
    months = pd.period_range(min(fl["month"]), max(fl["month"]), freq="M")
    x = months.to_timestamp().to_numpy().astype("datetime64[D]") + np.timedelta64(15, "D")
    coverage = month_coverage(run, months)
    fig = new_figure(9.5, 1.2 + 2.3 * len(products))
    axes = np.atleast_1d(fig.subplots(len(products), 1, sharex=True, squeeze=False)[:, 0])
    for ax, product in zip(axes, products, strict=True):
        table = tot.loc[product].unstack("destination", fill_value=0.0)
        table.index = pd.PeriodIndex(table.index, freq="M")
        _product_panel(ax, table.reindex(months, fill_value=0.0), x, coverage, colour)
        note_partial_months(ax, months, coverage)
        ax.set_ylabel(f"{product}\n(t per month)")
        headroom(ax, 0.12)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: compact(v) if v else "0"))
        legend_right(ax, title="destination", title_fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        mark_events(ax, run, label=ax is axes[0])
    axes[0].set_title(f"Monthly shipments by destination and product, mean over "
                      f"{len(run.replications)} replications")
    axes[-1].set_xlabel("month of departure")
    date_axis(axes[-1])
    return fig


__all__ = ["PRODUCTS", "monthly_flows"]
