"""The files a calibration leaves in ``--out``.

* ``posterior.parquet``: one row per particle of the last generation: each
  fitted key's value, ``weight`` (sums to 1) and ``distance``.
* ``calibration.json``: per parameter the posterior mean, median, 90%
  credible interval (weighted 5% and 95% quantiles) and prior range; the
  effective sample size; simulations used (kept in the history, run in
  total, spent on the predictive check); every generation's threshold and
  acceptance rate; every observed row with its posterior-predictive band.
* ``scenario.calibrated.toml``: the whole scenario (``extends`` resolved)
  with each fitted key at its posterior median, runnable as is.

Each file is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from ..experiment.store import write_parquet, write_text
from ..scenario.tomlwriter import comment_text
from ..scenario.tomlwriter import dumps as toml_dumps
from .abc_smc import Fit
from .particle import ParticleModel
from .posterior import POSTERIOR_FILE, SUMMARY_FILE, Posterior
from .predictive import Predictive
from .priors import apply_values, fingerprint
from .series import Target

CALIBRATED_FILE = "scenario.calibrated.toml"


def posterior_of(fit: Fit, model: ParticleModel, source: str) -> Posterior:
    frame = fit.posterior
    w = frame["weight"].to_numpy(dtype=float)
    return Posterior(source, model.priors, frame[[p.key for p in model.priors]].to_numpy(dtype=float), w / w.sum())


def parameter_summary(post: Posterior) -> dict[str, dict[str, Any]]:
    out = {}
    for j, p in enumerate(post.priors):
        x = post.values[:, j]
        mean = float((post.weights * x).sum())
        sd = math.sqrt(max(float((post.weights * (x - mean) ** 2).sum()), 0.0))
        out[p.key] = {
            "mean": mean,
            "median": post.quantile(p.key, 0.5),
            "ci90": [post.quantile(p.key, 0.05), post.quantile(p.key, 0.95)],
            "sd": sd,
            "prior": [p.low, p.high],
            "prior_scale": "log" if p.log else "uniform",
        }
    return out


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("resim", "pyabc", "numpy", "scipy", "pandas"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def summary(fit: Fit, model: ParticleModel, post: Posterior, pred: Predictive | None,
            settings: dict[str, Any], run: dict[str, Any] | None = None) -> dict[str, Any]:
    """The content of ``calibration.json``. Everything but ``run`` (timings,
    workers: how this invocation went) is the same for a seed whatever the
    workers."""
    ess = 1.0 / float((post.weights ** 2).sum())
    rows = [_observed_row(t, pred) for t in model.targets]
    predictive_sims = (pred.draws * model.replications) if pred is not None else 0
    return {
        **settings,
        "method": "ABC-SMC (pyabc): median epsilon, adaptive Euclidean distance scaled by sd or spread, "
                  "multivariate normal perturbation, seeded sampler",
        "priors": [p.as_dict() for p in model.priors],
        "parameters": parameter_summary(post),
        "effective_sample_size": ess,
        "particles": int(len(post.weights)),
        "simulations": fit.simulations,
        "simulations_run": fit.evaluated,
        "predictive_simulations": predictive_sims,
        "stopped": fit.stopped,
        "fitted_horizon_days": model.horizon_days,
        "model_sha256": fingerprint(model.scenario, model.priors),
        "generations": [asdict(g) for g in fit.generations],
        "observed": rows,
        "run": _run_info(fit, run),
    }


def _observed_row(t: Target, pred: Predictive | None) -> dict[str, Any]:
    """An observed row as calibration.json lists it; after a posterior-predictive
    check, with its band and whether the observed value lies inside 90% of it."""
    row: dict[str, Any] = {"row": t.row, "series": t.series.name, "period": t.period.text,
                           "value": t.value, "sd": t.sd}
    if pred is not None:
        b = pred.band(t.label)
        row["predictive"] = b
        row["inside_90"] = bool(b["p5"] <= t.value <= b["p95"]) if math.isfinite(b["p5"]) else False
    return row


def _run_info(fit: Fit, run: dict[str, Any] | None) -> dict[str, Any]:
    """How this invocation went (timings, workers, versions): the part of
    calibration.json that differs between two runs of one seed."""
    return {
        **(run or {}),
        "runtime_s": round(fit.runtime_s, 3),
        "simulations_per_s": round(fit.evaluated / fit.runtime_s, 2) if fit.runtime_s > 0 else None,
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": _versions(),
    }


def calibrated_toml(model: ParticleModel, post: Posterior, summ: dict[str, Any], out_dir: str) -> str:
    """The scenario at the posterior medians, with a header saying so."""
    medians = post.medians()
    scn = apply_values(model.scenario, medians, f"{out_dir}/{CALIBRATED_FILE}").scenario
    data = scn.file_form()
    lines = [f"# {comment_text(scn.scenario.name)}: calibrated by resim calibrate from {comment_text(model.source)}",
             f"# against {comment_text(str(summ.get('observed_file')))}: each fitted key below is its posterior median",
             "# (90% credible interval; prior range). Run it as is, or with --posterior "
             f"{comment_text(out_dir)} to carry the parameters' uncertainty into the intervals."]
    for key, s in summ["parameters"].items():
        lo, hi = s["ci90"]
        lines.append(f"#   {comment_text(key)} = {medians[key]:.6g}  (90% CI {lo:.4g} to {hi:.4g}; prior {s['prior'][0]:g} "
                     f"to {s['prior'][1]:g}{', log' if s['prior_scale'] == 'log' else ''})")
    return "\n".join(lines) + "\n\n" + toml_dumps(data)


def write_outputs(out: Path, fit: Fit, model: ParticleModel, post: Posterior, pred: Predictive | None,
                  settings: dict[str, Any], run: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write posterior.parquet, calibration.json and scenario.calibrated.toml; return the summary."""
    summ = summary(fit, model, post, pred, settings, run)
    write_parquet(out / POSTERIOR_FILE, fit.posterior)
    write_text(out / SUMMARY_FILE, json.dumps(_clean(summ), indent=2, default=_json) + "\n")
    write_text(out / CALIBRATED_FILE, calibrated_toml(model, post, summ, str(out)))
    return summ


def _clean(v: Any) -> Any:
    """NaN and infinities as null (JSON has neither)."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def _json(v: Any) -> Any:
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    raise TypeError(f"cannot write {type(v).__name__} as JSON")


def parameter_lines(summ: dict[str, Any], keys: Sequence[str]) -> list[str]:
    """One line per parameter for the terminal."""
    lines = []
    for key in keys:
        s = summ["parameters"][key]
        lo, hi = s["ci90"]
        lines.append(f"  {key}: median {s['median']:.4g}, mean {s['mean']:.4g}, 90% credible interval "
                     f"{lo:.4g} to {hi:.4g} (prior {s['prior'][0]:g} to {s['prior'][1]:g})")
    return lines
