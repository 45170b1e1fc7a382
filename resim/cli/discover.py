"""``resim discover DIR --where COND``: scenario discovery with PRIM over a
finished sweep - the box of swept values where COND holds, with its coverage
and density, in plain words; discovery.json, a figure, and the sweep report
rebuilt with them."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from .finished import finished_sweep


def _share(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, got {text!r}") from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("discover", help="PRIM: where in the swept ranges a condition on the KPIs holds")
    p.add_argument("directory", help="a finished resim sweep folder (lhs, qmc, sobol or morris designs suit best)")
    p.add_argument("--where", required=True, metavar="COND",
                   help='KPI OP NUMBER clauses joined by "and", on each point\'s mean, e.g. '
                        '"vehicles_lost > 100000 and fill_rate < 0.95" (first stockout days censored at the horizon)')
    p.add_argument("--automaker", default="all", help="whose KPIs (default: all automakers together)")
    p.add_argument("--min-coverage", type=_share, default=0.8, metavar="SHARE",
                   help="choose the densest box that keeps this share of the points where COND holds (default 0.8)")
    p.add_argument("--max-quasi-p", type=_share, default=0.05, metavar="P",
                   help="drop a restriction of the chosen box whose quasi-p-value is above P (default 0.05)")
    p.add_argument("--json", action="store_true", help="print discovery.json instead of words")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ..experiment.discovery import discover, parse_where, write_discovery
    from ..output.console import make_console
    from ..output.console_experiments import discovery_lines
    from ..output.report import rebuild_sweep_report

    where = parse_where(args.where)  # a bad condition: exit 2 before the folder is locked
    with finished_sweep(args.directory) as root:
        found = discover(root, where, args.automaker, args.min_coverage, args.max_quasi_p)
        write_discovery(root, found)
        rebuild_sweep_report(root)
    if args.json:
        print(json.dumps(found.to_json(), indent=2))
        return 0
    console = make_console()
    for line in discovery_lines(found):
        console.print(line)
    if found.left_out:
        console.print(f"({len(found.left_out)} point(s) left out: a failed replication or an undefined KPI)")
    return 0
