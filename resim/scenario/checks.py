"""Checks across tables: names that point at other entries, who may buy from
whom, and the graph of the supply chain.

They read the actor registry, so a new kind of actor is checked like the
built-in ones: a buyer may order only from kinds that take orders for the
product it buys, every name it uses must exist, grades must be defined and
obtainable upstream, and supply must not loop back on itself. All of this runs
at load time, before any clock starts (as desmod's ``elaborate()`` refuses to
start an unconnected model).
"""

from __future__ import annotations

from typing import Any

from . import registry
from .document import ScenarioBase
from .errors import ScenarioError
from .keys import did_you_mean


def _names(scn: ScenarioBase, label: str) -> dict[str, str]:
    """Entry name -> its table; names are unique across all tables."""
    seen: dict[str, str] = {}
    for k, i, cfg in scn.entries():
        if cfg.name in seen:
            raise ScenarioError(label, f"{k.table}[{i}].name", f"duplicate name (also in {seen[cfg.name]})", cfg.name)
        seen[cfg.name] = k.table
    return seen


def _check_suppliers(scn: ScenarioBase, label: str, seen: dict[str, str]) -> None:
    for k, i, cfg in scn.entries():
        if k.buys is None:
            continue
        sources = registry.suppliers_of(k)
        allowed = {s.name for src in sources for s in getattr(scn, src.table)}
        what = " or ".join(src.label for src in sources) or "supplier"
        for j, s in enumerate(cfg.suppliers):
            if s.name in allowed:
                continue
            path = f"{k.table}[{i}].suppliers[{j}].name"
            if s.name in seen:
                tables = " or ".join(src.plural for src in sources)
                raise ScenarioError(label, path, f"\"{s.name}\" is in {seen[s.name]}; {k.plural} buy from {tables}")
            raise ScenarioError(label, path, f"no {what} of that name{did_you_mean(s.name, allowed)}", s.name)


def _check_refers(scn: ScenarioBase, label: str) -> None:
    """Grades, and fields naming entries of other tables (``release_to``)."""
    grades = scn.grades  # type: ignore[attr-defined]
    for k, i, cfg in scn.entries():
        for grade in cfg.grade_shares():
            if grade not in grades:
                path = f"{k.table}[{i}].grade" if getattr(cfg, "grades", None) is None else f"{k.table}[{i}].grades"
                raise ScenarioError(label, path, f"no [grades.{grade}] table{did_you_mean(grade, grades)}", grade)
        for j, s in enumerate(getattr(cfg, "suppliers", ())):
            if s.elements is not None and k.buys != "oxide":
                raise ScenarioError(label, f"{k.table}[{i}].suppliers[{j}].elements",
                                    f"only buyers of oxides buy by element; {k.plural} buy {k.buys}")
        for field, table in k.refers:
            names = {e.name for e in getattr(scn, table)}
            for j, name in enumerate(getattr(cfg, field)):
                if name not in names:
                    raise ScenarioError(label, f"{k.table}[{i}].{field}[{j}]",
                                        f"no {registry.kind(table).label} of that name", name)
    _check_held_grades(scn, label)


def _check_held_grades(scn: ScenarioBase, label: str) -> None:
    """Goods sent to a buyer unasked (a stockpile's releases) must be of a
    grade it uses: grades are not substitutes."""
    by_name = {cfg.name: cfg for cfg in scn.actors}
    for k, i, cfg in scn.entries():
        held = cfg.grade_shares()
        for field, _ in k.refers:
            for name in getattr(cfg, field):
                uses = set().union(*(by_name[s.name].grade_shares() for s in getattr(by_name[name], "suppliers", ())))
                for grade in held:
                    if grade not in uses:
                        raise ScenarioError(label, f"{k.table}[{i}].grade",
                                            f"\"{name}\" uses no {grade} (it buys {', '.join(sorted(uses)) or 'none'}); "
                                            "grades are not substitutes", grade)


def _check_general_exporters(scn: ScenarioBase, label: str) -> None:
    """``controls.general_licence_exporters`` names actors that ship goods."""
    shippers = {cfg.name: k for k, _, cfg in scn.entries() if k.product is not None}
    others = {cfg.name: k for k, _, cfg in scn.entries() if k.product is None}
    for j, name in enumerate(scn.controls.general_licence_exporters):  # type: ignore[attr-defined]
        if name in shippers:
            continue
        path = f"controls.general_licence_exporters[{j}]"
        if name in others:
            raise ScenarioError(label, path, f"\"{name}\" is {_article(others[name].label)}, which exports nothing")
        raise ScenarioError(label, path, f"no exporter of that name{did_you_mean(name, shippers)}", name)


def _article(label: str) -> str:
    return f"{'an' if label[0] in 'aeiou' else 'a'} {label}"


def check_references(scn: ScenarioBase, label: str) -> None:
    """Names that point at other entries must exist and be of the right kind;
    cross-field rules of the licensing tables."""
    seen = _names(scn, label)
    _check_suppliers(scn, label, seen)
    _check_refers(scn, label)
    _check_general_exporters(scn, label)
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
    return {cfg.name: [s.name for s in getattr(cfg, "suppliers", ())] for cfg in scn.actors}


def _check_cycles(graph: dict[str, list[str]], label: str) -> None:
    """Depth-first, iterative: supply must not loop back on itself."""
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


def check_graph(scn: ScenarioBase, label: str) -> None:
    """Graph-level checks (after the references): no supply cycle, and every
    element a grade needs comes from some upstream mine."""
    graph = supplier_graph(scn)
    _check_cycles(graph, label)
    by_name = {cfg.name: cfg for cfg in scn.actors}
    memo: dict[str, frozenset[str]] = {}

    def available(name: str) -> frozenset[str]:
        """Elements an entry can ship: a mine's composition, else what its
        suppliers can (those that name their ``elements``: only those)."""
        if name not in memo:
            cfg: Any = by_name[name]
            comp = getattr(cfg, "composition", None)
            memo[name] = frozenset(comp) if comp is not None else frozenset().union(
                *(available(s.name) if s.elements is None else available(s.name) & set(s.elements)
                  for s in getattr(cfg, "suppliers", ())))
        return memo[name]

    for k, i, cfg in scn.entries():
        if not getattr(cfg, "suppliers", None):
            continue
        for grade in cfg.grade_shares():
            missing = sorted(set(scn.grades[grade].content) - available(cfg.name))  # type: ignore[attr-defined]
            if missing:
                raise ScenarioError(
                    label, f"{k.table}[{i}].grade",
                    f"grade \"{grade}\" needs {', '.join(missing)}, which none of this maker's upstream mines produce",
                )

