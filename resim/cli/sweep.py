"""``resim sweep``: design points x replications, streamed to a resumable
folder. Ctrl-C or SIGTERM keeps the finished parts; ``--resume`` finishes.
A ``sobol`` or ``morris`` design ends with its sensitivity indices."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .options import UsageError, add_output_flags, add_posterior_flag, check_out, positive_int, seed
from .targets import add_target_flags, target_from

SAMPLERS = ("grid", "lhs", "qmc", "sobol", "morris")


def add_parser(sub: argparse._SubParsersAction) -> None:
    sw = sub.add_parser("sweep", help="run a design of scenario variants x replications, streamed to disk")
    sw.add_argument("scenario", help="scenario TOML file")
    sw.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2|KEY=LO:HI:N",
                    help="a swept key (repeatable, once per key; full factorial); default: the scenario's [sweep] grid")
    sw.add_argument("--sampler", choices=SAMPLERS, default="grid",
                    help="grid: full factorial; lhs: Latin hypercube; qmc: scrambled Sobol points; sobol: a "
                         "Saltelli design, ending with Sobol indices; morris: Morris trajectories, ending with "
                         "mu* and sigma (sobol and morris need the [sensitivity] extra)")
    sw.add_argument("--range", action="append", default=[], metavar="KEY=LO:HI",
                    help="a key's range for lhs, qmc, sobol and morris (repeatable)")
    sw.add_argument("--samples", type=positive_int, metavar="N",
                    help="lhs, qmc: N design points; sobol: the base sample, N x (D + 2) points for D "
                         "--range keys (a power of two balances best); morris: N trajectories, N x (D + 1) points")
    sw.add_argument("-n", "--replications", type=positive_int,
                    help="replications per point (default: [sweep]); with --target-ci, the most per point")
    sw.add_argument("--seed", type=seed, help="root seed (default: the scenario's)")
    sw.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a base value")
    sw.add_argument("--dask", metavar="ADDRESS",
                    help='Dask scheduler address (its workers run code resim sends them: trust it), or "local" '
                         "for a TLS-secured cluster on 127.0.0.1")
    sw.add_argument("--resume", action="store_true", help="finish an interrupted sweep in --out")
    add_posterior_flag(sw)
    add_target_flags(sw, "each point")
    add_output_flags(sw, "results/<scenario>-sweep")


def _design_line(args: argparse.Namespace, ranges: list) -> tuple[str, int] | None:
    """What a sampler over ranges will run, said before it runs, and its points."""
    from ..experiment.design import points_per_sample

    if args.sampler == "grid" or not args.samples:
        return None
    d = len(ranges)
    points = args.samples * points_per_sample(args.sampler, d)
    what = {"sobol": f"Saltelli design: base sample {args.samples} x ({d} keys + 2)",
            "morris": f"Morris design: {args.samples} trajectories x ({d} keys + 1)"}.get(
        args.sampler, f"{args.sampler} design")
    line = f"{what} = {points} points, {{units}} units with the replications"
    if args.sampler == "sobol" and args.samples & (args.samples - 1):
        line += f"; a power of two such as {1 << args.samples.bit_length()} balances the Sobol sequence best"
    return line, points


def command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ..experiment.interrupts import Interrupted
    from ..output.console import make_console

    if args.sampler != "grid" and args.grid:
        raise UsageError(f"resim sweep: --grid is for --sampler grid; use --range with {args.sampler}")
    out = Path(args.out) if args.out else Path("results") / f"{Path(args.scenario).stem}-sweep"
    check_out(out)
    console = make_console()
    try:
        res = _run(args, out, console)
    except Interrupted as stop:
        print(f"resim: interrupted: the finished units are kept in {out / 'parts'}/; "
              f"finish with: resim sweep ... --out {out} --resume", file=sys.stderr)
        return stop.exit_code
    if not args.quiet:
        _show(console, res, out)
    return _verdict(args, res, out)


def _run(args: argparse.Namespace, out: Path, console: Any) -> Any:
    """The sweep, with a progress bar whose total is said once the design is checked."""
    from ..api import sweep
    from ..experiment.design import parse_grids, parse_range
    from ..output.console import ProgressBar

    grid = parse_grids(args.grid) or None
    ranges = [parse_range(r) for r in args.range]
    target = target_from(args)
    sets = [*args.set, *([f"scenario.seed={args.seed}"] if args.seed is not None else [])]
    said = _design_line(args, ranges)
    label = f"sweep units ({said[1]} points)" if said else "sweep units"
    with ProgressBar(console, label, enabled=not args.quiet) as bar:
        return sweep(args.scenario, grid=grid, sampler=args.sampler, ranges=ranges, samples=args.samples,
                     replications=args.replications, overrides=sets, posterior=args.posterior, out=out,
                     progress=bar.advance, on_design=_on_design(args, said, target is None, bar),
                     on_total=bar.total, target=target, **_run_options(args))


def _on_design(args: argparse.Namespace, said: Any, counted: bool, bar: Any) -> Callable[[int, int], None]:
    """Called once the design is checked: say what will run, and give the bar
    its total (with a target, ``counted`` False, the rounds say what is known)."""
    def on_design(total: int, done: int) -> None:
        if said and not args.quiet:
            print(f"resim: {said[0].format(units=f'{total:,}')}", file=sys.stderr)
        if counted:
            bar.total(total, done)
    return on_design


def _run_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of ``run_sweep`` taken from the flags as they are."""
    from ..experiment.budget import parse_memory
    from ..experiment.replications import default_workers

    return {"workers": args.workers or default_workers(), "dask": args.dask, "resume": args.resume,
            "overwrite": args.overwrite, "max_hours": args.max_hours,
            "max_memory": parse_memory(args.max_memory) if args.max_memory else None,
            "announce": args.workers is not None and not args.quiet,
            "on_estimate": None if args.quiet else lambda line: print(line, file=sys.stderr)}


def _show(console: Any, res: Any, out: Path) -> None:
    """The sweep's table, its sensitivity indices and its last line."""
    from ..output.console_experiments import sensitivity_table, sweep_table

    console.print(sweep_table(res, max_rows=40 if res.sampler == "grid" else 12))
    if res.sensitivity is not None:
        console.print(sensitivity_table(res.sensitivity, "vehicles_lost"))
        same = [who for kpi, who in res.constant if kpi == "vehicles_lost"]
        if same:
            console.print(f"vehicles lost is the same at every point for {', '.join(same)}: no indices")
    console.print(f"{len(res.points)} points x {_per_point(res)} replications in {res.runtime_s:.1f} s; "
                  f"results in {out}/")


def _per_point(res: Any) -> str:
    """Replications per point: one number, or their range and mean (a sequential target varies them)."""
    reps = res.results.drop_duplicates(["point", "replication"]).groupby("point").size()
    return f"{reps.iloc[0]}" if reps.nunique() == 1 else f"{reps.min()}-{reps.max()} (mean {reps.mean():.1f})"


def _verdict(args: argparse.Namespace, res: Any, out: Path) -> int:
    """Warnings on stderr and the exit code (1: failed units)."""
    for note in res.notes:
        print(f"resim: warning: sensitivity: {note}", file=sys.stderr)
    capped = [d["point"] for d in res.sequential if d["status"] == "capped"]
    if capped:
        print(f"resim: warning: --target-ci {args.target_ci:g} not met within -n at {len(capped)} of "
              f"{len(res.points)} points (first: point {capped[0]}); sweep.json lists each point's precision",
              file=sys.stderr)
    if not res.failures:
        return 0
    f = res.failures[0]
    print(f"resim: {len(res.failures)} sweep units failed; first: point {f['point']} replication "
          f"{f['replication']}: {f['error']} (seed {f['seed_entropy']}; rows in {out / 'results.parquet'})",
          file=sys.stderr)
    return 1
