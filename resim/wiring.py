"""Wiring: build the network of actors and links, and check it before the
clock starts (as desmod's ``elaborate()``).

Checks that need the whole graph live here: every grade's elements must be
obtainable from upstream mines, and supply must not loop back on itself.
Name references and kinds were already checked by the loader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ScenarioError
from .scenario import Scenario, SupplierLink

if TYPE_CHECKING:
    from .actors.base import Actor
    from .model import Model

PRODUCT = {"separators": "concentrate", "magnet_makers": "oxide", "automakers": "magnet"}


def supplier_graph(scn: Scenario) -> dict[str, list[str]]:
    """Customer name -> supplier names."""
    graph: dict[str, list[str]] = {a.name: [] for a in scn.actors}
    for a in scn.actors:
        for s in getattr(a, "suppliers", ()):
            graph[a.name].append(s.name)
    return graph


def check(scn: Scenario, label: str) -> None:
    """Graph-level checks; raise ScenarioError naming the offending key."""
    graph = supplier_graph(scn)
    # cycles (depth-first, iterative)
    state: dict[str, int] = {}
    for root in graph:
        if state.get(root):
            continue
        stack = [(root, iter(graph[root]))]
        state[root] = 1
        path = [root]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                loop = " -> ".join([*path[path.index(nxt):], nxt])
                raise ScenarioError(label, "suppliers", f"supply cycle: {loop}")
            elif not state.get(nxt) and nxt in graph:
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(graph[nxt])))
    automakers = {a.name for a in scn.automakers}
    for i, pile in enumerate(scn.stockpiles):
        if pile.grade not in scn.grades:
            raise ScenarioError(label, f"stockpiles[{i}].grade", f"no [grades.{pile.grade}] table", pile.grade)
        for j, name in enumerate(pile.release_to):
            if name not in automakers:
                raise ScenarioError(label, f"stockpiles[{i}].release_to[{j}]", "no automaker of that name", name)
    # every element a grade needs must come from some upstream mine
    mines = {m.name: m for m in scn.mines}
    separators = {s.name: s for s in scn.separators}
    for i, mm in enumerate(scn.magnet_makers):
        available: set[str] = set()
        for link in mm.suppliers:
            sep = separators.get(link.name)
            for ml in sep.suppliers if sep else ():
                if ml.name in mines:
                    available |= set(mines[ml.name].composition)
        missing = sorted(set(scn.grades[mm.grade].content) - available)
        if missing:
            raise ScenarioError(
                label, f"magnet_makers[{i}].grade",
                f"grade \"{mm.grade}\" needs {', '.join(missing)}, which none of this maker's upstream mines produce",
            )


def elaborate(model: Model) -> list[Actor]:
    """Create actors and links for one replication, in a fixed order
    (upstream first), so same-time events run in a reproducible order."""
    # Imported here: ``check`` runs at load time (``resim validate``), which
    # must not need the simulation's dependencies (SimPy).
    from .actors import Automaker, MagnetMaker, Mine, Separator, Stockpile
    from .actors.base import Buyer
    from .shipping import Link

    scn = model.scenario
    actors: list[Actor] = []
    by_name: dict[str, Actor] = {}
    for table, cls in (("mines", Mine), ("separators", Separator), ("magnet_makers", MagnetMaker),
                       ("automakers", Automaker), ("stockpiles", Stockpile)):
        for i, cfg in enumerate(getattr(scn, table)):
            actor = cls(model, i, cfg)
            actor.rank = len(actors)
            actors.append(actor)
            by_name[cfg.name] = actor
    for actor in actors:
        if not isinstance(actor, Buyer):
            continue
        for s in actor.cfg.suppliers:
            link = Link(model, by_name[s.name], actor, s, PRODUCT[actor.table])
            actor.links.append(link)
            model.links.append(link)
        seed = getattr(actor, "seed_stock", None)
        if seed is not None:
            seed()
    for pile in (a for a in actors if isinstance(a, Stockpile)):
        for name in pile.cfg.release_to:
            cfg = SupplierLink(name=pile.name, transit=pile.cfg.transit)
            link = Link(model, pile, by_name[name], cfg, "magnet")
            pile.links.append(link)
            model.links.append(link)
    return actors
