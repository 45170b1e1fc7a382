"""``resim run``: a scenario's replications, written to one run folder.

The folder is locked for the whole command and the files are staged and
swapped in whole (``resim.experiment.runfolder``). Ctrl-C or SIGTERM stops the workers
within seconds; the replications that finished are written, marked partial,
and the command exits 130 or 143.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .options import add_output_flags, add_posterior_flag, check_out, positive_int, seed
from .targets import add_target_flags, target_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run a scenario's replications and write the result files")
    run.add_argument("scenario", help="scenario TOML file")
    run.add_argument("-n", "--replications", type=positive_int,
                     help="replications (default: the scenario's); with --target-ci, the most to run")
    run.add_argument("--seed", type=seed, help="root seed (default: the scenario's)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a scenario value, e.g. licensing.approval_rate=0.4 (repeatable)")
    run.add_argument("--json", action="store_true", help="print summary.json to stdout")
    run.add_argument("--observed", metavar="CSV",
                     help="observed rows (the calibration's CSV format) to set beside the model: writes "
                          "observed_vs_model.parquet (5-95%% band, inside, percentile per row), "
                          "observed_fans.parquet and a figure of the observations on the model's monthly fans")
    add_posterior_flag(run)
    add_target_flags(run, "")
    add_output_flags(run, "results/<scenario name>")


def observed_extra(loaded: Any, path: str | None) -> tuple[Any, Any]:
    """With ``--observed``: the rows checked now (bad rows: exit 2, nothing
    run), the tables to add to the run folder, and its one-line verdict."""
    if path is None:
        return None, None
    from ..api import observed_extra as tables
    from ..calibration.observed_vs_model import inside_line

    extra = tables(loaded, path)
    return extra, lambda results: inside_line(results.extra_tables["observed_vs_model"], extra.left_out)


def sets_of(argv: Sequence[str]) -> list[str]:
    """The ``--set`` values of a command line, in order."""
    argv = list(argv)
    found = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--set"]
    return found + [a.split("=", 1)[1] for a in argv if a.startswith("--set=")]


def replacing_line(out: Path, sets: Sequence[str]) -> str | None:
    """One line when this run will replace a run in ``out`` made with other
    ``--set`` values: each variant of a scenario writes ``results/<stem>/``
    unless told otherwise, so the last result would vanish unannounced."""
    try:
        before = sets_of(json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("command", []))
    except (OSError, ValueError, AttributeError):
        return None  # no run there (or not one of ours): nothing replaced by this rule
    if sorted(before) == sorted(sets):
        return None
    made = " ".join(f"--set {s}" for s in before) or "no --set"
    return f"resim: replacing the run in {out}/ made with {made}; give --out to keep both"


def command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ..api import run, run_size
    from ..experiment.runfolder import RunFolder
    from ..output.console import ProgressBar, make_console

    plan = _plan(args)
    out = Path(args.out) if args.out else Path("results") / Path(args.scenario).stem
    check_out(out)
    extra, said = observed_extra(plan.loaded, args.observed)
    if not args.quiet:
        _preamble(args, plan, out)
    n = plan.loaded.scenario.scenario.replications
    console = make_console(sys.stderr if args.json else sys.stdout)
    with RunFolder(out, "run", args.overwrite) as folder:
        with ProgressBar(console, "replications", enabled=not args.quiet) as bar:
            bar.total(run_size(plan.loaded))
            results, stop, decision = run(plan.loaded, plan.workers, bar.advance, folder, argv, plan.target,
                                          extra)
    if said and not args.quiet and not args.json:
        print(said(results), file=sys.stderr)
    _show(args, console, results, decision, plan, out)
    return _verdict(args, results, stop, decision, n, out)


def _plan(args: argparse.Namespace) -> Any:
    """The checked run (``api.plan_run``): nothing is written before this succeeds."""
    from ..api import plan_run
    from ..experiment.budget import parse_memory

    return plan_run(args.scenario, args.set, replications=args.replications, seed=args.seed,
                    posterior=args.posterior, target=target_from(args), workers=args.workers,
                    max_memory=parse_memory(args.max_memory) if args.max_memory else None,
                    max_hours=args.max_hours, announce=args.workers is not None and not args.quiet)


def _preamble(args: argparse.Namespace, plan: Any, out: Path) -> None:
    """What the user should know before the run starts, on stderr: a run it
    replaces, its time estimate and warnings of a saturated licence office."""
    from ..api import posterior_warnings
    from ..experiment.budget import saturation_warnings

    replacing = replacing_line(out, args.set)
    lines = [replacing] if replacing else []
    if plan.estimate:
        lines.append(plan.estimate)
    for line in [*lines, *posterior_warnings(plan.loaded), *saturation_warnings(plan.loaded)]:
        print(line, file=sys.stderr)


def _show(args: argparse.Namespace, console: Any, results: Any, decision: Any, plan: Any, out: Path) -> None:
    """The KPI table (or summary.json with ``--json``) and the run's last lines."""
    from ..output.console import kpi_table, licensing_lines, licensing_table
    from ..output.console_markets import market_renderables

    summary = results.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    if args.quiet:
        return
    console.print(kpi_table(summary) if summary["kpis"] else licensing_table(summary))
    for part in market_renderables(summary):
        console.print(part)
    for line in licensing_lines(summary):
        console.print(line)
    if decision is not None:
        console.print(f"sequential: {decision.line(plan.target)}")
    forks = ""
    if results.branches:
        from ..output.branches import branch_lines

        for line in branch_lines({k: r.summary() for k, r in results.branches.items()},
                                 results.scenario.scenario.default_branch):
            console.print(line)
        forks = f" x {len(results.branches)} branches (each in {out}/branches/<name>/)"
    console.print(f"{len(results.outputs)} replications{forks} in {results.runtime_s:.1f} s on {plan.workers} "
                  f"worker(s); results in {out}/")


def _verdict(args: argparse.Namespace, results: Any, stop: Any, decision: Any, n: int, out: Path) -> int:
    """Warnings on stderr and the exit code: 130/143 interrupted, 1 failed replications."""
    if decision is not None and decision.status == "capped":
        print(f"resim: warning: --target-ci {args.target_ci:g} not met within -n {n} replications; "
              "the intervals are wider than asked", file=sys.stderr)
    if stop is not None:
        print(f"resim: interrupted: {len(results.outputs)} of {n} replications finished; written to {out}/, "
              "marked partial", file=sys.stderr)
        return stop.exit_code
    if results.failures:
        first = results.failures[0]
        print(f"resim: {len(results.failures)} of {n} replications failed; first: replication {first[0]}: "
              f"{first[1]} (rows with error and seed in {out / 'replications.parquet'})", file=sys.stderr)
        return 1
    return 0
