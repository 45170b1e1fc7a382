"""Strategic stockpiles: a reserve of finished magnets (a government or
industry stockpile) released to named automakers when their cover falls below
a threshold. Releases travel on ordinary links (transit, and a licence if the
stockpile sits in the controlling jurisdiction)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..shipping import Link, Shipment
from .base import Actor


class Stockpile(Actor):
    table = "stockpiles"

    def __init__(self, model: Any, index: int, cfg: Any):
        super().__init__(model, index, cfg)
        self.bom = model.vec(model.scenario.grades[cfg.grade].content)
        self.magnets = cfg.initial_t
        model.ledger["initial"] += self.magnets * self.bom
        self.links: list[Link] = []  # one per automaker it may release to

    def work_days(self, first: int, end: int) -> None:
        """A stockpile neither produces nor consumes."""

    def next_duty(self, first: int) -> int:
        return first

    def duty(self, day: int) -> None:
        self.release()

    def release(self) -> None:
        """Top up every named automaker whose cover (on hand plus what this
        stockpile already sent) is below ``release_below_days``."""
        cfg = self.cfg
        for link in self.links:
            if self.magnets <= 1e-12:
                return
            buyer = link.customer
            buyer.sync()
            d = buyer.demand_now()
            if d <= 0 or (buyer.stock + link.in_flight) / d >= cfg.release_below_days:
                continue
            qty = min(cfg.release_t_per_day, self.magnets)
            self.magnets -= qty
            link.in_flight += qty
            link.send(None, qty, qty * self.bom, qty)

    def refresh(self, scenario: Any) -> None:
        super().refresh(scenario)
        for link in self.links:
            link.transit.set_dist(self.cfg.transit)

    def returned(self, shp: Shipment) -> None:
        self.restock(shp)

    def restock(self, shp: Shipment) -> None:
        self.magnets += shp.mass
        shp.link.in_flight -= shp.mass

    def forget(self, order: Any) -> None:
        """Releases are not orders: nothing to forget."""

    def stock_vec(self) -> np.ndarray:
        return self.magnets * self.bom
