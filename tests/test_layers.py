"""No module imports a layer above its own: the layer map is read from
docs/architecture.md (the table between ``<!-- layers -->`` markers), so the
map a newcomer reads is the one the code is held to.

Every import counts, function-local and ``TYPE_CHECKING`` ones included
(``test_imports.graph``). Each module of the package must sit in exactly one
layer of the map: a module the map forgets fails here too.
"""

from __future__ import annotations

import re
from pathlib import Path

from test_imports import PACKAGE, graph

DOC = PACKAGE.parent / "docs" / "architecture.md"


def layer_map() -> list[tuple[int, str, list[str]]]:
    """``(rank, name, [path prefixes])`` from the doc's layer table."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- layers -->")[1].split("<!-- /layers -->")[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].isdigit():
            paths = re.findall(r"`([^`]+)`", cells[2])
            rows.append((int(cells[0]), cells[1], paths))
    return rows


def module_path(module: str) -> str:
    """``resim.model.kernel`` -> ``resim/model/kernel.py`` (a package: its ``__init__.py``)."""
    base = PACKAGE.parent / Path(*module.split("."))
    return str((base / "__init__.py" if base.is_dir() else base.with_suffix(".py")).relative_to(PACKAGE.parent))


def layer_of(module: str, layers: list[tuple[int, str, list[str]]]) -> tuple[int, str]:
    """The layer whose longest path prefix holds the module (a file named
    exactly wins over its folder)."""
    path = module_path(module)
    best: tuple[int, int, str] | None = None
    for rank, name, prefixes in layers:
        for prefix in prefixes:
            if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), rank, name)
    assert best is not None, f"{path} is in no layer of {DOC.name}'s layer map"
    return best[1], best[2]


def test_the_layer_map_names_every_module_and_no_module_imports_a_layer_above_its_own() -> None:
    layers = layer_map()
    assert len(layers) >= 5, "the layer table of docs/architecture.md was not found"
    up = []
    for module, targets in graph().items():
        rank, name = layer_of(module, layers)
        for target in targets:
            t_rank, t_name = layer_of(target, layers)
            if t_rank > rank:
                up.append(f"{module} ({name}) imports {target} ({t_name})")
    assert not up, "imports up a layer:\n" + "\n".join(sorted(up))


def test_resim_lists_at_most_twelve_entries_and_its_public_api() -> None:
    entries = [p for p in PACKAGE.iterdir() if p.name != "__pycache__"]
    assert len(entries) <= 12, sorted(p.name for p in entries)
    import resim

    for name in ("simulate", "sweep", "compare", "load_scenario", "Results", "ScenarioError"):
        assert name in dir(resim) and callable(getattr(resim, name))
