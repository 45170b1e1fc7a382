"""Figures of a calibration (matplotlib's object API: no pyplot state).

* ``posterior_figure``: each parameter's posterior against its prior on the
  diagonal, and every pair of parameters below it (one point per particle,
  darker = heavier), so a ridge (two parameters traded against each other)
  shows as a tilted cloud.
* ``fan_figure``: an observed series' posterior-predictive fan (median,
  50% and 90% bands over the whole horizon) with the observed points.
* ``stockout_figure``: predictive first-stockout days against the observed one.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .observed import Period
from .posterior import Posterior
from .priors import Prior
from .series import Series, Target

DPI = 110
BAND = "#1f77b4"
OBSERVED = "#d62728"
PRIOR = "#7f7f7f"
UNITS = {"exports": "tonnes per month", "approved_share": "share approved (cumulative)",
         "share_stopped": "share of firms short (monthly mean)", "stockout_day": "day of run"}


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _midpoint(p: Period) -> date:
    return p.first + timedelta(days=(p.last - p.first).days / 2)


def posterior_figure(post: Posterior) -> Figure:
    """Marginals (diagonal) and pairs (below) of the weighted particles."""
    k = len(post.priors)
    size = 2.6 if k > 1 else 5.0
    fig = new_figure(max(size * k, 5.0), max(size * k, 3.2))
    axes = fig.subplots(k, k, squeeze=False)
    w = post.weights
    shade = 0.15 + 0.85 * (w / w.max())
    for i in range(k):
        for j, pj in enumerate(post.priors):
            ax = axes[i][j]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                _marginal(ax, post, i, legend=i == 0)
            else:
                _pair(ax, post, i, j, shade)
            _log_axis(ax.set_xlim, ax.set_xscale, pj)
            ax.set_xlabel(pj.key, fontsize=7)
            ax.tick_params(labelsize=7)
    fig.suptitle("Posterior (bars, points) against prior (dashed)", fontsize=10)
    return fig


def _marginal(ax: Axes, post: Posterior, i: int, legend: bool) -> None:
    """Parameter ``i``'s weighted posterior histogram over its prior's density
    (bins spaced as the prior is: logarithmically for a log-uniform prior)."""
    pi, w = post.priors[i], post.weights
    lo, hi = pi.low, pi.high
    edges = int(np.clip(round(2 * np.sqrt(len(w))), 8, 25)) + 1
    bins = np.geomspace(lo, hi, edges) if pi.log else np.linspace(lo, hi, edges)
    ax.hist(post.values[:, i], bins=bins, weights=w, density=True, color=BAND, alpha=0.75,
            label="posterior")
    prior = 1.0 / (bins * np.log(hi / lo)) if pi.log else np.full_like(bins, 1.0 / (hi - lo))
    ax.plot(bins, prior, color=PRIOR, linestyle="--", label="prior")
    ax.set_yticks([])
    if legend:
        ax.legend(fontsize=7, loc="upper right")


def _pair(ax: Axes, post: Posterior, i: int, j: int, shade: np.ndarray) -> None:
    """Parameter ``i`` (y) against ``j`` (x), a point per particle, darker = heavier."""
    pi = post.priors[i]
    ax.scatter(post.values[:, j], post.values[:, i], s=9, c=[(0.12, 0.47, 0.71, a) for a in shade],
               edgecolors="none")
    _log_axis(ax.set_ylim, ax.set_yscale, pi)
    ax.set_ylabel(pi.key, fontsize=7)


def _log_axis(set_lim: Any, set_scale: Any, prior: Prior) -> None:
    """An axis over the prior's range, logarithmic for a log-uniform prior."""
    set_lim(prior.low, prior.high)
    if prior.log:
        set_scale("log")


def fan_figure(series: Series, periods: Sequence[Period], curves: np.ndarray,
               targets: Sequence[Target], fitted_until: date | None = None) -> Figure:
    """The predictive fan of one series over ``periods`` with its observed rows."""
    fig = new_figure(8.0, 3.6)
    ax = fig.add_subplot()
    x = [_midpoint(p) for p in periods]
    if len(x) and curves.size:
        _draw_fan(ax, x, curves)
    _observed_points(ax, [t for t in targets if t.series.name == series.name])
    if fitted_until is not None:
        ax.axvline(fitted_until, color=PRIOR, linestyle=":", linewidth=1.0, label="end of fitted days")
    ax.set_title(series.name, fontsize=10)
    ax.set_ylabel(UNITS.get(series.kind, ""))
    _set_ylim(ax, series.kind)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.autofmt_xdate()
    return fig


def _draw_fan(ax: Axes, x: Sequence[date], curves: np.ndarray) -> None:
    """The 90% and 50% predictive bands and the median of ``curves`` (draws x periods)."""
    q = np.nanquantile(curves, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    ax.fill_between(x, q[0], q[4], color=BAND, alpha=0.18, label="90% predictive band")
    ax.fill_between(x, q[1], q[3], color=BAND, alpha=0.35, label="50% band")
    ax.plot(x, q[2], color=BAND, linewidth=1.6, label="median")


def _observed_points(ax: Axes, mine: Sequence[Target]) -> None:
    """The series' observed rows at their periods' midpoints, with their standard deviations."""
    ax.errorbar([_midpoint(t.period) for t in mine], [t.value for t in mine],
                yerr=[t.sd or 0.0 for t in mine], fmt="o", color=OBSERVED, capsize=3, label="observed")


def _set_ylim(ax: Axes, kind: str) -> None:
    """Shares on their whole 0..1 scale (a little margin shows points on the edge); counts from 0."""
    if kind in ("approved_share", "share_stopped"):
        ax.set_ylim(-0.02, 1.02)
    else:
        ax.set_ylim(bottom=0)


def stockout_figure(target: Target, draws: np.ndarray) -> Figure:
    """Predictive first-stockout days (a stockout beyond the horizon counts as the horizon)."""
    fig = new_figure(6.0, 3.2)
    ax = fig.add_subplot()
    d = draws[np.isfinite(draws)]
    if d.size:
        ax.hist(d, bins=min(30, max(5, d.size // 3)), color=BAND, alpha=0.75, label="predictive draws")
    ax.axvline(target.value, color=OBSERVED, linewidth=2, label=f"observed ({target.period.text})")
    ax.set_title(target.series.name, fontsize=10)
    ax.set_xlabel(UNITS["stockout_day"])
    ax.set_ylabel("draws")
    ax.legend(fontsize=7)
    return fig
