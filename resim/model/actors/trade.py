"""Trading: suppliers fill orders from an order book, buyers order up to a
target. Order quantities are in the unit of the product (``products.py``):
tonnes of concentrate, element vectors of oxides, grade vectors of magnets,
so the same book and policy serve every tier."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ...scenario import ScenarioBase
from ..order_book import OrderBook
from ..shipping import Order, Shipment, is_empty
from .base import Actor, LinkParams

if TYPE_CHECKING:
    from ...scenario.registry import ActorKind
    from ..context import Context
    from ..shipping import Link

_EPS = 1e-9


class Supplier(Actor):
    """Fills customer orders FIFO by order date from its finished stock,
    home-jurisdiction customers first when ``domestic_first``."""

    def __init__(self, ctx: Context, kind: ActorKind, cfg: Any):
        super().__init__(ctx, kind, cfg)
        self.book_home = OrderBook()
        self.book = OrderBook()
        self.open_qty: Any = kind.product.zero(ctx.elements) if kind.product is not None else 0.0

    # -- what customers may ask of a supplier
    @abstractmethod
    def unit_content(self) -> np.ndarray:
        """Element tonnes per tonne of what it sells (its customers' initial
        stock is in this mix)."""

    def price_usd_per_kg(self) -> float:
        """List price of what it sells (0 where prices are not modelled)."""
        return 0.0

    #: Output capacity as a share of its parameters' (``[markets.supply]`` raises it outside China).
    capacity_scale = 1.0

    def read_prices(self, day: int) -> None:
        """With ``[markets.supply]``: the capacity the market's prices bring
        from the day after ``day`` (``markets.Market.capacity_scale``)."""
        market = self.ctx.markets
        if market is not None and market.cfg.supply is not None:
            self.capacity_scale = market.capacity_scale(self.name, self.jurisdiction, day)

    def serves_home_first(self) -> bool:
        """Whether customers in its own jurisdiction are served first."""
        return False

    def accept(self, order: Order) -> None:
        self.sync()
        home = self.serves_home_first() and order.link.customer.jurisdiction == self.jurisdiction
        (self.book_home if home else self.book).append(order)
        self.open_qty = self.open_qty + order.qty
        self.ctx.licensing.order_accepted(order)  # type: ignore[union-attr]

    def dispatch(self) -> None:
        """Ship what stock allows against open orders, home customers' first,
        oldest first."""
        for book in (self.book_home, self.book):
            book.drop_done()
            if not self._fill(book):
                return  # no stock left for anyone
            book.drop_done()

    def _fill(self, book: OrderBook) -> bool:
        """Ship to the open orders of ``book`` in order what stock allows;
        False when a product held in tonnes ran out (nobody else can be served).
        Where stock is a vector the book names the orders it can serve."""
        stock = self.stock_units() if book.vectors else None
        for order in (book if stock is None else book.servable(stock)):
            if _done(order):
                continue
            take = self.available_for(order.remaining)
            if is_empty(take):
                if not isinstance(take, np.ndarray):
                    return False
                continue  # none of the elements or grades it wants; others may want others
            mass, vec = self.take(take)
            order.remaining = order.remaining - take
            self.open_qty = self.open_qty - take
            order.link.send(order, mass, vec, take)
        return True

    def forget(self, order: Order) -> None:
        """An order was cancelled: its unfilled part is no longer owed."""
        self.sync()
        self.open_qty = self.open_qty - order.remaining

    def returned(self, shp: Shipment) -> None:
        """A parcel refused a licence comes back to stock."""
        self.sync()
        self.restock(shp)

    # -- subclasses say how stock is measured, taken and given back
    def stock_units(self) -> list[float] | None:
        """Stock per unit (grade, element) when ``available_for`` is
        ``min(remaining, stock)`` unit by unit, which lets a fill skip the
        orders it cannot serve; None otherwise."""
        return None

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

    def __init__(self, ctx: Context, kind: ActorKind, cfg: Any):
        super().__init__(ctx, kind, cfg)
        self.links: list[Link] = []  # one per supplier, in the order the parameters list them
        self.on_order: Any = kind.buys.zero(ctx.elements) if kind.buys is not None else 0.0

    def wanted_suppliers(self) -> list[tuple[str, LinkParams]]:
        table, me = self.table, self.entry

        def params(supplier: str) -> LinkParams:
            def find(scn: ScenarioBase) -> Any:
                return next(s for s in scn.find(table, me).suppliers if s.name == supplier)
            return find

        return [(s.name, params(s.name)) for s in self.cfg.suppliers]

    @property
    def end_use(self) -> str:
        return self.cfg.end_use

    def connect_supplier(self, link: Link) -> None:
        self.links.append(link)

    def elaborate(self) -> None:
        names = [link.supplier.name for link in self.links]
        wanted = [s.name for s in self.cfg.suppliers]
        if names != wanted:
            raise RuntimeError(f"{self.name}: suppliers {wanted} but connected to {names}")

    def supplier_mix(self) -> np.ndarray:
        """Element tonnes per tonne bought, by supplier share."""
        return sum((link.share * link.supplier.unit_content() for link in self.links),
                   self.ctx.elements.zeros())

    @abstractmethod
    def position(self) -> Any:
        ...

    @abstractmethod
    def target(self) -> Any:
        ...

    def split(self) -> tuple[list[Link], bool]:
        """Which suppliers this review's order may go to (those qualified by
        now), and whether it travels by air."""
        now = self.ctx.clock.now
        return [link for link in self.links if now >= link.qualified_from], False

    def review(self) -> None:
        """Order the need, each unit (tonne, element, grade) from the suppliers
        of that unit by share, renormalised over those eligible now."""
        need = _positive(self.target() - self.position())
        if need is None:
            return
        links, air = self.split()
        for link, qty in _shares_of(need, links):
            self._order(link, qty, air)

    def _order(self, link: Link, qty: Any, air: bool) -> None:
        if isinstance(qty, np.ndarray) and not any(qty.tolist()):
            return
        order = Order(next(self.ctx.ids), link, self.ctx.clock.now, qty)
        order.air = air
        self.on_order = self.on_order + qty
        self.ordered(order)
        link.supplier.accept(order)

    def ordered(self, order: Order) -> None:
        """An order was placed (buyers that track their open orders keep it)."""
        return None

    def receive(self, shp: Shipment) -> None:
        self.sync()
        if shp.order is not None:
            self.on_order = self.on_order - shp.qty
            shp.order.delivered += shp.mass
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


def _done(order: Order) -> bool:
    return order.cancelled or is_empty(order.remaining)


def _positive(need: Any) -> Any:
    """The need with what is not worth ordering cut to 0, or None for none."""
    if isinstance(need, np.ndarray):
        need = np.where(need > _EPS, need, 0.0)
        return need if any(need.tolist()) else None  # a list of a few values: faster than a numpy reduction
    return need if need > _EPS else None


def _shares_of(need: Any, links: list[Link]) -> Iterator[tuple[Link, Any]]:
    """(link, quantity) for the links that get part of ``need``: each unit
    split over the links that supply it, by share."""
    if len(links) == 1:  # one supplier takes the whole need it can supply (x / x is exactly 1)
        supplies = links[0].supplies
        yield links[0], (need if not isinstance(supplies, np.ndarray) else need * (supplies > 0))
        return
    weights = [link.share * link.supplies for link in links]
    total = sum(weights)
    for link, weight in zip(links, weights, strict=True):
        qty = _part(need, weight, total)
        if qty is not None:
            yield link, qty


def _part(need: Any, weight: Any, total: Any) -> Any:
    """``need x weight / total`` (unit by unit for vectors), or None for nothing."""
    if isinstance(total, np.ndarray):
        qty = need * np.divide(weight, total, out=np.zeros_like(total), where=total > 0)
        return qty if qty.any() else None
    return need * (weight / total) if total > 0 else None
