"""The distance between a particle's numbers and the observed rows.

Observed rows mix units (monthly tonnes in the thousands, shares under one,
day numbers in the hundreds), so each row is divided by its scale before the
rows are summed (a Euclidean norm): the row's ``sd`` where the observed file
gives one (a measurement error the analyst knows), else the spread of the
simulated values in the previous generation, as pyabc's adaptive p-norm
distance does (Prangle 2017). The spread is the median absolute deviation,
robust to the odd run that stops a whole region; when more than half the
simulations agree exactly (MAD 0) the mean absolute deviation is used, then
the standard deviation, so a row that still varies keeps a weight.

The spread is taken over the *accepted* particles of the previous generation
only, which the history database holds: a resumed calibration recomputes the
very same weights, and continues exactly as an uninterrupted one would.

A particle whose simulation cannot produce a row (no licence decided yet by
the observed date) is at infinite distance: rejected, never matched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from pyabc.distance import AdaptivePNormDistance

from .series import Target


class SpreadScale:
    """pyabc scale function: a row's ``sd`` where given, else its spread."""

    __name__ = "sd_or_spread"  # pyabc records the scale function's name

    def __init__(self, sd: Mapping[str, float | None]):
        self.sd = dict(sd)

    def __call__(self, *, samples: np.ndarray, s_ids: Sequence[str] | None = None, **_: object) -> np.ndarray:
        samples = np.atleast_2d(np.asarray(samples, dtype=float))
        ids = list(s_ids) if s_ids is not None else list(self.sd)
        scale = np.array([spread(samples[:, j]) for j in range(samples.shape[1])])
        given = np.array([self.sd.get(i) or math.nan for i in ids], dtype=float)
        return np.where(np.isnan(given), scale, given)


def spread(x: np.ndarray) -> float:
    """MAD of the finite values, else mean absolute deviation, else SD; 0 if constant."""
    x = x[np.isfinite(x)]
    if x.size < 2:
        return 0.0
    med = float(np.median(x))
    for s in (np.median(np.abs(x - med)), np.mean(np.abs(x - med)), np.std(x)):
        if s > 0:
            return float(s)
    return 0.0


class ScaledDistance(AdaptivePNormDistance):
    """Euclidean distance over rows divided by their scale; NaN is infinitely far."""

    def __call__(self, x: dict, x_0: dict, t: int | None = None, par: dict | None = None) -> float:
        d = super().__call__(x, x_0, t, par)
        return math.inf if not np.isfinite(d) else float(d)


def make_distance(targets: Sequence[Target]) -> ScaledDistance:
    """The distance for these targets (refitted every generation)."""
    return ScaledDistance(p=2, scale_function=SpreadScale({t.label: t.sd for t in targets}),
                          all_particles_for_scale=False)


def observed(targets: Sequence[Target]) -> dict[str, float]:
    """The observed summary statistics, keyed as the particle model keys its own."""
    return {t.label: float(t.value) for t in targets}
