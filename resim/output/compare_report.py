"""The report of a comparison (``resim compare --out DIR``): compare.parquet,
compare.json and a self-contained report.html with the paired differences.

Every number is written in the units and formats of the run report; each row
says how many pairs it rests on; the first stockout compares restricted means
(a replication without a stockout counts as the horizon) beside each side's
Kaplan-Meier median, and P(stockout) is compared as paired proportions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..experiment.store import write_parquet, write_text
from .figures.common import Plot, save_plots
from .figures.comparison import difference_forest
from .formatting import compared_label, kpi_value, ratio_text
from .report import REPORT, _figure_items, render

FILE = "compare.parquet"
META = "compare.json"


def _median(row: Mapping[str, Any], side: str) -> str:
    m = row.get(f"median_{side}")
    if _missing(m):
        return "beyond the horizon"
    lo, hi = row.get(f"median_{side}_low"), row.get(f"median_{side}_high")
    bound = [("–" if _missing(v) else f"{v:.0f}") for v in (lo, hi)]
    return f"day {m:.0f} [{bound[0]}, {bound[1]}]"


def _missing(v: Any) -> bool:
    """None or NaN (NaN is the one value unequal to itself)."""
    return v is None or v != v


def _rows(df: pd.DataFrame) -> list[list[str]]:
    rows = []
    for r in df[df["metric"] != "failed"].to_dict("records"):
        m = str(r["metric"])
        rows.append([str(r["automaker"]), compared_label(m), str(int(r["n"])), kpi_value(m, r["mean_a"]),
                     kpi_value(m, r["mean_b"]),
                     f"{kpi_value(m, r['diff'])} [{kpi_value(m, r['ci_low'])}, {kpi_value(m, r['ci_high'])}]",
                     ratio_text(r.get("width_ratio"), "–"), str(r.get("method") or "")])
    return rows


def write_compare(out: Path, df: pd.DataFrame, meta: Mapping[str, Any]) -> Path:
    """compare.parquet, compare.json, plots/comparison.png and report.html in ``out``."""
    out = Path(out)
    write_parquet(out / FILE, df)
    write_text(out / META, json.dumps(dict(meta), indent=2, default=str) + "\n")
    return write_compare_report(out)


def write_compare_report(out: Path) -> Path:
    """report.html of the comparison in ``out``, from compare.parquet and compare.json."""
    out = Path(out)
    df = pd.read_parquet(out / FILE)
    meta = json.loads((out / META).read_text(encoding="utf-8"))
    ok = df[df["metric"] != "failed"]
    first = ok[ok["metric"] == "first_stockout_day"].to_dict("records")
    saved = save_plots([Plot("comparison", "B - A for the headline KPIs, per automaker: the paired difference "
                                           "and its 95% confidence interval.", difference_forest(df))], out)
    failed = df[df["metric"] == "failed"].to_dict("records")
    page = render("compare.html.j2", title=f"resim compare: {meta.get('b')} against {meta.get('a')}",
                  meta=meta, failed=failed, rows=_rows(df), figures=_figure_items(saved),
                  medians=[[str(r["automaker"]), _median(r, "a"), _median(r, "b")] for r in first],
                  head=["automaker", "KPI", "n pairs", "A mean", "B mean", "B - A [95% CI]",
                        "CI width: independent / paired", "method"])
    path = out / REPORT
    write_text(path, page)
    return path


__all__ = ["FILE", "META", "write_compare", "write_compare_report"]
