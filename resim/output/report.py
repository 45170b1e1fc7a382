"""Self-contained HTML reports of a finished run or sweep, rendered from Jinja2 templates.

``write_report(DIR)`` reads only the files of a finished run directory
(summary.json, the parquet tables, scenario.resolved.toml, manifest.json), so
``resim report DIR`` rebuilds the report without running anything again.
This module gathers what a page shows (numbers formatted, figures drawn and
saved) into a template context; ``templates/`` holds the markup: ``run`` and
``sweep`` pages extending one ``base`` page, with ``report.css`` inlined at
render time so the report stays one file. Autoescaping is on: every scenario
name, automaker or note reaches the page as text, never as markup.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import sys
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from ..experiment.store import write_text
from ..model.kpis import BY_NAME, Kpi
from . import report_text as words
from .branches import branch_rows, branch_runs, fork_day
from .figures import run_figures, save_run_figures
from .figures.branches import branch_fans
from .figures.common import Plot, save_plots, slug, unique_stems
from .figures.scatter import sampled_figures
from .figures.sweep import (
    design_points,
    labelled_keys,
    repeated_points,
    report_figures,
    sorted_values,
    tick,
    with_mean,
)
from .formatting import REPORT_KPIS, format_number, heading, kpi_value, metric_label
from .prices import report_prices
from .rundata import load_run
from .sweep_sections import (
    design_rows,
    discovery_section,
    sensitivity_section,
    sequential_text,
    value_formats,
)

REPORT = "report.html"
SWEEP_DESIGN = "sweep.json"  # written by resim.experiment.sweeps, with summary.parquet
SWEEP_SUMMARY = "summary.parquet"


# ---------------------------------------------------------------- rendering
@functools.cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("resim.output", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(template: str, **context: Any) -> str:
    """A page from ``templates/<template>`` with report.css inlined (the page is one file)."""
    env = _environment()
    css, _, _ = env.loader.get_source(env, "report.css")  # type: ignore[union-attr]
    return env.get_template(template).render(css=css, **context)


def _figure_items(saved: Sequence[tuple[Path, Plot]]) -> list[dict[str, str]]:
    """The saved figures as the page embeds them: PNG data, alt text, caption, file name."""
    return [{"stem": path.stem, "file": path.name, "caption": plot.caption,
             "alt": plot.caption.split(". ")[0],
             "data": base64.b64encode(path.read_bytes()).decode("ascii")}
            for path, plot in saved]


def _load_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# ---------------------------------------------------------------- run report
#: How a censored KPI's column reads in the run report: the mean over the runs with one.
REPORT_CENSORED = "runs with one"


def report_kpis(summary: Mapping[str, Any]) -> tuple[Kpi, ...]:
    """The KPIs of the report's table (a population's only when an entry has firms)."""
    populations = any(n > 1 for n in summary.get("firms", {}).values())
    return tuple(k for k in REPORT_KPIS if populations or not k.population)


def _day_number(x: Any) -> str:
    return format_number(x, 0)


def _kpi_cell(kpi: Kpi, block: Mapping[str, Any] | None, start: date, band: bool = False) -> dict[str, Any]:
    """One KPI cell: the exact mean (for machines), the shown mean and its
    interval; with ``band`` (``--posterior``) also the p5-p95 of replications.
    A first-event day shows its date, then the day and interval in whole days."""
    if not block or block.get("mean") is None:
        return {"metric": kpi.name, "mean": None}
    value = _day_number if kpi.censored else functools.partial(kpi_value, kpi.name)
    mean = block["mean"]
    lo, hi = (block.get("ci95") or [None, None])[:2]
    cell = {"metric": kpi.name, "mean": repr(float(mean)), "main": value(mean),
            "day": None, "ci": f"[{value(lo)}, {value(hi)}]", "band": _band(block, value) if band else None}
    if kpi.censored:
        cell["day"], cell["main"] = cell["main"], words.date_of(start, mean)
        cell["ci"] = f"{cell['ci']}, n={block.get('n', '?')}"
    return cell


def _band(block: Mapping[str, Any], value: Any) -> str | None:
    """The p5-p95 of the replications (under ``--posterior``: the spread the
    parameters' uncertainty adds), where the summary has it."""
    if block.get("p5") is None:
        return None
    return f"p5–p95 {value(block['p5'])}–{value(block['p95'])}"


def kpi_labels(summary: Mapping[str, Any]) -> list[str]:
    """The KPI table's column headings (population columns when an entry has firms)."""
    return [heading(k, REPORT_CENSORED) for k in report_kpis(summary)]


def kpi_rows(summary: Mapping[str, Any], start: date) -> list[dict[str, Any]]:
    """The KPI table's rows (``macros.kpi_table``), as the report and the notebook show them."""
    band = bool(summary.get("posterior"))
    return [{"name": name, "total": name == "all",
             "label": "all automakers" if name == "all" else name,
             "cells": [_kpi_cell(k, block.get(k.name), start, band) for k in report_kpis(summary)]}
            for name, block in summary.get("kpis", {}).items()]


def _totals(summary: Mapping[str, Any], start: date) -> list[dict[str, Any]]:
    """The KPI row of every automaker together (none without automakers)."""
    return [row for row in kpi_rows(summary, start) if row["total"]]


def _branch_section(out_dir: Path, sc: Mapping[str, Any], summary: Mapping[str, Any],
                    start: date) -> dict[str, Any] | None:
    """The branches compared (a forked scenario only): what each changes,
    each branch's KPIs of all automakers, and a fan per automaker with a
    band per branch."""
    runs = branch_runs(out_dir, sc)
    if not runs:
        return None
    fork = fork_day(sc, start)
    kpis = [{**row, "label": name, "name": name} for name, run in runs.items() for row in _totals(run.summary, start)]
    names = next(iter(runs.values())).automakers
    plots = [Plot(stem, f"{name}: magnets on hand (t) day by day in each branch. Each line is a branch's "
                        "median over replications, its band holds 90% of them; the dashed line is the fork.",
                  branch_fans(runs, name, fork))
             for name, stem in zip(names, unique_stems(f"branches_{slug(n)}" for n in names), strict=True)]
    return {"fork": None if fork is None else words.date_of(start, fork),
            "changes": branch_rows(sc, start), "kpi_labels": kpi_labels(summary), "kpi_rows": kpis,
            "figures": _figure_items(save_plots(plots, out_dir))}


def write_report(out_dir: Path, title: str | None = None) -> Path:
    """Build ``out_dir/report.html`` (and ``out_dir/plots/*.png``) from a finished run directory.

    Reads summary.json, the parquet tables, scenario.resolved.toml and
    manifest.json; runs nothing. Raises ``FileNotFoundError`` when there is
    no summary.json. Returns the report's path.
    """
    out_dir = Path(out_dir)
    run = load_run(out_dir)
    summary, sc = run.summary, run.scenario
    start = run.start_date
    title = title or f"{run.title}: resim report"
    n_ok = len(run.replications)
    failed = summary.get("failed_replications", [])
    saved = save_run_figures(run_figures(run), out_dir)
    lic = summary.get("licensing", {})
    policy = words.policy_rows(sc, summary, start)
    page = render(
        "run.html.j2", title=title,
        description=sc.get("scenario", {}).get("description") or "",
        horizon=words.days_text(run.horizon_days), start=start,
        end=start + timedelta(days=run.horizon_days), n_ok=n_ok, seed=str(summary.get("seed")),
        failed=failed,
        failed_text="; ".join(f"#{f['replication']}: {f['error']}" for f in failed[:5]),
        kpi_labels=kpi_labels(summary), kpi_rows=kpi_rows(summary, start),
        posterior=summary.get("posterior"), prices=report_prices(summary, start),
        facts=[("Start date", str(start)),
               ("Horizon", f"{words.days_text(run.horizon_days)} (to "
                           f"{start + timedelta(days=run.horizon_days)})"),
               ("Replications", f"{summary.get('replications')} (seed {summary.get('seed')})"),
               *words.controls_facts(sc), *words.licensing_facts(sc)],
        automakers=words.automaker_rows(sc), upstream=words.upstream_rows(sc),
        policy=policy and {"head": policy[0], "rows": policy[1]},
        licensing=lic and {"rows": words.licensing_rows(summary),
                           "scope": words.licence_record_scope(sc),
                           "stages": words.stage_rows(sc, lic)},
        figures=_figure_items(saved),
        run_rows=words.run_rows(summary, _load_json(out_dir / "manifest.json")),
        branches=_branch_section(out_dir, sc, summary, start),
    )
    path = out_dir / REPORT
    write_text(path, page)
    return path


# ---------------------------------------------------------------- sweep report
def sweep_value(metric: str, x: Any) -> str:
    """A sweep mean or bound, as the figures draw it: shares to 3 places,
    large counts whole, else one decimal."""
    kpi = BY_NAME.get(metric)
    if x is None or not math.isfinite(float(x)):
        return "–"
    if kpi is not None and kpi.is_share:
        return format_number(x, 3)
    return format_number(x, 0) if abs(float(x)) >= 1000 else format_number(x, 1)


def _sweep_rows(summary: pd.DataFrame, cols: list[str], metric: str,
                formats: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    formats = formats or {}
    rows = []
    for _, r in summary.sort_values(cols).iterrows():
        rows.append({"cells": [formats[c](r[c]) if c in formats else str(r[c]) for c in cols],
                     "value": _sweep_cell(r, metric)})
    return rows


def _sweep_cell(r: pd.Series, metric: str) -> dict[str, str] | None:
    """A point's mean of ``metric`` with its interval, or None where it has no finite mean."""
    mean = r.get(f"{metric}_mean")
    if mean is None or not math.isfinite(float(mean)):
        return None
    return {"mean": repr(float(mean)), "text": sweep_value(metric, mean),
            "lo": sweep_value(metric, r.get(f"{metric}_ci_low")),
            "hi": sweep_value(metric, r.get(f"{metric}_ci_high"))}


def _check_keys(summary: pd.DataFrame, keys: list[str]) -> None:
    if not keys:
        raise ValueError("a sweep report needs at least one swept key")
    missing = [k for k in keys if k not in summary.columns]
    if missing:
        raise ValueError(f"summary has no column for swept key(s) {missing}")


def _table_columns(table: pd.DataFrame, keys: list[str], repeated: Any) -> list[str]:
    """The sweep table's columns: the keys, the automaker, and the point number when points repeat."""
    cols = [*keys, "automaker"] if "automaker" in table.columns else list(keys)
    return [*cols, "point"] if repeated and "point" in table.columns else cols


def _sweep_figures(out_dir: Path, doc: Mapping[str, Any], table: pd.DataFrame, keys: list[str],
                   metric: str) -> dict[str, Any]:
    """The page's figure sections (main, sensitivity, discovery), drawn and
    saved, with the sections' contexts."""
    sampled = doc.get("sampler") not in (None, "grid")
    sens, sens_plots = sensitivity_section(out_dir, doc, metric)
    found, found_plots = discovery_section(out_dir)
    plots = sampled_figures(table, keys, metric) if sampled else report_figures(table, keys, metric)
    saved = iter(save_plots([*plots, *sens_plots, *found_plots], out_dir))
    return {"figures": _figure_items([next(saved) for _ in plots]),
            "sensitivity": sens, "sensitivity_figures": _figure_items([next(saved) for _ in sens_plots]),
            "discovery": found, "discovery_figures": _figure_items(list(saved))}


def write_sweep_report(out_dir: Path, summary: pd.DataFrame, keys: list[str],
                       metric: str = "vehicles_lost", title: str | None = None) -> Path:
    """Build ``out_dir/report.html`` for a sweep from its per-point summary.

    ``summary`` has one row per design point x automaker, a column per swept
    key in ``keys``, ``automaker`` and ``{metric}_mean``, ``{metric}_ci_low``,
    ``{metric}_ci_high`` (other metrics' columns are welcome and ignored).
    A grid with one key is drawn as lines with confidence bands; with two, a
    heatmap per automaker plus lines; with more, heatmaps of the first two
    keys for each combination of the others (at most 12). A sampled design
    (lhs, qmc, sobol, morris; ``sampler`` in sweep.json) is drawn as scatter
    plots against each key with binned means, and its values are rounded.
    Design points that repeat an earlier point's values are drawn once and
    listed with their point number. If ``out_dir`` holds the sweep's
    ``sweep.json``, its scenario name, replications and failures are shown
    too, and the sections of ``sweep_sections``: sensitivity indices, a
    discovered box, sequential replications.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_keys(summary, keys)
    doc = _load_json(out_dir / SWEEP_DESIGN)
    name = doc.get("scenario", {}).get("scenario", {}).get("name")
    sampler = doc.get("sampler")
    table = labelled_keys(summary.reset_index(drop=True), keys)
    points = design_points(table, keys)
    repeated = repeated_points(table, keys)
    cols = _table_columns(table, keys, repeated)
    page = render(
        "sweep.html.j2", title=title or (f"{name}: resim sweep" if name else "resim sweep"), n_points=len(points),
        replications=doc.get("replications"), sampler=sampler,
        metric=metric_label(metric), failures=len(doc.get("failures") or []), repeated=repeated,
        design=design_rows(points, keys, sampler, lambda k: ", ".join(tick(v) for v in sorted_values(points[k]))),
        sequential=sequential_text(doc), **_sweep_figures(out_dir, doc, table, keys, metric),
        head=[*cols, f"mean {metric_label(metric)} [95% CI]"],
        rows=_sweep_rows(with_mean(table, metric), cols, metric, value_formats(table, keys, sampler)),
    )
    path = out_dir / REPORT
    write_text(path, page)
    return path


def rebuild_sweep_report(out_dir: Path) -> Path:
    """The report of the finished sweep in ``out_dir``, from its files."""
    keys = _load_json(Path(out_dir) / SWEEP_DESIGN).get("keys") or []
    return write_sweep_report(Path(out_dir), pd.read_parquet(Path(out_dir) / SWEEP_SUMMARY), list(keys))


# ---------------------------------------------------------------- command
def report_command(directory: str) -> int:
    """``resim report DIR``: rebuild DIR/report.html of a finished run or sweep.

    Prints the report's path and returns 0; returns 2 with a one-line message
    on stderr when DIR is neither a finished run (summary.json) nor a
    finished sweep (sweep.json and summary.parquet).
    """
    out = Path(directory)
    if (out / "summary.json").is_file():
        path = write_report(out)
    elif (out / SWEEP_DESIGN).is_file() and (out / SWEEP_SUMMARY).is_file():
        path = rebuild_sweep_report(out)
    else:
        what = ("does not exist" if not out.exists()
                else "is not a finished run or sweep directory (no summary.json)")
        print(f"resim report: {directory} {what}", file=sys.stderr)
        return 2
    print(path)
    return 0


__all__ = ["REPORT", "REPORT_CENSORED", "kpi_labels", "kpi_rows", "rebuild_sweep_report", "render", "report_command",
           "report_kpis", "sweep_value", "write_report", "write_sweep_report"]
