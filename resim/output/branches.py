"""The branches of a forked scenario as the report reads them.

A scenario with ``[[branch]]`` tables (a decision not yet known, such as
whether a suspension is extended or lapses) runs every branch with the same
seed; each branch's files go to ``branches/<name>/`` of the run folder, the
default branch's also to the folder itself. The report compares them as
scenarios side by side, never as weighted outcomes: resim says what each
branch would bring, not which is more likely. This module reads the branch
folders back and says what each branch changes, in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from .formatting import kpi_value
from .report_text import Rows, change_rows
from .rundata import RunData, load_run_dir

#: The sub-folder of a run folder that holds one folder per branch.
BRANCHES = "branches"


def branch_names(sc: Mapping[str, Any]) -> list[str]:
    """The scenario's branch names, in file order."""
    return [str(b.get("name")) for b in sc.get("branch", [])]


def branch_runs(out_dir: Path, sc: Mapping[str, Any]) -> dict[str, RunData]:
    """Each branch's finished run, by name in file order (those with files)."""
    found = {}
    for name in branch_names(sc):
        folder = Path(out_dir) / BRANCHES / name
        if (folder / "summary.json").is_file():
            found[name] = load_run_dir(folder)
    return found


def fork_day(sc: Mapping[str, Any], start: date) -> float | None:
    """The first day on which any branch changes something (or announces
    it): before it every branch has the same record tables."""
    days = [d for b in sc.get("branch", []) for p in b.get("policy", []) for d in _days(p, start)]
    return max(0.0, min(days)) if days else None


def _days(p: Mapping[str, Any], start: date) -> list[float]:
    """The days a policy entry acts on: when it is announced and when it applies."""
    dates = [float((date.fromisoformat(str(w)) - start).days) for w in (p.get("announced"), p.get("date")) if w]
    return dates + ([float(p["day"])] if p.get("day") is not None else [])


def branch_rows(sc: Mapping[str, Any], start: date) -> Rows:
    """What each branch changes: branch, from, scenario value, becomes, note
    (a branch that changes nothing keeps the scenario's values)."""
    chosen = sc.get("scenario", {}).get("default_branch")
    return [row for b in sc.get("branch", []) for row in _rows_of(b, b.get("name") == chosen, start)]


def _rows_of(branch: Mapping[str, Any], default: bool, start: date) -> Rows:
    label = f"{branch.get('name')} (default)" if default else str(branch.get("name"))
    note = str(branch.get("note", ""))
    changes = [row for p in branch.get("policy", []) for row in change_rows(p, start)]
    if not changes:
        return [[label, "–", "no change: the scenario's values hold", "", note]]
    return [[label, *row[:3], row[3] or note] for row in changes]


def _cell(block: Mapping[str, Any], metric: str, words: str) -> str:
    d = block.get(metric) or {}
    lo, hi = (d.get("ci95") or [None, None])[:2]
    return f"{words} {kpi_value(metric, d.get('mean'))} [{kpi_value(metric, lo)}, {kpi_value(metric, hi)}]"


def branch_lines(summaries: Mapping[str, Mapping[str, Any]], default: str | None) -> list[str]:
    """The terminal's lines for a forked run: each branch's vehicles lost and
    stockout days of all automakers, with their intervals."""
    lines = ["branches (same seed; scenarios side by side, not weighted outcomes):"]
    for name, summary in summaries.items():
        block = summary.get("kpis", {}).get("all", {})
        cells = [_cell(block, metric, words)
                 for metric, words in (("vehicles_lost", "vehicles lost"), ("stockout_days", "stockout days"))]
        lines.append(f"  {name}{' (default)' if name == default else ''}: {', '.join(cells)}")
    return lines


__all__ = ["BRANCHES", "branch_lines", "branch_names", "branch_rows", "branch_runs", "fork_day"]
