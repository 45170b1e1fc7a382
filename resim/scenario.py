"""The scenario schema: frozen, typed parameters of one experiment.

Scenario objects are *parameters*: read by the model, never mutated (live state
lives in the actors). Every field has a unit in its name or docstring; durations
accept "45d", "26w", "6mo", "1y". The JSON Schema (``resim schema``) is
generated from these classes, so editors can complete and check scenario files.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from .distributions import Days, Distribution
from .units import parse_date

ISODate = Annotated[date, BeforeValidator(parse_date)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNeg = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]

_SYMBOL = re.compile(r"^[A-Z][a-z]?$")


def _element_symbol(key: str) -> str:
    if not _SYMBOL.match(key):
        raise ValueError('element symbols look like "Nd" or "Dy"')
    return key


Element = Annotated[str, AfterValidator(_element_symbol)]
Jurisdiction = Annotated[str, Field(min_length=1, max_length=32)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _reviewers(value: Any) -> float:
    """Finite reviewer pools are integers >= 1; "inf" is an infinite-server stage."""
    if isinstance(value, str) and value.strip().lower() in ("inf", "infinite"):
        return math.inf
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError('must be >= 1 or "inf"')
    if value == math.inf:
        return math.inf
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        raise ValueError('must be a whole number >= 1 or "inf"')
    if value < 1:
        raise ValueError('must be >= 1 or "inf"')
    return float(value)


Reviewers = Annotated[float, BeforeValidator(_reviewers)]


def _whole(value: Any) -> Any:
    """A whole float (``3.0``, from a ``--grid LO:HI:N``) is the integer it names;
    anything else goes on to the strict integer check (no ``true`` or ``"3"``)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


Whole = Annotated[int, BeforeValidator(_whole)]


class Frozen(BaseModel):
    """Base for every scenario table: immutable, unknown keys are errors.

    Strict: TOML values are typed, so ``true`` or ``"10"`` where a number belongs
    is an error rather than a silent 1 or 10 (ints are still accepted as floats,
    and whole floats as ints: see ``Whole``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)


class ScenarioMeta(Frozen):
    name: Name = "unnamed scenario"
    description: str = ""
    start_date: ISODate = date(2025, 1, 1)
    horizon: Days = Field(default=365.0, description="simulated time, days or '2y'")
    replications: Whole = Field(default=100, ge=1, le=1_000_000)
    seed: Whole = Field(default=0, ge=0, lt=2**63)

    @field_validator("horizon", mode="after")
    @classmethod
    def _horizon(cls, horizon: float) -> float:
        # A field validator, so the error names scenario.horizon and its value.
        if horizon < 1:
            raise ValueError("must be at least 1 day")
        if horizon > 365.25 * 200:
            raise ValueError(f"must be at most 200 years ({horizon:g} days)")
        return horizon


class Controls(Frozen):
    """Export controls of one jurisdiction (China's since 2025-04-04)."""

    jurisdiction: Jurisdiction = "CN"
    controlled_elements: list[Element] = Field(
        default_factory=lambda: ["Sm", "Gd", "Tb", "Dy", "Lu", "Sc", "Y"]
    )
    de_minimis: Fraction = 0.001
    licence_mode: Literal["none", "per_shipment", "general"] = "none"
    lifetime_days: Days = Field(default=365.25 / 2, gt=0)
    renewal_lead_days: Days = 60.0
    shipment_validity_days: Days = Field(default=90.0, gt=0)
    quantity_cap_t: Positive | None = None
    annual_quota_t: Positive | None = None


class Stage(Frozen):
    name: Name
    reviewers: Reviewers = 1.0
    duration: Distribution


class Rework(Frozen):
    probability: Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)] = 0.0
    stage: Name = "technical"
    fix_days: Distribution = Field(
        default_factory=lambda: {"dist": "constant", "value": 10.0}, validate_default=True
    )


class Background(Frozen):
    """Other exporters' applications: they only load the reviewers."""

    applications_per_day: NonNeg = 0.0
    destination: Jurisdiction = "other"
    end_use: Literal["civil", "dual_use", "military"] = "civil"


def _default_stages() -> list[dict[str, Any]]:
    # facts.md §1 (seed article, 2025): technical 15-20, security 10-15, issuance 5-10 days.
    return [
        {"name": "technical", "reviewers": "inf", "duration": {"dist": "uniform", "low": 15, "high": 20}},
        {"name": "security", "reviewers": "inf", "duration": {"dist": "uniform", "low": 10, "high": 15}},
        {"name": "issuance", "reviewers": "inf", "duration": {"dist": "uniform", "low": 5, "high": 10}},
    ]


class Licensing(Frozen):
    approval_rate: Fraction = 1.0
    approval_by_destination: dict[Jurisdiction, NonNeg] = Field(default_factory=dict)
    approval_by_end_use: dict[Literal["civil", "dual_use", "military"], NonNeg] = Field(
        default_factory=dict
    )
    working_days: bool = False
    holidays: list[ISODate] = Field(default_factory=list)
    resubmit_days: Distribution = Field(
        default_factory=lambda: {"dist": "constant", "value": 20.0}, validate_default=True
    )
    max_attempts: Whole = Field(default=1, ge=1, le=1000)
    rework: Rework = Field(default_factory=Rework)
    background: Background = Field(default_factory=Background)
    stages: list[Stage] = Field(default_factory=_default_stages, min_length=1, validate_default=True)

    @model_validator(mode="after")
    def _names(self) -> Licensing:
        names = [s.name for s in self.stages]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"stage names must be unique, \"{sorted(dup)[0]}\" repeats")
        return self


class Grade(Frozen):
    """A magnet grade: element mass fractions (the rest is Fe, B, Co...)."""

    content: dict[Element, Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]] = Field(
        min_length=1
    )

    @model_validator(mode="after")
    def _sum(self) -> Grade:
        if sum(self.content.values()) > 1.0 + 1e-9:
            raise ValueError(f"element fractions sum to {sum(self.content.values()):g}, more than 1")
        return self


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


class Outages(Frozen):
    """Random stoppages: time between failures and repair time, both in days."""

    between: Distribution
    repair: Distribution


class _Actor(Frozen):
    name: Name
    jurisdiction: Jurisdiction

    @property
    def kind(self) -> str:
        return type(self).__name__.lower()


class _Buyer(_Actor):
    suppliers: list[SupplierLink] = Field(min_length=1)
    initial_inventory_days: NonNeg = 30.0
    review_days: Annotated[float, Field(ge=1.0, allow_inf_nan=False)] = 7.0
    target_days: NonNeg = 30.0
    end_use: Literal["civil", "dual_use", "military"] = "civil"

    @model_validator(mode="after")
    def _shares(self) -> _Buyer:
        total = sum(s.share for s in self.suppliers)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"supplier shares must sum to 1, they sum to {total:g}")
        names = [s.name for s in self.suppliers]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"supplier \"{sorted(dup)[0]}\" is listed twice")
        return self


class Mine(_Actor):
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


class Separator(_Buyer):
    capacity_t_per_day: NonNeg
    recovery: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = 0.9
    dispatch_days: Annotated[float, Field(ge=1.0, allow_inf_nan=False)] = 7.0


class MagnetMaker(_Buyer):
    grade: Name
    capacity_t_per_day: NonNeg
    price_usd_per_kg: NonNeg = 0.0
    domestic_first: bool = False
    dispatch_days: Annotated[float, Field(ge=1.0, allow_inf_nan=False)] = 7.0
    finished_stock_days: NonNeg = Field(
        default=7.0, description="finished magnets kept beyond open orders, days of capacity"
    )


class AdaptiveTarget(Frozen):
    """Stockpiling: order up to max(target_days, observed lead time +
    review_days + safety_days), capped at max_days. Lead times are smoothed
    with weight ``alpha`` on the newest arrival."""

    alpha: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = 0.3
    safety_days: NonNeg = 30.0
    max_days: Positive = 365.0


class Emergency(Frozen):
    """When cover (stock / daily need) falls below ``cover_days``, order only
    from suppliers outside the controlling jurisdiction, by air if allowed."""

    cover_days: NonNeg
    use_air: bool = True


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


class Automaker(_Buyer):
    vehicles_per_day: Positive | None = None
    magnet_kg_per_vehicle: Positive | None = None
    demand_t_per_day: Positive | None = None
    target_days: NonNeg = 90.0
    initial_inventory_days: NonNeg = 60.0
    backlog: bool = False
    catch_up: NonNeg = Field(
        default=0.2, description="with backlog, extra output per day as a share of normal"
    )
    adaptive_target: AdaptiveTarget | None = None
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


class Stockpile(_Actor):
    """A strategic reserve of finished magnets released to named automakers
    when their cover falls below ``release_below_days``."""

    grade: Name
    initial_t: NonNeg
    release_to: list[Name] = Field(min_length=1)
    release_below_days: NonNeg = 30.0
    release_t_per_day: Positive = 1.0
    transit: Distribution = Field(
        default_factory=lambda: {"dist": "constant", "value": 7.0}, validate_default=True
    )


class Policy(Frozen):
    """A change of scenario values at a date (or day)."""

    date: ISODate | None = None
    day: Days | None = None
    set: dict[str, Any] = Field(min_length=1)
    note: str = ""

    @model_validator(mode="after")
    def _when(self) -> Policy:
        if (self.date is None) == (self.day is None):
            raise ValueError("give exactly one of date or day")
        return self


class Sweep(Frozen):
    replications: Whole = Field(default=50, ge=1)
    grid: dict[str, list[Any]] = Field(default_factory=dict)


class Output(Frozen):
    #: "auto": every application when there is no supply chain, else exporters' only.
    licence_records: Literal["auto", "all", "exporters"] = "auto"


class Scenario(Frozen):
    """A whole scenario file after ``extends`` and ``--set``."""

    extends: str | None = Field(default=None, description="path of a scenario this one overrides")
    scenario: ScenarioMeta = Field(default_factory=ScenarioMeta)
    controls: Controls = Field(default_factory=Controls)
    licensing: Licensing = Field(default_factory=Licensing)
    grades: dict[Name, Grade] = Field(default_factory=dict)
    mines: list[Mine] = Field(default_factory=list)
    separators: list[Separator] = Field(default_factory=list)
    magnet_makers: list[MagnetMaker] = Field(default_factory=list)
    automakers: list[Automaker] = Field(default_factory=list)
    stockpiles: list[Stockpile] = Field(default_factory=list)
    policy: list[Policy] = Field(default_factory=list)
    sweep: Sweep = Field(default_factory=Sweep)
    output: Output = Field(default_factory=Output)

    @property
    def actors(self) -> list[_Actor]:
        return [*self.mines, *self.separators, *self.magnet_makers, *self.automakers, *self.stockpiles]

    @property
    def has_supply_chain(self) -> bool:
        return bool(self.automakers or self.magnet_makers or self.separators or self.mines)

    def stage_names(self) -> list[str]:
        return [s.name for s in self.licensing.stages]
