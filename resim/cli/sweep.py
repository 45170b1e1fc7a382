"""``resim sweep``: design points x replications, streamed to a resumable
folder. Ctrl-C or SIGTERM keeps the finished parts; ``--resume`` finishes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .options import UsageError, add_output_flags, add_posterior_flag, check_out, positive_int, seed


def add_parser(sub: argparse._SubParsersAction) -> None:
    sw = sub.add_parser("sweep", help="run a design of scenario variants x replications, streamed to disk")
    sw.add_argument("scenario", help="scenario TOML file")
    sw.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2|KEY=LO:HI:N",
                    help="a swept key (repeatable, once per key; full factorial); default: the scenario's [sweep] grid")
    sw.add_argument("--sampler", choices=("grid", "lhs", "sobol"), default="grid")
    sw.add_argument("--range", action="append", default=[], metavar="KEY=LO:HI", help="a key's range for lhs/sobol")
    sw.add_argument("--samples", type=positive_int, help="design points for lhs/sobol")
    sw.add_argument("-n", "--replications", type=positive_int, help="replications per point (default: [sweep])")
    sw.add_argument("--seed", type=seed, help="root seed (default: the scenario's)")
    sw.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a base value")
    sw.add_argument("--dask", metavar="ADDRESS",
                    help='Dask scheduler address (its workers run code resim sends them: trust it), or "local" '
                         "for a TLS-secured cluster on 127.0.0.1")
    sw.add_argument("--resume", action="store_true", help="finish an interrupted sweep in --out")
    add_posterior_flag(sw)
    add_output_flags(sw, "results/<scenario>-sweep")


def command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ..budget import parse_memory
    from ..design import parse_grids, parse_range
    from ..execution import default_workers
    from ..interrupts import Interrupted
    from ..output.console import ProgressBar, make_console, sweep_table
    from ..sweeps import sweep

    if args.sampler != "grid" and args.grid:
        raise UsageError("resim sweep: --grid is for --sampler grid; use --range with lhs/sobol")
    grid = parse_grids(args.grid) or None
    ranges = [parse_range(r) for r in args.range]
    max_memory = parse_memory(args.max_memory) if args.max_memory else None
    sets = [*args.set, *([f"scenario.seed={args.seed}"] if args.seed is not None else [])]
    out = Path(args.out) if args.out else Path("results") / f"{Path(args.scenario).stem}-sweep"
    check_out(out)
    workers = args.workers or default_workers()
    console = make_console()
    try:
        with ProgressBar(console, "sweep units", enabled=not args.quiet) as bar:
            res = sweep(args.scenario, grid=grid, sampler=args.sampler, ranges=ranges, samples=args.samples,
                        replications=args.replications, overrides=sets, workers=workers, dask=args.dask, out=out,
                        resume=args.resume, progress=bar.advance, on_design=bar.total, overwrite=args.overwrite,
                        max_memory=max_memory, announce=args.workers is not None and not args.quiet,
                        posterior=args.posterior)
    except Interrupted as stop:
        print(f"resim: interrupted: the finished units are kept in {out / 'parts'}/; "
              f"finish with: resim sweep ... --out {out} --resume", file=sys.stderr)
        return stop.exit_code
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
