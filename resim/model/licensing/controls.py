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
still filed per shipment (facts.md §1): ``general_licence_exporters``.
"""

from __future__ import annotations

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


def licence_kind(ctl: Any, exporter: str) -> str:
    """``none``, ``per_shipment`` or ``general``: the licences ``exporter``'s
    controlled goods need."""
    mode: str = ctl.licence_mode
    if mode == "per_shipment" and exporter in ctl.general_licence_exporters:
        return "general"
    return mode
