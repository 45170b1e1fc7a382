"""``resim compare``: paired differences of two scenarios under common
random numbers; a failed pair is a row, not the end of the command. With
``--out`` the comparison is written (compare.parquet, compare.json and a
report.html) under the same folder discipline as a run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .options import UsageError, add_posterior_flag, check_out, positive_int, seed


def add_parser(sub: argparse._SubParsersAction) -> None:
    cmp_ = sub.add_parser("compare", help="paired comparison of two scenarios with common random numbers")
    cmp_.add_argument("a", help="scenario A")
    cmp_.add_argument("b", nargs="?", help="scenario B (default: A with --b-set changes)")
    cmp_.add_argument("-n", "--replications", type=positive_int, help="replication pairs (default: A's)")
    cmp_.add_argument("--seed", type=seed, help="root seed of both (default: A's)")
    cmp_.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override both")
    cmp_.add_argument("--a-set", action="append", default=[], metavar="KEY=VALUE", help="override A only")
    cmp_.add_argument("--b-set", action="append", default=[], metavar="KEY=VALUE", help="override B only")
    cmp_.add_argument("--workers", type=positive_int, default=None)
    cmp_.add_argument("--json", action="store_true", help="print the comparison as JSON")
    cmp_.add_argument("--out", help="also write compare.parquet, compare.json and report.html here")
    cmp_.add_argument("--overwrite", action="store_true", help="replace whatever --out holds")
    add_posterior_flag(cmp_)
    cmp_.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ..api import compare
    from ..experiment.replications import default_workers

    _check_args(args)
    df = compare(args.a, args.b, args.replications, args.set, args.a_set, args.b_set,
                 workers=args.workers or default_workers(), posterior=args.posterior, seed=args.seed)
    b_name = args.b or _named(args.a, args.b_set)
    if args.out:
        _write(args, argv, df, b_name)
    if args.json:
        print(df.to_json(orient="records", indent=2))
    else:
        _show(args, df, b_name)
    return _verdict(df[df["metric"] == "failed"] if len(df) else df)


def _check_args(args: argparse.Namespace) -> None:
    """Refuse, before anything runs, a comparison without a B and an --out that cannot hold one."""
    if args.b is None and not args.b_set:
        raise UsageError("resim compare: give scenario B or --b-set KEY=VALUE changes for B")
    if args.out:
        check_out(Path(args.out))


def _named(scenario: str, sets: Sequence[str]) -> str:
    """A side's name: its scenario, with the ``--set`` changes that make it."""
    return f"{scenario} with {' '.join(sets)}" if sets else scenario


def _write(args: argparse.Namespace, argv: Sequence[str], df: Any, b_name: str) -> None:
    """compare.parquet, compare.json and report.html in ``--out``, written whole."""
    from ..experiment.runfolder import RunFolder
    from ..output.compare_report import write_compare

    meta = {**df.attrs, "a": _named(args.a, args.a_set), "b": b_name, "command": list(argv)}
    with RunFolder(args.out, "compare", args.overwrite) as folder:
        folder.commit(lambda d: write_compare(d, df, meta), replications=meta["replications"])


def _show(args: argparse.Namespace, df: Any, b_name: str) -> None:
    from ..output.console import make_console
    from ..output.console_experiments import RUN_KPIS, compare_table

    ok = df[df["metric"] != "failed"] if len(df) else df
    console = make_console()
    console.print(compare_table(ok, args.a, b_name, RUN_KPIS))
    if args.out:
        console.print(f"{df.attrs.get('replications')} pairs (seed {df.attrs.get('seed')}); written to {args.out}/")


def _verdict(failed: Any) -> int:
    """1 (with the first failure's line) when pairs failed, else 0."""
    if not len(failed):
        return 0
    first = failed.iloc[0]
    print(f"resim: {len(failed)} replication pair(s) failed and were left out; first: replication "
          f"{first['replication']}: {first['error']} (seed {first['seed_entropy']})", file=sys.stderr)
    return 1
