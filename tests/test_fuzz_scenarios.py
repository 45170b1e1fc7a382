"""Fuzzing the loader: a valid scenario, mutated at random, either validates or
gives the one-line bad-input error (exit 2) naming a key; never another exit
code, never a traceback (SPEC §2: "no traceback reaches the user")."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resim.scenario import Scenario
from resim.scenario.tomlwriter import dumps

from scenario_helpers import cli, valid_dict

BASE = valid_dict()
TOP_KEYS = set(Scenario.model_fields)
FILE_LEVEL = ("TOML syntax error", "is empty", "has no keys", "no such file", "is a directory")

# ---------------------------------------------------------------- TOML values

# tomlwriter writes U+007F unescaped in strings and non-BMP characters in keys
# as surrogate escapes, both invalid TOML (reported separately); keep them out
# so the fuzzer exercises the schema rather than the writer.
_text = st.text(alphabet=st.characters(exclude_characters="\x7f", exclude_categories=("Cs",)), max_size=12)
_key_text = st.text(
    alphabet=st.characters(exclude_characters="\x7f", exclude_categories=("Cs",), max_codepoint=0xFFFF),
    min_size=1, max_size=8,
)
_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, 1, -1, 0.5, 1.5, -0.0, 1e308, 2**63, 10**6 + 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    _text,
    st.sampled_from(["inf", "6mo", "45d", "-3d", "1y", "2025-04-04", "uniform", "none", "N42SH", "JL MAG", ""]),
    st.dates(),
    st.datetimes(),
)
_keys = st.one_of(
    st.sampled_from(["name", "dist", "low", "high", "mean", "share", "transit", "value", "x", "set", "date"]),
    _key_text,
)
toml_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=6,
)

# dotted keys for [[policy]] set and --set, real and broken
SET_KEYS = [
    "licensing.approval_rate", "licensing.stages[1].reviewers", "licensing.stages[5].reviewers",
    "automakers[EU automaker].target_days", "automakers[Nobody].target_days", "controls.licence_mode",
    "controls.lifetime_days", "controls.renewal_lead_days", "licensing.rework.stage", "licensing.rework",
    "magnet_makers[0].grade", "mines[0].name", "scenario.seed", "licensing", "licensing..x", "", "[0]",
    "licensing.stages[-1].duration", "separators[0].suppliers[0].share", "sweep.grid", "x.y.z",
    "licensing.approval_rate.deeper", "automakers[0]", "automakers[-9].backlog", "grades.N42SH.content.Nd",
]

# ---------------------------------------------------------------- paths in a document


def _walk(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _walk(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _walk(v, (*prefix, i))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _retype(value: Any, choice: int) -> Any:
    """The same value in another TOML type."""
    if isinstance(value, bool):
        return [int(value), str(value).lower(), 1.0 if value else 0.0][choice % 3]
    if isinstance(value, int | float):
        return [str(value), [value], {"value": value}, value > 0, float(value) if isinstance(value, int) else int(value) if value == value and abs(value) != float("inf") else 0][choice % 5]
    if isinstance(value, str):
        return [[value], {"name": value}, len(value), value + "d", value.upper()][choice % 5]
    if isinstance(value, list):
        return [value[0] if value else {}, {"values": value}, str(value), []][choice % 4]
    if isinstance(value, dict):
        return [list(value.values()), [value], str(value), {}][choice % 4]
    return str(value)


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        paths = _walk(doc)[1:]
        if not paths:
            break
        kind = draw(st.sampled_from(["drop", "replace", "retype", "add", "policy", "duplicate"]))
        path = draw(st.sampled_from(paths))
        parent = _get(doc, path[:-1])
        if kind == "drop":
            del parent[path[-1]]
        elif kind == "replace":
            parent[path[-1]] = draw(toml_values)
        elif kind == "retype":
            parent[path[-1]] = _retype(parent[path[-1]], draw(st.integers(0, 4)))
        elif kind == "add":
            tables = [p for p in _walk(doc) if isinstance(_get(doc, p), dict)]
            table = _get(doc, draw(st.sampled_from(tables)))
            near = [k + "s" for k in table] + [k[:-1] for k in table if len(k) > 1]
            key = draw(st.sampled_from(near) | _keys) if near else draw(_keys)
            table[key] = draw(toml_values)
        elif kind == "policy":
            entry: dict[str, Any] = {draw(st.sampled_from(["date", "day"])): draw(
                st.sampled_from(["2025-07-01", "2024-01-01", 30, "6mo", -5, "soon"]) | _scalars)}
            entry["set"] = draw(st.dictionaries(st.sampled_from(SET_KEYS) | _keys, toml_values, max_size=2))
            if not isinstance(doc.get("policy"), list):
                doc["policy"] = []
            doc["policy"].append(entry)
        elif kind == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
    return doc


# ---------------------------------------------------------------- the contract


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def check_contract(res: Any, path: Path, doc: dict[str, Any] | None) -> None:
    assert res.code in (0, 2), (res.code, res.err)
    assert "Traceback" not in res.err + res.out
    if res.code == 0:
        assert res.err == ""
        return
    lines = res.err_lines
    assert len(lines) == 1, res.err
    line = lines[0]
    assert "internal error" not in line
    assert len(line) < 400, line
    if doc is None:  # --set: the message names the flag (or argparse's usage error)
        assert line.startswith(("--set: ", f"{path}: ", "resim validate: argument --set")), line
        return
    assert line.startswith(f"{path}: "), line
    rest = line[len(f"{path}: "):]
    if rest.startswith(FILE_LEVEL):
        return
    # the message names a key path first: its head is a top-level key
    if rest.startswith('["'):  # a key that is not a bare word: ["0"], ["a b"]
        return
    if rest.startswith("sweep design point "):  # a [sweep] point: it names its sweep.grid keys next
        assert 'sweep.grid."' in rest, line
        return
    head = re.split(r"[.\[:]", rest, maxsplit=1)[0]
    assert head in TOP_KEYS or head in doc, line


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(doc=mutated())
def test_mutated_scenario_validates_or_fails_cleanly(doc: dict[str, Any], workdir: Path) -> None:
    try:
        text = dumps(doc)
    except TypeError:  # a value the writer cannot express; not the loader's business
        return
    path = workdir / "mutant.toml"
    path.write_text(text, encoding="utf-8")
    check_contract(cli("validate", str(path)), path, doc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(SET_KEYS) | _keys,
    value=st.sampled_from(["0.4", "none", "inf", "nan", "-1", "[1, 2]", "{ a = 1 }", '"6mo"', "6mo", "", "=", "2025-05-01", "true"])
    | st.text(max_size=10),
)
def test_set_flag_fuzz(key: str, value: str, workdir: Path) -> None:
    path = workdir / "valid.toml"
    if not path.exists():
        path.write_text(dumps(BASE), encoding="utf-8")
    check_contract(cli("validate", str(path), "--set", f"{key}={value}"), path, None)
