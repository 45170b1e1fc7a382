"""The shape of the package: no import cycles, no oversized modules, and the
output package layered so that presentation depends on results, never the reverse.

The import graph is read from the source with ``ast`` rather than from
``sys.modules``: an import inside a function or behind ``TYPE_CHECKING`` is a
dependency all the same (it just fails later, or only for the type checker),
so every ``import`` statement anywhere in a module counts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "resim"
MAX_LINES = 450

# Modules of the results layer: they assemble and write the run's tables and
# must run without any presentation library.
RESULTS_LAYER = ("resim.output.tables", "resim.output.rundata", "resim.output.formatting")
PRESENTATION_LIBS = ("matplotlib", "jinja2", "markupsafe", "rich")
PRESENTATION_MODULES = ("resim.output.figures", "resim.output.report", "resim.output.console",
                        "resim.output.results", "resim.output.scenario_words")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_names(name: str, path: Path) -> Iterator[str]:
    """Every dotted name imported anywhere in the module, relative imports resolved.

    ``from a.b import c`` yields ``a.b.c``: that is the module ``a.b.c`` or a
    name defined in ``a.b``, and :func:`graph` keeps the closest enclosing
    module of the package. (Importing ``a.b.c`` also runs ``a/b/__init__.py``;
    that implicit step is not an edge, or every package whose ``__init__``
    re-exports a submodule would be a "cycle".)
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            yield from (f"{source}.{alias.name}" for alias in node.names)


def graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (the closest enclosing module of each name)."""
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for target in imported_names(name, path):
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges[name].add(target)
    return edges


def external_imports(name: str) -> set[str]:
    """Top-level names of the libraries a module imports (outside the package)."""
    return {t.split(".")[0] for t in imported_names(name, modules()[name])} - {"resim", ""}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle (as a path that returns to its start), or None: depth-first search."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or not (and ``start`` itself)."""
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges[node])
    return seen


def tangles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The groups of modules that import each other in a circle (strongly connected
    components with more than one module): a and b are in one group when each
    reaches the other."""
    reach = {m: reachable(edges, m) for m in edges}
    groups: list[set[str]] = []
    for m in sorted(edges):
        group = {n for n in reach[m] if m in reach[n]}
        if len(group) > 1 and group not in groups:
            groups.append(group)
    return groups


def describe(edges: dict[str, set[str]], group: set[str]) -> str:
    """A group as one of its cycles, for the failure message."""
    sub = {m: edges[m] & group for m in group}
    return " -> ".join(find_cycle(sub) or sorted(group)) + f" ({len(group)} modules tangled)"


# ---------------------------------------------------------------- the checker checks
def test_the_cycle_finder_finds_a_cycle_and_accepts_a_tree() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    edges = {"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": {"c"}, "e": {"a"}}
    assert tangles(edges) == [{"a", "b"}, {"c", "d"}]
    assert tangles({"a": {"b"}, "b": set()}) == []


def test_hidden_and_relative_imports_are_edges(tmp_path: Path) -> None:
    src = ("from __future__ import annotations\nfrom typing import TYPE_CHECKING\n"
           "from . import errors\nif TYPE_CHECKING:\n    from .output.results import Results\n"
           "def f():\n    from ..kpis import METRICS\n    import resim.experiment.store\n")
    path = PACKAGE / "output" / "figures" / "_probe.py"
    names = set(imported_names("resim.output.figures._probe", _write(tmp_path, src, path)))
    assert {"resim.output.figures.errors", "resim.output.figures.output.results.Results",
            "resim.output.kpis.METRICS", "resim.experiment.store"} <= names
    edges = graph()  # in the package: api imports Results only under TYPE_CHECKING and in a function
    assert "resim.output.results" in edges["resim.api"]
    assert "resim.output.results" in edges["resim"]


def _write(tmp_path: Path, text: str, like: Path) -> Path:
    """A file standing in for ``like`` (only its name matters to imported_names)."""
    path = tmp_path / like.name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- the package
def test_no_import_cycle_in_resim() -> None:
    edges = graph()
    found = tangles(edges)
    assert not found, "import cycles: " + "; ".join(describe(edges, g) for g in found)


def test_no_import_cycle_in_the_output_package() -> None:
    edges = graph()
    mine = [g for g in tangles(edges) if any(m.startswith("resim.output") for m in g)]
    assert not mine, "import cycles: " + "; ".join(describe(edges, g) for g in mine)


def test_no_module_is_oversized() -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()}
    over = [f"{name} has {n} lines" for name, n in sorted(sizes.items()) if n > MAX_LINES]
    assert not over, f"modules over {MAX_LINES} lines: " + "; ".join(over)


def test_results_layer_never_reaches_presentation() -> None:
    edges = graph()
    for layer in RESULTS_LAYER:
        reach = reachable(edges, layer)
        bad = sorted(m for m in reach if m.startswith(PRESENTATION_MODULES))
        assert not bad, f"{layer} imports presentation: {bad}"
        libs = set().union(*(external_imports(m) for m in reach))
        assert not libs & set(PRESENTATION_LIBS), f"{layer} reaches {sorted(libs & set(PRESENTATION_LIBS))}"
