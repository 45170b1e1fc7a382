"""Figures of a sweep: a KPI over one or two swept keys, with confidence intervals.

They take a sweep summary (one row per design point x automaker, with
``{metric}_mean``, ``{metric}_ci_low`` and ``{metric}_ci_high`` columns), as
``resim.sweep`` returns and ``summary.parquet`` holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..formatting import METRIC_LABELS, compact, metric_label
from .common import PALETTE, THOUSANDS, Plot, new_figure, slug, unique_stems


def key_label(key: str) -> str:
    """An axis label for a scenario key, with its unit when the name gives one."""
    last = key.split(".")[-1]
    if last.endswith("_t_per_day"):
        unit = "t/day"
    elif last.endswith(("_days", "_day")) or last in ("horizon", "duration"):
        unit = "days"
    elif last.endswith("_t"):
        unit = "t"
    elif last.endswith(("rate", "probability", "share", "_fraction")) or last == "de_minimis":
        unit = "share"
    elif last.endswith("_per_day"):
        unit = "per day"
    elif last == "reviewers":
        unit = "reviewers"
    else:
        return key
    return f"{key} ({unit})"


def with_mean(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``summary`` with a ``{metric}_mean`` column: a sweep summary gives a proportion
    such as ``stockout_probability`` under its bare name."""
    if f"{metric}_mean" not in summary.columns and metric in summary.columns:
        return summary.assign(**{f"{metric}_mean": summary[metric]})
    return summary


def _check_metric(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    summary = with_mean(summary, metric)
    if f"{metric}_mean" not in summary.columns:
        raise ValueError(f"summary has no column {metric + '_mean'!r} (metrics: "
                         f"{sorted(c[:-5] for c in summary.columns if c.endswith('_mean'))})")
    return summary


def _select(summary: pd.DataFrame, metric: str, automaker: str) -> pd.DataFrame:
    """The rows of one automaker, with a ``{metric}_mean`` column."""
    summary = _check_metric(summary, metric)
    if "automaker" in summary.columns:
        if automaker not in set(summary["automaker"].astype(str)):
            raise ValueError(f"no rows for automaker {automaker!r} (have: "
                             f"{sorted(set(summary['automaker'].astype(str)))})")
        summary = summary[summary["automaker"].astype(str) == automaker]
    return summary


def sorted_values(values: Iterable[Any]) -> list[Any]:
    """Distinct values, sorted when they can be (else in order of appearance)."""
    vals = list(dict.fromkeys(values))
    try:
        return sorted(vals)
    except TypeError:
        return vals


def _who(automaker: str) -> str:
    return "All automakers" if automaker == "all" else automaker


def tick(v: Any) -> str:
    """A swept value as a tick label: 0.6 rather than 0.6000000000000001."""
    return f"{v:g}" if isinstance(v, float) else str(v)


def sweep_heatmap(summary: pd.DataFrame, x: str, y: str, metric: str,
                  automaker: str = "all") -> Figure:
    """Mean of ``metric`` over a grid of two swept keys, one cell per design point.

    ``summary`` has one row per design point x automaker with a column per
    swept key, ``automaker``, and ``{metric}_mean``, ``{metric}_ci_low``,
    ``{metric}_ci_high``. Each cell is annotated with the mean and, below it,
    the 95% confidence interval. Raises ``ValueError`` if a cell has several
    rows (filter the other swept keys first).
    """
    df = _select(summary, metric, automaker)
    dup = df.duplicated([x, y])
    if dup.any():
        raise ValueError(f"several rows per ({x}, {y}) cell: filter the other swept keys first")
    xs, ys = sorted_values(df[x]), sorted_values(df[y])
    grid = np.full((len(ys), len(xs)), np.nan)
    lo = np.full_like(grid, np.nan)
    hi = np.full_like(grid, np.nan)
    for _, row in df.iterrows():
        i, j = ys.index(row[y]), xs.index(row[x])
        grid[i, j] = row[f"{metric}_mean"]
        lo[i, j] = row.get(f"{metric}_ci_low", np.nan)
        hi[i, j] = row.get(f"{metric}_ci_high", np.nan)
    fig = new_figure(max(6.5, 2.6 + 1.25 * len(xs)), 1.8 + 0.75 * len(ys))
    ax = fig.add_subplot()
    masked = np.ma.masked_invalid(grid)
    im = ax.imshow(masked, cmap="viridis_r" if metric != "fill_rate" else "viridis",
                   aspect="auto", origin="lower")
    finite = grid[np.isfinite(grid)]
    mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
    for i in range(len(ys)):
        for j in range(len(xs)):
            v = grid[i, j]
            if not np.isfinite(v):
                ax.text(j, i, "–", ha="center", va="center", fontsize=9, color="0.4")
                continue
            dark = (v > mid) if metric != "fill_rate" else (v < mid)
            colour = "white" if dark else "black"
            ax.text(j, i + 0.08, compact(float(v)), ha="center", va="center", fontsize=10.5,
                    color=colour)
            if np.isfinite(lo[i, j]) and np.isfinite(hi[i, j]):
                ax.text(j, i - 0.22, f"[{compact(float(lo[i, j]))}, {compact(float(hi[i, j]))}]",
                        ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(len(xs)), [tick(v) for v in xs])
    ax.set_yticks(range(len(ys)), [tick(v) for v in ys])
    ax.set_xlabel(key_label(x))
    ax.set_ylabel(key_label(y))
    cbar = fig.colorbar(im, ax=ax)
    label, unit = METRIC_LABELS.get(metric, (metric.replace("_", " "), ""))
    cbar.set_label(f"mean {label}" + (f"\n({unit})" if unit else ""))
    if finite.size and np.nanmax(np.abs(finite)) >= 1000:
        cbar.ax.yaxis.set_major_formatter(THOUSANDS)
    ax.set_title(f"{_who(automaker)}: mean {label} [95% CI]\nby design point")
    return fig


def sweep_lines(summary: pd.DataFrame, x: str, metric: str, automaker: str = "all",
                by: str | None = None) -> Figure:
    """Mean of ``metric`` against one swept key, with its 95% confidence band.

    With ``by``, one line (and band) per value of that second swept key;
    ``by="automaker"`` compares automakers instead (the ``automaker`` filter
    is then ignored). Non-numeric values of ``x`` are spaced evenly.
    """
    df = _check_metric(summary, metric) if by == "automaker" else _select(summary, metric, automaker)
    groups: list[tuple[Any, pd.DataFrame]] = (
        [(v, df[df[by] == v]) for v in sorted_values(df[by])] if by else [(None, df)]
    )
    if any(g.duplicated([x]).any() for _, g in groups):
        raise ValueError(f"several rows per value of {x}: pass by= or filter the other swept keys")
    xs = sorted_values(df[x])
    numeric = all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
                  for v in xs)
    pos = {v: (float(v) if numeric else float(i)) for i, v in enumerate(xs)}
    fig = new_figure(8.5, 4.8)
    ax = fig.add_subplot()
    for i, (value, g) in enumerate(groups):
        g = g.assign(_x=g[x].map(pos)).sort_values("_x")
        colour = PALETTE[i % len(PALETTE)]
        name = (str(value) if by == "automaker" else f"{by} = {tick(value)}") if by else "mean"
        ax.plot(g["_x"], g[f"{metric}_mean"], marker="o", color=colour, label=name)
        if f"{metric}_ci_low" in g.columns and f"{metric}_ci_high" in g.columns:
            ax.fill_between(g["_x"], g[f"{metric}_ci_low"].astype(float),
                            g[f"{metric}_ci_high"].astype(float), color=colour,
                            alpha=0.2 if len(groups) == 1 else 0.1,
                            label="95% CI" if i == 0 else None)
    if not numeric:
        ax.set_xticks(list(pos.values()), [tick(v) for v in xs])
    ax.set_xlabel(key_label(x))
    ax.set_ylabel(f"mean {metric_label(metric)}")
    if abs(np.nanmax(np.abs(df[f"{metric}_mean"].to_numpy(dtype=float)), initial=0.0)) >= 1000:
        ax.yaxis.set_major_formatter(THOUSANDS)
    who = "By automaker" if by == "automaker" else _who(automaker)
    ax.set_title(f"{who}: mean {METRIC_LABELS.get(metric, (metric,))[0]} and 95% CI "
                 f"against {x.split('.')[-1]}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, framealpha=0.9)
    return fig


# ---------------------------------------------------------------- the sweep report's figures
MAX_PANELS = 12


def labelled_keys(summary: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """``summary`` with list- or table-valued swept keys (a suppliers list) as text labels,
    so that they can be compared, sorted and shown."""
    summary = summary.copy()
    for k in keys:
        if k in summary.columns and not pd.api.types.is_numeric_dtype(summary[k]):
            summary[k] = summary[k].map(
                lambda v: v if isinstance(v, str) else str(getattr(v, "tolist", lambda: v)()))
    return summary


def design_points(summary: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """One row per design point with its swept values (labelled): by the ``point``
    column when there is one, else the rows of the first automaker."""
    summary = labelled_keys(summary, keys)
    if "point" in summary.columns:
        return summary.drop_duplicates("point")[list(keys)]
    if "automaker" in summary.columns and len(summary):
        summary = summary[summary["automaker"] == summary["automaker"].iloc[0]]
    return summary[list(keys)]


def repeated_points(summary: pd.DataFrame, keys: Sequence[str]) -> int:
    """How many design points repeat the swept values of an earlier point."""
    return int(design_points(summary, keys).duplicated().sum())


def report_figures(summary: pd.DataFrame, keys: Sequence[str], metric: str) -> list[Plot]:
    """The figures of a sweep report, with captions.

    One key: a line with its confidence band per automaker, and all
    automakers together. Two: a heatmap per automaker and lines of the first
    key by the second. More: heatmaps of the first two keys for each
    combination of the others (at most 12). A design point that repeats the
    values of an earlier one (a grid listing a value twice, integer keys
    rounded alike in a Latin hypercube) is drawn once, from its first row:
    the figures need one value per cell.
    """
    summary = labelled_keys(summary, keys)
    cols = [*keys, "automaker"] if "automaker" in summary.columns else list(keys)
    summary = summary.drop_duplicates(cols)
    automakers = (list(dict.fromkeys(summary["automaker"].astype(str)))
                  if "automaker" in summary.columns else ["all"])
    automakers = sorted(automakers, key=lambda a: a != "all")[:MAX_PANELS]
    label = metric_label(metric)
    out: list[Plot] = []
    if len(keys) == 1:
        x = keys[0]
        for a in automakers:
            out.append(Plot(
                f"sweep_{slug(a)}",
                f"{a}: mean {label} against {x}, with its 95% confidence band.",
                sweep_lines(summary, x, metric, automaker=a)))
        if len(automakers) > 1 and "automaker" in summary.columns:
            out.append(Plot("sweep_by_automaker",
                            f"Mean {label} against {x}, one line per automaker.",
                            sweep_lines(summary, x, metric, by="automaker")))
        return _uniquely_named(out)
    x, y, rest = keys[0], keys[1], list(keys[2:])
    combos: list[dict[str, Any]] = [{}]
    if rest:
        combos = summary[rest].drop_duplicates().to_dict("records")[:MAX_PANELS]
    for combo in combos:
        sub = summary
        for k, v in combo.items():
            sub = sub[sub[k] == v]
        suffix = ", ".join(f"{k} = {v}" for k, v in combo.items())
        tag = "_".join(slug(f"{k}_{v}") for k, v in combo.items())
        for a in automakers if not rest else ["all" if "all" in automakers else automakers[0]]:
            out.append(Plot(
                f"sweep_{slug(a)}{'_' + tag if tag else ''}",
                f"{a}: mean {label} [95% CI] for each combination of {x} and {y}"
                + (f" ({suffix})" if suffix else "") + ".",
                sweep_heatmap(sub, x, y, metric, automaker=a)))
        if not rest:
            out.append(Plot(
                "sweep_lines_all" if "all" in automakers else f"sweep_lines_{slug(automakers[0])}",
                f"Mean {label} against {x}, one line per value of {y}, with 95% confidence bands.",
                sweep_lines(sub, x, metric, automaker="all" if "all" in automakers
                            else automakers[0], by=y)))
    return _uniquely_named(out)


def _uniquely_named(plots: list[Plot]) -> list[Plot]:
    stems = unique_stems(p.name for p in plots)
    return [replace(p, name=stem) for p, stem in zip(plots, stems, strict=True)]


__all__ = ["MAX_PANELS", "design_points", "key_label", "labelled_keys", "repeated_points",
           "report_figures",
           "sorted_values", "sweep_heatmap", "sweep_lines", "tick", "with_mean"]
