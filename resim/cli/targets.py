"""``--target-ci``, ``--target-kpi``, ``--target-abs``: sequential replications
for ``run`` and for each point of a ``sweep`` (``resim.experiment.sequential``)."""

from __future__ import annotations

import argparse
from typing import Any


def _share(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, e.g. 0.05, got {text!r}") from None


def add_target_flags(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--target-ci", type=_share, metavar="REL",
                   help=f"replicate{' ' + what if what else ''} in batches until the 95%% CI half-width of the --target-kpi is "
                        "within REL of the mean (e.g. 0.05), with Hoad et al.'s look-ahead; -n is then the "
                        "most to run")
    p.add_argument("--target-kpi", action="append", default=[], metavar="KPI[@AUTOMAKER]",
                   help="a KPI the target applies to (repeatable; default vehicles_lost of all)")
    p.add_argument("--target-abs", type=_share, metavar="A",
                   help="also met when the half-width is within A (for KPIs whose mean is near zero)")


def target_from(args: argparse.Namespace) -> Any:
    """The parsed target, or None without --target-ci (the KPI flags alone are refused)."""
    from .options import UsageError

    if args.target_ci is None:
        if args.target_kpi or args.target_abs is not None:
            raise UsageError("--target-kpi and --target-abs need --target-ci REL")
        return None
    from ..experiment.sequential import parse_target

    return parse_target(args.target_ci, args.target_kpi, args.target_abs)


__all__ = ["add_target_flags", "target_from"]
