"""``resim calibrate --coverage K``: does a 90% credible interval hold the truth 90% of the time?

Simulation-based calibration (Talts et al. 2018; Cook, Gelman and Rubin 2006):
draw a parameter set from the prior, simulate the observed rows at it (one
replication, averaged over ``--particle-replications`` as in a fit: the
synthetic data carry the model's own noise), fit those rows with the same
priors, population and budget as a real calibration, and ask whether each
parameter's 90% credible interval holds the value that made the data. Over K
such fits, the share of intervals that hold their truth estimates the
intervals' real coverage; a calibrated procedure gives 0.9. ABC with a
finite budget is usually conservative (intervals too wide: coverage above
0.9); coverage well below 0.9 means the intervals cannot be trusted.

The rate comes with its binomial 95% interval (Wilson), so "0.86 from 20
fits" reads as the interval [0.64, 0.95] it is. The observed file supplies
only which series and periods to fit; its values are replaced by each
draw's simulation.

Each finished fit is one row per parameter in ``coverage.parquet`` (truth,
interval, covered, posterior mean and sd, the SBC rank of the truth among
the weighted particles), written after every fit, so an interrupted study
continues with ``--resume`` and loses at most the fit in progress; the pyabc
history of a fit lives in ``fits/<k>/`` only while it runs.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..experiment.store import write_parquet, write_text
from ..model.kpis import wilson
from .abc_smc import fit
from .particle import ParticleModel
from .posterior import weighted_quantile

TABLE = "coverage.parquet"
SUMMARY = "coverage.json"
LEVEL = 0.9
COLUMNS = ["fit", "parameter", "truth", "ci_low", "ci_high", "covered", "mean", "sd", "rank", "particles",
           "seed", "simulations"]


@dataclass(frozen=True)
class Study:
    """What a coverage study repeats: the model and the fit's settings."""

    model: ParticleModel
    fits: int
    seed: int
    population: int
    budget: int
    workers: int = 1


def draw_truth(study: Study, k: int) -> tuple[dict[str, float], int, int]:
    """Fit ``k``'s parameter set (uniform on each prior's internal scale), the
    seed of its synthetic data and the seed of its fit: functions of the
    root seed and ``k`` alone, so a resumed study draws the same."""
    rng = np.random.default_rng([study.seed, 0xC0FE, k])
    truth = {p.key: p.natural(float(rng.uniform(*p.internal_bounds))) for p in study.model.priors}
    data_seed, fit_seed = (int(s) for s in rng.integers(0, 2**62, size=2))
    return truth, data_seed, fit_seed


def synthetic_model(study: Study, truth: dict[str, float], seed: int) -> ParticleModel | None:
    """The particle model whose observed rows are the simulation at
    ``truth``; None when a row has no value there (a share with no
    decision): that draw cannot be fitted as posed."""
    m = study.model
    stats = m.statistics(truth, seed)
    if not all(np.isfinite(stats[t.label]) for t in m.targets):
        return None
    targets = tuple(replace(t, value=float(stats[t.label]), sd=t.sd) for t in m.targets)
    return ParticleModel(m.scenario, m.source, m.priors, targets, m.replications)


def interval_rows(k: int, model: ParticleModel, posterior: pd.DataFrame, truth: dict[str, float],
                  seed: int, simulations: int) -> list[dict[str, Any]]:
    """One row per parameter: the truth against the fit's weighted particles."""
    w = posterior["weight"].to_numpy(dtype=float)
    w = w / w.sum()
    rows = []
    for p in model.priors:
        x = posterior[p.key].to_numpy(dtype=float)
        lo, hi = (weighted_quantile(x, w, q) for q in ((1 - LEVEL) / 2, (1 + LEVEL) / 2))
        mean = float((w * x).sum())
        rows.append({"fit": k, "parameter": p.key, "truth": truth[p.key], "ci_low": lo, "ci_high": hi,
                     "covered": bool(lo <= truth[p.key] <= hi), "mean": mean,
                     "sd": float(np.sqrt(max((w * (x - mean) ** 2).sum(), 0.0))),
                     "rank": float(w[x < truth[p.key]].sum()), "particles": len(x), "seed": seed,
                     "simulations": simulations})
    return rows


def shrunk(table: pd.DataFrame, factor: float) -> pd.DataFrame:
    """The same fits with every interval narrowed around its centre by
    ``factor`` (0.5: half as wide): an over-confident posterior, which a
    coverage check must score lower -- the check's own test."""
    centre = (table["ci_low"] + table["ci_high"]) / 2
    half = (table["ci_high"] - table["ci_low"]) / 2 * factor
    out = table.assign(ci_low=centre - half, ci_high=centre + half)
    return out.assign(covered=(out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"]))


def rates(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per parameter: fits, covered, the rate and its Wilson 95% interval."""
    out = {}
    for key, g in table.groupby("parameter", sort=False):
        n, hit = len(g), int(g["covered"].sum())
        out[str(key)] = {"fits": n, "covered": hit, "rate": hit / n if n else None, "ci95": wilson(hit, n),
                         "nominal": LEVEL, "mean_width": float((g["ci_high"] - g["ci_low"]).mean())}
    return out


def run_study(study: Study, out: Path, progress: Callable[[str], None] | None = None,
              resume: bool = False) -> pd.DataFrame:
    """Fit ``study.fits`` synthetic data sets (continuing a table in ``out``
    with ``resume``); returns the whole table, also in ``out/coverage.parquet``."""
    say = progress or (lambda _: None)
    table = pd.read_parquet(out / TABLE) if resume and (out / TABLE).exists() else pd.DataFrame(columns=COLUMNS)
    done = set(table["fit"].astype(int)) if len(table) else set()
    for k in range(study.fits):
        if k in done:
            continue
        rows = _one_fit(study, k, out)
        table = pd.concat([table, pd.DataFrame(rows, columns=COLUMNS)], ignore_index=True) if len(table) else \
            pd.DataFrame(rows, columns=COLUMNS)
        write_parquet(out / TABLE, table)
        say(_progress_line(k, study.fits, rows))
    return table


def _one_fit(study: Study, k: int, out: Path) -> list[dict[str, Any]]:
    truth, data_seed, fit_seed = draw_truth(study, k)
    model = synthetic_model(study, truth, data_seed)
    tries = 0
    while model is None:  # a row with no value at this draw: the next data seed, same truth
        tries += 1
        if tries > 20:
            raise RuntimeError(f"fit {k}: the observed rows have no value at {truth} in 20 simulations")
        model = synthetic_model(study, truth, data_seed + tries)
    work = out / "fits" / f"{k:04d}"
    shutil.rmtree(work, ignore_errors=True)  # a fit cut short before: start it again
    work.mkdir(parents=True)
    result = fit(model, work, seed=fit_seed, population=study.population, budget=study.budget,
                 workers=study.workers)
    shutil.rmtree(work, ignore_errors=True)
    return interval_rows(k, model, result.posterior, truth, fit_seed, result.evaluated)


def _progress_line(k: int, fits: int, rows: Sequence[dict[str, Any]]) -> str:
    held = ", ".join(f"{r['parameter']} {'in' if r['covered'] else 'OUT'}" for r in rows)
    return f"fit {k + 1} of {fits}: {held}"


def write_summary(out: Path, table: pd.DataFrame, settings: dict[str, Any]) -> dict[str, Any]:
    """coverage.json: the settings and each parameter's rate with its interval."""
    doc = {"level": LEVEL, "settings": settings, "parameters": rates(table)}
    write_text(out / SUMMARY, json.dumps(doc, indent=2) + "\n")
    return doc


def run_coverage(args: Any, loaded: Any, targets: list[Any], priors: list[Any], seed: int, out: Path,
                 request: dict[str, Any]) -> dict[str, Any]:
    """``resim calibrate --coverage K`` after its inputs are checked: the
    study, its files and its lines; returns coverage.json's content."""
    from ..experiment.replications import default_workers
    from .directory import REQUEST_FILE

    say = (lambda _: None) if args.quiet else (lambda text: print(text, flush=True))
    model = ParticleModel(loaded.scenario, loaded.source, tuple(priors), tuple(targets), args.particle_replications)
    study = Study(model, args.coverage, seed, args.population, args.budget, args.workers or default_workers())
    out.mkdir(parents=True, exist_ok=True)
    if not args.resume:
        write_text(out / REQUEST_FILE, json.dumps(request, indent=2) + "\n")
    say(f"coverage of {', '.join(p.key for p in priors)} in {loaded.source}: {args.coverage} fits of synthetic "
        f"data at the periods of {args.observed} ({len(targets)} rows), {args.population} particles, budget "
        f"{args.budget} simulations each")
    table = run_study(study, out, say, resume=args.resume)
    settings = {"scenario": loaded.scenario.scenario.name, "source": loaded.source, "observed_file": str(args.observed),
                "fit": [p.spec() for p in priors], "seed": seed, "fits": args.coverage, "population": args.population,
                "budget_per_fit": args.budget, "replications_per_particle": args.particle_replications}
    doc = write_summary(out, table, settings)
    for line in summary_lines(doc):
        say(line)
    say(f"results in {out}/ (coverage.json, coverage.parquet)")
    return doc


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """``licensing.approval_rate: 18 of 20 fits covered (0.90, 95% interval 0.70 to 0.97; nominal 0.9)``."""
    lines = []
    for key, r in doc["parameters"].items():
        lo, hi = r["ci95"]
        lines.append(f"{key}: {r['covered']} of {r['fits']} fits covered ({r['rate']:.2f}, 95% interval "
                     f"{lo:.2f} to {hi:.2f}; nominal {r['nominal']:.1f}), mean 90% interval width "
                     f"{r['mean_width']:.4g}")
    return lines


__all__ = ["COLUMNS", "Study", "draw_truth", "rates", "run_coverage", "run_study", "shrunk", "summary_lines",
           "write_summary"]
