"""Magnet makers: oxides in, sintered magnets of one grade out, up to
``capacity_t_per_day`` and no more than the scarcest element of the grade's
bill of materials allows. They make to order (plus a small finished buffer)
and fill orders FIFO, home customers first when ``domestic_first``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..shipping import Shipment
from .plant import Plant

if TYPE_CHECKING:
    from ..context import Context
    from ..registry import ActorKind


class MagnetMaker(Plant):
    def __init__(self, ctx: Context, kind: ActorKind, cfg: Any):
        super().__init__(ctx, kind, cfg)
        self.bom = ctx.elements.grade(cfg.grade)  # element t per t magnet
        self._needs = self.bom > 0
        self._oxide = cfg.initial_inventory_days * cfg.capacity_t_per_day * self.bom
        self._magnets = 0.0  # finished tonnes of this grade
        self.on_order = np.zeros_like(self.bom)
        ctx.ledger.initial += self._oxide

    def unit_content(self) -> np.ndarray:
        return self.bom

    def price_usd_per_kg(self) -> float:
        return self.cfg.price_usd_per_kg

    def work(self, days: int) -> None:
        """Each day ``min(capacity, what the oxides allow, what is wanted)``;
        the last two fall by what is made, so over ``days`` days the maker
        makes ``min(days x capacity, what the oxides allow, what is wanted)``."""
        cap = self.cfg.capacity_t_per_day
        by_bom = float(np.min(self._oxide[self._needs] / self.bom[self._needs]))
        wanted = self.open_qty + self.cfg.finished_stock_days * cap - self._magnets
        made = min(days * cap, by_bom, wanted)
        if made <= 0:
            return
        self._oxide = self._oxide - made * self.bom
        self._magnets += made

    # buying oxides (element vectors of the grade's bill of materials)
    def target(self) -> np.ndarray:
        return self.cfg.target_days * self.cfg.capacity_t_per_day * self.bom

    def position(self) -> np.ndarray:
        return self._oxide + self.on_order

    def add_stock(self, shp: Shipment) -> None:
        self._oxide = self._oxide + shp.vec

    # selling magnets (tonnes)
    def available_for(self, remaining: float) -> float:
        return min(remaining, self._magnets)

    def take(self, qty: float) -> tuple[float, np.ndarray]:
        self._magnets -= qty
        return qty, qty * self.bom

    def restock(self, shp: Shipment) -> None:
        self._magnets += shp.mass

    def _held(self) -> np.ndarray:
        return self._oxide + self._magnets * self.bom
