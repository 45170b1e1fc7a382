"""Magnet makers: oxides in, sintered magnets of one grade (or a fixed mix of
grades) out, up to ``capacity_t_per_day`` and no more than the scarcest
element of the mix's bill of materials allows. They make to order (plus a
small finished buffer) and fill orders per grade, FIFO, home customers first
when ``domestic_first``. Magnet quantities are vectors over the run's grades."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..shipping import Shipment
from .plant import Plant

if TYPE_CHECKING:
    from ...scenario.registry import ActorKind
    from ..context import Context


class MagnetMaker(Plant):
    def __init__(self, ctx: Context, kind: ActorKind, cfg: Any):
        super().__init__(ctx, kind, cfg)
        self.mix = ctx.elements.mix(cfg.mix)  # shares of output over the run's grades
        self._makes = self.mix > 0
        self.bom = ctx.elements.content(self.mix)  # element t per t of the mix
        self._needs = self.bom > 0
        self._oxide = cfg.initial_inventory_days * cfg.capacity_t_per_day * self.bom
        self._magnets = np.zeros_like(self.mix)  # finished tonnes per grade
        self.open_qty = np.zeros_like(self.mix)
        self.on_order = np.zeros_like(self.bom)
        ctx.ledger.initial += self._oxide

    def unit_content(self) -> np.ndarray:
        return self.bom

    def price_usd_per_kg(self) -> float:
        return self.cfg.price_usd_per_kg

    def grade_mix(self) -> np.ndarray:
        return self.mix

    def work(self, days: int) -> None:
        """Each day ``min(capacity, what the oxides allow, what is wanted)``;
        the last two fall by what is made, so over ``days`` days the maker
        makes ``min(days x capacity, what the oxides allow, what is wanted)``.
        Output comes in the mix's shares, so what is wanted is what the most
        wanted grade needs (the others are co-products)."""
        cap = self.cfg.capacity_t_per_day
        by_bom = float(np.min(self._oxide[self._needs] / self.bom[self._needs]))
        mix, makes = self.mix, self._makes
        wanted_g = self.open_qty + self.cfg.finished_stock_days * cap * mix - self._magnets
        wanted = float(np.max(wanted_g[makes] / mix[makes]))
        made = min(days * cap, by_bom, wanted)
        if made <= 0:
            return
        self._oxide = self._oxide - made * self.bom
        self._magnets = self._magnets + made * mix

    # buying oxides (element vectors of the grade's bill of materials)
    def target(self) -> np.ndarray:
        return self.cfg.target_days * self.cfg.capacity_t_per_day * self.bom

    def position(self) -> np.ndarray:
        return self._oxide + self.on_order

    def add_stock(self, shp: Shipment) -> None:
        self._oxide = self._oxide + shp.vec

    # selling magnets (tonnes per grade)
    def available_for(self, remaining: np.ndarray) -> np.ndarray:
        return np.minimum(remaining, self._magnets)

    def take(self, qty: np.ndarray) -> tuple[float, np.ndarray]:
        self._magnets = self._magnets - qty
        return float(qty.sum()), self.ctx.elements.content(qty)

    def restock(self, shp: Shipment) -> None:
        self._magnets = self._magnets + shp.qty

    def _held(self) -> np.ndarray:
        return self._oxide + self.ctx.elements.content(self._magnets)
