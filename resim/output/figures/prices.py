"""Prices over calendar time: a fan per item, market and tier (runs with ``[markets]``)."""

from __future__ import annotations

from matplotlib.figure import Figure

from ..rundata import RunSource, load_run
from .common import (
    PALETTE,
    THOUSANDS,
    date_axis,
    empty_figure,
    legend_right,
    mark_events,
    new_figure,
)

_STYLE = {("outside", "spot"): (0, "-"), ("outside", "contract"): (0, "--"),
          ("china", "spot"): (1, "-"), ("china", "contract"): (1, "--")}
#: Band opacity per tier: the contract band (a smoothed spot) fainter, so spot's stays readable.
_BAND = {"spot": 0.2, "contract": 0.08}


def price_fan(source: RunSource) -> Figure:
    """One panel per item: the median (line) and the 5–95% band over
    replications of each market's spot price (solid) and contract price
    (dashed, a fainter band), in US dollars per kg on a log axis (shortage
    prices move by multiples)."""
    run = load_run(source)
    df = run.prices
    if not len(df):
        return empty_figure("prices", "this run has no [markets] table")
    items = list(dict.fromkeys(df["item"]))
    fig = new_figure(9.5, 3.2 * len(items) + 0.6)
    axes = fig.subplots(len(items), 1, sharex=True, squeeze=False)[:, 0]
    for ax, item in zip(axes, items, strict=True):
        for (market, tier), (colour, line) in _STYLE.items():
            g = df[(df["item"] == item) & (df["market"] == market) & (df["tier"] == tier)]
            q = g.groupby("day")["usd_per_kg"].quantile([0.05, 0.5, 0.95]).unstack()
            when = run.day_to_datetime(q.index.to_numpy())
            ax.fill_between(when, q[0.05], q[0.95], color=PALETTE[colour], alpha=_BAND[tier], linewidth=0)
            ax.plot(when, q[0.5], color=PALETTE[colour], linestyle=line, linewidth=1.8, label=f"{market} {tier}")
        mark_events(ax, run, label=False)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(THOUSANDS)
        ax.yaxis.set_minor_formatter(THOUSANDS)
        ax.set_ylabel(f"{item} (USD/kg)")
        ax.grid(alpha=0.3, which="both")
        legend_right(ax)
    axes[0].set_title(f"Prices, {len(run.replications)} replications")
    date_axis(axes[-1])
    return fig
