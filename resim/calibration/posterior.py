"""``--posterior DIR``: parameter uncertainty carried into runs, sweeps and comparisons.

A calibration's particles (``posterior.parquet``, with their weights) are a
sample of what the parameters may be. With ``--posterior``, replication *r*
of a run with root seed *s* draws one particle, by weight, from its own named
stream (``calibration/posterior`` of replication *r*'s seed sequence), and
runs with those values. The draw depends on (s, r) alone, never on the
scenario, so replication *r* of scenario A and of scenario B get the same
parameter set and common random numbers still pair them; and no other
stream moves, because streams are named, not numbered.

The spread of outcomes over replications then holds both the simulation's
noise and the parameters' uncertainty: the p5-p95 band of a KPI is the
range to plan with, while the 95% CI of its mean only says how well the
replications pin the mean down.

No pyabc and no simulation code here: a run needs neither to read a posterior.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..model.randomness import generator, replication_seed
from ..scenario import Loaded
from ..scenario.errors import ScenarioError
from .priors import Prior, apply_values, fingerprint

POSTERIOR_FILE = "posterior.parquet"
SUMMARY_FILE = "calibration.json"
STREAM = "calibration/posterior"


@dataclass(frozen=True)
class Posterior:
    """Weighted particles of a calibration, in scenario values."""

    source: str
    priors: tuple[Prior, ...]
    values: np.ndarray  # (particles, parameters), in the priors' order
    weights: np.ndarray  # sums to 1
    #: What it was fitted with (calibration.json): the model's fingerprint
    #: (``priors.fingerprint``) and resim's version; None in older folders.
    fitted_to: str | None = None
    version: str | None = None

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.priors]

    def particle(self, i: int) -> dict[str, float]:
        return {p.key: float(v) for p, v in zip(self.priors, self.values[i], strict=True)}

    def quantile(self, key: str, q: float) -> float:
        j = self.keys.index(key)
        return weighted_quantile(self.values[:, j], self.weights, q)

    # ------------------------------------------- as ``scenario.ParameterDraws``
    def scenario_for(self, loaded: Loaded, replication: int) -> Loaded:
        """The scenario replication ``replication`` runs: its drawn particle's values set."""
        return replication_scenario(loaded, self, replication)

    def drawn(self, seed: int, replications: Sequence[int]) -> pd.DataFrame:
        return drawn_values(self, seed, replications)

    def describe(self) -> dict[str, object]:
        return {"directory": self.source, "parameters": self.keys, "particles": int(len(self.weights))}

    def medians(self) -> dict[str, float]:
        """Each parameter's weighted median (rounded for whole-number keys)."""
        out = {}
        for p in self.priors:
            x = self.quantile(p.key, 0.5)
            out[p.key] = float(round(x)) if p.integer else x
        return out


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """The smallest value whose weighted CDF reaches ``q`` (inverted CDF, as
    ``numpy.quantile(..., weights=w, method="inverted_cdf")`` in NumPy >= 2)."""
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(np.asarray(w, dtype=float)[order])
    i = min(int(np.searchsorted(cum, q * cum[-1] - 1e-12 * cum[-1])), len(x) - 1)
    return float(np.asarray(x, dtype=float)[order][i])


def read_posterior(directory: str | Path) -> Posterior:
    """Read a calibration's output directory; ``ScenarioError`` (``--posterior``) if unusable."""
    d = Path(directory)
    if not d.is_dir():
        raise ScenarioError("--posterior", "", "is not a directory", str(directory))
    priors, frame, meta = _read(d)
    values, weights = _particles(d, priors, frame)
    version = (meta.get("run") or {}).get("versions", {}).get("resim")
    return Posterior(str(directory), priors, values, weights / weights.sum(), meta.get("model_sha256"), version)


def _read(d: Path) -> tuple[tuple[Prior, ...], pd.DataFrame, dict]:
    """The priors (calibration.json) and the particles (posterior.parquet) of a folder."""
    for name in (SUMMARY_FILE, POSTERIOR_FILE):
        if not (d / name).is_file():
            raise ScenarioError("--posterior", "", f"{name} is missing: not the --out of a finished "
                                "resim calibrate", str(d))
    try:
        meta = json.loads((d / SUMMARY_FILE).read_text(encoding="utf-8"))
        priors = tuple(Prior.from_dict(p, f"p{i}") for i, p in enumerate(meta["priors"]))
        return priors, pd.read_parquet(d / POSTERIOR_FILE), meta
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ScenarioError("--posterior", "", f"cannot read the calibration in it ({type(e).__name__}: {e})",
                            str(d)) from None


def _particles(d: Path, priors: tuple[Prior, ...], frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Values (particles x parameters) and weights, checked usable."""
    missing = [c for c in [*(p.key for p in priors), "weight"] if c not in frame.columns]
    if missing:
        raise ScenarioError("--posterior", "", f"{POSTERIOR_FILE} lacks the column {missing[0]}", str(d))
    values = frame[[p.key for p in priors]].to_numpy(dtype=float)
    weights = frame["weight"].to_numpy(dtype=float)
    if not _usable(values, weights):
        raise ScenarioError("--posterior", "", f"{POSTERIOR_FILE} holds no usable particles", str(d))
    return values, weights


def _usable(values: np.ndarray, weights: np.ndarray) -> bool:
    """Particles to draw from: at least one, finite values, weights >= 0 of positive sum."""
    return bool(len(values) and np.all(np.isfinite(values)) and np.all(weights >= 0) and weights.sum() > 0)


def draw_index(posterior: Posterior, seed: int, replication: int) -> int:
    """The particle replication ``replication`` of a run with root seed ``seed`` uses."""
    rng = generator(replication_seed(seed, replication), STREAM)
    return int(rng.choice(len(posterior.weights), p=posterior.weights))


def draw_values(posterior: Posterior, seed: int, replication: int) -> dict[str, float]:
    """``{fit key: value}`` for one replication (``[*]`` keys as fitted)."""
    return posterior.particle(draw_index(posterior, seed, replication))


def with_posterior_values(loaded: Loaded, values: Mapping[str, float]) -> Loaded:
    """``loaded`` with a particle's values set (policies re-applied on top),
    keeping its source for messages; ``[*]`` keys expand against this scenario."""
    new = apply_values(loaded.scenario, values, f"{loaded.source} with --posterior")
    return replace(new, raw=loaded.raw, source=loaded.source)


def replication_scenario(loaded: Loaded, posterior: Posterior, replication: int) -> Loaded:
    """The scenario replication ``replication`` runs under ``--posterior``."""
    return with_posterior_values(loaded, draw_values(posterior, loaded.scenario.scenario.seed, replication))


def check_posterior(loaded: Loaded, posterior: Posterior) -> None:
    """Refuse, before any run, a posterior whose keys this scenario lacks or
    whose values it refuses (checked at each parameter's extremes)."""
    lo = {k: float(v) for k, v in zip(posterior.keys, posterior.values.min(axis=0), strict=True)}
    hi = {k: float(v) for k, v in zip(posterior.keys, posterior.values.max(axis=0), strict=True)}
    for values in (lo, hi):
        apply_values(loaded.scenario, values, f"--posterior {posterior.source}")


def posterior_warnings(loaded: Loaded, posterior: Posterior) -> list[str]:
    """Why ``posterior`` may not fit this scenario, one warning line each: it
    was fitted to another model (the scenario changed outside its fitted keys
    and run settings), or by another resim version (the model code may have
    changed). Empty when neither is known to differ."""
    from importlib import metadata

    lines = []
    where = f"resim: warning: --posterior {posterior.source}"
    if posterior.fitted_to is not None and posterior.fitted_to != fingerprint(loaded.scenario, posterior.priors):
        lines.append(f"{where} was fitted to another version of this scenario ({loaded.source} has changed "
                     "outside the fitted keys): its draws may no longer fit the observed data")
    ours = metadata.version("resim")
    if posterior.version is not None and posterior.version != ours:
        lines.append(f"{where} was fitted with resim {posterior.version}, this is {ours}")
    return lines


def drawn_values(posterior: Posterior, seed: int, replications: Sequence[int]) -> pd.DataFrame:
    """One row per replication with the values it drew: the columns
    ``replications.parquet`` gains under ``--posterior``."""
    rows = [{"replication": r, **draw_values(posterior, seed, r)} for r in replications]
    return pd.DataFrame(rows, columns=["replication", *posterior.keys])

