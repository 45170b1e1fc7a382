"""Which goods need a licence, and which kind of licence their exporter gets.

A parcel needs a licence when controls are on, it leaves the controlling
jurisdiction for another, and its controlled-element mass fraction is above
``de_minimis`` (facts.md §1: the listed elements and magnets containing them).
The same rule applied to an order, before its goods exist, tells an exporter
that files on order how many tonnes to apply for; it must agree with the
parcels the order will become, which is why both are the product's
(``products.py``): oxides are sold element by element and travel as a
controlled and an uncontrolled parcel, so only the controlled elements'
tonnes need a licence; magnets travel as one parcel per grade, so only the
grades above ``de_minimis`` need one; concentrate travels whole, in the
supplier's ``unit_content()`` mix.

From December 2025 only large exporters got general licences while the rest
still filed per shipment (facts.md §1): ``general_licence_exporters``; and
general licences went to named customers of an exporter, not to all of
them: ``[[controls.general_licences]]``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from ..shipping import Link, Shipment


def crosses_controls(ctl: Any, link: Link) -> bool:
    """Whether goods on ``link`` leave the controlling jurisdiction under
    controls in force (``ctl``: the scenario's ``[controls]``)."""
    if ctl.licence_mode == "none" or not link.crosses_border:
        return False
    return link.supplier.jurisdiction == ctl.jurisdiction and link.customer.jurisdiction != ctl.jurisdiction


def needs_licence(ctl: Any, mask: np.ndarray, shp: Shipment) -> bool:
    """Whether a parcel ready to leave needs a licence (``mask``: 1 for the
    controlled elements)."""
    if not crosses_controls(ctl, shp.link) or shp.mass <= 0:
        return False
    return float(shp.vec @ mask) / shp.mass > ctl.de_minimis


def licensed_tonnes(ctl: Any, mask: np.ndarray, link: Link, qty: Any) -> float:
    """Tonnes of an order's goods ``qty`` (in its product's unit) that will
    need a licence when they are ready: the product says which of its
    parcels will be controlled (``Product.licensed_tonnes``)."""
    if not crosses_controls(ctl, link):
        return 0.0
    return link.product.licensed_tonnes(link.ctx.elements, mask, ctl.de_minimis, link.supplier, qty)


def licence_kind(ctl: Any, link: Link) -> str:
    """``none``, ``per_shipment`` or ``general``: the licences the controlled
    goods on ``link`` need (its exporter's mode, unless the exporter gets
    general licences for all its customers or for this one)."""
    mode: str = ctl.licence_mode
    if mode == "per_shipment" and (link.supplier.name in ctl.general_licence_exporters
                                   or grant_for(ctl, link) is not None):
        return "general"
    return mode


def grant_for(ctl: Any, link: Link) -> Any:
    """The ``[[controls.general_licences]]`` entry covering ``link``'s
    customer, or None."""
    for grant in ctl.general_licences:
        if grant.exporter == link.supplier.name and _covers(grant, link.customer):
            return grant
    return None


def _covers(grant: Any, customer: Any) -> bool:
    if grant.customers:
        return customer.name in grant.customers or customer.entry in grant.customers
    return customer_place(grant.exporter, customer.name) < grant.share_of_customers


def customer_place(exporter: str, customer: str) -> float:
    """A fixed uniform in [0, 1) per exporter-customer pair, from their names:
    a share ``s`` of customers covers those placed below ``s``. A hash, not a
    random stream, so no other draw of the run moves."""
    digest = hashlib.blake2b(f"{exporter}\x00{customer}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def lifetime_days(ctl: Any, link: Link) -> float:
    """How long a general licence on ``link`` lasts."""
    grant = grant_for(ctl, link)
    return float(grant.lifetime_days) if grant is not None and grant.lifetime_days is not None else ctl.lifetime_days
