"""Assembly: an automaker's days, built from a stock of magnet *kits*.

A vehicle needs the grades of the automaker's mix in fixed shares (grades
are not substitutes: a bill of materials), so the stock that can be built
from is ``kits = min over grades of stock_g / mix_g`` tonnes; what is left of
the plentiful grades is *spare* until the scarce one arrives. Each day builds
what the kits allow; the rest is shortfall, lost or (with ``backlog``) built
later at up to ``catch_up`` extra output per day. One row per day is the
whole record; every KPI is computed from those rows.

Days between events are worked in one go while demand is constant and
nothing comes back (the kits fall by the demand until they run out), day by
day while a lever makes each day depend on the last (backlog, substitution,
recycling).
"""

from __future__ import annotations

import heapq
import itertools
import math
from typing import Any

import numpy as np

_EPS = 1e-12


class Assembly:
    """The daily build of one automaker firm (mixed into ``Automaker``).

    Expects ``cfg`` (the entry's parameters), ``ctx``, ``_demand`` (this
    firm's tonnes a day) and ``_mix`` (shares over the run's grades)."""

    cfg: Any
    ctx: Any
    _demand: float
    _mix: np.ndarray
    _content: float = 1.0  # magnet per vehicle as a share of cfg's (thrifting; _demand includes it)
    _order_mix: np.ndarray | None = None  # the mix it orders in when not its build mix (grade substitution)

    def _init_assembly(self, stock_t: float) -> None:
        self._stock = stock_t  # tonnes of kits (magnets usable in the mix's shares)
        self._spare = np.zeros_like(self._mix)  # tonnes per grade beyond the kits
        self._spare_zero = True  # no spare tonnes held (``_spare`` all zeros): its sum is 0
        # The one grade of a mix that is a single grade at share 1 (a firm with
        # ``grade_choice = "per_firm"``), else -1: its kits are just that grade's
        # tonnes, so arrivals of it skip the vector arithmetic (see ``_add_grades``).
        self._mix_changed()
        self._backlog = 0.0  # tonnes of demand still to be built
        self._short_streak = 0
        self._substitution_start: float | None = None
        # one entry per day worked: inventory (after the day), demand, consumed,
        # shortfall and tonnes per vehicle
        self._rows: tuple[list[float], ...] = ([], [], [], [], [])
        # recycled magnets on their way back, a heap of (day they count for, arrival
        # time, tie-break id, tonnes, elements)
        self._recycling: list[tuple[int, float, int, float, np.ndarray]] = []
        self._recycle_seq = itertools.count()

    def _mix_changed(self) -> None:
        """Derived values of the build mix."""
        used = np.flatnonzero(self._mix).tolist()
        self._one = used[0] if len(used) == 1 and float(self._mix[used[0]]) == 1.0 else -1
        self._kit_el = self.ctx.elements.content(self._mix)  # element tonnes per tonne of kit

    def buying_mix(self) -> np.ndarray:
        """The grade shares it orders in: its build mix, or the mix it is moving to."""
        return self._mix if self._order_mix is None else self._order_mix

    def order_in(self, mix: np.ndarray) -> None:
        """Order in ``mix`` from now (a grade qualified); it builds in it once
        that makes as many kits (``build_in_order_mix``)."""
        self._order_mix = mix

    def build_in_order_mix(self) -> bool:
        """Build in the mix it orders in when the grades on hand make at least
        as many kits of it as of the build mix, and some (so the switch never
        stops a day's build); True once it does. Grade tonnes are unchanged."""
        new = self._order_mix
        if new is None:
            return True
        self.sync()  # type: ignore[attr-defined]
        total = self._stock * self._mix + self._spare
        used = new > 0
        kits = float(np.min(total[used] / new[used]))
        if kits < self._stock or kits <= 0.0:  # fewer kits, or none (a stopped firm waits for every grade)
            return False
        self._mix, self._order_mix, self._stock = new, None, kits
        self._spare = np.where(used, np.maximum(total - kits * new, 0.0), total)
        self._spare_zero = not any(self._spare.tolist())
        self._mix_changed()
        return True

    def is_short(self) -> bool:
        """Whether its last day worked was short."""
        return self._short_streak > 0

    # ------------------------------------------------------------ stock
    def _add_grades(self, grades: np.ndarray) -> None:
        """Magnets arrive per grade: re-form kits from kits, spare and them."""
        mix = self._mix
        if mix.size == 1:  # one grade: every tonne is a kit
            self._stock += float(grades[0])
            return
        g = self._one
        if g >= 0:  # a one-grade mix receiving only its grade: the vector sum below, scalar
            vals = grades.tolist()
            if not any(vals[:g]) and not any(vals[g + 1:]):
                # kits = (stock x 1 + spare[g]) + grades[g], and spare[g] is always 0 here;
                # the other grades' spare is unchanged (+ 0)
                self._stock = (self._stock + 0.0) + vals[g]
                return
        total = self._stock * mix + self._spare + grades
        used = mix > 0
        kits = float(np.min(total[used] / mix[used])) if used.any() else 0.0
        self._stock = kits
        self._spare = np.where(used, np.maximum(total - kits * mix, 0.0), total)
        self._spare_zero = not any(self._spare.tolist())

    def _spare_t(self) -> float:
        if self._spare_zero:
            return 0.0
        return float(self._spare.sum()) if self._spare.size > 1 else 0.0

    def _assembly_held(self) -> np.ndarray:
        return self._stock * self._kit_el + self.ctx.elements.content(self._spare)

    # ------------------------------------------------------------ days
    def work_days(self, first: int, end: int) -> None:
        cfg = self.cfg
        if cfg.backlog or cfg.substitution is not None or cfg.recycling is not None or self._recycling:
            self._work_daily(first, end)
        else:
            self._work_steady(first, end)

    def _work_daily(self, first: int, end: int) -> None:
        inv, dem, used, short, tpv = self._rows
        spare = self._spare_t()
        for day in range(first, end):
            self._recycle_due(day)
            d, u, sh, t = self.consume(day)
            inv.append(self._stock + spare if spare else self._stock)
            dem.append(d)
            used.append(u)
            short.append(sh)
            tpv.append(t)

    def _work_steady(self, first: int, end: int) -> None:
        """``consume`` for ``n = end - first`` days of constant demand ``D``
        and no lever: ``m`` full days while the kits last, then one day on
        what is left, then nothing."""
        n = end - first
        demand = self._demand
        _, dem, _, _, tpv = self._rows
        dem.extend([demand] * n)
        tpv.extend([self.cfg.t_per_vehicle * self._content] * n)
        total = self._steady_days(n, demand) if demand > 0 else self._idle_days(n)
        if total > 0:
            self._stock -= total
            self.ctx.ledger.consume(total * self._kit_el)

    def _idle_days(self, n: int) -> float:
        """``n`` days without demand: nothing used, nothing short."""
        inv, _, used, short, _ = self._rows
        inv.extend([self._stock + self._spare_t()] * n)
        used.extend([0.0] * n)
        short.extend([0.0] * n)
        self._short_streak = 0
        return 0.0

    def _steady_days(self, n: int, demand: float) -> float:
        """The rows of ``n`` days of demand ``demand`` > 0; the tonnes used."""
        stock = self._stock
        spare = self._spare_t()
        inv, _, used, short, _ = self._rows
        m = min(n, int(stock / demand))
        if spare:
            inv.extend([stock - k * demand + spare for k in range(1, m + 1)])
        else:
            inv.extend([stock - k * demand for k in range(1, m + 1)])
        used.extend([demand] * m)
        short.extend([0.0] * m)
        if m == n:
            self._short_streak = 0
            return m * demand
        return self._run_out(n, m, demand, stock, spare)

    def _run_out(self, n: int, m: int, demand: float, stock: float, spare: float) -> float:
        """After ``m`` full days of ``n``: one day on what is left, then
        ``n - m - 1`` days with nothing; the tonnes used over all ``n``."""
        inv, _, used, short, _ = self._rows
        total = m * demand
        last = stock - total
        if last < _EPS:
            last = 0.0
        gap = demand - last
        if gap <= demand * 1e-9:
            gap = 0.0
        total += last
        rest = n - m - 1
        inv.extend([stock - total + spare if spare else stock - total] * (rest + 1))
        used.append(last)
        used.extend([0.0] * rest)
        short.append(gap)
        short.extend([demand] * rest)
        trailing = rest + (gap > 0)
        self._short_streak = self._short_streak + n if trailing == n else trailing
        return total

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
        demand = self._demand * cut
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
            self._stock -= use
            self._consumed(day, use, use * self._kit_el)
        self._track_shortage(day, short > 0)
        return demand, use, short, cfg.t_per_vehicle * self._content * cut

    def _consumed(self, day: int, use: float, spent: np.ndarray) -> None:
        ledger = self.ctx.ledger
        rec = self.cfg.recycling
        if rec is None or rec.fraction <= 0:
            ledger.consume(spent)
            return
        back_t, back_el = use * rec.fraction, spent * rec.fraction
        ledger.consume(spent - back_el)
        ledger.to_recycling(back_el)
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
        """Recycled kits come back as kits (in the mix they were built from)."""
        self.ctx.ledger.recycled(vec)
        self._stock += tonnes

    def _finish_recycling(self, horizon: float) -> None:
        """Recycled magnets back before the horizon are in stock."""
        for item in sorted(self._recycling):
            if item[1] < horizon:
                self._recycled(*item[3:])
        self._recycling = [item for item in self._recycling if item[1] >= horizon]

    def _track_shortage(self, day: int, short: bool) -> None:
        self._short_streak = self._short_streak + 1 if short else 0
        sub = self.cfg.substitution
        if sub is not None and self._substitution_start is None and self._short_streak >= sub.trigger_days:
            self._substitution_start = float(day)
