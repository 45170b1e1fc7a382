"""Automakers (or aggregate buyers such as "EU industry"): each day build what
the magnet stock allows; the rest is shortfall, lost or (with ``backlog``)
built later at up to ``catch_up`` extra output per day. One timeseries row per
day is the automaker's whole record; every KPI is computed from those rows."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..shipping import Shipment
from .base import Buyer

_EPS = 1e-12


class Automaker(Buyer):
    table = "automakers"

    def __init__(self, model: Any, index: int, cfg: Any):
        super().__init__(model, index, cfg)
        self.stock = cfg.initial_inventory_days * cfg.demand_t
        self.stock_el = np.zeros(len(model.elements))
        self.backlog = 0.0  # tonnes of demand still to be built

    def seed_stock(self) -> None:
        """Initial magnets, in the element mix of this buyer's suppliers."""
        per_t = sum((link.share * link.supplier.bom for link in self.links), np.zeros_like(self.stock_el))
        self.stock_el = self.stock * per_t
        self.model.ledger["initial"] += self.stock_el

    def start(self) -> None:
        self.model.env.process(self.run())

    def run(self):  # noqa: ANN201 - a SimPy process
        env = self.model.env
        model = self.model
        ts = model.timeseries
        col_day, col_name, col_inv = ts.col("day"), ts.col("automaker"), ts.col("inventory_t")
        col_dem, col_use, col_short = ts.col("demand_t"), ts.col("consumed_t"), ts.col("shortfall_t")
        day = 0
        while True:
            if day % self.period("review_days") == 0:
                self.review()
            demand, used, short = self.consume()
            col_day.append(day)
            col_name.append(self.name)
            col_inv.append(self.stock)
            col_dem.append(demand)
            col_use.append(used)
            col_short.append(short)
            day += 1
            yield env.timeout(1.0)

    def consume(self) -> tuple[float, float, float]:
        """One day of assembly: (demand, consumed, new shortfall) in tonnes."""
        cfg = self.cfg
        demand = cfg.demand_t
        catch = min(self.backlog, cfg.catch_up * demand) if cfg.backlog else 0.0
        use = min(self.stock, demand + catch)
        if use < _EPS:
            use = 0.0
        served_new = min(use, demand)
        short = demand - served_new
        if short <= demand * 1e-9:
            short = 0.0
        if cfg.backlog:
            self.backlog += short - (use - served_new)
        if use > 0:
            frac = use / self.stock
            spent = self.stock_el * frac
            self.stock_el = self.stock_el - spent
            self.stock -= use
            self.model.ledger["consumed"] += spent
        return demand, use, short

    def target(self) -> float:
        return self.cfg.target_days * self.cfg.demand_t

    def position(self) -> float:
        return self.stock + self.on_order

    def add_stock(self, shp: Shipment) -> None:
        self.stock += shp.mass
        self.stock_el = self.stock_el + shp.vec

    def stock_vec(self) -> np.ndarray:
        return self.stock_el
