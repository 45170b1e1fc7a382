"""Terminal output: the run's KPI and licensing tables (rich), and the
sweep and comparison tables.

The run tables lay themselves out for the width they are printed at: each
cell is the mean with its 95% confidence interval beside it when there is
room, stacked below it when not, and at 80 columns the least needed columns
are left out (saying which) before any cell would wrap. A terminal gets its
own width; piped output gets ``COLUMNS`` or 120 columns and no progress bar,
so logs and ``| less`` stay clean.

Rich reads square brackets in strings as markup, so every string that comes
from the user (scenario, automaker and stage names, swept keys and values,
file names) goes through :func:`rich.markup.escape`: a name such as ``[/]``
is shown as typed instead of ending the command with a markup error. Numbers
are written by the output package's one formatter, in the same units
everywhere: vehicles and days whole (large counts as 285k, 1.66M),
probabilities to two places, shares of demand and of firms in %.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from ..model.kpis import BY_NAME, Kpi
from .formatting import TERMINAL_KPIS, format_number, heading, two_lines
from .progress import ProgressBar

#: Piped output's width when ``COLUMNS`` does not say.
PIPE_WIDTH = 120


def make_console(stream: Any = None) -> Console:
    """A console on ``stream`` (stdout): the terminal's width, or ``COLUMNS``
    (else 120) columns when piped."""
    stream = stream or sys.stdout
    width = None
    if not stream.isatty():
        cols = os.environ.get("COLUMNS", "")
        width = int(cols) if cols.isdigit() and int(cols) > 0 else PIPE_WIDTH
    return Console(file=stream, highlight=False, soft_wrap=False, width=width)


def _num(x: float | None, digits: int = 0) -> str:
    """Compact numbers for a narrow table: 1.66M, 285k, 95.0; '-' when missing (NaN too)."""
    return format_number(x, digits, short_from=1e4, missing="-")


def _mean_ci(d: dict[str, Any], digits: int = 0, scale: float = 1.0) -> str:
    if d["mean"] is None:
        return "-"
    lo, hi = d["ci95"]
    m = d["mean"] * scale
    if lo is None:
        return _num(m, digits)
    return f"{_num(m, digits)} [{_num(lo * scale, digits)}, {_num(hi * scale, digits)}]"


def _day(start: date, d: float | None) -> str:
    return "-" if d is None else (start + timedelta(days=int(d))).isoformat()


# ---------------------------------------------------------------- tables that fit
@dataclass(frozen=True)
class Cell:
    """One table cell: the mean, its interval (``[lo, hi]``) and, under
    ``--posterior``, the p5-p95 band of single replications (``(a–b)``)."""

    main: str
    ci: str = ""
    band: str = ""

    def text(self, stacked: bool) -> str:
        lines = (self.main, self.ci, self.band) if stacked else (" ".join(filter(None, (self.main, self.ci))), self.band)
        return "\n".join(filter(None, lines))


@dataclass(frozen=True)
class Column:
    """A column: its heading on one line and over two (for stacked cells)."""

    key: str
    heading: str
    short: str
    justify: str = "right"


@dataclass
class FittedTable:
    """A table laid out for the width it is printed at.

    Tried in turn: mean and interval side by side; the interval stacked
    below the mean; the same with one space between columns; then the
    columns in ``drop`` left out one by one (the caption says which), so
    that no cell wraps. Only if the first column's names are still too long
    are they cut short with an ellipsis. A rich renderable: print it."""

    title: str
    columns: list[Column]
    rows: list[dict[str, Cell]]
    caption: str = ""
    drop: Sequence[str] = ()
    section_before: int | None = None  # row index of the total row (a gap above it)
    layouts: Sequence[tuple[bool, int]] = field(default=((False, 1), (True, 1), (True, 0)))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Table]:
        yield self.table(options.max_width, console)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table(options.max_width, console))

    def table(self, width: int, console: Console | None = None) -> Table:
        """The first layout whose natural width is at most ``width``."""
        console = console or Console(width=max(width, 20))
        wide = console.options.update_width(10_000)
        table = None
        for stacked, gap, dropped in self._candidates():
            table = self._build(stacked, gap, dropped)
            if Measurement.get(console, wide, table).maximum <= width:
                return table
        assert table is not None
        return table

    def _candidates(self) -> list[tuple[bool, int, list[str]]]:
        """(stacked, gap, dropped) in the order tried: every layout, then the
        last one with one more droppable column left out each time."""
        droppable = [k for k in self.drop if any(c.key == k for c in self.columns)]
        first = [(stacked, gap, []) for stacked, gap in self.layouts]
        stacked, gap = self.layouts[-1]
        return first + [(stacked, gap, droppable[:n]) for n in range(1, len(droppable) + 1)]

    def _caption(self, dropped: Sequence[str]) -> str | None:
        if not dropped:
            return self.caption or None
        names = ", ".join(c.heading for c in self.columns if c.key in dropped)
        return (f"{self.caption}\n" if self.caption else "") + (
            f"Left out at this width: {names} (all in summary.json; widen the terminal to see them).")

    def _build(self, stacked: bool, gap: int, dropped: Sequence[str]) -> Table:
        t = Table(title=self.title, title_justify="left", caption=self._caption(dropped), caption_justify="left",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, gap),
                  show_lines=stacked)
        shown = [c for c in self.columns if c.key not in dropped]
        for c in shown:
            t.add_column(c.short if stacked else c.heading, justify=c.justify,  # type: ignore[arg-type]
                         no_wrap=True, overflow="ellipsis")
        self._add_rows(t, shown, stacked)
        return t

    def _add_rows(self, t: Table, shown: Sequence[Column], stacked: bool) -> None:
        """The rows, a gap above the total row (side-by-side layouts only); "-" for a missing cell."""
        for i, row in enumerate(self.rows):
            if i == self.section_before and not stacked:
                t.add_section()
            t.add_row(*[row[c.key].text(stacked) if c.key in row else "-" for c in shown])


# ---------------------------------------------------------------- the run's tables
def _ci(d: dict[str, Any], digits: int, scale: float = 1.0) -> Cell:
    """A KPI block of summary.json as a cell: mean, [lo, hi], and (p5–p95)."""
    if d.get("mean") is None:
        return Cell("-")
    lo, hi = (d.get("ci95") or [None, None])[:2]
    ci = "" if lo is None else f"[{_num(lo * scale, digits)}, {_num(hi * scale, digits)}]"
    return Cell(_num(d["mean"] * scale, digits), ci)


def _with_band(cell: Cell, d: dict[str, Any], digits: int, scale: float = 1.0) -> Cell:
    if d.get("p5") is None:
        return cell
    return Cell(cell.main, cell.ci, f"({_num(d['p5'] * scale, digits)}–{_num(d['p95'] * scale, digits)})")


def _month_days(start: date, a: float, b: float) -> tuple[str, str]:
    """Two days of the run as month-day (``06-18``)."""
    return _day(start, a)[5:], _day(start, b)[5:]


def _first_ci(start: date, main: str, ci95: Sequence[float | None] | None) -> str:
    """The interval of a first stockout's mean as month-days; none when it is that one day."""
    lo, hi = (ci95 or [None, None])[:2]
    if lo is None:
        return ""
    a, b = _month_days(start, lo, hi)
    return "" if a == b == main[5:] else f"[{a}, {b}]"


def _first_band(start: date, d: dict[str, Any]) -> str:
    if d.get("p5") is None:
        return ""
    a, b = _month_days(start, d["p5"], d["p95"])
    return "" if a == b else f"({a}–{b})"


def _first_stockout(start: date, d: dict[str, Any], band: bool) -> Cell:
    """A first stockout as the date of its mean, its CI and (``band``) p5–p95 as month-days."""
    if d.get("mean") is None:
        return Cell("none")
    main = _day(start, d["mean"])
    return Cell(main, _first_ci(start, main, d.get("ci95")), _first_band(start, d) if band else "")


#: How a censored KPI's column reads in the run table: its cells are the
#: runs with one (as dates), and "none" when no run has one.
RUN_CENSORED = "if any"
#: Left out in this order when the table would not fit otherwise.
KPI_DROP_ORDER = tuple(k.name for k in sorted((k for k in TERMINAL_KPIS if k.drop_rank), key=lambda k: k.drop_rank))


def run_kpis(summary: dict[str, Any]) -> list[Kpi]:
    """The run table's KPIs: the terminal ones (a population's only when an
    entry has firms), each one undefined for every entry replaced by its
    stand-in (buyers given in tonnes have no vehicle count: the tonnes they lack)."""
    populations = any(k > 1 for k in summary.get("firms", {}).values())
    shown = [_or_stand_in(summary, k) for k in TERMINAL_KPIS]
    return [k for k in shown if populations or not k.population]


def _or_stand_in(summary: dict[str, Any], kpi: Kpi) -> Kpi:
    """``kpi``, or its stand-in where no entry has a value of it."""
    return BY_NAME[kpi.stand_in] if kpi.stand_in and _undefined(summary, kpi.name) else kpi


def _undefined(summary: dict[str, Any], name: str) -> bool:
    """Whether no automaker entry has a mean of KPI ``name``."""
    return all(block[name].get("mean") is None for block in summary["kpis"].values())


def _run_cell(kpi: Kpi, d: dict[str, Any], start: date, band: bool) -> Cell:
    """A KPI's cell: a first-event day as a date; a share of replications
    without the band of single replications (each is 0 or 1)."""
    if kpi.censored:
        return _first_stockout(start, d, band)
    cell = _ci(d, kpi.digits, kpi.scale)
    return _with_band(cell, d, kpi.digits, kpi.scale) if band and kpi.occurrence_of is None else cell


def _run_title(summary: dict[str, Any]) -> tuple[str, str]:
    title = f"{escape(str(summary['scenario']))}: {summary['replications']} replications, mean [95% CI]"
    posterior = summary.get("posterior")
    if not posterior:
        return title, ""
    return title + "; (p5–p95 of replications)", (
        f"with --posterior {escape(str(posterior['directory']))}: each replication drew "
        f"{', '.join(escape(k) for k in posterior['parameters'])}. [95% CI] is where the mean "
        "lies (it shrinks with replications); (p5–p95) is where 90% of outcomes fall, "
        "parameter uncertainty included.")


def kpi_table(summary: dict[str, Any]) -> FittedTable:
    """Per automaker: vehicles lost, stockout days, first stockout, P(stockout),
    fill rate, and for populations the peak share of lines stopped; each the
    mean with its 95% CI. Under ``--posterior`` each KPI also shows, below,
    the p5-p95 band of single replications, which holds the parameters'
    uncertainty as well as the simulation's noise."""
    start = date.fromisoformat(summary["start_date"])
    band = bool(summary.get("posterior"))
    kpis = run_kpis(summary)
    columns = [Column("automaker", "automaker", "automaker", "left"),
               *(Column(k.name, heading(k, RUN_CENSORED), two_lines(k.heading)) for k in kpis)]
    rows = [{"automaker": Cell(escape(str(name))),
             **{k.name: _run_cell(k, block[k.name], start, band) for k in kpis if k.name in block}}
            for name, block in summary["kpis"].items()]
    names = list(summary["kpis"])
    title, caption = _run_title(summary)
    return FittedTable(title, columns, rows, caption, KPI_DROP_ORDER, names.index("all") if "all" in names else None)


def licensing_table(summary: dict[str, Any]) -> FittedTable:
    """Per review stage: wait per visit (mean; p95), time-average queue, utilisation."""
    lic = summary["licensing"]
    columns = [Column("stage", "stage", "stage", "left"),
               Column("wait", "wait per visit, days (mean; p95)", "wait per visit,\ndays (mean; p95)"),
               Column("queue", "queue length [95% CI]", "queue\nlength"),
               Column("util", "reviewer utilisation [95% CI]", "reviewer\nutilisation")]
    rows = []
    for stage, w in lic.get("stage_wait_days", {}).items():
        q = lic["queue_length"][stage]
        u = lic["reviewer_utilisation"].get(stage)
        wait = Cell("-") if w["mean"] is None else Cell(f"{_num(w['mean'], 2)}; {_num(w['p95'], 2)}")
        rows.append({"stage": Cell(escape(str(stage))), "wait": wait, "queue": _ci(q, 2),
                     "util": Cell("inf reviewers") if u is None else _ci(u, 3)})
    return FittedTable(f"{escape(str(summary['scenario']))}: review office, {summary['replications']} "
                       "replications", columns, rows)


def licensing_lines(summary: dict[str, Any]) -> list[str]:
    """One line on the licences of a run: applications, share approved, time to decision."""
    lic = summary["licensing"]
    apps = lic["applications"]
    if not apps["mean"]:
        return []
    share = lic["approved_share"]
    dd = lic["decision_days"]
    parts = [f"licensing: {_num(apps['mean'], 1)} applications per replication"]
    if share["mean"] is not None:
        parts.append(f"{100 * share['mean']:.0f}% approved (mean of replications)")
    if dd["mean"] is not None:
        parts.append(f"decision in {_num(dd['mean'], 1)} days on average (p95 {_num(dd['p95'], 1)})")
    return [", ".join(parts)]



__all__ = ["KPI_DROP_ORDER", "RUN_CENSORED", "Cell", "Column", "FittedTable", "ProgressBar", "kpi_table",
           "licensing_lines", "licensing_table", "make_console", "run_kpis"]
