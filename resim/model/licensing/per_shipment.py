"""Shipment licences: "one batch, one licence" (facts.md §1).

Filed when the goods are ready (``filing = "on_dispatch"``): each controlled
parcel waits with its goods reserved while its own application is reviewed,
and leaves when it is approved.

Filed on order (``filing = "on_order"``): the exporter applies when it
accepts the order, for the tonnes of it that will need a licence, so the
review runs while the goods are made; the order's parcels draw on the
licence's tonnes, and goods ready before it is granted wait for it. A
licence not used within ``shipment_validity_days`` expires and what it still
had to cover is filed again (a ``renewal`` application).

A decision may grant only part of the tonnes asked (``partial_approval``):
the approved part ships, and the refused rest is a new attempt of the same
application while ``max_attempts`` allow, else it goes back to the exporter
and the rest of its order is cancelled, as a refused parcel's is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..shipping import Order, Shipment
from .controls import licence_kind, licensed_tonnes
from .filing import Filer
from .licences import EPS_T, OrderLicence
from .office import Application

if TYPE_CHECKING:
    from ..context import Context


def cut(shp: Shipment, fraction: float, sid: int) -> Shipment:
    """Split ``fraction`` of a held parcel off as a new parcel ``sid`` of the
    same order; ``shp`` keeps the rest (tonnes, elements and order quantity
    add up to what it was)."""
    part = Shipment(sid, shp.link, shp.order, shp.mass * fraction, shp.vec * fraction, shp.qty * fraction)
    shp.mass -= part.mass
    shp.vec = shp.vec - part.vec
    shp.qty = shp.qty - part.qty
    return part


def _whole(shp: Shipment, fraction: float) -> bool:
    """Whether granting ``fraction`` of a parcel grants all of it (to rounding)."""
    return fraction >= 1.0 or shp.mass * (1.0 - fraction) <= EPS_T


class ShipmentLicensing:
    """Per-shipment licences: parcels held for their own application, and
    licences of orders filed on order."""

    def __init__(self, ctx: Context, filer: Filer, reroute: Callable[[Shipment], None]):
        self.ctx = ctx
        self.clock = ctx.clock
        self.filer = filer
        self._reroute = reroute  # files a parcel the way its exporter files now (a policy changed it)
        self.held: dict[int, Shipment] = {}  # parcels awaiting their own licence, by id
        self.orders: dict[int, OrderLicence] = {}  # licences filed on order, by order id

    @property
    def params(self) -> Any:
        return self.ctx.scenario

    def request(self, shp: Shipment) -> None:
        """A controlled parcel is ready: it draws on its order's licence if one
        was filed on order, else it files its own."""
        if self.orders and shp.order is not None:
            ol = self.orders.get(shp.order.id)
            if ol is not None:
                ol.waiting.append(shp)
                self._settle(ol)
                return
        self.file_parcel(shp)

    def has_order_licence(self, shp: Shipment) -> bool:
        """Whether the parcel's order has a licence filed on order."""
        return bool(self.orders) and shp.order is not None and shp.order.id in self.orders

    def _ship(self, shp: Shipment) -> None:
        self.filer.use_quota(shp.mass)
        shp.licensed = True
        shp.link.depart(shp)

    def decided(self, app: Application, approved: bool, fraction: float, expiry: float) -> None:
        """``fraction``: the approved share of the tonnes asked (1 unless
        partial approvals are on)."""
        if isinstance(app.subject, OrderLicence):
            self._order_decided(app, approved, fraction, expiry)
        else:
            self._parcel_decided(app, approved, fraction)

    # ------------------------------------------------------------ one parcel, one licence
    def file_parcel(self, shp: Shipment, attempt: int = 1, aid: int | None = None) -> None:
        self.held[shp.id] = shp
        self.filer.file(self.filer.new("shipment", shp.link, shp, shp.mass, attempt, aid))

    def _parcel_decided(self, app: Application, approved: bool, fraction: float) -> None:
        shp: Shipment = app.subject
        if shp.id not in self.held:
            return  # released meanwhile (controls lifted)
        if approved and _whole(shp, fraction):
            del self.held[shp.id]
            self._ship(shp)
            return
        if approved and fraction > 0.0:
            self._ship(cut(shp, fraction, next(self.ctx.ids)))  # the refused rest stays held
        if not self.filer.retry(app, self._resubmit_parcel):
            del self.held[shp.id]
            shp.link.give_back(shp)

    def _resubmit_parcel(self, app: Application) -> None:
        shp = app.subject
        if shp.id in self.held:  # still waiting (not released by a policy)
            self.file_parcel(shp, app.attempt + 1, app.id)

    # ------------------------------------------------------------ filed on order
    def order_accepted(self, order: Order, tonnes: float) -> None:
        """The exporter accepted ``order``, of which ``tonnes`` will need a
        licence: apply now."""
        ol = OrderLicence(order)
        self.orders[order.id] = ol
        self._file(ol, tonnes)

    def _file(self, ol: OrderLicence, tonnes: float, attempt: int = 1, aid: int | None = None,
              renewal: bool = False) -> None:
        app = self.filer.new("shipment", ol.link, ol, tonnes, attempt, aid, renewal)
        ol.pending = app
        self.filer.file(app)

    def _live(self, ol: OrderLicence) -> bool:
        return self.orders.get(ol.order.id) is ol

    def _need(self, ol: OrderLicence, now: float) -> float:
        """Tonnes still to cover: the order's controlled goods not yet made or
        dispatched, and its parcels waiting, less what valid grants cover."""
        order = ol.order
        rest = 0.0
        if not order.cancelled:
            rest = licensed_tonnes(self.params.controls, self.ctx.elements.controlled_mask, ol.link, order.remaining)
        return rest + sum(s.mass for s in ol.waiting) - ol.available(now)

    def _order_decided(self, app: Application, approved: bool, fraction: float, expiry: float) -> None:
        ol: OrderLicence = app.subject
        if not self._live(ol) or ol.pending is not app:
            return  # the order is done with, or its licence rules changed
        granted = app.tonnes * fraction if approved else 0.0
        if granted > EPS_T:
            g = ol.grant(expiry, granted)
            self.clock.after(expiry - self.clock.now, lambda _e, o=ol, g=g: self._expired(o, g))
        if app.tonnes - granted <= EPS_T:
            ol.pending = None
        elif not self.filer.retry(app, self._resubmit_order):  # else pending until resubmitted
            ol.pending = None
            ol.refused = True
        self._settle(ol)

    def _resubmit_order(self, app: Application) -> None:
        ol: OrderLicence = app.subject
        if self._live(ol) and ol.pending is app:
            ol.pending = None
            self._settle(ol, app.attempt + 1, app.id)

    def _expired(self, ol: OrderLicence, g: list[float]) -> None:
        """A grant reached ``shipment_validity_days``: what it had left lapses,
        and what it still had to cover is filed again."""
        if ol.drop(g) and self._live(ol):
            self._settle(ol, renewal=True)

    def _settle(self, ol: OrderLicence, attempt: int = 1, aid: int | None = None, renewal: bool = False) -> None:
        """After any change to an order's licence: ship the waiting parcels
        its grants cover, apply for what is left to cover (or, finally
        refused, give it back), and forget the licence once the order is done."""
        now = self.clock.now
        self._ship_covered(ol, now)
        if ol.pending is None and self._need(ol, now) > EPS_T:
            self._cover_rest(ol, now, attempt, aid, renewal)
        if ol.order.cancelled:  # refused elsewhere: nothing of it will be wanted
            while ol.waiting:
                ol.link.give_back(ol.waiting.popleft())
        if self._done_with(ol, now):
            del self.orders[ol.order.id]

    def _cover_rest(self, ol: OrderLicence, now: float, attempt: int, aid: int | None, renewal: bool) -> None:
        """What the grants do not cover: refused, it goes back; else it is
        filed for, or (a policy changed how this exporter files) goes the new way."""
        if ol.refused:
            self._refuse_rest(ol, now)
        elif not ol.closed and self._files_on_order(ol):
            self._file(ol, self._need(ol, now), attempt, aid, renewal)
        else:
            ol.closed = True
            while ol.waiting:
                self._reroute(ol.waiting.popleft())

    def _done_with(self, ol: OrderLicence, now: float) -> bool:
        """Whether the order's licence has nothing more to do: the order was
        cancelled, its exporter stopped filing on order and its grants are
        spent, or nothing waits and nothing of the order still needs one."""
        order = ol.order
        return order.cancelled or (ol.closed and ol.available(now) <= EPS_T) or (not ol.waiting and licensed_tonnes(
            self.params.controls, self.ctx.elements.controlled_mask, ol.link, order.remaining) <= EPS_T)

    def _files_on_order(self, ol: OrderLicence) -> bool:
        """Whether the exporter still files per shipment, on order."""
        return (self.params.licensing.filing == "on_order"
                and licence_kind(self.params.controls, ol.link) == "per_shipment")

    def _ship_covered(self, ol: OrderLicence, now: float) -> None:
        """Waiting parcels leave in order while the grants cover them; the
        first one they cover only in part is cut and its covered part leaves."""
        while ol.waiting:
            avail = ol.available(now)
            if avail <= EPS_T:
                return
            shp = ol.waiting[0]
            if avail >= shp.mass - EPS_T:
                ol.draw(shp.mass, now)
                ol.waiting.popleft()
                self._ship(shp)
            else:
                ol.draw(avail, now)
                self._ship(cut(shp, avail / shp.mass, next(self.ctx.ids)))
                return

    def _refuse_rest(self, ol: OrderLicence, now: float) -> None:
        """Finally refused: waiting goods the grants cannot cover go back and
        the order's rest is cancelled; with none waiting and nothing granted,
        the order is cancelled before its goods are made."""
        if ol.waiting:
            while ol.waiting:
                ol.link.give_back(ol.waiting.popleft())
        elif ol.available(now) <= EPS_T and not ol.order.cancelled:
            order = ol.order
            nothing = Shipment(next(self.ctx.ids), ol.link, order, 0.0, self.ctx.elements.zeros(), order.qty * 0.0)
            ol.link.customer.cancel(nothing)

    # ------------------------------------------------------------ policies
    def release(self, needs_licence: Callable[[Shipment], bool]) -> None:
        """Parcels that no longer need a licence (controls lifted, elements
        de-listed, a higher de minimis) leave now; their pending applications
        run on unheeded."""
        for sid, shp in list(self.held.items()):
            if not needs_licence(shp):
                del self.held[sid]
                shp.link.depart(shp)
        for ol in list(self.orders.values()):
            self._release_waiting(ol, needs_licence)
            self._settle(ol)

    @staticmethod
    def _release_waiting(ol: OrderLicence, needs_licence: Callable[[Shipment], bool]) -> None:
        """The parcels waiting for an order's licence that no longer need one leave."""
        free = [s for s in ol.waiting if not needs_licence(s)]
        if free:
            ol.waiting = type(ol.waiting)(s for s in ol.waiting if needs_licence(s))
            for shp in free:
                shp.link.depart(shp)
