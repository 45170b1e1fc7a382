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
    add_posterior_flag(run)
    add_target_flags(run, "")
    add_output_flags(run, "results/<scenario name>")


def command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ..api import load_scenario, run, with_posterior
    from ..experiment.budget import (
        check_memory,
        check_run,
        parse_memory,
        saturation_warnings,
        time_budget,
    )
    from ..experiment.replications import cap_workers, default_workers
    from ..experiment.runfolder import RunFolder
    from ..output.console import (
        ProgressBar,
        kpi_table,
        licensing_lines,
        licensing_table,
        make_console,
    )

    target = target_from(args)
    extra = []
    if args.replications is not None:
        extra.append(f"scenario.replications={args.replications}")
    if args.seed is not None:
        extra.append(f"scenario.seed={args.seed}")
    loaded = with_posterior(load_scenario(args.scenario, [*args.set, *extra]), args.posterior)
    n = loaded.scenario.scenario.replications
    check_run(loaded.scenario, args.scenario, n)
    if target is not None:
        from ..experiment.sequential import check_target

        check_target(target, loaded)
    out = Path(args.out) if args.out else Path("results") / Path(args.scenario).stem
    check_out(out)
    asked = args.workers or default_workers()
    workers = cap_workers(asked, n, announce=False)
    check_memory(loaded, workers, parse_memory(args.max_memory) if args.max_memory else None)
    said = time_budget(loaded, n, workers, args.max_hours)
    if not args.quiet:
        cap_workers(asked, n, announce=args.workers is not None)
        if said:
            print(said, file=sys.stderr)
        for line in saturation_warnings(loaded):
            print(line, file=sys.stderr)
    console = make_console(sys.stderr if args.json else sys.stdout)
    with RunFolder(out, "run", args.overwrite) as folder:
        with ProgressBar(console, "replications", enabled=not args.quiet) as bar:
            bar.total(n)
            results, stop, decision = run(loaded, workers, bar.advance, folder, argv, target)
    summary = results.summary()
    done = len(results.outputs)
    if args.json:
        print(json.dumps(summary, indent=2))
    elif not args.quiet:
        console.print(kpi_table(summary) if summary["kpis"] else licensing_table(summary))
        for line in licensing_lines(summary):
            console.print(line)
        if decision is not None:
            console.print(f"sequential: {decision.line(target)}")
        console.print(f"{done} replications in {results.runtime_s:.1f} s on {workers} worker(s); results in {out}/")
    if decision is not None and decision.status == "capped":
        print(f"resim: warning: --target-ci {args.target_ci:g} not met within -n {n} replications; "
              "the intervals are wider than asked", file=sys.stderr)
    if stop is not None:
        print(f"resim: interrupted: {done} of {n} replications finished; written to {out}/, marked partial",
              file=sys.stderr)
        return stop.exit_code
    if results.failures:
        first = results.failures[0]
        print(f"resim: {len(results.failures)} of {n} replications failed; first: replication {first[0]}: "
              f"{first[1]} (rows with error and seed in {out / 'replications.parquet'})", file=sys.stderr)
        return 1
    return 0
