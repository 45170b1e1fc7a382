"""Figures of a sampled sweep (lhs, qmc, sobol, morris): a KPI against each swept key.

A sampled design has (nearly) as many values of each key as points, so a
heatmap of it is a grid of empty cells and a line through it is a zigzag.
Instead each panel scatters every point's mean against one key, with the
*binned mean*: the points cut into bins of equal count along the key, each
bin's mean with its 95% t-interval across the points in it. The binned mean
is the KPI's main effect along that key, averaged over the other keys; its
band is wide where the other keys matter. Axes are numeric, so their ticks
are round numbers rather than the sampled values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from ..formatting import metric_label
from .common import PALETTE, THOUSANDS, Plot, new_figure, slug, unique_stems
from .sweep import MAX_PANELS, key_label, with_mean

#: Panels per row.
COLUMNS = 3


def binned_means(x: np.ndarray, y: np.ndarray, bins: int | None = None) -> pd.DataFrame:
    """Equal-count bins of ``x``: each bin's mean x, mean y and the 95%
    t-interval of the mean y (``x``, ``y`` finite; at least two points a bin)."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if bins is None:
        bins = int(min(8, max(2, x.size // 6)))
    order = np.argsort(x, kind="stable")
    rows = []
    for idx in np.array_split(order, max(1, min(bins, x.size // 2))):
        if idx.size == 0:
            continue
        m, s, n = float(y[idx].mean()), float(y[idx].std(ddof=1)) if idx.size > 1 else math.nan, idx.size
        half = float(stats.t.ppf(0.975, n - 1) * s / math.sqrt(n)) if n > 1 else math.nan
        rows.append({"x": float(x[idx].mean()), "mean": m, "ci_low": m - half, "ci_high": m + half, "n": n})
    return pd.DataFrame(rows, columns=["x", "mean", "ci_low", "ci_high", "n"])


def _of(summary: pd.DataFrame, metric: str, automaker: str) -> pd.DataFrame:
    """The rows of ``automaker`` with a ``{metric}_mean`` column (ValueError without one)."""
    df = with_mean(summary, metric)
    if "automaker" in df.columns:
        df = df[df["automaker"].astype(str) == automaker]
    if f"{metric}_mean" not in df.columns:
        raise ValueError(f"summary has no column {metric + '_mean'!r}")
    return df


def _key_panel(ax: Any, x: np.ndarray, y: np.ndarray, big: bool) -> None:
    """The points against one key, and their binned mean with its 95% CI band."""
    ax.scatter(x, y, s=12, color=PALETTE[0], alpha=0.45, linewidths=0, label="design point")
    b = binned_means(x, y)
    if len(b):
        ax.plot(b["x"], b["mean"], color=PALETTE[1], marker="o", markersize=3.5, label="binned mean")
        ax.fill_between(b["x"], b["ci_low"], b["ci_high"], color=PALETTE[1], alpha=0.2, label="95% CI")
    if big:
        ax.yaxis.set_major_formatter(THOUSANDS)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)


def sweep_scatter(summary: pd.DataFrame, keys: Sequence[str], metric: str = "vehicles_lost",
                  automaker: str = "all") -> Figure:
    """One panel per swept key: each point's mean ``metric`` for ``automaker``
    against the key, and the binned mean with its 95% CI band."""
    df = _of(summary, metric, automaker)
    rows = math.ceil(len(keys) / COLUMNS)
    cols = min(len(keys), COLUMNS)
    fig = new_figure(3.6 * cols + 0.6, 3.1 * rows + 0.6)
    y = df[f"{metric}_mean"].to_numpy(dtype=float)
    for i, key in enumerate(keys):
        ax = fig.add_subplot(rows, cols, i + 1)
        _key_panel(ax, df[key].to_numpy(dtype=float), y, np.nanmax(np.abs(y), initial=0.0) >= 1000)
        ax.set_xlabel(key_label(key), fontsize=8.5)
        if i % cols == 0:
            ax.set_ylabel(f"mean {metric_label(metric)}", fontsize=8.5)
        if i == 0:
            ax.legend(fontsize=7, framealpha=0.9)
    who = "All automakers" if automaker == "all" else automaker
    fig.suptitle(f"{who}: mean {metric_label(metric)} at each design point, against each swept key",
                 fontsize=10)
    return fig


def sampled_figures(summary: pd.DataFrame, keys: Sequence[str], metric: str) -> list[Plot]:
    """The figures of a sampled sweep's report: one scatter figure per
    automaker (all automakers first, at most 12)."""
    automakers = (list(dict.fromkeys(summary["automaker"].astype(str))) if "automaker" in summary.columns
                  else ["all"])
    automakers = sorted(automakers, key=lambda a: a != "all")[:MAX_PANELS]
    stems = unique_stems(f"sweep_{slug(a)}" for a in automakers)
    label = metric_label(metric)
    return [Plot(stem, f"{a}: mean {label} at each design point against each swept key; the line is the "
                       "binned mean (points in bins of equal count along the key) with its 95% CI band.",
                 sweep_scatter(summary, keys, metric, a)) for a, stem in zip(automakers, stems, strict=True)]


__all__ = ["binned_means", "sampled_figures", "sweep_scatter"]
