"""Scenarios: the schema of scenario files and everything that reads them.

``load(path_or_dict, overrides)`` returns a ``Loaded`` scenario: frozen,
validated parameters (``types``, ``schema``, ``chain``, ``document``), with
``extends`` resolved (``files``), ``--set`` applied by dotted key (``keys``),
errors turned into one line (``messages``), the policy timeline built
(``timeline``) and the cross-table checks passed (``checks``). Nothing here
imports the simulation statically: the actor kinds' modules, which declare
their tables, are found by package name (``registry``); they import NumPy,
not SimPy.
"""

from __future__ import annotations

from typing import Any

from .chain import ActorTable, BuyerTable, SupplierLink
from .document import ScenarioBase, scenario_class
from .keys import format_loc, get_key, parse_key, parse_value, set_key
from .loading import Loaded, ParameterDraws, branch_scenarios, load
from .timeline import PolicyStep, build_timeline, with_values


def __getattr__(name: str) -> Any:
    # ``Scenario`` is the document class of the kinds registered now (a test
    # or plug-in may register more), so it is looked up, not bound at import.
    if name == "Scenario":
        return scenario_class()
    raise AttributeError(name)


__all__ = [
    "ActorTable",
    "BuyerTable",
    "Loaded",
    "ParameterDraws",
    "PolicyStep",
    "ScenarioBase",
    "SupplierLink",
    "branch_scenarios",
    "build_timeline",
    "format_loc",
    "get_key",
    "load",
    "parse_key",
    "parse_value",
    "scenario_class",
    "set_key",
    "with_values",
]
