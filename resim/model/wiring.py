"""Wiring: build the actors and links of one replication and check every
connection before the clock starts (as desmod's ``elaborate()``).

Actor classes come from the registry; links are created from what each actor
says it needs (its suppliers, or for a stockpile the automakers it releases
to), connected at both ends and registered with the licensing authority,
which keeps each pair's licence. Then every actor checks its connections
against its parameters and sets up what needs them (initial stock in the mix
of its suppliers). The scenario-level checks (names, tiers, grades, cycles)
already ran when the scenario was loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..scenario import registry
from .shipping import Link

if TYPE_CHECKING:
    from .actors.base import Actor
    from .context import Context
    from .licensing import Authority


def elaborate(ctx: Context, authority: Authority) -> tuple[list[Actor], list[Link]]:
    """Actors (upstream first, so same-time events run in a reproducible
    order; an automaker entry with ``firms = N`` becomes N actors) and links,
    connected and checked."""
    actors: list[Actor] = []
    by_entry: dict[str, list[Actor]] = {}
    for kind, _, cfg in ctx.scenario.entries():
        for actor in kind.actor_class().instances(ctx, kind, cfg):
            actor.rank = len(actors)
            actors.append(actor)
            by_entry.setdefault(cfg.name, []).append(actor)
    links: list[Link] = []

    def supplier(name: str) -> Actor:
        (one,) = by_entry[name]  # suppliers are single actors; only buyers come in populations
        return one

    def connect(supplier: Actor, customer: Actor, cfg_of: object) -> Link:
        product = registry.kind(supplier.table).product
        link = Link(ctx, supplier, customer, product or "", cfg_of)  # type: ignore[arg-type]
        supplier.connect_customer(link)
        authority.connect(link)
        links.append(link)
        return link

    for actor in actors:
        for name, cfg_of in actor.wanted_suppliers():
            actor.connect_supplier(connect(supplier(name), actor, cfg_of))
    for actor in actors:
        for name, cfg_of in actor.wanted_customers():
            for customer in by_entry[name]:  # every firm of the entry
                connect(actor, customer, cfg_of)
    for actor in actors:
        actor.elaborate()
    return actors, links
