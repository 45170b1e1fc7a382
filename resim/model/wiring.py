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

from .shipping import Link

if TYPE_CHECKING:
    from .actors.base import Actor
    from .context import Context
    from .licensing import Authority


def elaborate(ctx: Context, authority: Authority) -> tuple[list[Actor], list[Link]]:
    """Actors (upstream first, so same-time events run in a reproducible
    order; an automaker entry with ``firms = N`` becomes N actors) and links,
    connected and checked."""
    actors, by_entry = _actors(ctx)
    links = _Links(ctx, authority)
    for actor in actors:
        for name, cfg_of in actor.wanted_suppliers():
            (supplier,) = by_entry[name]  # suppliers are single actors; only buyers come in populations
            actor.connect_supplier(links.connect(supplier, actor, cfg_of))
    for actor in actors:
        for name, cfg_of in actor.wanted_customers():
            for customer in by_entry[name]:  # every firm of the entry
                links.connect(actor, customer, cfg_of)
    for actor in actors:
        actor.elaborate()
    return actors, links.made


def _actors(ctx: Context) -> tuple[list[Actor], dict[str, list[Actor]]]:
    """Every actor, upstream first and ranked so, and the actors of each entry."""
    actors: list[Actor] = []
    by_entry: dict[str, list[Actor]] = {}
    for kind, _, cfg in ctx.scenario.entries():
        for actor in kind.actor.instances(ctx, kind, cfg):
            actor.rank = len(actors)
            actors.append(actor)
            by_entry.setdefault(cfg.name, []).append(actor)
    return actors, by_entry


class _Links:
    """Makes links: each carries its supplier's product, is connected at both
    ends and is registered with the licensing authority."""

    def __init__(self, ctx: Context, authority: Authority):
        self.ctx = ctx
        self.authority = authority
        self.made: list[Link] = []

    def connect(self, supplier: Actor, customer: Actor, cfg_of: object) -> Link:
        link = Link(self.ctx, supplier, customer, supplier.kind.product, cfg_of)  # type: ignore[arg-type]
        supplier.connect_customer(link)
        self.authority.connect(link)
        self.made.append(link)
        return link
