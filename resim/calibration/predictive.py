"""Posterior-predictive draws: what the calibrated model says about each series.

A draw picks a particle by weight and simulates the scenario's *whole*
horizon at its values with a fresh seed, so the fan charts show the fitted
months and the months after them (a forecast the data did not see). The
draws are seeded from the root seed alone and run over the same executor as
the fit, in task order, so they too are the same whatever the workers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..experiment.executors import DaskConnection, map_tasks
from ..model.randomness import name_key
from .observed import Period
from .particle import ParticleModel, fan_grid
from .posterior import Posterior

_STREAM = name_key("calibration/predictive")


@dataclass
class Predictive:
    """Draws x targets, and per series draws x periods."""

    at_targets: pd.DataFrame  # columns: target labels; one row per draw
    grid: dict[str, list[Period]]
    curves: dict[str, np.ndarray]
    draws: int

    def band(self, label: str) -> dict[str, float]:
        """p5, p50 and p95 of a target's predictive draws."""
        x = self.at_targets[label].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        if not x.size:
            return {"p5": float("nan"), "p50": float("nan"), "p95": float("nan")}
        p5, p50, p95 = np.quantile(x, [0.05, 0.5, 0.95])
        return {"p5": float(p5), "p50": float(p50), "p95": float(p95)}


def _predict(model: ParticleModel, values: Mapping[str, float], seed: int,
             grid: Mapping[str, Sequence[Period]]) -> tuple[dict[str, float], dict[str, list[float]]]:
    return model.predict(values, seed, grid)


def predictive(model: ParticleModel, posterior: Posterior, draws: int, seed: int,
               workers: int = 1, dask: DaskConnection | None = None) -> Predictive:
    """Simulate ``draws`` posterior-predictive samples (each ``model.replications``
    replications, averaged as in the fit)."""
    grid = fan_grid(model.targets, model.scenario)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAM,)))
    picks = rng.choice(len(posterior.weights), size=draws, p=posterior.weights)
    seeds = rng.integers(0, 2**63 - 1, size=draws, dtype=np.int64)
    tasks: list[tuple[Any, ...]] = [(model, posterior.particle(int(i)), int(s), grid)
                                    for i, s in zip(picks, seeds, strict=True)]
    results: dict[int, tuple[dict[str, float], dict[str, list[float]]]] = {}
    for j, res in map_tasks(_predict, tasks, workers, dask):
        results[j] = res
    ordered = [results[j] for j in range(draws)]
    labels = [t.label for t in model.targets]
    at = pd.DataFrame([r[0] for r in ordered], columns=labels)
    return Predictive(at, grid, _curves([r[1] for r in ordered], grid), draws)


def _curves(drawn: list[dict[str, list[float]]], grid: dict[str, list[Any]]) -> dict[str, np.ndarray]:
    """Each series' draws as an array, draws x periods of its grid."""
    return {name: np.array([d[name] for d in drawn], dtype=float).reshape(len(drawn), len(periods))
            for name, periods in grid.items()}
