"""Reliability: determinism under a random hash seed, bounded work, nothing
written outside --out, extends relative to the file (issue 8); and under real
faults (issue 18): a concurrent second writer, a full disk, a killed worker,
SIGINT and SIGTERM with a check for leftover processes, mixed folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from procs import chain_file, parts

from resim.scenario.tomlwriter import dumps

from chain_fixtures import SCENARIOS, small_chain
from scenario_helpers import cli


def _resim(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "resim", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def _sweep_twice(tmp_path: Path, args: list[str], name: str) -> Path:
    """The sweep ``args`` run to the end in ``full`` (the reference) and
    copied to ``name``, which the caller then damages; ``name``'s folder."""
    p = cli(*args, "--out", str(tmp_path / "full"))
    assert p.code == 0, p.err
    shutil.copytree(tmp_path / "full", tmp_path / name)
    return tmp_path / name


def _unfinish(out: Path) -> None:
    """As if the sweep had stopped before writing its final tables."""
    for f in ("results.parquet", "summary.parquet", ".resim-complete.json"):
        (out / f).unlink()


def _resumed_as_full(tmp_path: Path, args: list[str], out: Path) -> None:
    p = cli(*args, "--out", str(out), "--resume")
    assert p.code == 0, p.err
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"),
                                  pd.read_parquet(tmp_path / "full" / "results.parquet"))


@pytest.mark.slow
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
    p = cli(str(src), "-n", "1000000", "--out", str(tmp_path / "o"))
    assert p.code == 2 and "record rows" in p.err and "limit" in p.err
    assert len(p.err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
    office = tmp_path / "office.toml"
    office.write_text(dumps({"scenario": {"horizon": "190y"},
                             "licensing": {"background": {"applications_per_day": 1000}}}))
    p = cli(str(office), "--out", str(tmp_path / "o2"))
    assert p.code == 2 and "one replication would keep" in p.err
    p = cli("sweep", str(src), "--grid", "licensing.approval_rate=0:1:5000", "-n", "5000",
            "--out", str(tmp_path / "o3"))
    assert p.code == 2 and "units" in p.err and not (tmp_path / "o3").exists()


@pytest.mark.slow
def test_nothing_is_written_outside_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    out = tmp_path / "elsewhere" / "run"
    monkeypatch.chdir(work)
    p = cli(str(SCENARIOS / "per_shipment_licences.toml"), "-n", "2", "--out", str(out), "--quiet")
    assert p.code == 0, p.err
    assert list(work.iterdir()) == []
    assert sorted(f.name for f in out.parent.iterdir()) == ["run"]
    assert not [f for f in out.rglob("*.tmp")]


def test_extends_resolves_relative_to_the_file_not_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.toml").write_text(dumps(small_chain()))
    (tmp_path / "sub" / "child.toml").write_text('extends = "base.toml"\n[scenario]\nname = "child"\n')
    monkeypatch.chdir(tmp_path)
    p = cli("validate", "sub/child.toml")
    assert p.code == 0, p.err
    monkeypatch.chdir("/")
    p = cli("validate", str(tmp_path / "sub" / "child.toml"))
    assert p.code == 0, p.err


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
    p = cli("validate", str(src))
    assert p.code == 2 and "write dotted keys in quotes" in p.err


def test_out_inside_a_file_is_refused_before_running(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    p = cli(str(SCENARIOS / "baseline.toml"), "--out", str(tmp_path / "afile" / "sub"))
    assert p.code == 2 and "not a directory" in p.err


# ------------------------------------------------------------ issue 18: real faults

# ------------------------------------------------------------ folders and text

@pytest.mark.slow
def test_resume_under_another_spelling_of_the_scenario_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sub").mkdir()
    src = chain_file(tmp_path)
    args = ["--grid", "licensing.approval_rate=0.5", "-n", "2", "--out", str(tmp_path / "sw"), "--quiet"]
    monkeypatch.chdir(tmp_path)
    p = cli("sweep", "chain.toml", *args)
    assert p.code == 0, p.err
    p = cli("sweep", str(tmp_path / "sub" / ".." / src.name), *args, "--resume")
    assert p.code == 0, p.err


@pytest.mark.slow
def test_zero_length_and_stale_files_do_not_break_resume(tmp_path: Path) -> None:
    src = chain_file(tmp_path)
    args = ["sweep", str(src), "--grid", "licensing.approval_rate=0.3,0.9", "-n", "4", "--workers", "1", "--quiet"]
    out = _sweep_twice(tmp_path, args, "cut")
    # a power cut: the last parts are there with no bytes, the final tables never came
    stored = parts(out)
    for f in stored[-2:]:
        f.write_bytes(b"")
    _unfinish(out)
    (out / ".results.parquet.x1.tmp").write_bytes(b"half")
    (out / "parts" / ".part-x.parquet.x2.tmp").write_bytes(b"half")
    (tmp_path / ".cut.staging-1").mkdir()
    _resumed_as_full(tmp_path, args, out)
    assert not list(out.rglob("*.tmp")) and not (tmp_path / ".cut.staging-1").exists()


@pytest.mark.slow
def test_out_holding_something_else_is_refused_unless_overwrite(tmp_path: Path) -> None:
    src = chain_file(tmp_path, **{"scenario.replications": 2})
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("do not lose")
    p = cli(str(src), "--out", str(mine))
    assert p.code == 2 and "not a resim result" in p.err and "--overwrite" in p.err
    assert sorted(f.name for f in mine.iterdir()) == ["notes.txt"]
    p = cli(str(src), "--out", str(mine), "--overwrite", "--quiet")
    assert p.code == 0 and not (mine / "notes.txt").exists() and (mine / "summary.json").is_file()
    p = cli(str(src), "--out", str(mine), "--quiet")  # a run over a run: fine
    assert p.code == 0, p.err
    p = cli("sweep", str(src), "--grid", "licensing.approval_rate=0.5", "-n", "1", "--out", str(mine))
    assert p.code == 2 and "holds a resim run, not a sweep" in p.err
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    p = cli(str(src), "--out", str(fifo))
    assert p.code == 2 and "not a directory" in p.err and p.err.count("\n") == 1


def test_the_resolved_scenario_cannot_be_injected_and_reruns_to_the_same_results(tmp_path: Path) -> None:
    import tomllib

    import resim
    from resim.scenario.tomlwriter import resolved_toml

    name = 'evil\n extends = "other.toml"\n[scenario]\r\x00\x07\x1b[31m\x7f\u2028 end'
    loaded = resim.load_scenario(small_chain(**{"scenario.name": name, "scenario.horizon": 90}))
    data = loaded.scenario.model_dump(by_alias=True, exclude_none=True)
    text = resolved_toml(data, f"dir\n{name}.toml", name)
    back = tomllib.loads(text)
    assert "extends" not in back and back["scenario"]["name"] == name
    assert all(line.startswith("#") for line in text.splitlines()[:2])
    f = tmp_path / "scenario.resolved.toml"
    f.write_text(text, encoding="utf-8")
    again = resim.load_scenario(f)
    assert again.scenario == loaded.scenario
    a = resim.simulate(loaded, replications=2, workers=1).replications
    b = resim.simulate(again, replications=2, workers=1).replications
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.slow
def test_the_python_api_writes_under_the_same_folder_rules(tmp_path: Path) -> None:
    import resim
    from resim.experiment.runfolder import check_complete
    from resim.scenario.errors import ScenarioError

    res = resim.simulate(small_chain(), replications=2, out=tmp_path / "o", workers=1)
    doc = check_complete(tmp_path / "o")
    assert doc["status"] == "complete" and doc["replications"] == 2 and len(res.replications)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(ScenarioError, match="--overwrite"):
        resim.simulate(small_chain(), replications=1, out=tmp_path / "x", workers=1)
    resim.simulate(small_chain(), replications=1, out=tmp_path / "x", overwrite=True, workers=1)
    assert check_complete(tmp_path / "x")["kind"] == "run"


@pytest.mark.slow
def test_interrupted_results_written_from_python_are_marked_partial(tmp_path: Path) -> None:
    import resim
    from resim.experiment.interrupts import Interrupted
    from resim.experiment.runfolder import check_complete

    calls: list[int] = []

    def stop_after_the_first(k: int, *_: object) -> None:
        calls.append(k)
        if len(calls) == 1:
            raise KeyboardInterrupt  # as Ctrl-C during the run

    with pytest.raises(Interrupted) as caught:
        resim.simulate(small_chain(**{"scenario.horizon": 90}), replications=3, progress=stop_after_the_first,
                       workers=1)
    res = caught.value.finished
    assert 0 < len(res.outputs) < 3
    res.write(tmp_path / "nb")
    doc = check_complete(tmp_path / "nb")
    assert (doc["status"], doc["replications"], doc["asked"]) == ("partial", len(res.outputs), 3)


@pytest.mark.slow
def test_results_are_not_written_over_the_current_directory(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import resim
    from resim.scenario.errors import ScenarioError

    res = resim.simulate(small_chain(**{"scenario.horizon": 60}), replications=1, workers=1)
    res.write(tmp_path / "o")
    monkeypatch.chdir(tmp_path / "o")
    with pytest.raises(ScenarioError, match="current directory"):
        res.write(".")
    with pytest.raises(ScenarioError, match="current directory"):
        res.write(tmp_path, overwrite=True)  # holds the current directory
    assert Path.cwd().exists() and (tmp_path / "o" / "summary.json").exists()


@pytest.mark.slow
def test_a_sweep_stored_before_seeds_were_integers_resumes(tmp_path: Path) -> None:
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    src = chain_file(tmp_path)
    args = ["sweep", str(src), "--grid", "licensing.approval_rate=0.3,0.9", "-n", "3", "--workers", "1", "--quiet"]
    out = _sweep_twice(tmp_path, args, "old")
    stored = parts(out)
    for f in stored[:-1]:  # as an older resim stored them: the seed as JSON text "[seed, replication]"
        t = pq.read_table(f)
        text = [json.dumps([int(e), int(r)]) for e, r in zip(t.column("seed_entropy").to_pylist(),
                                                            t.column("replication").to_pylist(), strict=True)]
        pq.write_table(t.drop_columns(["seed_entropy"]).append_column("seed", pa.array(text)), f)
    stored[-1].unlink()  # and it was cut short
    _unfinish(out)
    _resumed_as_full(tmp_path, args, out)


def test_report_on_a_calibration_folder_says_what_it_is(tmp_path: Path) -> None:
    from resim.experiment.runfolder import check_complete
    from resim.scenario.errors import ScenarioError

    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "calibration.json").write_text("{}")
    with pytest.raises(ScenarioError, match="is a finished calibration: its report is"):
        check_complete(tmp_path / "cal")
