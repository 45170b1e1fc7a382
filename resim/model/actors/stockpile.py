"""Strategic stockpiles: a reserve of finished magnets (a government or
industry stockpile) released to named automakers when their cover falls below
a threshold. Releases travel on ordinary links (transit, and a licence if the
stockpile sits in the controlling jurisdiction). The ``[[stockpiles]]``
table, the actor and its registration."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ...scenario import ScenarioBase, SupplierLink, registry
from ...scenario.chain import ActorTable
from ...scenario.distributions import Distribution
from ...scenario.roles import GradeHolder, Recipients, Releaser, StockHolder
from ...scenario.types import Name, NonNeg, Positive, param
from ..products import MAGNET
from ..shipping import Shipment
from .base import Actor, LinkParams

if TYPE_CHECKING:
    from ...scenario.registry import ActorKind
    from ..context import Context


class StockpileTable(ActorTable, GradeHolder, StockHolder, Releaser):
    """A strategic reserve of finished magnets released to named automakers
    when their cover falls below ``release_below_days``."""

    structural: ClassVar[tuple[str, ...]] = ("name", "jurisdiction", "grade", "release_to")

    grade: Name = param(doc="the grade of the magnets held; must have a `[grades.NAME]` table")
    initial_t: NonNeg = param(unit="t magnet", doc="magnets held at day 0")
    release_to: list[Name] = param(min_length=1, doc="the automakers it releases to, served in this order")
    release_below_days: NonNeg = param(
        30.0, unit="days of demand", doc="release to an automaker whose cover is below this")
    release_t_per_day: Positive = param(
        1.0, unit="t magnet / day", doc="the most released to one automaker on one day")
    transit: Distribution = param(
        default_factory=lambda: {"dist": "constant", "value": 7.0}, validate_default=True, unit="calendar days",
        doc="time from release to arrival, drawn per release")

    def grade_shares(self) -> dict[str, float]:
        return {self.grade: 1.0}

    def grades_key(self) -> str:
        return "grade"

    def held_t(self) -> float:
        return self.initial_t

    def recipients(self) -> Recipients:
        return Recipients("release_to", "automakers", list(self.release_to))


class Stockpile(Actor):
    def __init__(self, ctx: Context, kind: ActorKind, cfg: Any):
        super().__init__(ctx, kind, cfg)
        self.bom = ctx.elements.grade(cfg.grade)
        self._unit = ctx.elements.mix({cfg.grade: 1.0})  # one tonne of its grade, per grade
        self._magnets = cfg.initial_t
        ctx.ledger.opening_stock(self._magnets * self.bom)

    def wanted_customers(self) -> list[tuple[str, LinkParams]]:
        """One release link per automaker named in ``release_to``; its
        transit is the stockpile's."""
        me, table = self.name, self.table

        def params(scn: ScenarioBase) -> SupplierLink:
            return SupplierLink(name=me, transit=scn.find(table, me).transit)

        return [(name, params) for name in self.cfg.release_to]

    def elaborate(self) -> None:
        names = list(dict.fromkeys(link.customer.entry for link in self.customers))
        if names != list(self.cfg.release_to):
            raise RuntimeError(f"{self.name}: releases to {self.cfg.release_to} but connected to {names}")

    def work_days(self, first: int, end: int) -> None:
        """A stockpile neither produces nor consumes."""

    def next_duty(self, first: int) -> int | None:
        """The first day a named automaker's cover may be below the threshold
        (``Automaker.first_day_cover_may_fall_below``). Arrivals only put it
        off: waking up early costs one check and a new plan. What could bring
        it forward - a policy, a release refused and returned - re-plans."""
        if self._magnets <= 1e-12:
            return None  # nothing to release until something comes back
        days: list[int | None] = [
            link.customer.first_day_cover_may_fall_below(self._threshold(link, first), link.in_flight, first)
            for link in self.customers]
        market = self.ctx.markets
        if market is not None and market.cfg.reserves is not None:
            days.append(market.next_price_seen(first, market.cfg.reserves.lag_days))
        days = [d for d in days if d is not None]
        return min(days) if days else None

    def _threshold(self, link: Any, day: float) -> float:
        """``release_below_days``, raised while prices are high (``[markets.reserves]``)."""
        market = self.ctx.markets
        if market is None or market.cfg.reserves is None:
            return self.cfg.release_below_days
        return self.cfg.release_below_days * market.release_scale(link.customer.jurisdiction, day)

    def duty(self, day: int) -> None:
        self.release()

    def release(self) -> None:
        """Top up every named automaker whose cover (on hand plus what this
        stockpile already sent) is below ``release_below_days``; a firm of a
        population gets its share of ``release_t_per_day``."""
        cfg = self.cfg
        now = self.ctx.clock.now
        for link in self.customers:
            if self._magnets <= 1e-12:
                return
            if link.customer.cover_days(link.in_flight) >= self._threshold(link, now):
                continue
            qty = min(cfg.release_t_per_day * link.customer.demand_share, self._magnets)
            self._magnets -= qty
            link.in_flight += qty
            link.send(None, qty, qty * self.bom, qty * self._unit)

    def returned(self, shp: Shipment) -> None:
        """A refused release comes back: the automaker's cover is lower than
        planned for, and there may be magnets again."""
        self._magnets += shp.mass
        shp.link.in_flight -= shp.mass
        self.plan(math.ceil(self.ctx.clock.now))

    def _held(self) -> np.ndarray:
        return self._magnets * self.bom


KIND = registry.register(registry.ActorKind("stockpiles", StockpileTable, Stockpile, "stockpile", tier=4,
                                            product=MAGNET, takes_orders=False))
