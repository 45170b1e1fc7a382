"""The bridge of ``--update``: the old posterior as generation 0 of a new history.

Each particle of DIR's posterior is simulated once more, at a seed of its own,
over the horizon the *new* rows need, and stored with its old weight as
generation 0 of a fresh pyabc history whose observed data are all rows. From
there the ordinary fit (``abc_smc.fit`` with ``resume``) continues as it would
after any generation: pyabc fits the perturbation kernel to these weighted
particles, the distance's scales to their simulated rows and the first
threshold to the weighted quarter-quantile of their distances to all rows
(``update.BRIDGE_ALPHA``; the median after that, as always), and weights
the particles it accepts by prior / proposal. The bridge costs one simulation
per old particle (times ``--particle-replications``).

A bridge cut short leaves a history without generation 0; ``start`` then
begins it again (it is cheap), so an interrupted update resumes like any
calibration.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyabc
from pyabc.population import Particle, Population, Sample

from ..experiment.executors import DaskConnection, map_tasks
from ..model.randomness import name_key
from .abc_smc import make_abc
from .directory import HISTORY
from .distance import make_distance, observed
from .particle import ParticleModel
from .posterior import Posterior
from .sampler import SeededSampler

_STREAM = name_key("calibration/update-bridge")


def _statistics(model: ParticleModel, values: Mapping[str, float], seed: int) -> dict[str, float]:
    return model.statistics(values, seed)


def _seed(seed: int, i: int) -> int:
    return int(np.random.SeedSequence(seed, spawn_key=(_STREAM, i)).generate_state(1, np.uint64)[0] >> 1)


def _internal(model: ParticleModel, values: Mapping[str, float]) -> pyabc.Parameter:
    """A particle's scenario values in pyabc's internal scale (the log of a log-uniform key)."""
    return pyabc.Parameter({p.name: (math.log(values[p.key]) if p.log else float(values[p.key]))
                            for p in model.priors})


def bridge_population(model: ParticleModel, old: Posterior, seed: int, workers: int = 1,
                      dask: DaskConnection | None = None) -> tuple[Population, float]:
    """The old particles, old weights, re-simulated on all rows, with their
    distances to all rows; and the largest finite distance (the threshold
    every one of them meets)."""
    tasks = [(model, old.particle(i), _seed(seed, i)) for i in range(len(old.weights))]
    stats = dict(map_tasks(_statistics, tasks, workers, dask))
    particles = [Particle(m=0, parameter=_internal(model, old.particle(i)), weight=float(old.weights[i]),
                          sum_stat=stats[i], distance=0.0) for i in range(len(tasks))]
    population = Population(particles)
    x0 = observed(model.targets)
    distance = make_distance(model.targets)
    distance.initialize(t=0, get_sample=lambda: Sample.from_population(population), x_0=x0, total_sims=0)
    population.update_distances(lambda x, par: distance(x, x0, 0, par))
    finite = [p.distance for p in population.particles if math.isfinite(p.distance)]
    return population, (max(finite) if finite else math.inf)


def has_bridge(out: Path) -> bool:
    """Whether ``out``'s history holds generation 0 (the bridge)."""
    import sqlite3

    if not (out / HISTORY).is_file():
        return False
    try:
        with sqlite3.connect(f"file:{out / HISTORY}?mode=ro", uri=True) as db:
            return bool(db.execute("select count(*) from populations where t >= 0").fetchone()[0])
    except sqlite3.Error:
        return False


def start(model: ParticleModel, out: Path, old: Posterior, *, seed: int, population: int, workers: int = 1,
          dask: DaskConnection | None = None) -> int:
    """A new history in ``out`` (observed: all rows) whose generation 0 is the
    bridge; returns the simulations it cost (0 if ``out`` holds it already)."""
    if has_bridge(out):
        return 0
    (out / HISTORY).unlink(missing_ok=True)  # a bridge cut short: begin it again
    logging.getLogger("ABC").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    pop, epsilon = bridge_population(model, old, seed, workers, dask)
    abc = make_abc(model, population, SeededSampler(seed))
    history = abc.new(f"sqlite:///{(out / HISTORY).resolve()}", observed(model.targets))
    history.append_population(0, epsilon, pop, len(pop.particles), [m.name for m in abc.models],
                              wall_time=time.perf_counter() - t0)
    return len(pop.particles) * model.replications
