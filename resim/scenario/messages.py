"""Pydantic's validation errors as one line a user can act on.

``FILE: key.path[name].key: what is wrong, got VALUE``: the first problem,
with the path as the user wrote it (union tags and validator labels such as
``constrained-float`` removed, a list entry named by its ``name`` as in
``automakers[EU automaker]``), the key's exact limits (``must be > 0`` where
0 is refused too, not the duration parser's ``>= 0``), the value as TOML, a
"did you mean" for unknown keys, and ``--set`` named as the source when a
flag put the bad value there.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

import annotated_types as at
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from .distributions import DistSpec
from .document import scenario_class
from .errors import ScenarioError
from .keys import did_you_mean, format_loc, parse_key, short
from .units import NegativeDuration

_DIST_HINT = 'must be a number of days, a duration like "5d" or a table like { dist = "uniform", low = 1, high = 2 }'
_DISTS = "constant, uniform, triangular, normal, lognormal, exponential, gamma, empirical, quantiles, mixture"
#: Messages that depend only on pydantic's error type.
_FIXED = {
    "missing": "is required",
    "int_type": "must be a whole number", "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number", "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "string_type": "must be a string", "list_type": "must be a list", "too_long": "is too long",
    "date_type": "must be an ISO date like 2025-04-04", "date_parsing": "must be an ISO date like 2025-04-04",
    "date_from_datetime_parsing": "must be an ISO date like 2025-04-04",
    "union_tag_not_found": f"needs a dist key ({_DISTS})",
}
_TABLE_KINDS = ("dict_type", "model_type", "model_attributes_type")
_BOUND_KINDS = ("greater_than_equal", "greater_than", "less_than_equal", "less_than")
_SYMBOLS = ((at.Gt, "gt", ">"), (at.Ge, "ge", ">="), (at.Lt, "lt", "<"), (at.Le, "le", "<="))


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types inside Annotated / Optional / unions."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(tp) for t in _unwrap(a)]
    return [tp]


def _annotated_bounds(meta: tuple[Any, ...]) -> list[Any]:
    found = [m for m in meta if isinstance(m, at.BaseMetadata)]
    return found + [c for m in meta if isinstance(m, FieldInfo) for c in m.metadata]


def _constraints(tp: Any) -> list[Any]:
    """The bounds (``annotated_types`` Gt, Ge, Lt, Le) declared on ``tp``,
    through Annotated and unions."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        inner, *meta = typing.get_args(tp)
        return _constraints(inner) + _annotated_bounds(tuple(meta))
    if origin in (typing.Union, types.UnionType):
        return [c for a in typing.get_args(tp) for c in _constraints(a)]
    return []


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field(model: type[BaseModel], name: str) -> FieldInfo | None:
    f = model.model_fields.get(name)
    return f if f is not None else next((f for f in model.model_fields.values() if f.alias == name), None)


def _step(tp: Any, part: Any) -> tuple[list[Any], list[Any]] | None:
    """Types one step below ``tp`` along ``part``, and the step's bounds;
    None if ``part`` does not lead into ``tp``."""
    if _is_model(tp):
        f = _field(tp, part) if isinstance(part, str) else None
        return None if f is None else (_unwrap(f.annotation), [*f.metadata, *_constraints(f.annotation)])
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list and isinstance(part, int):
        return _unwrap(args[0]), _constraints(args[0])
    if origin is dict:
        return _unwrap(args[1]), _constraints(args[1])
    return None


def _dist_member(pending: list[Any], part: Any) -> list[Any]:
    """The distribution classes a union tag (``"uniform"``) selects."""
    return [tp for tp in pending if _is_model(tp) and "dist" in tp.model_fields
            and typing.get_args(tp.model_fields["dist"].annotation) == (part,)]


@dataclass
class Walk:
    """A pydantic error location read against the schema."""

    clean: list[Any] = field(default_factory=list)   # the path without union tags
    model: type[BaseModel] | None = None             # the model the location ends in
    bounds: list[Any] = field(default_factory=list)  # the last key's declared bounds
    union: bool = False                               # the location went through a union member


def _is_union_label(pending: list[Any], part: Any) -> bool:
    """Pydantic's label of a union member ("constrained-float", "literal['rest']")."""
    return isinstance(part, str) and len([t for t in pending if t is not type(None)]) > 1


def _advance(out: Walk, pending: list[Any], part: Any) -> list[Any]:
    """One location part: the types it leads to (``out`` records the path and bounds)."""
    steps = [s for s in (_step(tp, part) for tp in pending) if s is not None]
    if steps:
        out.clean.append(part)
        out.bounds = [c for s in steps for c in s[1]]
        return [t for s in steps for t in s[0]]
    members = _dist_member(pending, part)
    if members:
        return members
    if _is_union_label(pending, part):
        out.union = True
        return pending
    out.clean.append(part)
    out.bounds = []
    return []


def walk(loc: tuple[Any, ...]) -> Walk:
    """Walk the schema along a pydantic error location."""
    out, pending = Walk(), [scenario_class()]
    for part in loc:
        pending = _advance(out, pending, part)
    out.model = next((tp for tp in pending if _is_model(tp)), None)
    return out


def number(x: Any) -> str:
    """A limit as the user would write it: ``0``, not ``0.0``; ``1e+100``; exact."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x) if isinstance(x, float) else str(x)


def _strictest(bounds: list[Any], kinds: tuple[tuple[Any, str, str], ...], upper: bool) -> str | None:
    """The tightest of the bounds of ``kinds`` as ``>= 0``; at a tie the strict one."""
    found = [(getattr(b, attr), sym) for cls, attr, sym in kinds for b in bounds if isinstance(b, cls)]
    if not found:
        return None
    if upper:
        v, sym = min(found, key=lambda b: (b[0], b[1] == "<="))
    else:
        v, sym = max(found, key=lambda b: (b[0], b[1] == ">"))
    return f"{sym} {number(v)}"


def range_text(bounds: list[Any]) -> str | None:
    """``must be > 0 and <= 1`` from a key's declared bounds (the strictest
    lower and upper one); None without bounds."""
    parts = [p for p in (_strictest(bounds, _SYMBOLS[:2], False), _strictest(bounds, _SYMBOLS[2:], True)) if p]
    return "must be " + " and ".join(parts) if parts else None


def _is_distribution(loc: tuple[Any, ...]) -> bool:
    """Whether ``loc`` is a distribution-valued key (a number, duration or table)."""
    if not loc or not isinstance(loc[-1], str):
        return False
    parent = walk(loc[:-1]).model
    f = _field(parent, loc[-1]) if parent else None
    dists = typing.get_args(DistSpec)
    return f is not None and any(isinstance(tp, type) and issubclass(tp, dists) for tp in _unwrap(f.annotation))


def _length(kind: str, ctx: Mapping[str, Any]) -> str:
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length', '?')} characters)"
    if ctx.get("min_length", 1) > 1:
        return f"must have at least {ctx['min_length']} entries"
    return "must not be empty"


def _bound(err: Mapping[str, Any], w: Walk) -> str:
    sym = dict(zip(_BOUND_KINDS, (">=", ">", "<=", "<"), strict=True))[err["type"]]
    return range_text(w.bounds) or f"must be {sym} {number(next(iter((err.get('ctx') or {}).values())))}"


def _table(err: Mapping[str, Any], w: Walk) -> str:
    return _DIST_HINT if _is_distribution(tuple(err["loc"])) else "must be a table"


#: Messages that need the error's context or the schema, by pydantic's error type.
_CONTEXTUAL: dict[str, Callable[[Mapping[str, Any], Walk], str]] = {
    **dict.fromkeys(_BOUND_KINDS, _bound),
    **dict.fromkeys(_TABLE_KINDS, _table),
    "literal_error": lambda err, w: f"must be one of {(err.get('ctx') or {}).get('expected', '')}",
    "union_tag_invalid": lambda err, w: f"dist must be one of {(err.get('ctx') or {}).get('expected_tags', '')}",
    **dict.fromkeys(("too_short", "string_too_short", "string_too_long"),
                    lambda err, w: _length(err["type"], err.get("ctx") or {})),
}


def _contextual(kind: str, err: Mapping[str, Any], w: Walk) -> str | None:
    if kind in _CONTEXTUAL:
        return _CONTEXTUAL[kind](err, w)
    if isinstance((err.get("ctx") or {}).get("error"), NegativeDuration):
        return range_text(w.bounds) or "must be >= 0"
    return None


def message(err: Mapping[str, Any], w: Walk | None = None) -> str:
    """What is wrong, in words, from one pydantic error."""
    kind = err["type"]
    text = _FIXED.get(kind) or _contextual(kind, err, w or walk(tuple(err["loc"])))
    if text is not None:
        return text
    msg = str(err.get("msg", "is invalid"))
    return re.sub(r"^(Value error|Assertion failed), ", "", msg)


def _first(errors: list[Any]) -> Any:
    """The error to report: the first, but an unknown key before the
    "is required" it causes (``hi = 2`` instead of ``high = 2``)."""
    err = errors[0]
    if err["type"] != "missing":
        return err
    parent = tuple(err["loc"][:-1])
    return next((e for e in errors if e["type"] == "extra_forbidden" and tuple(e["loc"][:-1]) == parent), err)


def _name_of(node: Any, i: int) -> str | None:
    """The unique ``name`` of entry ``i`` of a list of tables, if it has one."""
    names = [item.get("name") if isinstance(item, dict) else None for item in node]
    name = names[i] if -len(names) <= i < len(names) else None
    return name if isinstance(name, str) and names.count(name) == 1 else None


def _entry(part: Any, node: Any) -> tuple[Any, Any]:
    """One step of ``named``: the part as shown, and the raw node below it."""
    if isinstance(part, int) and isinstance(node, list):
        name = _name_of(node, part)
        below = node[part] if -len(node) <= part < len(node) else None
        return (("name", name) if name is not None else part), below
    return part, node.get(part) if isinstance(node, dict) else None


def named(loc: list[Any], raw: Any) -> list[Any]:
    """``loc`` with list indices replaced by the entries' names where the raw
    document has them (``automakers[0]`` -> ``automakers[EU automaker]``)."""
    out, node = [], raw
    for part in loc:
        if part == "value" and isinstance(node, int | float | str) and raw is not None:
            break  # a bare number is a constant: the file has no ".value"
        shown, node = _entry(part, node)
        out.append(shown)
    return out


def named_path(path: str, raw: Any) -> str:
    """A dotted path's indices as names (for the cross-table checks' errors)."""
    try:
        tokens = parse_key(path)
    except ValueError:
        return path
    if any(isinstance(t, tuple) for t in tokens) or not any(isinstance(t, int) for t in tokens):
        return path
    return format_loc(named(tokens, raw))


@contextmanager
def entry_names(raw: Any) -> Iterator[None]:
    """Errors raised inside name list entries by their names, as the file
    does (the cross-table checks only know indices)."""
    try:
        yield
    except ScenarioError as e:
        path = named_path(e.path, raw)
        if path == e.path:
            raise
        raise ScenarioError(e.source, path, e.message, e.value, e.extra) from None


def flag_or(source: str, path: str, set_locs: Mapping[str, str]) -> str:
    """``--set`` when a flag put the value at ``path`` (or above or below it)."""
    where = source
    for loc_text, flag in set_locs.items():
        if any(a == b or a.startswith(b + ".") or a.startswith(b + "[")
               for a, b in ((path, loc_text), (loc_text, path))):
            where = flag
    return where


def _unknown_key(err: Mapping[str, Any], clean: list[Any]) -> str:
    key = short(clean[-1]) if clean else "?"
    parent = walk(tuple(err["loc"][:-1])).model
    # the names users write: aliases ("mean") before field names ("mu")
    options = [f.alias or name for name, f in parent.model_fields.items()] if parent else []
    return f"unknown key \"{key}\"{did_you_mean(key, options)}"


def _union_message(errors: list[Any], err: Mapping[str, Any], w: Walk) -> str:
    """One message for the members of a union that all refused the value
    (``must be >= 0 and <= 1 or one of 'rest'``)."""
    texts = [message(e) for e in errors if walk(tuple(e["loc"])).clean == w.clean] if w.union else []
    if len(texts) < 2:
        return message(err, w)
    return " or ".join([texts[0], *(t.removeprefix("must be ") for t in texts[1:])])


def _shown_value(err: Mapping[str, Any]) -> Any:
    if err["type"] == "union_tag_invalid":
        return (err.get("ctx") or {}).get("tag", ...)
    value = err.get("input", ...)
    return ... if err["type"] == "missing" or isinstance(value, dict) else value


def raise_validation(source: str, exc: ValidationError, set_locs: Mapping[str, str],
                     raw: Any = None) -> NoReturn:
    """Raise the first problem of ``exc`` as a one-line ``ScenarioError``;
    ``raw`` (the document validated) names list entries by their names."""
    errors = exc.errors(include_url=False)
    err = _first(errors)
    loc = tuple(err["loc"])
    is_key = bool(loc) and loc[-1] == "[key]"  # pydantic's marker for a bad dict key
    w = walk(loc[:-1] if is_key else loc)
    where = flag_or(source, format_loc(w.clean), set_locs)
    path = format_loc(named(w.clean, raw))
    problems = len({tuple(walk(tuple(e["loc"])).clean) for e in errors})
    more = f" (+{problems - 1} more problem{'s' if problems > 2 else ''})" if problems > 1 else ""
    if err["type"] == "extra_forbidden":
        raise ScenarioError(where, path, _unknown_key(err, w.clean), extra=more)
    text = _union_message(errors, err, w)
    if is_key and text.startswith("must "):
        text = "key " + text
    raise ScenarioError(where, path, text, _shown_value(err), extra=more)
