"""Long work announced and visible (issue 25 item 5): an estimate before a
long run, sweep or calibration starts, progress lines when the output is not
a terminal, and what an interrupt in Python hands back."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import resim
from resim.experiment import budget
from resim.experiment import replications as execution
from resim.experiment.interrupts import Interrupted
from resim.output import progress
from resim.output.progress import ProgressBar, ProgressLines
from resim.scenario import load
from resim.scenario.tomlwriter import dumps

from chain_fixtures import small_chain
from scenario_helpers import cli


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_progress_lines_come_at_most_every_interval_with_an_eta_from_fresh_work(
        capsys: pytest.CaptureFixture) -> None:
    now = FakeClock()
    lines = ProgressLines("sweep units", every=10.0, now=now)
    lines.total(100, done=20)  # 20 resumed: not counted as this session's speed
    for _ in range(4):
        now.t += 3.0  # 3 s a unit
        lines.advance()
    out = capsys.readouterr().err.splitlines()
    # a line at 12 s (the 4th unit), none before 10 s had passed
    assert out == ["resim: sweep units: 24/100 done, 0:12 elapsed, ETA 3:48"]  # 12 s x 76 left / 4 done
    now.t += 5.0
    lines.advance()
    assert capsys.readouterr().err == ""


def test_a_bar_on_a_pipe_prints_lines_and_on_quiet_nothing(capsys: pytest.CaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "LINE_EVERY_S", 0.0)
    piped = Console(file=io.StringIO(), force_terminal=False)
    with ProgressBar(piped, "replications") as bar:
        bar.total(2)
        bar.advance()
        bar.advance()
    err = capsys.readouterr().err
    assert "replications: 1/2 done" in err and "replications: 2/2 done" in err and not bar.shown
    with ProgressBar(piped, "replications", enabled=False) as bar:
        bar.total(2)
        bar.advance(2)
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_resim_run_piped_shows_progress_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "LINE_EVERY_S", 0.0)
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.replications": 3, "scenario.horizon": 60})))
    res = cli("run", str(src), "--workers", "1", "--out", str(tmp_path / "out"))
    assert res.code == 0, res.err
    assert "resim: replications: 3/3 done" in res.err
    quiet = cli("run", str(src), "--workers", "1", "--out", str(tmp_path / "out"), "--quiet")
    assert "done," not in quiet.err


@pytest.mark.slow
def test_long_sweeps_and_calibrations_are_announced_before_they_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from resim.cli.calibrate import _check_time

    monkeypatch.setattr(budget, "ANNOUNCE_SECONDS", 0.0)
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.replications": 2, "scenario.horizon": 60})))
    res = cli("sweep", str(src), "--grid", "licensing.approval_rate=0.4,0.8", "--workers", "1",
              "--out", str(tmp_path / "sw"))
    assert res.code == 0, res.err
    first = res.err.splitlines()[0]
    assert first.startswith("resim: estimated about ") and "--max-hours 24" in first, res.err
    args = argparse.Namespace(budget=400, workers=1, max_hours=None, quiet=False)
    _check_time(args, load(str(src)))
    assert capsys.readouterr().err.startswith("resim: estimated about ")
    _check_time(argparse.Namespace(budget=400, workers=1, max_hours=None, quiet=True), load(str(src)))
    assert capsys.readouterr().err == ""


def _interrupt_at(monkeypatch: pytest.MonkeyPatch, replication: int) -> None:
    """Ctrl-C arrives while ``replication`` runs (in this process: one worker)."""
    inner = execution.run_one

    def run_one(loaded: Any, r: int) -> Any:
        if r == replication:
            raise KeyboardInterrupt
        return inner(loaded, r)

    monkeypatch.setattr(execution, "run_one", run_one)


def test_ctrl_c_in_python_raises_with_the_finished_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.replications": 6, "scenario.horizon": 60})))
    _interrupt_at(monkeypatch, 3)
    with pytest.raises(Interrupted) as info:
        resim.simulate(src, workers=1, progress=False)
    res = info.value.results
    assert isinstance(res, resim.Results) and res.interrupted
    assert sorted(res.replications["replication"].unique()) == [0, 1, 2]


def test_ctrl_c_in_a_python_sweep_raises_with_the_finished_units(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.replications": 2, "scenario.horizon": 60})))
    _interrupt_at(monkeypatch, 1)  # every point's second replication
    with pytest.raises(Interrupted) as info:
        resim.sweep(src, grid={"licensing.approval_rate": [0.4, 0.8]}, workers=1, out=tmp_path / "sw",
                    chunk=1, report=False)
    res = info.value.results
    assert res is not None and res.partial and type(res).__name__ == "SweepResults"
    assert set(res.results["replication"]) == {0} and len(res.results) > 0
    assert not (tmp_path / "sw" / "results.parquet").exists()  # nothing written as if finished


def test_no_finished_work_means_no_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.replications": 2, "scenario.horizon": 60})))
    _interrupt_at(monkeypatch, 0)
    with pytest.raises(Interrupted) as info:
        resim.simulate(src, workers=1, progress=False)
    assert info.value.results is None


@pytest.mark.slow
def test_a_run_replacing_one_made_with_other_set_values_says_so(tmp_path: Path) -> None:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.replications": 2, "scenario.horizon": 60})))
    out = str(tmp_path / "out")
    first = cli("run", str(src), "--workers", "1", "--out", out, "--set", "licensing.approval_rate=0.4")
    assert first.code == 0 and "replacing" not in first.err, first.err
    same = cli("run", str(src), "--workers", "1", "--out", out, "--set", "licensing.approval_rate=0.4")
    assert "replacing" not in same.err, same.err
    other = cli("run", str(src), "--workers", "1", "--out", out, "--set=licensing.approval_rate=0.8")
    line = [ln for ln in other.err.splitlines() if "replacing" in ln]
    assert line == [f"resim: replacing the run in {out}/ made with --set licensing.approval_rate=0.4; "
                    "give --out to keep both"], other.err
