"""Terminal tables of experiments: sweeps, sensitivity indices, scenario
discovery and paired comparisons (the run's tables are in ``console.py``,
whose number helpers these share, so every table reads the same units the
same way). Every user string goes through ``rich.markup.escape``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.markup import escape
from rich.table import Table

from ..experiment.rounding import digits_for
from .console import _day, _mean_ci, _num

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
    for k in res.keys:  # a narrow terminal wraps a long key over lines rather than cutting it
        t.add_column(escape(str(k)), justify="right", overflow="fold")
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


__all__ = ["KPI_FORMATS", "RUN_KPIS", "compare_table", "discovery_lines", "sensitivity_table", "sweep_table"]
