"""``resim sensitivity DIR``: the Sobol or Morris indices of a finished
``--sampler sobol|morris`` sweep, recomputed from its files (seeded: the same
numbers as the sweep printed), written to sensitivity.parquet and printed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .finished import finished_sweep

if TYPE_CHECKING:
    from ..experiment.sensitivity import Sensitivity


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sensitivity", help="Sobol or Morris indices of a finished sobol or morris sweep")
    p.add_argument("directory", help="a finished resim sweep folder")
    p.add_argument("--kpi", default="vehicles_lost", help="the KPI to print (all are in sensitivity.parquet)")
    p.add_argument("--automaker", help="print this automaker only (default: every automaker and all)")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def _recompute(directory: str, automaker: str | None) -> Sensitivity:
    """The indices of the finished sweep in ``directory``, rewritten to its
    sensitivity.parquet; refuses an automaker that has none."""
    from ..experiment.sensitivity import sweep_sensitivity, write_sensitivity
    from ..scenario.errors import ScenarioError

    with finished_sweep(directory) as root:
        found = sweep_sensitivity(root)
        names = set(found.frame["automaker"])
        if automaker is not None and automaker not in names:
            raise ScenarioError("--automaker", automaker, f"has no indices in {directory}; one of "
                                f"{', '.join(sorted(names))}")
        write_sensitivity(root, found)
    return found


def _no_indices(found: Sensitivity, kpi: str, same: list[str]) -> str:
    """Why ``kpi`` has no indices, in one line."""
    why = [n for n in found.notes if n.startswith(f"{kpi} of")]
    return (f"resim sensitivity: no indices for {kpi}" + (f": {why[0]}" if why else "")
            + (f" (the same at every point for {', '.join(same)})" if same else ""))


def _show(found: Sensitivity, kpi: str, automaker: str | None, same: list[str]) -> None:
    """The indices table, and the automakers whose ``kpi`` no key changes."""
    from ..output.console import make_console
    from ..output.console_experiments import sensitivity_table

    console = make_console()
    console.print(sensitivity_table(found.frame, kpi, automaker))
    if same:
        console.print(f"{kpi} is the same at every point for {', '.join(same)}: no indices")


def command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ..experiment.point_outcomes import check_outcome

    kpi = check_outcome(args.kpi)
    found = _recompute(args.directory, args.automaker)
    same = [who for k, who in found.constant if k == kpi and args.automaker in (None, who)]
    if found.of(kpi).empty:
        print(_no_indices(found, kpi, same), file=sys.stderr)
    else:
        _show(found, kpi, args.automaker, same)
    for note in found.notes:
        print(f"resim: warning: {note}", file=sys.stderr)
    return 0
