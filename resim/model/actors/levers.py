"""An automaker's mitigation levers: the optional sub-tables of an
``[[automakers]]`` entry (``adaptive_target``, ``emergency``,
``anticipation``, ``substitution``, ``recycling``). Each lever is off when its
table is absent; what it does is in ``automaker.py`` and ``assembly.py``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from ...scenario.distributions import Days
from ...scenario.types import Fraction, Frozen, NonNeg, Positive
from ...scenario.units import parse_date

#: The events learning may start at: the day controls are announced (a
#: policy's ``announced`` date, else its own), or the day they come into force.
LEARNING_EVENTS = ("controls_announced", "controls_in_force")


def _start(value: Any) -> Any:
    """A date, or the name of an event."""
    if isinstance(value, str) and value.strip() in LEARNING_EVENTS:
        return value.strip()
    try:
        return parse_date(value)
    except ValueError:
        raise ValueError('must be a date like 2025-04-04, "controls_announced" or "controls_in_force"') from None


LearningStart = Annotated[date | str, BeforeValidator(_start)]


class AdaptiveTarget(Frozen):
    """Stockpiling: order up to max(target_days, estimated lead time +
    review_days + safety_days), capped at max_days. Lead times seen at
    arrival are smoothed with weight ``alpha`` on the newest; with
    ``censored`` the age of the oldest order not yet arrived is a lower bound
    on the estimate (it rises while licences are pending); with ``reviews``
    each decided licence application of the buyer's counts as a lead time of
    its review time plus the link's mean transit. With ``starts`` the target
    learns only from a date or an event on (lead times seen before count);
    before it, the target is ``target_days``."""

    alpha: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = 0.3
    safety_days: NonNeg = 30.0
    max_days: Positive = 365.0
    censored: bool = Field(default=False, description="the oldest open order's age bounds the estimate from below")
    reviews: bool = Field(default=False, description="decided applications' review times are evidence too")
    starts: LearningStart | None = Field(
        default=None, description="the date, or the event (controls_announced, controls_in_force), from which "
                                  "the target learns; absent: from day 0")


class Emergency(Frozen):
    """When cover (stock / daily need) falls below ``cover_days``, order only
    from suppliers outside the controlling jurisdiction, by air if allowed."""

    cover_days: NonNeg
    use_air: bool = True
    fly_licensed: bool = Field(
        default=False, description="below cover_days, licensed parcels from any supplier fly where a link can")


class Anticipation(Frozen):
    """Between a policy's announcement and its effect, a ``share_of_firms``
    of the entry's firms raise their order-up-to target by ``extra_days``
    (pre-buying ahead of announced controls)."""

    extra_days: Days
    share_of_firms: Fraction = 1.0


class Substitution(Frozen):
    """After ``trigger_days`` of continuous shortage, magnet need per vehicle
    falls linearly by up to ``max_reduction`` over ``ramp_days``."""

    trigger_days: Annotated[float, Field(ge=1.0, allow_inf_nan=False)]
    max_reduction: Fraction
    ramp_days: Positive


class Recycling(Frozen):
    """A ``fraction`` of consumed magnet mass returns to stock after ``lag_days``."""

    fraction: Fraction
    lag_days: Days
