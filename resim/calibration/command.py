"""``resim calibrate``: its flags (``add_parser``) and its handler (``run``).

    resim calibrate SCENARIO --observed FILE --fit KEY=LO:HI[:log] [--fit ...]
        [--budget N] [--population N] [--particle-replications K] [--predictive N]
        [--seed S] [--workers N | --dask ADDRESS] [--out DIR] [--resume] [--quiet]

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
from pathlib import Path
from typing import Any

from ..scenario.errors import ScenarioError
from .directory import check_out, check_resume, make_request

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
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--observed", required=True, metavar="FILE",
                   help="CSV with columns series,period,value[,sd] (other columns ignored)")
    p.add_argument("--fit", action="append", default=[], metavar="KEY=LO:HI[:log]",
                   help="a parameter and its uniform (or :log log-uniform) prior; [*] ties a key across "
                        "a table's entries, e.g. automakers[*].target_days=30:120 (repeatable)")
    p.add_argument("--budget", type=_whole(1), default=DEFAULT_BUDGET,
                   help=f"most simulations to spend, fit and predictive check together (default {DEFAULT_BUDGET})")
    p.add_argument("--population", type=_whole(2), default=DEFAULT_POPULATION,
                   help=f"particles per generation (default {DEFAULT_POPULATION})")
    p.add_argument("--particle-replications", type=_whole(1), default=1, metavar="K",
                   help="replications averaged per particle (default 1)")
    p.add_argument("--predictive", type=_whole(0), default=DEFAULT_PREDICTIVE, metavar="N",
                   help=f"posterior-predictive draws for the report's fan charts (default {DEFAULT_PREDICTIVE})")
    p.add_argument("--seed", type=_seed, help="root seed (default: the scenario's)")
    p.add_argument("--workers", type=_whole(1), default=None,
                   help="worker processes, or the size of a --dask local cluster (default: cores)")
    p.add_argument("--dask", metavar="ADDRESS", help='Dask scheduler address, or "local" for a LocalCluster')
    p.add_argument("--out", help="output directory (default: results/<scenario>-calibration)")
    p.add_argument("--resume", action="store_true", help="continue the calibration in --out")
    p.add_argument("--max-hours", metavar="H",
                   help="refuse a calibration estimated to take longer than H hours on its workers, before it "
                        "starts (default 24)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``resim calibrate``; returns the exit code (bad input raises ``ScenarioError``)."""
    from ..api import load_scenario
    from .observed import read_observed
    from .priors import check_priors
    from .series import compile_targets

    loaded = load_scenario(args.scenario)
    scn = loaded.scenario
    seed = args.seed if args.seed is not None else scn.scenario.seed
    targets = compile_targets(read_observed(args.observed), scn, args.observed,
                              [step.scenario for step in loaded.timeline])
    priors = check_priors(scn, args.fit)
    reps = args.particle_replications
    least = 3 * args.population * reps + args.predictive * reps
    if args.budget < least:
        raise ScenarioError("--budget", "", f"is too small: a prior sample and a first generation of "
                            f"--population {args.population} need about {3 * args.population * reps} "
                            f"simulations, plus {args.predictive * reps} for --predictive; give at least {least}",
                            args.budget)
    from ..experiment.budget import time_budget
    from ..experiment.replications import default_workers

    time_budget(loaded, args.budget, args.workers or default_workers(), args.max_hours,
                what=f"--budget {args.budget} simulations")
    out = Path(args.out) if args.out else Path("results") / f"{Path(args.scenario).stem}-calibration"
    check_out(out, args.resume)
    request = make_request(loaded.scenario, targets, priors, seed, args.population, reps)
    if args.resume:
        check_resume(out, request)
    try:
        import pyabc  # noqa: F401 - only to say what is missing before any work
    except ImportError:
        print("resim calibrate needs pyabc: pip install 'resim[calibrate]'", file=sys.stderr)
        return 1
    from .workflow import calibrate

    return calibrate(args, loaded, targets, priors, seed, out, request)


class _Parser(argparse.ArgumentParser):
    """A bad flag raises (one line, exit 2) instead of argparse's usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ScenarioError(self.prog, "", message)


def main(argv: list[str] | None = None) -> int:
    """``resim calibrate`` standalone, handling errors as the CLI does."""
    import traceback

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _Parser(prog="resim")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    add_parser(sub)
    try:
        args = parser.parse_args(["calibrate", *argv])
        return run(args)
    except ScenarioError as e:
        print(e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("resim: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - no traceback reaches a user
        if "--debug" in argv:
            traceback.print_exc()
        print(f"resim: internal error: {type(e).__name__}: {e} (run with --debug for the traceback)", file=sys.stderr)
        return 1
