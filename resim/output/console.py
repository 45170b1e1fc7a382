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

from ..rounding import digits_for
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


#: How each KPI reads in run, sweep and compare tables: label with unit, decimals, scale.
KPI_FORMATS: dict[str, tuple[str, int, float]] = {
    "vehicles_lost": ("vehicles lost", 0, 1.0),
    "shortfall_t": ("magnet shortfall (t)", 1, 1.0),
    "stockout_days": ("stockout days", 0, 1.0),
    "first_stockout_day": ("first stockout (day, censored)", 0, 1.0),
    "stockout_probability": ("P(stockout)", 2, 1.0),
    "longest_stoppage_days": ("longest stoppage (days)", 0, 1.0),
    "fill_rate": ("fill rate %", 1, 100.0),
    "extra_cost_usd": ("extra cost (USD)", 0, 1.0),
    "peak_share_stopped": ("peak lines stopped %", 0, 100.0),
    "firms_ever_stopped": ("firms ever stopped", 1, 1.0),
    "first_firm_stockout_day": ("first firm stockout (day, censored)", 0, 1.0),
}


def _kpi_format(metric: str) -> tuple[str, int, float]:
    return KPI_FORMATS.get(metric, (metric, 2, 1.0))


def _or_none(x: Any) -> float | None:
    return None if x is None or x != x else float(x)


def _key_values(res: Any) -> dict[str, Any]:
    """Per swept key, how to print its values: a grid's as given; a sampled
    design's rounded to the digits its range means (0.255, not 0.254956)."""
    fmt: dict[str, Any] = {}
    points = getattr(res, "points", None)
    for k in res.keys:
        col = points[k] if points is not None and k in points else res.summary[k]
        if getattr(res, "sampler", "grid") != "grid" and col.dtype.kind == "f":
            d = digits_for(float(col.min()), float(col.max()))
            fmt[k] = lambda v, d=d: f"{v:,.{d}f}"
        else:
            fmt[k] = lambda v: f"{v:g}" if isinstance(v, float) else str(v)
    return fmt


def sweep_table(res: Any, max_rows: int = 40) -> Table:
    """Per design point: the swept values and the ``all`` KPIs with CIs."""
    s = res.summary
    t = Table(title="sweep: every automaker together ('all'), mean [95% CI]", title_justify="left")
    for k in res.keys:
        t.add_column(escape(str(k)), justify="right")
    for c in ("vehicles lost", "stockout days", "P(stockout)", "fill rate %"):
        t.add_column(c, justify="right")
    fmt = _key_values(res)
    rows = s[s["automaker"] == "all"] if len(s) else s
    for d in rows.head(max_rows).to_dict("records"):
        vals = [escape(fmt[k](d[k])) for k in res.keys]
        t.add_row(*vals,
                  _mean_ci({"mean": d["vehicles_lost_mean"], "ci95": [d["vehicles_lost_ci_low"], d["vehicles_lost_ci_high"]]}),
                  _mean_ci({"mean": d["stockout_days_mean"], "ci95": [d["stockout_days_ci_low"], d["stockout_days_ci_high"]]}),
                  _num(d["stockout_probability_mean"], 2),
                  _mean_ci({"mean": d["fill_rate_mean"], "ci95": [d["fill_rate_ci_low"], d["fill_rate_ci_high"]]}, 1, 100.0))
    if len(rows) > max_rows:
        t.caption = f"first {max_rows} of {len(rows)} points; all in summary.parquet"
    return t


def sensitivity_table(frame: Any, kpi: str = "vehicles_lost", automaker: str | None = None) -> Table:
    """Sobol S1 and ST (or Morris mu* and sigma) of one KPI, per automaker and
    swept key, most influential first, with 95% bootstrap CIs."""
    f = frame[frame["kpi"] == kpi]
    if automaker is not None:
        f = f[f["automaker"] == automaker]
    method = str(f["method"].iloc[0]) if len(f) else "sobol"
    label, digits, scale = _kpi_format(kpi)
    if method == "sobol":
        title = f"Sobol indices of {label}: share of its variance over the design, [95% CI]"
        cols, lead, fmt = ("S1 (alone)", "ST (with interactions)"), "ST", (2, 1.0)
        shown = ("S1", "ST")
    else:
        title = f"Morris effects on {label}: change across a key's whole range, [95% CI]"
        cols, lead, fmt = ("mu*", "sigma (interactions)"), "mu_star", (digits, scale)
        shown = ("mu_star", "sigma")
    t = Table(title=title, title_justify="left")
    for c, j in (("automaker", "left"), ("key", "left"), *((c, "right") for c in cols)):
        t.add_column(c, justify=j)  # type: ignore[arg-type]
    for who in dict.fromkeys(f["automaker"]):
        g = f[f["automaker"] == who]
        order = g[g["index"] == lead].sort_values("value", ascending=False)["parameter"]
        for key in order:
            cells = []
            for idx in shown:
                r = g[(g["parameter"] == key) & (g["index"] == idx)].iloc[0]
                cells.append(_mean_ci({"mean": r["value"], "ci95": [_or_none(r["ci_low"]), _or_none(r["ci_high"])]},
                                      *fmt) if r["ci_low"] == r["ci_low"] else _num(r["value"] * fmt[1], fmt[0]))
            t.add_row(escape(str(who)), escape(str(key)), *cells)
    if len(f):
        t.caption = (f"{int(f['points'].iloc[0])} points ({int(f['samples'].iloc[0])} "
                     f"{'base samples' if method == 'sobol' else 'trajectories'}); all KPIs in sensitivity.parquet")
    return t


#: The KPIs ``resim run`` prints, which ``resim compare`` prints too (all are in --json and compare.parquet).
RUN_KPIS = ("vehicles_lost", "stockout_days", "first_stockout_day", "stockout_probability", "fill_rate")


def compare_table(df: Any, a: str, b: str, metrics: Any = None) -> Table:
    """Per automaker and KPI: the pairs (n), both means and the paired
    difference B - A with its CI, in the units and formats of ``resim run``
    (first stockouts as dates, their difference in days). ``metrics``: the
    KPIs to show (default every row of ``df``)."""
    t = Table(title=f"B - A with common random numbers; A = {escape(a)}; B = {escape(b)}",
              title_justify="left")
    for c, j in (("automaker", "left"), ("KPI", "left"), ("n", "right"), ("A", "right"), ("B", "right"),
                 ("B - A [95% CI]", "right"), ("CI width: indep. / paired", "right")):
        t.add_column(c, justify=j)  # type: ignore[arg-type]
    attrs = getattr(df, "attrs", {}) or {}
    start = date.fromisoformat(attrs["start_date"]) if attrs.get("start_date") else None
    censored = False
    for r in df.itertuples(index=False):
        if metrics is not None and r.metric not in metrics:
            continue
        label, digits, scale = _kpi_format(str(r.metric))
        days = str(r.metric) in ("first_stockout_day", "first_firm_stockout_day")
        censored |= days
        ci = _mean_ci({"mean": _or_none(r.diff), "ci95": [_or_none(r.ci_low), _or_none(r.ci_high)]}, digits, scale)
        ratio = "-" if r.width_ratio != r.width_ratio else ("inf" if r.width_ratio == float("inf") else f"{r.width_ratio:.1f}x")
        n = getattr(r, "n", None)
        if days and start is not None:
            label = label.replace("(day, censored)", "(censored)")
            side = [_day(start, _or_none(v)) for v in (r.mean_a, r.mean_b)]
            ci += " days"
        else:
            side = [_num(None if _or_none(v) is None else v * scale, digits) for v in (r.mean_a, r.mean_b)]
        t.add_row(escape(str(r.automaker)), escape(label), "-" if n is None or n != n else f"{int(n)}", *side, ci,
                  ratio)
    notes = []
    if censored:
        notes.append("first stockout: the mean of min(first stockout day, horizon) - a replication without one "
                     "counts as the horizon, so no pair is dropped; Kaplan-Meier medians in compare.parquet")
    if metrics is not None:
        notes.append("every KPI in --json and compare.parquet")
    if notes:
        t.caption = "; ".join(notes)
        t.caption_justify = "left"
    return t


def discovery_lines(found: Any, rows: int = 8) -> list[str]:
    """The coverage/density trade-off along PRIM's trajectory (a few boxes), then the chosen box in words."""
    boxes = found.trajectory.boxes
    step = max(1, len(boxes) // rows)
    picks = sorted({*range(0, len(boxes), step), len(boxes) - 1, found.chosen})
    lines = ["PRIM trajectory (box: coverage, density, keys restricted):"]
    for i in picks:
        b = boxes[i]
        mark = "  <- chosen" if i == found.chosen else ""
        lines.append(f"  {i:>3}: coverage {b.coverage:4.0%}, density {b.density:4.0%}, "
                     f"{len(b.restricted)} key(s){mark}")
    return [*lines, escape(found.words())]
