"""What every actor shares: a day clock computed on demand, an order book
(suppliers) and a periodic order-up-to policy (buyers).

Parameters come from the frozen scenario (``self.cfg``, swapped when a policy
changes them); state (stocks, open orders) lives here. Order quantities are
tonnes for concentrate and magnets, element vectors for oxides, so the same
book and policy serve every tier of the chain.

Time. Production and consumption happen once per whole day, but nothing is
scheduled for them: between two events that touch an actor its days are a
known function of its state and parameters, so they are worked in one go
(``advance``) when the actor is next read or changed (``sync``). Only the days
with a duty (a review, a dispatch, a stockpile release) are SimPy events. The
convention, as with a daily process: day ``t``'s work happens at time ``t``
after every other event of that time (arrivals and policies of day ``t`` count
for it), actors upstream first. ``DayEvent`` gets that order from SimPy's
``(time, priority, id)`` queue with priorities after ``NORMAL``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from simpy.core import NORMAL
from simpy.events import Event

from ..shipping import Link, Order, Shipment, is_empty

if TYPE_CHECKING:
    from ..model import Model

_EPS = 1e-9


class DayEvent(Event):
    """A whole-day duty of the actor of position ``rank``: fires after every
    ``NORMAL`` event of its time, and after the duties of upstream actors."""

    def __init__(self, env: Any, delay: float, rank: int, callback: Callable[[Any], None]):
        self.env = env
        self.callbacks = [callback]
        self._value = None
        self._ok = True
        env.schedule(self, NORMAL + 1 + rank, delay)


class Actor(ABC):
    """A named participant in a jurisdiction, with its parameter table."""

    table = ""  # scenario list this actor's parameters come from

    def __init__(self, model: Model, index: int, cfg: Any):
        self.model = model
        self.index = index
        self.cfg = cfg
        self.name: str = cfg.name
        self.jurisdiction: str = cfg.jurisdiction
        self.rank = 0  # position in the model's upstream-first actor list (set by wiring)
        self.done = 0  # days 0 .. done-1 are worked
        self._plan_id = 0  # the scheduled duty that is current (older ones are ignored)
        self._last_duty = -1  # the last day whose duties ran: never run a day twice

    # ----------------------------------------------------------- the day clock
    def start(self) -> None:
        """Schedule the first duty day."""
        self.plan(0)

    def sync(self) -> None:
        """Work the days that are over before this actor's state is read or
        changed: at time ``s`` days before ``s`` are done (so at a whole time
        ``t``, day ``t`` is not, and an arrival at ``t`` counts for day ``t``);
        during the duties of day ``t``, day ``t`` is done for upstream actors."""
        model = self.model
        rank = model.duty_rank
        now = model.env._now
        upto = math.ceil(now) if rank is None else int(now) + (rank > self.rank)
        if upto > self.done:
            self.advance(upto)

    def advance(self, upto: int) -> None:
        """Work days ``done .. upto-1`` (never past the horizon)."""
        upto = min(upto, self.model.days)
        if upto > self.done:
            self.work_days(self.done, upto)
            self.done = upto

    @abstractmethod
    def work_days(self, first: int, end: int) -> None:
        """Days ``first .. end-1`` of production or consumption, with no event
        in between."""

    @abstractmethod
    def next_duty(self, first: int) -> int | None:
        """The first day >= ``first`` with a duty, or None for none."""

    @abstractmethod
    def duty(self, day: int) -> None:
        """The duties of ``day`` (this actor's days before it are worked)."""

    def plan(self, first: int) -> None:
        """Schedule the next duty day on or after ``first`` (and after the
        last day whose duties ran); a plan made earlier (under other
        parameters) is dropped."""
        self._plan_id += 1
        day = self.next_duty(max(first, self._last_duty + 1))
        model = self.model
        if day is None or day >= model.days:
            return
        env = model.env
        DayEvent(env, day - env._now, self.rank, lambda _e, d=day, p=self._plan_id: self._on_duty(d, p))

    def _on_duty(self, day: int, plan_id: int) -> None:
        if plan_id != self._plan_id:
            return
        model = self.model
        model.duty_rank = self.rank
        self._last_duty = day
        try:
            self.duty(day)
        finally:
            model.duty_rank = None
        self.plan(day + 1)

    def refresh(self, scenario: Any) -> None:
        """A policy changed the scenario: days before now ran under the old
        parameters; pick up this actor's new ones and re-plan its duties."""
        self.sync()
        self.cfg = getattr(scenario, self.table)[self.index]
        self.plan(math.ceil(self.model.env._now))

    def finish(self) -> None:
        """The run is over: work the remaining days up to the horizon."""
        self.advance(self.model.days)

    def period(self, key: str) -> int:
        """A whole number of days from a ``*_days`` period parameter, read
        from the parameters in force (a policy may change it)."""
        return max(1, int(getattr(self.cfg, key) + 0.5))

    def next_multiple(self, first: int, key: str) -> int:
        """The first day >= ``first`` that is a multiple of the period ``key``."""
        p = self.period(key)
        return -(-first // p) * p

    @abstractmethod
    def stock_vec(self) -> np.ndarray:
        """Element tonnes held on site (for conservation checks)."""
        ...


class Supplier(Actor):
    """Fills customer orders FIFO by order date from its finished stock,
    home-jurisdiction customers first when ``domestic_first``."""

    def __init__(self, model: Model, index: int, cfg: Any):
        super().__init__(model, index, cfg)
        self.book_home: deque[Order] = deque()
        self.book: deque[Order] = deque()
        self.open_qty: Any = 0.0

    def accept(self, order: Order) -> None:
        self.sync()
        home = getattr(self.cfg, "domestic_first", False) and (
            order.link.customer.jurisdiction == self.jurisdiction
        )
        (self.book_home if home else self.book).append(order)
        self.open_qty = self.open_qty + order.qty

    def dispatch(self) -> None:
        """Ship what stock allows against open orders, oldest first."""
        for book in (self.book_home, self.book):
            while book and (book[0].cancelled or is_empty(book[0].remaining)):
                book.popleft()
            for order in book:
                if order.cancelled or is_empty(order.remaining):
                    continue
                take = self.available_for(order.remaining)
                if is_empty(take):
                    if not isinstance(take, np.ndarray):
                        return  # no stock left for anyone
                    continue
                mass, vec = self.take(take)
                order.remaining = order.remaining - take
                self.open_qty = self.open_qty - take
                order.link.send(order, mass, vec, take)
            while book and (book[0].cancelled or is_empty(book[0].remaining)):
                book.popleft()

    def forget(self, order: Order) -> None:
        """An order was cancelled: its unfilled part is no longer owed."""
        self.sync()
        self.open_qty = self.open_qty - order.remaining

    def returned(self, shp: Shipment) -> None:
        """A parcel refused a licence comes back to stock."""
        self.sync()
        self.restock(shp)

    # -- subclasses say how stock is measured, taken and given back
    @abstractmethod
    def available_for(self, remaining: Any) -> Any:
        ...

    @abstractmethod
    def take(self, qty: Any) -> tuple[float, np.ndarray]:
        ...

    @abstractmethod
    def restock(self, shp: Shipment) -> None:
        ...


class Buyer(Actor):
    """Periodic order-up-to: every ``review_days``, order up to
    ``target_days`` of need minus the inventory position (on hand + on order,
    where on order covers unfilled, awaiting licence and in transit), split by
    supplier ``share``. Counting goods stuck at the border in the position is
    what makes a licence delay bite: the buyer does not re-order them."""

    def __init__(self, model: Model, index: int, cfg: Any):
        super().__init__(model, index, cfg)
        self.links: list[Link] = []
        self.on_order: Any = 0.0

    def refresh(self, scenario: Any) -> None:
        """New parameters; supplier shares and transit times may have changed."""
        super().refresh(scenario)
        for link, s in zip(self.links, self.cfg.suppliers, strict=True):
            link.configure(s)

    @abstractmethod
    def position(self) -> Any:
        ...

    @abstractmethod
    def target(self) -> Any:
        ...

    def split(self) -> tuple[list[tuple[Link, float]], bool]:
        """Where this review's order goes: qualified suppliers by share
        (renormalised while a new source is still being qualified), and
        whether it travels by air."""
        now = self.model.env.now
        live = [(link, link.share) for link in self.links if now >= link.qualified_from]
        total = sum(w for _, w in live)
        return ([(link, w / total) for link, w in live] if total > 0 else []), False

    def review(self) -> None:
        need = self.target() - self.position()
        if isinstance(need, np.ndarray):
            need = np.where(need > _EPS, need, 0.0)
            if not need.any():
                return
        elif need <= _EPS:
            return
        model = self.model
        now = model.env.now
        links, air = self.split()
        for link, weight in links:
            qty = need * weight
            order = Order(next(model.ids), link, now, qty)
            order.air = air
            self.on_order = self.on_order + qty
            link.supplier.accept(order)

    def receive(self, shp: Shipment) -> None:
        self.sync()
        if shp.order is not None:
            self.on_order = self.on_order - shp.qty
        self.add_stock(shp)

    def cancel(self, shp: Shipment) -> None:
        """A held parcel was finally refused: neither it nor the rest of its
        order will come."""
        self.sync()
        order = shp.order
        if order is None:
            return  # a stockpile release: nothing was ordered
        self.on_order = self.on_order - shp.qty
        if not order.cancelled:
            order.cancelled = True
            order.link.supplier.forget(order)
            self.on_order = self.on_order - order.remaining
            order.remaining = order.remaining * 0.0

    @abstractmethod
    def add_stock(self, shp: Shipment) -> None:
        ...


class Plant(Buyer, Supplier):
    """A processing plant (separator, magnet maker): each day it works its
    input into output; it reviews its own orders every ``review_days`` and
    ships to its customers every ``dispatch_days``, after that day's work."""

    def next_duty(self, first: int) -> int:
        return min(self.next_multiple(first, "review_days"), self.next_multiple(first, "dispatch_days"))

    def duty(self, day: int) -> None:
        self.advance(day + 1)
        if day % self.period("review_days") == 0:
            self.review()
        if day % self.period("dispatch_days") == 0:
            self.dispatch()

    def work_days(self, first: int, end: int) -> None:
        self.work(end - first)

    @abstractmethod
    def work(self, days: int) -> None:
        """``days`` days of processing with nothing arriving or leaving: the
        daily limits add up, so they are worked as one."""
