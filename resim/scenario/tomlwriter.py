"""Writing TOML: resolved scenarios, scenario files, and value previews.

Files are written by a real TOML writer (tomli-w): a hand-written one wrote
user strings into a comment unescaped, so a scenario name holding a newline
injected a live ``extends`` line into ``scenario.resolved.toml`` and control
characters made the file unreadable. User text now appears only as TOML
strings (escaped by tomli-w) and, in the header comment, escaped to printable
ASCII. ``toml_value(preview=True)`` stays for error messages, which show a
value the way the user wrote it, cut short.
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


def _float(v: float) -> str:
    if math.isnan(v):
        return "nan"
    return ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)


#: TOML scalars by type, in the order they are tried (a bool is an int, a datetime a date).
_SCALARS: tuple[tuple[type | tuple[type, ...], Any], ...] = (
    (bool, lambda v: "true" if v else "false"),
    (int, str),
    (float, _float),
    ((datetime, date, time), lambda v: v.isoformat()),
    (str, lambda v: json.dumps(v, ensure_ascii=False)),
)


def _scalar(v: Any) -> str | None:
    """A TOML scalar's text; None if ``v`` is not one."""
    return next((write(v) for kind, write in _SCALARS if isinstance(v, kind)), None)


def _array(v: list[Any] | tuple[Any, ...], n: int | None, preview: bool, depth: int) -> str:
    more = ", ..." if n is not None and len(v) > n else ""
    return "[" + ", ".join(toml_value(x, preview, depth + 1) for x in v[:n]) + more + "]"


def _table(v: dict[Any, Any], n: int | None, preview: bool, depth: int) -> str:
    if not v:
        return "{}"
    pairs = list(v.items())
    body = ", ".join(f"{_key(str(k))} = {toml_value(x, preview, depth + 1)}" for k, x in pairs[:n])
    more = ", ..." if n is not None and len(pairs) > n else ""
    return "{ " + body + more + " }"


def _container(v: Any, preview: bool, depth: int) -> str | None:
    """An array or inline table's text (cut after 20 items in a preview); None if ``v`` is neither."""
    n = 20 if preview else None
    if isinstance(v, list | tuple):
        return _array(v, n, preview, depth)
    return _table(v, n, preview, depth) if isinstance(v, dict) else None


def toml_value(v: Any, preview: bool = False, _depth: int = 0) -> str:
    """A value as TOML text. ``preview`` is for error messages: long arrays
    and tables are cut short, deep nesting elided, and any other object shown
    by its repr instead of refused."""
    if preview and _depth > 4:
        return "..."
    text = _scalar(v)
    if text is None:
        text = _container(v, preview, _depth)
    if text is not None:
        return text
    if preview:
        return repr(v)
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def dumps(data: dict[str, Any]) -> str:
    """A scenario (or any TOML document) as TOML text (tomli-w, imported
    here: reading and validating scenarios, and error messages, need no
    writer)."""
    import tomli_w

    return tomli_w.dumps(data)


def comment_text(text: str) -> str:
    """``text`` safe inside a TOML comment: one line of printable ASCII
    (control characters, quotes and non-ASCII as JSON escapes)."""
    out = json.dumps(str(text), ensure_ascii=True)[1:-1]
    return "".join(c if 0x20 <= ord(c) < 0x7F else f"\\u{ord(c):04x}" for c in out)


def resolved_toml(scenario: dict[str, Any], source: str, name: str) -> str:
    """``scenario.resolved.toml``: the scenario after ``extends`` and
    ``--set``, runnable as it is (``extends`` dropped, everything spelled
    out), with a header comment saying what it is. ``name`` and ``source``
    can hold anything: they cannot leave the comment line."""
    data = {k: v for k, v in scenario.items() if k != "extends"}
    header = (f"# {comment_text(name)}: resolved by resim from {comment_text(source)}\n"
              "# (extends and --set applied; run this file as it is to reproduce the run)\n")
    return header + dumps(data)
