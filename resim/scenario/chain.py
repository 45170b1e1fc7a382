"""The supply chain's tables: one schema class per actor kind, and the
supplier links between them.

Each class is named in the actor registry (``resim/registry.py``), which is
what makes ``[[mines]]`` or ``[[magnet_makers]]`` a table of a scenario file.
``structural`` names the fields a ``[[policy]]`` may not change: they fix the
network when a run is built (who buys from whom, where actors are, what they
make of what).
"""

from __future__ import annotations

import math
from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from .distributions import Days, Distribution
from .types import Element, Fraction, Frozen, Jurisdiction, Name, NonNeg, Positive, Whole


class AirFreight(Frozen):
    """Air freight on a link, used by an automaker's emergency orders:
    faster and dearer (facts.md §2: about 5x the cost of sea freight)."""

    transit: Distribution
    cost_usd_per_kg: NonNeg = 0.0


class SupplierLink(Frozen):
    name: Name
    share: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = 1.0
    transit: Distribution = Field(
        default_factory=lambda: {"dist": "constant", "value": 0.0}, validate_default=True
    )
    qualification_days: Days = Field(
        default=0.0, description="no order to this supplier before this day (qualifying a new source)"
    )
    premium: NonNeg = Field(default=0.0, description="price premium over the supplier's price, as a fraction")
    air_freight: AirFreight | None = None
    elements: list[Element] | None = Field(
        default=None, description="the elements bought from this supplier (oxide buyers; default: all)")

    def supplies(self, element: str) -> bool:
        return self.elements is None or element in self.elements


class Outages(Frozen):
    """Random stoppages: time between failures and repair time, both in days."""

    between: Distribution
    repair: Distribution


class ActorTable(Frozen):
    """What every actor entry has: a unique name and a jurisdiction."""

    #: Fields a policy may not change (the run's network is built from them).
    structural: ClassVar[tuple[str, ...]] = ("name", "jurisdiction")

    name: Name
    jurisdiction: Jurisdiction

    def grade_shares(self) -> dict[str, float]:
        """The magnet grades this entry makes or holds, with their shares
        (``grade`` alone: all of it; no grade: none)."""
        mix = getattr(self, "mix", None)
        if mix is not None:
            return dict(mix)
        grade = getattr(self, "grade", None)
        return {grade: 1.0} if grade is not None else {}

    def structure(self, skip: tuple[str, ...] = ()) -> tuple[object, ...]:
        """The values of the structural fields but ``skip`` (supplier links by name)."""
        out: list[object] = []
        for f in self.structural:
            if f in skip:
                continue
            v = getattr(self, f)
            if f == "suppliers":
                v = tuple(s.name for s in v)
            elif isinstance(v, dict):
                v = tuple(sorted(v.items()))
            elif isinstance(v, list):
                v = tuple(v)
            out.append(v)
        return tuple(out)


class BuyerTable(ActorTable):
    """An actor that orders from suppliers with a periodic order-up-to policy."""

    structural: ClassVar[tuple[str, ...]] = ("name", "jurisdiction", "suppliers")

    suppliers: list[SupplierLink] = Field(min_length=1)
    initial_inventory_days: NonNeg = 30.0
    review_days: Annotated[float, Field(ge=1.0, allow_inf_nan=False)] = 7.0
    target_days: NonNeg = 30.0
    end_use: Literal["civil", "dual_use", "military"] = "civil"

    @model_validator(mode="after")
    def _shares(self) -> BuyerTable:
        # Shares add up to 1 over the suppliers of each element: those that
        # supply everything, plus those that name it in ``elements``.
        named = sorted({e for s in self.suppliers for e in (s.elements or ())})
        everything = [s.share for s in self.suppliers if s.elements is None]
        for element, shares in [(None, everything), *((e, [s.share for s in self.suppliers if s.supplies(e)])
                                                        for e in named)]:
            if element is None and not shares and named:
                continue  # every supplier names its elements
            total = sum(shares)
            if abs(total - 1.0) > 1e-6:
                of = f" of {element}" if element else ""
                raise ValueError(f"supplier shares{of} must sum to 1, they sum to {total:g}")
        names = [s.name for s in self.suppliers]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"supplier \"{sorted(dup)[0]}\" is listed twice")
        return self


class Mine(ActorTable):
    structural: ClassVar[tuple[str, ...]] = ("name", "jurisdiction", "composition")

    output_t_per_day: NonNeg
    composition: dict[Element, Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]] = (
        Field(min_length=1)
    )
    annual_quota_t: Positive | None = None
    outages: Outages | None = None
    initial_inventory_days: NonNeg = 0.0
    dispatch_days: Annotated[float, Field(ge=1.0, allow_inf_nan=False)] = 7.0

    @model_validator(mode="after")
    def _sum(self) -> Mine:
        if sum(self.composition.values()) > 1.0 + 1e-9:
            raise ValueError(
                f"composition fractions sum to {sum(self.composition.values()):g}, more than 1"
            )
        return self


class Separator(BuyerTable):
    capacity_t_per_day: NonNeg
    recovery: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = 0.9
    dispatch_days: Annotated[float, Field(ge=1.0, allow_inf_nan=False)] = 7.0


class MagnetMaker(BuyerTable):
    """Makes magnets of one ``grade``, or of several in fixed shares
    (``grades = { N42SH = 0.7, N48 = 0.3 }``): its capacity is tonnes of the
    mix, and each tonne needs the mix's elements (bill of materials)."""

    structural: ClassVar[tuple[str, ...]] = ("name", "jurisdiction", "suppliers", "grade", "grades")

    grade: Name | None = None
    grades: dict[Name, Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | Literal["rest"]] | None = Field(
        default=None, min_length=1,
        description='grades made, with their shares of output; one share may be "rest" (1 minus the others)')
    capacity_t_per_day: NonNeg
    price_usd_per_kg: NonNeg = 0.0
    domestic_first: bool = False
    dispatch_days: Annotated[float, Field(ge=1.0, allow_inf_nan=False)] = 7.0
    finished_stock_days: NonNeg = Field(
        default=7.0, description="finished magnets kept beyond open orders, days of capacity"
    )

    @model_validator(mode="after")
    def _mix(self) -> MagnetMaker:
        if (self.grade is None) == (self.grades is None):
            raise ValueError("give either grade or grades (a mix with shares)")
        if self.grades is not None:
            rest = [g for g, x in self.grades.items() if x == "rest"]
            given = sum(x for x in self.grades.values() if x != "rest")
            if len(rest) > 1:
                raise ValueError(f'only one grade share may be "rest", not {", ".join(rest)}')
            if rest and given > 1.0 + 1e-9:
                raise ValueError(f'the other grade shares sum to {given:g}, more than 1: nothing is left for "rest"')
            if not rest and abs(given - 1.0) > 1e-6:
                raise ValueError(f"grade shares must sum to 1, they sum to {given:g}")
        return self

    @property
    def mix(self) -> dict[str, float]:
        """Grade -> share of output (one grade: all of it; "rest": what the others leave)."""
        if self.grades is None:
            return {self.grade: 1.0}  # type: ignore[dict-item]
        given = sum(x for x in self.grades.values() if x != "rest")
        return {g: (max(0.0, 1.0 - given) if x == "rest" else float(x)) for g, x in self.grades.items()}


class AdaptiveTarget(Frozen):
    """Stockpiling: order up to max(target_days, estimated lead time +
    review_days + safety_days), capped at max_days. Lead times seen at
    arrival are smoothed with weight ``alpha`` on the newest; with
    ``censored`` the age of the oldest order not yet arrived is a lower bound
    on the estimate (it rises while licences are pending); with ``reviews``
    each decided licence application of the buyer's counts as a lead time of
    its review time plus the link's mean transit."""

    alpha: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = 0.3
    safety_days: NonNeg = 30.0
    max_days: Positive = 365.0
    censored: bool = Field(default=False, description="the oldest open order's age bounds the estimate from below")
    reviews: bool = Field(default=False, description="decided applications' review times are evidence too")


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


class Automaker(BuyerTable):
    """An automaker, a supplier base or an aggregate buyer; with ``firms = N``
    a population of N firms sharing the entry's demand by ``size``, each with
    its own stock, orders and licences and its own draw of the per-firm
    values (``initial_inventory_days``, ``target_days``, ``size``, and its
    approval standing, spread by ``approval_spread``)."""

    vehicles_per_day: Positive | None = None
    magnet_kg_per_vehicle: Positive | None = None
    demand_t_per_day: Positive | None = None
    firms: Whole = Field(default=1, ge=1, le=100_000, description="firms in this entry (a population)")
    target_days: Distribution = Field(
        default_factory=lambda: {"dist": "constant", "value": 90.0}, validate_default=True,
        description="order-up-to target, days of demand (per firm: a distribution)")
    initial_inventory_days: Distribution = Field(
        default_factory=lambda: {"dist": "constant", "value": 60.0}, validate_default=True,
        description="stock at the start, days of demand (per firm: a distribution)")
    size: Distribution = Field(
        default_factory=lambda: {"dist": "constant", "value": 1.0}, validate_default=True,
        description="each firm's weight in the entry's demand (normalised)")
    approval_spread: Fraction = Field(
        default=0.0, description="share of the variance of approvals that lies between firms (0: none)")
    grade_choice: Literal["mix", "per_firm"] = Field(
        default="mix", description="mix: every firm needs the grades it buys in their shares; "
                                   "per_firm: each firm uses one grade, drawn with those shares")
    backlog: bool = False
    catch_up: NonNeg = Field(
        default=0.2, description="with backlog, extra output per day as a share of normal"
    )
    adaptive_target: AdaptiveTarget | None = None
    anticipation: Anticipation | None = None
    emergency: Emergency | None = None
    substitution: Substitution | None = None
    recycling: Recycling | None = None
    reference_price_usd_per_kg: NonNeg | None = Field(
        default=None, description="price extra costs are counted against (default: cheapest supplier)"
    )

    @model_validator(mode="after")
    def _demand(self) -> Automaker:
        by_vehicle = self.vehicles_per_day is not None
        if by_vehicle and self.magnet_kg_per_vehicle is None:
            raise ValueError("vehicles_per_day needs magnet_kg_per_vehicle")
        if by_vehicle == (self.demand_t_per_day is not None):
            raise ValueError(
                "give either vehicles_per_day with magnet_kg_per_vehicle, or demand_t_per_day"
            )
        if self.size.mean <= 0:
            raise ValueError("size must have a positive mean (it weighs the firms' demand)")
        return self

    @property
    def demand_t(self) -> float:
        """Magnet demand in tonnes per day."""
        if self.demand_t_per_day is not None:
            return self.demand_t_per_day
        return self.vehicles_per_day * self.magnet_kg_per_vehicle / 1000.0  # type: ignore[operator]

    @property
    def t_per_vehicle(self) -> float:
        """Tonnes of magnet per vehicle; NaN for an aggregate buyer without vehicles."""
        if self.magnet_kg_per_vehicle is None:
            return math.nan
        return self.magnet_kg_per_vehicle / 1000.0


class Stockpile(ActorTable):
    """A strategic reserve of finished magnets released to named automakers
    when their cover falls below ``release_below_days``."""

    structural: ClassVar[tuple[str, ...]] = ("name", "jurisdiction", "grade", "release_to")

    grade: Name
    initial_t: NonNeg
    release_to: list[Name] = Field(min_length=1)
    release_below_days: NonNeg = 30.0
    release_t_per_day: Positive = 1.0
    transit: Distribution = Field(
        default_factory=lambda: {"dist": "constant", "value": 7.0}, validate_default=True
    )
