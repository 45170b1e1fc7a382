"""The fit: ABC-SMC (pyabc) over the particle model, crash-safe and resumable.

Why pyabc: it is maintained (BSD-3), its ABC-SMC adapts the acceptance
threshold and the distance's scales per generation, keeps every generation
in its own SQLite history (a killed calibration loses at most the generation
it was in) and needs no likelihood, which a discrete-event model does not
have. Neural SBI libraries (sbi, BayesFlow) need thousands of simulations
before a first answer and a GPU to be quick; history matching (no maintained
Python library) gives a plausible region, not a posterior with weights.

Each generation is one ``ABCSMC.run`` on a fresh ``ABCSMC`` loaded from the
history: the threshold, the distance's scales and the perturbation kernel
are rebuilt from the stored generation every time, so a resumed calibration
and an uninterrupted one take the same path, particle for particle. Between
generations the budget is checked: a generation starts only if the
simulations left cover what it is expected to cost, so a budget rarely ends
inside a generation (whose simulations would then be spent for nothing).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyabc
from pyabc.weighted_statistics import effective_sample_size

from ..experiment.executors import DaskConnection
from .directory import HISTORY
from .distance import make_distance, observed
from .particle import ParticleModel
from .sampler import SeededSampler

#: The next generation's acceptance rate, as a share of the last one's, when
#: deciding whether the budget left covers it (rates fall as epsilon does).
RATE_DECAY = 0.5


class NoGeneration(Exception):
    """The budget ran out before a first generation was complete."""

    def __init__(self, spent: int):
        super().__init__(f"the budget ran out after {spent} simulations, before a first generation was complete")
        self.spent = spent


@dataclass
class Generation:
    """One generation as the history records it."""

    t: int
    epsilon: float
    simulations: int
    acceptance_rate: float
    ess: float


@dataclass
class Fit:
    """What a calibration produced."""

    posterior: pd.DataFrame  # one row per particle: fit keys, weight, distance
    generations: list[Generation]
    simulations: int  # kept in the history (prior sample + generations) x replications
    evaluated: int  # simulations actually run, including discarded ones
    runtime_s: float
    stopped: str
    extra: dict[str, Any] = field(default_factory=dict)


def _priors(model: ParticleModel) -> pyabc.Distribution:
    rvs = {}
    for p in model.priors:
        lo, hi = p.internal_bounds
        rvs[p.name] = pyabc.RV("uniform", lo, hi - lo)
    return pyabc.Distribution(**rvs)


def make_abc(model: ParticleModel, population: int, sampler: SeededSampler) -> pyabc.ABCSMC:
    """The ABC-SMC object every generation is run by (also what ``--update``'s bridge starts a history with)."""
    return pyabc.ABCSMC(model, _priors(model), make_distance(model.targets), population_size=population,
                        sampler=sampler, eps=pyabc.MedianEpsilon())


def generations(history: pyabc.History) -> list[Generation]:
    pops = history.get_all_populations()
    out = []
    for row in pops[pops["t"] >= 0].itertuples():
        _, w = history.get_distribution(m=0, t=int(row.t))
        n = int(row.particles)
        out.append(Generation(int(row.t), float(row.epsilon), int(row.samples), n / max(int(row.samples), 1),
                              float(effective_sample_size(w))))
    return out


def posterior_frame(model: ParticleModel, history: pyabc.History, t: int | None = None) -> pd.DataFrame:
    """The particles of generation ``t`` (default: the last) in scenario values."""
    pop = history.get_population(t=t)
    rows = []
    for particle in pop.particles:
        row: dict[str, Any] = model.values(particle.parameter)
        row["weight"] = float(particle.weight)
        row["distance"] = float(particle.distance)
        rows.append(row)
    return pd.DataFrame(rows, columns=[*(p.key for p in model.priors), "weight", "distance"])


def next_cost(history: pyabc.History, population: int) -> float:
    """What the next generation is expected to cost, in particles tried."""
    if history.max_t < 0:
        return 3 * population  # prior sample + a first generation at about half acceptance
    last = generations(history)[-1]
    return population / max(last.acceptance_rate * RATE_DECAY, 1e-9)


@dataclass
class _Session:
    """One calibration session: the history it continues, the budget and the clock.

    Each step loads a fresh ``ABCSMC`` from the history (see the module
    docstring), so a step is the same whether the session resumed or not.
    """

    model: ParticleModel
    population: int
    sampler: SeededSampler
    db: str
    limit: int  # particles the budget allows (simulations // replications)
    say: Callable[[str], None]
    t0: float
    start: int | None = None  # particles the history held when this session began
    bridge_alpha: float | None = None  # --update: the quantile of the bridge's distances generation 1 keeps

    def step(self) -> tuple[pyabc.History, str]:
        """Run one generation if the budget left covers it; return the history
        and why the session stops ("" to go on)."""
        abc = make_abc(self.model, self.population, self.sampler)
        history = abc.load(self.db, 1)
        if self.bridge_alpha and history.max_t == 0:
            abc.eps = pyabc.QuantileEpsilon(alpha=self.bridge_alpha)
        used = history.total_nr_simulations or 0
        self.start = used if self.start is None else self.start
        # candidates this session ran past the last particle kept count too
        cap = self.limit - (self.sampler.evaluated - (used - self.start))
        cost = next_cost(history, self.population)
        if cap - used < cost:
            reps = self.model.replications
            return history, (f"the budget left ({(cap - used) * reps:.0f} simulations) would not cover another "
                             f"generation (about {cost * reps:.0f}); --resume with a larger --budget continues")
        before = history.max_t
        self.sampler.rate_hint = generations(history)[-1].acceptance_rate if before >= 0 else 0.5
        abc.run(max_nr_populations=1, max_total_nr_simulations=cap)
        if history.max_t == before:
            return history, "the last generation ran out of budget and was dropped"
        self.say(self._progress(history))
        return history, ""

    def _progress(self, history: pyabc.History) -> str:
        g = generations(history)[-1]
        reps = self.model.replications
        elapsed = time.perf_counter() - self.t0
        prior = " with the prior sample that set the first epsilon" if g.t == 0 else ""
        return (f"generation {g.t}: epsilon {g.epsilon:.4g}, acceptance {g.acceptance_rate:.1%} "
                f"({self.population} of {g.simulations} candidates), ESS {g.ess:.0f}; "
                f"{(history.total_nr_simulations or 0) * reps} simulations kept so far{prior}, "
                f"{self.sampler.evaluated * reps / max(elapsed, 1e-9):.1f} simulations/s")


def _batch_progress(say: Callable[[str], None], population: int,
                    reps: int) -> Callable[[int, int, int], None]:
    """The sampler's callback: a line per batch of a generation (none for the prior sample, t < 0)."""
    def on_batch(t: int, accepted: int, evaluated: int) -> None:
        if t >= 0:
            say(f"  generation {t}: {accepted}/{population} accepted after {evaluated * reps} simulations")
    return on_batch


def fit(model: ParticleModel, out: Path, *, seed: int, population: int, budget: int, workers: int = 1,
        dask: DaskConnection | None = None, resume: bool = False,
        progress: Callable[[str], None] | None = None, bridge_alpha: float | None = None) -> Fit:
    """Run (or, with ``resume``, continue) ABC-SMC until the budget is spent.

    ``budget`` counts simulations (particles x ``model.replications``): those
    the history keeps plus those this session ran past the last particle
    kept in a generation. (A resumed session does not know the latter of the
    sessions before it, so over several sessions the total may pass the
    budget by their few.)
    """
    say = progress or (lambda _: None)
    logging.getLogger("ABC").setLevel(logging.WARNING)
    db = f"sqlite:///{(out / HISTORY).resolve()}"
    reps = model.replications
    t0 = time.perf_counter()
    sampler = SeededSampler(seed, workers, dask, on_batch=_batch_progress(say, population, reps))
    if not resume:
        make_abc(model, population, sampler).new(db, observed(model.targets))
    session = _Session(model, population, sampler, db, budget // reps, say, t0, bridge_alpha=bridge_alpha)
    history, stopped = session.step()
    while not stopped:
        history, stopped = session.step()
    if history.max_t < 0:
        raise NoGeneration(sampler.evaluated * reps)
    return Fit(posterior_frame(model, history), generations(history),
               (history.total_nr_simulations or 0) * reps, sampler.evaluated * reps,
               time.perf_counter() - t0, stopped)
