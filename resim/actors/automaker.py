"""Automakers (or aggregate buyers such as "EU industry"): each day build what
the magnet stock allows; the rest is shortfall, lost or (with ``backlog``)
built later at up to ``catch_up`` extra output per day. One timeseries row per
day is the automaker's whole record; every KPI is computed from those rows
(and the cost rows written when premium-priced goods arrive).

Mitigation levers (all optional, SPEC §1 and issue 7):
* ``adaptive_target``: the order-up-to target grows with observed lead times
  (stockpiling when the border slows down);
* ``emergency``: when cover falls below ``cover_days``, orders go to suppliers
  outside the controlling jurisdiction only, by air where a link offers it;
* ``substitution``: after ``trigger_days`` of continuous shortage, magnet need
  per vehicle falls by up to ``max_reduction`` over ``ramp_days``;
* ``recycling``: a ``fraction`` of the magnet mass consumed returns to stock
  after ``lag_days``.
"""

from __future__ import annotations

import heapq
import itertools
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..shipping import Link, Shipment
from .trade import Buyer

if TYPE_CHECKING:
    from ..context import Context
    from ..registry import ActorKind

_EPS = 1e-12


class Automaker(Buyer):
    def __init__(self, ctx: Context, kind: ActorKind, cfg: Any):
        super().__init__(ctx, kind, cfg)
        self._stock = cfg.initial_inventory_days * cfg.demand_t
        self._stock_el = ctx.elements.zeros()
        self._backlog = 0.0  # tonnes of demand still to be built
        self._lead_ewma: float | None = None  # observed order-to-arrival days
        self._short_streak = 0
        self._substitution_start: float | None = None
        self.reference_price = 0.0
        # one entry per day worked: inventory (after the day), demand, consumed,
        # shortfall and tonnes per vehicle
        self._rows: tuple[list[float], ...] = ([], [], [], [], [])
        # recycled magnets on their way back, a heap of (day they count for, arrival
        # time, tie-break id, tonnes, elements)
        self._recycling: list[tuple[int, float, int, float, np.ndarray]] = []
        self._recycle_seq = itertools.count()

    def elaborate(self) -> None:
        """Initial magnets, in the element mix of this buyer's suppliers."""
        super().elaborate()
        self._stock_el = self._stock * self.supplier_mix()
        self.ctx.ledger.initial += self._stock_el
        prices = [link.supplier.price_usd_per_kg() for link in self.links]
        ref = self.cfg.reference_price_usd_per_kg
        self.reference_price = ref if ref is not None else min(prices)

    def next_duty(self, first: int) -> int:
        return self.next_multiple(first, "review_days")

    def duty(self, day: int) -> None:
        """Review before the day's consumption (and after the day's arrivals)."""
        self.advance(day)
        self._recycle_due(day)
        self.review()

    def work_days(self, first: int, end: int) -> None:
        """Days ``first .. end-1``: in one go while demand is constant and
        nothing comes back (the stock falls by the demand until it runs out);
        day by day while a lever makes each day depend on the last."""
        cfg = self.cfg
        if cfg.backlog or cfg.substitution is not None or cfg.recycling is not None or self._recycling:
            self._work_daily(first, end)
        else:
            self._work_steady(first, end)

    def _work_daily(self, first: int, end: int) -> None:
        inv, dem, used, short, tpv = self._rows
        for day in range(first, end):
            self._recycle_due(day)
            d, u, sh, t = self.consume(day)
            inv.append(self._stock)
            dem.append(d)
            used.append(u)
            short.append(sh)
            tpv.append(t)

    def _work_steady(self, first: int, end: int) -> None:
        """``consume`` for ``n = end - first`` days of constant demand ``D``
        and no lever: ``m`` full days while the stock lasts, then one day on
        what is left, then nothing."""
        n = end - first
        cfg = self.cfg
        demand = cfg.demand_t
        stock = self._stock
        inv, dem, used, short, tpv = self._rows
        dem.extend([demand] * n)
        tpv.extend([cfg.t_per_vehicle] * n)
        if demand <= 0:
            inv.extend([stock] * n)
            used.extend([0.0] * n)
            short.extend([0.0] * n)
            self._short_streak = 0
            return
        m = min(n, int(stock / demand))
        inv.extend([stock - k * demand for k in range(1, m + 1)])
        used.extend([demand] * m)
        short.extend([0.0] * m)
        total = m * demand
        if m < n:
            last = stock - total
            if last < _EPS:
                last = 0.0
            gap = demand - last
            if gap <= demand * 1e-9:
                gap = 0.0
            total += last
            rest = n - m - 1
            inv.extend([stock - total] * (rest + 1))
            used.append(last)
            used.extend([0.0] * rest)
            short.append(gap)
            short.extend([demand] * rest)
            trailing = rest + (gap > 0)
            self._short_streak = self._short_streak + n if trailing == n else trailing
        else:
            self._short_streak = 0
        if total > 0:
            spent = self._stock_el * (total / stock)
            self._stock_el = self._stock_el - spent
            self._stock = stock - total
            self.ctx.ledger.consumed += spent

    def reduction(self, day: float) -> float:
        """Share of magnet need removed by substitution on ``day``."""
        sub = self.cfg.substitution
        if sub is None or self._substitution_start is None:
            return 0.0
        return sub.max_reduction * min(1.0, (day - self._substitution_start) / sub.ramp_days)

    def consume(self, day: int) -> tuple[float, float, float, float]:
        """One day of assembly: (demand, consumed, new shortfall) in tonnes and
        the day's tonnes of magnet per vehicle."""
        cfg = self.cfg
        cut = 1.0 - self.reduction(day)
        demand = cfg.demand_t * cut
        catch = min(self._backlog, cfg.catch_up * demand) if cfg.backlog else 0.0
        use = min(self._stock, demand + catch)
        if use < _EPS:
            use = 0.0
        served_new = min(use, demand)
        short = demand - served_new
        if short <= demand * 1e-9:
            short = 0.0
        if cfg.backlog:
            self._backlog += short - (use - served_new)
        if use > 0:
            frac = use / self._stock
            spent = self._stock_el * frac
            self._stock_el = self._stock_el - spent
            self._stock -= use
            self._consumed(day, use, spent)
        self._track_shortage(day, short > 0)
        return demand, use, short, cfg.t_per_vehicle * cut

    def _consumed(self, day: int, use: float, spent: np.ndarray) -> None:
        ledger = self.ctx.ledger
        rec = self.cfg.recycling
        if rec is None or rec.fraction <= 0:
            ledger.consumed += spent
            return
        back_t, back_el = use * rec.fraction, spent * rec.fraction
        ledger.consumed += spent - back_el
        ledger.recycling += back_el
        back = day + rec.lag_days
        # a policy may shorten the lag: returns are kept in order of when they are due
        heapq.heappush(self._recycling, (max(day + 1, math.ceil(back)), back, next(self._recycle_seq), back_t, back_el))

    def _recycle_due(self, day: int) -> None:
        """Recycled magnets back by time ``day`` count for day ``day``, as
        any arrival does (with no lag, the day after they were used)."""
        q = self._recycling
        while q and q[0][0] <= day:
            self._recycled(*heapq.heappop(q)[3:])

    def _recycled(self, tonnes: float, vec: np.ndarray) -> None:
        self.ctx.ledger.recycling -= vec
        self._stock += tonnes
        self._stock_el = self._stock_el + vec

    def finish(self) -> None:
        """Days up to the horizon; recycled magnets back before it are in stock."""
        super().finish()
        horizon = self.ctx.clock.horizon
        for item in sorted(self._recycling):
            if item[1] < horizon:
                self._recycled(*item[3:])
        self._recycling = [item for item in self._recycling if item[1] >= horizon]

    def _track_shortage(self, day: int, short: bool) -> None:
        self._short_streak = self._short_streak + 1 if short else 0
        sub = self.cfg.substitution
        if sub is not None and self._substitution_start is None and self._short_streak >= sub.trigger_days:
            self._substitution_start = float(day)

    # ---------------------------------------------------------------- ordering
    def demand_now(self) -> float:
        return self.cfg.demand_t * (1.0 - self.reduction(self.ctx.clock.now))

    def cover_days(self, extra_t: float = 0.0) -> float:
        """Days of need the stock (plus ``extra_t`` on its way) covers now."""
        self.sync()
        d = self.demand_now()
        return (self._stock + extra_t) / d if d > 0 else float("inf")

    def first_day_cover_may_fall_below(self, days: float, extra_t: float, first: int) -> int | None:
        """The earliest day >= ``first`` on which the cover (stock plus
        ``extra_t``) could be below ``days`` days of need, if nothing arrives;
        None if it never falls. Between events the stock falls by at most the
        demand a day (``demand x (1 + catch_up)`` with a backlog) and demand
        does not rise (substitution only lowers it), so the crossing cannot
        come before the day computed from that rate."""
        self.sync()
        cfg = self.cfg
        demand = cfg.demand_t
        rate = demand * (1.0 + cfg.catch_up) if cfg.backlog else demand
        if rate <= 0:
            return None
        # stock after day d >= stock - (d - done + 1) x rate
        slack = self._stock + extra_t - days * demand
        return first if slack < 0 else max(first, self.done + int(slack / rate) - 1)

    def target(self) -> float:
        cfg = self.cfg
        days = cfg.target_days
        ad = cfg.adaptive_target
        if ad is not None and self._lead_ewma is not None:
            days = max(days, min(ad.max_days, self._lead_ewma + cfg.review_days + ad.safety_days))
        return days * self.demand_now()

    def position(self) -> float:
        return self._stock + self.on_order

    def split(self) -> tuple[list[tuple[Link, float]], bool]:
        em = self.cfg.emergency
        links, air = super().split()
        if em is not None and self._cover() < em.cover_days:
            home = self.ctx.scenario.controls.jurisdiction
            outside = [(lk, w) for lk, w in links if lk.supplier.jurisdiction != home]
            total = sum(w for _, w in outside)
            if total > 0:
                return [(lk, w / total) for lk, w in outside], em.use_air
        return links, air

    def receive(self, shp: Shipment) -> None:
        super().receive(shp)
        order = shp.order
        if order is None:
            return  # a stockpile release: no order, no price
        now = self.ctx.clock.now
        lead = now - order.day
        ad = self.cfg.adaptive_target
        alpha = ad.alpha if ad is not None else 0.3
        self._lead_ewma = lead if self._lead_ewma is None else (1 - alpha) * self._lead_ewma + alpha * lead
        link = shp.link
        price = link.supplier.price_usd_per_kg() * (1.0 + link.premium)
        usd = shp.mass * 1000.0 * (price - self.reference_price)
        if order.air and link.air_cost_usd_per_kg > 0:
            usd += shp.mass * 1000.0 * link.air_cost_usd_per_kg
        if usd:
            self.ctx.records.costs.append(now, self.name, usd)

    def add_stock(self, shp: Shipment) -> None:
        self._stock += shp.mass
        self._stock_el = self._stock_el + shp.vec

    def daily_rows(self) -> tuple[list[float], ...]:
        """The automaker's record, one entry per day worked (up to now):
        inventory after the day, demand, consumed, shortfall (tonnes) and
        tonnes per vehicle."""
        self.sync()
        return self._rows

    def _cover(self) -> float:
        d = self.demand_now()
        return self._stock / d if d > 0 else float("inf")

    def _held(self) -> np.ndarray:
        return self._stock_el
