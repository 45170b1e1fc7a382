"""A seeded pyabc sampler: the same posterior for a seed whatever the workers.

pyabc's parallel samplers reseed every worker from the operating system and
keep whichever candidates finish first, so two runs never agree. Here every
candidate has an index within its generation, and NumPy's (and Python's)
global generators are seeded from (root seed, generation, index) just before
it is evaluated: its proposal, its simulation seed and its acceptance draw
are fixed wherever it runs. Candidates are evaluated in batches of
consecutive indices over ``resim.experiment.executors.map_tasks`` (serial, a process pool
or Dask), and a generation is the first ``n`` accepted *by index*, with the
candidates before the last of them counted as its simulations. The batches
are sized from the acceptance rate seen so far (never from the number of
workers, so even the count of simulations run is the same for any workers),
and only the candidates past the last one kept are spent for nothing: they
are counted in ``evaluated`` (the cost) but not in the history (the result).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable

import cloudpickle
import numpy as np
from pyabc.inference_util import AnalysisVars
from pyabc.population import Particle, Sample
from pyabc.sampler import Sampler

from ..experiment.executors import DaskConnection, map_tasks
from ..model.randomness import name_key

_STREAM = name_key("calibration/candidate")
_cache: dict[bytes, Callable[[], Particle]] = {}


def candidate_seed(seed: int, t: int, index: int) -> np.random.SeedSequence:
    """The seed sequence of candidate ``index`` of generation ``t`` (-1: the
    prior sample pyabc calibrates its distance on)."""
    return np.random.SeedSequence(seed, spawn_key=(_STREAM, t + 1, index))


def evaluate(blob: bytes, seed: int, t: int, indices: range) -> list[tuple[int, Particle]]:
    """Evaluate candidates ``indices`` of generation ``t`` (runs in a worker).

    The global generators are restored afterwards: run in the parent
    process (one worker), this must not disturb anything else.
    """
    key = hashlib.blake2b(blob, digest_size=16).digest()
    simulate_one = _cache.get(key)
    if simulate_one is None:
        _cache.clear()
        simulate_one = _cache[key] = cloudpickle.loads(blob)
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        out = []
        for i in indices:
            ss = candidate_seed(seed, t, i)
            np.random.seed(ss.generate_state(8))
            random.seed(int(ss.generate_state(2, np.uint64)[0]))
            out.append((i, simulate_one()))
        return out
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def _limit(max_eval: float, ana_vars: AnalysisVars | None) -> float:
    """The most candidates this generation may try: pyabc's ``max_eval`` and
    what is left of the run's total simulations."""
    if ana_vars is None or not math.isfinite(ana_vars.max_total_nr_simulations):
        return max_eval
    return min(max_eval, ana_vars.max_total_nr_simulations - (ana_vars.prev_total_nr_simulations or 0))


class SeededSampler(Sampler):
    """Evaluate candidates in index order over ``execute``; keep the first n accepted."""

    def __init__(self, seed: int, workers: int = 1, dask: DaskConnection | None = None,
                 on_batch: Callable[[int, int, int], None] | None = None):
        super().__init__()
        self.seed = int(seed)
        self.workers = max(1, int(workers))
        self.dask = dask
        self.on_batch = on_batch
        self.evaluated = 0  # every simulation run, kept or not
        self.rate_hint = 0.5  # expected acceptance rate: the driver sets it from the history

    def _batch_size(self, need: int, rate: float, left: float, all_accepted: bool) -> int:
        guess = need if all_accepted else math.ceil(need / max(rate, 0.02) * 1.05)
        return int(min(max(guess, 1), left))

    def _run(self, blob: bytes, t: int, start: int, size: int) -> dict[int, Particle]:
        chunk = max(1, math.ceil(size / (self.workers * 3)))
        tasks = [(blob, self.seed, t, range(i, min(i + chunk, start + size)))
                 for i in range(start, start + size, chunk)]
        out: dict[int, Particle] = {}
        for _, part in map_tasks(evaluate, tasks, self.workers, self.dask):
            out.update(part)
        self.evaluated += size
        return out

    def sample_until_n_accepted(
        self,
        n: int,
        simulate_one: Callable[[], Particle],
        t: int,
        *,
        max_eval: float = np.inf,
        all_accepted: bool = False,
        ana_vars: AnalysisVars | None = None,
    ) -> Sample:
        limit = _limit(max_eval, ana_vars)
        blob = cloudpickle.dumps(simulate_one)
        results: dict[int, Particle] = {}
        accepted: list[int] = []
        evaluated = 0
        while len(accepted) < n and evaluated < limit:
            rate = self.rate_hint if evaluated == 0 else max(len(accepted), 1) / evaluated
            size = self._batch_size(n - len(accepted), rate, limit - evaluated, all_accepted)
            batch = self._run(blob, t, evaluated, size)
            results.update(batch)
            accepted = sorted(i for i, p in results.items() if p.accepted)
            evaluated += size
            if self.on_batch:
                self.on_batch(t, min(len(accepted), n), evaluated)
        return self._sample(n, results, accepted, evaluated)

    def _sample(self, n: int, results: dict[int, Particle], accepted: list[int], evaluated: int) -> Sample:
        sample = self._create_empty_sample()
        if len(accepted) >= n:
            cutoff = accepted[n - 1]
            self.nr_evaluations_ = cutoff + 1
        else:
            cutoff = evaluated - 1
            self.nr_evaluations_ = evaluated
            sample.ok = False
        for i in range(cutoff + 1):
            sample.append(results[i])
        return sample
