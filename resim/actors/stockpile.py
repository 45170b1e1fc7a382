"""Strategic stockpiles: a reserve of finished magnets (a government or
industry stockpile) released to named automakers when their cover falls below
a threshold. Releases travel on ordinary links (transit, and a licence if the
stockpile sits in the controlling jurisdiction)."""

from __future__ import annotations

import math
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

    def next_duty(self, first: int) -> int | None:
        """The first day a named automaker's cover may be below the threshold.

        Between events an automaker's stock falls by at most ``demand`` a day
        (``demand x (1 + catch_up)`` with a backlog) and its demand does not
        rise (substitution only lowers it), so the crossing cannot come before
        the day computed from that rate. Arrivals only put it off: waking up
        early costs one check and a new plan. What could bring it forward - a
        policy, a release refused and returned - re-plans.
        """
        if self.magnets <= 1e-12:
            return None  # nothing to release until something comes back
        threshold = self.cfg.release_below_days
        best: int | None = None
        for link in self.links:
            buyer = link.customer
            buyer.sync()
            cfg = buyer.cfg
            demand = cfg.demand_t
            rate = demand * (1.0 + cfg.catch_up) if cfg.backlog else demand
            if rate <= 0:
                continue
            # stock after day d >= stock - (d - done + 1) x rate
            slack = buyer.stock + link.in_flight - threshold * demand
            day = first if slack < 0 else max(first, buyer.done + int(slack / rate) - 1)
            best = day if best is None else min(best, day)
        return best

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
        """A refused release comes back: the automaker's cover is lower than
        planned for, and there may be magnets again."""
        self.restock(shp)
        self.plan(math.ceil(self.model.env._now))

    def restock(self, shp: Shipment) -> None:
        self.magnets += shp.mass
        shp.link.in_flight -= shp.mass

    def forget(self, order: Any) -> None:
        """Releases are not orders: nothing to forget."""

    def stock_vec(self) -> np.ndarray:
        return self.magnets * self.bom
