"""What every actor kind's table builds on: a name and a jurisdiction
(``ActorTable``), ordering from suppliers (``BuyerTable``), and the supplier
links between them.

The kinds themselves (mines, separators, magnet makers, automakers,
stockpiles, or a plug-in's) declare their tables in their own modules, next
to the actor that simulates them, and register there
(``resim/scenario/registry.py``): that is what makes ``[[mines]]`` a table of a
scenario file. ``structural`` names the fields a ``[[policy]]`` may not
change: they fix the network when a run is built (who buys from whom, where
actors are, what they make of what).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from .distributions import Days, Distribution
from .roles import Orders
from .types import Element, Frozen, Jurisdiction, Name, NonNeg, param, repeated


class AirFreight(Frozen):
    """Air freight on a link, used by an automaker's emergency orders:
    faster and dearer (facts.md §2: about 5x the cost of sea freight)."""

    transit: Distribution
    cost_usd_per_kg: NonNeg = 0.0


class SupplierLink(Frozen):
    name: Name
    share: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = 1.0
    transit: Distribution = Field(
        default_factory=lambda: {"dist": "constant", "value": 0.0}, validate_default=True
    )
    qualification_days: Days = Field(
        default=0.0, description="no order to this supplier before this day (qualifying a new source)"
    )
    premium: NonNeg = Field(default=0.0, description="price premium over the supplier's price, as a fraction")
    air_freight: AirFreight | None = None
    elements: list[Element] | None = Field(
        default=None, description="the elements bought from this supplier (oxide buyers; default: all)")

    def supplies(self, element: str) -> bool:
        return self.elements is None or element in self.elements


class ActorTable(Frozen):
    """What every actor entry has: a unique name and a jurisdiction. The roles
    a kind plays (``roles.py``) are declared by its subclass."""

    #: Fields a policy may not change (the run's network is built from them).
    structural: ClassVar[tuple[str, ...]] = ("name", "jurisdiction")

    name: Name = param(doc="unique across all actors")
    jurisdiction: Jurisdiction = param(
        doc="where it is: the origin of what it ships, the destination of what it buys")

    def structure(self, skip: tuple[str, ...] = ()) -> tuple[object, ...]:
        """The values of the structural fields but ``skip`` (supplier links by name)."""
        return tuple(_frozen(getattr(self, f)) for f in self.structural if f not in skip)


def _frozen(value: object) -> object:
    """A structural value as a hashable, comparable one: supplier links by
    name (their shares and transits may change), tables as sorted items."""
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    if isinstance(value, list):
        return tuple(v.name if isinstance(v, SupplierLink) else v for v in value)
    return value


class BuyerTable(ActorTable, Orders):
    """An actor that orders from suppliers with a periodic order-up-to policy."""

    structural: ClassVar[tuple[str, ...]] = ("name", "jurisdiction", "suppliers")

    suppliers: list[SupplierLink] = param(min_length=1, doc="where what it buys comes from")
    initial_inventory_days: NonNeg = param(
        30.0, unit="days of capacity", doc="what it buys, in stock at day 0 (in the share-weighted mix of its suppliers)")
    review_days: Annotated[float, Field(ge=1.0, allow_inf_nan=False)] = param(
        7.0, unit="days", doc="order review period (rounded to a whole number)")
    target_days: NonNeg = param(30.0, unit="days of capacity", doc="order-up-to level of what it buys")
    end_use: Literal["civil", "dual_use", "military"] = param(
        "civil", doc="its end use when it is the customer on a controlled link")

    def supplier_links(self) -> Sequence[SupplierLink]:
        return self.suppliers

    @model_validator(mode="after")
    def _shares(self) -> BuyerTable:
        for element, total in share_totals(self.suppliers):
            if abs(total - 1.0) > 1e-6:
                of = f" of {element}" if element else ""
                raise ValueError(f"supplier shares{of} must sum to 1, they sum to {total:g}")
        dup = repeated([s.name for s in self.suppliers])
        if dup is not None:
            raise ValueError(f"supplier \"{dup}\" is listed twice")
        return self


def share_totals(links: Sequence[SupplierLink]) -> Iterator[tuple[str | None, float]]:
    """The sum of the shares over the suppliers of each element: ``(None,
    total)`` over those that supply everything (unless every link names its
    elements), then ``(element, total)`` for each element some link names,
    over the links that supply it."""
    named = sorted({e for s in links if s.elements for e in s.elements})
    everything = [s.share for s in links if s.elements is None]
    if everything or not named:
        yield None, sum(everything)
    for element in named:
        yield element, _total(links, element)


def _total(links: Sequence[SupplierLink], element: str) -> float:
    return sum([s.share for s in links if s.supplies(element)])
