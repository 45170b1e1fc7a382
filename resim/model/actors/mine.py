"""Mines: concentrate at ``output_t_per_day`` x ``composition``, with an
optional annual quota (China's MIIT quotas, facts.md §2) and random outages.
The ``[[mines]]`` table, the actor and its registration."""

from __future__ import annotations

from collections.abc import Collection, Generator
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import model_validator

from ...scenario import registry
from ...scenario.chain import ActorTable
from ...scenario.distributions import Distribution
from ...scenario.roles import ElementSource, Producer
from ...scenario.types import Element, Frozen, NonNeg, Period, Positive, Share, param
from ..products import CONCENTRATE
from ..shipping import Shipment
from .trade import Supplier

if TYPE_CHECKING:
    from ...scenario import ScenarioBase
    from ...scenario.registry import ActorKind
    from ..context import Context


class Outages(Frozen):
    """Random stoppages: time between failures and repair time, both in days."""

    between: Distribution = param(doc="time from the end of one outage (or day 0) to the next, calendar days")
    repair: Distribution = param(doc="length of an outage, calendar days")


class MineTable(ActorTable, ElementSource, Producer):
    """A mine: concentrate of a fixed element composition."""

    structural: ClassVar[tuple[str, ...]] = ("name", "jurisdiction", "composition")

    output_t_per_day: NonNeg = param(unit="t concentrate / day", doc="daily output")
    composition: dict[Element, Share] = param(
        min_length=1, unit="t element / t concentrate",
        doc="tonnes of each element per tonne of concentrate (summing to at most 1)")
    annual_quota_t: Positive | None = param(
        None, unit="t concentrate / calendar year", doc="output stops for the year when reached")
    outages: Outages | None = param(
        None, doc="random stoppages; both keys required if the table is given")
    initial_inventory_days: NonNeg = param(0.0, unit="days of output", doc="concentrate in stock at day 0")
    dispatch_days: Period = param(
        7.0, unit="days", doc="ship to customers every this many days (rounded to a whole number)")

    @model_validator(mode="after")
    def _sum(self) -> MineTable:
        if sum(self.composition.values()) > 1.0 + 1e-9:
            raise ValueError(
                f"composition fractions sum to {sum(self.composition.values()):g}, more than 1"
            )
        return self

    def source_elements(self) -> Collection[str]:
        return self.composition.keys()

    def daily_t(self) -> float:
        return self.output_t_per_day


class Mine(Supplier):
    def __init__(self, ctx: Context, kind: ActorKind, cfg: Any):
        super().__init__(ctx, kind, cfg)
        self.comp = ctx.elements.vec(cfg.composition)  # element tonnes per tonne of concentrate
        self._stock = cfg.initial_inventory_days * cfg.output_t_per_day
        ctx.ledger.opening_stock(self._stock * self.comp)
        self._down = False
        self._year = -1
        self._year_output = 0.0

    def unit_content(self) -> np.ndarray:
        return self.comp

    def start(self) -> None:
        super().start()
        if self.cfg.outages is not None:
            self.ctx.clock.process(self._outages())

    def next_duty(self, first: int) -> int:
        return self.next_multiple(first, "dispatch_days")

    def duty(self, day: int) -> None:
        self.advance(day + 1)
        self.read_prices(day)
        self.dispatch()

    def work_days(self, first: int, end: int) -> None:
        """Output for days ``first .. end-1``, calendar year by calendar year
        (the quota of a year caps the sum of its days)."""
        if self._down:
            return
        calendar = self.ctx.calendar
        day = first
        while day < end:
            stop = int(min(end, calendar.next_new_year(day)))
            self._produce(day, stop - day)
            day = stop

    def _produce(self, day: int, days: int) -> None:
        """``days`` days of output from ``day``, all in one calendar year."""
        year = self.ctx.calendar.year_of(day)
        if year != self._year:
            self._year, self._year_output = year, 0.0
        out = days * self.cfg.output_t_per_day * self.capacity_scale
        quota = self.cfg.annual_quota_t
        if quota is not None:
            out = max(0.0, min(out, quota - self._year_output))
        if out <= 0:
            return
        self._year_output += out
        self._stock += out
        self.ctx.ledger.produce(out * self.comp)

    def _outages(self) -> Generator[Any, Any, None]:
        """Alternate up and down times, drawn from the distributions in force
        (a policy may change them, or set ``outages`` to none)."""
        streams = self.ctx.streams
        cfg = self.cfg.outages
        between = streams.stream(f"mine/{self.name}/outage/between", cfg.between)
        repair = streams.stream(f"mine/{self.name}/outage/repair", cfg.repair)
        clock = self.ctx.clock
        while True:
            yield clock.timeout(between())
            if self.cfg.outages is None:
                return
            self.sync()
            self._down = True
            repair.set_dist(self.cfg.outages.repair)
            yield clock.timeout(repair())
            self.sync()
            self._down = False
            if self.cfg.outages is None:
                return
            between.set_dist(self.cfg.outages.between)

    def on_policy(self, old: ScenarioBase, new: ScenarioBase, changes: Any) -> None:
        had = self.cfg.outages is not None
        super().on_policy(old, new, changes)
        if not had and self.cfg.outages is not None:
            self.ctx.clock.process(self._outages())

    def available_for(self, remaining: float) -> float:
        return min(remaining, self._stock)

    def take(self, qty: float) -> tuple[float, np.ndarray]:
        self._stock -= qty
        return qty, qty * self.comp

    def restock(self, shp: Shipment) -> None:
        self._stock += shp.mass

    def _held(self) -> np.ndarray:
        return self._stock * self.comp


KIND = registry.register(registry.ActorKind("mines", MineTable, Mine, "mine", tier=0, product=CONCENTRATE))
