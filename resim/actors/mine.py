"""Mines: concentrate at ``output_t_per_day`` x ``composition``, with an
optional annual quota (China's MIIT quotas, facts.md §2) and random outages."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..shipping import Shipment
from .base import Supplier


class Mine(Supplier):
    table = "mines"

    def __init__(self, model: Any, index: int, cfg: Any):
        super().__init__(model, index, cfg)
        self.comp = model.vec(cfg.composition)  # element tonnes per tonne of concentrate
        self.stock = cfg.initial_inventory_days * cfg.output_t_per_day
        model.ledger["initial"] += self.stock * self.comp
        self.down = False
        self.year = -1
        self.year_output = 0.0

    def start(self) -> None:
        super().start()
        if self.cfg.outages is not None:
            self.model.env.process(self.outages())

    def next_duty(self, first: int) -> int:
        return self.next_multiple(first, "dispatch_days")

    def duty(self, day: int) -> None:
        self.advance(day + 1)
        self.dispatch()

    def work_days(self, first: int, end: int) -> None:
        """Output for days ``first .. end-1``, calendar year by calendar year
        (the quota of a year caps the sum of its days)."""
        if self.down:
            return
        model = self.model
        day = first
        while day < end:
            stop = int(min(end, model.next_new_year(day)))
            self.produce(day, stop - day)
            day = stop

    def produce(self, day: int, days: int) -> None:
        """``days`` days of output from ``day``, all in one calendar year."""
        year = self.model.year_of(day)
        if year != self.year:
            self.year, self.year_output = year, 0.0
        out = days * self.cfg.output_t_per_day
        quota = self.cfg.annual_quota_t
        if quota is not None:
            out = max(0.0, min(out, quota - self.year_output))
        if out <= 0:
            return
        self.year_output += out
        self.stock += out
        self.model.ledger["produced"] += out * self.comp

    def outages(self):  # noqa: ANN201 - a SimPy process
        """Alternate up and down times, drawn from the distributions in force
        (a policy may change them, or set ``outages`` to none)."""
        streams = self.model.streams
        cfg = self.cfg.outages
        between = streams.stream(f"mine/{self.name}/outage/between", cfg.between)
        repair = streams.stream(f"mine/{self.name}/outage/repair", cfg.repair)
        env = self.model.env
        while True:
            yield env.timeout(between())
            if self.cfg.outages is None:
                return
            self.sync()
            self.down = True
            repair.set_dist(self.cfg.outages.repair)
            yield env.timeout(repair())
            self.sync()
            self.down = False
            if self.cfg.outages is None:
                return
            between.set_dist(self.cfg.outages.between)

    def refresh(self, scenario: Any) -> None:
        had = self.cfg.outages is not None
        super().refresh(scenario)
        if not had and self.cfg.outages is not None:
            self.model.env.process(self.outages())

    def available_for(self, remaining: float) -> float:
        return min(remaining, self.stock)

    def take(self, qty: float) -> tuple[float, np.ndarray]:
        self.stock -= qty
        return qty, qty * self.comp

    def restock(self, shp: Shipment) -> None:
        self.stock += shp.mass

    def stock_vec(self) -> np.ndarray:
        return self.stock * self.comp
