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

from ...model.kpis import BY_NAME, HIGHER
from ..formatting import METRIC_LABELS, compact, metric_label
from .common import PALETTE, THOUSANDS, Plot, new_figure, slug, unique_stems

#: A swept key's unit from its name: (name endings, whole names, unit), the first match wins.
_KEY_UNITS = (
    (("_t_per_day",), (), "t/day"),
    (("_days", "_day"), ("horizon", "duration"), "days"),
    (("_t",), (), "t"),
    (("rate", "probability", "share", "_fraction"), ("de_minimis",), "share"),
    (("_per_day",), (), "per day"),
    ((), ("reviewers",), "reviewers"),
)


def key_label(key: str) -> str:
    """An axis label for a scenario key, with its unit when the name gives one."""
    last = key.split(".")[-1]
    unit = next((u for ends, names, u in _KEY_UNITS if last.endswith(ends) or last in names), None)
    return f"{key} ({unit})" if unit else key


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


def _cells(df: pd.DataFrame, x: str, y: str, metric: str) -> tuple[list[Any], list[Any], np.ndarray, np.ndarray, np.ndarray]:
    """The heatmap's columns (values of x), rows (of y), and per cell the mean and its CI bounds."""
    xs, ys = sorted_values(df[x]), sorted_values(df[y])
    grid = np.full((len(ys), len(xs)), np.nan)
    lo = np.full_like(grid, np.nan)
    hi = np.full_like(grid, np.nan)
    for _, row in df.iterrows():
        i, j = ys.index(row[y]), xs.index(row[x])
        grid[i, j] = row[f"{metric}_mean"]
        lo[i, j] = row.get(f"{metric}_ci_low", np.nan)
        hi[i, j] = row.get(f"{metric}_ci_high", np.nan)
    return xs, ys, grid, lo, hi


def _higher_is_better(metric: str) -> bool:
    kpi = BY_NAME.get(metric)
    return kpi is not None and kpi.better == HIGHER


def _cell_text(ax: Any, i: int, j: int, v: float, lo: float, hi: float, dark: bool) -> None:
    """A cell's mean and, below it, its CI; white on dark cells; a dash where there is no value."""
    if not np.isfinite(v):
        ax.text(j, i, "–", ha="center", va="center", fontsize=9, color="0.4")
        return
    colour = "white" if dark else "black"
    ax.text(j, i + 0.08, compact(float(v)), ha="center", va="center", fontsize=10.5, color=colour)
    if np.isfinite(lo) and np.isfinite(hi):
        ax.text(j, i - 0.22, f"[{compact(float(lo))}, {compact(float(hi))}]",
                ha="center", va="center", fontsize=7, color=colour)


def sweep_heatmap(summary: pd.DataFrame, x: str, y: str, metric: str,
                  automaker: str = "all") -> Figure:
    """Mean of ``metric`` over a grid of two swept keys, one cell per design point.

    ``summary`` has one row per design point x automaker with a column per
    swept key, ``automaker``, and ``{metric}_mean``, ``{metric}_ci_low``,
    ``{metric}_ci_high``. Each cell is annotated with the mean and, below it,
    the 95% confidence interval. The worse end of the KPI (its declared
    ``better`` direction) is dark. Raises ``ValueError`` if a cell has several
    rows (filter the other swept keys first).
    """
    df = _select(summary, metric, automaker)
    if df.duplicated([x, y]).any():
        raise ValueError(f"several rows per ({x}, {y}) cell: filter the other swept keys first")
    xs, ys, grid, lo, hi = _cells(df, x, y, metric)
    fig = new_figure(max(6.5, 2.6 + 1.25 * len(xs)), 1.8 + 0.75 * len(ys))
    ax = fig.add_subplot()
    im, finite = _cells_image(ax, grid, lo, hi, _higher_is_better(metric))
    ax.set_xticks(range(len(xs)), [tick(v) for v in xs])
    ax.set_yticks(range(len(ys)), [tick(v) for v in ys])
    ax.set_xlabel(key_label(x))
    ax.set_ylabel(key_label(y))
    label = _colour_bar(fig, ax, im, metric, finite)
    ax.set_title(f"{_who(automaker)}: mean {label} [95% CI]\nby design point")
    return fig


def _cells_image(ax: Any, grid: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 higher: bool) -> tuple[Any, np.ndarray]:
    """The coloured cells, the worse end dark, each annotated (light text on
    the dark half); the image and the finite means (for the colour bar)."""
    im = ax.imshow(np.ma.masked_invalid(grid), cmap="viridis" if higher else "viridis_r",
                   aspect="auto", origin="lower")
    finite = grid[np.isfinite(grid)]
    mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
    for (i, j), v in np.ndenumerate(grid):
        _cell_text(ax, i, j, v, lo[i, j], hi[i, j], (v < mid) if higher else (v > mid))
    return im, finite


def _colour_bar(fig: Figure, ax: Any, im: Any, metric: str, finite: np.ndarray) -> str:
    """The heatmap's colour bar, labelled with the KPI and its unit; the KPI's words."""
    cbar = fig.colorbar(im, ax=ax)
    label, unit = METRIC_LABELS.get(metric, (metric.replace("_", " "), ""))
    cbar.set_label(f"mean {label}" + (f"\n({unit})" if unit else ""))
    if finite.size and np.nanmax(np.abs(finite)) >= 1000:
        cbar.ax.yaxis.set_major_formatter(THOUSANDS)
    return label


def _groups(df: pd.DataFrame, by: str | None) -> list[tuple[Any, pd.DataFrame]]:
    return [(v, df[df[by] == v]) for v in sorted_values(df[by])] if by else [(None, df)]


def _positions(xs: list[Any]) -> tuple[dict[Any, float], bool]:
    """Where each value of x goes on the axis: itself if every value is a
    number, else evenly spaced; and whether they are numbers."""
    numeric = all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
                  for v in xs)
    return {v: (float(v) if numeric else float(i)) for i, v in enumerate(xs)}, numeric


def _line_name(by: str | None, value: Any) -> str:
    if not by:
        return "mean"
    return str(value) if by == "automaker" else f"{by} = {tick(value)}"


def _draw_line(ax: Any, g: pd.DataFrame, metric: str, colour: str, name: str, first: bool, alpha: float) -> None:
    """One group's mean as a line with markers, and its 95% band when the summary has one."""
    ax.plot(g["_x"], g[f"{metric}_mean"], marker="o", color=colour, label=name)
    if f"{metric}_ci_low" in g.columns and f"{metric}_ci_high" in g.columns:
        ax.fill_between(g["_x"], g[f"{metric}_ci_low"].astype(float), g[f"{metric}_ci_high"].astype(float),
                        color=colour, alpha=alpha, label="95% CI" if first else None)


def sweep_lines(summary: pd.DataFrame, x: str, metric: str, automaker: str = "all",
                by: str | None = None) -> Figure:
    """Mean of ``metric`` against one swept key, with its 95% confidence band.

    With ``by``, one line (and band) per value of that second swept key;
    ``by="automaker"`` compares automakers instead (the ``automaker`` filter
    is then ignored). Non-numeric values of ``x`` are spaced evenly.
    """
    df = _check_metric(summary, metric) if by == "automaker" else _select(summary, metric, automaker)
    groups = _groups(df, by)
    _check_one_row_per(groups, x)
    xs = sorted_values(df[x])
    pos, numeric = _positions(xs)
    fig = new_figure(8.5, 4.8)
    ax = fig.add_subplot()
    _draw_lines(ax, groups, x, pos, metric, by)
    if not numeric:
        ax.set_xticks(list(pos.values()), [tick(v) for v in xs])
    _lines_axes(ax, df[f"{metric}_mean"].to_numpy(dtype=float), x, metric,
                "By automaker" if by == "automaker" else _who(automaker))
    return fig


def _check_one_row_per(groups: Any, x: str) -> None:
    """A line needs one row per value of ``x``: other swept keys must be fixed or split by ``by``."""
    if any(g.duplicated([x]).any() for _, g in groups):
        raise ValueError(f"several rows per value of {x}: pass by= or filter the other swept keys")


def _draw_lines(ax: Any, groups: Any, x: str, pos: dict[Any, float], metric: str, by: str | None) -> None:
    """A line with its band per group, in palette order (fainter bands when several overlap)."""
    alpha = 0.2 if len(groups) == 1 else 0.1
    for i, (value, g) in enumerate(groups):
        _draw_line(ax, g.assign(_x=g[x].map(pos)).sort_values("_x"), metric, PALETTE[i % len(PALETTE)],
                   _line_name(by, value), i == 0, alpha)


def _lines_axes(ax: Any, means: np.ndarray, x: str, metric: str, who: str) -> None:
    ax.set_xlabel(key_label(x))
    ax.set_ylabel(f"mean {metric_label(metric)}")
    if abs(np.nanmax(np.abs(means), initial=0.0)) >= 1000:
        ax.yaxis.set_major_formatter(THOUSANDS)
    ax.set_title(f"{who}: mean {METRIC_LABELS.get(metric, (metric,))[0]} and 95% CI "
                 f"against {x.split('.')[-1]}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, framealpha=0.9)


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


def _automakers(summary: pd.DataFrame) -> list[str]:
    """Whose figures: "all" first, at most ``MAX_PANELS``."""
    names = list(dict.fromkeys(summary["automaker"].astype(str))) if "automaker" in summary.columns else ["all"]
    return sorted(names, key=lambda a: a != "all")[:MAX_PANELS]


def _one_key_figures(summary: pd.DataFrame, x: str, metric: str, automakers: list[str]) -> list[Plot]:
    """A line with its band per automaker, and one figure comparing them."""
    label = metric_label(metric)
    out = [Plot(f"sweep_{slug(a)}", f"{a}: mean {label} against {x}, with its 95% confidence band.",
                sweep_lines(summary, x, metric, automaker=a)) for a in automakers]
    if len(automakers) > 1 and "automaker" in summary.columns:
        out.append(Plot("sweep_by_automaker", f"Mean {label} against {x}, one line per automaker.",
                        sweep_lines(summary, x, metric, by="automaker")))
    return out


def _heatmaps(sub: pd.DataFrame, x: str, y: str, metric: str, whose: list[str], combo: dict[str, Any]) -> list[Plot]:
    """A heatmap of x and y per automaker in ``whose``, for one combination of the other keys."""
    suffix = ", ".join(f"{k} = {v}" for k, v in combo.items())
    tag = "_".join(slug(f"{k}_{v}") for k, v in combo.items())
    return [Plot(f"sweep_{slug(a)}{'_' + tag if tag else ''}",
                 f"{a}: mean {metric_label(metric)} [95% CI] for each combination of {x} and {y}"
                 + (f" ({suffix})" if suffix else "") + ".",
                 sweep_heatmap(sub, x, y, metric, automaker=a)) for a in whose]


def _grid_figures(summary: pd.DataFrame, keys: Sequence[str], metric: str, automakers: list[str]) -> list[Plot]:
    """Two keys: a heatmap per automaker and lines of the first key by the
    second. More: a heatmap of the first two for each combination of the
    others (at most ``MAX_PANELS``), of all automakers together."""
    x, y, rest = keys[0], keys[1], list(keys[2:])
    lead = "all" if "all" in automakers else automakers[0]
    if not rest:
        return [*_heatmaps(summary, x, y, metric, automakers, {}),
                Plot(f"sweep_lines_{slug(lead)}",
                     f"Mean {metric_label(metric)} against {x}, one line per value of {y}, with 95% confidence bands.",
                     sweep_lines(summary, x, metric, automaker=lead, by=y))]
    return [plot for combo in summary[rest].drop_duplicates().to_dict("records")[:MAX_PANELS]
            for plot in _heatmaps(_where(summary, combo), x, y, metric, [lead], combo)]


def _where(summary: pd.DataFrame, combo: dict[str, Any]) -> pd.DataFrame:
    """The rows with these values of the keys in ``combo``."""
    for k, v in combo.items():
        summary = summary[summary[k] == v]
    return summary


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
    summary = summary.drop_duplicates([*keys, "automaker"] if "automaker" in summary.columns else list(keys))
    automakers = _automakers(summary)
    if len(keys) == 1:
        return _uniquely_named(_one_key_figures(summary, keys[0], metric, automakers))
    return _uniquely_named(_grid_figures(summary, keys, metric, automakers))


def _uniquely_named(plots: list[Plot]) -> list[Plot]:
    stems = unique_stems(p.name for p in plots)
    return [replace(p, name=stem) for p, stem in zip(plots, stems, strict=True)]


__all__ = ["MAX_PANELS", "design_points", "key_label", "labelled_keys", "repeated_points",
           "report_figures",
           "sorted_values", "sweep_heatmap", "sweep_lines", "tick", "with_mean"]
