"""``resim schema``: the JSON Schema of scenario files (for editors), or with
``--markdown KIND`` the reference table of one actor kind, as
docs/scenario-format.md holds it (written from the kind's table class)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence


def add_parser(sub: argparse._SubParsersAction) -> None:
    sch = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    sch.add_argument("--markdown", metavar="KIND", help="print the reference table of an actor kind (e.g. mines)")
    sch.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ..scenario import reference, registry, scenario_class

    if args.markdown:
        known = [k.table for k in registry.kinds()]
        if args.markdown not in known:
            raise SystemExit(f"resim schema: --markdown: no actor kind {args.markdown!r} (kinds: {', '.join(known)})")
        print(reference.block(registry.kind(args.markdown)))
        return 0
    print(json.dumps(scenario_class().model_json_schema(by_alias=True), indent=2))
    return 0
