"""Dotted keys: how ``--set``, policies, sweeps and calibrations name a value.

``licensing.stages[1].reviewers``, ``automakers[EU maker].target_days``: one
grammar for every place a user points at a scenario value, parsed here once.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

_TOKEN = re.compile(r"\s*(?:\.?([A-Za-z_][A-Za-z0-9_]*)|\[\s*(-?\d+)\s*\]|\[\s*\"?([^\]\"]+)\"?\s*\])")


def parse_key(key: str) -> list[str | int | tuple[str, str]]:
    """Split ``licensing.stages[1].reviewers`` (or ``automakers[EU maker].target_days``).

    Returns field names (str), list indices (int) and name look-ups (("name", x)).
    """
    out: list[str | int | tuple[str, str]] = []
    pos = 0
    key = key.strip()
    if not key:
        raise ValueError("empty key")
    while pos < len(key):
        m = _TOKEN.match(key, pos)
        if not m or m.end() == pos or (pos == 0 and key[0] == "."):
            raise ValueError(f"cannot read key {key!r} at {key[pos:]!r}")
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append(int(m.group(2)))
        else:
            out.append(("name", m.group(3).strip()))
        pos = m.end()
    return out


def short(part: Any, limit: int = 40) -> str:
    text = str(part)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: A name written bare inside brackets (``automakers[EU automaker]``): no
#: quote or bracket, no space at either end, not a number (``[3]`` is an index).
_BARE_NAME = re.compile(r"(?!-?\d+$)[^\s\]\"](?:[^\]\"]*[^\s\]\"])?")


def _part(part: Any, first: bool) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    if isinstance(part, tuple):  # an entry by its name, as the key grammar reads it
        name = short(part[1])
        return f"[{name}]" if _BARE_NAME.fullmatch(name) else f'["{name}"]'
    part = short(part)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
        return part if first else "." + part
    return f'["{part}"]'


def format_loc(loc: Iterable[Any]) -> str:
    """A location (field names, indices, ("name", x) look-ups) as a dotted key."""
    text = ""
    for part in loc:
        text += _part(part, not text)
    return text


def _named_index(node: Any, name: str, loc: list[str | int]) -> int:
    """The index of the entry called ``name`` in the list ``node``."""
    if not isinstance(node, list):
        raise KeyError(f"{format_loc(loc)} is not a list")
    idx = next((j for j, item in enumerate(node) if isinstance(item, dict) and item.get("name") == name), None)
    if idx is None:
        hint = did_you_mean(name, [str(it.get("name")) for it in node if isinstance(it, dict)])
        raise KeyError(f"{format_loc(loc)} has no entry named \"{name}\"{hint}")
    return idx


def _index(node: Any, i: int, loc: list[str | int]) -> int:
    """``i`` as an index of the list ``node`` (negative counts from the end)."""
    if not isinstance(node, list):
        raise KeyError(f"{format_loc(loc) or 'value'} is not a list")
    if not -len(node) <= i < len(node):
        raise KeyError(f"{format_loc(loc)} has {len(node)} entries, no [{i}]")
    return i % len(node)


def _child(node: Any, tok: str | int) -> Any:
    """The container one step down (a table made on the way if missing)."""
    if isinstance(tok, str) and not isinstance(node.get(tok), dict | list):
        node[tok] = {}
    return node[tok]


def set_key(raw: dict[str, Any], key: str, value: Any) -> list[str | int]:
    """Set a dotted key in a raw scenario dict, creating tables on the way.

    Returns the concrete location (names resolved to indices) for error messages.
    """
    tokens = parse_key(key)
    node: Any = raw
    loc: list[str | int] = []
    for i, tok in enumerate(tokens):
        if isinstance(tok, tuple):
            tok = _named_index(node, tok[1], loc)
        if isinstance(tok, int):
            tok = _index(node, tok, loc)
        elif not isinstance(node, dict):
            raise KeyError(f"{format_loc(loc)} is not a table")
        loc.append(tok)
        if i == len(tokens) - 1:
            node[tok] = value
        else:
            node = _child(node, tok)
    return loc


def get_key(obj: Any, key: str) -> Any:
    """Read a dotted key from a (validated) scenario, for reports and sweeps."""
    node = obj
    for tok in parse_key(key):
        if isinstance(tok, tuple):
            node = next(x for x in node if getattr(x, "name", None) == tok[1])
        elif isinstance(tok, int):
            node = node[tok]
        elif isinstance(node, Mapping):
            node = node[tok]
        else:
            node = getattr(node, tok)
    return node


def reason(e: Exception) -> str:
    """The message of a KeyError/ValueError without the quotes ``str(KeyError)`` adds."""
    return str(e.args[0]) if e.args else type(e).__name__


def parse_value(text: str) -> Any:
    """A ``--set`` value: any TOML value, else a bare string (``none``, ``6mo``)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """A near miss: the option that differs only in case, else the closest
    spelling (compared without case, so "eu automaker" finds "EU automaker"
    rather than "US automaker")."""
    options = list(options)
    folded = {o.casefold(): o for o in reversed(options)}
    if word.casefold() in folded:
        return f' (did you mean "{folded[word.casefold()]}"?)'
    close = difflib.get_close_matches(word.casefold(), list(folded), n=1, cutoff=0.6)
    return f' (did you mean "{folded[close[0]]}"?)' if close else ""
