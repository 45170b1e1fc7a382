"""Magnet makers: oxides in, sintered magnets of one grade out, up to
``capacity_t_per_day`` and no more than the scarcest element of the grade's
bill of materials allows. They make to order (plus a small finished buffer)
and fill orders FIFO, home customers first when ``domestic_first``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..shipping import Shipment
from .base import Plant


class MagnetMaker(Plant):
    table = "magnet_makers"

    def __init__(self, model: Any, index: int, cfg: Any):
        super().__init__(model, index, cfg)
        self.bom = model.vec(model.scenario.grades[cfg.grade].content)  # element t per t magnet
        self.needs = self.bom > 0
        self.oxide = cfg.initial_inventory_days * cfg.capacity_t_per_day * self.bom
        self.magnets = 0.0  # finished tonnes of this grade
        self.on_order = np.zeros_like(self.bom)
        model.ledger["initial"] += self.oxide

    def work(self, days: int) -> None:
        """Each day ``min(capacity, what the oxides allow, what is wanted)``;
        the last two fall by what is made, so over ``days`` days the maker
        makes ``min(days x capacity, what the oxides allow, what is wanted)``."""
        cap = self.cfg.capacity_t_per_day
        by_bom = float(np.min(self.oxide[self.needs] / self.bom[self.needs]))
        wanted = self.open_qty + self.cfg.finished_stock_days * cap - self.magnets
        made = min(days * cap, by_bom, wanted)
        if made <= 0:
            return
        self.oxide = self.oxide - made * self.bom
        self.magnets += made

    # buying oxides (element vectors of the grade's bill of materials)
    def target(self) -> np.ndarray:
        return self.cfg.target_days * self.cfg.capacity_t_per_day * self.bom

    def position(self) -> np.ndarray:
        return self.oxide + self.on_order

    def add_stock(self, shp: Shipment) -> None:
        self.oxide = self.oxide + shp.vec

    # selling magnets (tonnes)
    def available_for(self, remaining: float) -> float:
        return min(remaining, self.magnets)

    def take(self, qty: float) -> tuple[float, np.ndarray]:
        self.magnets -= qty
        return qty, qty * self.bom

    def restock(self, shp: Shipment) -> None:
        self.magnets += shp.mass

    def stock_vec(self) -> np.ndarray:
        return self.oxide + self.magnets * self.bom
