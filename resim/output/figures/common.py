"""What every figure shares: a pyplot-free figure factory, colours, axis helpers, saving.

Every figure is a ``matplotlib.figure.Figure`` on its own Agg canvas, so
nothing touches pyplot's global state: figures can be made in a notebook, a
worker process or a test without a display and without leaking open figures.
Because pyplot is never imported, IPython's inline backend never registers
its figure printer, and a bare Figure would show in Jupyter as the text
``<Figure size 990x275 with 1 Axes>``. So figures are :class:`ShownFigure`,
which renders itself as PNG (``_repr_png_``): it shows in a fresh kernel
without ``%matplotlib inline``, and, not being one of pyplot's figures, once.
Numbers on figures go through the output package's one formatter
(:func:`resim.output.formatting.compact`), so they read as in the tables.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ...experiment.store import atomic_write
from ..formatting import METRIC_LABELS, compact, format_number
from ..rundata import RunData

DPI = 110
# boxplot(vert=False) became boxplot(orientation="horizontal") in matplotlib 3.10
HORIZONTAL: dict[str, Any] = (
    {"orientation": "horizontal"}
    if tuple(int(p) for p in re.findall(r"\d+", matplotlib.__version__)[:2]) >= (3, 10)
    else {"vert": False}
)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
APPROVED, REJECTED = "#2ca02c", "#d62728"
POLICY_COLOUR = "#6a3d9a"
STAGE_PALETTE = ("#9467bd", "#e377c2", "#17becf", "#bcbd22", "#8c564b", "#1f77b4")

#: Axis ticks: whole numbers with separators up to a million, then 1.5M.
THOUSANDS = FuncFormatter(lambda v, _pos: format_number(v, 3, short_from=1e6, trim=True))


class ShownFigure(Figure):
    """A Figure that Jupyter displays as PNG without pyplot or ``%matplotlib inline``.

    IPython asks an object for ``_repr_png_`` when no printer is registered
    for its type; with the inline backend active its Figure printer is found
    first (this is a Figure), so either way the figure is drawn once."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=DPI)
        return buf.getvalue()


def new_figure(width: float = 9.0, height: float = 5.0) -> Figure:
    """A Figure with its own Agg canvas and constrained layout (no pyplot)."""
    fig = ShownFigure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def empty_figure(title: str, message: str) -> Figure:
    """A titled figure that says why there is nothing to draw (rather than blank axes)."""
    fig = new_figure(8, 3)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=11)
    return fig


def _date_label(value: float, pos: int | None) -> str:
    d = mdates.num2date(value)
    if pos == 0 or d.month == 1 and d.day == 1:
        return d.strftime("%b\n%Y") if d.day == 1 else d.strftime("%d %b\n%Y")
    return d.strftime("%b") if d.day == 1 else d.strftime("%d %b")


def date_axis(ax: Any) -> None:
    """Month ticks on a time axis, with the year on the first tick and on January."""
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=10))
    ax.xaxis.set_major_formatter(FuncFormatter(_date_label))


def mark_events(ax: Any, run: RunData, label: bool = True) -> None:
    """Dashed vertical lines at policy changes; labelled at the top of the axis."""
    for i, (day, text) in enumerate(run.events):
        when = run.day_to_datetime(day)
        ax.axvline(when, color=POLICY_COLOUR, linestyle="--", linewidth=1.2,
                   label="policy change" if i == 0 else None)
        if label:
            ax.annotate(text, xy=(when, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3, -3 - 11 * (i % 3)), textcoords="offset points",
                        fontsize=8, color=POLICY_COLOUR, va="top", ha="left",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})


#: Calendar months with less of their days in the run than this are not drawn.
MIN_COVERAGE = 0.5
PARTIAL_HATCH = "///"


def month_coverage(run: RunData, months: pd.PeriodIndex) -> np.ndarray:
    """The share of each calendar month's days that lie inside the run
    (from the start date, for the horizon): 1 for a whole month, less for
    the first and last months of a run that does not start on the 1st."""
    start = pd.Timestamp(run.start_date)
    end = start + pd.Timedelta(days=math.ceil(run.horizon_days))
    first = months.to_timestamp(how="start")
    after = (months + 1).to_timestamp(how="start")
    days = (np.minimum(after, end) - np.maximum(first, start)).days.to_numpy()
    return np.clip(days, 0, None) / months.days_in_month.to_numpy()


def per_whole_month(values: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """Monthly totals as whole-month rates: a month the run only partly covers
    is scaled up from its simulated days (so it does not read as a collapse),
    and one covered less than ``MIN_COVERAGE`` is 0 (not drawn: a few days
    of weekly shipments say little about a month)."""
    out = np.zeros(len(values))
    keep = coverage >= MIN_COVERAGE
    out[keep] = np.asarray(values, dtype=float)[keep] / coverage[keep]
    return out


def month_bars(ax: Any, x: np.ndarray, heights: np.ndarray, coverage: np.ndarray, label: str,
               bottom: np.ndarray | None = None, **style: Any) -> None:
    """Monthly bars, those of partly simulated months hatched and lighter
    (drawn apart, so the legend shows the whole months' style)."""
    partial = coverage < 1.0
    base = np.zeros(len(x)) if bottom is None else bottom
    ax.bar(x[~partial], heights[~partial], bottom=base[~partial], label=label, **style)
    if partial.any():
        ax.bar(x[partial], heights[partial], bottom=base[partial], hatch=PARTIAL_HATCH,
               **{**style, "alpha": 0.55})


def note_partial_months(ax: Any, months: pd.PeriodIndex, coverage: np.ndarray) -> None:
    """Legend entries for the hatched months, and the months too short to draw."""
    x0 = months[:1].to_timestamp().to_numpy()
    if ((coverage < 1.0) & (coverage >= MIN_COVERAGE)).any():
        ax.bar(x0, [0.0], width=0, color="white", edgecolor="0.35", hatch=PARTIAL_HATCH,
               label="partial month, scaled\nto a whole month")
    short = [f"{m.strftime('%b %Y')} ({round(c * m.days_in_month)} of {m.days_in_month} days)"
             for m, c in zip(months, coverage, strict=True) if 0 < c < MIN_COVERAGE]
    if short:
        ax.bar(x0, [0.0], width=0, color="none", edgecolor="none",
               label="not drawn, too few days:\n" + "\n".join(short))


def legend_right(ax: Any, **kwargs: Any) -> None:
    """A legend outside the axes on the right, so it hides neither data nor policy labels."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8,
              framealpha=0.9, **kwargs)


def headroom(ax: Any, frac: float = 0.3) -> None:
    """Raise the top of the y axis so an upper legend does not cover the data."""
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + frac * (hi - lo))


def slug(name: str) -> str:
    """A file-name stem from a name: ``EU automaker`` -> ``eu_automaker``."""
    s = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()
    return s or "automaker"


def unique_stems(stems: Iterable[str]) -> list[str]:
    """The stems, with ``_2``, ``_3``... appended to repeats so that each names its own file.

    Two automakers whose names slug alike (``EU maker``, ``EU-maker``) would
    otherwise share one PNG, and the report would show one of them twice.
    """
    taken: set[str] = set()
    out = []
    for stem in stems:
        name, i = stem, 1
        while name in taken:
            i += 1
            name = f"{stem}_{i}"
        taken.add(name)
        out.append(name)
    return out


@dataclass(frozen=True)
class Plot:
    """A rendered figure: file stem, caption, and the Figure."""

    name: str
    caption: str
    figure: Figure


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write a figure as PNG (atomically) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI))
    return path


def save_plots(plots: Sequence[Plot], out_dir: Path, own: Sequence[str] = ()
               ) -> list[tuple[Path, Plot]]:
    """Write each plot as ``out_dir/plots/<name>.png``; return (path, plot) pairs.

    Files matching the glob patterns ``own`` that these plots do not write
    (an earlier run's figures) are removed, so ``plots/`` matches the files
    next to it; anything else in ``plots/`` is left alone.
    """
    names = [p.name for p in plots]
    if len(set(names)) != len(names):
        raise ValueError(f"two figures would share a file name: {sorted(names)}")
    plot_dir = out_dir / "plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    written = [(save_figure(p.figure, plot_dir / f"{p.name}.png"), p) for p in plots]
    _remove_stale(plot_dir, own, {path for path, _ in written})
    return written


def _remove_stale(plot_dir: Path, own: Sequence[str], keep: set[Path]) -> None:
    """Remove the files matching ``own`` that were not written now (an earlier run's figures)."""
    for pattern in own:
        for old in plot_dir.glob(pattern):
            if old not in keep:
                old.unlink()


__all__ = [
    "APPROVED", "DPI", "HORIZONTAL", "METRIC_LABELS", "PALETTE", "POLICY_COLOUR", "REJECTED",
    "MIN_COVERAGE", "STAGE_PALETTE", "THOUSANDS", "Plot", "ShownFigure", "compact", "date_axis", "empty_figure", "headroom",
    "legend_right", "mark_events", "month_bars", "month_coverage", "new_figure", "note_partial_months", "per_whole_month", "save_figure", "save_plots", "slug",
    "unique_stems",
]
