"""Terminal tables of experiments: sweeps, sensitivity indices, scenario
discovery and paired comparisons (the run's tables are in ``console.py``,
whose number helpers these share, so every table reads the same units the
same way). Every user string goes through ``rich.markup.escape``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from rich.markup import escape
from rich.table import Table

from ..experiment.rounding import digits_for
from ..model.kpis import BY_NAME, Kpi
from ..model.price_kpis import headline_outcomes
from .console import _day, _mean_ci, _num
from .formatting import HEADLINE_KPIS, heading, ratio_text

#: How a censored KPI's heading reads where each replication counts (sensitivity, comparisons).
CENSORED = "day, censored"
#: The KPIs ``resim run`` prints, which ``resim compare`` prints too (all are in --json and compare.parquet).
RUN_KPIS = tuple(k.name for k in HEADLINE_KPIS)
#: The sweep table's KPIs: each point's mean (a first-event day's mean over only
#: the runs with one would mislead across points, so none is shown).
SWEEP_KPIS = tuple(k for k in HEADLINE_KPIS if not k.censored)


def _kpi_format(metric: str, censored: str = CENSORED) -> tuple[str, int, float]:
    """Heading, decimals and scale of a KPI (a name that is none: as given, two decimals)."""
    kpi = BY_NAME.get(metric)
    return (heading(kpi, censored), kpi.digits, kpi.scale) if kpi else (metric, 2, 1.0)


def _or_none(x: Any) -> float | None:
    return None if x is None or x != x else float(x)


def _key_values(res: Any) -> dict[str, Any]:
    """Per swept key, how to print its values: a grid's as given; a sampled
    design's rounded to the digits its range means (0.255, not 0.254956)."""
    points = getattr(res, "points", None)
    sampled = getattr(res, "sampler", "grid") != "grid"
    return {k: _value_format(points[k] if points is not None and k in points else res.summary[k], sampled)
            for k in res.keys}


def _value_format(col: Any, sampled: bool) -> Any:
    """How to print one key's values (``col``: all of them)."""
    if sampled and col.dtype.kind == "f":
        d = digits_for(float(col.min()), float(col.max()))
        return lambda v: f"{v:,.{d}f}"
    return _as_given


def _as_given(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _sweep_cell(kpi: Kpi, d: dict[str, Any]) -> str:
    """A point's mean with its CI; a share of replications alone, to keep the
    table narrow (its interval is in summary.parquet)."""
    mean = d[f"{kpi.name}_mean"]
    if kpi.occurrence_of:
        return _num(mean, kpi.digits)
    return _mean_ci({"mean": mean, "ci95": [d[f"{kpi.name}_ci_low"], d[f"{kpi.name}_ci_high"]]},
                    kpi.digits, kpi.scale)


def _point_rows(t: Table, res: Any, rows: Any, kpis: Sequence[Kpi]) -> None:
    fmt = _key_values(res)
    for d in rows.to_dict("records"):
        t.add_row(*(escape(fmt[k](d[k])) for k in res.keys), *(_sweep_cell(k, d) for k in kpis))


def sweep_table(res: Any, max_rows: int = 40) -> Table:
    """Per design point: the swept values and the ``all`` KPIs with CIs (with
    ``[markets]``, each item's spot peak over base outside China too)."""
    s = res.summary
    t = Table(title="sweep: every automaker together ('all'), mean [95% CI]", title_justify="left")
    for k in res.keys:  # a narrow terminal wraps a long key over lines rather than cutting it
        t.add_column(escape(str(k)), justify="right", overflow="fold")
    kpis = [*SWEEP_KPIS, *headline_outcomes(s.columns)]
    for c in (k.heading for k in kpis):
        t.add_column(escape(c), justify="right")
    rows = s[s["automaker"] == "all"] if len(s) else s
    _point_rows(t, res, rows.head(max_rows), kpis)
    if len(rows) > max_rows:
        t.caption = f"first {max_rows} of {len(rows)} points; all in summary.parquet"
    return t


@dataclass(frozen=True)
class _IndexView:
    """How the table shows one method's indices: title, columns, the index it
    sorts keys by, the indices shown, and the samples' name."""

    title: str
    columns: tuple[str, str]
    lead: str
    shown: tuple[str, str]
    samples: str


_VIEWS = {
    "sobol": _IndexView("Sobol indices of {}: share of its variance over the design, [95% CI]",
                        ("S1 (alone)", "ST (with interactions)"), "ST", ("S1", "ST"), "base samples"),
    "morris": _IndexView("Morris effects on {}: change across a key's whole range, [95% CI]",
                         ("mu*", "sigma (interactions)"), "mu_star", ("mu_star", "sigma"), "trajectories"),
}


def _index_cell(r: Any, digits: int, scale: float) -> str:
    """An index with its bootstrap CI (the value alone where it has none)."""
    if r["ci_low"] != r["ci_low"]:
        return _num(r["value"] * scale, digits)
    return _mean_ci({"mean": r["value"], "ci95": [_or_none(r["ci_low"]), _or_none(r["ci_high"])]}, digits, scale)


def _indices_of(frame: Any, kpi: str, automaker: str | None) -> Any:
    f = frame[frame["kpi"] == kpi]
    return f if automaker is None else f[f["automaker"] == automaker]


def _index_rows(t: Table, f: Any, view: _IndexView, fmt: tuple[int, float]) -> None:
    """Per automaker, its keys most influential first (by the view's lead index)."""
    for who in dict.fromkeys(f["automaker"]):
        g = f[f["automaker"] == who]
        for key in g[g["index"] == view.lead].sort_values("value", ascending=False)["parameter"]:
            at = g[g["parameter"] == key].set_index("index")
            t.add_row(escape(str(who)), escape(str(key)), *(_index_cell(at.loc[i], *fmt) for i in view.shown))


def sensitivity_table(frame: Any, kpi: str = "vehicles_lost", automaker: str | None = None) -> Table:
    """Sobol S1 and ST (or Morris mu* and sigma) of one KPI, per automaker and
    swept key, most influential first, with 95% bootstrap CIs (Sobol indices
    are shares, to two places; Morris effects are in the KPI's units)."""
    f = _indices_of(frame, kpi, automaker)
    method = str(f["method"].iloc[0]) if len(f) else "sobol"
    view = _VIEWS.get(method, _VIEWS["morris"])
    label, digits, scale = _kpi_format(kpi)
    t = Table(title=view.title.format(label), title_justify="left")
    for c, j in (("automaker", "left"), ("key", "left"), *((c, "right") for c in view.columns)):
        t.add_column(c, justify=j)  # type: ignore[arg-type]
    _index_rows(t, f, view, (2, 1.0) if method == "sobol" else (digits, scale))
    if len(f):
        t.caption = (f"{int(f['points'].iloc[0])} points ({int(f['samples'].iloc[0])} {view.samples}); "
                     "all KPIs in sensitivity.parquet")
    return t


_COMPARE_COLUMNS = (("automaker", "left"), ("KPI", "left"), ("n", "right"), ("A", "right"), ("B", "right"),
                    ("B - A [95% CI]", "right"), ("CI width: indep. / paired", "right"))


def _compare_cells(r: Any, start: date | None) -> list[str]:
    """One comparison row: automaker, KPI, n, A, B, B - A [CI], width ratio;
    a first-event day's sides as dates and its difference in days."""
    kpi = BY_NAME.get(str(r.metric))
    label, digits, scale = _kpi_format(str(r.metric))
    ci = _mean_ci({"mean": _or_none(r.diff), "ci95": [_or_none(r.ci_low), _or_none(r.ci_high)]}, digits, scale)
    sides = [_or_none(r.mean_a), _or_none(r.mean_b)]
    if kpi is not None and kpi.censored and start is not None:
        label, ci, sides = heading(kpi, "censored"), ci + " days", [_day(start, v) for v in sides]
    else:
        sides = [_num(None if v is None else v * scale, digits) for v in sides]
    return [escape(str(r.automaker)), escape(label), _count(getattr(r, "n", None)), *sides, ci, ratio_text(r.width_ratio, "-")]


def _count(n: Any) -> str:
    return "-" if n is None or n != n else f"{int(n)}"


def _compare_notes(metrics: Sequence[str], every: bool) -> list[str]:
    notes = []
    if any(BY_NAME[m].censored for m in metrics if m in BY_NAME):
        notes.append("first stockout: the mean of min(first stockout day, horizon) - a replication without one "
                     "counts as the horizon, so no pair is dropped; Kaplan-Meier medians in compare.parquet")
    if not every:
        notes.append("every KPI in --json and compare.parquet")
    return notes


def _start_date(attrs: dict[str, Any]) -> date | None:
    return date.fromisoformat(attrs["start_date"]) if attrs.get("start_date") else None


def compare_table(df: Any, a: str, b: str, metrics: Any = None) -> Table:
    """Per automaker and KPI: the pairs (n), both means and the paired
    difference B - A with its CI, in the units and formats of ``resim run``
    (first stockouts as dates, their difference in days). ``metrics``: the
    KPIs to show (default every row of ``df``)."""
    t = Table(title=f"B - A with common random numbers; A = {escape(a)}; B = {escape(b)}",
              title_justify="left")
    for c, j in _COMPARE_COLUMNS:
        t.add_column(c, justify=j)  # type: ignore[arg-type]
    start = _start_date(getattr(df, "attrs", {}) or {})
    rows = _shown_rows(df, metrics)
    for r in rows:
        t.add_row(*_compare_cells(r, start))
    notes = _compare_notes([str(r.metric) for r in rows], metrics is None)
    if notes:
        t.caption = "; ".join(notes)
        t.caption_justify = "left"
    return t


def _shown_rows(df: Any, metrics: Any) -> list[Any]:
    """The comparison's rows of the KPIs asked for (all without ``metrics``)."""
    return [r for r in df.itertuples(index=False) if r.metric in (metrics or (r.metric,))]


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


__all__ = ["CENSORED", "RUN_KPIS", "SWEEP_KPIS", "compare_table", "discovery_lines", "sensitivity_table", "sweep_table"]
