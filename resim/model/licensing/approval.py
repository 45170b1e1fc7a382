"""Approval rates that change over time (``licensing.approval_path``).

A policy changes the approval rate in a step; in 2025 the share of European
requests approved rose from about 25% to about 60% over June (facts.md §1),
a ramp. A path of dated points gives the base rate of a decision made at
day ``t``: linear between the two points around ``t``, the first point's
rate before it and the last point's after it; two points at the same time
make a step (the later point's rate applies from that time). It replaces
``approval_rate``; the destination and end-use multipliers still apply.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date
from typing import Any

from ...scenario.units import date_to_day


class RatePath:
    """A piecewise-linear rate over simulation days."""

    __slots__ = ("days", "rates")

    def __init__(self, points: Any, start: date):
        self.days = [p.day if p.date is None else date_to_day(start, p.date) for p in points]
        self.rates = [p.rate for p in points]

    def __call__(self, t: float) -> float:
        """The rate at day ``t``."""
        days, rates = self.days, self.rates
        i = bisect_right(days, t)
        if i == 0:
            return float(rates[0])
        if i == len(days):
            return float(rates[-1])
        d0, d1 = days[i - 1], days[i]  # d0 <= t < d1
        return float(rates[i - 1] + (rates[i] - rates[i - 1]) * (t - d0) / (d1 - d0))
