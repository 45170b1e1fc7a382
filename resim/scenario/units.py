"""Durations and dates as scenario authors write them.

Analysts think in "45d", "26w", "6mo", "1y"; the model thinks in float days from
``scenario.start_date``. Parsing lives here, once, so every duration-valued key
accepts the same spellings and rejects the same mistakes.
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta

#: Days per unit. A month is a twelfth of a Julian year so that "12mo" == "1y".
UNIT_DAYS: dict[str, float] = {
    "d": 1.0,
    "w": 7.0,
    "mo": 365.25 / 12.0,
    "y": 365.25,
}

_DURATION_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(d|w|mo|y)\s*$")
_NOT_A_DURATION = 'must be a number of days or a string like "45d", "26w", "6mo", "1y"'


class NegativeDuration(ValueError):
    """A duration below 0. Its own class so that an error message can state
    the key's real lower bound (``> 0`` where the key refuses 0 too)."""


def parse_duration(value: object) -> float:
    """Return a duration in days from a number (days) or a string such as "6mo".

    Raises ``ValueError`` with a message a user can act on; booleans are refused
    because TOML ``true`` is never a duration.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(_NOT_A_DURATION)
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if not m:
            raise ValueError(_NOT_A_DURATION)
        days = float(m.group(1)) * UNIT_DAYS[m.group(2)]
    else:
        try:
            days = float(value)
        except OverflowError:  # an int beyond float's range (the Python API)
            days = math.inf
    if not math.isfinite(days):
        raise ValueError("must be finite")
    if days < 0:
        raise NegativeDuration("must be >= 0")
    return days


def parse_date(value: object) -> date:
    """Return a ``date`` from an ISO string or a TOML date."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError("must be an ISO date like 2025-04-04")


def day_to_date(start: date, day: float) -> date:
    """Calendar date of simulation day ``day`` (day 0 is ``start``)."""
    return start + timedelta(days=int(math.floor(day)))


def date_to_day(start: date, when: date) -> float:
    """Simulation day of a calendar date."""
    return float((when - start).days)
