"""The magnet inventory of one automaker over calendar time (a fan chart)."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

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


def inventory_fan(source: RunSource, automaker: str) -> Figure:
    """Magnet inventory of one automaker over calendar time, across replications.

    Top panel: the median (line) and the 5–95% band of ``inventory_t`` over
    replications, day by day, in tonnes; a line at 0 t (stockout) and grey
    shading on the days when at least half the replications are short (the
    median replication cannot build every vehicle). Bottom panel: the share of
    replications short on each day. Policy changes are dashed vertical lines
    labelled with what changed.
    """
    run = load_run(source)
    ts = run.timeseries
    g = ts[ts["automaker"] == automaker] if len(ts) else ts
    if not len(g):
        return empty_figure(f"{automaker}: magnet inventory", "no daily records for this automaker")
    q = g.groupby("day")["inventory_t"].quantile([0.05, 0.5, 0.95]).unstack()
    short = (g["shortfall_t"] > 0).groupby(g["day"]).mean() * 100.0
    when = run.day_to_datetime(q.index.to_numpy())
    fig = new_figure(9.5, 5.6)
    ax, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    ax.fill_between(when, q[0.05], q[0.95], color=PALETTE[0], alpha=0.25,
                    label="5–95% of replications")
    ax.plot(when, q[0.5], color=PALETTE[0], linewidth=2, label="median")
    ax.axhline(0.0, color="black", linewidth=1.0, label="stockout (0 t)")
    majority_short = short.reindex(q.index).to_numpy() >= 50.0
    if majority_short.any():
        ax.fill_between(when, 0, 1, where=majority_short, transform=ax.get_xaxis_transform(),
                        color="0.5", alpha=0.18, step="mid", linewidth=0,
                        label="median replication short")
    mark_events(ax, run)
    ax.set_ylabel("magnet inventory (t)")
    ax.set_ylim(bottom=min(0.0, float(q[0.05].min())) - 0.03 * max(float(q[0.95].max()), 1.0))
    ax.yaxis.set_major_formatter(THOUSANDS)
    ax.set_title(f"{automaker}: magnet inventory, {len(run.replications)} replications")
    legend_right(ax)
    ax.grid(alpha=0.3)
    ax2.fill_between(run.day_to_datetime(short.index.to_numpy()), 0, short.to_numpy(),
                     step="mid", color=PALETTE[3], alpha=0.5, linewidth=0)
    mark_events(ax2, run, label=False)
    ax2.set_ylim(0, 100)
    ax2.yaxis.set_major_formatter(PercentFormatter(100))
    ax2.set_ylabel("replications\nshort (%)")
    ax2.set_xlabel("date")
    ax2.grid(alpha=0.3)
    date_axis(ax2)
    return fig


__all__ = ["inventory_fan"]
