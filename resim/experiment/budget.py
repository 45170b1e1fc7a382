"""Work estimates: refuse absurd runs before they start, warn about
saturated review stages.

An analyst's typo (a thousand-year horizon, a billion replications, a
million background applications a day) must end in a one-line refusal with
the estimate, not in a machine out of memory hours later. Two things grow
with a run: the record rows it keeps (daily rows per automaker, one row per
recorded application) and the applications in the review office at once
(``resim.experiment.workload``: offered load against reviewer capacity, by queueing
theory). A sweep's size is checked from its design before any point is built.

Time is the third: ``replication_seconds`` (``resim.experiment.workload``)
estimates a replication from its entries, firms and review-stage visits, and
a run, sweep or calibration whose estimate on its workers exceeds
``--max-hours`` (default ``DEFAULT_MAX_HOURS``) is refused before the clock
starts, with the estimate and the flag. A run under the limit starts as
always (and stops within seconds on Ctrl-C).
"""

from __future__ import annotations

import os
import re

from ..scenario import Loaded
from ..scenario import ScenarioBase as Scenario
from ..scenario.errors import ScenarioError
from ..scenario.keys import format_loc
from .workload import OfficeLoad, office_load, replication_seconds

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
#: Hours a run, sweep or calibration may be estimated to take (``--max-hours``).
DEFAULT_MAX_HOURS = 24.0
#: Estimates above this many seconds are said before a run, sweep or calibration starts.
ANNOUNCE_SECONDS = 60.0

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
    return [("", loaded.scenario), *((f" (after {s.path}, day {s.day:g})", s.scenario)
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


def _heaviest(loaded: Loaded) -> OfficeLoad:
    """The step of the policy timeline whose office holds the most applications."""
    return max((office_load(s) for _, s in _steps(loaded)), key=lambda o: o.in_flight)


def _memory_key(loaded: Loaded, worst: OfficeLoad) -> tuple[str, object]:
    """The key to blame for an office that would not fit: a saturated
    stage's reviewers, else the background load."""
    full = [s for s in worst.stages if s.saturated]
    if full:
        return format_loc(["licensing", "stages", ("name", full[0].name), "reviewers"]), full[0].reviewers
    return "licensing.background.applications_per_day", loaded.scenario.licensing.background.applications_per_day


def check_memory(loaded: Loaded, concurrent: int, max_memory: int | None = None) -> None:
    """Refuse a run whose applications in review at once would not fit in
    ``max_memory`` (default: the machine's available memory), with the
    estimate. ``concurrent`` is the number of replications running at once."""
    limit = max_memory if max_memory is not None else available_memory()
    if limit is None:
        return
    worst = _heaviest(loaded)
    at_once = max(1, concurrent)
    need = worst.in_flight * BYTES_PER_APPLICATION * at_once
    if need <= MEMORY_SHARE * limit:
        return
    where = "--max-memory" if max_memory is not None else "available memory"
    raise _too_much_memory(loaded, worst, need, at_once, f"{where} is {_gb(limit)}")


def _too_much_memory(loaded: Loaded, worst: OfficeLoad, need: float, at_once: int, room: str) -> ScenarioError:
    """The error naming the key that makes the load (``room``: the memory there is)."""
    key, value = _memory_key(loaded, worst)
    full = ", with a saturated stage" if any(s.saturated for s in worst.stages) else ""
    return ScenarioError(
        loaded.source, key,
        f"about {worst.in_flight:,.0f} applications would be in review at once "
        f"({worst.applications_per_day:,.4g} a day{full}), needing about {_gb(need)} for {at_once} "
        f"replication(s) at a time; {room}. "
        "Add reviewers, lower the load, shorten the horizon or use fewer --workers", value)


def parse_hours(text: str) -> float:
    """``--max-hours``: a positive number of hours."""
    try:
        hours = float(text)
    except ValueError:
        hours = float("nan")
    if not hours > 0 or hours == float("inf"):
        raise ScenarioError("--max-hours", "", "must be a positive number of hours, e.g. 24 or 0.5", text)
    return hours


def replication_estimate(loaded: Loaded) -> float:
    """Seconds of one replication: the heaviest step of the policy timeline."""
    return max(replication_seconds(s) for _, s in _steps(loaded))


def run_seconds(per_replication: float, replications: int, workers: int) -> float:
    """Wall-clock seconds of ``replications`` on ``workers`` processes (a
    replication runs on one; the last ones may leave workers idle)."""
    rounds = -(-replications // max(1, min(workers, replications)))
    return per_replication * rounds


def duration_text(seconds: float) -> str:
    """``about 3.2 hours``: seconds in the largest unit that reads well."""
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"about {seconds / size:,.3g} {unit}"
    return f"about {seconds:.0f} seconds"


def check_time(seconds: float, source: str, what: str, workers: int, max_hours: float | None) -> None:
    """Refuse work estimated at more than ``max_hours`` (None: no limit)."""
    if max_hours is None or seconds <= max_hours * 3600:
        return
    raise ScenarioError(
        source, "", f"{what} would take {duration_text(seconds)} on {workers} worker(s) (estimated from its "
        f"entries, firms and review load), more than --max-hours {max_hours:g}; use fewer replications or "
        "points, a shorter horizon or fewer firms, or raise --max-hours", ...)


def hours_limit(max_hours: str | float | None) -> float:
    """The limit in hours: the default for None, a flag's text parsed, a number
    (``math.inf`` from the Python API: no limit) checked."""
    if max_hours is None:
        return DEFAULT_MAX_HOURS
    hours = parse_hours(max_hours) if isinstance(max_hours, str) else float(max_hours)
    if not hours > 0:
        raise ScenarioError("max_hours", "", "must be a positive number of hours", max_hours)
    return hours


def time_budget(loaded: Loaded, replications: int, workers: int, max_hours: str | float | None = None,
                what: str | None = None) -> str | None:
    """Refuse a run of ``replications`` on ``workers`` estimated over the
    limit; the line to print before a long one starts (None if short)."""
    seconds = run_seconds(replication_estimate(loaded), replications, workers)
    limit = hours_limit(max_hours)
    check_time(seconds, loaded.source, what or f"{replications:,} replications", workers, limit)
    return estimate_line(seconds, workers, limit)


def sweep_budget(points: list[Loaded], replications: int, workers: int,
                 max_hours: str | float | None = None) -> str | None:
    """Refuse a sweep whose points x replications are estimated over the
    limit; the line to print before a long one starts (None if short)."""
    per = sum(replication_estimate(p) for p in points) * replications
    seconds = per / max(1, min(workers, len(points) * replications))
    what = f"{len(points):,} points x {replications:,} replications"
    limit = hours_limit(max_hours)
    check_time(seconds, points[0].source if points else "sweep", what, workers, limit)
    return estimate_line(seconds, workers, limit)


def estimate_line(seconds: float, workers: int, limit: float) -> str | None:
    """What to say before work estimated at ``seconds`` starts: long work is
    announced (with the limit it was checked against and how to stop it), so
    nobody waits ten minutes without knowing; short work says nothing."""
    if seconds < ANNOUNCE_SECONDS:
        return None
    return (f"resim: estimated {duration_text(seconds)} on {workers} worker(s) (--max-hours {limit:g}); "
            "Ctrl-C stops it and keeps what finished")


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


__all__ = ["DEFAULT_MAX_HOURS", "hours_limit", "available_memory", "check_memory", "check_run", "check_sweep", "check_time",
           "duration_text", "parse_hours", "parse_memory", "replication_estimate", "rows_per_replication",
           "estimate_line", "run_seconds", "saturation_warnings", "sweep_budget",
           "time_budget"]
