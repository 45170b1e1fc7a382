"""Figure of a paired comparison: B - A with its 95% CI, per KPI and automaker.

One panel per headline KPI (vehicles lost, stockout days, first stockout as a
restricted mean, P(stockout), fill rate); one row per automaker; the dot is
the paired difference and the bar its interval. A bar that does not cross
the zero line is a difference the replications resolve.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..formatting import HEADLINE_KPIS, compared_label
from .common import PALETTE, THOUSANDS, new_figure

#: The KPIs drawn, with the factor they are shown at (fill rate in %).
SHOWN = tuple((k.name, k.scale) for k in HEADLINE_KPIS)


def difference_forest(df: pd.DataFrame) -> Figure:
    """``df`` is ``resim.compare``'s frame (automaker, metric, diff, ci_low, ci_high)."""
    ok = df[df["metric"] != "failed"]
    shown = [(m, k) for m, k in SHOWN if (ok["metric"] == m).any()]
    who = list(dict.fromkeys(ok["automaker"].astype(str)))
    cols = min(3, len(shown))
    rows = -(-len(shown) // cols)
    fig = new_figure(3.6 * cols + 1.4, rows * (1.0 + 0.4 * len(who)) + 0.4)
    for p, (metric, scale) in enumerate(shown):
        ax = fig.add_subplot(rows, cols, p + 1)
        g = ok[ok["metric"] == metric].set_index(ok[ok["metric"] == metric]["automaker"].astype(str)).reindex(who)
        y = np.arange(len(who))
        d = g["diff"].to_numpy(dtype=float) * scale
        lo = g["ci_low"].to_numpy(dtype=float) * scale
        hi = g["ci_high"].to_numpy(dtype=float) * scale
        err = np.vstack([d - lo, hi - d])
        ax.errorbar(d, y, xerr=np.where(np.isfinite(err), err, 0), fmt="o", color=PALETTE[0], capsize=3)
        ax.axvline(0, color="0.3", linewidth=0.9)
        ax.set_yticks(y, who if p % cols == 0 else [""] * len(who), fontsize=8)
        ax.invert_yaxis()
        ax.set_title(compared_label(metric, "% points"), fontsize=8.5)
        if np.nanmax(np.abs(np.r_[lo, hi]), initial=0) >= 1000:
            ax.xaxis.set_major_formatter(THOUSANDS)
        ax.tick_params(axis="x", labelsize=7.5)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("B - A per automaker, paired, with 95% CIs", fontsize=10)
    return fig


__all__ = ["difference_forest"]
