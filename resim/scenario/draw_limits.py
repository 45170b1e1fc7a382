"""Limits on distribution parameters that keep every draw a finite float.

Split from ``distributions`` so the kinds stay readable; the reasons are in
that module's docstring. ``distributions`` re-exports every name here.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from .units import parse_duration

#: The largest parameter of a distribution (days, or a weight for ``size``):
#: millions of times any real duration, and small enough that a mean, a
#: spread or a product of two parameters stays finite.
LARGEST = 1e100
#: Entries of a quantile table or parts of a mixture: far beyond any survey.
MAX_TABLE_POINTS = 1_000
#: The smallest positive mean, scale or ``cv``: below it draws underflow to 0
#: (a lognormal's, an exponential's) or ``1 / cv**2`` overflows (a gamma's).
SMALLEST = 1e-100
#: A gamma's smallest shape (``cv`` at most 5): with a smaller shape more than
#: one draw in a million underflows to exactly 0 (P(X < 5e-324) ~ (5e-324 /
#: scale) ** shape); a lognormal takes any ``cv`` up to ``LARGEST``.
MIN_GAMMA_SHAPE = 0.04
MAX_GAMMA_CV = MIN_GAMMA_SHAPE**-0.5


def _not_huge(value: float) -> float:
    if value > LARGEST:
        raise ValueError(f"must be at most {LARGEST:g}: larger values overflow when drawn")
    return value


def _not_tiny(value: float) -> float:
    """For parameters that must be positive."""
    if value <= 0:
        raise ValueError("must be > 0")
    if value < SMALLEST:
        raise ValueError(f"must be at least {SMALLEST:g}: smaller values underflow to 0 when drawn")
    return value


def _zero_or_not_tiny(value: float) -> float:
    if 0 < value < SMALLEST:
        raise ValueError(f"must be 0 or at least {SMALLEST:g}: smaller values underflow to 0 when drawn")
    return value


def _gamma_cv(value: float) -> float:
    if value > MAX_GAMMA_CV:
        raise ValueError(f"must be at most {MAX_GAMMA_CV:g} (shape at least {MIN_GAMMA_SHAPE:g}): with a larger "
                         "cv more than one gamma draw in a million underflows to 0; a lognormal takes any cv")
    return value


def _gamma_shape(value: float) -> float:
    if value < MIN_GAMMA_SHAPE:
        raise ValueError(f"must be at least {MIN_GAMMA_SHAPE:g}: with a smaller shape more than one draw in a "
                         "million underflows to 0; a lognormal takes any spread")
    return value


#: A distribution's parameter in days (or a weight), at most ``LARGEST``.
Value = Annotated[float, BeforeValidator(parse_duration), AfterValidator(_not_huge)]
#: A positive mean or scale: also at least ``SMALLEST``.
Scale = Annotated[float, BeforeValidator(parse_duration), AfterValidator(_not_huge), AfterValidator(_not_tiny)]
#: A spread (sd in days, cv) that may be 0: at most ``LARGEST``, else 0 or at least ``SMALLEST``.
Spread = Annotated[float, AfterValidator(_not_huge), AfterValidator(_zero_or_not_tiny)]
