"""The share of a population's lines stopped, day by day (a fan chart).

For an automaker entry of many firms (a supplier base), the question is not
whether "the EU" runs short but what share of its firms do, and when: the
median over replications of the daily share of firms short, with the band
that holds 90% of replications, and the share of the entry's demand those
firms carry.
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from ..rundata import RunSource, load_run
from .common import PALETTE, date_axis, empty_figure, legend_right, mark_events, new_figure


def lines_stopped_fan(source: RunSource, automaker: str) -> Figure:
    """Share of the entry's firms short each day: median and 5-95% band over
    replications, and the median share of demand held by stopped firms."""
    run = load_run(source)
    ts = run.timeseries
    g = ts[ts["automaker"] == automaker] if len(ts) and "share_stopped" in ts else ts.iloc[0:0]
    if not len(g):
        return empty_figure(f"{automaker}: lines stopped", "no daily records for this automaker")
    share = g.groupby("day")["share_stopped"].quantile([0.05, 0.5, 0.95]).unstack() * 100.0
    demand = g.groupby("day")["demand_share_stopped"].median() * 100.0
    when = run.day_to_datetime(share.index.to_numpy())
    fig = new_figure(9.5, 4.2)
    ax = fig.subplots()
    ax.fill_between(when, share[0.05], share[0.95], color=PALETTE[3], alpha=0.25,
                    label="firms short, 5–95% of replications")
    ax.plot(when, share[0.5], color=PALETTE[3], linewidth=2, label="firms short, median")
    ax.plot(when, demand.reindex(share.index).to_numpy(), color="0.3", linewidth=1.2, linestyle=":",
            label="their share of demand, median")
    mark_events(ax, run)
    ax.set_ylim(0, 100)
    ax.yaxis.set_major_formatter(PercentFormatter(100))
    ax.set_ylabel("share of lines stopped")
    ax.set_title(f"{automaker}: share of lines stopped, {len(run.replications)} replications")
    legend_right(ax)
    ax.grid(alpha=0.3)
    date_axis(ax)
    return fig
