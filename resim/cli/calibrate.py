"""``resim calibrate``: fit scenario parameters to observed series (ABC-SMC).

The command lives in ``resim.calibration.command`` (its flags and handler);
this module plugs it into the command line like the other commands.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..calibration.command import add_parser as calibration_parser

    calibration_parser(sub)


def command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ..calibration.command import run

    return run(args)
