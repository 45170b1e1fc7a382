"""Separators: concentrate in, separated oxides out, up to
``capacity_t_per_day`` of concentrate with ``recovery`` (the rest is lost to
tailings). Buys concentrate from mines; sells oxides element by element."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..shipping import Shipment
from .base import Plant


class Separator(Plant):
    table = "separators"

    def __init__(self, model: Any, index: int, cfg: Any):
        super().__init__(model, index, cfg)
        n = len(model.elements)
        self.conc_mass = 0.0  # tonnes of concentrate on site
        self.conc_vec = np.zeros(n)  # its element content
        self.oxide = np.zeros(n)  # separated oxides, tonnes per element
        self.open_qty = np.zeros(n)

    def seed_stock(self) -> None:
        """Start with ``initial_inventory_days`` of concentrate, in the mix its
        suppliers ship (needs the links, so wiring calls it)."""
        mass = self.cfg.initial_inventory_days * self.cfg.capacity_t_per_day
        vec = sum((link.share * mass * link.supplier.comp for link in self.links), np.zeros_like(self.oxide))
        self.conc_mass, self.conc_vec = mass, vec
        self.model.ledger["initial"] += vec

    def work(self, days: int) -> None:
        """Up to ``capacity_t_per_day`` a day from the pool; the pool keeps its
        mix as it is drawn down, so ``days`` days take ``days`` x capacity
        (or all of it) in that mix."""
        if self.conc_mass <= 0:
            return
        f = min(1.0, days * self.cfg.capacity_t_per_day / self.conc_mass)
        vec = self.conc_vec * f
        self.conc_mass -= self.conc_mass * f
        self.conc_vec = self.conc_vec - vec
        rec = self.cfg.recovery
        self.oxide = self.oxide + rec * vec
        self.model.ledger["lost"] += (1.0 - rec) * vec

    # buying concentrate (tonnes)
    def target(self) -> float:
        return self.cfg.target_days * self.cfg.capacity_t_per_day

    def position(self) -> float:
        return self.conc_mass + self.on_order

    def add_stock(self, shp: Shipment) -> None:
        self.conc_mass += shp.mass
        self.conc_vec = self.conc_vec + shp.vec

    # selling oxides (element vectors)
    def available_for(self, remaining: np.ndarray) -> np.ndarray:
        return np.minimum(remaining, self.oxide)

    def take(self, qty: np.ndarray) -> tuple[float, np.ndarray]:
        self.oxide = self.oxide - qty
        return float(qty.sum()), qty.copy()

    def restock(self, shp: Shipment) -> None:
        self.oxide = self.oxide + shp.vec

    def stock_vec(self) -> np.ndarray:
        return self.conc_vec + self.oxide
