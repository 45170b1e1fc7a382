"""Reference tables of scenario keys, written from the schema classes.

Each kind's table in docs/scenario-format.md (``| key | type / unit | default
| meaning |``) is generated from its table class: the key, its type and
bounds (from the annotation), its unit and meaning (``types.param``'s
``unit`` and ``doc``) and its default. So a new kind documents itself, and the
documentation cannot drift from the schema: tests/test_docs.py checks that
the committed text is what ``refresh`` writes.

    resim schema --markdown magnet_makers               # one kind's block, to paste
    python -m resim.scenario.reference docs/scenario-format.md   # rewrite every block
"""

from __future__ import annotations

import json
import re
import sys
import types
import typing
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal, Union

import annotated_types as at
from pydantic import AfterValidator, BaseModel, BeforeValidator
from pydantic.fields import FieldInfo

from . import registry
from .chain import SupplierLink
from .units import parse_duration

HEADER = "| key | type / unit | default | meaning |\n|---|---|---|---|"
MARKER = "<!-- generated from the schema by `resim schema --markdown {table}`: edit the schema, not this table -->"
_MARKER = re.compile(r"^<!-- generated from the schema by `resim schema --markdown (\w+)`")
#: Bounds as they read either side of ``x``: ``0 < x ≤ 1``.
_LOWER = ((at.Gt, "gt", "<"), (at.Ge, "ge", "≤"))
_UPPER = ((at.Lt, "lt", "<"), (at.Le, "le", "≤"))


def _flat(metadata: typing.Iterable[Any]) -> list[Any]:
    """Constraints and validators, with those inside ``Field(...)`` unpacked."""
    out: list[Any] = []
    for m in metadata:
        out.extend(_flat(m.metadata) if isinstance(m, FieldInfo) else [m])
    return out


def _validates_with(meta: list[Any], func: Any) -> bool:
    return any(isinstance(m, BeforeValidator | AfterValidator) and m.func is func for m in meta)


def _bound(meta: list[Any], which: tuple[tuple[type, str, str], ...]) -> tuple[str, float] | None:
    return next(((sym, getattr(m, attr)) for cls, attr, sym in which for m in meta if isinstance(m, cls)), None)


def _bounds(word: str, meta: list[Any]) -> str:
    """``number ≥ 0``, or ``number, 0 < x ≤ 1`` with bounds on both sides."""
    lo, hi = _bound(meta, _LOWER), _bound(meta, _UPPER)
    if lo and hi:
        return f"{word}, {lo[1]:g} {lo[0]} x {hi[0]} {hi[1]:g}"
    if lo:
        return f"{word} {'>' if lo[0] == '<' else '≥'} {lo[1]:g}"
    return f"{word} {hi[0]} {hi[1]:g}" if hi else word


def _at_least(meta: list[Any], what: str) -> str:
    n = next((m.min_length for m in meta if isinstance(m, at.MinLen)), 0)
    return f", at least {n}{what}" if n else ""


def _is_distribution(tp: Any) -> bool:
    members = typing.get_args(tp) if typing.get_origin(tp) in (Union, types.UnionType) else ()
    return bool(members) and all(isinstance(m, type) and issubclass(m, BaseModel) and "dist" in m.model_fields
                                 for m in members)


def _scalar(tp: Any, meta: list[Any]) -> str | None:
    """Words for a number, string, flag or date (None for anything else)."""
    if tp is float:
        return "duration" if _validates_with(meta, parse_duration) else _bounds("number", meta)
    if tp is str:
        return "element" if any(isinstance(m, AfterValidator) for m in meta) else "string"
    return _bounds("whole number", meta) if tp is int else _PLAIN.get(tp)


_PLAIN: dict[Any, str] = {bool: "boolean", date: "date"}


def words(tp: Any, meta: list[Any] | None = None, kind: registry.ActorKind | None = None) -> str:
    """The type of a key in words: ``number ≥ 0``, ``array of strings, at least 1``."""
    meta = list(meta or [])
    if typing.get_origin(tp) is Annotated:
        return words(tp.__origin__, [*_flat(tp.__metadata__), *meta], kind)
    if _is_distribution(tp):
        return "distribution"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "table of " + ", ".join(f"`{_key(n, f)}`" for n, f in tp.model_fields.items())
    compound = _COMPOUND.get(typing.get_origin(tp))
    if compound is not None:
        return compound(typing.get_args(tp), meta, kind)
    return _scalar(tp, _flat(meta)) or getattr(tp, "__name__", str(tp))


def _literal_words(args: tuple[Any, ...], meta: list[Any], kind: registry.ActorKind | None) -> str:
    return ", ".join(f"`{json.dumps(a)}`" for a in args)


def _union_words(args: tuple[Any, ...], meta: list[Any], kind: registry.ActorKind | None) -> str:
    return " or ".join(words(a, kind=kind) for a in args if a is not type(None))


def _list_words(args: tuple[Any, ...], meta: list[Any], kind: registry.ActorKind | None) -> str:
    return f"array of {_plural(args[0], kind)}{_at_least(meta, '')}"


def _dict_words(args: tuple[Any, ...], meta: list[Any], kind: registry.ActorKind | None) -> str:
    return f"table {words(args[0])} → {words(args[1])}{_at_least(meta, ' entry')}"


_COMPOUND: dict[Any, Callable[[tuple[Any, ...], list[Any], registry.ActorKind | None], str]] = {
    Literal: _literal_words, Union: _union_words, types.UnionType: _union_words, list: _list_words, dict: _dict_words,
}


def _plural(tp: Any, kind: registry.ActorKind | None) -> str:
    if tp is SupplierLink:
        sources = " or ".join(k.plural for k in registry.suppliers_of(kind)) if kind is not None else ""
        return "[supplier links](#supplier-links)" + (f" to {sources}" if sources else "")
    return words(tp, kind=kind) + "s"


def _key(name: str, field: FieldInfo) -> str:
    return field.alias or name


def _literal(value: Any) -> str:
    """A default as the TOML literal a file would write (a constant
    distribution as ``constant `7```)."""
    if isinstance(value, dict) and value.get("dist") == "constant" and set(value) == {"dist", "value"}:
        return f"constant `{value['value']:g}`"
    if isinstance(value, bool | str | list | dict):
        return f"`{json.dumps(value)}`"  # JSON spells these as TOML does
    return f"`{value!r}`"


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
    return "absent" if value is None else _literal(value)


def _optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (Union, types.UnionType) and type(None) in typing.get_args(hint)


def _row(model: type[BaseModel], name: str, field: FieldInfo, kind: registry.ActorKind | None) -> str:
    hint = typing.get_type_hints(model, include_extras=True)[name]
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    cells = [words(hint, list(field.metadata), kind), str(extra.get("unit") or "")]
    kind_cell = ", ".join(c for c in cells if c) + (", or absent" if _optional(hint) else "")
    meaning = (field.description or "").replace("|", "\\|")
    return f"| `{_key(name, field)}` | {kind_cell} | {default_text(field)} | {meaning} |"


def table(model: type[BaseModel], kind: registry.ActorKind | None = None) -> str:
    """The reference table of a schema class (of ``kind``, for its supplier links)."""
    rows = [_row(model, name, field, kind) for name, field in model.model_fields.items()]
    return "\n".join([HEADER, *rows])


def block(kind: registry.ActorKind) -> str:
    """A kind's generated block: the marker line and its table."""
    return MARKER.format(table=kind.table) + "\n" + table(kind.schema, kind)


def section(kind: registry.ActorKind) -> str:
    """A whole section for a new kind: heading, its class's summary, its block."""
    summary = (kind.schema.__doc__ or "").strip().split("\n\n")[0]
    summary = " ".join(line.strip() for line in summary.splitlines())
    return f"### `[[{kind.table}]]`\n\n{summary}\n\n{block(kind)}\n"


def refresh(text: str) -> str:
    """``text`` with every generated block rewritten from the schema."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        found = _MARKER.match(lines[i])
        if not found:
            out.append(lines[i])
            i += 1
            continue
        out.extend(block(registry.kind(found.group(1))).splitlines())
        i += 1
        while i < len(lines) and lines[i].startswith("|"):
            i += 1
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def generated_tables(text: str) -> list[str]:
    """The tables whose blocks ``text`` holds."""
    return [m.group(1) for line in text.splitlines() if (m := _MARKER.match(line))]


def main(argv: list[str]) -> int:
    """Rewrite the generated blocks of each file named."""
    for path in argv:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(refresh(text))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
