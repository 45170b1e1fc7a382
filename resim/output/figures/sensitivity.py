"""Figures of which levers matter: sensitivity indices with their CIs, and PRIM's box.

``index_bars`` draws a sweep's Sobol indices (S1 beside ST) or Morris
effects (mu* beside sigma) per swept key, one panel per automaker, with the
95% bootstrap intervals as error bars. ``prim_figure`` draws the
coverage/density trade-off along PRIM's peeling trajectory with the chosen
box marked, and the points in the two keys the box restricts most, the box
drawn over them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..formatting import metric_label
from .common import PALETTE, THOUSANDS, new_figure
from .sweep import key_label

#: Most automaker panels in one figure.
MAX_PANELS = 6


#: Per method: the two indices drawn side by side, and what the figure calls them.
_PAIRS = {"sobol": ("S1", "ST"), "morris": ("mu_star", "sigma")}
_NAMES = {"S1": "S1 (alone)", "ST": "ST (with interactions)", "mu_star": "mu*", "sigma": "sigma"}
_WHAT = {"sobol": "Sobol indices (share of variance over the design)",
         "morris": "Morris effects (change across a key's range)"}


def _short(key: str) -> str:
    return key if len(key) <= 38 else "…" + key[-37:]


def _index_panel(ax: Any, g: pd.DataFrame, keys: list[str], method: str) -> None:
    """One automaker's two indices per key as bars, with their CIs as error bars."""
    pos = np.arange(len(keys))
    for k, (idx, colour) in enumerate(zip(_PAIRS.get(method, _PAIRS["morris"]), PALETTE[:2], strict=True)):
        r = g[g["index"] == idx].set_index("parameter").reindex(keys)
        v = r["value"].to_numpy(dtype=float)
        err = np.vstack([v - r["ci_low"].to_numpy(dtype=float), r["ci_high"].to_numpy(dtype=float) - v])
        ax.barh(pos + (k - 0.5) * 0.38, v, height=0.36, color=colour, label=_NAMES[idx],
                xerr=None if np.isnan(err).all() else np.nan_to_num(err), capsize=3,
                error_kw={"elinewidth": 1, "ecolor": "0.25"})
    ax.set_yticks(pos, [_short(k) for k in keys], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.grid(axis="x", alpha=0.3)
    if method == "morris" and np.nanmax(np.abs(g["value"].to_numpy(dtype=float)), initial=0) >= 1000:
        ax.xaxis.set_major_formatter(THOUSANDS)


def index_bars(frame: pd.DataFrame, kpi: str = "vehicles_lost") -> Figure:
    """Horizontal bars of each key's indices for ``kpi``, one panel per automaker ("all" first)."""
    f = frame[frame["kpi"] == kpi]
    if f.empty:
        raise ValueError(f"no indices for {kpi!r}")
    method = str(f["method"].iloc[0])
    who = sorted(dict.fromkeys(f["automaker"]), key=lambda a: a != "all")[:MAX_PANELS]
    keys = list(dict.fromkeys(f["parameter"]))
    cols = min(len(who), 2)
    rows = math.ceil(len(who) / cols)
    fig = new_figure(5.2 * cols + 1.5, 0.6 + rows * (0.9 + 0.45 * len(keys)))
    for p, a in enumerate(who):
        ax = fig.add_subplot(rows, cols, p + 1)
        _index_panel(ax, f[f["automaker"] == a], keys, method)
        ax.set_title("all automakers" if a == "all" else str(a), fontsize=9.5)
        if p == 0:
            ax.legend(fontsize=7.5, loc="lower right", framealpha=0.9)
    fig.suptitle(f"{_WHAT.get(method, _WHAT['morris'])} of {metric_label(kpi)}, with 95% bootstrap CIs", fontsize=10)
    return fig


def prim_figure(found: Any) -> Figure:
    """Left: coverage against density along the trajectory (colour: keys
    restricted), the densest box keeping the coverage asked for starred, and
    the chosen box (that box without its insignificant restrictions). Right: the points in the two keys
    the chosen box restricts most (where the condition holds in colour), the
    box over them."""
    fig = new_figure(11, 4.6)
    _trajectory_panel(fig, fig.add_subplot(1, 2, 1), found)
    _box_panel(fig.add_subplot(1, 2, 2), found)
    return fig


def _trajectory_panel(fig: Figure, ax: Any, found: Any) -> None:
    """Coverage against density along the peeling trajectory, the peeled and the chosen box marked."""
    t, chosen = found.trajectory, found.box
    sc, top = trajectory_points(ax, t.boxes)
    peeled = t.boxes[found.chosen]
    ax.scatter([peeled.coverage], [peeled.density], marker="*", s=220, color=PALETTE[3], zorder=4,
               label=f"densest with coverage >= {found.min_coverage:.0%}")
    if found.freed:
        ax.scatter([chosen.coverage], [chosen.density], marker="D", s=60, color=PALETTE[1], zorder=5,
                   label=f"chosen: without {len(found.freed)} insignificant restriction(s)")
    ax.set_xlabel("coverage (share of the hits inside the box)")
    ax.set_ylabel("density (share of the box that hits)")
    fig.colorbar(sc, ax=ax, label="keys restricted", ticks=range(top + 1))
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    ax.set_title("Peeling trajectory: the coverage/density trade-off", fontsize=10)


def trajectory_points(ax: Any, boxes: Any) -> tuple[Any, int]:
    """PRIM's boxes as points of coverage against density, joined in peeling
    order and coloured by the keys each restricts, on the unit square; the
    scatter (for a colour bar) and the most keys restricted."""
    dims = [len(b.restricted) for b in boxes]
    top = max(dims) or 1
    cov, den = [b.coverage for b in boxes], [b.density for b in boxes]
    sc = ax.scatter(cov, den, c=dims, cmap="viridis", vmin=0, vmax=top, s=22, zorder=3)
    ax.plot(cov, den, color="0.6", linewidth=0.8, zorder=2)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    return sc, top


def _box_panel(ax2: Any, found: Any) -> None:
    """The points in the two keys the chosen box restricts most, and the box over them."""
    t, chosen = found.trajectory, found.box
    x, y = t.x, t.y
    order = sorted(range(x.shape[1]), key=lambda j: (j not in chosen.restricted, -_narrowing(found, j), j))
    i, j = (order[0], order[1]) if x.shape[1] > 1 else (order[0], order[0])
    ax2.scatter(x[~y, i], x[~y, j], s=14, color="0.7", label="condition does not hold", linewidths=0)
    ax2.scatter(x[y, i], x[y, j], s=16, color=PALETTE[3], label="condition holds", linewidths=0)
    ax2.add_patch(Rectangle((chosen.lower[i], chosen.lower[j]), chosen.upper[i] - chosen.lower[i],
                            chosen.upper[j] - chosen.lower[j], fill=False, edgecolor="black", linewidth=1.6,
                            label="chosen box"))
    ax2.set_xlabel(key_label(found.keys[i]), fontsize=8.5)
    ax2.set_ylabel(key_label(found.keys[j]), fontsize=8.5)
    ax2.legend(fontsize=7.5, framealpha=0.9)
    ax2.grid(alpha=0.3)
    ax2.set_title(" and ".join(str(c) for c in found.where), fontsize=9.5)


def _narrowing(found: Any, j: int) -> float:
    """How much of key j's range the chosen box cuts away."""
    lo, hi = found.trajectory.x[:, j].min(), found.trajectory.x[:, j].max()
    width = hi - lo
    return 0.0 if width == 0 else 1 - (found.box.upper[j] - found.box.lower[j]) / width


__all__ = ["MAX_PANELS", "index_bars", "prim_figure", "trajectory_points"]
