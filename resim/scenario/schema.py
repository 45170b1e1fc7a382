"""The scenario schema outside the supply chain: run settings, export
controls, the licence review office, magnet grades, policies, sweeps and
output options.

Scenario objects are *parameters*: read by the model, never mutated (live state
lives in the actors). Every field has a unit in its name or docstring; durations
accept "45d", "26w", "6mo", "1y". The JSON Schema (``resim schema``) is
generated from these classes, so editors can complete and check scenario files.
The actor tables build on ``chain.py`` and are declared by each kind's own
module (``registry.py``); the whole
document is assembled from the actor registry in ``document.py``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from .distributions import Days, Distribution, DistSpec
from .types import (
    Element,
    Fraction,
    Frozen,
    ISODate,
    Jurisdiction,
    Name,
    NonNeg,
    Positive,
    Reviewers,
    Whole,
    repeated,
)


class ScenarioMeta(Frozen):
    name: Name = "unnamed scenario"
    description: str = ""
    start_date: ISODate = date(2025, 1, 1)
    horizon: Days = Field(default=365.0, description="simulated time, days or '2y'")
    replications: Whole = Field(default=100, ge=1, le=1_000_000)
    seed: Whole = Field(default=0, ge=0, lt=2**63)
    #: The ``[[branch]]`` a plain run writes to the standard result files
    #: (required when the scenario has branches).
    default_branch: Name | None = None

    @field_validator("horizon", mode="after")
    @classmethod
    def _horizon(cls, horizon: float) -> float:
        # A field validator, so the error names scenario.horizon and its value.
        if horizon < 1:
            raise ValueError("must be at least 1 day")
        if horizon > 365.25 * 200:
            raise ValueError(f"must be at most 200 years ({horizon:g} days)")
        return horizon


class GeneralLicenceGrant(Frozen):
    """General licences an exporter holds for some of its customers; its
    other customers' goods follow ``licence_mode`` (from December 2025 general
    licences went to named buyers of a few large exporters, facts.md §1).
    ``customers`` names automaker or buyer entries (every firm of a
    population); ``share_of_customers`` covers that share of the exporter's
    customers instead, each customer's place fixed by its name (so the same
    customers hold licences in every scenario of a comparison, and a larger
    share keeps those of a smaller one)."""

    exporter: Name
    customers: list[Name] = Field(default_factory=list)
    share_of_customers: Fraction | None = None
    #: The licences' lifetime (default: ``controls.lifetime_days``).
    lifetime_days: Days | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _whom(self) -> GeneralLicenceGrant:
        if bool(self.customers) == (self.share_of_customers is not None):
            raise ValueError("give either customers (a list of entry names) or share_of_customers, not both")
        return self


class Customs(Frozen):
    """Customs treatment of goods that need no licence: in April-May 2025
    Chinese customs cleared every NdFeB magnet under one HS code, so magnets
    of Dy/Tb-free grades waited too while exporters proved they held no
    controlled element (facts.md §1). Each such parcel is held with
    probability ``share_held`` for a ``delay`` drawn per parcel; a
    ``[[policy]]`` sets the table at a date and lifts it with
    ``share_held = 0``."""

    share_held: Fraction
    delay: Distribution
    #: The products whose uncontrolled parcels share a customs code with controlled ones.
    products: list[Literal["concentrate", "oxide", "magnet"]] = Field(default_factory=lambda: ["magnet"],
                                                                       min_length=1)


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
    #: The annual quota is issued in this many equal batches, at the start of
    #: each part of the year (2: 1 January and 1 July; MOFCOM issued half-year
    #: batches, facts.md §3 / observed_2010.csv). 1 = all on 1 January.
    quota_batches: Literal[1, 2, 3, 4, 6, 12] = 1
    #: Exporters that get general licences while the others follow
    #: ``licence_mode`` (from December 2025 only large exporters did, facts.md §1).
    general_licence_exporters: list[Name] = Field(default_factory=list)
    #: General licences for some customers of an exporter (``[[controls.general_licences]]``).
    general_licences: list[GeneralLicenceGrant] = Field(default_factory=list)
    #: Uncontrolled parcels of a controlled product held at customs (``[controls.customs]``).
    customs: Customs | None = None


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


EndUse = Literal["civil", "dual_use", "military"]


class Background(Frozen):
    """Other exporters' applications: they only load the reviewers."""

    applications_per_day: NonNeg = 0.0
    destination: Jurisdiction = "other"
    end_use: Literal["civil", "dual_use", "military"] = "civil"


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def _default_stages() -> list[dict[str, Any]]:
    # facts.md §1 (seed article, 2025): technical 15-20, security 10-15, issuance 5-10 days.
    return [
        {"name": "technical", "reviewers": "inf", "duration": {"dist": "uniform", "low": 15, "high": 20}},
        {"name": "security", "reviewers": "inf", "duration": {"dist": "uniform", "low": 10, "high": 15}},
        {"name": "issuance", "reviewers": "inf", "duration": {"dist": "uniform", "low": 5, "high": 10}},
    ]


class RatePoint(Frozen):
    """One point of an approval path: the rate at a date (or day)."""

    date: ISODate | None = None
    day: Days | None = None
    rate: Fraction

    @model_validator(mode="after")
    def _when(self) -> RatePoint:
        if (self.date is None) == (self.day is None):
            raise ValueError("give exactly one of date or day")
        return self


def _path(points: list[RatePoint]) -> list[RatePoint]:
    """Points all dated or all by day, in time order (equal times make a step)."""
    if len({p.date is None for p in points}) > 1:
        raise ValueError("give every point a date or every point a day, not both")
    times = [p.date if p.date is not None else p.day for p in points]
    for i in range(1, len(times)):
        if times[i] < times[i - 1]:  # type: ignore[operator]
            raise ValueError(f"points must be in time order; point {i} comes before point {i - 1}")
    return points


RatePath = Annotated[list[RatePoint], Field(max_length=1000), AfterValidator(_path)]


class Licensing(Frozen):
    approval_rate: Fraction = 1.0
    #: The base rate over time, linear between dated points (replaces ``approval_rate``).
    approval_path: RatePath = Field(default_factory=list)
    approval_by_destination: dict[Jurisdiction, NonNeg] = Field(default_factory=dict)
    approval_by_end_use: dict[Literal["civil", "dual_use", "military"], NonNeg] = Field(
        default_factory=dict
    )
    #: Approval paths by destination *and* end use (the January 2026 ban on
    #: dual-use exports to Japanese military end users: ``{ JP = { military = 0 } }``):
    #: a listed pair's multiplier replaces the destination's times the end use's.
    approval_by_destination_and_end_use: dict[Jurisdiction, dict[EndUse, NonNeg]] = Field(default_factory=dict)
    working_days: bool = False
    holidays: list[ISODate] = Field(default_factory=list)
    #: Weekend dates worked instead of holidays (China's make-up working days).
    extra_working_days: list[ISODate] = Field(default_factory=list)
    #: When exporters file: when the goods are ready (``on_dispatch``), or when
    #: they accept the order, so the review runs while the goods are made.
    filing: Literal["on_dispatch", "on_order"] = "on_dispatch"
    #: Destinations whose applications get no decision while listed (reviews
    #: stalled, as reported for Japanese firms in early 2026): they finish
    #: review and wait; a policy lifting the stall has them decided at once.
    stalled_destinations: list[Jurisdiction] = Field(default_factory=list)
    #: The approved share of a shipment licence's tonnes (none: all or nothing).
    partial_approval: Distribution | None = None
    resubmit_days: Distribution = Field(
        default_factory=lambda: {"dist": "constant", "value": 20.0}, validate_default=True
    )
    max_attempts: Whole = Field(default=1, ge=1, le=1000)
    rework: Rework = Field(default_factory=Rework)
    background: Background = Field(default_factory=Background)
    stages: list[Stage] = Field(default_factory=_default_stages, min_length=1, validate_default=True)

    @field_validator("extra_working_days", mode="after")
    @classmethod
    def _make_up_days(cls, days: list[date], info: ValidationInfo) -> list[date]:
        # A make-up day replaces a weekend day; a weekday or a holiday is a
        # slip of the pen that would silently do nothing or contradict itself.
        holidays = set(info.data.get("holidays", ()))
        for d in days:
            if d.weekday() < 5:
                raise ValueError(f"{d.isoformat()} is a {_WEEKDAYS[d.weekday()]}, already a working day")
            if d in holidays:
                raise ValueError(f"{d.isoformat()} is also in holidays")
        return days

    @field_validator("partial_approval", mode="after")
    @classmethod
    def _fractions(cls, dist: DistSpec | None) -> DistSpec | None:
        if dist is None:
            return None
        # Draws must be fractions, so only distributions with a bounded
        # support qualify; their lower bounds are >= 0 (durations are).
        tops = {"constant": "value", "uniform": "high", "triangular": "high", "empirical": "values",
                "quantiles": "values"}
        if dist.dist not in tops:
            raise ValueError(f"{dist.dist} draws are unbounded; approved fractions need "
                             "constant, uniform, triangular, empirical or quantiles values in [0, 1]")
        top = getattr(dist, tops[dist.dist])
        high = max(top) if isinstance(top, list) else top
        if high > 1.0:
            raise ValueError(f"approved fractions must lie in [0, 1], this one reaches {high:g}")
        if high <= 0.0:
            raise ValueError("approves no tonnes at all (every value is 0); use approval_rate for refusals")
        return dist

    @model_validator(mode="after")
    def _names(self) -> Licensing:
        dup = repeated([s.name for s in self.stages])
        if dup is not None:
            raise ValueError(f"stage names must be unique, \"{dup}\" repeats")
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


class Policy(Frozen):
    """A change of scenario values at a date (or day)."""

    date: ISODate | None = None
    day: Days | None = None
    announced: ISODate | None = Field(
        default=None, description="the date the policy was announced (buyers with anticipation act from then)")
    set: dict[str, Any] = Field(min_length=1)
    note: str = ""

    @model_validator(mode="after")
    def _when(self) -> Policy:
        if (self.date is None) == (self.day is None):
            raise ValueError("give exactly one of date or day")
        if self.announced is not None and self.date is not None and self.announced > self.date:
            raise ValueError(f"announced ({self.announced}) must not be after date ({self.date})")
        return self


class Branch(Frozen):
    """One answer to a decision not yet known (``[[branch]]``): a name and
    the ``[[policy]]``-style changes it applies from their dates. Every branch
    runs with the scenario's seed, so the branches are scenarios with common
    random numbers, not weighted outcomes."""

    name: Name
    note: str = ""
    policy: list[Policy] = Field(default_factory=list)

    @field_validator("name", mode="after")
    @classmethod
    def _folder_name(cls, name: str) -> str:
        # Each branch's results go to branches/<name>/.
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise ValueError("must be letters, digits, '_', '-' or '.', starting with a letter or digit "
                             "(it names the folder branches/<name>/)")
        return name


class Sweep(Frozen):
    replications: Whole = Field(default=50, ge=1)
    grid: dict[str, list[Any]] = Field(default_factory=dict)


class Output(Frozen):
    #: "auto": every application when there is no supply chain, else exporters' only.
    licence_records: Literal["auto", "all", "exporters"] = "auto"
    firm_records: bool = Field(default=False, description="write firms.parquet: one row per firm and replication")
    stocks: bool = Field(default=False, description="write stocks.parquet: every actor's stock by element and day")


