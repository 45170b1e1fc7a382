"""One particle's simulation: parameter values and a seed in, the observed
rows' model numbers out.

``ParticleModel`` is what pyabc calls as its model, in whichever process the
sampler sends it to, so it is a small picklable object holding the validated
scenario, the priors and the targets. The simulation seed is drawn from
NumPy's global generator, which the seeded sampler sets per candidate: a
candidate's result is then a function of (root seed, generation, index)
alone, wherever it runs.

The horizon is cut to the last observed day (``series.days_needed``): the
model is causal, so the observed periods are unchanged in distribution while
a fit of four months' exports does not simulate a year.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..experiment.replications import simulate_replication
from ..model.records import Records
from ..scenario import Loaded
from ..scenario import ScenarioBase as Scenario
from .measure import Measured, statistics
from .priors import Prior, apply_values
from .series import Horizon, Series, Target, days_needed

_SEED_LIMIT = 2**63 - 1


@dataclass
class ParticleModel:
    """Simulate the scenario at a particle's values; measure the targets."""

    scenario: Scenario
    source: str
    priors: tuple[Prior, ...]
    targets: tuple[Target, ...]
    replications: int = 1
    horizon_days: float = field(init=False)

    def __post_init__(self) -> None:
        self.horizon_days = days_needed(self.targets, self.scenario)

    # pyabc names this a model's "name" in its database
    __name__ = "resim"

    def values(self, internal: Mapping[str, float]) -> dict[str, float]:
        """``{fit key: scenario value}`` from pyabc's internal parameters."""
        return {p.key: p.natural(float(internal[p.name])) for p in self.priors}

    def loaded(self, values: Mapping[str, float], seed: int, full: bool = False) -> Loaded:
        """The scenario at ``values`` with root seed ``seed`` (the fitted
        horizon, or the scenario's own with ``full``)."""
        fixed: dict[str, Any] = {"scenario.seed": int(seed)}
        if not full:
            fixed["scenario.horizon"] = self.horizon_days
        return apply_values(self.scenario, values, self.source, fixed)

    def simulate(self, values: Mapping[str, float], seed: int, full: bool = False) -> list[Records]:
        loaded = self.loaded(values, seed, full)
        outs = [simulate_replication(loaded, r) for r in range(self.replications)]
        bad = next((o for o in outs if o.error), None)
        if bad is not None:
            raise RuntimeError(f"the model failed at {dict(values)} (seed {seed}, replication "
                               f"{bad.replication}): {bad.error}")
        return outs

    def statistics(self, values: Mapping[str, float], seed: int) -> dict[str, float]:
        outs = self.simulate(values, seed)
        horizon = Horizon(self.scenario.scenario.start_date, math.ceil(self.horizon_days))
        return statistics(outs, self.targets, horizon)

    def __call__(self, parameter: Mapping[str, float]) -> dict[str, float]:
        """pyabc's model function: seeded by the sampler through NumPy's global state."""
        seed = int(np.random.randint(0, _SEED_LIMIT, dtype=np.int64))
        return self.statistics(self.values(parameter), seed)

    def predict(self, values: Mapping[str, float], seed: int,
                grid: Mapping[str, Sequence[Any]]) -> tuple[dict[str, float], dict[str, list[float]]]:
        """A posterior-predictive draw over the scenario's whole horizon: the
        targets' numbers, and each series' numbers over its ``grid`` of periods
        (replications averaged, as in the fit)."""
        outs = self.simulate(values, seed, full=True)
        horizon = Horizon.of(self.scenario)
        views = [Measured(o, horizon) for o in outs]
        at_targets = {t.label: float(np.mean([v.value(t.series, t.period) for v in views])) for t in self.targets}
        series = {s.name: s for s in (t.series for t in self.targets)}
        curves = {name: _curve(views, series[name], periods) for name, periods in grid.items()}
        return at_targets, curves


def _curve(views: Sequence[Measured], series: Series, periods: Sequence[Any]) -> list[float]:
    """A series over ``periods``, averaged over the replications."""
    return [float(np.mean([v.value(series, p) for v in views])) for p in periods]


def fan_grid(targets: Sequence[Target], scenario: Scenario) -> dict[str, list[Any]]:
    """The periods each observed series is drawn over in the fan charts:
    every whole month of the horizon (none for a stockout day: one number
    per draw, shown by its own chart)."""
    months = Horizon.of(scenario).months()
    series: dict[str, Series] = {t.series.name: t.series for t in targets}
    return {name: ([] if s.kind == "stockout_day" else months) for name, s in series.items()}
