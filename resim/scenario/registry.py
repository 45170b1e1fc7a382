"""The actor registry: every kind of actor, registered by its own module.

A kind is a scenario table (``[[magnet_makers]]``), the schema class of its
entries, the actor class that simulates an entry, the product it ships and
the product it buys. Everything that needs to know the kinds reads them here:
the scenario document (its tables), the reference and tier checks (who may
buy from whom), wiring (which class to build, which product a link carries),
the report and the plots. What an entry *does* (a source of elements, a
holder of grades, ...) its table says through its roles (``roles.py``).

Plug-in discovery. A kind lives in one module: its table class, its actor
class and a ``register(ActorKind(...))`` call. The registry imports every
module of the packages named in ``KIND_PACKAGES`` the first time it is asked
anything, so those calls run; that is how the built-in kinds
(``resim.model.actors``) arrive, and how a package of further kinds would
(append its name, as an installed plug-in would declare an entry point). The
names are strings, so this layer has no import of the model: the kinds'
modules import the scenario layer, never the reverse. A kind can also be
registered directly (a test's own kind).

Reading the registry therefore imports the actor modules (NumPy, no SimPy,
pandas or plotting), which ``resim validate`` can afford.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from .chain import ActorTable, BuyerTable
from .roles import ROLES, Orders

#: Packages whose modules register actor kinds when imported.
KIND_PACKAGES: list[str] = ["resim.model.actors"]


class Product(Protocol):
    """What this layer asks of a product (``resim.model.products`` declares
    them with their behaviour): its name, and whether it is bought element
    by element."""

    name: str
    by_element: bool


@dataclass(frozen=True)
class ActorKind:
    """One kind of actor.

    ``product`` is what its links carry to customers (``None``: it ships
    nothing); ``buys`` the product it orders from suppliers (``None``: it
    orders nothing, and its table must be a ``BuyerTable`` if it does);
    ``takes_orders`` whether buyers may name it as a supplier (a stockpile
    ships magnets but only as releases it decides itself); ``tier`` orders
    actors upstream first, which fixes the order of same-time events;
    ``has_timeseries`` whether its entries keep a daily record (automakers).
    """

    table: str
    schema: type[ActorTable]
    actor: type[Any]
    label: str
    tier: int
    product: Product | None = None
    buys: Product | None = None
    takes_orders: bool = True
    has_timeseries: bool = False

    @property
    def plural(self) -> str:
        return self.table.replace("_", " ")

    def roles(self) -> list[str]:
        """The names of the roles its table plays."""
        return [r.__name__ for r in ROLES if issubclass(self.schema, r)]


_kinds: list[ActorKind] = []
_version = 0
_imported: set[str] = set()  # packages of KIND_PACKAGES imported so far


def discover() -> None:
    """Import the modules of each package of ``KIND_PACKAGES`` not imported
    yet (each module registers its kinds)."""
    for name in KIND_PACKAGES:
        if name in _imported:
            continue
        _imported.add(name)  # before importing: the modules call register()
        package = importlib.import_module(name)
        for info in pkgutil.iter_modules(package.__path__, f"{name}."):
            importlib.import_module(info.name)


def kinds() -> tuple[ActorKind, ...]:
    """Every registered kind, upstream first (by tier, then registration)."""
    discover()
    return tuple(sorted(_kinds, key=lambda k: k.tier))


def kind(table: str) -> ActorKind:
    discover()
    for k in _kinds:
        if k.table == table:
            return k
    raise KeyError(table)


def suppliers_of(buyer: ActorKind) -> tuple[ActorKind, ...]:
    """The kinds a buyer of this kind may order from: those that take orders
    for the product it buys."""
    if buyer.buys is None:
        return ()
    return tuple(k for k in kinds() if k.takes_orders and k.product is buyer.buys)


def register(new: ActorKind) -> ActorKind:
    """Add a kind (a kind's own module, a plug-in, a test). Scenario
    documents built afterwards have its table."""
    global _version
    discover()
    if any(k.table == new.table for k in _kinds):
        raise ValueError(f"actor kind {new.table!r} is already registered")
    if (new.buys is not None) != issubclass(new.schema, Orders):
        raise TypeError(f"{new.table}: a kind that buys has a table that orders ({BuyerTable.__name__}), "
                        "and only such a kind")
    _kinds.append(new)
    _version += 1
    return new


def unregister(table: str) -> None:
    global _version
    _kinds[:] = [k for k in _kinds if k.table != table]
    _version += 1


def version() -> int:
    """Changes whenever the registry does (the scenario document caches on it)."""
    discover()
    return _version


def iter_entries(scenario: Any) -> Iterator[tuple[ActorKind, int, Any]]:
    """(kind, index, entry) for every actor entry of a scenario, upstream first."""
    for k in kinds():
        for i, cfg in enumerate(getattr(scenario, k.table, ())):
            yield k, i, cfg
