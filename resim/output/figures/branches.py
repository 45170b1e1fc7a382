"""The branches of a forked scenario side by side: one fan per branch."""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.figure import Figure

from ..rundata import RunData
from .common import (
    PALETTE,
    POLICY_COLOUR,
    THOUSANDS,
    date_axis,
    empty_figure,
    legend_right,
    new_figure,
)


def branch_fans(runs: Mapping[str, RunData], automaker: str, fork: float | None) -> Figure:
    """One automaker's magnet inventory in each branch: the median over
    replications (line) and the band holding 90% of them, a colour per
    branch, with the fork day marked. The branches share their random
    numbers, so before the fork the fans lie on top of each other."""
    fig = new_figure(9.5, 4.6)
    ax = fig.subplots()
    drawn = 0
    for i, (name, run) in enumerate(runs.items()):
        ts = run.timeseries
        g = ts[ts["automaker"] == automaker] if len(ts) else ts
        if not len(g):
            continue
        q = g.groupby("day")["inventory_t"].quantile([0.05, 0.5, 0.95]).unstack()
        when = run.day_to_datetime(q.index.to_numpy())
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(when, q[0.05], q[0.95], color=colour, alpha=0.18, linewidth=0)
        ax.plot(when, q[0.5], color=colour, linewidth=2, label=f"{name}: median, 5–95% band")
        drawn += 1
    if not drawn:
        return empty_figure(f"{automaker}: magnet inventory by branch", "no daily records for this automaker")
    first = next(iter(runs.values()))
    if fork is not None:
        ax.axvline(first.day_to_datetime(fork), color=POLICY_COLOUR, linestyle="--", linewidth=1.2,
                   label="fork (first branch change)")
    ax.axhline(0.0, color="black", linewidth=1.0)
    ax.set_ylabel("magnet inventory (t)")
    ax.yaxis.set_major_formatter(THOUSANDS)
    ax.set_title(f"{automaker}: magnet inventory in each branch")
    ax.set_xlabel("date")
    ax.grid(alpha=0.3)
    legend_right(ax)
    date_axis(ax)
    return fig


__all__ = ["branch_fans"]
