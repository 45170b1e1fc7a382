"""``resim calibrate --update DIR --observed newer.csv [SCENARIO] [--out NEWDIR]``.

A month's new rows continue a finished calibration instead of starting over
(method: ``resim.calibration.update``). Everything is checked before anything
is simulated or written: DIR must be a finished calibration, ``newer.csv``
must keep every row DIR was fitted on and add or revise at least one, and
``--out`` (default ``DIR_update``) must not exist, unless ``--resume``
continues an interrupted update of the same DIR with the same rows. The new
folder is a complete calibration (posterior, calibration.json with an
``update`` block, calibrated scenario, report, history), so next month's
update can start from it. DIR is only read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..calibration.directory import REQUEST_FILE, check_resume, make_request
from ..scenario.errors import ScenarioError

#: ``run_calibration(args, folder, inputs)`` and ``check_time(args, loaded)`` of ``calibrate.py``,
#: passed in (this module is imported by it).
Step = Callable[..., Any]


class Default(int):
    """A flag's default, told apart from the same number given: ``--update``
    takes DIR's population and replications instead, and its own budget."""


def fill_defaults(args: argparse.Namespace, budget: int, population: int, replications: int) -> None:
    """The defaults of the flags left out (an update takes DIR's), as plain numbers."""
    for name, value in (("budget", budget), ("population", population), ("particle_replications", replications)):
        given = getattr(args, name, None)
        setattr(args, name, int(value) if given is None or isinstance(given, Default) else given)


def default_out(update: str) -> Path:
    """``DIR_update`` beside DIR."""
    d = Path(update)
    if d.name in ("", ".", ".."):
        d = Path(os.path.abspath(update))
    return d.with_name(d.name + "_update")


def update_command(args: argparse.Namespace, run: Step, check_time: Step, default_population: int) -> int:
    """Run an update with ``calibrate.py``'s ``run`` and ``check_time``; returns
    the exit code (bad input raises ``ScenarioError``)."""
    from ..calibration.update import read_previous
    from ..experiment.runfolder import RunFolder

    try:
        import pyabc  # noqa: F401 - only to say what is missing before any work
    except ImportError:
        print("resim calibrate needs pyabc: pip install 'resim[calibrate]'", file=sys.stderr)
        return 1
    _refuse_flags(args)
    previous = read_previous(args.update)
    out = Path(args.out) if args.out else default_out(args.update)
    _check_place(out, previous.directory)
    with RunFolder(out, "calibration") as folder:
        check_update_out(out, args.resume)
        inputs = _inputs(args, out, previous, default_population)
        check_time(args, inputs["loaded"])
        return run(args, folder, inputs)


def _refuse_flags(args: argparse.Namespace) -> None:
    """Flags an update takes from DIR or cannot combine with."""
    if args.fit:
        raise ScenarioError("--fit", "", "an update fits DIR's parameters with DIR's priors; drop --fit",
                            args.fit[0])
    if getattr(args, "coverage", None):
        raise ScenarioError("--coverage", "", "cannot be combined with --update", args.coverage)


def _check_place(out: Path, directory: Path) -> None:
    """The new folder is neither DIR nor inside it: DIR stays as it was."""
    o, d = Path(os.path.abspath(out)), Path(os.path.abspath(directory))
    if o == d or d in o.parents:
        raise ScenarioError("--out", "", f"is {directory} or inside it; an update writes a new folder beside it",
                            str(out))


def check_update_out(out: Path, resume: bool) -> None:
    """A new update needs a folder that does not exist yet; ``--resume`` one
    that holds an update (interrupted, or finished and given more budget)."""
    if not resume and out.exists():
        raise ScenarioError("--out", "", "exists already: an update writes a new folder; choose another --out "
                            "(or add --resume to continue an interrupted update)", str(out))
    if resume:
        try:
            request = json.loads((out / REQUEST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            request = {}
        if "update" not in request:
            raise ScenarioError("--resume", "", "no update to continue in --out", str(out))


def _inputs(args: argparse.Namespace, out: Path, previous: Any, default_population: int) -> dict[str, Any]:
    """The scenario, the rows (checked against DIR's), DIR's priors, the seed and the budget."""
    from ..api import load_scenario
    from ..calibration.observed import read_observed
    from ..calibration.priors import check_priors
    from ..calibration.series import compile_targets
    from ..calibration.update import (
        Update,
        check_rows,
        default_budget,
        scenario_file,
        update_request,
        update_seed,
    )

    loaded = load_scenario(str(args.scenario or scenario_file(previous)))
    scn = loaded.scenario
    targets = compile_targets(read_observed(args.observed), scn, args.observed,
                              [step.scenario for step in loaded.timeline])
    change = check_rows(previous, targets, args.observed)
    priors = check_priors(scn, [p.spec() for p in previous.posterior.priors])
    seed = args.seed if args.seed is not None else update_seed(int(previous.setting("seed", scn.scenario.seed)))
    fill_defaults(args, default_budget(previous), int(previous.setting("population", default_population)),
                  int(previous.setting("replications_per_particle", 1)))
    _check_update_budget(args, len(previous.posterior.weights))
    request = make_request(scn, targets, priors, seed, args.population, args.particle_replications)
    request["update"] = update_request(previous)
    if args.resume:
        _check_resume(out, request)
    return {"loaded": loaded, "targets": targets, "priors": priors, "seed": seed, "out": out, "request": request,
            "update": Update(previous, change)}


def _check_update_budget(args: argparse.Namespace, particles: int) -> None:
    """The bridge and a first generation (at a quarter of the bridge's
    distances: about four candidates a particle) and the predictive draws."""
    reps = args.particle_replications
    least = (particles + 4 * args.population + args.predictive) * reps
    if args.budget < least:
        raise ScenarioError("--budget", "", f"is too small for an update: the bridge ({particles * reps} simulations) "
                            f"and a first generation of --population {args.population} need about "
                            f"{(particles + 4 * args.population) * reps}, plus {args.predictive * reps} for "
                            f"--predictive; give at least {least}", args.budget)


def _check_resume(out: Path, request: dict[str, Any]) -> None:
    """The same settings as the interrupted update, and the same DIR posterior."""
    check_resume(out, request)
    before = json.loads((out / REQUEST_FILE).read_text(encoding="utf-8"))
    if before.get("update") != request["update"]:
        raise ScenarioError("--resume", "", "the update in --out continued another calibration "
                            f"(was {before.get('update', {}).get('directory')!r})", str(out))
