"""How the replications spread: each automaker's vehicles lost, replication by replication."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ...model.kpis import BY_NAME
from ..formatting import METRIC_LABELS
from ..rundata import RunData, RunSource, load_run
from .common import HORIZONTAL, PALETTE, THOUSANDS, empty_figure, new_figure


def _replication_rows(run: RunData) -> pd.DataFrame:
    """The KPI rows of the replications that ran (failed ones have no KPIs)."""
    df = run.kpis
    if not len(df):
        return pd.DataFrame({"automaker": []})
    return df[df["error"].isna()] if "error" in df.columns else df


def _shown(df: pd.DataFrame, names: list[str]) -> tuple[str, list[str]]:
    """The KPI drawn (vehicles lost, or its declared stand-in when no
    automaker has a vehicle count) and the automakers that have it."""
    metric = "vehicles_lost"
    if not df[df["automaker"].isin(names)][metric].notna().any():
        metric = BY_NAME[metric].stand_in or metric
    return metric, [n for n in names if df.loc[df["automaker"] == n, metric].notna().any()]


def _boxes(ax: Any, data: list[np.ndarray], pos: np.ndarray) -> None:
    ax.boxplot(data, positions=pos, widths=0.5, showfliers=False, **HORIZONTAL,
               patch_artist=True, boxprops={"facecolor": "#dbe7f3", "edgecolor": PALETTE[0]},
               whiskerprops={"color": PALETTE[0], "linestyle": ":"},
               capprops={"color": PALETTE[0]}, medianprops={"color": PALETTE[0], "linewidth": 2})


def _mean_bar(ax: Any, block: dict[str, Any], p: float, first: bool) -> None:
    """The mean and its 95% CI (from summary.json) as a black diamond and bar."""
    mean, ci = block.get("mean"), block.get("ci95") or [None, None]
    if mean is None:
        return
    lo = mean - ci[0] if ci[0] is not None else 0.0
    hi = ci[1] - mean if ci[1] is not None else 0.0
    ax.errorbar([mean], [p], xerr=[[lo], [hi]], fmt="D", color="black", markersize=6,
                elinewidth=2.2, capsize=5, capthick=2.2, zorder=4, label="mean and 95% CI" if first else None)


def _replications(ax: Any, data: list[np.ndarray], pos: np.ndarray, blocks: list[dict[str, Any]]) -> None:
    """Each replication as a dot (jittered), and each automaker's mean and CI."""
    rng = np.random.default_rng(0)  # jitter only; fixed so the figure is reproducible
    for i, (p, x) in enumerate(zip(pos, data, strict=True)):
        ax.scatter(x, p + rng.uniform(-0.18, 0.18, x.size), s=12, alpha=0.55,
                   color=PALETTE[i % len(PALETTE)], zorder=3,
                   label="one replication" if i == 0 else None)
        _mean_bar(ax, blocks[i], p, i == 0)


def _zero_notes(ax: Any, data: list[np.ndarray], pos: np.ndarray, label: str) -> None:
    """Above each pile at 0, where the dots hide how many there are, the share of replications there."""
    for p, x in zip(pos, data, strict=True):
        note = zero_share_note(x, label)
        if note:
            ax.annotate(note, xy=(0.0, p + 0.25), xycoords="data", xytext=(3, 2), textcoords="offset points",
                        fontsize=8, color="0.25", va="bottom", ha="left")


def vehicles_lost_distribution(source: RunSource) -> Figure:
    """Distribution over replications of each automaker's vehicles lost.

    One horizontal box (quartiles, dotted whiskers to 1.5 IQR) per automaker with
    every replication as a dot, and the mean with its 95% confidence interval
    (from summary.json) as a black diamond and bar. Replications that lose
    nothing pile up at 0, where a box and dots cannot show how many there
    are, so a note above each such pile gives the share of replications
    that lost none. Automakers described by
    tonnes rather than vehicles (``demand_t_per_day``) have no vehicle count;
    if none has one, the figure shows the magnet shortfall in tonnes instead.
    """
    run = load_run(source)
    df = _replication_rows(run)
    names = [n for n in run.automakers if (df["automaker"] == n).any()]
    if not names:
        return empty_figure("Vehicles lost", "no automakers in this scenario")
    metric, names = _shown(df, names)
    label, unit = METRIC_LABELS[metric]
    data = [df.loc[df["automaker"] == n, metric].dropna().to_numpy(dtype=float) for n in names]
    fig = new_figure(9.0, 1.6 + 0.9 * len(names))
    ax = fig.add_subplot()
    pos = np.arange(len(names))[::-1]
    _boxes(ax, data, pos)
    blocks = [run.summary.get("kpis", {}).get(n, {}).get(metric, {}) for n in names]
    _replications(ax, data, pos, blocks)
    ax.set_yticks(pos, names)
    _zero_notes(ax, data, pos, label)
    ax.set_ylabel("automaker")
    ax.xaxis.set_major_formatter(THOUSANDS)
    ax.set_xlabel(f"{label} per replication ({unit})")
    ax.set_xlim(left=min([0.0, *(float(x.min()) for x in data if x.size)]))
    ax.set_title(f"{label.capitalize()} over {len(run.replications)} replications "
                 f"({run.horizon_days:g} days from {run.start_date})")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    return fig


def zero_share_note(x: np.ndarray, label: str) -> str:
    """``75% of replications lose none`` (empty when every replication lost something)."""
    zero = float(np.mean(x == 0.0)) if x.size else 0.0
    if zero == 0.0:
        return ""
    what = "none" if label.startswith("vehicles") else "no magnets"
    return f"all replications lose {what}" if zero == 1.0 else f"{100 * zero:.0f}% of replications lose {what}"


__all__ = ["vehicles_lost_distribution", "zero_share_note"]
