"""The Python API (SPEC §3): ``load_scenario`` and ``simulate``.

Notebook users get the same objects the command line writes to disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .budget import check_run
from .scenario import Loaded, ScenarioBase, load

if TYPE_CHECKING:  # simulation imports (simpy, pandas) only when simulating:
    from .output.results import Results  # `resim validate` stays light and fast


def load_scenario(
    source: str | Path | Mapping[str, Any] | Loaded | ScenarioBase,
    overrides: Iterable[str] | Mapping[str, Any] = (),
) -> Loaded:
    """Read and validate a scenario (a path, a dict, or an already loaded one).

    ``overrides`` are ``"KEY=VALUE"`` strings or a ``{key: value}`` mapping,
    typed and validated like ``--set``. Raises ``ScenarioError`` on bad input.
    """
    return load(source, overrides)


def simulate(
    scenario: str | Path | Mapping[str, Any] | Loaded | ScenarioBase,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    progress: Callable[[int], None] | None = None,
) -> Results:
    """Run a scenario's replications and return its ``Results``."""
    extra: dict[str, Any] = {}
    if replications is not None:
        extra["scenario.replications"] = replications
    if seed is not None:
        extra["scenario.seed"] = seed
    if isinstance(overrides, Mapping):
        merged: Iterable[str] | Mapping[str, Any] = {**overrides, **extra}
    else:
        merged = [*overrides, *(f"{k}={v}" for k, v in extra.items())]
    loaded = load_scenario(scenario, merged)
    from .execution import run_replications
    from .output.results import Results

    n = loaded.scenario.scenario.replications
    check_run(loaded.scenario, loaded.source, n)
    t0 = time.perf_counter()
    outputs = run_replications(loaded, range(n), workers=workers, progress=progress)
    return Results(loaded, outputs, time.perf_counter() - t0, workers)
