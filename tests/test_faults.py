"""Real faults (issue 18): a concurrent second writer, a full disk
(RLIMIT_FSIZE), mixed or unfinished folders, SIGKILLed workers, failed compare
pairs, SIGINT and SIGTERM of running sweeps and runs with a check for
leftover processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import faults
import pandas as pd
import pytest
from procs import chain_file, group_gone, parts, start, wait_for

from scenario_helpers import cli

pytestmark = [pytest.mark.faults, pytest.mark.processes]


@pytest.mark.slow
def test_a_second_writer_is_refused_naming_the_first_and_rows_are_not_duplicated(tmp_path: Path) -> None:
    src = chain_file(tmp_path)
    out, gate = tmp_path / "sw", tmp_path / "gate"
    args = ["sweep", str(src), "--grid", "licensing.approval_rate=0.3,0.9", "-n", "8", "--workers", "1",
            "--out", str(out), "--quiet"]
    # replications 2-7 wait for the gate: the first writer is certainly still at work while we try
    first = start(faults.command(*args, hold_from=2, gate=gate), tmp_path)
    lock = tmp_path / ".sw.lock"
    wait_for(lambda: lock.exists() and lock.read_text().strip() == str(first.pid), "the first writer's lock")
    second = cli(*args, "--resume")
    assert second.code == 2, second.err
    assert second.err.count("\n") == 1 and f"pid {first.pid}" in second.err
    run = cli("run", str(src), "--out", str(out))
    assert run.code == 2 and f"pid {first.pid}" in run.err
    gate.touch()
    assert first.wait(timeout=300) == 0, first.stderr.read()  # type: ignore[union-attr]
    rows = pd.read_parquet(out / "results.parquet")
    assert len(rows) == 2 * 8 * 4 and not rows.duplicated(["point", "replication", "automaker"]).any()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chain.toml", "gate", "sw"]  # the lock file is gone


def test_the_folder_lock_names_its_holder_and_goes_when_released(tmp_path: Path) -> None:
    from resim.experiment.runfolder import RunFolder
    from resim.scenario.errors import ScenarioError

    out = tmp_path / "o"
    with RunFolder(out, "run"):
        assert (tmp_path / ".o.lock").read_text().strip() == str(os.getpid())
        code = ("import sys; from resim.experiment.runfolder import RunFolder; from resim.scenario.errors import ScenarioError\n"
                f"try:\n    RunFolder({str(out)!r}, 'run').__enter__()\nexcept ScenarioError as e:\n"
                "    print(e); sys.exit(3)")
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert p.returncode == 3 and f"pid {os.getpid()}" in p.stdout
    assert not (tmp_path / ".o.lock").exists()
    with RunFolder(out, "run"), pytest.raises(ScenarioError):  # a lock is not re-entrant across descriptors
        RunFolder(out, "run").__enter__()


@pytest.mark.slow
def test_a_run_that_cannot_write_its_files_leaves_the_earlier_run_whole(tmp_path: Path) -> None:
    import resource

    src = chain_file(tmp_path)
    out = tmp_path / "run"
    ok = cli(str(src), "--out", str(out), "--workers", "1", "--quiet")
    assert ok.code == 0, ok.err
    before = {f.name: f.read_bytes() for f in out.iterdir() if f.is_file() and f.name != "report.html"}

    def small_disk() -> None:  # a full disk, as seen by one process: files stop at 20 kB
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    p = subprocess.run([sys.executable, "-m", "resim", str(src), "--out", str(out), "--seed", "99", "--workers",
                        "1", "--quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                       preexec_fn=small_disk)
    assert p.returncode == 1 and "could not write" in p.stderr and "Traceback" not in p.stderr, p.stderr
    after = {f.name: f.read_bytes() for f in out.iterdir() if f.is_file() and f.name != "report.html"}
    assert after == before  # the old run, whole: not one file of the new one
    assert sorted(f.name for f in tmp_path.iterdir()) == ["chain.toml", "run"]  # no staging left
    rep = cli("report", str(out))
    assert rep.code == 0, rep.err


@pytest.mark.slow
def test_report_refuses_an_incomplete_or_mixed_folder_and_says_when_a_run_is_partial(tmp_path: Path) -> None:
    from resim.experiment.runfolder import MARKER

    src = chain_file(tmp_path)
    for name, seed in (("a", "1"), ("b", "2")):
        p = cli(str(src), "--out", str(tmp_path / name), "--seed", seed, "--quiet")
        assert p.code == 0, p.err
    mixed = tmp_path / "a"
    (mixed / "replications.parquet").write_bytes((tmp_path / "b" / "replications.parquet").read_bytes())
    p = cli("report", str(mixed))
    assert p.code == 2 and "replications.parquet" in p.err and "mixes" in p.err
    assert p.err.count("\n") == 1
    (tmp_path / "b" / MARKER).unlink()
    p = cli("report", str(tmp_path / "b"))
    assert p.code == 2 and "not a finished run" in p.err and p.err.count("\n") == 1


@pytest.mark.slow
def test_a_killed_worker_is_a_failure_row_with_its_seed_and_the_run_goes_on(tmp_path: Path) -> None:
    src = chain_file(tmp_path, **{"scenario.replications": 8})
    out = tmp_path / "o"
    p = subprocess.run(faults.command(str(src), "--out", str(out), "--workers", "2", kill={3}), cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 1 and "1 of 8 replications failed" in p.stderr and "Traceback" not in p.stderr
    reps = pd.read_parquet(out / "replications.parquet")
    bad = reps[reps.error.notna()]
    assert list(bad.replication) == [3] and "SIGKILL" in bad.error.iloc[0]
    assert (bad.seed_entropy.iloc[0], bad.replication.iloc[0]) == (7, 3)  # SeedSequence(7, spawn_key=(3,))
    assert set(reps[reps.error.isna()].replication) == {0, 1, 2, 4, 5, 6, 7}


@pytest.mark.slow
def test_a_killed_sweep_worker_is_a_failure_row_and_the_other_units_match_a_clean_sweep(tmp_path: Path) -> None:
    src = chain_file(tmp_path)
    args = ["sweep", str(src), "--grid", "licensing.approval_rate=0.3,0.9", "-n", "4", "--workers", "2", "--quiet"]
    clean = cli(*args, "--out", str(tmp_path / "clean"))
    assert clean.code == 0, clean.err
    p = subprocess.run(faults.command(*args, "--out", str(tmp_path / "k"), kill={1}), cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 1 and "2 sweep units failed" in p.stderr, p.stderr
    rows = pd.read_parquet(tmp_path / "k" / "results.parquet")
    bad = rows[rows.error.notna()]
    assert sorted(zip(bad.point, bad.replication, strict=True)) == [(0, 1), (1, 1)]
    assert bad.error.str.contains("SIGKILL").all() and (bad.seed_entropy == 7).all()
    expected = pd.read_parquet(tmp_path / "clean" / "results.parquet")
    pd.testing.assert_frame_equal(rows[rows.error.isna()].reset_index(drop=True),
                                  expected[expected.replication != 1].reset_index(drop=True))


def test_compare_turns_a_failed_pair_into_a_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from resim.api import compare

    faults.inject(monkeypatch, fail={2})
    df = compare(chain_file(tmp_path), overrides_b=["licensing.approval_rate=0.5"], replications=5)
    failed = df[df.metric == "failed"]
    assert list(failed.replication) == [2] and "injected fault" in failed.error.iloc[0]
    assert failed.seed_entropy.iloc[0] == 7  # replication 2 is SeedSequence(7, spawn_key=(2,))
    stats = df[df.metric != "failed"]
    assert len(stats) and (stats.n <= 4).all()  # the four pairs where both sides ran
    assert (stats[stats.metric == "shortfall_t"].n == 4).all()


def _interrupt(tmp_path: Path, argv: list[str], sig: int, ready: Callable[[], bool], what: str,
               group: bool) -> tuple[subprocess.Popen[str], float, str]:
    p = start(argv, tmp_path)
    wait_for(ready, what)
    t0 = time.monotonic()
    if group:
        os.killpg(p.pid, sig)  # Ctrl-C on a terminal reaches the whole process group
    else:
        os.kill(p.pid, sig)  # `kill PID` reaches the parent only
    _, err = p.communicate(timeout=120)
    took = time.monotonic() - t0
    assert group_gone(p.pid), "worker processes outlived the command"
    return p, took, err


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "group", "code"), [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)])
def test_an_interrupted_sweep_stops_within_seconds_keeps_its_parts_and_resumes(
        tmp_path: Path, sig: int, group: bool, code: int) -> None:
    src = chain_file(tmp_path)
    out = tmp_path / "sw"
    args = ["sweep", str(src), "--grid", "licensing.approval_rate=0.3,0.9", "-n", "40", "--workers", "2",
            "--out", str(out), "--quiet"]
    # replications 20-39 wait for a gate that never opens: work is left whenever the signal comes
    argv = faults.command(*args, hold_from=20, gate=tmp_path / "never")
    p, took, err = _interrupt(tmp_path, argv, sig, lambda: len(parts(out)) >= 2, "two stored parts", group)
    assert p.returncode == code and "stopping" in err and "--resume" in err and "Traceback" not in err, err
    assert took < 15, took
    kept = len(parts(out))
    assert kept >= 2 and not (out / "results.parquet").exists()
    resumed = cli(*args, "--resume")
    assert resumed.code == 0, resumed.err
    rows = pd.read_parquet(out / "results.parquet")
    assert len(rows) == 2 * 40 * 4 and not rows.duplicated(["point", "replication", "automaker"]).any()


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "group", "code"), [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)])
def test_an_interrupted_run_writes_what_finished_marked_partial(tmp_path: Path, sig: int, group: bool,
                                                                  code: int) -> None:
    from resim.experiment.runfolder import check_complete

    src = chain_file(tmp_path)
    out = tmp_path / "run"
    batches = tmp_path / "batches"
    # replications 16-39 wait for a gate that never opens; stop the run once a batch has reached the parent
    argv = faults.command(str(src), "-n", "40", "--out", str(out), "--workers", "2", "--quiet", hold_from=16,
                          gate=tmp_path / "never", batches=batches)
    p, took, err = _interrupt(tmp_path, argv, sig, batches.exists, "a finished batch of replications", group)
    assert p.returncode == code and "stopping" in err and "marked partial" in err, err
    assert took < 30, took  # the held replications would never have finished
    doc = check_complete(out)
    assert doc["status"] == "partial" and 0 < doc["replications"] <= 16
    reps = pd.read_parquet(out / "replications.parquet")
    assert reps.replication.nunique() == doc["replications"] and reps.error.isna().all()
    rep = cli("report", str(out))
    assert rep.code == 0 and "partial run" in rep.err, rep.err


@pytest.mark.slow
def test_an_interrupted_branched_run_keeps_the_replications_every_branch_finished(tmp_path: Path) -> None:
    """Branches are compared replication by replication, so an interrupted
    branched run writes, in its folder and in every ``branches/<name>/``, the
    replications that finished in every branch, and nothing else."""
    from resim.experiment.runfolder import check_complete
    from resim.scenario.tomlwriter import dumps

    from chain_fixtures import small_chain

    doc = small_chain(**{"scenario.replications": 20, "scenario.horizon": 120})
    doc["scenario"]["default_branch"] = "open"
    doc["branch"] = [{"name": "open"},
                     {"name": "closed", "policy": [{"day": 60, "set": {"licensing.approval_rate": 0.0}}]}]
    src = tmp_path / "forked.toml"
    src.write_text(dumps(doc))
    out, batches = tmp_path / "run", tmp_path / "batches"
    # the branches run one after the other: "open" whole, then "closed", whose replications 6-19 wait
    argv = faults.command(str(src), "--out", str(out), "--workers", "2", "--quiet", hold_from=6,
                          hold_branch="closed", gate=tmp_path / "never", batches=batches)

    def closed_started() -> bool:  # "open"'s 20 replications and some of "closed" have reached the parent
        return batches.exists() and sum(int(x) for x in batches.read_text().split()) > 20

    p, _, err = _interrupt(tmp_path, argv, signal.SIGINT, closed_started, "replications of both branches", True)
    assert p.returncode == 130 and "marked partial" in err, err
    folders = [out, out / "branches" / "open", out / "branches" / "closed"]
    kept = [sorted(pd.read_parquet(f / "replications.parquet").replication.unique()) for f in folders]
    assert kept[0] == kept[1] == kept[2] and 0 < len(kept[0]) <= 6 and max(kept[0]) < 6, kept
    assert check_complete(out)["status"] == "partial"
    rep = cli("report", str(out))
    assert rep.code == 0 and "partial run" in rep.err, rep.err


@pytest.mark.slow
def test_a_sweep_that_runs_out_of_disk_keeps_its_parts_and_resumes(tmp_path: Path) -> None:
    import resource

    src = chain_file(tmp_path)
    args = ["sweep", str(src), "--grid", "licensing.approval_rate=0.3,0.9", "-n", "6", "--workers", "1", "--quiet"]
    full = cli(*args, "--out", str(tmp_path / "full"))
    assert full.code == 0, full.err
    limit = max(f.stat().st_size for f in parts(tmp_path / "full")) + 1  # parts fit, the final table does not
    assert (tmp_path / "full" / "results.parquet").stat().st_size > limit

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = tmp_path / "sw"
    p = subprocess.run([sys.executable, "-m", "resim", *args, "--out", str(out)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600, preexec_fn=small_disk)
    assert p.returncode == 1 and "could not store" in p.stderr and "--resume" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and len(parts(out)) == len(parts(tmp_path / "full"))
    again = cli(*args, "--out", str(out), "--resume")
    assert again.code == 0, again.err
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"),
                                  pd.read_parquet(tmp_path / "full" / "results.parquet"))


def test_the_first_signal_stops_and_later_ones_cannot_cut_the_clean_up_short() -> None:
    from resim.experiment.interrupts import Interrupted, stop_on_signals

    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(announce=False):
        with pytest.raises(Interrupted) as stop:
            os.kill(os.getpid(), signal.SIGTERM)
            wait_for(lambda: False, "the SIGTERM handler to raise")  # it raises while we wait
        assert stop.value.exit_code == 143
        os.kill(os.getpid(), signal.SIGINT)  # during clean-up: ignored
        time.sleep(0.05)
    assert signal.getsignal(signal.SIGTERM) == before
