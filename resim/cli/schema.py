"""``resim schema``: the JSON Schema of scenario files (for editors)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence


def add_parser(sub: argparse._SubParsersAction) -> None:
    sch = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    sch.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ..scenario import scenario_class

    print(json.dumps(scenario_class().model_json_schema(by_alias=True), indent=2))
    return 0
