"""The parts of a sweep report that depend on its design and what was asked of it.

A sampled design (lhs, qmc, sobol, morris) prints its values rounded to the
digits their range means and describes each key by its range; a sobol or
morris sweep adds its sensitivity indices (sensitivity.parquet) as a bar
chart with CIs and a table; a ``resim discover`` adds the PRIM box
(discovery.json) in words, as a table of limits and as a figure; a
``--target-ci`` sweep says how many replications each point needed. Each
function returns the template's context for its section (None: no section)
and the figures it draws; ``resim.output.report`` renders them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..experiment.point_outcomes import OUTCOMES
from ..experiment.rounding import digits_for
from .figures.common import Plot
from .figures.sensitivity import index_bars, prim_figure
from .formatting import format_number, metric_label

SENSITIVITY_FILE = "sensitivity.parquet"
DISCOVERY_FILE = "discovery.json"


def value_formats(points: pd.DataFrame, keys: Sequence[str], sampler: str | None) -> dict[str, Callable[[Any], str]]:
    """How each key's values print: a grid's as given, a sampled design's
    rounded to the digits its range means."""
    out: dict[str, Callable[[Any], str]] = {}
    for k in keys:
        col = points[k]
        if sampler not in (None, "grid") and col.dtype.kind == "f":
            d = digits_for(float(col.min()), float(col.max()))
            out[k] = lambda v, d=d: format_number(v, d)
        else:
            out[k] = lambda v: f"{v:g}" if isinstance(v, float) else str(v)
    return out


def design_rows(points: pd.DataFrame, keys: Sequence[str], sampler: str | None,
                listed: Callable[[str], str]) -> list[tuple[str, str]]:
    """Per key, what the design covers: a grid's values (``listed``), a sampled design's range."""
    if sampler in (None, "grid"):
        return [(k, listed(k)) for k in keys]
    fmt = value_formats(points, keys, sampler)
    return [(k, f"{fmt[k](points[k].min())} to {fmt[k](points[k].max())} "
                f"({points[k].nunique()} distinct values)") for k in keys]


def _ci(value: float, lo: float, hi: float, digits: int) -> str:
    text = format_number(value, digits, short_from=1e4)
    if lo == lo and hi == hi:
        text += f" [{format_number(lo, digits, short_from=1e4)}, {format_number(hi, digits, short_from=1e4)}]"
    return text


#: Per method: the two indices the table shows, and its heading.
_INDICES = {
    "sobol": (("S1", "ST"), ["KPI", "key", "S1 (alone) [95% CI]", "ST (with interactions) [95% CI]"]),
    "morris": (("mu_star", "sigma"), ["KPI", "key", "mu* [95% CI]", "sigma"]),
}


def _index_text(r: pd.Series, method: str) -> str:
    """A Sobol index to two places; a Morris effect (in the KPI's units) to
    three below 10, else whole."""
    digits = 2 if method == "sobol" else (3 if abs(r["value"]) < 10 else 0)
    return _ci(r["value"], r["ci_low"], r["ci_high"], digits)


def _index_rows(f: pd.DataFrame, who: str, method: str) -> list[list[str]]:
    """Per KPI (in outcome order, then the price outcomes of a sweep with
    ``[markets]``) and swept key: the two indices of ``who``."""
    pair = _INDICES.get(method, _INDICES["morris"])[0]
    rows = []
    for kpi in [*OUTCOMES, *(k for k in dict.fromkeys(f["kpi"]) if k not in OUTCOMES)]:
        g = f[(f["kpi"] == kpi) & (f["automaker"] == who)]
        for key in dict.fromkeys(g["parameter"]):
            at = g[g["parameter"] == key].set_index("index")
            rows.append([metric_label(kpi), key, *(_index_text(at.loc[i], method) for i in pair)])
    return rows


def _index_plots(f: pd.DataFrame, method: str, metric: str) -> list[Plot]:
    if f[f["kpi"] == metric].empty:
        return []
    return [Plot(f"sensitivity_{metric}",
                 f"{'Sobol indices' if method == 'sobol' else 'Morris effects'} of {metric_label(metric)} "
                 "per swept key and automaker, with 95% bootstrap confidence intervals (seeded).",
                 index_bars(f, metric))]


def sensitivity_section(root: Path, doc: Mapping[str, Any], metric: str) -> tuple[dict[str, Any] | None, list[Plot]]:
    """The indices of a sobol or morris sweep: a figure for ``metric`` and a
    table of every KPI for all automakers together."""
    path = root / SENSITIVITY_FILE
    if not doc.get("sensitivity") or not path.is_file():
        return None, []
    f = pd.read_parquet(path)
    method = str(doc["sampler"])
    who = "all" if "all" in set(f["automaker"]) else (str(f["automaker"].iloc[0]) if len(f) else "all")
    plan = doc.get("sensitivity", {})
    context = {"method": method, "who": who, "head": _INDICES.get(method, _INDICES["morris"])[1],
               "rows": _index_rows(f, who, method), "notes": doc.get("sensitivity_notes", []),
               "constant": _constant_text(doc.get("sensitivity_constant", [])),
               "samples": plan.get("samples"), "resamples": plan.get("resamples")}
    return context, _index_plots(f, method, metric)


def _constant_text(pairs: Sequence[Sequence[str]]) -> str | None:
    """The KPIs no key changes, by automaker, in one sentence."""
    if not pairs:
        return None
    by: dict[str, list[str]] = {}
    for kpi, who in pairs:
        by.setdefault(who, []).append(kpi)
    parts = [f"{'all automakers together' if who == 'all' else who}: {_kpis_text(kpis)}"
             for who, kpis in by.items()]
    return "The same at every design point (no key changes them, so no indices): " + "; ".join(parts) + "."


def _kpis_text(kpis: Sequence[str]) -> str:
    """The KPIs listed, or "every KPI" when at most one outcome is missing from them."""
    return "every KPI" if len(kpis) >= len(OUTCOMES) - 1 else ", ".join(metric_label(k) for k in kpis)


def discovery_section(root: Path) -> tuple[dict[str, Any] | None, list[Plot]]:
    """The box of a ``resim discover`` (recomputed from its recorded question
    to draw the figure: PRIM is deterministic)."""
    path = root / DISCOVERY_FILE
    if not path.is_file():
        return None, []
    from ..experiment.discovery import discover

    saved = json.loads(path.read_text(encoding="utf-8"))
    found = discover(root, " and ".join(saved["where"]), saved["automaker"], saved["min_coverage"],
                     saved.get("max_quasi_p", 0.05))
    box = found.to_json()["box"]
    limits = []
    for lim in found.limits():
        lo, hi = lim["range"]
        d = digits_for(lo, hi)
        limits.append([lim["key"], "–" if lim["low"] is None else format_number(lim["low"], d),
                       "–" if lim["high"] is None else format_number(lim["high"], d),
                       f"{format_number(lo, d)} to {format_number(hi, d)}", f"{lim['quasi_p']:.2g}"])
    context = {"words": found.words(), "limits": limits, "coverage": f"{box['coverage']:.0%}",
               "density": f"{box['density']:.0%}", "mass": f"{box['mass']:.0%}", "where": saved["where"]}
    plot = Plot("discovery", "PRIM: the coverage/density trade-off along the peeling trajectory (left; the star "
                "is the chosen box) and the design points in the two keys the box restricts most (right).",
                prim_figure(found))
    return context, [plot] if found.box.restricted else []


def sequential_text(doc: Mapping[str, Any]) -> str | None:
    """How many replications the points needed under ``--target-ci``."""
    seq = doc.get("sequential")
    if not seq:
        return None
    reps = [d["replications"] for d in seq]
    capped = sum(d["status"] == "capped" for d in seq)
    rel = doc.get("target", {}).get("rel")
    text = (f"Replications per point were chosen by the sequential rule (95% CI half-width within "
            f"{rel:.0%} of the mean, with look-ahead): {min(reps)} to {max(reps)} per point")
    return text + (f"; {capped} point(s) reached the cap without meeting it." if capped else ".")


__all__ = ["design_rows", "discovery_section", "sensitivity_section", "sequential_text", "value_formats"]
