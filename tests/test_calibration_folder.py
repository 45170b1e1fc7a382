"""Calibration folders under the rules of run and sweep folders (issue 25):
one writer, nothing left by a refused start, a completion marker, true
interrupt messages, and ``--resume`` after Ctrl-C giving the posterior of an
uninterrupted calibration whatever the workers. ``--fit`` refuses keys that
are not model parameters.

The calibrations here are the smallest that run two generations (the tiny
chain of test_calibration, 8 particles), in real processes where a signal or
a second process is the point.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from procs import group_gone, start, wait_for
from test_calibration import MONTHS, TINY, cli, observe

from resim.experiment.runfolder import MARKER, check_complete
from resim.scenario.errors import ScenarioError
from resim.scenario.tomlwriter import dumps as toml_dumps

pytestmark = [pytest.mark.slow, pytest.mark.faults]

FIT = ["--fit", "licensing.approval_rate=0.2:0.9", "--fit", "automakers[*].vehicles_per_day=500:1500"]


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(toml_dumps(TINY))
    rows = observe({"licensing.approval_rate": 0.5}, seed=5, months=MONTHS[1:4])
    obs = tmp_path / "obs.csv"
    obs.write_text("series,period,value\n" + "".join(f"{o.series},{o.period.text},{o.value}\n" for o in rows))
    return scenario, obs


def argv(inputs: tuple[Path, Path], out: Path, *more: str, budget: int = 120) -> list[str]:
    scenario, obs = inputs
    return [str(scenario), "--observed", str(obs), *FIT, "--population", "8", "--predictive", "4",
            "--budget", str(budget), "--seed", "3", "--out", str(out), *more]


def process(args: list[str], cwd: Path) -> object:
    return start([sys.executable, "-m", "resim", "calibrate", *args], cwd)


def test_a_second_calibration_into_the_same_out_is_refused_while_the_first_completes(
        tmp_path: Path, inputs: tuple[Path, Path]) -> None:
    out = tmp_path / "cal"
    first = process(argv(inputs, out, "--workers", "1"), tmp_path)
    wait_for(lambda: (out / "history.db").is_file() or first.poll() is not None)  # type: ignore[attr-defined]
    code, _, err = cli(argv(inputs, out))
    assert code == 2 and err.count("\n") == 1 and "is being written by another resim process" in err, err
    stdout, stderr = first.communicate(timeout=600)  # type: ignore[attr-defined]
    assert first.returncode == 0, stderr  # type: ignore[attr-defined]
    doc = json.loads((out / MARKER).read_text())
    assert doc["kind"] == "calibration" and doc["status"] == "complete" and doc["generations"] >= 1
    with pytest.raises(ScenarioError, match="is a finished calibration"):
        check_complete(out)


def test_ctrl_c_stops_within_seconds_says_what_is_kept_and_resume_gives_the_uninterrupted_posterior(
        tmp_path: Path, inputs: tuple[Path, Path]) -> None:
    whole = tmp_path / "whole"
    code, _, err = cli(argv(inputs, whole, "--workers", "1"))
    assert code == 0, err
    cut = tmp_path / "cut"
    proc = process(argv(inputs, cut, "--workers", "2"), tmp_path)
    lines: list[str] = []

    def saw_generation() -> bool:
        line = proc.stdout.readline()  # type: ignore[attr-defined]
        lines.append(line)
        return line.startswith("generation 0:") or proc.poll() is not None  # type: ignore[attr-defined]

    wait_for(saw_generation, within=300)
    assert proc.poll() is None, lines  # type: ignore[attr-defined]
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)  # type: ignore[attr-defined]
    _, stderr = proc.communicate(timeout=60)  # type: ignore[attr-defined]
    assert time.monotonic() - t0 < 10 and proc.returncode == 130, stderr  # type: ignore[attr-defined]
    assert group_gone(proc.pid), "a worker process outlived the interrupt"  # type: ignore[attr-defined]
    assert "generation" in stderr and "kept in" in stderr and "--resume" in stderr, stderr
    assert "nothing was written" not in stderr
    with pytest.raises(ScenarioError, match="unfinished calibration"):
        check_complete(cut)
    code, _, err = cli(argv(inputs, cut, "--resume", "--workers", "1"))
    assert code == 0, err
    pd.testing.assert_frame_equal(pd.read_parquet(whole / "posterior.parquet"),
                                  pd.read_parquet(cut / "posterior.parquet"))


def test_a_refused_start_leaves_nothing_and_a_bad_dask_address_does_not_block_the_next_start(
        tmp_path: Path, inputs: tuple[Path, Path]) -> None:
    out = tmp_path / "cal"
    code, _, err = cli(argv(inputs, out, "--dask", "tcp://127.0.0.1:9"))
    assert code == 2 and err.count("\n") == 1 and err.startswith("--dask"), err
    assert not out.exists() and not list(tmp_path.glob(".cal*"))
    code, _, err = cli(argv(inputs, out, budget=10))
    assert code == 2 and err.startswith("--budget") and "give at least" in err, err
    assert not out.exists()
    code, _, err = cli(argv(inputs, out, "--workers", "1"))
    assert code == 0, err


@pytest.mark.parametrize("key", ["scenario.horizon=10:100", "scenario.seed=1:100", "scenario.replications=1:9",
                                 "automakers[*].firms=1:5", "automakers[EU maker].jurisdiction=1:2"])
def test_fit_refuses_structural_keys_naming_them(tmp_path: Path, inputs: tuple[Path, Path], key: str) -> None:
    scenario, obs = inputs
    out = tmp_path / "cal"
    code, _, err = cli([str(scenario), "--observed", str(obs), "--fit", key, "--out", str(out)])
    assert code == 2 and err.count("\n") == 1 and err.startswith("--fit"), err
    assert key.split("=")[0].split("[")[0] in err and ("structural" in err or "sets what is simulated" in err)
    assert not out.exists()


@pytest.mark.parametrize("more", [["--budget", "12"], ["--budget", "40"], ["--budget", "40", "--predictive", "0"]])
def test_a_small_budget_on_the_per_shipment_scenario_answers_within_a_minute_in_one_line(
        tmp_path: Path, more: list[str]) -> None:
    from chain_fixtures import SCENARIOS

    obs = tmp_path / "obs.csv"
    obs.write_text("series,period,value\n" + "".join(f"exports.magnet.CN.DE,2025-{m:02d},{v}\n"
                                                    for m, v in ((6, 300), (7, 280), (8, 310))))
    out = tmp_path / "cal"
    t0 = time.monotonic()
    code, stdout, err = cli([str(SCENARIOS / "per_shipment_licences.toml"), "--observed", str(obs),
                             "--fit", "licensing.approval_rate=0.1:0.9", "--population", "10",
                             "--out", str(out), "--workers", "1", *more])
    assert time.monotonic() - t0 < 60
    if code == 2:  # refused at once, or ran out before a first generation: one line naming --budget
        assert err.count("\n") == 1 and err.startswith("--budget") and "internal error" not in err, err
    else:  # a generation fitted in the budget: a result, said in one line
        assert code == 0 and "stopped:" in stdout, err
    assert "internal error" not in err
