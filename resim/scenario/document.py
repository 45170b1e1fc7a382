"""The whole scenario document: the fixed tables plus one table per actor kind
in the registry.

The document class is built from the registry (``scenario_class()``), so a
kind registered by a plug-in or a test is a table of scenario files like the
built-in ones, with the same checks and the same one-line errors. It is built
once per registry state and cached: ``Scenario`` in this package is the class
for the built-in kinds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field, create_model

from . import registry
from .chain import ActorTable
from .markets import Markets
from .schema import Branch, Controls, Grade, Licensing, Output, Policy, ScenarioMeta, Sweep
from .types import Frozen, Name


class ScenarioBase(Frozen):
    """What every scenario document can answer, whatever kinds it has."""

    @property
    def actors(self) -> list[ActorTable]:
        """Every actor entry, upstream first."""
        return [cfg for _, _, cfg in registry.iter_entries(self)]

    def entries(self) -> Iterator[tuple[registry.ActorKind, int, ActorTable]]:
        return registry.iter_entries(self)

    def find(self, table: str, name: str) -> Any:
        """The entry of ``table`` called ``name`` (actors look their parameters
        up by name, so a policy swapping the document finds them again)."""
        for cfg in getattr(self, table):
            if cfg.name == name:
                return cfg
        raise KeyError(f"{table}[{name}]")

    @property
    def has_supply_chain(self) -> bool:
        return any(True for _ in registry.iter_entries(self))

    @property
    def keeps_background_records(self) -> bool:
        """Whether other exporters' applications are kept in the licence table:
        always with ``all``; with ``auto`` only for an office-only scenario,
        where they are the whole record (with a chain they are tens of
        thousands of rows nobody reads)."""
        keep = self.output.licence_records  # type: ignore[attr-defined]
        return keep == "all" or (keep == "auto" and not self.has_supply_chain)

    def file_form(self) -> dict[str, Any]:
        """The scenario as a file would say it: keys by their names in files
        (``mean``, not ``mu``), unset keys left out, a constant distribution as
        its plain number, no ``extends`` (the parents are merged in)."""
        data = _plain(self.model_dump(by_alias=True, exclude_none=True))
        data.pop("extends", None)
        return data

    def stage_names(self) -> list[str]:
        return [s.name for s in self.licensing.stages]  # type: ignore[attr-defined]


def _plain(node: Any) -> Any:
    """``{"dist": "constant", "value": x}`` -> ``x``, everywhere in a dump."""
    if isinstance(node, dict):
        if node.get("dist") == "constant" and set(node) == {"dist", "value"}:
            return node["value"]
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _fields() -> dict[str, Any]:
    """Fields in file order: settings, the chain upstream first, then policies."""
    fields: dict[str, Any] = {
        "extends": (str | None, Field(default=None, description="path of a scenario this one overrides")),
        "scenario": (ScenarioMeta, Field(default_factory=ScenarioMeta)),
        "controls": (Controls, Field(default_factory=Controls)),
        "licensing": (Licensing, Field(default_factory=Licensing)),
        "grades": (dict[Name, Grade], Field(default_factory=dict)),
    }
    for k in registry.kinds():
        fields[k.table] = (list[k.schema], Field(default_factory=list))  # type: ignore[name-defined]
    fields.update({
        "policy": (list[Policy], Field(default_factory=list)),
        "branch": (list[Branch], Field(default_factory=list)),
        "sweep": (Sweep, Field(default_factory=Sweep)),
        "output": (Output, Field(default_factory=Output)),
        "markets": (Markets | None, Field(default=None, description="prices under shortage (off without it)")),
    })
    return fields


_cache: dict[int, type[ScenarioBase]] = {}


def scenario_class() -> type[ScenarioBase]:
    """The document class for the kinds registered now."""
    v = registry.version()
    cls = _cache.get(v)
    if cls is None:
        cls = create_model("Scenario", __base__=ScenarioBase, __module__=__name__, **_fields())
        cls.__doc__ = "A whole scenario file after ``extends`` and ``--set``."
        _cache.clear()
        _cache[v] = cls
    return cls


def __getattr__(name: str) -> Any:
    # Pickle finds the document class by name (worker processes unpickle
    # scenarios): ``resim.scenario.document.Scenario`` is the current one.
    if name == "Scenario":
        return scenario_class()
    raise AttributeError(name)
