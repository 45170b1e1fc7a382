"""The ``[markets]`` table: prices that form under shortage (off by default).

A scenario without the table has no prices and its record tables are those of
a run without markets. Base prices are the pre-shock prices of
``shared/domain/facts.md`` §3; the Chinese domestic one is quoted in yuan and
converted at ``cny_per_usd`` (an assumption, docs/data-sources.md). The rules
these parameters drive are in ``resim/model/markets/rules.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .distributions import Days, Distribution
from .types import Element, Fraction, Frozen, Name, NonNeg, Positive

Tier = Literal["contract", "spot"]


class Item(Frozen):
    """One traded item's base prices: where its markets start and rest."""

    china_cny_per_kg: Positive = Field(description="Chinese domestic base price, yuan per kg (facts §3)")
    outside_usd_per_kg: Positive = Field(description="base price outside China, US dollars per kg (facts §3)")
    element: Element | None = Field(default=None, description="the element whose tonnes in the magnets delivered "
                                                              "are paid at this item's price (`payments`); absent: "
                                                              "the item's name up to its first `_` (Dy_oxide: Dy)")

    def element_of(self, name: str) -> str:
        """The element this item prices: ``element``, else ``name`` up to its first ``_``."""
        return self.element if self.element is not None else name.split("_", 1)[0]


def _default_items() -> dict[str, dict[str, float]]:
    # facts.md §3: Dy oxide domestic 1,612.5 yuan/kg (2025-09 average, about the
    # $224/kg most 2025 volume paid); Europe $250-310/kg before April 2025.
    # Tb oxide domestic 4,800-4,850 yuan/kg; Europe $930-1,000/kg before.
    return {"Dy_oxide": {"china_cny_per_kg": 1612.5, "outside_usd_per_kg": 280.0},
            "Tb_oxide": {"china_cny_per_kg": 4825.0, "outside_usd_per_kg": 965.0}}


class Thrift(Frozen):
    """Thrifting: buyers redesign for less controlled content per vehicle
    (magnet per vehicle here: every grade holds Dy and Tb) once the price
    ratio they saw ``lag_days`` ago is high; never undone (facts §3: Japan's
    magnet use per car fell 40% after 2011 and stayed down)."""

    lag_days: Days = Field(default=180.0, ge=0.0, le=3650.0, description="days from a price to the redesign it causes")
    per_doubling: Fraction = Field(default=0.1, description="share of content removed per doubling of the price ratio")
    max_reduction: Fraction = Field(default=0.4, description="the most content thrifting removes (facts §3: -40%)")
    tier: Tier = Field(default="contract", description="the price it reads: `contract` or `spot`")


class Destock(Frozen):
    """Destocking: buyers lower their order-up-to cover while the price
    ratio (seen ``lag_days`` ago) is high, and raise it again when it falls."""

    lag_days: Days = Field(default=0.0, ge=0.0, le=3650.0, description="days from a price to the cover it sets")
    per_doubling: Fraction = Field(default=0.2, description="share of the target cover dropped per doubling of the price ratio")
    max_cut: Fraction = Field(default=0.5, description="the largest share of the target cover dropped")
    tier: Tier = Field(default="spot", description="the price it reads: `contract` or `spot`")


class Supply(Frozen):
    """Supply outside the controlling jurisdiction answers the price: mines,
    separators and magnet makers there raise their capacity toward
    ``1 + min(max_increase, per_doubling x log2 r)`` of their own, ``r`` the
    outside-China price ratio ``lag_days`` before, by at most
    ``ramp_per_year`` of their capacity a year; capacity built stays."""

    lag_days: Days = Field(default=365.0, ge=0.0, le=3650.0,
                           description="days from a price to the capacity it brings (restarts, expansions)")
    per_doubling: NonNeg = Field(default=0.25, le=10.0,
                                 description="capacity added per doubling of the price ratio, a share of its own")
    max_increase: NonNeg = Field(default=1.0, le=10.0, description="the most capacity added, a share of its own")
    ramp_per_year: Positive = Field(default=0.5, le=100.0,
                                    description="the fastest capacity grows, a share of its own per year")
    tier: Tier = Field(default="contract", description="the price it reads: `contract` or `spot`")


class Reserves(Frozen):
    """Stockpile releases answer the price: a stockpile tops up
    an automaker whose cover is below ``release_below_days x (1 +
    min(max_increase, per_doubling x log2 r))``, ``r`` that automaker's
    market's price ratio ``lag_days`` before (a release decision)."""

    lag_days: Days = Field(default=30.0, ge=0.0, le=3650.0, description="days from a price to the release it causes")
    per_doubling: NonNeg = Field(default=0.5, le=10.0,
                                 description="share added to `release_below_days` per doubling of the price ratio")
    max_increase: NonNeg = Field(default=2.0, le=10.0, description="the most added, a share of `release_below_days`")
    tier: Tier = Field(default="spot", description="the price it reads: `contract` or `spot`")


class Spot(Frozen):
    """Spot purchases by firms about to stop: a firm whose cover is below
    ``cover_days`` at a review buys up to ``max_share`` of its need on the
    spot market (traders' stocks outside the modelled chain), which ships by
    air and is paid at the spot price plus ``premium``."""

    cover_days: NonNeg = Field(default=14.0, le=3650.0,
                               description="days of need on hand below which a firm buys spot at its review (assumption)")
    max_share: Fraction = Field(default=0.5, description="the most of its need (target less position) a firm buys spot "
                                                         "at a review (assumption)")
    depth_t_per_day: NonNeg | None = Field(default=None, le=1e6,
                                           description="magnet tonnes a day the spot market gets, shared by every spot "
                                                       "buyer (it holds at most 30 days of it; starts full); absent: "
                                                       "no limit")
    premium: NonNeg = Field(default=0.0, le=100.0, description="share paid over the spot price")
    transit: Distribution = Field(default_factory=lambda: {"dist": "uniform", "low": 2.0, "high": 5.0},
                                  validate_default=True, description="days from purchase to arrival (by air; assumption)")
    air_cost_usd_per_kg: NonNeg = Field(default=0.0, le=1e4,
                                        description="air freight per kg of magnet, counted in `extra_cost_usd`")


def _four_to_seven_months() -> dict[str, float]:
    # facts.md: qualifying a new magnet supplier takes 4-7 months (122-213 days)
    return {"dist": "uniform", "low": 122.0, "high": 213.0}


class GradeSubstitution(Frozen):
    """Grade substitution after a qualification delay: a firm that runs
    short, or sees its market's price ratio reach ``trigger_ratio``, starts
    qualifying ``grade`` (a less-controlled grade, e.g. Dy/Tb-free); after
    ``qualification_days`` it moves ``share`` of its other grades' tonnes to
    it (magnet tonnes per vehicle unchanged)."""

    grade: Name = Field(description="the grade demand moves to (a grade of `[grades]`)")
    share: Fraction = Field(default=0.3, description="share of the other grades' tonnes moved to `grade` (assumption)")
    qualification_days: Distribution = Field(default_factory=_four_to_seven_months, validate_default=True,
                                             description="days from the trigger to the new grade in use (facts: "
                                                         "qualifying a magnet supplier takes 4-7 months)")
    trigger_ratio: float | None = Field(default=2.0, gt=1.0, le=1000.0, allow_inf_nan=False,
                                        description="price ratio (market price over base) that starts qualifying; "
                                                    "absent: only a shortfall does")
    on_shortfall: bool = Field(default=True, description="a firm short at its review starts qualifying")
    tier: Tier = Field(default="contract", description="the price it reads: `contract` or `spot`")


class Markets(Frozen):
    """Spot and contract prices per item, in China and outside it."""

    items: dict[Name, Item] = Field(default_factory=_default_items, min_length=1, validate_default=True,
                                    description="traded items and their base prices")
    step_days: Days = Field(default=7.0, ge=1.0, le=365.0, description="days between price observations")
    speed_per_day: Positive = Field(default=0.02, le=1.0,
                                    description="k: log spot price change per day per unit of excess demand share")
    elasticity: Positive = Field(default=0.5, le=10.0,
                                 description="price elasticity of demand (magnitude) the spot price clears against")
    contract_lag_days: Positive = Field(default=90.0, le=3650.0,
                                        description="time constant of the contract price's lag behind spot")
    cny_per_usd: Positive = Field(default=7.2, ge=1.0, le=20.0, description="yuan per US dollar (assumption)")
    max_ratio: float = Field(default=50.0, gt=1.0, le=1000.0, allow_inf_nan=False,
                             description="spot stays within base / max_ratio and base * max_ratio")

    payments: bool = Field(default=False, description="record what buyers pay for each delivery "
                                                      "(`payments` table; off by default)")
    spot: Spot | None = Field(default=None, description="firms about to stop buy on the spot market (off without it)")
    substitution: GradeSubstitution | None = Field(
        default=None, description="firms move demand to a less-controlled grade after qualifying it (off without it)")
    thrift: Thrift | None = Field(default=None, description="buyers thrift when prices are high (off without it)")
    destock: Destock | None = Field(default=None, description="buyers hold less cover when prices are high (off without it)")
    supply: Supply | None = Field(default=None,
                                  description="supply outside China grows when prices are high (off without it)")
    reserves: Reserves | None = Field(default=None,
                                      description="stockpiles release earlier when prices are high (off without it)")

    @property
    def buyers_respond(self) -> bool:
        """Whether automakers read prices during the run (thrift, destock)."""
        return self.thrift is not None or self.destock is not None

    @model_validator(mode="after")
    def _stable(self) -> Markets:
        # Near equilibrium the log price moves by -k * step * elasticity times
        # its distance: above 2 it overshoots further each step (diverges).
        gain = self.speed_per_day * self.step_days * self.elasticity
        if gain >= 2.0:
            raise ValueError(f"speed_per_day * step_days * elasticity = {gain:g} must be below 2 "
                             "(the price rule oscillates and diverges above it)")
        return self
