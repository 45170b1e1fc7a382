"""The command line (SPEC §3): run, sweep, compare, validate, report, schema.

Exit codes: 0 ok; 2 bad input (scenario or flags), with one line naming the
file, key and value; 1 an internal error or failed replications (``--debug``
shows tracebacks). Nothing is written until the input is known to be good.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from .errors import ScenarioError

COMMANDS = ("run", "sweep", "compare", "validate", "report", "schema")


class UsageError(Exception):
    """A bad flag: exit 2 like a bad scenario."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 0 <= v < 2**63:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**63-1, got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="resim", description="Simulate rare-earth supply disruptions under export licensing.")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", help="run a scenario's replications and write the result files")
    run.add_argument("scenario", help="scenario TOML file")
    run.add_argument("-n", "--replications", type=_positive_int, help="replications (default: the scenario's)")
    run.add_argument("--seed", type=_seed, help="root seed (default: the scenario's)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a scenario value, e.g. licensing.approval_rate=0.4 (repeatable)")
    run.add_argument("--out", help="output directory (default: results/<scenario name>)")
    run.add_argument("--workers", type=_positive_int, default=None, help="worker processes (default: cores)")
    run.add_argument("--json", action="store_true", help="print summary.json to stdout")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")
    run.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    sw = sub.add_parser("sweep", help="run a design of scenario variants x replications, streamed to disk")
    sw.add_argument("scenario", help="scenario TOML file")
    sw.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2|KEY=LO:HI:N",
                    help="a swept key (repeatable; full factorial); default: the scenario's [sweep] grid")
    sw.add_argument("--sampler", choices=("grid", "lhs", "sobol"), default="grid")
    sw.add_argument("--range", action="append", default=[], metavar="KEY=LO:HI", help="a key's range for lhs/sobol")
    sw.add_argument("--samples", type=_positive_int, help="design points for lhs/sobol")
    sw.add_argument("-n", "--replications", type=_positive_int, help="replications per point (default: [sweep])")
    sw.add_argument("--seed", type=_seed, help="root seed (default: the scenario's)")
    sw.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a base value")
    sw.add_argument("--workers", type=_positive_int, default=None, help="worker processes (default: cores)")
    sw.add_argument("--dask", metavar="ADDRESS", help='Dask scheduler address, or "local" for a LocalCluster')
    sw.add_argument("--resume", action="store_true", help="finish an interrupted sweep in --out")
    sw.add_argument("--out", help="output directory (default: results/<scenario>-sweep)")
    sw.add_argument("--quiet", action="store_true", help="print nothing but errors")
    sw.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    cmp_ = sub.add_parser("compare", help="paired comparison of two scenarios with common random numbers")
    cmp_.add_argument("a", help="scenario A")
    cmp_.add_argument("b", nargs="?", help="scenario B (default: A with --b-set changes)")
    cmp_.add_argument("-n", "--replications", type=_positive_int)
    cmp_.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override both")
    cmp_.add_argument("--a-set", action="append", default=[], metavar="KEY=VALUE", help="override A only")
    cmp_.add_argument("--b-set", action="append", default=[], metavar="KEY=VALUE", help="override B only")
    cmp_.add_argument("--workers", type=_positive_int, default=None)
    cmp_.add_argument("--json", action="store_true", help="print the comparison as JSON")
    cmp_.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    rep = sub.add_parser("report", help="rebuild report.html of a finished run or sweep")
    rep.add_argument("directory")
    rep.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("scenarios", nargs="+")
    val.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    val.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    sch = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    sch.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return p


def check_out(out: Path) -> None:
    """Refuse an output directory that cannot be made, before any work."""
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                raise UsageError(f"--out: {p} exists and is not a directory")
            if not os.access(p, os.W_OK | os.X_OK):
                raise UsageError(f"--out: cannot write in {p}")
            break


def _load(path: str, sets: Sequence[str], extra: Sequence[str] = ()):  # noqa: ANN202
    from .api import load_scenario

    return load_scenario(path, [*sets, *extra])


def cmd_run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .budget import check_run
    from .execution import default_workers, run_replications
    from .output.console import (
        ProgressBar,
        kpi_table,
        licensing_lines,
        licensing_table,
        make_console,
    )
    from .output.results import Results

    extra = []
    if args.replications is not None:
        extra.append(f"scenario.replications={args.replications}")
    if args.seed is not None:
        extra.append(f"scenario.seed={args.seed}")
    loaded = _load(args.scenario, args.set, extra)
    scn = loaded.scenario
    n = scn.scenario.replications
    check_run(scn, args.scenario, n)
    out = Path(args.out) if args.out else Path("results") / Path(args.scenario).stem
    check_out(out)
    workers = args.workers or default_workers()
    console = make_console(sys.stderr if args.json else sys.stdout)
    t0 = time.perf_counter()
    with ProgressBar(console, "replications", enabled=not args.quiet) as bar:
        bar.total(n)
        outputs = run_replications(loaded, range(n), workers=workers, progress=bar.advance)
    results = Results(loaded, outputs, time.perf_counter() - t0, workers)
    results.write(out, argv)
    summary = results.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    elif not args.quiet:
        console.print(kpi_table(summary) if summary["kpis"] else licensing_table(summary))
        for line in licensing_lines(summary):
            console.print(line)
        console.print(f"{n} replications in {results.runtime_s:.1f} s on {workers} worker(s); results in {out}/")
    if results.failures:
        first = results.failures[0]
        print(f"resim: {len(results.failures)} of {n} replications failed; first: replication {first[0]}: "
              f"{first[1]} (rows with error and seed in {out / 'replications.parquet'})", file=sys.stderr)
        return 1
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .design import parse_grid, parse_range
    from .execution import default_workers
    from .output.console import ProgressBar, make_console, sweep_table
    from .sweeps import sweep

    grid = dict(parse_grid(g) for g in args.grid) or None
    ranges = [parse_range(r) for r in args.range]
    if args.sampler != "grid" and args.grid:
        raise UsageError("resim sweep: --grid is for --sampler grid; use --range with lhs/sobol")
    sets = [*args.set, *([f"scenario.seed={args.seed}"] if args.seed is not None else [])]
    out = Path(args.out) if args.out else Path("results") / f"{Path(args.scenario).stem}-sweep"
    check_out(out)
    workers = args.workers or default_workers()
    console = make_console()
    with ProgressBar(console, "sweep units", enabled=not args.quiet) as bar:
        res = sweep(args.scenario, grid=grid, sampler=args.sampler, ranges=ranges, samples=args.samples,
                    replications=args.replications, overrides=sets, workers=workers, dask=args.dask, out=out,
                    resume=args.resume, progress=bar.advance, on_design=bar.total)
    if not args.quiet:
        console.print(sweep_table(res))
        console.print(f"{len(res.points)} points x {res.results['replication'].nunique()} replications "
                      f"in {res.runtime_s:.1f} s; results in {out}/")
    if res.failures:
        f = res.failures[0]
        print(f"resim: {len(res.failures)} sweep units failed; first: point {f['point']} replication "
              f"{f['replication']}: {f['error']} (seed {f['seed']}; rows in {out / 'results.parquet'})",
              file=sys.stderr)
        return 1
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .comparison import compare
    from .execution import default_workers
    from .output.console import compare_table, make_console

    if args.b is None and not args.b_set:
        raise UsageError("resim compare: give scenario B or --b-set KEY=VALUE changes for B")
    df = compare(args.a, args.b, args.replications, args.set, args.a_set, args.b_set,
                 workers=args.workers or default_workers())
    if args.json:
        print(df.to_json(orient="records", indent=2))
    else:
        make_console().print(compare_table(df, args.a, args.b or f"{args.a} with {' '.join(args.b_set)}"))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .output.report import report_command

    return report_command(args.directory)


def cmd_validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.scenarios:
        try:
            loaded = _load(path, args.set)
        except ScenarioError as e:
            print(e, file=sys.stderr)
            status = 2
            continue
        s = loaded.scenario
        print(f"{path}: ok ({len(s.automakers)} automakers, {len(s.magnet_makers)} magnet makers, "
              f"{len(s.licensing.stages)} review stages, {len(s.policy)} policy changes)")
    return status


def cmd_schema() -> int:
    from .scenario import scenario_class

    print(json.dumps(scenario_class().model_json_schema(by_alias=True), indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv = ["run", *argv]  # `python -m resim FILE` means `resim run FILE`
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 2
        if args.command == "run":
            return cmd_run(args, argv)
        if args.command == "sweep":
            return cmd_sweep(args)
        if args.command == "compare":
            return cmd_compare(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "validate":
            return cmd_validate(args)
        return cmd_schema()
    except ScenarioError as e:
        print(e, file=sys.stderr)
        return 2
    except UsageError as e:
        print(" ".join(str(e).split()), file=sys.stderr)  # one line, whatever the flag held
        return 2
    except KeyboardInterrupt:
        print("resim: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - no traceback reaches a user
        if debug:
            traceback.print_exc()
        print(f"resim: internal error: {type(e).__name__}: {e} (run with --debug for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
