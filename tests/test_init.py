"""``resim init``: a minimal scenario that runs as is, and the doc that opens with it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from procs import resim_here

import resim
from resim.cli import main
from resim.cli.init import scenario_text

from chain_fixtures import ROOT

DOC = ROOT / "docs" / "scenario-format.md"


def test_init_writes_a_commented_scenario_with_one_chain_a_two_stage_office_and_a_policy(tmp_path: Path) -> None:
    p = resim_here(["init", "eu_stock.toml"], tmp_path)
    assert p.returncode == 0, p.stderr
    path = tmp_path / "eu_stock.toml"
    text = path.read_text(encoding="utf-8")
    assert text == scenario_text("eu_stock.toml")
    assert sum(line.lstrip().startswith("#") or " # " in line for line in text.splitlines()) >= 20  # commented
    s = resim.load_scenario(path).scenario
    assert s.scenario.name == "eu stock"
    assert [len(t) for t in (s.mines, s.separators, s.magnet_makers, s.automakers)] == [1, 1, 1, 1]
    assert len(s.licensing.stages) == 2 and len(s.policy) == 1
    assert s.controls.licence_mode != "none"  # the office has work: the automaker is abroad
    assert resim_here(["validate", str(path)], tmp_path).returncode == 0


def test_the_initial_scenario_runs_as_is_and_its_licences_bite(tmp_path: Path) -> None:
    path = tmp_path / "first.toml"
    assert main(["init", str(path)]) == 0
    res = resim.simulate(path, replications=4, workers=1, progress=False)
    assert not res.failures and len(res.licences)
    assert set(res.replications.automaker) == {"automaker"}
    assert res.summary()["kpis"]["automaker"]["fill_rate"]["mean"] < 1.0  # two months of stock, 2-month reviews


def test_init_refuses_to_replace_a_file_unless_told(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text("keep me\n")
    p = resim_here(["init", "mine.toml"], tmp_path)
    assert p.returncode == 2 and "already exists" in p.stderr and "--overwrite" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and (tmp_path / "mine.toml").read_text() == "keep me\n"
    assert resim_here(["init", "mine.toml", "--overwrite"], tmp_path).returncode == 0
    assert tomllib.loads((tmp_path / "mine.toml").read_text())["scenario"]["name"] == "mine"
    p = resim_here(["init", "notes.txt"], tmp_path)
    assert p.returncode == 2 and ".toml" in p.stderr and not (tmp_path / "notes.txt").exists()
    p = resim_here(["init", "missing/dir.toml"], tmp_path)
    assert p.returncode == 2 and "does not exist" in p.stderr


def test_the_format_reference_opens_with_what_init_writes() -> None:
    doc = DOC.read_text(encoding="utf-8")
    first = re.search(r"```toml\n(.*?)```", doc, re.S)
    assert first is not None
    assert doc.index("resim init") < first.start() < doc.index("## `extends`")
    assert first.group(1) == scenario_text("my_scenario.toml")
