"""Mines: concentrate at ``output_t_per_day`` x ``composition``, with an
optional annual quota (China's MIIT quotas, facts.md §2) and random outages."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..shipping import Shipment
from .trade import Supplier

if TYPE_CHECKING:
    from ...scenario import ScenarioBase
    from ...scenario.registry import ActorKind
    from ..context import Context


class Mine(Supplier):
    def __init__(self, ctx: Context, kind: ActorKind, cfg: Any):
        super().__init__(ctx, kind, cfg)
        self.comp = ctx.elements.vec(cfg.composition)  # element tonnes per tonne of concentrate
        self._stock = cfg.initial_inventory_days * cfg.output_t_per_day
        ctx.ledger.initial += self._stock * self.comp
        self._down = False
        self._year = -1
        self._year_output = 0.0

    def unit_content(self) -> np.ndarray:
        return self.comp

    def start(self) -> None:
        super().start()
        if self.cfg.outages is not None:
            self.ctx.clock.process(self._outages())

    def next_duty(self, first: int) -> int:
        return self.next_multiple(first, "dispatch_days")

    def duty(self, day: int) -> None:
        self.advance(day + 1)
        self.dispatch()

    def work_days(self, first: int, end: int) -> None:
        """Output for days ``first .. end-1``, calendar year by calendar year
        (the quota of a year caps the sum of its days)."""
        if self._down:
            return
        calendar = self.ctx.calendar
        day = first
        while day < end:
            stop = int(min(end, calendar.next_new_year(day)))
            self._produce(day, stop - day)
            day = stop

    def _produce(self, day: int, days: int) -> None:
        """``days`` days of output from ``day``, all in one calendar year."""
        year = self.ctx.calendar.year_of(day)
        if year != self._year:
            self._year, self._year_output = year, 0.0
        out = days * self.cfg.output_t_per_day
        quota = self.cfg.annual_quota_t
        if quota is not None:
            out = max(0.0, min(out, quota - self._year_output))
        if out <= 0:
            return
        self._year_output += out
        self._stock += out
        self.ctx.ledger.produced += out * self.comp

    def _outages(self) -> Generator[Any, Any, None]:
        """Alternate up and down times, drawn from the distributions in force
        (a policy may change them, or set ``outages`` to none)."""
        streams = self.ctx.streams
        cfg = self.cfg.outages
        between = streams.stream(f"mine/{self.name}/outage/between", cfg.between)
        repair = streams.stream(f"mine/{self.name}/outage/repair", cfg.repair)
        clock = self.ctx.clock
        while True:
            yield clock.timeout(between())
            if self.cfg.outages is None:
                return
            self.sync()
            self._down = True
            repair.set_dist(self.cfg.outages.repair)
            yield clock.timeout(repair())
            self.sync()
            self._down = False
            if self.cfg.outages is None:
                return
            between.set_dist(self.cfg.outages.between)

    def on_policy(self, old: ScenarioBase, new: ScenarioBase, changes: Any) -> None:
        had = self.cfg.outages is not None
        super().on_policy(old, new, changes)
        if not had and self.cfg.outages is not None:
            self.ctx.clock.process(self._outages())

    def available_for(self, remaining: float) -> float:
        return min(remaining, self._stock)

    def take(self, qty: float) -> tuple[float, np.ndarray]:
        self._stock -= qty
        return qty, qty * self.comp

    def restock(self, shp: Shipment) -> None:
        self._stock += shp.mass

    def _held(self) -> np.ndarray:
        return self._stock * self.comp
