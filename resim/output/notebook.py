"""What a notebook (or a Python prompt) shows for a run, a sweep or a comparison.

``Results``, ``SweepResults`` and ``Comparison`` hand their ``_repr_html_``
and ``__repr__`` to this module, so an analyst who ends a cell with ``res``
sees the KPI table with its confidence intervals, not ``<Results object at
0x...>`` or a dataclass dump of every DataFrame. The HTML comes from the
report's own template pieces (``templates/notebook.html.j2`` with
``macros.kpi_table``), and the text from the terminal's tables rendered at
80 columns, so all three read alike.

The objects are read by duck typing (their attributes, not their classes):
this module imports neither ``resim.experiment.sweeps`` nor ``resim.experiment.comparison``,
which import it only when asked to show themselves.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
from rich.console import Console

from ..model.kpis import Kpi
from . import report
from .branches import branch_lines
from .console import kpi_table, licensing_lines, licensing_table
from .console_experiments import SWEEP_KPIS, sweep_table
from .console_markets import market_lines, market_renderables
from .formatting import compared_label, format_number, kpi_value
from .report_text import licensing_rows

#: Design points shown in a sweep's table (all are in ``res.summary``).
SWEEP_ROWS = 30
RUN_HINT = ("Tables: res.replications (per automaker), res.totals (all automakers), res.timeseries, "
            "res.licences, res.flows, res.summary(). Figures: res.plot_inventory(automaker), "
            "res.plot_vehicles_lost(), res.plot_licences(), res.plot_flows(). Files: res.write(DIR).")
#: What a run with ``[markets]`` adds to the hint.
PRICE_HINT = "Prices: res.prices (tidy), res.plot_prices() (fans per item, market and tier)."


def _hints(summary: Mapping[str, Any]) -> list[str]:
    return [RUN_HINT, PRICE_HINT] if summary.get("markets") else [RUN_HINT]


def as_text(renderable: Any, width: int = 80) -> str:
    """A rich renderable as plain text ``width`` columns wide (no colours,
    and never drawn straight into a notebook)."""
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, highlight=False, force_terminal=False,
            force_jupyter=False, soft_wrap=False).print(renderable)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines())


def _fmt(x: Any, kpi: Kpi) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return format_number(float(x) * kpi.scale, kpi.digits, short_from=1e4)


def _mean_ci(d: Mapping[str, Any], kpi: Kpi) -> str:
    """A point's mean of ``kpi`` with its 95% CI, in the units of the terminal's sweep table."""
    text = _fmt(d.get(f"{kpi.name}_mean"), kpi)
    lo = d.get(f"{kpi.name}_ci_low")
    if lo is None or (isinstance(lo, float) and math.isnan(lo)):
        return text
    return f"{text} [{_fmt(lo, kpi)}, {_fmt(d.get(f'{kpi.name}_ci_high'), kpi)}]"


def _render(**context: Any) -> str:
    context.setdefault("subtitle", "")
    for key in ("kpi_rows", "kpi_labels", "head", "rows", "notes"):
        context.setdefault(key, [])
    return report.render("notebook.html.j2", **context)


# ---------------------------------------------------------------- a run
def _run_subtitle(summary: Mapping[str, Any]) -> str:
    failed = len(summary.get("failed_replications", []))
    text = f"{summary.get('replications')} replications (seed {summary.get('seed')})"
    if failed:
        text += f", {failed} failed and left out"
    return text + ", mean [95% CI]"


def _branch_notes(res: Any) -> list[str]:
    """A forked run: the table is the default branch's; each branch's line, and where the others are."""
    forks = getattr(res, "branches", None)
    if not forks:
        return []
    lines = branch_lines({k: r.summary() for k, r in forks.items()}, res.scenario.scenario.default_branch)
    return [*lines, "The table is the default branch's; every branch is in res.branches[name]; "
                    "res.plot_branches(automaker) draws them side by side."]


def results_html(res: Any) -> str:
    """A run's KPI table with its intervals, the licensing line and what to call next."""
    summary = res.summary()
    notes = [*market_lines(summary), *licensing_lines(summary), *_branch_notes(res), *_hints(summary)]
    if summary.get("kpis"):
        return _render(title=str(summary["scenario"]), subtitle=_run_subtitle(summary),
                       kpi_labels=report.kpi_labels(summary), kpi_rows=report.kpi_rows(summary, res.start_date),
                       notes=notes)
    rows = licensing_rows(summary)
    return _render(title=str(summary["scenario"]), subtitle=_run_subtitle(summary), head=["", "mean [95% CI]"],
                   rows=rows, notes=notes)


def results_text(res: Any) -> str:
    """A run as text: its KPI table at 80 columns, the licensing line, what to call next."""
    summary = res.summary()
    table = kpi_table(summary) if summary.get("kpis") else licensing_table(summary)
    markets = [part if isinstance(part, str) else as_text(part) for part in market_renderables(summary)]
    lines = [as_text(table), *markets, *licensing_lines(summary), *_branch_notes(res), *_hints(summary)]
    return f"<Results of {summary['scenario']!r}: {_run_subtitle(summary)}>\n" + "\n".join(lines)


# ---------------------------------------------------------------- a sweep
def _sweep_subtitle(res: Any) -> str:
    reps = res.results["replication"].nunique() if len(res.results) else 0
    text = f"{len(res.points)} design points x {reps} replications over {', '.join(res.keys)}"
    if res.failures:
        text += f"; {len(res.failures)} failed units left out"
    return text


def _point_cells(d: Mapping[str, Any], keys: list[str]) -> list[str]:
    """A design point's swept values, then its KPIs of every automaker together."""
    return [*(f"{d[k]:g}" if isinstance(d[k], float) else str(d[k]) for k in keys),
            *(_mean_ci(d, k) for k in SWEEP_KPIS)]


def sweep_html(res: Any) -> str:
    """The sweep's points with every automaker's KPIs together (mean [95% CI]), first rows."""
    s = res.summary
    rows_all = s[s["automaker"] == "all"] if len(s) else s
    rows = [_point_cells(d, res.keys) for d in rows_all.head(SWEEP_ROWS).to_dict("records")]
    notes = []
    if len(rows_all) > SWEEP_ROWS:
        notes.append(f"First {SWEEP_ROWS} of {len(rows_all)} points.")
    notes.append(f"Every automaker and point in res.summary; every replication in res.results; files in "
                 f"{res.out}. Figures: res.plot_heatmap(x, y), res.plot_lines(x).")
    return _render(title="Sweep: every automaker together, mean [95% CI]", subtitle=_sweep_subtitle(res),
                   head=[*res.keys, *(k.heading for k in SWEEP_KPIS)], rows=rows, notes=notes)


def sweep_text(res: Any) -> str:
    """A sweep as text: a line on its design and the terminal's sweep table."""
    body = as_text(sweep_table(res, max_rows=SWEEP_ROWS), width=100) if len(res.summary) else "(no results)"
    return f"<SweepResults in {res.out}: {_sweep_subtitle(res)}>\n{body}"


# ---------------------------------------------------------------- a comparison
def _labels(df: pd.DataFrame) -> tuple[str, str]:
    return str(df.attrs.get("a", "A")), str(df.attrs.get("b", "B"))


def _ratio_text(ratio: Any) -> str:
    """How much narrower pairing made the interval: 2.4x, inf, or – when unknown."""
    return "–" if ratio is None or pd.isna(ratio) else ("inf" if math.isinf(ratio) else f"{ratio:.1f}x")


def _comparison_cells(r: Mapping[str, Any], with_n: bool) -> list[str]:
    """automaker, KPI, A, B, B - A [CI], width ratio (and pairs): in the report's units."""
    m = str(r["metric"])
    diff = kpi_value(m, r.get("diff"))
    if r.get("ci_low") is not None and not pd.isna(r.get("ci_low")):
        diff += f" [{kpi_value(m, r['ci_low'])}, {kpi_value(m, r['ci_high'])}]"
    cells = [str(r["automaker"]), compared_label(m), kpi_value(m, r.get("mean_a")), kpi_value(m, r.get("mean_b")),
             diff, _ratio_text(r.get("width_ratio"))]
    return [*cells, "–" if pd.isna(r.get("n")) else f"{int(r['n'])}"] if with_n else cells


def comparison_html(df: pd.DataFrame) -> str:
    """Per automaker and KPI: A, B, and the paired B - A with its 95% CI."""
    a, b = _labels(df)
    ok = df[df["metric"] != "failed"] if len(df) else df
    with_n = "n" in df.columns
    head = ["automaker", "KPI", "A mean", "B mean", "B − A [95% CI]", "CI width: independent / paired",
            *(["pairs"] if with_n else [])]
    rows = [_comparison_cells(r, with_n) for r in ok.to_dict("records")]
    notes = [f"A = {a}; B = {b}. Replication r of both runs shares its random numbers (common random "
             "numbers), so the paired interval is narrower than two independent samples would give."]
    failed = len(df) - len(ok)
    if failed:
        notes.append(f"{failed} replication pair(s) failed and are left out (rows with metric 'failed').")
    return _render(title="Paired comparison, B − A", subtitle=f"A = {a}, B = {b}", head=head, rows=rows,
                   notes=notes)


def comparison_text(df: pd.DataFrame) -> str:
    """A comparison as text: which is A and B, then the table itself."""
    a, b = _labels(df)
    with pd.option_context("display.width", 100, "display.max_columns", 12):
        return f"<Comparison B - A with common random numbers; A = {a}; B = {b}>\n{pd.DataFrame(df)!r}"


__all__ = ["as_text", "comparison_html", "comparison_text", "results_html", "results_text", "sweep_html",
           "sweep_text"]
