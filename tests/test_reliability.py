"""Reliability: determinism under a random hash seed, bounded work, nothing
written outside --out, extends relative to the file (issue 8)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from resim.tomlwriter import dumps

from chain_fixtures import SCENARIOS, small_chain


def _resim(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "resim", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def test_outputs_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.replications": 3})))
    for seed in ("1", "4242"):
        p = _resim([str(src), "--out", str(tmp_path / f"h{seed}"), "--workers", "2", "--quiet"], tmp_path,
                   {"PYTHONHASHSEED": seed})
        assert p.returncode == 0, p.stderr
    for f in ("replications.parquet", "licences.parquet", "timeseries.parquet", "flows.parquet"):
        assert (tmp_path / "h1" / f).read_bytes() == (tmp_path / "h4242" / f).read_bytes(), f


def test_absurd_work_is_refused_with_an_estimate_before_it_starts(tmp_path: Path) -> None:
    src = tmp_path / "big.toml"
    src.write_text(dumps(small_chain(**{"scenario.horizon": "150y"})))
    p = _resim([str(src), "-n", "1000000", "--out", str(tmp_path / "o")], tmp_path)
    assert p.returncode == 2 and "record rows" in p.stderr and "limit" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
    office = tmp_path / "office.toml"
    office.write_text(dumps({"scenario": {"horizon": "190y"},
                             "licensing": {"background": {"applications_per_day": 1000}}}))
    p = _resim([str(office), "--out", str(tmp_path / "o2")], tmp_path)
    assert p.returncode == 2 and "one replication would keep" in p.stderr
    p = _resim(["sweep", str(src), "--grid", "licensing.approval_rate=0:1:5000", "-n", "5000",
                "--out", str(tmp_path / "o3")], tmp_path)
    assert p.returncode == 2 and "units" in p.stderr and not (tmp_path / "o3").exists()


def test_nothing_is_written_outside_out(tmp_path: Path) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    out = tmp_path / "elsewhere" / "run"
    p = _resim([str(SCENARIOS / "per_shipment_licences.toml"), "-n", "2", "--out", str(out), "--quiet"], work)
    assert p.returncode == 0, p.stderr
    assert list(work.iterdir()) == []
    assert sorted(f.name for f in out.parent.iterdir()) == ["run"]
    assert not [f for f in out.rglob("*.tmp")]


def test_extends_resolves_relative_to_the_file_not_the_cwd(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.toml").write_text(dumps(small_chain()))
    (tmp_path / "sub" / "child.toml").write_text('extends = "base.toml"\n[scenario]\nname = "child"\n')
    p = _resim(["validate", "sub/child.toml"], tmp_path)
    assert p.returncode == 0, p.stderr
    p = _resim(["validate", str(tmp_path / "sub" / "child.toml")], Path("/"))
    assert p.returncode == 0, p.stderr


def test_set_reaches_into_default_stages_and_extends_replaces_distributions(tmp_path: Path) -> None:
    from resim.scenario import load

    only = tmp_path / "office.toml"
    only.write_text("[scenario]\nname = 'office'\n")
    scn = load(only, ["licensing.stages[1].reviewers=7"]).scenario
    assert scn.licensing.stages[1].reviewers == 7 and len(scn.licensing.stages) == 3
    (tmp_path / "child.toml").write_text(
        'extends = "office.toml"\n[licensing.rework]\nfix_days = { dist = "exponential", mean = 4 }\n')
    assert load(tmp_path / "child.toml").scenario.licensing.rework.fix_days.mean == 4


def test_unquoted_dotted_policy_keys_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "p.toml"
    src.write_text(dumps(small_chain()) + '\n[[policy]]\nday = 10\nset = { licensing.approval_rate = 0.3 }\n')
    p = _resim(["validate", str(src)], tmp_path)
    assert p.returncode == 2 and "write dotted keys in quotes" in p.stderr


def test_out_inside_a_file_is_refused_before_running(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    p = _resim([str(SCENARIOS / "baseline.toml"), "--out", str(tmp_path / "afile" / "sub")], tmp_path)
    assert p.returncode == 2 and "not a directory" in p.stderr
