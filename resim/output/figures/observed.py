"""Observed rows on the model's monthly fans (``resim run --observed``).

One panel per observed series: the replications' 5-95% band (light), 25-75%
band (dark) and median of the model's monthly number, with the observed
rows drawn on it -- a filled dot inside the 5-95% band, a red cross outside.
This is the forecast-against-data picture: a row published after the run's
scenario was written is its honest test, and a row outside the band is a
shape the model misses (not noise to tune away).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..rundata import RunData, RunSource, load_run
from .common import (
    PALETTE,
    THOUSANDS,
    date_axis,
    empty_figure,
    legend_right,
    mark_events,
    new_figure,
)

OUTSIDE = "#c0392b"


def _mid_month(run: RunData, periods: pd.Series) -> np.ndarray:
    """Where a period is drawn: mid-month for ``YYYY-MM``, mid-year for
    ``YYYY``, the day itself for ``YYYY-MM-DD``."""
    middle = {4: "-07-01", 7: "-15", 10: ""}
    first = pd.to_datetime([p + middle[len(p)] for p in periods.astype(str)])
    return first.to_numpy().astype("datetime64[m]")


def _panel(ax: Any, run: RunData, fan: pd.DataFrame, seen: pd.DataFrame) -> None:
    when = _mid_month(run, fan["period"])
    ax.fill_between(when, fan["p5"], fan["p95"], color=PALETTE[0], alpha=0.18, linewidth=0, label="model 5–95%")
    ax.fill_between(when, fan["p25"], fan["p75"], color=PALETTE[0], alpha=0.35, linewidth=0, label="model 25–75%")
    ax.plot(when, fan["p50"], color=PALETTE[0], linewidth=1.8, label="model median")
    for inside, style in ((True, {"marker": "o", "color": "black", "label": "observed, inside"}),
                          (False, {"marker": "X", "color": OUTSIDE, "label": "observed, outside"})):
        rows = seen[seen["inside"] == inside]
        if len(rows):
            ax.scatter(_mid_month(run, rows["period"]), rows["observed"], s=36, zorder=5, **style)
    mark_events(ax, run, label=False)
    ax.yaxis.set_major_formatter(THOUSANDS)
    ax.grid(alpha=0.3)
    legend_right(ax)


def observed_fans_figure(source: RunSource) -> Figure:
    """The model's monthly fans with the observed rows on them, one panel per series."""
    run = load_run(source)
    fans, seen = run.observed_fans, run.observed_vs_model
    if not len(fans):
        return empty_figure("observed", "run with --observed FILE to set observed rows beside the model")
    series = list(dict.fromkeys(fans["series"]))
    fig = new_figure(9.5, 2.6 * len(series) + 0.8)
    axes = fig.subplots(len(series), 1, sharex=True, squeeze=False)[:, 0]
    for ax, name in zip(axes, series, strict=True):
        _panel(ax, run, fans[fans["series"] == name], seen[seen["series"] == name])
        ax.set_ylabel(name.replace(".", "\n", 1), fontsize=8)
    inside = int(seen["inside"].sum()) if len(seen) else 0
    axes[0].set_title(f"Observed rows on the model's monthly fans: {inside} of {len(seen)} inside the 5–95% band "
                      f"({len(run.replications)} replications)")
    date_axis(axes[-1])
    return fig
