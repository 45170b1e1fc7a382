"""Orders, shipments and the links that carry them.

A *link* is one supplier-customer connection with its transit-time
distribution. Goods leave a supplier as a parcel (tonnes plus an element
vector); the link asks the licensing authority whether the parcel may go now.
Controlled parcels wait for a licence holding their goods (reserved stock);
everything else departs at once. Arrival is a callback on a plain timeout, not
a process per shipment: shipments are a hot path. Licence state (expiry, cap,
waiting parcels) belongs to licensing (``licensing/licences.py``); a link
keeps transit only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..scenario import ScenarioBase, SupplierLink
    from .context import Context
    from .products import Product

_EPS = 1e-9


class Order:
    """A customer's order to one supplier. ``qty``/``remaining`` are tonnes
    (concentrate, magnets) or an element vector (oxides)."""

    __slots__ = ("id", "link", "day", "qty", "remaining", "cancelled", "air", "delivered", "_total")

    def __init__(self, oid: int, link: Link, day: float, qty: Any):
        self.id = oid
        self.link = link
        self.day = day
        self.qty = qty
        self.remaining = qty
        self.cancelled = False
        self.air = False  # emergency order: ship by air where the link allows
        self.delivered = 0.0  # tonnes arrived so far
        self._total: float | None = None  # tonnes ordered, summed once (``qty`` is never changed)

    @property
    def open(self) -> bool:
        """Not cancelled and not all arrived: its age bounds its lead time from
        below. (Buyers ask it of their oldest order at every review.)"""
        total = self._total
        if total is None:
            total = self._total = float(np.sum(self.qty))
        return not self.cancelled and self.delivered < total * (1.0 - 1e-9)


class Shipment:
    """A parcel on its way (or waiting for a licence) on one link."""

    __slots__ = ("id", "link", "order", "mass", "vec", "qty", "licensed", "by_air")

    def __init__(self, sid: int, link: Link, order: Order | None, mass: float, vec: np.ndarray, qty: Any):
        self.id = sid
        self.link = link
        self.order = order
        self.mass = mass  # tonnes of product
        self.vec = vec  # tonnes per element
        self.qty = qty  # in the order's unit (tonnes or element vector)
        self.licensed = False  # left under a licence
        self.by_air = False


class Link:
    """One supplier-customer connection: transit, and what is on its way."""

    def __init__(self, ctx: Context, supplier: Any, customer: Any, product: Product,
                 cfg_of: Callable[[ScenarioBase], SupplierLink]):
        self.ctx = ctx
        self.supplier = supplier
        self.customer = customer
        self.product = product
        self.product_name = product.name  # the flow records' product column
        self.key = f"{supplier.name}->{customer.name}"
        self._cfg_of = cfg_of  # this link's parameters in a scenario (found by name)
        cfg = cfg_of(ctx.scenario)
        self.transit = ctx.streams.stream(f"link/{self.key}/transit", cfg.transit)
        self.air: Any = None
        self._configure(cfg)
        self.crosses_border = supplier.jurisdiction != customer.jurisdiction
        self.in_flight = 0.0  # stockpile releases sent and not yet arrived

    def _configure(self, cfg: Any) -> None:
        self.share = cfg.share
        self.mean_transit = cfg.transit.mean
        # what one unit ordered on this link can contain (a grade mix, elements, 1 for tonnes)
        self.supplies: Any = self.product.unit_mix(self.ctx.elements, self.supplier, cfg)
        self.transit.set_dist(cfg.transit)
        self.qualified_from = cfg.qualification_days
        self.premium = cfg.premium
        air = cfg.air_freight
        self.air_cost_usd_per_kg = air.cost_usd_per_kg if air is not None else 0.0
        if air is not None:
            if self.air is None:
                self.air = self.ctx.streams.stream(f"link/{self.key}/air", air.transit)
            self.air.set_dist(air.transit)

    def on_policy(self, old: ScenarioBase, new: ScenarioBase, changes: Any) -> None:
        """Share, transit, qualification, premium and air freight may change."""
        cfg = self._cfg_of(new)
        if cfg != self._cfg_of(old):
            self._configure(cfg)

    def send(self, order: Order | None, mass: float, vec: np.ndarray, qty: Any) -> None:
        """Hand goods to the link, as the parcels their product travels as
        (``Product.parcels``: controlled oxides apart from the others, one
        parcel per magnet grade)."""
        for part in self.product.parcels(self.ctx.elements, mass, vec, qty):
            self._send(order, *part)

    def _send(self, order: Order | None, mass: float, vec: np.ndarray, qty: Any) -> None:
        ctx = self.ctx
        shp = Shipment(next(ctx.ids), self, order, mass, vec, qty)
        ctx.ledger.reserve(vec)
        ctx.licensing.request(shp)  # type: ignore[union-attr]

    def split(self, shp: Shipment, parts: int) -> list[Shipment]:
        """Cut a held parcel into ``parts`` equal parcels of the same order."""
        f = 1.0 / parts
        ids = self.ctx.ids
        return [Shipment(next(ids), self, shp.order, shp.mass * f, shp.vec * f, shp.qty * f) for _ in range(parts)]

    def depart(self, shp: Shipment) -> None:
        """Goods leave now: record the flow, then arrive after the transit time."""
        ctx = self.ctx
        ctx.ledger.depart(shp.vec)
        clock = ctx.clock
        ctx.records.flows.append(clock.now, self.supplier.jurisdiction, self.customer.jurisdiction,
                                 self.product_name, shp.mass)
        order = shp.order
        by_air = self.air is not None and (
            (order is not None and order.air) or (shp.licensed and self.customer.flies_licensed()))
        shp.by_air = by_air
        clock.after(self.air() if by_air else self.transit(), lambda _e, s=shp: self._arrive(s))

    def _arrive(self, shp: Shipment) -> None:
        self.ctx.ledger.arrive(shp.vec)
        if shp.order is None:
            self.in_flight -= shp.mass
        self.customer.receive(shp)

    def give_back(self, shp: Shipment) -> None:
        """Final rejection: goods return to the exporter, the order is cancelled
        (the customer re-orders at its next review)."""
        self.ctx.ledger.give_back(shp.vec)
        self.supplier.returned(shp)
        self.customer.cancel(shp)


def is_empty(qty: Any) -> bool:
    """Nothing left (every grade or element at most ``_EPS`` tonnes). On a
    list of the few values a vector holds: a numpy reduction costs ~2 us,
    ten times this, and suppliers ask it of every open order each day."""
    if isinstance(qty, np.ndarray):
        return all(v <= _EPS for v in qty.tolist())  # NaN is not empty, as numpy's (qty <= eps).all()
    return qty <= _EPS
