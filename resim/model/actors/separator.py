"""Separators: concentrate in, separated oxides out, up to
``capacity_t_per_day`` of concentrate with ``recovery`` (the rest is lost to
tailings). Buys concentrate from mines; sells oxides element by element.
The ``[[separators]]`` table, the actor and its registration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ...scenario import registry
from ...scenario.chain import BuyerTable
from ...scenario.roles import Producer
from ...scenario.types import NonNeg, Period, Share, param
from ..products import CONCENTRATE, OXIDE
from ..shipping import Shipment
from .plant import Plant

if TYPE_CHECKING:
    from ...scenario.registry import ActorKind
    from ..context import Context


class SeparatorTable(BuyerTable, Producer):
    """A separation plant: concentrate in, oxides out."""

    capacity_t_per_day: NonNeg = param(unit="t concentrate / day", doc="concentrate processed per day")
    recovery: Share = param(
        0.9, doc="share of each element recovered as oxide; the rest is lost to tailings")
    dispatch_days: Period = param(
        7.0, unit="days", doc="ship oxides to customers every this many days (rounded to a whole number)")

    def daily_t(self) -> float:
        return self.capacity_t_per_day


class Separator(Plant):
    def __init__(self, ctx: Context, kind: ActorKind, cfg: Any):
        super().__init__(ctx, kind, cfg)
        self._conc_mass = 0.0  # tonnes of concentrate on site
        self._conc_vec = ctx.elements.zeros()  # its element content
        self._oxide = ctx.elements.zeros()  # separated oxides, tonnes per element

    def unit_content(self) -> np.ndarray:
        """Oxides are sold element by element: a tonne is a tonne of itself."""
        return np.ones(self.ctx.elements.n)

    def elaborate(self) -> None:
        """Start with ``initial_inventory_days`` of concentrate, in the mix its
        suppliers ship."""
        super().elaborate()
        mass = self.cfg.initial_inventory_days * self.cfg.capacity_t_per_day
        vec = sum((link.share * mass * link.supplier.unit_content() for link in self.links),
                  self.ctx.elements.zeros())
        self._conc_mass, self._conc_vec = mass, vec
        self.ctx.ledger.opening_stock(vec)

    def work(self, days: int) -> None:
        """Up to ``capacity_t_per_day`` a day from the pool; the pool keeps its
        mix as it is drawn down, so ``days`` days take ``days`` x capacity
        (or all of it) in that mix."""
        if self._conc_mass <= 0:
            return
        f = min(1.0, days * (self.cfg.capacity_t_per_day * self.capacity_scale) / self._conc_mass)
        vec = self._conc_vec * f
        self._conc_mass -= self._conc_mass * f
        self._conc_vec = self._conc_vec - vec
        rec = self.cfg.recovery
        self._oxide = self._oxide + rec * vec
        self.ctx.ledger.lose((1.0 - rec) * vec)

    # buying concentrate (tonnes)
    def target(self) -> float:
        return self.cfg.target_days * (self.cfg.capacity_t_per_day * self.capacity_scale)

    def position(self) -> float:
        return self._conc_mass + self.on_order

    def add_stock(self, shp: Shipment) -> None:
        self._conc_mass += shp.mass
        self._conc_vec = self._conc_vec + shp.vec

    # selling oxides (element vectors)
    def stock_units(self) -> list[float]:
        return self._oxide.tolist()

    def available_for(self, remaining: np.ndarray) -> np.ndarray:
        return np.minimum(remaining, self._oxide)

    def take(self, qty: np.ndarray) -> tuple[float, np.ndarray]:
        self._oxide = self._oxide - qty
        return float(qty.sum()), qty.copy()

    def restock(self, shp: Shipment) -> None:
        self._oxide = self._oxide + shp.vec

    def _held(self) -> np.ndarray:
        return self._conc_vec + self._oxide


KIND = registry.register(registry.ActorKind("separators", SeparatorTable, Separator, "separator", tier=1,
                                            product=OXIDE, buys=CONCENTRATE))
