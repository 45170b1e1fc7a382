"""``resim report``: rebuild the report of a finished run or sweep.

The folder must be complete (its completion marker checks every result
file): an interrupted, half-written or mixed folder is refused in one line.
A run marked partial (interrupted) is reported, and the command says so.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def add_parser(sub: argparse._SubParsersAction) -> None:
    rep = sub.add_parser("report", help="rebuild report.html of a finished run, sweep or comparison")
    rep.add_argument("directory")
    rep.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ..experiment.runfolder import RunFolder, check_complete
    from ..output.report import report_command

    doc = check_complete(args.directory)
    if doc.get("status") == "partial":
        print(f"resim report: note: {args.directory} is a partial run (interrupted after "
              f"{doc.get('replications')} of {doc.get('asked')} replications)", file=sys.stderr)
    with RunFolder(args.directory, doc["kind"]):  # no writer may change it while we read
        if doc["kind"] == "compare":
            from ..output.compare_report import write_compare_report

            print(write_compare_report(args.directory))
            return 0
        return report_command(args.directory)
