"""Reading scenarios: TOML, ``extends``, ``--set``, durations, dates, distributions,
policies, and the one-line error contract (SPEC §2, §3)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

import resim
from resim.scenario import Scenario, checks, distributions, keys
from resim.scenario.errors import ScenarioError, show_value
from resim.scenario.units import parse_duration

from chain_fixtures import ROOT, SCENARIOS
from scenario_helpers import (
    VALID_TOML,
    assert_one_line_error,
    cli,
    cli_subprocess,
    valid_dict,
    write,
)


@pytest.fixture
def valid(tmp_path: Path) -> Path:
    return write(tmp_path / "valid.toml", VALID_TOML)


def load_text(tmp_path: Path, text: str, name: str = "s.toml", sets: tuple[str, ...] = ()):
    return resim.load_scenario(write(tmp_path / name, text), list(sets))


def error_of(tmp_path: Path, text: str, name: str = "s.toml", sets: tuple[str, ...] = ()) -> str:
    with pytest.raises(ScenarioError) as info:
        load_text(tmp_path, text, name, sets)
    msg = str(info.value)
    assert "\n" not in msg and len(msg.splitlines()) == 1, msg
    prefix = f"{tmp_path / name}: "
    assert msg.startswith(prefix) or msg.startswith("--set"), msg
    return msg.replace(f"{tmp_path}/", "")  # messages below are written relative


def replaced(old: str, new: str) -> str:
    assert VALID_TOML.count(old) == 1, old
    return VALID_TOML.replace(old, new)


# ---------------------------------------------------------------- valid files


def test_valid_file_loads_with_types(valid: Path) -> None:
    loaded = resim.load_scenario(valid)
    scn = loaded.scenario
    assert loaded.source == str(valid)
    assert scn.scenario.start_date == date(2025, 4, 4)
    assert scn.scenario.horizon == pytest.approx(2 * 365.25)
    assert scn.controls.lifetime_days == pytest.approx(365.25 / 2)
    assert scn.controls.renewal_lead_days == 60.0
    assert scn.licensing.holidays == [date(2025, 10, 1), date(2025, 10, 2)]
    assert scn.stage_names() == ["technical", "security", "issuance"]
    assert scn.licensing.stages[0].reviewers == 30
    assert math.isinf(scn.licensing.stages[2].reviewers)
    assert scn.licensing.stages[2].duration.dist == "constant"
    assert scn.licensing.stages[2].duration.mean == 7.0
    assert scn.separators[0].suppliers[0].transit.mean == 3.0
    assert scn.automakers[0].demand_t == pytest.approx(4.8)
    assert scn.automakers[1].demand_t == 2.5
    assert [a.name for a in scn.actors] == [
        "Bayan Obo", "Baotou separation", "JL MAG", "EU automaker", "US automaker"
    ]
    with pytest.raises(ValidationError):  # frozen parameters
        scn.licensing.approval_rate = 0.1  # type: ignore[misc]


def test_load_from_dict_and_defaults() -> None:
    loaded = resim.load_scenario({"licensing": {"approval_rate": 0.5}})
    scn = loaded.scenario
    assert loaded.source == "<scenario>"
    assert scn.licensing.approval_rate == 0.5
    assert not scn.has_supply_chain
    # defaults are validated objects, not raw dicts
    assert [s.name for s in scn.licensing.stages] == ["technical", "security", "issuance"]
    assert scn.licensing.stages[0].duration.mean == pytest.approx(17.5)
    assert scn.licensing.resubmit_days.mean == 20.0
    assert scn.licensing.rework.fix_days.mean == 10.0


def test_licensing_only_scenario_file(tmp_path: Path) -> None:
    scn = load_text(tmp_path, "[licensing]\nbackground = { applications_per_day = 5 }\n").scenario
    assert scn.licensing.background.applications_per_day == 5
    assert scn.automakers == []


def test_supplier_link_default_transit_is_a_distribution(tmp_path: Path) -> None:
    scn = load_text(tmp_path, replaced(', transit = "3d"', "")).scenario
    assert scn.separators[0].suppliers[0].transit.mean == 0.0
    assert scn.separators[0].suppliers[0].transit.sample(np.random.default_rng(0), 2).tolist() == [0, 0]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbf" + VALID_TOML.encode())
    assert resim.load_scenario(p).scenario.scenario.seed == 20250404


# ---------------------------------------------------------------- extends


def test_extends_relative_to_file_deep_merge_arrays_replace(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path / "base" / "baseline.toml", VALID_TOML)
    child = write(
        tmp_path / "base" / "variants" / "child.toml",
        'extends = "../baseline.toml"\n'
        "[scenario]\nname = \"child\"\n"
        "[controls]\ncontrolled_elements = [\"Dy\"]\n"
        "[licensing]\napproval_rate = 0.25\n"
        "[licensing.background]\ndestination = \"US\"\n"
        '[[licensing.stages]]\nname = "technical"\nduration = 5\n'
        '[[licensing.stages]]\nname = "security"\nduration = 6\n',
    )
    monkeypatch.chdir(tmp_path)  # extends is relative to the file, not the cwd
    scn = resim.load_scenario(child).scenario
    # tables merge key by key
    assert scn.scenario.name == "child"
    assert scn.scenario.seed == 20250404
    assert scn.scenario.horizon == pytest.approx(730.5)
    assert scn.licensing.approval_rate == 0.25
    assert scn.licensing.max_attempts == 3
    assert scn.licensing.background.destination == "US"
    assert scn.licensing.background.applications_per_day == 40
    # arrays replace
    assert scn.controls.controlled_elements == ["Dy"]
    assert scn.stage_names() == ["technical", "security"]
    assert scn.extends is None
    # untouched tables come from the base
    assert [a.name for a in scn.automakers] == ["EU automaker", "US automaker"]


def test_extends_chain(tmp_path: Path) -> None:
    write(tmp_path / "a.toml", "[scenario]\nname = \"a\"\nseed = 1\nreplications = 3\n")
    write(tmp_path / "sub" / "b.toml", 'extends = "../a.toml"\n[scenario]\nseed = 2\n')
    c = write(tmp_path / "sub" / "c.toml", 'extends = "b.toml"\n[scenario]\nreplications = 7\n')
    meta = resim.load_scenario(c).scenario.scenario
    assert (meta.name, meta.seed, meta.replications) == ("a", 2, 7)


@pytest.mark.parametrize(
    "files, start, fragments",
    [
        ({"c.toml": 'extends = "missing.toml"\n'}, "c.toml",
         ["c.toml: extends: no such file", 'got "missing.toml"']),
        ({"c.toml": "extends = 3\n"}, "c.toml", ["c.toml: extends:", "got 3"]),
        ({"c.toml": 'extends = "c.toml"\n'}, "c.toml", ["extends: makes a cycle", 'got "c.toml"']),
        ({"a.toml": 'extends = "b.toml"\n', "b.toml": 'extends = "a.toml"\n'}, "a.toml",
         ["b.toml: extends: makes a cycle", 'got "a.toml"']),
        ({"c.toml": 'extends = "p.toml"\n', "p.toml": "[scenario\n"}, "c.toml",
         ["p.toml: TOML syntax error"]),
        ({"c.toml": 'extends = "d"\n', "d/x.toml": "[scenario]\n"}, "c.toml",
         ["c.toml: extends: no such file", 'got "d"']),
    ],
)
def test_extends_errors(tmp_path: Path, files: dict[str, str], start: str, fragments: list[str]) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    with pytest.raises(ScenarioError) as info:
        resim.load_scenario(tmp_path / start)
    for frag in fragments:
        assert frag in str(info.value)


# ---------------------------------------------------------------- --set


def test_set_values_are_typed_by_toml(valid: Path) -> None:
    scn = resim.load_scenario(
        valid,
        [
            "licensing.approval_rate=0.4",
            "controls.licence_mode=none",
            "licensing.stages[1].reviewers=inf",
            "automakers[EU automaker].target_days=30",
            "scenario.start_date=2025-05-01",
            "scenario.replications=5.0",  # a whole float is the integer (--grid LO:HI:N makes these)
            'controls.lifetime_days="26w"',
            "controls.renewal_lead_days=45d",  # bare duration string
            "licensing.working_days=false",
            "automakers[-1].target_days=12",
        ],
    ).scenario
    assert scn.licensing.approval_rate == 0.4 and isinstance(scn.licensing.approval_rate, float)
    assert scn.controls.licence_mode == "none"
    assert math.isinf(scn.licensing.stages[1].reviewers)
    assert scn.automakers[0].target_days.mean == 30  # a distribution (per firm): here the constant 30
    assert scn.scenario.start_date == date(2025, 5, 1)
    assert scn.scenario.replications == 5 and type(scn.scenario.replications) is int
    assert scn.controls.lifetime_days == 182
    assert scn.controls.renewal_lead_days == 45
    assert scn.licensing.working_days is False
    assert scn.automakers[1].target_days.mean == 12


def test_set_key_parsing() -> None:
    assert keys.parse_key("licensing.stages[1].reviewers") == ["licensing", "stages", 1, "reviewers"]
    assert keys.parse_key("automakers[EU automaker].target_days") == [
        "automakers", ("name", "EU automaker"), "target_days"
    ]
    assert keys.parse_key('automakers["EU automaker"].x') == ["automakers", ("name", "EU automaker"), "x"]
    for bad in ("", "a..b", ".a", "a[", "a[]", "a.[0]"):
        with pytest.raises(ValueError):
            keys.parse_key(bad)
    assert keys.parse_value("0.4") == 0.4
    assert keys.parse_value("none") == "none"
    assert keys.parse_value("inf") == math.inf
    assert keys.parse_value("[1, 2]") == [1, 2]
    assert keys.parse_value("2025-05-01") == date(2025, 5, 1)


@pytest.mark.parametrize(
    "setting, fragments",
    [
        ("licensing.aproval_rate=0.4",
         ['--set: licensing.aproval_rate: unknown key "aproval_rate" (did you mean "approval_rate"?)']),
        ("licensing.approval_rate=high", ["--set: licensing.approval_rate: must be a number", 'got "high"']),
        ("licensing.approval_rate=1.5", ["--set: licensing.approval_rate: must be >= 0 and <= 1", "got 1.5"]),
        ("licensing.stages[1].reviewers=0", ["--set: licensing.stages[security].reviewers:", "got 0"]),
        ("licensing.stages[7].reviewers=3", ["--set: licensing.stages[7].reviewers:", "no [7]"]),
        ("automakers[EU automker].target_days=3",
         ['automakers has no entry named "EU automker" (did you mean "EU automaker"?)']),
        ("automakers[Nope].target_days=3", ['automakers has no entry named "Nope"']),
        ("licensing.approval_rate", ["--set: licensing.approval_rate: must look like KEY=VALUE"]),
        ("=3", ["--set", "must look like KEY=VALUE"]),
        ("licensing..x=3", ["--set: licensing..x: cannot read key"]),
        ("scenario.replications=10.5", ["--set: scenario.replications: must be a whole number", "got 10.5"]),
        ("scenario.replications=true", ["--set: scenario.replications: must be a whole number", "got true"]),
        ("controls.lifetime_days=6months", ["--set: controls.lifetime_days:", 'got "6months"']),
    ],
)
def test_set_errors_name_the_flag(valid: Path, setting: str, fragments: list[str]) -> None:
    with pytest.raises(ScenarioError) as info:
        resim.load_scenario(valid, [setting])
    msg = str(info.value)
    assert msg.startswith("--set")
    for frag in fragments:
        assert frag in msg


def test_set_mapping_overrides(valid: Path) -> None:
    scn = resim.load_scenario(valid, {"licensing.approval_rate": 0.3, "scenario.seed": 9}).scenario
    assert scn.licensing.approval_rate == 0.3 and scn.scenario.seed == 9


# ---------------------------------------------------------------- durations and dates


@pytest.mark.parametrize(
    "text, days",
    [("45d", 45.0), ("26w", 182.0), ("6mo", 182.625), ("1y", 365.25), ("12mo", 365.25),
     ("1.5w", 10.5), (" 3d ", 3.0), (30, 30.0), (2.5, 2.5), (0, 0.0)],
)
def test_durations(tmp_path: Path, text: object, days: float) -> None:
    assert parse_duration(text) == pytest.approx(days)
    value = json.dumps(text) if isinstance(text, str) else str(text)
    scn = load_text(tmp_path, f"[licensing]\nresubmit_days = {value}\n").scenario
    assert scn.licensing.resubmit_days.mean == pytest.approx(days)


@pytest.mark.parametrize("value", ['"45"', '"45 days"', '"1h"', '"-3d"', '""', "true", "-1", "nan", "inf", '"1e999d"'])
def test_bad_durations(tmp_path: Path, value: str) -> None:
    msg = error_of(tmp_path, f"[controls]\nlifetime_days = {value}\n")
    assert msg.startswith("s.toml: controls.lifetime_days: ")
    assert "got " in msg


@pytest.mark.parametrize("value", ['"2025-04-04"', "2025-04-04", '" 2025-04-04 "'])
def test_iso_dates(tmp_path: Path, value: str) -> None:
    scn = load_text(tmp_path, f"[scenario]\nstart_date = {value}\n").scenario
    assert scn.scenario.start_date == date(2025, 4, 4)


@pytest.mark.parametrize(
    "value, shown",
    [('"2025-13-01"', '"2025-13-01"'), ('"04/04/2025"', '"04/04/2025"'), ("20250404", "20250404"),
     ("2025-04-04T10:00:00", "2025-04-04T10:00:00"), ("10:30:00", "10:30:00"), ("true", "true")],
)
def test_bad_dates(tmp_path: Path, value: str, shown: str) -> None:
    msg = error_of(tmp_path, f"[scenario]\nstart_date = {value}\n")
    assert msg == f"s.toml: scenario.start_date: must be an ISO date like 2025-04-04, got {shown}"


def test_policy_day_and_date_become_days(valid: Path) -> None:
    loaded = resim.load_scenario(valid)
    days = [step.day for step in loaded.timeline]
    assert days == [float((date(2025, 6, 27) - date(2025, 4, 4)).days), 210.0]


# ---------------------------------------------------------------- distributions

DISTS = [
    {"dist": "constant", "value": 4},
    {"dist": "constant", "value": "2w"},
    {"dist": "uniform", "low": 10, "high": 30},
    {"dist": "uniform", "low": "1w", "high": "3w"},
    {"dist": "triangular", "low": 5, "mode": 10, "high": 30},
    {"dist": "triangular", "low": 5, "mode": 5, "high": 5},
    {"dist": "normal", "mean": 20, "sd": 4},
    {"dist": "normal", "mean": 2, "sd": 3},  # truncation at 0 matters here
    {"dist": "normal", "mean": 5, "sd": 0},
    {"dist": "lognormal", "mean": 12, "cv": 0.3},
    {"dist": "lognormal", "mean": 12, "cv": 0},
    {"dist": "exponential", "mean": 7},
    {"dist": "gamma", "shape": 2.5, "scale": 4},
    {"dist": "gamma", "mean": 10, "cv": 0.5},
    {"dist": "empirical", "values": [1, 2, 10]},
    {"dist": "empirical", "values": [30, 35, "6w"], "weights": [1, 2, 1]},
    5,
    "3d",
]


@pytest.mark.parametrize("spec", DISTS, ids=lambda s: s["dist"] if isinstance(s, dict) else repr(s))
def test_distribution_sample_mean_matches_mean(spec: object) -> None:
    d = distributions.make(spec)
    n = 200_000
    x = d.sample(np.random.default_rng(12345), n)
    assert x.shape == (n,)
    assert (x >= 0).all() and np.isfinite(x).all()
    se = x.std(ddof=1) / math.sqrt(n)
    assert abs(x.mean() - d.mean) <= 5 * se + 1e-9 * max(1.0, abs(d.mean)), (x.mean(), d.mean, se)


def test_distribution_kinds_known_means() -> None:
    assert distributions.make({"dist": "uniform", "low": 10, "high": 30}).mean == 20
    assert distributions.make({"dist": "triangular", "low": 5, "mode": 10, "high": 30}).mean == 15
    assert distributions.make({"dist": "gamma", "shape": 2.5, "scale": 4}).mean == 10
    assert distributions.make({"dist": "empirical", "values": [30, 35, 40], "weights": [1, 2, 1]}).mean == 35
    assert distributions.make({"dist": "normal", "mean": 2, "sd": 3}).mean > 2  # truncated at 0
    assert distributions.make("1y").mean == 365.25


@pytest.mark.parametrize(
    "spec, fragments",
    [
        ('{ dist = "uniform", low = 30, high = 10 }', ["low (30) must be <= high (10)"]),
        ('{ dist = "triangular", low = 5, mode = 40, high = 30 }', ["needs low <= mode <= high"]),
        ('{ dist = "normal", mean = 5, sd = -1 }', ["resubmit_days.sd: must be >= 0", "got -1"]),
        ('{ dist = "lognormal", mean = 0, cv = 0.5 }', ["resubmit_days.mean: must be > 0", "got 0"]),
        ('{ dist = "exponential", mean = -2 }', ["resubmit_days.mean:", "got -2"]),
        ('{ dist = "gamma", shape = 2 }', ["give either shape and scale, or mean and cv"]),
        ('{ dist = "empirical", values = [] }', ["resubmit_days.values: must not be empty"]),
        ('{ dist = "empirical", values = [1, 2], weights = [1] }', ["weights has 1 entries but values has 2"]),
        ('{ dist = "weibull", shape = 2 }', ["resubmit_days: dist must be one of", 'got "weibull"']),
        ("{ low = 1, high = 2 }", ["resubmit_days: needs a dist key"]),
        ('{ dist = "uniform", low = 1, hi = 2 }', ['resubmit_days.hi: unknown key "hi" (did you mean "high"?)']),
        ('{ dist = "normal", maen = 5, sd = 1 }', ['resubmit_days.maen: unknown key "maen" (did you mean "mean"?)']),
        ("true", ["resubmit_days: must be a number of days", "got true"]),
        ('"3 days"', ["licensing.resubmit_days: must be a number of days", 'got "3 days"']),
    ],
)
def test_bad_distributions(tmp_path: Path, spec: str, fragments: list[str]) -> None:
    msg = error_of(tmp_path, f"[licensing]\nresubmit_days = {spec}\n")
    assert msg.startswith("s.toml: licensing.resubmit_days")
    for frag in fragments:
        assert frag in msg


# ---------------------------------------------------------------- error classes


@pytest.mark.parametrize(
    "old, new, fragments",
    [
        ("approval_rate = 0.6", "approval_rate = nan", ["licensing.approval_rate: must be a finite number, got nan"]),
        ("approval_rate = 0.6", "approval_rate = -inf", ["licensing.approval_rate:", "got -inf"]),
        ("approval_rate = 0.6", 'approval_rate = "0.6"', ["licensing.approval_rate: must be a number", 'got "0.6"']),
        ("approval_rate = 0.6", "approval_rate = true", ["licensing.approval_rate: must be a number, got true"]),
        ("approval_rate = 0.6", "aproval_rate = 0.6",
         ['licensing.aproval_rate: unknown key "aproval_rate" (did you mean "approval_rate"?)']),
        ("[sweep]", "[swep]", ['swep: unknown key "swep" (did you mean "sweep"?)']),
        ("replications = 20", "replications = 0", ["scenario.replications: must be >= 1 and <= 1000000, got 0"]),
        ("replications = 20", "replications = 2.5", ["scenario.replications: must be a whole number", "got 2.5"]),
        ("reviewers = 30", "reviewers = 0", ['licensing.stages[technical].reviewers: must be >= 1 or "inf", got 0']),
        ("reviewers = 30", "reviewers = 2.5", ["licensing.stages[technical].reviewers:", "got 2.5"]),
        ('horizon = "2y"', "horizon = 0", ["scenario.horizon: must be at least 1 day, got 0"]),
        ('licence_mode = "general"', 'licence_mode = "sometimes"',
         ["controls.licence_mode: must be one of", 'got "sometimes"']),
        ('grade = "N42SH"', 'grade = "N42XX"',
         ['magnet_makers[JL MAG].grade: no [grades.N42XX] table (did you mean "N42SH"?), got "N42XX"']),
        ('suppliers = [{ name = "Bayan Obo"', 'suppliers = [{ name = "Bayan Obi"',
         ['separators[Baotou separation].suppliers[Bayan Obi].name: no mine of that name (did you mean "Bayan Obo"?), got "Bayan Obi"']),
        ('stage = "technical"', 'stage = "techincal"',
         ['licensing.rework.stage: no stage of that name (did you mean "technical"?), got "techincal"']),
        ('name = "US automaker"', 'name = "EU automaker"',
         ['automakers[1].name: duplicate name (also in automakers), got "EU automaker"']),
        ("content = { Nd = 0.235", "content = { nd = 0.235",
         ['grades.N42SH.content.nd: element symbols look like "Nd" or "Dy", got "nd"']),
        ("approval_by_end_use = { civil", "approval_by_end_use = { civilian",
         ["licensing.approval_by_end_use.civilian: key must be one of", 'got "civilian"']),
        ('date = "2025-06-27"', 'date = "2025-06-31"', ['policy[0].date: must be an ISO date', 'got "2025-06-31"']),
    ],
)
def test_error_messages(tmp_path: Path, old: str, new: str, fragments: list[str]) -> None:
    msg = error_of(tmp_path, replaced(old, new), name="my_scenario.toml")
    assert msg.startswith("my_scenario.toml: ")
    for frag in fragments:
        assert frag in msg


def test_error_for_syntax_empty_binary_directory_missing(tmp_path: Path) -> None:
    assert "TOML syntax error" in error_of(tmp_path, "[scenario\n")
    assert "is empty" in error_of(tmp_path, "")
    assert "only comments" in error_of(tmp_path, "# nothing here\n\n")
    (tmp_path / "bin.toml").write_bytes(bytes(range(256)))
    with pytest.raises(ScenarioError, match=r"bin\.toml: is not a UTF-8 text file"):
        resim.load_scenario(tmp_path / "bin.toml")
    (tmp_path / "nul.toml").write_bytes(b"[scenario]\x00\n")
    with pytest.raises(ScenarioError, match="NUL"):
        resim.load_scenario(tmp_path / "nul.toml")
    with pytest.raises(ScenarioError, match="is a directory"):
        resim.load_scenario(tmp_path)
    with pytest.raises(ScenarioError, match="nope.toml: no such file"):
        resim.load_scenario(tmp_path / "nope.toml")


def test_messages_stay_on_one_line(tmp_path: Path) -> None:
    msg = error_of(tmp_path, '[scenario]\n"a\\nb\\u2028c\\rd" = 1\n')
    assert "unknown key" in msg and "\\n" in msg
    msg = error_of(tmp_path, '[scenario]\nname = 3\n[controls]\nlicence_mode = "x\\ny"\n')
    assert msg.startswith("s.toml: scenario.name: must be a string, got 3")
    msg = error_of(tmp_path, '[controls]\nlicence_mode = "a\\nb"\n')
    assert 'got "a\\nb"' in msg
    long_key = "k" * 5000
    msg = error_of(tmp_path, f'[scenario]\n{long_key} = 1\n')
    assert len(msg) < 300


def test_deep_nesting_is_bad_input_not_a_crash(tmp_path: Path, valid: Path) -> None:
    assert "nested too deeply" in error_of(tmp_path, "[scenario]\nname = " + "[" * 3000 + "]" * 3000 + "\n")
    assert "nested too deeply" in error_of(tmp_path, "[scenario]\nname = " + "{a=" * 40 + "1" + "}" * 40 + "\n")
    with pytest.raises(ScenarioError, match="--set: licensing.approval_rate: must be a number"):
        resim.load_scenario(valid, ["licensing.approval_rate=" + "[" * 3000 + "]" * 3000])


def test_first_of_several_problems_is_reported_with_a_count(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "[scenario]\nreplications = 0\nseed = -1\n")
    assert msg.startswith("s.toml: scenario.replications: must be >= 1 and <= 1000000, got 0")
    assert msg.endswith("(+1 more problem)")


def test_show_value_is_toml_like() -> None:
    assert show_value(True) == "true"
    assert show_value(float("nan")) == "nan"
    assert show_value(float("-inf")) == "-inf"
    assert show_value("a\nb") == '"a\\nb"'
    assert show_value(date(2025, 1, 2)) == "2025-01-02"
    assert show_value([1, {"name": "x"}]) == '[1, { name = "x" }]'
    assert len(show_value("x" * 1000)) == 60


# ---------------------------------------------------------------- policies


def test_policy_timeline_is_cumulative_and_sorted(tmp_path: Path) -> None:
    text = replaced(
        '[[policy]]\ndate = "2025-06-27"',
        '[[policy]]\nday = 400\nset = { "licensing.max_attempts" = 5 }\n\n[[policy]]\ndate = "2025-06-27"',
    )
    loaded = load_text(tmp_path, text)
    steps = loaded.timeline
    assert [s.index for s in steps] == [1, 2, 0]  # by day: 84, 210, 400
    assert steps[0].scenario.licensing.approval_rate == 0.8
    assert steps[1].scenario.controls.licence_mode == "per_shipment"
    assert steps[1].scenario.licensing.stages[1].reviewers == 20
    assert steps[1].scenario.licensing.approval_rate == 0.8  # cumulative
    assert steps[2].scenario.licensing.max_attempts == 5
    assert loaded.scenario.licensing.approval_rate == 0.6  # the base is untouched


@pytest.mark.parametrize(
    "policy_set, fragments",
    [
        ('{ "licensing.aproval_rate" = 0.6 }',
         ["s.toml: policy[0].set: licensing.aproval_rate: unknown key", '(did you mean "approval_rate"?)']),
        ('{ "licensing.approval_rate" = 7 }', ["policy[0].set: licensing.approval_rate: must be >= 0 and <= 1", "got 7"]),
        ('{ "licensing.approval_rate" = nan }', ["policy[0].set: licensing.approval_rate:", "got nan"]),
        ('{ "controls.licence_mode" = "sometimes" }', ["policy[0].set: controls.licence_mode:", 'got "sometimes"']),
        ('{ "scenario.seed" = 3 }', ['policy[0].set."scenario.seed": a policy cannot change scenario']),
        ('{ "mines[0].name" = "x" }', ["policy[0].set: a policy may change values but not actors"]),
        ('{ "licensing..x" = 1 }', ['policy[0].set."licensing..x": cannot read key']),
        ('{ "" = 1 }', ['policy[0].set."": empty key']),
        ('{ "automakers[Nobody].target_days" = 1 }', ['automakers has no entry named "Nobody"']),
        ('{ "licensing.rework.stage" = "nope" }', ["policy[0].set: licensing.rework.stage: no stage", 'got "nope"']),
        ('{ "magnet_makers[0].grade" = "N99" }', ["policy[0].set: magnet_makers[JL MAG].grade:", 'got "N99"']),
        ('{ "controls.renewal_lead_days" = 400 }', ["policy[0].set: controls.renewal_lead_days: must be shorter"]),
        ("{}", ["policy[0].set: must not be empty"]),
    ],
)
def test_policy_errors_name_the_entry(tmp_path: Path, policy_set: str, fragments: list[str]) -> None:
    msg = error_of(tmp_path, replaced('set = { "licensing.approval_rate" = 0.8 }', f"set = {policy_set}"))
    for frag in fragments:
        assert frag in msg


@pytest.mark.parametrize(
    "entry, fragment",
    [
        ('date = "2025-06-27"\nday = 3\nset = { "licensing.approval_rate" = 0.5 }', "policy[2]: give exactly one of date or day"),
        ('set = { "licensing.approval_rate" = 0.5 }', "policy[2]: give exactly one of date or day"),
        ('day = 3\nsets = { "licensing.approval_rate" = 0.5 }', 'policy[2].sets: unknown key "sets" (did you mean "set"?)'),
        ('day = "3 weeks"\nset = { "licensing.approval_rate" = 0.5 }', 'policy[2].day:'),
        ('day = 3\nset = 0.5', "policy[2].set: must be a table, got 0.5"),
    ],
)
def test_policy_entry_errors(tmp_path: Path, entry: str, fragment: str) -> None:
    assert fragment in error_of(tmp_path, VALID_TOML.replace("[sweep]", f"[[policy]]\n{entry}\n\n[sweep]"))


# ---------------------------------------------------------------- wiring


def test_supply_cycle_detected_by_the_graph_check() -> None:
    # The loader only lets each tier buy from the tier above (mines -> separators
    # -> magnet makers -> automakers), so a cycle cannot be written in a scenario
    # file; the graph check's cycle detection is tested on a model built directly.
    scn = Scenario.model_validate({
        "separators": [
            {"name": "A", "jurisdiction": "CN", "capacity_t_per_day": 1, "suppliers": [{"name": "B"}]},
            {"name": "B", "jurisdiction": "CN", "capacity_t_per_day": 1, "suppliers": [{"name": "C"}]},
            {"name": "C", "jurisdiction": "CN", "capacity_t_per_day": 1, "suppliers": [{"name": "A"}]},
        ]
    })
    with pytest.raises(ScenarioError) as info:
        checks.check_graph(scn, "cyc.toml")
    assert str(info.value) == "cyc.toml: suppliers: supply cycle: A -> B -> C -> A"
    scn = Scenario.model_validate({
        "separators": [
            {"name": "S", "jurisdiction": "CN", "capacity_t_per_day": 1, "suppliers": [{"name": "S"}]},
        ]
    })
    with pytest.raises(ScenarioError, match="supply cycle: S -> S"):
        checks.check_graph(scn, "cyc.toml")


def test_cycle_through_tiers_is_refused_by_the_loader(tmp_path: Path) -> None:
    text = replaced('suppliers = [{ name = "Bayan Obo"', 'suppliers = [{ name = "JL MAG"')
    msg = error_of(tmp_path, text)
    assert 'separators[Baotou separation].suppliers[JL MAG].name: "JL MAG" is in magnet_makers; separators buy from mines' in msg


def test_grade_elements_must_come_from_upstream_mines(tmp_path: Path) -> None:
    msg = error_of(tmp_path, replaced("composition = { Nd = 0.17, Pr = 0.05, Dy = 0.002, Tb = 0.0005 }",
                                      "composition = { Nd = 0.17, Pr = 0.05 }"))
    assert msg == ('s.toml: magnet_makers[JL MAG].grade: grade "N42SH" needs Dy, Tb, '
                   "which none of this maker's upstream mines produce")


# ---------------------------------------------------------------- command line


def test_validate_exit_codes(tmp_path: Path, valid: Path) -> None:
    res = cli("validate", str(valid))
    assert res.code == 0 and res.err == ""
    assert res.out.startswith(f"{valid}: ok (2 automakers, 1 magnet maker, 3 review stages, 2 policy changes)")
    bad = write(tmp_path / "bad.toml", replaced("replications = 20", "replications = 0"))
    assert_one_line_error(cli("validate", str(bad)), f"{bad}: scenario.replications: must be >= 1 and <= 1000000, got 0")
    # several files: every bad one reported, one line each; good ones still checked
    bad2 = write(tmp_path / "bad2.toml", "[scenario\n")
    res = cli("validate", str(bad), str(valid), str(bad2))
    assert res.code == 2
    assert len(res.err_lines) == 2 and "bad.toml" in res.err_lines[0] and "bad2.toml" in res.err_lines[1]
    assert "valid.toml: ok" in res.out
    res = cli("validate", str(valid), "--set", "licensing.approval_rate=2")
    assert_one_line_error(res, "--set: licensing.approval_rate: must be >= 0 and <= 1")


def test_schema_is_json_schema() -> None:
    res = cli("schema")
    assert res.code == 0
    schema = json.loads(res.out)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    top = set(tomllib.loads(VALID_TOML)) | {"extends", "output"}
    assert top <= set(schema["properties"])
    refs = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(node["$ref"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    for ref in refs:
        assert ref.startswith("#/$defs/") and ref.split("/")[-1] in schema["$defs"], ref
    licensing = schema["$defs"]["Licensing"]
    assert "approval_rate" in licensing["properties"]
    assert licensing["additionalProperties"] is False


@pytest.mark.slow
def test_cli_subprocess_bad_run_writes_nothing(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", replaced("approval_rate = 0.6", "approval_rate = 1.5"))
    out = tmp_path / "out"
    res = cli_subprocess("run", str(bad), "--out", str(out))
    assert_one_line_error(res, f"{bad}: licensing.approval_rate: must be >= 0 and <= 1", "got 1.5")
    assert not out.exists()
    # `python -m resim FILE` is `resim run FILE`; bad --set is bad input too
    good = write(tmp_path / "good.toml", VALID_TOML)
    res = cli_subprocess(str(good), "--out", str(out), "--set", "licensing.stages[1].reviewers=-1")
    assert_one_line_error(res, "--set: licensing.stages[security].reviewers:", "got -1")
    assert not out.exists()
    res = cli_subprocess("validate", str(good), str(tmp_path / "missing.toml"))
    assert_one_line_error(res, "missing.toml: no such file")
    assert "good.toml: ok" in res.out


def test_cli_subprocess_schema_and_usage(tmp_path: Path) -> None:
    res = cli_subprocess("schema")
    assert res.code == 0
    assert "Scenario" in json.loads(res.out)["title"]
    res = cli_subprocess("run", str(tmp_path / "x.toml"), "--workers", "0")
    assert_one_line_error(res, "--workers", "must be >= 1")


def test_valid_dict_roundtrips_through_writer(tmp_path: Path) -> None:
    from resim.scenario.tomlwriter import dumps

    p = write(tmp_path / "rt.toml", dumps(valid_dict()))
    assert resim.load_scenario(p).scenario == resim.load_scenario(write(tmp_path / "v.toml", VALID_TOML)).scenario


def test_validate_needs_no_simulation_dependencies() -> None:
    # `resim validate` runs where only the scenario's dependencies are installed
    # (editors, pre-commit hooks): it must not import SimPy, pandas, matplotlib
    # or the TOML writer.
    code = ("import sys; from resim.cli import main; "
            f"rc = main(['validate', *{[str(p) for p in sorted(SCENARIOS.glob('*.toml'))]!r}]); "
            "loaded = {'simpy', 'pandas', 'matplotlib', 'tomli_w'} & set(sys.modules); "
            "assert rc == 0 and not loaded, (rc, loaded)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)
