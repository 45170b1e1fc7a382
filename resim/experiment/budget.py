"""Work estimates: refuse absurd runs before they start, warn about
saturated review stages.

An analyst's typo (a thousand-year horizon, a billion replications, a
million background applications a day) must end in a one-line refusal with
the estimate, not in a machine out of memory hours later. Two things grow
with a run: the record rows it keeps (daily rows per automaker, one row per
recorded application) and the applications in the review office at once
(``resim.experiment.workload``: offered load against reviewer capacity, by queueing
theory). A sweep's size is checked from its design before any point is built.
"""

from __future__ import annotations

import os
import re

from ..scenario import Loaded
from ..scenario import ScenarioBase as Scenario
from ..scenario.errors import ScenarioError
from .workload import OfficeLoad, office_load

#: Rows one replication may keep in memory while it runs.
MAX_ROWS_PER_REPLICATION = 20_000_000
#: Rows a whole run may keep (they are gathered into the result files).
MAX_ROWS_PER_RUN = 200_000_000
#: (point, replication) units a sweep may hold.
MAX_SWEEP_UNITS = 10_000_000
#: Memory one application in review holds (measured with tracemalloc on the
#: office alone: about 0.9 kB; rounded up).
BYTES_PER_APPLICATION = 1_000
#: Share of the available memory a run may plan to use.
MEMORY_SHARE = 0.8

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def parse_memory(text: str) -> int:
    """``--max-memory``: bytes, or a number with K, M, G or T (powers of 1024)."""
    m = _SIZE.match(text)
    if not m or float(m.group(1)) <= 0:
        raise ScenarioError("--max-memory", "", "must be a size such as 4G, 500M or 2000000000", text)
    power = " kmgt".index(m.group(2).lower() or " ")
    return int(float(m.group(1)) * 1024**power)


def available_memory() -> int | None:
    """Memory the machine can give without swapping (Linux MemAvailable)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


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


def _steps(loaded: Loaded) -> list[tuple[str, Scenario]]:
    """The scenario in force at the start and after each policy change."""
    return [("", loaded.scenario), *((f" (after policy[{s.index}], day {s.day:g})", s.scenario)
                                      for s in loaded.timeline)]


def saturation_warnings(loaded: Loaded) -> list[str]:
    """One line per review stage whose offered load reaches its capacity."""
    lines, seen = [], set()
    for when, scn in _steps(loaded):
        for st in office_load(scn).stages:
            key = (st.index, round(st.offered, 6), st.reviewers)
            if st.saturated and key not in seen:  # a policy that leaves the stage as it was says nothing new
                seen.add(key)
                lines.append(
                    f"resim: warning: {loaded.source}: licensing.stages[{st.index}] ({st.name}){when}: "
                    f"offered load {st.offered:,.1f} erlangs on {st.reviewers:g} reviewers (utilisation "
                    f"{st.rho:.2f} >= 1): its queue grows for the whole run")
    return lines


def check_memory(loaded: Loaded, concurrent: int, max_memory: int | None = None) -> None:
    """Refuse a run whose applications in review at once would not fit in
    ``max_memory`` (default: the machine's available memory), with the
    estimate. ``concurrent`` is the number of replications running at once."""
    limit = max_memory if max_memory is not None else available_memory()
    if limit is None:
        return
    worst: OfficeLoad = max((office_load(s) for _, s in _steps(loaded)), key=lambda o: o.in_flight)
    need = worst.in_flight * BYTES_PER_APPLICATION * max(1, concurrent)
    if need <= MEMORY_SHARE * limit:
        return
    full = [s for s in worst.stages if s.saturated]
    key = f"licensing.stages[{full[0].index}].reviewers" if full else "licensing.background.applications_per_day"
    value = full[0].reviewers if full else loaded.scenario.licensing.background.applications_per_day
    where = "--max-memory" if max_memory is not None else "available memory"
    raise ScenarioError(
        loaded.source, key,
        f"about {worst.in_flight:,.0f} applications would be in review at once "
        f"({worst.applications_per_day:,.4g} a day{', with a saturated stage' if full else ''}), needing about "
        f"{_gb(need)} for {max(1, concurrent)} replication(s) at a time; {where} is {_gb(limit)}. "
        "Add reviewers, lower the load, shorten the horizon or use fewer --workers", value)


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def check_sweep(scn: Scenario, source: str, points: int, replications: int) -> None:
    per = rows_per_replication(scn)
    if per > MAX_ROWS_PER_REPLICATION:
        check_run(scn, source, 1)
    units = points * replications
    if units > MAX_SWEEP_UNITS:
        raise ScenarioError(source, "sweep", f"{points:,} points x {replications:,} replications is {units:,} "
                            f"units (limit {MAX_SWEEP_UNITS:,}); use fewer points or replications")


__all__ = ["available_memory", "check_memory", "check_run", "check_sweep", "parse_memory",
           "rows_per_replication", "saturation_warnings"]
