"""``resim compare``: paired differences of two scenarios under common
random numbers; a failed pair is a row, not the end of the command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .options import UsageError, add_posterior_flag, positive_int


def add_parser(sub: argparse._SubParsersAction) -> None:
    cmp_ = sub.add_parser("compare", help="paired comparison of two scenarios with common random numbers")
    cmp_.add_argument("a", help="scenario A")
    cmp_.add_argument("b", nargs="?", help="scenario B (default: A with --b-set changes)")
    cmp_.add_argument("-n", "--replications", type=positive_int)
    cmp_.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override both")
    cmp_.add_argument("--a-set", action="append", default=[], metavar="KEY=VALUE", help="override A only")
    cmp_.add_argument("--b-set", action="append", default=[], metavar="KEY=VALUE", help="override B only")
    cmp_.add_argument("--workers", type=positive_int, default=None)
    cmp_.add_argument("--json", action="store_true", help="print the comparison as JSON")
    add_posterior_flag(cmp_)
    cmp_.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ..comparison import compare
    from ..execution import default_workers
    from ..output.console import compare_table, make_console

    if args.b is None and not args.b_set:
        raise UsageError("resim compare: give scenario B or --b-set KEY=VALUE changes for B")
    df = compare(args.a, args.b, args.replications, args.set, args.a_set, args.b_set,
                 workers=args.workers or default_workers(), posterior=args.posterior)
    failed = df[df["metric"] == "failed"] if len(df) else df
    if args.json:
        print(df.to_json(orient="records", indent=2))
    else:
        ok = df[df["metric"] != "failed"] if len(df) else df
        make_console().print(compare_table(ok, args.a, args.b or f"{args.a} with {' '.join(args.b_set)}"))
    if len(failed):
        first = failed.iloc[0]
        print(f"resim: {len(failed)} replication pair(s) failed and were left out; first: replication "
              f"{first['replication']}: {first['error']} (seed {first['seed']})", file=sys.stderr)
        return 1
    return 0
