"""What every command shares: the parser class, flag types, the --out check.

Kept apart from ``resim/cli/__init__.py`` so the command modules can use it
without importing the package that imports them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


class UsageError(Exception):
    """A bad flag: exit 2 like a bad scenario."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is an exception (one line, exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 0 <= v < 2**63:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**63-1, got {v}")
    return v


def add_output_flags(p: argparse.ArgumentParser, default: str) -> None:
    """--out, --overwrite, --workers, --max-memory, --quiet (run and sweep)."""
    p.add_argument("--out", help=f"output directory (default: {default})")
    p.add_argument("--overwrite", action="store_true",
                   help="replace whatever --out holds (by default only a resim result of the same kind)")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="worker processes (default: cores; at most the units of work and 4 x cores)")
    p.add_argument("--max-memory", metavar="SIZE",
                   help="refuse work whose estimate exceeds SIZE, e.g. 8G (default: the available memory)")
    add_max_hours_flag(p)
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def add_max_hours_flag(p: argparse.ArgumentParser) -> None:
    """--max-hours (run, sweep, calibrate). The default is budget.DEFAULT_MAX_HOURS,
    written out so that building the parser imports nothing heavy."""
    p.add_argument("--max-hours", metavar="H",
                   help="refuse work estimated to take longer than H hours on its workers, before it starts "
                        "(default 24)")


def add_posterior_flag(p: argparse.ArgumentParser) -> None:
    """--posterior (run, sweep, compare)."""
    p.add_argument("--posterior", metavar="DIR",
                   help="a resim calibrate folder: each replication draws the fitted parameters from its "
                        "posterior, so intervals include parameter uncertainty")


def check_out(out: Path) -> None:
    """Refuse an output directory that cannot be made, before any work."""
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                raise UsageError(f"--out: {p} exists and is not a directory")
            if not os.access(p, os.W_OK | os.X_OK):
                raise UsageError(f"--out: cannot write in {p}")
            break


__all__ = ["Parser", "UsageError", "add_max_hours_flag", "add_output_flags", "check_out", "positive_int", "seed"]
