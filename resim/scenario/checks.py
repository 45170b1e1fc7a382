"""Checks across tables: names that point at other entries, who may buy from
whom, and the graph of the supply chain.

They read the actor registry and ask each entry's roles (``roles.py``), so a
new kind of actor is checked like the built-in ones: a buyer may order only
from kinds that take orders for the product it buys, every name it uses must
exist, grades must be defined and their elements obtainable from an element
source upstream, and supply must not loop back on itself. All of this runs at
load time, before any clock starts (as desmod's ``elaborate()`` refuses to
start an unconnected model).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import registry
from .chain import SupplierLink
from .document import ScenarioBase
from .errors import ScenarioError
from .keys import did_you_mean
from .roles import ElementSource, GradeHolder, Releaser, grades_of, recipients_of, suppliers_of


def _names(scn: ScenarioBase, label: str) -> dict[str, str]:
    """Entry name -> its table; names are unique across all tables."""
    seen: dict[str, str] = {}
    for k, i, cfg in scn.entries():
        if cfg.name in seen:
            raise ScenarioError(label, f"{k.table}[{i}].name", f"duplicate name (also in {seen[cfg.name]})", cfg.name)
        seen[cfg.name] = k.table
    return seen


def _check_suppliers(scn: ScenarioBase, label: str, seen: dict[str, str]) -> None:
    """Each buyer names suppliers of the kinds that sell what it buys."""
    for k, i, cfg in scn.entries():
        if k.buys is None:
            continue
        sources = registry.suppliers_of(k)
        allowed = {s.name for src in sources for s in getattr(scn, src.table)}
        for j, s in enumerate(cfg.supplier_links()):
            if s.name not in allowed:
                path = f"{k.table}[{i}].{cfg.suppliers_key}[{j}].name"
                raise _not_a_supplier(label, path, k, sources, s.name, seen, allowed)


def _not_a_supplier(label: str, path: str, k: registry.ActorKind, sources: tuple[registry.ActorKind, ...],
                    name: str, seen: dict[str, str], allowed: set[str]) -> ScenarioError:
    if name in seen:
        tables = " or ".join(src.plural for src in sources)
        return ScenarioError(label, path, f"\"{name}\" is in {seen[name]}; {k.plural} buy from {tables}")
    what = " or ".join(src.label for src in sources) or "supplier"
    return ScenarioError(label, path, f"no {what} of that name{did_you_mean(name, allowed)}", name)


def _check_refers(scn: ScenarioBase, label: str) -> None:
    """Grades, buying by element, and names of entries released to."""
    grades = scn.grades  # type: ignore[attr-defined]
    for k, i, cfg in scn.entries():
        where = f"{k.table}[{i}]"
        _check_grades(label, where, cfg, grades)
        _check_by_element(label, where, k, cfg)
        _check_recipients(scn, label, where, cfg)
    _check_held_grades(scn, label)


def _check_grades(label: str, where: str, cfg: Any, grades: dict[str, Any]) -> None:
    if not isinstance(cfg, GradeHolder):
        return
    for grade in cfg.grade_shares():
        if grade not in grades:
            raise ScenarioError(label, f"{where}.{cfg.grades_key()}",
                                f"no [grades.{grade}] table{did_you_mean(grade, grades)}", grade)


def _check_by_element(label: str, where: str, k: registry.ActorKind, cfg: Any) -> None:
    """Only buyers of a product sold element by element name elements per supplier."""
    for j, s in enumerate(suppliers_of(cfg)):
        if s.elements is not None and not (k.buys is not None and k.buys.by_element):
            sold = " or ".join(sorted({f"{p.name}s" for p in _products() if p.by_element}))
            raise ScenarioError(label, f"{where}.{cfg.suppliers_key}[{j}].elements",
                                f"only buyers of {sold} buy by element; {k.plural} buy {_name(k.buys)}")


def _products() -> list[registry.Product]:
    return [p for k in registry.kinds() for p in (k.product, k.buys) if p is not None]


def _name(product: registry.Product | None) -> str:
    return product.name if product is not None else "nothing"


def _check_recipients(scn: ScenarioBase, label: str, where: str, cfg: Any) -> None:
    if not isinstance(cfg, Releaser):
        return
    key, table, wanted = cfg.recipients()
    names = {e.name for e in getattr(scn, table)}
    for j, name in enumerate(wanted):
        if name not in names:
            raise ScenarioError(label, f"{where}.{key}[{j}]", f"no {registry.kind(table).label} of that name", name)


def _check_held_grades(scn: ScenarioBase, label: str) -> None:
    """Goods sent to a buyer unasked (a stockpile's releases) must be of a
    grade it uses: grades are not substitutes."""
    by_name = {cfg.name: cfg for cfg in scn.actors}
    for k, i, cfg in scn.entries():
        for name in recipients_of(cfg):
            uses = _grades_bought(by_name, name)
            for grade in grades_of(cfg):
                if grade not in uses:
                    raise ScenarioError(label, f"{k.table}[{i}].{cfg.grades_key()}",
                                        f"\"{name}\" uses no {grade} (it buys {', '.join(sorted(uses)) or 'none'}); "
                                        "grades are not substitutes", grade)


def _grades_bought(by_name: dict[str, Any], name: str) -> set[str]:
    """The grades entry ``name`` buys: those its suppliers make."""
    return set().union(*(grades_of(by_name[s.name]) for s in suppliers_of(by_name[name])))


def _check_general_exporters(scn: ScenarioBase, label: str) -> None:
    """``controls.general_licence_exporters`` names actors that ship goods."""
    kinds = {cfg.name: k for k, _, cfg in scn.entries()}
    shippers = [name for name, k in kinds.items() if k.product is not None]
    for j, name in enumerate(scn.controls.general_licence_exporters):  # type: ignore[attr-defined]
        if name not in shippers:
            path = f"controls.general_licence_exporters[{j}]"
            if name in kinds:
                raise ScenarioError(label, path, f"\"{name}\" is {_article(kinds[name].label)}, which exports nothing")
            raise ScenarioError(label, path, f"no exporter of that name{did_you_mean(name, shippers)}", name)


def _check_general_grants(scn: ScenarioBase, label: str) -> None:
    """``[[controls.general_licences]]`` name an exporter and entries that exist."""
    kinds = {cfg.name: k for k, _, cfg in scn.entries()}
    shippers = [name for name, k in kinds.items() if k.product is not None]
    for j, grant in enumerate(scn.controls.general_licences):  # type: ignore[attr-defined]
        path = f"controls.general_licences[{j}]"
        if grant.exporter not in shippers:
            raise ScenarioError(label, f"{path}.exporter", f"no exporter of that name{did_you_mean(grant.exporter, shippers)}",
                                grant.exporter)
        for i, name in enumerate(grant.customers):
            if name not in kinds:
                raise ScenarioError(label, f"{path}.customers[{i}]",
                                    f"no entry of that name{did_you_mean(name, list(kinds))}", name)


def _article(label: str) -> str:
    return f"{'an' if label[0] in 'aeiou' else 'a'} {label}"


def _check_stalled(scn: ScenarioBase, label: str) -> None:
    """A stalled destination must be somewhere an application can go (a
    slip such as "Jp" would otherwise stall nothing, silently)."""
    lic = scn.licensing  # type: ignore[attr-defined]
    known = {getattr(cfg, "jurisdiction", None) for cfg in scn.actors} | {lic.background.destination}
    for i, where in enumerate(lic.stalled_destinations):
        if where not in known:
            listed = ", ".join(sorted(str(k) for k in known if k))
            raise ScenarioError(label, f"licensing.stalled_destinations[{i}]",
                                f"no actor or background load is in that jurisdiction ({listed})", where)


def _check_priced_elements(scn: ScenarioBase, label: str) -> None:
    """With ``markets.payments`` each item prices an element some grade holds
    (what a delivered magnet contains): else it would be paid nothing."""
    mk = scn.markets  # type: ignore[attr-defined]
    if mk is None or not mk.payments:
        return
    held = {e for g in scn.grades.values() for e in g.content}  # type: ignore[attr-defined]
    for name, item in mk.items.items():
        element = item.element_of(name)
        if element not in held:
            key = f"markets.items.{name}" + (".element" if item.element is not None else "")
            raise ScenarioError(label, key, f"prices an element no grade holds ({', '.join(sorted(held))}); "
                                "give its `element`", element)


def _check_substitute_grade(scn: ScenarioBase, label: str) -> None:
    """``markets.substitution.grade`` names a grade of the scenario."""
    mk = scn.markets  # type: ignore[attr-defined]
    sub = None if mk is None else mk.substitution
    grades = scn.grades  # type: ignore[attr-defined]
    if sub is not None and sub.grade not in grades:
        raise ScenarioError(label, "markets.substitution.grade",
                            f"no grade of that name{did_you_mean(sub.grade, set(grades))}", sub.grade)


def check_references(scn: ScenarioBase, label: str) -> None:
    """Names that point at other entries must exist and be of the right kind;
    cross-field rules of the licensing tables."""
    seen = _names(scn, label)
    _check_suppliers(scn, label, seen)
    _check_refers(scn, label)
    _check_general_exporters(scn, label)
    _check_general_grants(scn, label)
    _check_stalled(scn, label)
    _check_priced_elements(scn, label)
    _check_substitute_grade(scn, label)
    lic = scn.licensing  # type: ignore[attr-defined]
    if lic.rework.probability > 0 and lic.rework.stage not in scn.stage_names():
        raise ScenarioError(
            label, "licensing.rework.stage",
            f"no stage of that name{did_you_mean(lic.rework.stage, scn.stage_names())}", lic.rework.stage,
        )
    ctl = scn.controls  # type: ignore[attr-defined]
    if ctl.renewal_lead_days >= ctl.lifetime_days:
        raise ScenarioError(
            label, "controls.renewal_lead_days",
            f"must be shorter than lifetime_days ({ctl.lifetime_days:g})", ctl.renewal_lead_days,
        )


def supplier_graph(scn: ScenarioBase) -> dict[str, list[str]]:
    """Customer name -> supplier names."""
    return {cfg.name: [s.name for s in suppliers_of(cfg)] for cfg in scn.actors}


def _check_cycles(graph: dict[str, list[str]], label: str) -> None:
    """Depth-first, iterative: supply must not loop back on itself."""
    state: dict[str, int] = {}
    for root in graph:
        if not state.get(root):
            _walk(graph, root, state, label)


def _walk(graph: dict[str, list[str]], root: str, state: dict[str, int], label: str) -> None:
    """Depth-first from ``root``; ``state``: 1 on the current path, 2 done."""
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


def _shippable(by_name: dict[str, Any]) -> Callable[[str], frozenset[str]]:
    """Elements an entry can ship: an element source's own, else what its
    suppliers can (those that name their ``elements``: only those)."""
    memo: dict[str, frozenset[str]] = {}

    def available(name: str) -> frozenset[str]:
        if name not in memo:
            cfg = by_name[name]
            memo[name] = (frozenset(cfg.source_elements()) if isinstance(cfg, ElementSource)
                          else frozenset().union(*(_through(s, available(s.name)) for s in suppliers_of(cfg))))
        return memo[name]

    return available


def _through(link: SupplierLink, elements: frozenset[str]) -> frozenset[str]:
    """What a supplier's elements become on a link that may name the elements bought."""
    return elements if link.elements is None else elements & set(link.elements)


def check_graph(scn: ScenarioBase, label: str) -> None:
    """Graph-level checks (after the references): no supply cycle, and every
    element a grade needs comes from some element source upstream."""
    _check_cycles(supplier_graph(scn), label)
    available = _shippable({cfg.name: cfg for cfg in scn.actors})
    for k, i, cfg in scn.entries():
        if suppliers_of(cfg):
            _check_sourced(scn, label, f"{k.table}[{i}]", cfg, available(cfg.name))


def _check_sourced(scn: ScenarioBase, label: str, where: str, cfg: Any, available: frozenset[str]) -> None:
    """Every element of the grades a buyer makes is available to it."""
    for grade in grades_of(cfg):
        missing = sorted(set(scn.grades[grade].content) - available)  # type: ignore[attr-defined]
        if missing:
            sources = " or ".join(k.plural for k in registry.kinds() if issubclass(k.schema, ElementSource))
            raise ScenarioError(
                label, f"{where}.{cfg.grades_key()}",
                f"grade \"{grade}\" needs {', '.join(missing)}, which none of this maker's upstream "
                f"{sources or 'element sources'} produce",
            )
