"""``resim validate``: check scenario files without running them.

Beyond the file itself, ``validate`` builds and checks every point of the
scenario's ``[sweep]`` design (so ``sweep`` cannot refuse what ``validate``
passed) and warns, in its report on stdout, about review stages whose
offered load reaches their capacity (stderr is for errors). It imports no simulation code (editors and pre-commit hooks run it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..scenario.errors import ScenarioError


def add_parser(sub: argparse._SubParsersAction) -> None:
    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("scenarios", nargs="+")
    val.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    val.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _check(path: str, sets: Sequence[str]) -> str:
    from ..api import load_scenario
    from ..experiment.budget import check_sweep, saturation_warnings
    from ..experiment.design import build_points, design_size, make_design

    loaded = load_scenario(path, sets)
    s = loaded.scenario
    sweep = ""
    if s.sweep.grid:
        check_sweep(s, path, design_size(loaded), s.sweep.replications)
        _, design = make_design(loaded)
        build_points(loaded, design, "sweep.grid")
        sweep = f"; {len(design)} sweep design points checked"
    counts = ", ".join(_count(n, what) for n, what in (
        (len(s.automakers), "automaker"), (len(s.magnet_makers), "magnet maker"),
        (len(s.licensing.stages), "review stage"), (len(s.policy), "policy change")))
    if s.branch:
        counts += f", {len(s.branch)} branch{'es' if len(s.branch) != 1 else ''} (default {s.scenario.default_branch})"
    lines = [f"{path}: ok ({counts}){sweep}"]
    # the file is valid: a saturated stage is part of the report (stdout), not an error
    lines += [f"  {w.removeprefix('resim: ')}" for w in saturation_warnings(loaded)]
    return "\n".join(lines)


def command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    status = 0
    for path in args.scenarios:
        try:
            print(_check(path, args.set))
        except ScenarioError as e:
            print(e, file=sys.stderr)
            status = 2
    return status
