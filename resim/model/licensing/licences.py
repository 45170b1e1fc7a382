"""Licences in force: the general licence of each exporter-customer pair, and
the shipment licence of each order filed on order.

Licensing owns this state (not the shipping link it covers): when it expires,
how many tonnes its cap has left, the application pending for it (a first
licence or a renewal), and the parcels waiting for it in order.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Iterator
from typing import Any

from ..shipping import Link, Order, Shipment

#: Tonnes below this are rounding, not goods.
EPS_T = 1e-9


class GeneralLicence:
    """The general licence of one exporter-customer pair (``link``), if any."""

    __slots__ = ("link", "expiry", "cap_left", "pending", "waiting")

    def __init__(self, link: Link):
        self.link = link
        self.expiry = -math.inf
        self.cap_left = math.inf
        self.pending: Any = None  # the application filed for it, if any
        self.waiting: deque[Shipment] = deque()

    def covers(self, now: float, tonnes: float) -> bool:
        """Whether a parcel of ``tonnes`` may leave under it now."""
        return now < self.expiry and self.cap_left >= tonnes

    def grant(self, expiry: float, cap: float | None) -> None:
        self.pending = None
        self.expiry = expiry
        self.cap_left = cap if cap is not None else math.inf


class LicenceBook:
    """General licences by exporter-customer pair, one per link, kept in the
    order the links were wired (so sweeps over them are reproducible)."""

    def __init__(self) -> None:
        self._by_link: dict[str, GeneralLicence] = {}

    def add(self, link: Link) -> None:
        """Wiring connects a link: the pair may need a licence from now on."""
        self._by_link[link.key] = GeneralLicence(link)

    def of(self, link: Link) -> GeneralLicence:
        return self._by_link[link.key]

    def get(self, key: str) -> GeneralLicence | None:
        """The licence state of the pair ``"exporter->customer"``, if any."""
        return self._by_link.get(key)

    def __iter__(self) -> Iterator[GeneralLicence]:
        return iter(self._by_link.values())


class OrderLicence:
    """The shipment licence of one order, filed when the exporter accepted it
    (``licensing.filing = "on_order"``). Its parcels draw on the tonnes it
    grants until they expire (``shipment_validity_days``).

    A decision may grant part of what was asked (partial approvals), and a
    later attempt or refiling the rest, so it holds a list of grants
    ``[expiry, tonnes left]``, soonest expiry first; parcels ready before a
    grant covers them wait here in order.
    """

    __slots__ = ("order", "link", "grants", "pending", "waiting", "refused", "closed")

    def __init__(self, order: Order):
        self.order = order
        self.link = order.link
        self.grants: list[list[float]] = []
        self.pending: Any = None  # the application in review or awaiting resubmission
        self.waiting: deque[Shipment] = deque()
        self.refused = False  # finally refused: the exporter stops applying for this order
        self.closed = False  # the exporter no longer files on order: only its grants are used up

    def grant(self, expiry: float, tonnes: float) -> list[float]:
        g = [expiry, tonnes]
        bisect.insort(self.grants, g, key=lambda x: x[0])
        return g

    def drop(self, g: list[float]) -> bool:
        """Remove grant ``g`` (it expired); False if it was used up already."""
        for i, h in enumerate(self.grants):
            if h is g:
                del self.grants[i]
                return True
        return False

    def available(self, now: float) -> float:
        """Tonnes its grants still cover at time ``now``."""
        return sum(t for expiry, t in self.grants if now < expiry)

    def draw(self, tonnes: float, now: float) -> None:
        """Use ``tonnes`` of the valid grants, soonest expiry first."""
        for g in self.grants:
            if tonnes <= 0.0:
                break
            if now < g[0]:
                used = min(g[1], tonnes)
                g[1] -= used
                tonnes -= used
        self.grants = [g for g in self.grants if g[1] > EPS_T]
