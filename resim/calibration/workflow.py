"""A calibration from checked inputs to its files: fit, posterior-predictive
check, outputs and report, with progress on the terminal.

``resim.cli.calibrate`` checks everything a user can get wrong and calls
``calibrate``; nothing here raises ``ScenarioError``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..experiment.executors import DaskConnection
from ..experiment.replications import default_workers
from ..experiment.store import write_text
from ..scenario import Loaded
from .abc_smc import Fit, NoGeneration, fit
from .directory import REQUEST_FILE
from .outputs import parameter_lines, posterior_of, write_outputs
from .particle import ParticleModel
from .predictive import Predictive, predictive
from .priors import Prior
from .report import write_report
from .series import Target
from .update import BRIDGE_ALPHA, Update, update_block


@contextlib.contextmanager
def dask_connection(dask: str | None, workers: int | None) -> Iterator[DaskConnection | None]:
    """One Dask connection for the whole calibration (not one per batch),
    made before anything is written: an address that does not answer is bad
    input. ``local`` is a TLS-secured LocalCluster, as for sweeps."""
    if not dask:
        yield None
        return
    with DaskConnection(dask, workers or default_workers()) as conn:
        yield conn


def _settings(args: argparse.Namespace, loaded: Loaded, priors: list[Prior], seed: int) -> dict[str, Any]:
    """What the calibration was asked to do, as calibration.json records it."""
    return {
        "scenario": loaded.scenario.scenario.name,
        "source": loaded.source,
        "observed_file": str(args.observed),
        "fit": [p.spec() for p in priors],
        "seed": seed,
        "population": args.population,
        "replications_per_particle": args.particle_replications,
        "budget": args.budget,
    }


def _closing_lines(result: Fit, summary: dict[str, Any], priors: list[Prior], rows: int,
                   checked: bool) -> list[str]:
    """The terminal's account of the fit: why it stopped, the posterior per
    parameter and, after a posterior-predictive check, how many of the ``rows``
    observed rows fell inside their band."""
    lines = [f"stopped: {result.stopped}",
             f"posterior after {len(result.generations)} generations ({result.simulations} simulations kept, "
             f"{result.evaluated} run; effective sample size {summary['effective_sample_size']:.0f}):",
             *parameter_lines(summary, [p.key for p in priors])]
    if checked:
        inside = sum(1 for r in summary["observed"] if r.get("inside_90"))
        lines.append(f"{inside} of {rows} observed rows inside their 90% posterior-predictive band")
    if "update" in summary:
        u = summary["update"]
        lines.append(f"update: {u['simulations']} simulations, {u['share_of_from_scratch']:.0%} of the "
                     f"{u['from_scratch_simulations']} starting over spent")
    return lines


def _start_update(update: Update | None, model: ParticleModel, out: Path, seed: int, population: int, workers: int,
                  dask: DaskConnection | None, say: Callable[[str], None]) -> int:
    """The bridge of an update (unless ``out`` holds it); returns its simulations (0: no update)."""
    from .bridge import start

    if update is None:
        return 0

    prev, change = update.previous, update.change
    say(f"update of {prev.directory}: {change.kept} rows kept ({change.revised} revised), {change.new} new; "
        f"starting over spent {prev.from_scratch} simulations")
    spent = start(model, out, prev.posterior, seed=seed, population=population, workers=workers, dask=dask)
    if spent:
        say(f"generation 0: the {len(prev.posterior.weights)} particles of {prev.directory} re-simulated on all "
            f"{len(model.targets)} rows ({spent} simulations), their weights kept: the proposal of generation 1")
    return spent


def _fit(args: argparse.Namespace, model: ParticleModel, out: Path, seed: int, workers: int,
         dask: DaskConnection | None, say: Callable[[str], None], update: Update | None) -> tuple[Fit, int]:
    """The fit (an update's bridge first); returns it and the bridge's simulations.
    An update whose budget ended before a generation past the bridge has no
    posterior of all rows (the bridge keeps the old weights): ``NoGeneration``."""
    bridge = _start_update(update, model, out, seed, args.population, workers, dask, say)
    reps = model.replications
    result = fit(model, out, seed=seed, population=args.population, budget=args.budget - args.predictive * reps,
                 workers=workers, dask=dask, resume=args.resume or update is not None, progress=say,
                 bridge_alpha=BRIDGE_ALPHA if update is not None else None)
    if update is not None and len(result.generations) < 2:
        raise NoGeneration(bridge + result.evaluated)
    return result, bridge


def _update_cost(update: Update | None, result: Fit, bridge: int, pred: Predictive | None,
                 reps: int) -> dict[str, Any]:
    """calibration.json's ``update`` block ({} for a calibration from
    scratch): everything this update ran (the bridge, the candidates, those
    past a generation's last particle, the predictive check) against what
    starting over spent."""
    if update is None:
        return {}
    spent = max(result.simulations, bridge + result.evaluated) + (pred.draws * reps if pred else 0)
    return {"update": update_block(update.previous, update.change, spent, bridge)}


def calibrate(args: argparse.Namespace, loaded: Loaded, targets: list[Target], priors: list[Prior],
              seed: int, out: Path, request: dict[str, Any], dask: DaskConnection | None = None,
              update: Update | None = None) -> dict[str, Any]:
    """Fit, check and write (an update: its bridge first); returns calibration.json's content."""
    say = (lambda _: None) if args.quiet else (lambda text: print(text, flush=True))
    workers = args.workers or default_workers()
    reps = args.particle_replications
    model = ParticleModel(loaded.scenario, loaded.source, tuple(priors), tuple(targets), reps)
    out.mkdir(parents=True, exist_ok=True)
    if not args.resume:
        write_text(out / REQUEST_FILE, json.dumps(request, indent=2) + "\n")
    say(f"calibrating {', '.join(p.key for p in priors)} of {loaded.source} against {len(targets)} observed rows "
        f"({args.observed}); {args.population} particles, budget {args.budget} simulations, "
        f"fitted horizon {model.horizon_days:g} days")
    result, bridge = _fit(args, model, out, seed, workers, dask, say, update)
    post = posterior_of(result, model, str(out))
    pred = None
    if args.predictive:
        say(f"posterior-predictive check: {args.predictive} draws over the whole horizon")
        pred = predictive(model, post, args.predictive, seed, workers, dask)
    settings = {**_settings(args, loaded, priors, seed), **_update_cost(update, result, bridge, pred, reps)}
    summary = write_outputs(out, result, model, post, pred, settings, run={"workers": workers, "dask": args.dask})
    write_report(out, summary, model, post, pred)
    for line in _closing_lines(result, summary, priors, len(targets), pred is not None):
        say(line)
    say(f"results in {out}/ (posterior.parquet, calibration.json, scenario.calibrated.toml, report.html)")
    sys.stdout.flush()
    return summary
