"""A minimal TOML writer for ``scenario.resolved.toml``.

The standard library reads TOML but does not write it; the resolved scenario
is plain tables, arrays, strings, numbers, booleans and dates, which this
covers in a few lines rather than adding a dependency.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, time
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k)


def toml_value(v: Any, preview: bool = False, _depth: int = 0) -> str:
    """A value as TOML text. ``preview`` is for error messages: long arrays
    and tables are cut short, deep nesting elided, and any other object shown
    by its repr instead of refused."""
    if preview and _depth > 4:
        return "..."
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    n = 20 if preview else None
    if isinstance(v, list | tuple):
        more = ", ..." if n is not None and len(v) > n else ""
        return "[" + ", ".join(toml_value(x, preview, _depth + 1) for x in v[:n]) + more + "]"
    if isinstance(v, dict):
        items = list(v.items())
        if not items:
            return "{}"
        more = ", ..." if n is not None and len(items) > n else ""
        body = ", ".join(f"{_key(str(k))} = {toml_value(x, preview, _depth + 1)}" for k, x in items[:n])
        return "{ " + body + more + " }"
    if preview:
        return repr(v)
    raise TypeError(f"cannot write {type(v).__name__} as TOML")




def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _body(table: dict[str, Any]) -> list[str]:
    return [f"{_key(str(k))} = {toml_value(v)}" for k, v in table.items()]


def dumps(data: dict[str, Any]) -> str:
    """TOML text: top-level tables as ``[table]``, top-level arrays of tables as
    ``[[table]]``, everything deeper as inline tables and arrays."""
    lines = [f"{_key(k)} = {toml_value(v)}" for k, v in data.items()
             if not isinstance(v, dict) and not _is_table_array(v)]
    for k, v in data.items():
        if isinstance(v, dict):
            lines += ["", f"[{_key(k)}]", *_body(v)]
        elif _is_table_array(v):
            for item in v:
                lines += ["", f"[[{_key(k)}]]", *_body(item)]
    return "\n".join(lines).strip("\n") + "\n"
