"""The actor registry: every kind of actor, declared once.

A kind is a scenario table (``[[magnet_makers]]``), the schema class of its
entries, the actor class that simulates an entry, the product it ships and the
product it buys. Everything that needs to know the kinds reads them here: the
scenario document (its tables), the reference and tier checks (who may buy
from whom), wiring (which class to build, which product a link carries), the
report and the plots. Adding a kind is its actor module, its schema class, one
entry below and its documentation (docs/architecture.md has the recipe).

Classes are named by dotted path and imported on first use, so reading the
registry imports neither the schema nor SimPy: ``resim validate`` stays light,
and the scenario package can build its document from the registry without an
import cycle.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ActorKind:
    """One kind of actor.

    ``product`` is what its links carry to customers (``None``: it ships
    nothing); ``buys`` the product it orders from suppliers (``None``: it
    orders nothing); ``takes_orders`` whether buyers may name it as a supplier
    (a stockpile ships magnets but only as releases it decides itself);
    ``refers`` maps fields that name entries of other tables to those tables
    (a stockpile's ``release_to`` names automakers); ``tier`` orders actors
    upstream first, which fixes the order of same-time events.
    """

    table: str
    schema: str
    actor: str
    label: str
    tier: int
    product: str | None = None
    buys: str | None = None
    takes_orders: bool = True
    refers: tuple[tuple[str, str], ...] = ()
    has_timeseries: bool = False

    def schema_class(self) -> type[Any]:
        return _load(self.schema)

    def actor_class(self) -> type[Any]:
        return _load(self.actor)

    @property
    def plural(self) -> str:
        return self.table.replace("_", " ")


def _load(dotted: str) -> Any:
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


_BUILTIN = (
    ActorKind("mines", "resim.scenario.chain:Mine", "resim.model.actors.mine:Mine", "mine", tier=0,
              product="concentrate"),
    ActorKind("separators", "resim.scenario.chain:Separator", "resim.model.actors.separator:Separator",
              "separator", tier=1, product="oxide", buys="concentrate"),
    ActorKind("magnet_makers", "resim.scenario.chain:MagnetMaker", "resim.model.actors.magnet_maker:MagnetMaker",
              "magnet maker", tier=2, product="magnet", buys="oxide"),
    ActorKind("automakers", "resim.scenario.chain:Automaker", "resim.model.actors.automaker:Automaker",
              "automaker", tier=3, buys="magnet", has_timeseries=True),
    ActorKind("stockpiles", "resim.scenario.chain:Stockpile", "resim.model.actors.stockpile:Stockpile",
              "stockpile", tier=4, product="magnet", takes_orders=False,
              refers=(("release_to", "automakers"),)),
)

_kinds: list[ActorKind] = list(_BUILTIN)
_version = 0


def kinds() -> tuple[ActorKind, ...]:
    """Every registered kind, upstream first (by tier, then registration)."""
    return tuple(sorted(_kinds, key=lambda k: k.tier))


def kind(table: str) -> ActorKind:
    for k in _kinds:
        if k.table == table:
            return k
    raise KeyError(table)


def suppliers_of(buyer: ActorKind) -> tuple[ActorKind, ...]:
    """The kinds a buyer of this kind may order from: those that take orders
    for the product it buys."""
    if buyer.buys is None:
        return ()
    return tuple(k for k in kinds() if k.takes_orders and k.product == buyer.buys)


def register(new: ActorKind) -> None:
    """Add a kind (a plug-in, or a test's own kind). Scenario documents built
    afterwards have its table."""
    global _version
    if any(k.table == new.table for k in _kinds):
        raise ValueError(f"actor kind {new.table!r} is already registered")
    _kinds.append(new)
    _version += 1


def unregister(table: str) -> None:
    global _version
    _kinds[:] = [k for k in _kinds if k.table != table]
    _version += 1


def version() -> int:
    """Changes whenever the registry does (the scenario document caches on it)."""
    return _version


def iter_entries(scenario: Any) -> Iterator[tuple[ActorKind, int, Any]]:
    """(kind, index, entry) for every actor entry of a scenario, upstream first."""
    for k in kinds():
        for i, cfg in enumerate(getattr(scenario, k.table, ())):
            yield k, i, cfg
