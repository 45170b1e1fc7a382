"""What every actor shares: an order book (suppliers) and a periodic
order-up-to policy (buyers).

Parameters come from the frozen scenario (``self.cfg``, swapped when a policy
changes them); state (stocks, open orders) lives here. Order quantities are
tonnes for concentrate and magnets, element vectors for oxides, so the same
book and policy serve every tier of the chain.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from ..shipping import Link, Order, Shipment, is_empty

if TYPE_CHECKING:
    from ..model import Model

_EPS = 1e-9


class Actor(ABC):
    """A named participant in a jurisdiction, with its parameter table."""

    table = ""  # scenario list this actor's parameters come from

    def __init__(self, model: Model, index: int, cfg: Any):
        self.model = model
        self.index = index
        self.cfg = cfg
        self.name: str = cfg.name
        self.jurisdiction: str = cfg.jurisdiction

    def refresh(self, scenario: Any) -> None:
        """A policy changed the scenario: pick up this actor's new parameters."""
        self.cfg = getattr(scenario, self.table)[self.index]

    def period(self, key: str) -> int:
        """A whole number of days from a ``*_days`` period parameter, read
        from the parameters in force (a policy may change it)."""
        return max(1, int(getattr(self.cfg, key) + 0.5))

    @abstractmethod
    def start(self) -> None:
        """Start this actor's SimPy process(es)."""
        ...

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
        self.open_qty = self.open_qty - order.remaining

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
        if shp.order is not None:
            self.on_order = self.on_order - shp.qty
        self.add_stock(shp)

    def cancel(self, shp: Shipment) -> None:
        """A held parcel was finally refused: neither it nor the rest of its
        order will come."""
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
    input into output, reviews its own orders every ``review_days`` and ships
    to its customers every ``dispatch_days``."""

    def start(self) -> None:
        self.model.env.process(self.run())

    def run(self):  # noqa: ANN201 - a SimPy process
        env = self.model.env
        day = 0
        while True:
            self.work()
            if day % self.period("review_days") == 0:
                self.review()
            if day % self.period("dispatch_days") == 0:
                self.dispatch()
            day += 1
            yield env.timeout(1.0)

    @abstractmethod
    def work(self) -> None:
        """One day of processing."""
