"""``resim calibrate``: fit scenario parameters to observed series (ABC-SMC); its flags and handler.

    resim calibrate SCENARIO --observed FILE --fit KEY=LO:HI[:log] [--fit ...]
        [--budget N] [--population N] [--particle-replications K] [--predictive N]
        [--seed S] [--workers N | --dask ADDRESS] [--out DIR] [--resume] [--quiet]
        [--coverage K]
    resim calibrate --update DIR --observed NEWER [SCENARIO] [--out NEWDIR] ...  (calibrate_update.py)

Every input is checked before anything is simulated or written: the
scenario, each observed row against it (``series.py``), each ``--fit`` key
at both bounds (``priors.py``), the budget against the population, and
``--out`` (a fresh calibration refuses a directory that holds one; ``--resume``
refuses one that does not, or one made with other settings). Bad input is a
``ScenarioError``: the CLI prints its one line and exits 2.

The calibration is ``abc_smc.fit``; its files are ``outputs.py``'s and
``report.py``'s. ``history.db`` (pyabc's) stays in ``--out``: ``--resume``
continues from its last complete generation, and a larger ``--budget`` with
``--resume`` refines a finished calibration.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..calibration.directory import (
    HISTORY,
    check_coverage_out,
    check_out,
    check_resume,
    make_request,
)
from ..scenario.errors import ScenarioError
from .calibrate_update import Default, fill_defaults, update_command

DEFAULT_BUDGET = 2000
DEFAULT_POPULATION = 100
DEFAULT_PREDICTIVE = 50


def _whole(minimum: int) -> Any:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {v}")
        return v

    return parse


def _seed(text: str) -> int:
    v = _whole(0)(text)
    if v >= 2**63:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**63-1, got {v}")
    return v


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``calibrate`` to the CLI's subparsers; returns its parser."""
    p = subparsers.add_parser(
        "calibrate", help="fit scenario parameters to observed data (ABC-SMC posterior)",
        description="Fit scenario parameters to observed series by ABC-SMC. Writes posterior.parquet, "
                    "calibration.json, scenario.calibrated.toml and report.html in --out.")
    p.add_argument("scenario", nargs="?", help="scenario TOML file (with --update: default DIR's scenario.calibrated.toml)")
    p.add_argument("--observed", required=True, metavar="FILE",
                   help="CSV with columns series,period,value[,sd] (other columns ignored)")
    p.add_argument("--fit", action="append", default=[], metavar="KEY=LO:HI[:log]",
                   help="a parameter and its uniform (or :log log-uniform) prior; [*] ties a key across "
                        "a table's entries, e.g. automakers[*].target_days=30:120 (repeatable)")
    p.add_argument("--budget", type=_whole(1), default=Default(DEFAULT_BUDGET),
                   help=f"most simulations to spend, fit and predictive check together (default {DEFAULT_BUDGET}; "
                        "with --update, half what DIR's calibration from scratch spent)")
    p.add_argument("--population", type=_whole(2), default=Default(DEFAULT_POPULATION),
                   help=f"particles per generation (default {DEFAULT_POPULATION}; with --update, DIR's)")
    p.add_argument("--particle-replications", type=_whole(1), default=Default(1), metavar="K",
                   help="replications averaged per particle (default 1; with --update, DIR's)")
    p.add_argument("--predictive", type=_whole(0), default=DEFAULT_PREDICTIVE, metavar="N",
                   help=f"posterior-predictive draws for the report's fan charts (default {DEFAULT_PREDICTIVE})")
    p.add_argument("--seed", type=_seed, help="root seed (default: the scenario's; with --update, one derived from DIR's)")
    p.add_argument("--workers", type=_whole(1), default=None,
                   help="worker processes, or the size of a --dask local cluster (default: cores)")
    p.add_argument("--dask", metavar="ADDRESS", help='Dask scheduler address, or "local" for a LocalCluster')
    p.add_argument("--out", help="output directory (default: results/<scenario>-calibration)")
    p.add_argument("--resume", action="store_true", help="continue the calibration in --out")
    p.add_argument("--max-hours", metavar="H",
                   help="refuse a calibration estimated to take longer than H hours on its workers, before it "
                        "starts (default 24)")
    p.add_argument("--coverage", type=_whole(1), default=None, metavar="K",
                   help="simulation-based calibration: fit K synthetic data sets drawn from the prior (the "
                        "observed file gives only series and periods; --budget is per fit) and report how "
                        "often each 90%% credible interval holds its truth (coverage.json)")
    p.add_argument("--update", metavar="DIR",
                   help="continue the finished calibration in DIR with the rows --observed adds (DIR's rows plus new "
                        "months): the old posterior is the proposal, generations run on all rows; writes a new "
                        "folder (default DIR_update) and leaves DIR untouched")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return p


def command(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    """Run ``resim calibrate``; returns the exit code (bad input raises ``ScenarioError``).

    ``--out`` is locked first, before the scenario is read: a second
    calibration into it is refused at once, and a start refused for any
    reason (a bad input, a budget below one generation, a Dask address that
    does not answer) leaves nothing behind. The folder is written in place
    (pyabc's history is what ``--resume`` continues) and marked complete at
    the end."""
    from ..experiment.runfolder import RunFolder

    if getattr(args, "update", None):
        return update_command(args, run_calibration, _check_time, DEFAULT_POPULATION)
    fill_defaults(args, DEFAULT_BUDGET, DEFAULT_POPULATION, 1)
    if not args.scenario:
        raise ScenarioError("resim calibrate", "", "needs a SCENARIO file (or --update DIR to continue a calibration)")
    out = Path(args.out) if args.out else Path("results") / f"{Path(args.scenario).stem}-calibration"
    with RunFolder(out, "calibration") as folder:
        (check_coverage_out if args.coverage else check_out)(out, args.resume)
        inputs = _inputs(args, out)
        try:
            import pyabc  # noqa: F401 - only to say what is missing before any work
        except ImportError:
            print("resim calibrate needs pyabc: pip install 'resim[calibrate]'", file=sys.stderr)
            return 1
        return (_coverage if args.coverage else run_calibration)(args, folder, inputs)


def _inputs(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Every input checked: scenario, observed rows against it, --fit keys, the budget, --resume."""
    from ..api import load_scenario
    from ..calibration.observed import read_observed
    from ..calibration.priors import check_priors
    from ..calibration.series import compile_targets

    loaded = load_scenario(args.scenario)
    scn = loaded.scenario
    seed = args.seed if args.seed is not None else scn.scenario.seed
    targets = compile_targets(read_observed(args.observed), scn, args.observed,
                              [step.scenario for step in loaded.timeline])
    priors = check_priors(scn, args.fit)
    _check_budget(args)
    _check_time(args, loaded)
    request = make_request(loaded.scenario, targets, priors, seed, args.population, args.particle_replications)
    if args.coverage:
        request["coverage"] = {"budget_per_fit": args.budget}  # more fits may follow with --resume
    if args.resume:
        check_resume(out, request)
    return {"loaded": loaded, "targets": targets, "priors": priors, "seed": seed, "out": out, "request": request}


def _check_budget(args: argparse.Namespace) -> None:
    """A budget that cannot cover a prior sample, a first generation and the
    predictive draws is refused before anything runs."""
    reps = args.particle_replications
    predictive = 0 if args.coverage else args.predictive
    least = 3 * args.population * reps + predictive * reps
    if args.budget < least:
        raise ScenarioError("--budget", "", f"is too small: a prior sample and a first generation of "
                            f"--population {args.population} need about {3 * args.population * reps} "
                            f"simulations, plus {predictive * reps} for --predictive; give at least {least}",
                            args.budget)


def _check_time(args: argparse.Namespace, loaded: Any) -> None:
    """Refuse a budget estimated to take longer than ``--max-hours``; say
    the estimate of a long one before it starts."""
    from ..experiment.budget import time_budget
    from ..experiment.replications import default_workers

    fits = getattr(args, "coverage", None)  # ``--coverage K``: K fits of --budget each
    total = args.budget * (fits or 1)
    what = f"--coverage {fits} x --budget {args.budget}" if fits else f"--budget {args.budget}"
    line = time_budget(loaded, total, args.workers or default_workers(), args.max_hours,
                       what=f"{what} simulations")
    if line and not args.quiet:
        print(line, file=sys.stderr)


def run_calibration(args: argparse.Namespace, folder: Any, inputs: dict[str, Any]) -> int:
    """The fit in the locked folder, with true messages when it stops early."""
    from ..calibration.abc_smc import NoGeneration
    from ..calibration.workflow import calibrate, dask_connection
    from ..experiment.interrupts import Interrupted

    out = inputs["out"]
    with dask_connection(args.dask, args.workers) as conn:  # a bad address: refused, nothing written
        folder.unmark()
        try:
            summary = calibrate(args, dask=conn, **inputs)
        except Interrupted as stop:
            what = f"--update {args.update} --observed {args.observed}" if getattr(args, "update", None) else \
                f"{args.scenario} ..."
            print(f"resim: interrupted: {_kept(out)} kept in {out}/; continue with: resim calibrate "
                  f"{what} --resume --out {out}", file=sys.stderr)
            return stop.exit_code
        except NoGeneration as e:
            raise ScenarioError("--budget", "", f"ran out after {e.spent} simulations, before a first generation "
                                f"was complete (fewer candidates were accepted than expected); continue with "
                                f"--resume and --budget {e.spent * 2 + args.predictive * args.particle_replications}"
                                " or more", args.budget) from None
    folder.mark("complete", generations=len(summary["generations"]),
                effective_sample_size=summary["effective_sample_size"], simulations=summary["simulations"])
    return 0


def _coverage(args: argparse.Namespace, folder: Any, inputs: dict[str, Any]) -> int:
    """A coverage study in the locked folder: fits one by one, each kept as it ends."""
    from ..calibration.coverage import run_coverage
    from ..experiment.interrupts import Interrupted

    folder.unmark()
    try:
        doc = run_coverage(args, **inputs)
    except Interrupted as stop:
        print(f"resim: interrupted: the finished fits are kept in {inputs['out']}/coverage.parquet; continue "
              f"with: resim calibrate {args.scenario} ... --coverage {args.coverage} --resume --out {inputs['out']}",
              file=sys.stderr)
        return stop.exit_code
    folder.mark("complete", coverage={k: v["rate"] for k, v in doc["parameters"].items()})
    return 0


def _kept(out: Path) -> str:
    """How many generations the history in ``out`` holds, in words."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{out / HISTORY}?mode=ro", uri=True) as db:
            n = db.execute("select count(*) from populations where t >= 0").fetchone()[0]
    except sqlite3.Error:
        n = 0
    return "no generation is" if n == 0 else ("1 generation is" if n == 1 else f"{n} generations are")
