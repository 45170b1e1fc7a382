"""``resim init NAME.toml``: a minimal, commented scenario to start from.

A new user should not have to read the whole format reference before the
first run: ``init`` writes one small supply chain, a two-stage review office
and one policy change, each key commented, and the file runs as is. The text
is a Jinja2 template (``templates/scenario.toml.j2``), and
docs/scenario-format.md opens with exactly what ``resim init
my_scenario.toml`` writes (a test keeps the two equal and runs the file).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..scenario.errors import ScenarioError, one_line
from .options import UsageError

TEMPLATE = "scenario.toml.j2"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="write a minimal, commented scenario that runs as is")
    p.add_argument("file", metavar="NAME.toml", help="the scenario file to write")
    p.add_argument("--overwrite", action="store_true", help="replace the file if it exists")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def scenario_text(file: str | Path) -> str:
    """The scenario ``resim init FILE`` writes: named after the file
    (``eu_stock.toml`` -> ``eu stock``), with the command that runs it."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    from ..scenario.tomlwriter import toml_value

    env = Environment(loader=PackageLoader("resim.cli", "templates"), autoescape=False,
                      undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["toml"] = toml_value
    stem = Path(file).stem
    name = " ".join(stem.replace("_", " ").replace("-", " ").split()) or "my scenario"
    return env.get_template(TEMPLATE).render(name=name, file=one_line(str(file)))


def _check_new_file(path: Path, given: str, overwrite: bool) -> None:
    """Refuse a name that is not a .toml file, an existing file (without
    --overwrite) and a folder that is not there."""
    if path.suffix != ".toml":
        raise UsageError(f"resim init: the file name must end in .toml, got {one_line(given)!r}")
    if path.exists() and not overwrite:
        raise ScenarioError(str(path), "", "already exists; choose another name or add --overwrite")
    if not path.parent.is_dir():
        why = "does not exist" if not path.parent.exists() else "is not a directory"
        raise ScenarioError(str(path), "", f"cannot be written: {path.parent} {why}")


def command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ..experiment.store import write_text

    path = Path(args.file)
    _check_new_file(path, args.file, args.overwrite)
    write_text(path, scenario_text(args.file))
    print(f"wrote {path}; run it with: resim run {path}")
    return 0


__all__ = ["TEMPLATE", "add_parser", "command", "scenario_text"]
