"""Scenario files: reading TOML safely and resolving ``extends``.

A child file overrides its parent: its tables merge into the parent's key by
key, and ``[automakers."EU automaker"]`` (a table keyed by an entry's name)
changes that one entry of the parent's ``[[automakers]]`` key by key, so a
variant need not copy fifty lines to change one value; a child's
``[[automakers]]`` still replaces the whole array.

Every way a file can be unreadable (missing, a directory, a FIFO or device,
too big, binary, bad TOML, absurdly nested) is a one-line ``ScenarioError``
before anything else happens.
"""

from __future__ import annotations

import copy
import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ScenarioError
from .keys import did_you_mean, format_loc

_MAX_BYTES = 5_000_000
#: Scenario tables nest a handful of levels; far deeper is a mistake, and would
#: overflow the recursion of the TOML parser and the validators.
_MAX_DEPTH = 32


def _too_deep(node: Any, limit: int = _MAX_DEPTH) -> bool:
    stack = [(node, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _regular(mode: int, label: str, kind: str) -> None:
    if stat.S_ISDIR(mode):
        raise ScenarioError(label, "", f"is a directory, not a {kind}")
    if not stat.S_ISREG(mode):
        raise ScenarioError(label, "", "is not a regular file (a pipe, socket or device)")


def _read_bounded(path: Path, label: str, kind: str) -> tuple[bytes, int]:
    """At most ``_MAX_BYTES + 1`` bytes of a regular file, and its size."""
    try:
        _regular(path.stat().st_mode, label, kind)
        # O_NONBLOCK: if the path became a FIFO since the check, open does not hang.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            _regular(os.fstat(f.fileno()).st_mode, label, kind)
            data = f.read(_MAX_BYTES + 1)  # bounded: a huge file must not fill the memory
        return data, path.stat().st_size
    except FileNotFoundError:
        raise ScenarioError(label, "", "no such file") from None
    except PermissionError:
        raise ScenarioError(label, "", "permission denied") from None
    except OSError as e:
        raise ScenarioError(label, "", f"cannot read: {e.strerror or e}") from None


def read_text(path: Path, label: str, kind: str = "scenario file") -> str:
    """A small UTF-8 text file (a scenario, an observed series), with every
    failure as a one-line ScenarioError: missing, a directory, a FIFO or
    device (which would block the read forever), over 5 MB, binary."""
    data, size = _read_bounded(path, label, kind)
    if len(data) > _MAX_BYTES:
        what = f"is {size} bytes" if size > _MAX_BYTES else "is more than 5 MB"
        raise ScenarioError(label, "", f"{what}; {kind}s are at most 5 MB")
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (Windows editors) is harmless
    except UnicodeDecodeError:
        raise ScenarioError(label, "", "is not a UTF-8 text file (binary?)") from None
    if "\x00" in text:
        raise ScenarioError(label, "", "is not a text file (contains NUL bytes)")
    return text


def read_toml(path: Path, label: str) -> dict[str, Any]:
    """Read one TOML file, with every failure as a ScenarioError."""
    text = read_text(path, label)
    if not text.strip():
        raise ScenarioError(label, "", "is empty; a scenario needs at least a [scenario] or [licensing] table")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(label, "", f"TOML syntax error: {e}") from None
    except RecursionError:
        raise ScenarioError(label, "", f"arrays or tables nested too deeply (at most {_MAX_DEPTH} levels)") from None
    if not doc:
        raise ScenarioError(label, "", "has no keys (only comments); a scenario needs at least a [scenario] or [licensing] table")
    if _too_deep(doc):
        raise ScenarioError(label, "", f"arrays or tables nested too deeply (at most {_MAX_DEPTH} levels)")
    return doc


#: Tables whose keys are the user's own (not schema fields): a child replaces them whole.
_REPLACED_TABLES = {("sweep", "grid")}


def _merge(base: dict[str, Any], over: Mapping[str, Any], label: str, path: tuple[str, ...] = ()) -> dict[str, Any]:
    """A child's tables merge into its parent's key by key; arrays, values,
    distributions and a sweep grid replace (a child switching a uniform to
    an exponential must not keep low/high; a child's grid must not inherit
    the parent's keys). A table where the parent has an array of named
    entries patches them by name (``_patch``)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merged(out.get(k), v, label, (*path, k))
    return out


def _merged(old: Any, new: Any, label: str, path: tuple[str, ...]) -> Any:
    if not isinstance(new, Mapping) or "dist" in new or path in _REPLACED_TABLES:
        return copy.deepcopy(new)
    if isinstance(old, dict):
        return _merge(old, new, label, path)
    if isinstance(old, list):
        return _patch(old, new, label, path)
    return copy.deepcopy(new)


def _patch(entries: list[Any], patches: Mapping[str, Any], label: str, path: tuple[str, ...]) -> list[Any]:
    """``[automakers."EU automaker"]`` in a child: the parent's entry of that
    name, changed key by key (the other entries as they were). A name the
    parent does not have is an error: a child changes entries, and replaces
    the whole array with ``[[automakers]]``."""
    out = list(entries)
    names = [e.get("name") if isinstance(e, dict) else None for e in entries]
    for name, patch in patches.items():
        _check_patch(names, name, patch, label, path)
        i = names.index(name)
        out[i] = _merge(entries[i], patch, label, (*path, name))
    return out


def _check_patch(names: list[Any], name: str, patch: Any, label: str, path: tuple[str, ...]) -> None:
    where = format_loc([*path, ("name", name)])
    if name not in names:
        known = [n for n in names if isinstance(n, str)]
        raise ScenarioError(label, where, f"the parent has no {path[-1]} entry named \"{name}\""
                            f"{did_you_mean(name, known)}; a table keyed by name changes an entry of the "
                            f"parent, [[{path[-1]}]] replaces them all")
    if not isinstance(patch, Mapping):
        raise ScenarioError(label, where, "must be a table of the keys to change", patch)


def _parent(path: Path, label: str, parent: Any, seen: tuple[Path, ...]) -> Path:
    """The file ``extends = parent`` names, checked (a path, no cycle, a file)."""
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(label, "extends", "must be the path of another scenario file", parent)
    target = (path.parent / parent).resolve()
    if target in seen or target == path.resolve():
        raise ScenarioError(label, "extends", "makes a cycle of extends", parent)
    if not target.is_file():
        raise ScenarioError(label, "extends", "no such file (resolved relative to this file)", parent)
    return target


def read_with_extends(path: Path, label: str, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A scenario file with its ``extends`` chain merged in (the parents first)."""
    raw = read_toml(path, label)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    target = _parent(path, label, parent, seen)
    base = read_with_extends(target, str(Path(label).parent / parent), (*seen, path.resolve()))
    return _merge(base, raw, label)
