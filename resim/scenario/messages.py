"""Pydantic's validation errors as one line a user can act on.

``FILE: key.path[i].name: what is wrong, got VALUE``: the first problem, with
the path as the user wrote it (union tags removed, names resolved), the value
as TOML, a "did you mean" for unknown keys, and ``--set`` named as the source
when a flag put the bad value there.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from .distributions import DistSpec
from .document import scenario_class
from .errors import ScenarioError
from .keys import did_you_mean, format_loc, short


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types inside Annotated / Optional / unions."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        out = []
        for a in typing.get_args(tp):
            out.extend(_unwrap(a))
        return out
    return [tp]


def _model_at(loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, list[Any]]:
    """Walk the schema along a pydantic error location.

    Returns the model class the location ends in (for "did you mean") and the
    location with union tags removed (for the message).
    """
    clean: list[Any] = []
    pending: list[Any] = [scenario_class()]
    i = 0
    while i < len(loc):
        part = loc[i]
        nxt: list[Any] = []
        matched = False
        for tp in pending:
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                if isinstance(part, str):
                    field = tp.model_fields.get(part)
                    if field is None:
                        field = next(
                            (f for f in tp.model_fields.values() if f.alias == part), None
                        )
                    if field is not None:
                        nxt.extend(_unwrap(field.annotation))
                        matched = True
            else:
                origin = typing.get_origin(tp)
                if origin is list and isinstance(part, int):
                    nxt.extend(_unwrap(typing.get_args(tp)[0]))
                    matched = True
                elif origin is dict:
                    nxt.extend(_unwrap(typing.get_args(tp)[1]))
                    matched = True
        if not matched and isinstance(part, str):
            # A union tag (e.g. "uniform") chooses the member; it is not part of the path.
            members = [
                tp
                for tp in pending
                if isinstance(tp, type)
                and issubclass(tp, BaseModel)
                and "dist" in tp.model_fields
                and typing.get_args(tp.model_fields["dist"].annotation) == (part,)
            ]
            if members:
                pending = members
                i += 1
                continue
        clean.append(part)
        pending = nxt
        i += 1
    final = [tp for tp in pending if isinstance(tp, type) and issubclass(tp, BaseModel)]
    return (final[0] if final else None), clean


def _is_distribution(loc: tuple[Any, ...]) -> bool:
    """Whether ``loc`` is a distribution-valued key (a number, duration or table)."""
    if not loc or not isinstance(loc[-1], str):
        return False
    parent, _ = _model_at(loc[:-1])
    field = parent.model_fields.get(loc[-1]) if parent else None
    if field is None:
        return False
    return any(isinstance(tp, type) and issubclass(tp, typing.get_args(DistSpec)) for tp in _unwrap(field.annotation))


def _message(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sym = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        bound = next(iter(ctx.values()))
        return f"must be {sym} {bound}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number"
    if kind in ("float_type", "float_parsing"):
        return "must be a number"
    if kind == "finite_number":
        return "must be a finite number"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind in ("string_type",):
        return "must be a string"
    if kind in ("list_type",):
        return "must be a list"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        if _is_distribution(tuple(err["loc"])):
            return 'must be a number of days, a duration like "5d" or a table like { dist = "uniform", low = 1, high = 2 }'
        return "must be a table"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind == "union_tag_invalid":
        return f"dist must be one of {ctx.get('expected_tags', '')}"
    if kind == "union_tag_not_found":
        return "needs a dist key (constant, uniform, triangular, normal, lognormal, exponential, gamma, empirical)"
    if kind in ("too_short", "string_too_short"):
        if ctx.get("min_length", 1) > 1:
            return f"must have at least {ctx['min_length']} entries"
        return "must not be empty"
    if kind == "too_long":
        return "is too long"
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length', '?')} characters)"
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing"):
        return "must be an ISO date like 2025-04-04"
    msg = str(err.get("msg", "is invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg


def raise_validation(source: str, exc: ValidationError, set_locs: Mapping[str, str]) -> None:
    errors = exc.errors(include_url=False)
    err = errors[0]
    if err["type"] == "missing":
        # `hi = 2` instead of `high = 2` gives "high is required" first; the
        # unknown key with its did-you-mean is the more useful of the two.
        parent = tuple(err["loc"][:-1])
        err = next(
            (e for e in errors if e["type"] == "extra_forbidden" and tuple(e["loc"][:-1]) == parent), err
        )
    loc = tuple(err["loc"])
    is_key = bool(loc) and loc[-1] == "[key]"  # pydantic's marker for a bad dict key
    if is_key:
        loc = loc[:-1]
    model, clean = _model_at(loc)
    path = format_loc(clean)
    more = f" (+{len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    where = source
    for loc_text, flag in set_locs.items():
        if any(a == b or a.startswith(b + ".") or a.startswith(b + "[") for a, b in ((path, loc_text), (loc_text, path))):
            where = flag
    if err["type"] == "extra_forbidden":
        key = short(clean[-1]) if clean else "?"
        parent, _ = _model_at(tuple(err["loc"][:-1]))
        # the names users write: aliases ("mean") before field names ("mu")
        options = [f.alias or name for name, f in parent.model_fields.items()] if parent else []
        raise ScenarioError(where, path, f"unknown key \"{key}\"{did_you_mean(key, options)}", extra=more)
    value = err.get("input", ...)
    if err["type"] == "union_tag_invalid":
        value = (err.get("ctx") or {}).get("tag", ...)
    elif err["type"] == "missing" or isinstance(value, dict):
        value = ...
    message = _message(err)
    if is_key and message.startswith("must "):
        message = "key " + message
    raise ScenarioError(where, path, message, value, extra=more)


