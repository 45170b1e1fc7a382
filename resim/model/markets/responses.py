"""How buyers respond to price: pure functions of a price ratio (the price
over its base), each bounded and monotone, tested against their closed forms.

Each response grows with the number of doublings of the ratio, ``log2(r)``
(nothing at or below the base price), by a share per doubling, up to a bound:
a price four times its base with 0.1 per doubling is a 20% response.
"""

from __future__ import annotations

import math


def doublings(ratio: float) -> float:
    """``log2(ratio)`` above 1, else 0; 0 for a ratio that is not a finite positive number."""
    if not (math.isfinite(ratio) and ratio > 1.0):
        return 0.0
    return math.log2(ratio)


def bounded(ratio: float, per_doubling: float, bound: float) -> float:
    """``min(bound, per_doubling * log2(ratio))`` for a ratio above 1, else 0."""
    return min(bound, per_doubling * doublings(ratio))


def thrifted(content: float, ratio: float, per_doubling: float, max_reduction: float) -> float:
    """Content per vehicle (a share of the original) after thrifting at
    ``ratio``: ``1 - bounded(...)``, and never more than ``content``
    (a redesign is not undone when the price falls)."""
    return min(content, 1.0 - bounded(ratio, per_doubling, max_reduction))


def expanded(scale: float, ratio: float, per_doubling: float, max_increase: float, ramp_per_year: float,
             days: float) -> float:
    """Capacity (a share of its own) after ``days`` more days of answering
    ``ratio``: toward ``1 + bounded(...)`` by at most ``ramp_per_year`` a
    year, and never below ``scale`` (capacity built stays)."""
    target = 1.0 + bounded(ratio, per_doubling, max_increase)
    return max(scale, min(target, scale + ramp_per_year * max(days, 0.0) / 365.0))


def cover_kept(ratio: float, per_doubling: float, max_cut: float) -> float:
    """The share of its target cover a buyer keeps at ``ratio`` (destocking)."""
    return 1.0 - bounded(ratio, per_doubling, max_cut)
