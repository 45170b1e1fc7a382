"""Licences in force: the general licence of each exporter-customer pair.

Licensing owns this state (not the shipping link it covers): when it expires,
how many tonnes its cap has left, the application pending for it (a first
licence or a renewal), and the parcels waiting for it in order.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from typing import Any

from ..shipping import Link, Shipment


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
