"""Work estimates: refuse absurd runs before they start.

An analyst's typo (a thousand-year horizon, a billion replications) must end
in a one-line refusal with the estimate, not in a machine out of memory hours
later. The estimate counts the record rows a run keeps: daily rows per
automaker, and one row per recorded application.
"""

from __future__ import annotations

from .errors import ScenarioError
from .scenario import ScenarioBase as Scenario

#: Rows one replication may keep in memory while it runs.
MAX_ROWS_PER_REPLICATION = 20_000_000
#: Rows a whole run may keep (they are gathered into the result files).
MAX_ROWS_PER_RUN = 200_000_000
#: (point, replication) units a sweep may hold.
MAX_SWEEP_UNITS = 10_000_000


def rows_per_replication(scn: Scenario) -> int:
    days = int(scn.scenario.horizon) + 1
    rows = days * len(scn.automakers)  # type: ignore[attr-defined]
    if scn.keeps_background_records:
        rows += int(scn.licensing.background.applications_per_day * days)  # type: ignore[attr-defined]
    return rows


def check_run(scn: Scenario, source: str, replications: int) -> None:
    per = rows_per_replication(scn)
    if per > MAX_ROWS_PER_REPLICATION:
        raise ScenarioError(source, "scenario.horizon",
                            f"one replication would keep about {per:,} record rows (limit "
                            f"{MAX_ROWS_PER_REPLICATION:,}); shorten the horizon or set output.licence_records = \"exporters\"",
                            scn.scenario.horizon)
    total = per * replications
    if total > MAX_ROWS_PER_RUN:
        raise ScenarioError(source, "scenario.replications",
                            f"{replications:,} replications would keep about {total:,} record rows (limit "
                            f"{MAX_ROWS_PER_RUN:,}); use fewer replications, a shorter horizon, or a sweep",
                            replications)


def check_sweep(scn: Scenario, source: str, points: int, replications: int) -> None:
    per = rows_per_replication(scn)
    if per > MAX_ROWS_PER_REPLICATION:
        check_run(scn, source, 1)
    units = points * replications
    if units > MAX_SWEEP_UNITS:
        raise ScenarioError(source, "sweep", f"{points:,} points x {replications:,} replications is {units:,} "
                            f"units (limit {MAX_SWEEP_UNITS:,}); use fewer points or replications")
