"""resim: a discrete-event simulator of rare-earth supply disruptions.

Python API (SPEC §3)::

    import resim
    loaded = resim.load_scenario("scenarios/six_month_licences.toml")
    res = resim.simulate(loaded, replications=50)
    res.replications        # one row per replication x automaker
    res.summary()["kpis"]   # means with 95% confidence intervals

Nothing is imported eagerly beyond what these names need, and nothing runs at
import time.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Results", "ScenarioError", "compare", "load_scenario", "load_sweep", "simulate", "sweep", "__version__"]


def __dir__() -> list[str]:
    return sorted(__all__)


def __getattr__(name: str) -> Any:
    if name in ("load_scenario", "load_sweep", "simulate", "sweep", "compare"):
        from . import api

        return getattr(api, name)
    if name == "ScenarioError":
        from .scenario.errors import ScenarioError

        return ScenarioError
    if name == "Results":
        from .output.results import Results

        return Results
    raise AttributeError(name)
