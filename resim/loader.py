"""Reading scenario files: TOML, ``extends``, ``--set`` and one-line errors.

Everything a user can get wrong is caught here, before any clock starts, and
reported as ``FILE: key.path[i].name: what is wrong, got VALUE`` (a
``ScenarioError``). Pydantic does the typing; this module turns its error list
into the one message that points at the line to fix.
"""

from __future__ import annotations

import copy
import difflib
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .distributions import DistSpec
from .errors import ScenarioError, show_value
from .scenario import Scenario
from .units import date_to_day

# ---------------------------------------------------------------- key paths

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


def _short(part: Any, limit: int = 40) -> str:
    text = str(part)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_loc(loc: Iterable[Any]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, str):
            part = _short(part)
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, tuple):
            text += f'["{part[1]}"]'
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            text += ("." if text else "") + str(part)
        else:
            text += f'["{part}"]'
    return text


def set_key(raw: dict[str, Any], key: str, value: Any) -> list[str | int]:
    """Set a dotted key in a raw scenario dict, creating tables on the way.

    Returns the concrete location (names resolved to indices) for error messages.
    """
    tokens = parse_key(key)
    node: Any = raw
    loc: list[str | int] = []
    for i, tok in enumerate(tokens):
        last = i == len(tokens) - 1
        if isinstance(tok, tuple):
            if not isinstance(node, list):
                raise KeyError(f"{format_loc(loc)} is not a list")
            idx = next(
                (j for j, item in enumerate(node) if isinstance(item, dict) and item.get("name") == tok[1]),
                None,
            )
            if idx is None:
                names = [str(it.get("name")) for it in node if isinstance(it, dict)]
                hint = _did_you_mean(tok[1], names)
                raise KeyError(f"{format_loc(loc)} has no entry named \"{tok[1]}\"{hint}")
            tok = idx
        if isinstance(tok, int):
            if not isinstance(node, list):
                raise KeyError(f"{format_loc(loc) or 'value'} is not a list")
            if not -len(node) <= tok < len(node):
                raise KeyError(f"{format_loc(loc)} has {len(node)} entries, no [{tok}]")
            tok = tok % len(node)
            loc.append(tok)
            if last:
                node[tok] = value
            else:
                node = node[tok]
            continue
        if not isinstance(node, dict):
            raise KeyError(f"{format_loc(loc)} is not a table")
        loc.append(tok)
        if last:
            node[tok] = value
        else:
            if not isinstance(node.get(tok), dict | list):
                node[tok] = {}
            node = node[tok]
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


def _reason(e: Exception) -> str:
    """The message of a KeyError/ValueError without the quotes ``str(KeyError)`` adds."""
    return str(e.args[0]) if e.args else type(e).__name__


def parse_value(text: str) -> Any:
    """A ``--set`` value: any TOML value, else a bare string (``none``, ``6mo``)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text


# ---------------------------------------------------------------- errors


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


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
    pending: list[Any] = [Scenario]
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


def _raise_validation(source: str, exc: ValidationError, set_locs: Mapping[str, str]) -> None:
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
        key = _short(clean[-1]) if clean else "?"
        parent, _ = _model_at(tuple(err["loc"][:-1]))
        # the names users write: aliases ("mean") before field names ("mu")
        options = [f.alias or name for name, f in parent.model_fields.items()] if parent else []
        raise ScenarioError(where, path, f"unknown key \"{key}\"{_did_you_mean(key, options)}", extra=more)
    value = err.get("input", ...)
    if err["type"] == "union_tag_invalid":
        value = (err.get("ctx") or {}).get("tag", ...)
    elif err["type"] == "missing" or isinstance(value, dict):
        value = ...
    message = _message(err)
    if is_key and message.startswith("must "):
        message = "key " + message
    raise ScenarioError(where, path, message, value, extra=more)


# ---------------------------------------------------------------- files


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


def read_toml(path: Path, label: str) -> dict[str, Any]:
    """Read one TOML file, with every failure as a ScenarioError."""
    try:
        if path.is_dir():
            raise ScenarioError(label, "", "is a directory, not a scenario file")
        with path.open("rb") as f:  # bounded: /dev/zero must not fill the memory
            data = f.read(_MAX_BYTES + 1)
        size = path.stat().st_size
    except FileNotFoundError:
        raise ScenarioError(label, "", "no such file") from None
    except PermissionError:
        raise ScenarioError(label, "", "permission denied") from None
    except OSError as e:
        raise ScenarioError(label, "", f"cannot read: {e.strerror or e}") from None
    if len(data) > _MAX_BYTES:
        what = f"is {size} bytes" if size > _MAX_BYTES else "is more than 5 MB"
        raise ScenarioError(label, "", f"{what}; scenario files are at most 5 MB")
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (Windows editors) is harmless
    except UnicodeDecodeError:
        raise ScenarioError(label, "", "is not a UTF-8 text file (binary?)") from None
    if "\x00" in text:
        raise ScenarioError(label, "", "is not a text file (contains NUL bytes)")
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


def _merge(base: dict[str, Any], over: Mapping[str, Any], path: tuple[str, ...] = ()) -> dict[str, Any]:
    """Tables merge key by key; arrays, values, distributions and a sweep grid
    replace (a child switching a uniform to an exponential must not keep
    low/high; a child's grid must not inherit the parent's keys)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if (isinstance(v, Mapping) and isinstance(out.get(k), dict) and "dist" not in v
                and (*path, k) not in _REPLACED_TABLES):
            out[k] = _merge(out[k], v, (*path, k))
        else:
            out[k] = copy.deepcopy(v)
    return out


def _read_with_extends(path: Path, label: str, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    raw = read_toml(path, label)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(label, "extends", "must be the path of another scenario file", parent)
    target = (path.parent / parent).resolve()
    if target in seen or target == path.resolve():
        raise ScenarioError(label, "extends", "makes a cycle of extends", parent)
    if not target.is_file():
        raise ScenarioError(label, "extends", "no such file (resolved relative to this file)", parent)
    base = _read_with_extends(target, str(Path(label).parent / parent), (*seen, path.resolve()))
    return _merge(base, raw)


@dataclass(frozen=True)
class PolicyStep:
    """The scenario in force from ``day`` on, after one ``[[policy]]`` entry."""

    day: float
    index: int
    changes: tuple[tuple[str, Any], ...]
    scenario: Scenario


@dataclass(frozen=True)
class Loaded:
    """A validated scenario with its policy timeline and where it came from."""

    scenario: Scenario
    timeline: tuple[PolicyStep, ...]
    raw: dict[str, Any]
    source: str


_POLICY_FORBIDDEN = ("scenario", "policy", "sweep", "output", "extends", "grades")


def _structure(scn: Scenario) -> tuple[Any, ...]:
    """What a policy may not change: the network, where actors are, what
    they make of what, and the review calendar (all fixed when a run builds)."""
    return (
        tuple((a.kind, a.name, a.jurisdiction, tuple(s.name for s in getattr(a, "suppliers", ())),
               tuple(sorted(getattr(a, "composition", {}).items())), tuple(getattr(a, "release_to", ())))
              for a in scn.actors),
        tuple(scn.stage_names()),
        tuple(scn.licensing.holidays),
        scn.scenario.start_date,
    )


def _grades(scn: Scenario) -> tuple[str, ...]:
    return tuple(a.grade for a in (*scn.magnet_makers, *scn.stockpiles))


def with_values(scn: Scenario, changes: Mapping[str, Any], source: str = "--set") -> Scenario:
    """A new scenario with dotted keys changed (policies, sweeps), validated."""
    raw = scn.model_dump(by_alias=True, exclude_none=True)
    set_locs: dict[str, str] = {}
    for key, value in changes.items():
        try:
            loc = set_key(raw, key, value)
        except (KeyError, ValueError) as e:
            raise ScenarioError(source, key, _reason(e)) from None
        set_locs[format_loc(loc)] = source
    try:
        return Scenario.model_validate(raw)
    except ValidationError as e:
        _raise_validation(source, e, set_locs)
        raise  # unreachable


def build_timeline(scn: Scenario, label: str) -> tuple[PolicyStep, ...]:
    """Validate every policy entry by applying it, cumulatively, in date order."""
    start = scn.scenario.start_date
    entries = []
    for i, p in enumerate(scn.policy):
        day = p.day if p.day is not None else date_to_day(start, p.date)  # type: ignore[arg-type]
        entries.append((max(day, 0.0), i, p))
    entries.sort(key=lambda e: (e[0], e[1]))
    steps = []
    current = scn
    before = _structure(scn)
    grades_before = _grades(scn)
    for day, i, p in entries:
        for key in p.set:
            try:
                head = parse_key(key)[0]
            except ValueError as e:
                raise ScenarioError(label, f'policy[{i}].set."{key}"', _reason(e)) from None
            if head in _POLICY_FORBIDDEN:
                raise ScenarioError(label, f'policy[{i}].set."{key}"', f"a policy cannot change {head}")
            if isinstance(p.set[key], Mapping) and "." not in key and "[" not in key:
                raise ScenarioError(
                    label, f"policy[{i}].set.{key}",
                    f'write dotted keys in quotes, e.g. set = {{ "{key}.x" = 1 }}; unquoted, they make a '
                    f"table that would replace all of [{key}]",
                )
        try:
            current = with_values(current, p.set, source=f"{label}: policy[{i}].set")
        except ScenarioError as e:
            raise ScenarioError(e.source, e.path, e.message, e.value) from None
        if _structure(current) != before:
            raise ScenarioError(
                label, f"policy[{i}].set",
                "a policy may change values but not actors, suppliers, jurisdictions, grades, "
                "compositions, stockpile release lists, holidays or stages"
            )
        # The values it sets must also pass the cross-checks (grade and rework
        # stage names, renewal lead shorter than lifetime...).
        check_references(current, f"{label}: policy[{i}].set")
        if _grades(current) != grades_before:
            raise ScenarioError(
                label, f"policy[{i}].set",
                "a policy may change values but not actors, suppliers, jurisdictions, grades, "
                "compositions, holidays or stages"
            )
        steps.append(PolicyStep(day, i, tuple(p.set.items()), current))
    return tuple(steps)


def check_references(scn: Scenario, label: str) -> None:
    """Names that point at other entries must exist and be of the right kind."""
    kinds = {"mines": scn.mines, "separators": scn.separators, "magnet_makers": scn.magnet_makers, "automakers": scn.automakers}
    seen: dict[str, str] = {}
    for table, actors in {**kinds, "stockpiles": scn.stockpiles}.items():
        for i, a in enumerate(actors):
            if a.name in seen:
                raise ScenarioError(label, f"{table}[{i}].name", f"duplicate name (also in {seen[a.name]})", a.name)
            seen[a.name] = table
    upstream = {"separators": "mines", "magnet_makers": "separators", "automakers": "magnet_makers"}
    for table, supplier_table in upstream.items():
        allowed = {a.name for a in kinds[supplier_table]}
        for i, a in enumerate(kinds[table]):
            for j, s in enumerate(a.suppliers):  # type: ignore[attr-defined]
                if s.name in allowed:
                    continue
                path = f"{table}[{i}].suppliers[{j}].name"
                if s.name in seen:
                    msg = f"\"{s.name}\" is in {seen[s.name]}; {table.replace('_', ' ')} buy from {supplier_table.replace('_', ' ')}"
                    raise ScenarioError(label, path, msg)
                raise ScenarioError(
                    label, path, f"no {supplier_table.replace('_', ' ')[:-1]} of that name{_did_you_mean(s.name, allowed)}", s.name
                )
    for i, m in enumerate(scn.magnet_makers):
        if m.grade not in scn.grades:
            raise ScenarioError(
                label, f"magnet_makers[{i}].grade", f"no [grades.{m.grade}] table{_did_you_mean(m.grade, scn.grades)}", m.grade
            )
    lic = scn.licensing
    if lic.rework.probability > 0 and lic.rework.stage not in scn.stage_names():
        raise ScenarioError(
            label, "licensing.rework.stage", f"no stage of that name{_did_you_mean(lic.rework.stage, scn.stage_names())}", lic.rework.stage
        )
    if scn.automakers and not any(True for _ in scn.magnet_makers):
        raise ScenarioError(label, "automakers", "automakers need at least one magnet maker to buy from")
    if scn.controls.renewal_lead_days >= scn.controls.lifetime_days:
        raise ScenarioError(
            label, "controls.renewal_lead_days",
            f"must be shorter than lifetime_days ({scn.controls.lifetime_days:g})", scn.controls.renewal_lead_days,
        )


def validate_sweep_keys(scn: Scenario, label: str) -> None:
    """Each [sweep].grid value must be a valid value for its key."""
    for key, values in scn.sweep.grid.items():
        if not values:
            raise ScenarioError(label, f'sweep.grid."{key}"', "needs at least one value")
        for v in values:
            with_values(scn, {key: v}, source=f'{label}: sweep.grid."{key}"')


def load(
    path: str | Path | Mapping[str, Any],
    overrides: Iterable[str] | Mapping[str, Any] = (),
    label: str | None = None,
) -> Loaded:
    """Read, merge, override and validate a scenario. Raises ScenarioError."""
    if isinstance(path, Mapping):
        raw = copy.deepcopy(dict(path))
        raw.pop("extends", None)
        label = label or "<scenario>"
    else:
        p = Path(path)
        label = label or str(path)
        raw = _read_with_extends(p, label)
    set_locs: dict[str, str] = {}
    items = overrides.items() if isinstance(overrides, Mapping) else [_split_set(o) for o in overrides]
    for key, value in items:
        flag = f"--set {key}"
        typed = parse_value(value) if isinstance(value, str) and not isinstance(overrides, Mapping) else value
        before = copy.deepcopy(raw)
        try:
            loc = set_key(raw, key, typed)
        except (KeyError, ValueError) as e:
            # The path may run through a default the file does not spell out
            # (e.g. the default review stages): set it on the validated form.
            raw = before
            try:
                filled = Scenario.model_validate(raw).model_dump(by_alias=True, exclude_none=True)
                loc = set_key(filled, key, typed)
                raw = filled
            except (KeyError, ValueError, ValidationError):
                raise ScenarioError(flag.split(" ", 1)[0], key, _reason(e)) from None
        set_locs[format_loc(loc)] = "--set"
    try:
        scn = Scenario.model_validate(raw)
    except ValidationError as e:
        _raise_validation(label, e, set_locs)
        raise
    check_references(scn, label)
    timeline = build_timeline(scn, label)
    validate_sweep_keys(scn, label)
    return Loaded(scn, timeline, raw, label)


def _split_set(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise ScenarioError("--set", text, "must look like KEY=VALUE")
    key, value = text.split("=", 1)
    if not key.strip():
        raise ScenarioError("--set", text, "must look like KEY=VALUE")
    return key.strip(), value.strip()



__all__ = [
    "Loaded",
    "PolicyStep",
    "ScenarioError",
    "build_timeline",
    "get_key",
    "load",
    "parse_key",
    "parse_value",
    "set_key",
    "show_value",
    "with_values",
]
