"""Terminal output: the KPI tables and progress bars (rich).

On a terminal: a boxed table and a progress bar. Piped: the same table as
plain text and no progress bar, so logs and ``| less`` stay clean.

Rich reads square brackets in strings as markup, so every string that comes
from the user (scenario, automaker and stage names, swept keys and values,
file names) goes through :func:`rich.markup.escape`: a name such as ``[/]``
is shown as typed instead of ending the command with a markup error. Numbers
are written by the output package's one formatter.
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .formatting import format_number


def make_console(stream: Any = None) -> Console:
    """A console on ``stream`` (stdout): the terminal's width, or 120 columns when piped."""
    stream = stream or sys.stdout
    return Console(file=stream, highlight=False, soft_wrap=False, width=None if stream.isatty() else 120)


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


def _band(d: dict[str, Any], digits: int = 0, scale: float = 1.0) -> str:
    """The p5-p95 band of single replications (outcomes, not the mean)."""
    if d.get("p5") is None:
        return ""
    return f"\n({_num(d['p5'] * scale, digits)}–{_num(d['p95'] * scale, digits)})"


def kpi_table(summary: dict[str, Any]) -> Table:
    """Per automaker: vehicles lost, stockout days, first stockout, P(stockout), fill rate.
    Under ``--posterior`` each KPI also shows, below the mean and its CI, the
    p5-p95 band of single replications, which holds the parameters'
    uncertainty as well as the simulation's noise."""
    start = date.fromisoformat(summary["start_date"])
    n = summary["replications"]
    posterior = summary.get("posterior")
    t = Table(title=f"{escape(str(summary['scenario']))}: {n} replications, mean [95% CI]"
                    + ("; (p5–p95 of replications)" if posterior else ""),
              title_justify="left")
    if posterior:
        t.caption = (f"with --posterior {escape(str(posterior['directory']))}: each replication drew "
                     f"{', '.join(escape(k) for k in posterior['parameters'])}. [95% CI] is where the mean "
                     "lies (it shrinks with replications); (p5–p95) is where 90% of outcomes fall, "
                     "parameter uncertainty included.")
        t.caption_justify = "left"
    t.add_column("automaker")
    t.add_column("vehicles lost", justify="right")
    t.add_column("stockout days", justify="right")
    t.add_column("first stockout (if any)", justify="right")
    t.add_column("P(stockout)", justify="right")
    t.add_column("fill rate %", justify="right")
    populations = any(n > 1 for n in summary.get("firms", {}).values())
    if populations:  # the share of an entry's firms (lines) stopped on its worst day
        t.add_column("peak lines stopped %", justify="right")
    for name, k in summary["kpis"].items():
        first = k["first_stockout_day"]
        if first["mean"] is None:
            fs = "none"
        elif first["ci95"][0] is None:
            fs = _day(start, first["mean"])
        else:
            lo, hi = _day(start, first["ci95"][0]), _day(start, first["ci95"][1])
            fs = _day(start, first["mean"]) if lo == hi else f"{_day(start, first['mean'])} [{lo[5:]}, {hi[5:]}]"
        p = k["stockout_probability"]
        ps = _mean_ci(p, 2)
        band = _band if posterior else (lambda *_a, **_k: "")
        first_band = ""
        if posterior and first["p5"] is not None:
            first_band = f"\n({_day(start, first['p5'])[5:]}–{_day(start, first['p95'])[5:]})"
        cells = [escape(str(name)), _mean_ci(k["vehicles_lost"]) + band(k["vehicles_lost"]),
                 _mean_ci(k["stockout_days"]) + band(k["stockout_days"]), fs + first_band, ps,
                 _mean_ci(k["fill_rate"], 1, 100.0) + band(k["fill_rate"], 1, 100.0)]
        if populations:
            cells.append(_mean_ci(k["peak_share_stopped"], 0, 100.0) + band(k["peak_share_stopped"], 0, 100.0))
        t.add_row(*cells)
    return t


def licensing_table(summary: dict[str, Any]) -> Table:
    """Per review stage: wait per visit, time-average queue, utilisation."""
    lic = summary["licensing"]
    t = Table(title=f"{escape(str(summary['scenario']))}: review office, "
                    f"{summary['replications']} replications", title_justify="left")
    for c in ("stage", "wait per visit, days (mean; p95)", "queue length [95% CI]", "reviewer utilisation [95% CI]"):
        t.add_column(c, justify="left" if c == "stage" else "right")
    for stage, w in lic.get("stage_wait_days", {}).items():
        q = lic["queue_length"][stage]
        u = lic["reviewer_utilisation"].get(stage)
        wait = "-" if w["mean"] is None else f"{_num(w['mean'], 3)}; {_num(w['p95'], 2)}"
        t.add_row(escape(str(stage)), wait, _mean_ci(q, 2), "inf reviewers" if u is None else _mean_ci(u, 3))
    return t


def licensing_lines(summary: dict[str, Any]) -> list[str]:
    """One line on the licences of a run: applications, share approved, time to decision."""
    lic = summary["licensing"]
    apps = lic["applications"]
    if not apps["mean"]:
        return []
    share = lic["approved_share"]
    dd = lic["decision_days"]
    parts = [f"licensing: {apps['mean']:.1f} applications per replication"]
    if share["mean"] is not None:
        parts.append(f"{100 * share['mean']:.0f}% approved")
    if dd["mean"] is not None:
        parts.append(f"decision in {dd['mean']:.1f} days on average (p95 {dd['p95']:.1f})")
    return [", ".join(parts)]


class ProgressBar:
    """A progress bar with ETA on a terminal; nothing when piped or quiet.

    Use as a context manager; call ``total(n, done)`` once the amount of work
    is known, then ``advance(k)`` as it completes.
    """

    def __init__(self, console: Console, label: str, enabled: bool = True) -> None:
        self._prog: Any = None
        self._task: Any = None
        if enabled and console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._prog = Progress(TextColumn(escape(label)), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                  console=console, transient=True)

    def __enter__(self) -> ProgressBar:
        if self._prog is not None:
            self._prog.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._prog is not None:
            self._prog.stop()

    def total(self, n: int, done: int = 0) -> None:
        """The amount of work (``done`` of it already finished, as on ``--resume``)."""
        if self._prog is not None:
            self._task = self._prog.add_task("work", total=n, completed=done)

    def advance(self, k: int = 1, *_: Any) -> None:
        """``k`` more units done (extra arguments, as executors pass them, are ignored)."""
        if self._prog is not None and self._task is not None:
            self._prog.advance(self._task, k)


def sweep_table(res: Any, max_rows: int = 40) -> Table:
    """Per design point: the swept values and the ``all`` KPIs with CIs."""
    s = res.summary
    t = Table(title="sweep: every automaker together ('all'), mean [95% CI]", title_justify="left")
    for k in res.keys:
        t.add_column(escape(str(k)), justify="right")
    for c in ("vehicles lost", "stockout days", "P(stockout)", "fill rate %"):
        t.add_column(c, justify="right")
    rows = s[s["automaker"] == "all"] if len(s) else s
    for d in rows.head(max_rows).to_dict("records"):
        vals = [escape(f"{d[k]:g}" if isinstance(d[k], float) else str(d[k])) for k in res.keys]
        t.add_row(*vals,
                  _mean_ci({"mean": d["vehicles_lost_mean"], "ci95": [d["vehicles_lost_ci_low"], d["vehicles_lost_ci_high"]]}),
                  _mean_ci({"mean": d["stockout_days_mean"], "ci95": [d["stockout_days_ci_low"], d["stockout_days_ci_high"]]}),
                  _num(d["stockout_probability_mean"], 2),
                  _mean_ci({"mean": d["fill_rate_mean"], "ci95": [d["fill_rate_ci_low"], d["fill_rate_ci_high"]]}, 1, 100.0))
    if len(rows) > max_rows:
        t.caption = f"first {max_rows} of {len(rows)} points; all in summary.parquet"
    return t


def compare_table(df: Any, a: str, b: str) -> Table:
    """Per automaker and metric: both means and the paired difference B - A with its CI."""
    t = Table(title=f"B - A with common random numbers; A = {escape(a)}; B = {escape(b)}",
              title_justify="left")
    for c, j in (("automaker", "left"), ("metric", "left"), ("A mean", "right"), ("B mean", "right"),
                 ("B - A [95% CI]", "right"), ("CI width: independent / paired", "right")):
        t.add_column(c, justify=j)  # type: ignore[arg-type]
    for r in df.itertuples(index=False):
        digits = 3 if r.metric == "fill_rate" else 1
        ci = _mean_ci({"mean": None if r.diff != r.diff else r.diff,
                       "ci95": [None if r.ci_low != r.ci_low else r.ci_low, None if r.ci_high != r.ci_high else r.ci_high]}, digits)
        ratio = "-" if r.width_ratio != r.width_ratio else ("inf" if r.width_ratio == float("inf") else f"{r.width_ratio:.1f}x")
        t.add_row(escape(str(r.automaker)), escape(str(r.metric)), _num(r.mean_a, digits),
                  _num(r.mean_b, digits), ci, ratio)
    return t
