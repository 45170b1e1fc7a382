"""The products that travel on links, each declared once with its behaviour.

A product is what a kind ships or buys (``registry.ActorKind.product`` and
``buys``). Its ``name`` is the value of the ``product`` column of the flow
records (``flows.parquet``) and of calibration series; its class says how
its quantities are held and what that means wherever a quantity is handled:

* ``Bulk`` (concentrate): tonnes, in the supplier's mix; a parcel is shipped
  and licensed whole.
* ``ElementWise`` (oxides): a vector of tonnes per element, sold element by
  element (a buyer may take different elements from different suppliers);
  the controlled oxides travel, and are licensed, apart from the others.
* ``GradeWise`` (magnets): a vector of tonnes per grade of the run; one
  parcel per grade, so a Dy/Tb-free grade is not caught by the controls
  whatever else the order holds.

Links, suppliers, buyers and the licensing rules ask the product instead of
switching on its name, so a new product is one more class here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .context import Elements

#: One parcel: (tonnes, element tonnes, quantity in the product's unit).
Parcel = tuple[float, np.ndarray, Any]


class Product(ABC):
    """A product: its name in the records, and how its quantities behave."""

    #: Whether buyers may buy it element by element (``suppliers[].elements``).
    by_element = False
    #: How its quantities are held (for the documentation).
    held_as = ""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<product {self.name}>"

    @abstractmethod
    def zero(self, elements: Elements) -> Any:
        """No quantity of it (an empty order book, nothing on order)."""

    @abstractmethod
    def unit_mix(self, elements: Elements, supplier: Any, link_cfg: Any) -> Any:
        """What one unit ordered on a link can contain: a buyer splits each
        unit of its need over the suppliers whose links carry it."""

    @abstractmethod
    def parcels(self, elements: Elements, mass: float, vec: np.ndarray, qty: Any) -> list[Parcel]:
        """Goods handed to a link as the parcels they travel (and are
        licensed) as."""

    @abstractmethod
    def licensed_tonnes(self, elements: Elements, mask: np.ndarray, de_minimis: float, supplier: Any,
                        qty: Any) -> float:
        """Tonnes of an order's goods ``qty`` that will need a licence once
        they are parcels (``mask``: 1 for the controlled elements), on a link
        that leaves the controlling jurisdiction."""


class Bulk(Product):
    """Held in tonnes, of the supplier's mix (``unit_content()``)."""

    held_as = "tonnes, in the supplier's element mix"

    def zero(self, elements: Elements) -> float:
        return 0.0

    def unit_mix(self, elements: Elements, supplier: Any, link_cfg: Any) -> float:
        return 1.0

    def parcels(self, elements: Elements, mass: float, vec: np.ndarray, qty: Any) -> list[Parcel]:
        return [(mass, vec, qty)]

    def licensed_tonnes(self, elements: Elements, mask: np.ndarray, de_minimis: float, supplier: Any,
                        qty: Any) -> float:
        if qty <= 0.0:
            return 0.0
        return float(qty) if float(supplier.unit_content() @ mask) > de_minimis else 0.0


class ElementWise(Product):
    """Held as tonnes per element of the run."""

    by_element = True
    held_as = "an element vector (tonnes per element)"

    def zero(self, elements: Elements) -> np.ndarray:
        return elements.zeros()

    def unit_mix(self, elements: Elements, supplier: Any, link_cfg: Any) -> np.ndarray:
        """The elements named on the link (all by default)."""
        return np.ones(elements.n) if link_cfg.elements is None else elements.mask(link_cfg.elements)

    def parcels(self, elements: Elements, mass: float, vec: np.ndarray, qty: Any) -> list[Parcel]:
        """The controlled elements as one parcel, the others as another."""
        ctrl = vec * elements.controlled_mask
        if ctrl.any() and (vec - ctrl).any():
            free = vec - ctrl
            return [(float(ctrl.sum()), ctrl, ctrl), (float(free.sum()), free, free)]
        return [(mass, vec, qty)]

    def licensed_tonnes(self, elements: Elements, mask: np.ndarray, de_minimis: float, supplier: Any,
                        qty: Any) -> float:
        """The controlled elements' tonnes: their parcel is wholly controlled."""
        tonnes = float((qty * mask).sum())
        return tonnes if tonnes > 0.0 and 1.0 > de_minimis else 0.0


class GradeWise(Product):
    """Held as tonnes per magnet grade of the run."""

    held_as = "a grade vector (tonnes per grade)"

    def zero(self, elements: Elements) -> np.ndarray:
        return np.zeros(len(elements.grade_names))

    def unit_mix(self, elements: Elements, supplier: Any, link_cfg: Any) -> np.ndarray:
        """The grades the supplier ships, in its shares."""
        return supplier.grade_mix()

    def parcels(self, elements: Elements, mass: float, vec: np.ndarray, qty: Any) -> list[Parcel]:
        """One parcel per grade."""
        if np.count_nonzero(qty) <= 1:
            return [(mass, vec, qty)]
        out = []
        for g in np.flatnonzero(qty):
            part = np.zeros_like(qty)
            part[g] = qty[g]
            out.append((float(qty[g]), elements.content(part), part))
        return out

    def licensed_tonnes(self, elements: Elements, mask: np.ndarray, de_minimis: float, supplier: Any,
                        qty: Any) -> float:
        """The tonnes of the grades above de minimis."""
        controlled = elements.controlled_grades(mask, de_minimis)
        if len(controlled) == 1:  # the sum of one value is that value
            return float(qty[controlled[0]])
        return float(qty[controlled].sum())


CONCENTRATE = Bulk("concentrate")
OXIDE = ElementWise("oxide")
MAGNET = GradeWise("magnet")

#: Every product, upstream first (the order of figure panels).
PRODUCTS: tuple[Product, ...] = (CONCENTRATE, OXIDE, MAGNET)
