"""Reliability: determinism under a random hash seed, bounded work, nothing
written outside --out, extends relative to the file (issue 8); and under real
faults (issue 18): a concurrent second writer, a full disk, a killed worker,
SIGINT and SIGTERM with a check for leftover processes, mixed folders."""

from __future__ import annotations

import json
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
    from resim.loader import load

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


# ------------------------------------------------------------ issue 18: real faults

def _chain_file(tmp_path: Path, **changes: object) -> Path:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.replications": 4, "scenario.horizon": 120, **changes})))
    return src


def _start(argv: list[str], cwd: Path, **kw: object) -> subprocess.Popen[str]:
    """A resim process in a session of its own (its process group is ours to watch)."""
    return subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kw)  # type: ignore[call-overload]


def _group_gone(pgid: int, within: float = 10.0) -> bool:
    """True once no process is left in the process group ``pgid``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _wait_for(cond: Callable[[], bool], within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _parts(out: Path) -> list[Path]:
    return sorted((out / "parts").glob("part-*.parquet")) if (out / "parts").is_dir() else []


def test_a_second_writer_is_refused_naming_the_first_and_rows_are_not_duplicated(tmp_path: Path) -> None:
    src = _chain_file(tmp_path)
    out = tmp_path / "sw"
    args = ["sweep", str(src), "--grid", "licensing.approval_rate=0.3,0.6,0.9", "-n", "6", "--workers", "1",
            "--out", str(out), "--quiet"]
    first = _start(faults.command(*args, slow=0.3), tmp_path)
    _wait_for(lambda: len(_parts(out)) >= 1)
    second = subprocess.run([sys.executable, "-m", "resim", *args, "--resume"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 2, second.stderr
    assert second.stderr.count("\n") == 1 and f"pid {first.pid}" in second.stderr
    run = subprocess.run([sys.executable, "-m", "resim", "run", str(src), "--out", str(out)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and f"pid {first.pid}" in run.stderr
    assert first.wait(timeout=300) == 0, first.stderr.read()  # type: ignore[union-attr]
    rows = pd.read_parquet(out / "results.parquet")
    assert len(rows) == 3 * 6 * 4 and not rows.duplicated(["point", "replication", "automaker"]).any()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chain.toml", "sw"]  # the lock file is gone


def test_the_folder_lock_names_its_holder_and_goes_when_released(tmp_path: Path) -> None:
    from resim.errors import ScenarioError
    from resim.runfolder import RunFolder

    out = tmp_path / "o"
    with RunFolder(out, "run"):
        assert (tmp_path / ".o.lock").read_text().strip() == str(os.getpid())
        code = ("import sys; from resim.runfolder import RunFolder; from resim.errors import ScenarioError\n"
                f"try:\n    RunFolder({str(out)!r}, 'run').__enter__()\nexcept ScenarioError as e:\n"
                "    print(e); sys.exit(3)")
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert p.returncode == 3 and f"pid {os.getpid()}" in p.stdout
    assert not (tmp_path / ".o.lock").exists()
    with RunFolder(out, "run"), pytest.raises(ScenarioError):  # a lock is not re-entrant across descriptors
        RunFolder(out, "run").__enter__()


def test_a_run_that_cannot_write_its_files_leaves_the_earlier_run_whole(tmp_path: Path) -> None:
    import resource

    src = _chain_file(tmp_path)
    out = tmp_path / "run"
    ok = _resim([str(src), "--out", str(out), "--workers", "1", "--quiet"], tmp_path)
    assert ok.returncode == 0, ok.stderr
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
    rep = _resim(["report", str(out)], tmp_path)
    assert rep.returncode == 0, rep.stderr


def test_report_refuses_an_incomplete_or_mixed_folder_and_says_when_a_run_is_partial(tmp_path: Path) -> None:
    from resim.runfolder import MARKER

    src = _chain_file(tmp_path)
    for name, seed in (("a", "1"), ("b", "2")):
        p = _resim([str(src), "--out", str(tmp_path / name), "--seed", seed, "--quiet"], tmp_path)
        assert p.returncode == 0, p.stderr
    mixed = tmp_path / "a"
    (mixed / "replications.parquet").write_bytes((tmp_path / "b" / "replications.parquet").read_bytes())
    p = _resim(["report", str(mixed)], tmp_path)
    assert p.returncode == 2 and "replications.parquet" in p.stderr and "mixes" in p.stderr
    assert p.stderr.count("\n") == 1
    (tmp_path / "b" / MARKER).unlink()
    p = _resim(["report", str(tmp_path / "b")], tmp_path)
    assert p.returncode == 2 and "not a finished run" in p.stderr and p.stderr.count("\n") == 1


def test_a_killed_worker_is_a_failure_row_with_its_seed_and_the_run_goes_on(tmp_path: Path) -> None:
    src = _chain_file(tmp_path, **{"scenario.replications": 8})
    out = tmp_path / "o"
    p = subprocess.run(faults.command(str(src), "--out", str(out), "--workers", "2", kill={3}), cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 1 and "1 of 8 replications failed" in p.stderr and "Traceback" not in p.stderr
    reps = pd.read_parquet(out / "replications.parquet")
    bad = reps[reps.error.notna()]
    assert list(bad.replication) == [3] and "SIGKILL" in bad.error.iloc[0]
    assert json.loads(bad.seed.iloc[0]) == [7, 3]
    assert set(reps[reps.error.isna()].replication) == {0, 1, 2, 4, 5, 6, 7}


def test_a_killed_sweep_worker_is_a_failure_row_and_the_other_units_match_a_clean_sweep(tmp_path: Path) -> None:
    src = _chain_file(tmp_path)
    args = ["sweep", str(src), "--grid", "licensing.approval_rate=0.3,0.9", "-n", "4", "--workers", "2", "--quiet"]
    clean = subprocess.run([sys.executable, "-m", "resim", *args, "--out", str(tmp_path / "clean")], cwd=tmp_path,
                           capture_output=True, text=True, timeout=600)
    assert clean.returncode == 0, clean.stderr
    p = subprocess.run(faults.command(*args, "--out", str(tmp_path / "k"), kill={1}), cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 1 and "2 sweep units failed" in p.stderr, p.stderr
    rows = pd.read_parquet(tmp_path / "k" / "results.parquet")
    bad = rows[rows.error.notna()]
    assert sorted(zip(bad.point, bad.replication, strict=True)) == [(0, 1), (1, 1)]
    assert bad.error.str.contains("SIGKILL").all() and bad.seed.notna().all()
    expected = pd.read_parquet(tmp_path / "clean" / "results.parquet")
    pd.testing.assert_frame_equal(rows[rows.error.isna()].reset_index(drop=True),
                                  expected[expected.replication != 1].reset_index(drop=True))


def test_compare_turns_a_failed_pair_into_a_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from resim.comparison import compare

    faults.inject(monkeypatch, fail={2})
    df = compare(_chain_file(tmp_path), overrides_b=["licensing.approval_rate=0.5"], replications=5)
    failed = df[df.metric == "failed"]
    assert list(failed.replication) == [2] and "injected fault" in failed.error.iloc[0]
    assert json.loads(failed.seed.iloc[0]) == [7, 2]
    stats = df[df.metric != "failed"]
    assert len(stats) and (stats.n <= 4).all()  # the four pairs where both sides ran
    assert (stats[stats.metric == "shortfall_t"].n == 4).all()


def _interrupt(tmp_path: Path, argv: list[str], sig: int, ready: Callable[[], bool],
               group: bool) -> tuple[subprocess.Popen[str], float, str]:
    p = _start(argv, tmp_path)
    _wait_for(ready)
    t0 = time.monotonic()
    if group:
        os.killpg(p.pid, sig)  # Ctrl-C on a terminal reaches the whole process group
    else:
        os.kill(p.pid, sig)  # `kill PID` reaches the parent only
    _, err = p.communicate(timeout=120)
    took = time.monotonic() - t0
    assert _group_gone(p.pid), "worker processes outlived the command"
    return p, took, err


@pytest.mark.parametrize(("sig", "group", "code"), [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)])
def test_an_interrupted_sweep_stops_within_seconds_keeps_its_parts_and_resumes(
        tmp_path: Path, sig: int, group: bool, code: int) -> None:
    src = _chain_file(tmp_path)
    out = tmp_path / "sw"
    args = ["sweep", str(src), "--grid", "licensing.approval_rate=0.3,0.9", "-n", "40", "--workers", "2",
            "--out", str(out), "--quiet"]
    # 80 units of at least 1 s each on 2 workers: a minute of work left when the signal comes
    p, took, err = _interrupt(tmp_path, faults.command(*args, slow=1.0), sig, lambda: len(_parts(out)) >= 2, group)
    assert p.returncode == code and "stopping" in err and "--resume" in err and "Traceback" not in err, err
    assert took < 15, took
    kept = len(_parts(out))
    assert kept >= 2 and not (out / "results.parquet").exists()
    resumed = subprocess.run([sys.executable, "-m", "resim", *args, "--resume"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    rows = pd.read_parquet(out / "results.parquet")
    assert len(rows) == 2 * 40 * 4 and not rows.duplicated(["point", "replication", "automaker"]).any()


@pytest.mark.parametrize(("sig", "group", "code"), [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)])
def test_an_interrupted_run_writes_what_finished_marked_partial(tmp_path: Path, sig: int, group: bool,
                                                                  code: int) -> None:
    from resim.runfolder import check_complete

    src = _chain_file(tmp_path)
    out = tmp_path / "run"
    started = tmp_path / "started"
    argv = faults.command(str(src), "-n", "200", "--out", str(out), "--workers", "2", "--quiet", slow=0.5)
    # 200 replications of at least 0.5 s on 2 workers: 50 s of work; stop it after 8 s
    ready = lambda: started.exists() or (time.sleep(8.0) or started.touch() or True)  # noqa: E731
    p, took, err = _interrupt(tmp_path, argv, sig, ready, group)
    assert p.returncode == code and "stopping" in err and "marked partial" in err, err
    assert took < 20, took
    doc = check_complete(out)
    assert doc["status"] == "partial" and 0 < doc["replications"] < 200
    reps = pd.read_parquet(out / "replications.parquet")
    assert reps.replication.nunique() == doc["replications"] and reps.error.isna().all()
    rep = _resim(["report", str(out)], tmp_path)
    assert rep.returncode == 0 and "partial run" in rep.stderr, rep.stderr


# ------------------------------------------------------------ budgets that see the load

def _office(stages: list[dict[str, object]], rate: float, horizon: float, **extra: object) -> dict[str, object]:
    return {"scenario": {"name": "office", "horizon": horizon, "replications": 4, "seed": 11},
            "output": {"licence_records": "exporters"},
            "licensing": {"background": {"applications_per_day": rate}, "stages": stages, **extra}}


def _exp(name: str, mean: float, reviewers: object) -> dict[str, object]:
    return {"name": name, "reviewers": reviewers, "duration": {"dist": "exponential", "mean": mean}}


def test_office_load_matches_the_simulated_office_stable_and_saturated() -> None:
    import resim
    from resim.theory import erlang_c
    from resim.workload import office_load

    # stage 0: M/M/12 at rho = 0.83; stage 1: M/M/4 offered 10 erlangs (rho 2.5,
    # saturated); stage 2 sees only what stage 1 passes on (4 / 1 a day).
    horizon = 1500.0
    scn = _office([_exp("a", 2.0, 12), _exp("b", 2.0, 4), _exp("c", 1.0, "inf")], 5.0, horizon)
    est = office_load(resim.load_scenario(scn).scenario)
    a, b, c = est.stages
    assert a.rho == pytest.approx(10 / 12) and not a.saturated and b.saturated and b.rho == pytest.approx(2.5)
    assert a.in_flight == pytest.approx(10 + erlang_c(10, 12) * 5 * 2 / 2)  # L = a + Lq (Erlang C)
    assert b.in_flight == pytest.approx(4 + (5 - 2) * horizon)  # c in service + a queue growing at lam - c/m
    assert c.arrivals_per_day == pytest.approx(2.0)

    st = resim.simulate(scn).stages
    area = st.assign(L=(st.queue_area + st.busy_area) / st.horizon_days, end=st.in_queue_at_end + st.in_service_at_end)
    per = area.groupby("stage")[["L", "end", "arrivals"]].mean()
    assert per.loc["a", "L"] == pytest.approx(a.in_flight, rel=0.05)  # Little's law at the stable stage
    assert per.loc["b", "end"] == pytest.approx(b.in_flight, rel=0.05)  # the backlog at the horizon
    assert per.loc["c", "arrivals"] / horizon == pytest.approx(c.arrivals_per_day, rel=0.05)


def test_a_load_that_would_not_fit_in_memory_is_refused_with_the_estimate(tmp_path: Path) -> None:
    src = tmp_path / "flood.toml"
    src.write_text(dumps(_office([_exp("a", 20.0, "inf")], 1e6, 60)))
    t0 = time.monotonic()
    p = _resim([str(src), "--out", str(tmp_path / "o"), "--max-memory", "2G"], tmp_path)
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert "applications would be in review at once" in p.stderr and "--max-memory is 2.0 GB" in p.stderr
    assert "licensing.background.applications_per_day" in p.stderr
    assert time.monotonic() - t0 < 60 and not (tmp_path / "o").exists()
    p = _resim([str(src), "--out", str(tmp_path / "o"), "--max-memory", "lots"], tmp_path)
    assert p.returncode == 2 and "--max-memory" in p.stderr


def test_a_saturated_stage_is_reported_by_validate_and_run(tmp_path: Path) -> None:
    src = tmp_path / "busy.toml"  # 4 x over capacity: 8 a day on 2 reviewers of 1 day each
    src.write_text(dumps(_office([_exp("only", 1.0, 2)], 8.0, 30)))
    p = _resim(["validate", str(src)], tmp_path)
    assert p.returncode == 0 and "licensing.stages[0] (only)" in p.stdout and "utilisation 4.00 >= 1" in p.stdout
    p = _resim([str(src), "-n", "1", "--out", str(tmp_path / "o")], tmp_path)
    assert p.returncode == 0 and "warning" in p.stderr and "utilisation 4.00" in p.stderr


def test_workers_are_capped_at_the_units_and_four_per_core(tmp_path: Path) -> None:
    from resim.execution import cap_workers, cores

    src = _chain_file(tmp_path, **{"scenario.replications": 2})
    p = _resim([str(src), "--out", str(tmp_path / "o"), "--workers", "1000"], tmp_path)
    assert p.returncode == 0 and "--workers 1000 capped at 2" in p.stderr, p.stderr
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["workers"] == 2
    assert cap_workers(1000, 10**6, announce=False) == 4 * cores()


def test_a_huge_sweep_is_refused_from_its_design_before_any_point_is_built(tmp_path: Path) -> None:
    src = _chain_file(tmp_path)
    t0 = time.monotonic()
    p = _resim(["sweep", str(src), "--grid", "licensing.approval_rate=0:1:100000",
                "--grid", "controls.lifetime_days=100:200:100000", "-n", "1", "--out", str(tmp_path / "o")], tmp_path)
    assert p.returncode == 2 and "10,000,000,000 units" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert time.monotonic() - t0 < 60 and not (tmp_path / "o").exists()


def test_a_repeated_grid_key_is_an_error(tmp_path: Path) -> None:
    p = _resim(["sweep", str(_chain_file(tmp_path)), "--grid", "licensing.approval_rate=0.2,0.4",
                "--grid", "licensing.approval_rate=0.6", "--out", str(tmp_path / "o")], tmp_path)
    assert p.returncode == 2 and "given twice" in p.stderr and "licensing.approval_rate" in p.stderr
    assert not (tmp_path / "o").exists()


def test_validate_checks_every_sweep_point_and_names_file_point_and_key(tmp_path: Path) -> None:
    doc = small_chain(**{"controls.renewal_lead_days": 60})
    doc["sweep"] = {"replications": 2, "grid": {"licensing.approval_rate": [0.5, 1.0],
                                                  "controls.lifetime_days": [365, 30]}}
    src = tmp_path / "grid.toml"
    src.write_text(dumps(doc))  # each value is fine alone; lifetime 30 < renewal lead 60 is not
    p = _resim(["validate", str(src)], tmp_path)
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    line = p.stderr.strip()
    assert line.startswith(f"{src}: sweep design point 1 (") and "controls.lifetime_days=30" in line
    assert 'sweep.grid."controls.lifetime_days"' in line and "renewal_lead_days" in line
    p = _resim(["sweep", str(src), "--out", str(tmp_path / "o")], tmp_path)
    assert p.returncode == 2 and p.stderr.strip() == line and not (tmp_path / "o").exists()


def test_a_bad_dask_address_is_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for address in (f"tcp://127.0.0.1:{port}", "nonsense://x"):
        p = _resim(["sweep", str(_chain_file(tmp_path)), "--grid", "licensing.approval_rate=0.5", "-n", "1",
                    "--dask", address, "--out", str(tmp_path / "o")], tmp_path)
        assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--dask" in p.stderr, p.stderr
        assert "internal error" not in p.stderr and not (tmp_path / "o").exists()
        assert sorted(f.name for f in tmp_path.iterdir()) == ["chain.toml"]


def test_dask_local_listens_on_localhost_with_tls_only() -> None:
    from distributed import Client

    from resim.executors import DaskConnection

    with DaskConnection("local", 1) as conn:
        address = conn.cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:")
        with pytest.raises((OSError, TimeoutError, ValueError)):  # no certificate, no entry
            Client(address.replace("tls://", "tcp://"), timeout=3)
        assert conn.client.submit(sum, [1, 2]).result() == 3


# ------------------------------------------------------------ folders and text

def test_resume_under_another_spelling_of_the_scenario_path(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    src = _chain_file(tmp_path)
    args = ["--grid", "licensing.approval_rate=0.5", "-n", "2", "--out", str(tmp_path / "sw"), "--quiet"]
    p = _resim(["sweep", "chain.toml", *args], tmp_path)
    assert p.returncode == 0, p.stderr
    p = _resim(["sweep", str(tmp_path / "sub" / ".." / src.name), *args, "--resume"], tmp_path)
    assert p.returncode == 0, p.stderr


def test_zero_length_and_stale_files_do_not_break_resume(tmp_path: Path) -> None:
    src = _chain_file(tmp_path)
    args = ["sweep", str(src), "--grid", "licensing.approval_rate=0.3,0.9", "-n", "4", "--workers", "1", "--quiet"]
    p = _resim([*args, "--out", str(tmp_path / "full")], tmp_path)
    assert p.returncode == 0, p.stderr
    out = tmp_path / "cut"
    p = _resim([*args, "--out", str(out)], tmp_path)
    assert p.returncode == 0, p.stderr
    # a power cut: the last parts are there with no bytes, the final tables never came
    parts = _parts(out)
    for f in parts[-2:]:
        f.write_bytes(b"")
    for f in ("results.parquet", "summary.parquet", ".resim-complete.json"):
        (out / f).unlink()
    (out / ".results.parquet.x1.tmp").write_bytes(b"half")
    (out / "parts" / ".part-x.parquet.x2.tmp").write_bytes(b"half")
    (tmp_path / ".cut.staging-1").mkdir()
    p = _resim([*args, "--out", str(out), "--resume"], tmp_path)
    assert p.returncode == 0, p.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"),
                                  pd.read_parquet(tmp_path / "full" / "results.parquet"))
    assert not list(out.rglob("*.tmp")) and not (tmp_path / ".cut.staging-1").exists()


def test_out_holding_something_else_is_refused_unless_overwrite(tmp_path: Path) -> None:
    src = _chain_file(tmp_path, **{"scenario.replications": 2})
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("do not lose")
    p = _resim([str(src), "--out", str(mine)], tmp_path)
    assert p.returncode == 2 and "not a resim result" in p.stderr and "--overwrite" in p.stderr
    assert sorted(f.name for f in mine.iterdir()) == ["notes.txt"]
    p = _resim([str(src), "--out", str(mine), "--overwrite", "--quiet"], tmp_path)
    assert p.returncode == 0 and not (mine / "notes.txt").exists() and (mine / "summary.json").is_file()
    p = _resim([str(src), "--out", str(mine), "--quiet"], tmp_path)  # a run over a run: fine
    assert p.returncode == 0, p.stderr
    p = _resim(["sweep", str(src), "--grid", "licensing.approval_rate=0.5", "-n", "1", "--out", str(mine)], tmp_path)
    assert p.returncode == 2 and "holds a resim run, not a sweep" in p.stderr
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    p = _resim([str(src), "--out", str(fifo)], tmp_path)
    assert p.returncode == 2 and "not a directory" in p.stderr and p.stderr.count("\n") == 1


def test_the_resolved_scenario_cannot_be_injected_and_reruns_to_the_same_results(tmp_path: Path) -> None:
    import tomllib

    import resim
    from resim.tomlwriter import resolved_toml

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
    a = resim.simulate(loaded, replications=2).replications
    b = resim.simulate(again, replications=2).replications
    pd.testing.assert_frame_equal(a, b)
