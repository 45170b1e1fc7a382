"""Sweeps: designs, common random numbers, executors, resume after SIGKILL,
failure isolation (issue 4)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import faults
import numpy as np
import pandas as pd
import pytest
from procs import parts, start, wait_for

import resim
from resim.api import compare, sweep
from resim.experiment.design import full_grid, latin_hypercube, parse_grid, sobol
from resim.scenario.errors import ScenarioError
from resim.scenario.tomlwriter import dumps

from chain_fixtures import ROOT, small_chain
from scenario_helpers import cli

GRID = ["--grid", "licensing.approval_rate=0.3,0.6,0.9", "--grid", "controls.lifetime_days=60,120"]


@pytest.fixture(scope="module")
def chain_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("sweep") / "chain.toml"
    p.write_text(dumps(small_chain(**{"scenario.horizon": 150})))
    return p


def _rows(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "results.parquet")


def test_grid_design_is_the_full_factorial() -> None:
    pts = full_grid({"a": [1, 2, 3], "b": ["x", "y"]})
    assert len(pts) == 6 and len({tuple(p.items()) for p in pts}) == 6
    assert parse_grid("k=0:1:5")[1] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert parse_grid("controls.licence_mode=none,general")[1] == ["none", "general"]
    with pytest.raises(ScenarioError):
        parse_grid("k=1:x:3")


def test_latin_hypercube_puts_one_point_in_every_stratum() -> None:
    n = 20
    pts = latin_hypercube([("a", 0.0, 1.0), ("b", 10.0, 30.0)], n, seed=3)
    a = np.array([p["a"] for p in pts])
    b = (np.array([p["b"] for p in pts]) - 10.0) / 20.0
    for u in (a, b):
        assert sorted(np.floor(u * n).astype(int)) == list(range(n))


def test_sobol_points_are_balanced() -> None:
    n = 32
    pts = sobol([("a", 0.0, 1.0), ("b", 0.0, 1.0)], n, seed=5)
    for key in ("a", "b"):
        u = np.array([p[key] for p in pts])
        assert np.bincount(np.floor(u * n).astype(int), minlength=n).tolist() == [1] * n
    u = np.array([[p["a"], p["b"]] for p in pts])
    cells = np.floor(u * 4).astype(int)
    counts = np.bincount(cells[:, 0] * 4 + cells[:, 1], minlength=16)
    assert counts.tolist() == [2] * 16  # a (0, 5, 2)-net in base 2: every 1/4 x 1/4 box holds 2


def test_a_bad_value_in_the_design_is_refused_before_anything_runs(chain_file: Path, tmp_path: Path) -> None:
    p = cli("sweep", str(chain_file), "--grid", "licensing.approval_rate=0.5,1.5", "--out", str(tmp_path / "o"))
    assert p.code == 2 and "approval_rate" in p.err and "1.5" in p.err and "Traceback" not in p.err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_common_random_numbers_make_paired_intervals_narrower(chain_file: Path) -> None:
    df = compare(chain_file, overrides_b=["licensing.approval_rate=0.5"], replications=20,
                 overrides=["scenario.horizon=200"])
    row = df[(df.automaker == "EU maker") & (df.metric == "shortfall_t")].iloc[0]
    assert row["diff"] >= 0  # lower approval never helps
    assert row.width_ratio > 1.2, row  # pairing removes shared noise
    # a change that touches nothing upstream of the CN buyer leaves it identical, replication by replication
    same = df[(df.automaker == "CN buyer") & (df.metric == "shortfall_t")].iloc[0]
    assert same["diff"] == 0.0


@pytest.mark.slow
@pytest.mark.processes
def test_sweep_rows_are_identical_across_executors_and_worker_counts(chain_file: Path, tmp_path: Path) -> None:
    common = dict(grid={"licensing.approval_rate": [0.3, 0.9], "controls.lifetime_days": [60, 120]}, replications=3)
    serial = sweep(chain_file, workers=1, out=tmp_path / "s1", **common)
    pool = sweep(chain_file, workers=2, out=tmp_path / "s2", **common)
    dask_local = sweep(chain_file, workers=2, dask="local", out=tmp_path / "s3", **common)
    pd.testing.assert_frame_equal(serial.results, pool.results)
    pd.testing.assert_frame_equal(serial.results, dask_local.results)
    assert (tmp_path / "s1" / "results.parquet").read_bytes() == (tmp_path / "s2" / "results.parquet").read_bytes()
    assert len(serial.results) == 4 * 3 * 4  # points x replications x (3 automakers + all)
    assert set(serial.summary.columns) >= {"point", "automaker", "vehicles_lost_mean", "vehicles_lost_ci_low"}
    # every sweep writes its report, with a heatmap over the two swept keys
    assert (tmp_path / "s1" / "report.html").is_file()
    assert (tmp_path / "s1" / "plots" / "sweep_all.png").stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.processes
def test_a_dask_scheduler_on_localhost_gives_the_same_rows(chain_file: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    args = [str(chain_file), *GRID, "-n", "2", "--quiet"]
    pool = cli("sweep", *args, "--out", str(tmp_path / "pool"), "--workers", "2")
    assert pool.code == 0, pool.err
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        p = cli("sweep", *args, "--out", str(tmp_path / "dask"), "--dask", cluster.scheduler_address)
        assert p.code == 0, p.err
    pd.testing.assert_frame_equal(_rows(tmp_path / "pool"), _rows(tmp_path / "dask"))


@pytest.mark.slow
@pytest.mark.processes
def test_sigkill_mid_sweep_then_resume_gives_exactly_the_uninterrupted_rows(chain_file: Path, tmp_path: Path) -> None:
    args = ["sweep", str(chain_file), *GRID, "-n", "8", "--workers", "1", "--quiet"]
    full = cli(*args, "--out", str(tmp_path / "full"))
    assert full.code == 0, full.err
    expected = _rows(tmp_path / "full")
    assert len(expected) == 6 * 8 * 4

    out = tmp_path / "killed"
    # replications 6 and 7 of each point wait for a gate that never opens: the sweep cannot finish
    p = start(faults.command(*args, "--out", str(out), hold_from=6, gate=tmp_path / "never"), ROOT)
    wait_for(lambda: len(parts(out)) >= 1, "a stored part")
    os.killpg(p.pid, signal.SIGKILL)
    p.wait(timeout=60)
    assert p.returncode == -signal.SIGKILL
    assert not (out / "results.parquet").exists()  # nothing that looks complete
    done_before = len(parts(out))
    assert 0 < done_before < 8

    again = cli(*args, "--out", str(out))
    assert again.code == 2 and "--resume" in again.err  # refuses to start over silently

    resumed = cli(*args, "--out", str(out), "--resume")
    assert resumed.code == 0, resumed.err
    got = _rows(out)
    pd.testing.assert_frame_equal(expected, got)
    assert not got.duplicated(["point", "replication", "automaker"]).any()


@pytest.mark.slow
@pytest.mark.processes
def test_a_failing_unit_becomes_a_row_and_the_sweep_goes_on(chain_file: Path, tmp_path: Path) -> None:
    p = subprocess.Popen(faults.command("sweep", str(chain_file), "--grid", "licensing.approval_rate=0.3,0.9",
                                        "-n", "3", "--workers", "2", "--out", str(tmp_path / "f"), "--quiet",
                                        fail={1}),
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 1 and "2 sweep units failed" in err and "Traceback" not in err
    rows = _rows(tmp_path / "f")
    bad = rows[rows.error.notna()]
    assert sorted(zip(bad.point, bad.replication, strict=True)) == [(0, 1), (1, 1)]
    assert (bad.seed_entropy == 7).all()  # with the replication: SeedSequence(7, spawn_key=(r,))
    good = rows[rows.error.isna()]
    assert len(good) == 2 * 2 * 4


@pytest.mark.slow
def test_python_api_sweep_and_lhs(chain_file: Path, tmp_path: Path) -> None:
    res = resim.sweep(chain_file, sampler="lhs", ranges=[("licensing.approval_rate", 0.2, 1.0),
                                                          ("licensing.stages[0].reviewers", 5, 50)],
                      samples=4, replications=2, out=tmp_path / "lhs")
    assert len(res.points) == 4
    assert all(float(v).is_integer() for v in res.points["licensing.stages[0].reviewers"])
    assert (tmp_path / "lhs" / "points.parquet").exists() and (tmp_path / "lhs" / "summary.parquet").exists()


@pytest.mark.slow
def test_a_finished_sweep_is_replaced_by_another_and_an_unfinished_one_is_kept(chain_file: Path,
                                                                                tmp_path: Path) -> None:
    out = tmp_path / "s"
    base = ["sweep", str(chain_file), "-n", "2", "--workers", "1", "--quiet", "--out", str(out)]
    first = cli(*base, "--grid", "licensing.approval_rate=0.3,0.9")
    assert first.code == 0, first.err
    second = cli(*base, "--grid", "licensing.approval_rate=0.5")  # another design, as a run replaces a run
    assert second.code == 0, second.err
    assert sorted(_rows(out)["licensing.approval_rate"].unique()) == [0.5]
    (out / ".resim-complete.json").unlink()  # as if it had been killed before the end
    third = cli(*base, "--grid", "licensing.approval_rate=0.7")
    assert third.code == 2 and "unfinished sweep" in third.err and "--resume" in third.err
    assert sorted(_rows(out)["licensing.approval_rate"].unique()) == [0.5]
