"""The scenario-format reference documents the whole schema.

Every key that ``resim.scenario.Scenario`` accepts, at any depth, must appear
in docs/scenario-format.md as a backquoted key; and in the reference tables
(``| key | type / unit | default | meaning |``) each table must list exactly
the keys of the schema class it documents, with the schema's defaults. The
tables of the actor kinds are not kept by hand: they are what
``resim.scenario.reference`` writes from each registered kind's table class.
"""

from __future__ import annotations

import re
import tomllib
import typing
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from resim.model.actors import levers, mine
from resim.scenario import chain, markets, reference, registry, scenario_class, schema

from chain_fixtures import ROOT

DOC = ROOT / "docs" / "scenario-format.md"
#: The kinds' table classes by label ("[[mines]]"), from the registry.
KINDS: dict[str, type[BaseModel]] = {f"[[{k.table}]]": k.schema for k in registry.kinds()}
#: The schema classes by name (settings, chain tables, levers, kinds) and the whole document.
S = SimpleNamespace(**{**vars(schema), **vars(chain), **vars(levers)}, Outages=mine.Outages,
                    **{k.schema.__name__.removesuffix("Table"): k.schema for k in registry.kinds()},
                    Scenario=scenario_class())

#: Schema fields that are deliberately not user-facing. Keep this small and
#: say why for each entry; today every field is a documented scenario key.
INTERNAL: set[tuple[str, str]] = set()


def _models(tp: Any, seen: dict[type[BaseModel], None]) -> None:
    """Every pydantic model reachable from the type ``tp``: the model itself,
    and models inside its fields' types (lists, dicts, unions, Optional,
    Annotated and discriminated unions alike)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp in seen:
            return
        seen[tp] = None
        for field in tp.model_fields.values():
            _models(field.annotation, seen)
        return
    for arg in typing.get_args(tp):
        _models(arg, seen)


def _schema_models() -> list[type[BaseModel]]:
    seen: dict[type[BaseModel], None] = {}
    _models(S.Scenario, seen)
    return list(seen)


def _key(name: str, field: FieldInfo) -> str:
    """The key as written in a scenario file (``mean`` for ``mu``...)."""
    return field.alias or name


def undocumented(text: str) -> list[str]:
    """``Model.key`` for every schema key not written as `key` in ``text``."""
    return [
        f"{model.__name__}.{_key(name, field)}"
        for model in _schema_models()
        for name, field in model.model_fields.items()
        if (model.__name__, name) not in INTERNAL and f"`{_key(name, field)}`" not in text
    ]


def test_the_walk_reaches_nested_models() -> None:
    found = set(_schema_models())
    # through Optional, lists, discriminated unions and two levels of nesting
    for model in (S.Automaker, S.Stockpile, S.SupplierLink, S.AirFreight, S.AdaptiveTarget,
                  S.Emergency, S.Substitution, S.Recycling, S.Outages, S.Rework, S.Grade):
        assert model in found, model.__name__
    assert {"Constant", "Gamma", "Empirical"} <= {m.__name__ for m in found}


def test_every_schema_key_is_documented() -> None:
    missing = undocumented(DOC.read_text(encoding="utf-8"))
    assert not missing, f"not in {DOC.name}: {', '.join(missing)}"


def test_removing_a_documented_key_is_caught() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "`release_below_days`" in text
    assert undocumented(text.replace("`release_below_days`", "release_below_days")) == [
        "StockpileTable.release_below_days"
    ]


# ------------------------------------------------------------ reference tables

#: What each hand-written reference table documents, by the label that
#: introduces it: the first backquoted word of the paragraph just before the
#: table when there is one (sub-tables: "`rework` (inline table ..."), else the
#: section heading. (The kinds' tables, ``KINDS``, are generated.)
HAND_TABLES: dict[str, type[BaseModel]] = {
    "[scenario]": S.ScenarioMeta,
    "[controls]": S.Controls,
    "[[controls.general_licences]]": S.GeneralLicenceGrant,
    "[controls.customs]": S.Customs,
    "[licensing]": S.Licensing,
    "approval_path": S.RatePoint,
    "rework": S.Rework,
    "background": S.Background,
    "[[licensing.stages]]": S.Stage,
    "[grades.NAME]": S.Grade,
    "adaptive_target": S.AdaptiveTarget,
    "emergency": S.Emergency,
    "anticipation": S.Anticipation,
    "substitution": S.Substitution,
    "recycling": S.Recycling,
    "Supplier links": S.SupplierLink,
    "air_freight": S.AirFreight,
    "[[policy]]": S.Policy,
    "[[branch]]": S.Branch,
    "[sweep]": S.Sweep,
    "[output]": S.Output,
    "[markets]": markets.Markets,
    "[markets.items.NAME]": markets.Item,
    "[markets.thrift]": markets.Thrift,
    "[markets.destock]": markets.Destock,
    "[markets.supply]": markets.Supply,
    "[markets.reserves]": markets.Reserves,
    "[markets.spot]": markets.Spot,
    "[markets.substitution]": markets.GradeSubstitution,
}
TABLES = {**HAND_TABLES, **KINDS}

_HEADER = re.compile(r"^\|\s*key\s*\|\s*type / unit\s*\|\s*default\s*\|\s*meaning\s*\|$")
_KEY_CELL = re.compile(r"^`([A-Za-z_][A-Za-z0-9_]*)`$")
_LITERAL = re.compile(r"^`([^`]+)`$")


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def _label(lines: list[str], header: int) -> str:
    """The label of the table whose header is ``lines[header]``."""
    i = header - 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    if i >= 0 and not lines[i].startswith("#"):
        start = i
        while start > 0 and lines[start - 1].strip() and not lines[start - 1].startswith("#"):
            start -= 1
        intro = re.match(r"^`([^`]+)`", lines[start])
        if intro:
            return intro.group(1)
    while i >= 0 and not lines[i].startswith("#"):
        i -= 1
    return lines[i].lstrip("#").strip().replace("`", "") if i >= 0 else ""


def reference_tables(text: str) -> list[tuple[str, dict[str, list[str]]]]:
    """(label, {key: cells}) for every ``| key | type / unit | default | meaning |`` table."""
    lines = text.splitlines()
    out = []
    for n, line in enumerate(lines):
        if not _HEADER.match(line.strip()):
            continue
        rows: dict[str, list[str]] = {}
        for row in lines[n + 2:]:
            if not row.startswith("|"):
                break
            cells = _cells(row)
            key = _KEY_CELL.match(cells[0])
            assert key, f"row without a `key`: {row}"
            rows[key.group(1)] = cells
        out.append((_label(lines, n), rows))
    return out


def _fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    return {_key(name, f): f for name, f in model.model_fields.items()}


def _same(documented: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(documented, bool):
        return documented is default
    if isinstance(default, int | float) and isinstance(documented, int | float):
        return float(documented) == float(default)
    if isinstance(default, date) and isinstance(documented, str):
        return documented == default.isoformat()
    return documented == default


def _default(field: FieldInfo) -> Any:
    """The schema default, or a ``default_factory``'s plain list or dict."""
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return field.default


def test_every_reference_table_is_the_schema_table_it_documents() -> None:
    tables = reference_tables(DOC.read_text(encoding="utf-8"))
    labels = [label for label, _ in tables]
    assert sorted(labels) == sorted(TABLES), "a reference table was added, removed or renamed"
    for label, rows in tables:
        fields = _fields(TABLES[label])
        assert set(rows) == set(fields), (
            f"{label}: documented but not in the schema: {sorted(set(rows) - set(fields))}; "
            f"in the schema but not in the table: {sorted(set(fields) - set(rows))}"
        )


@pytest.mark.parametrize("label", sorted(TABLES))
def test_documented_defaults_match_the_schema(label: str) -> None:
    """``**required**`` rows are required, ``absent ...`` rows default to
    nothing, and a default written as one backquoted TOML literal equals the
    schema's. Other default cells (prose, "constant `7`") are not checked."""
    rows = dict(reference_tables(DOC.read_text(encoding="utf-8")))[label]
    fields = _fields(TABLES[label])
    checked = 0
    for key, cells in rows.items():
        field, cell = fields[key], cells[2]
        if cell == "**required**":
            assert field.is_required(), f"{label}.{key} is documented as required"
        elif cell.startswith("absent"):
            assert not field.is_required() and field.default is None, f"{label}.{key} has a default"
        elif lit := _LITERAL.match(cell):
            documented = tomllib.loads(f"v = {lit.group(1)}")["v"]
            assert not field.is_required(), f"{label}.{key} is required, not {cell}"
            assert _same(documented, _default(field)), (
                f"{label}.{key}: documented {cell}, schema default {_default(field)!r}"
            )
        else:
            continue
        checked += 1
    assert checked, f"no default of {label} could be checked"


# ------------------------------------------------------------ generated tables


def test_every_kind_has_its_generated_table() -> None:
    assert sorted(reference.generated_tables(DOC.read_text(encoding="utf-8"))) == sorted(
        k.table for k in registry.kinds())


def test_the_kind_tables_are_what_the_schema_generates() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert reference.refresh(text) == text, (
        "a kind's table class changed: run `python -m resim.scenario.reference docs/scenario-format.md`")


def test_a_table_edited_by_hand_is_caught() -> None:
    text = DOC.read_text(encoding="utf-8")
    edited = text.replace("| daily output |", "| output per day |")
    assert edited != text and reference.refresh(edited) == text


def test_generated_rows_say_type_unit_default_and_meaning() -> None:
    rows = {r.split("|")[1].strip(): [c.strip() for c in r.split("|")[2:-1]]
            for r in reference.table(S.Mine).splitlines()[2:]}
    assert rows["`output_t_per_day`"] == ["number ≥ 0, t concentrate / day", "**required**", "daily output"]
    assert rows["`dispatch_days`"][:2] == ["number ≥ 1, days", "`7.0`"]
    assert rows["`annual_quota_t`"][:2] == ["number > 0, t concentrate / calendar year, or absent", "absent"]
    separators = reference.table(S.Separator, registry.kind("separators"))
    assert "array of [supplier links](#supplier-links) to mines, at least 1" in separators
