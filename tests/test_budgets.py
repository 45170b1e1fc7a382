"""Budgets that see the load (issue 18): offered load against reviewer
capacity by queueing theory, checked against the simulated office; memory
refusals, saturation warnings, worker caps, sweep sizes from the design,
repeated grid keys, sweep points checked by validate, Dask addresses."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from procs import chain_file, resim_here

from resim.scenario.tomlwriter import dumps

from chain_fixtures import small_chain


def _office(stages: list[dict[str, object]], rate: float, horizon: float, **extra: object) -> dict[str, object]:
    return {"scenario": {"name": "office", "horizon": horizon, "replications": 4, "seed": 11},
            "output": {"licence_records": "exporters"},
            "licensing": {"background": {"applications_per_day": rate}, "stages": stages, **extra}}


def _exp(name: str, mean: float, reviewers: object) -> dict[str, object]:
    return {"name": name, "reviewers": reviewers, "duration": {"dist": "exponential", "mean": mean}}


def test_office_load_matches_the_simulated_office_stable_and_saturated() -> None:
    import resim
    from resim.experiment.workload import office_load
    from resim.model.queueing import erlang_c

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

    st = resim.simulate(scn, workers=1).stages
    area = st.assign(L=(st.queue_area + st.busy_area) / st.horizon_days, end=st.in_queue_at_end + st.in_service_at_end)
    per = area.groupby("stage")[["L", "end", "arrivals"]].mean()
    assert per.loc["a", "L"] == pytest.approx(a.in_flight, rel=0.05)  # Little's law at the stable stage
    assert per.loc["b", "end"] == pytest.approx(b.in_flight, rel=0.05)  # the backlog at the horizon
    assert per.loc["c", "arrivals"] / horizon == pytest.approx(c.arrivals_per_day, rel=0.05)


def test_a_load_that_would_not_fit_in_memory_is_refused_with_the_estimate(tmp_path: Path) -> None:
    src = tmp_path / "flood.toml"
    src.write_text(dumps(_office([_exp("a", 20.0, "inf")], 1e6, 60)))
    t0 = time.monotonic()
    p = resim_here([str(src), "--out", str(tmp_path / "o"), "--max-memory", "2G"], tmp_path)
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert "applications would be in review at once" in p.stderr and "--max-memory is 2.0 GB" in p.stderr
    assert "licensing.background.applications_per_day" in p.stderr
    assert time.monotonic() - t0 < 60 and not (tmp_path / "o").exists()
    p = resim_here([str(src), "--out", str(tmp_path / "o"), "--max-memory", "lots"], tmp_path)
    assert p.returncode == 2 and "--max-memory" in p.stderr


def test_a_saturated_stage_is_reported_by_validate_and_run(tmp_path: Path) -> None:
    src = tmp_path / "busy.toml"  # 4 x over capacity: 8 a day on 2 reviewers of 1 day each
    src.write_text(dumps(_office([_exp("only", 1.0, 2)], 8.0, 30)))
    p = resim_here(["validate", str(src)], tmp_path)
    assert p.returncode == 0 and "licensing.stages[0] (only)" in p.stdout and "utilisation 4.00 >= 1" in p.stdout
    p = resim_here([str(src), "-n", "1", "--out", str(tmp_path / "o")], tmp_path)
    assert p.returncode == 0 and "warning" in p.stderr and "utilisation 4.00" in p.stderr


@pytest.mark.slow
def test_workers_are_capped_at_the_units_and_four_per_core(tmp_path: Path) -> None:
    from resim.experiment.replications import cap_workers, cores

    src = chain_file(tmp_path, **{"scenario.replications": 2})
    p = resim_here([str(src), "--out", str(tmp_path / "o"), "--workers", "1000"], tmp_path)
    assert p.returncode == 0 and "--workers 1000 capped at 2" in p.stderr, p.stderr
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["workers"] == 2
    assert cap_workers(1000, 10**6, announce=False) == 4 * cores()


def test_a_huge_sweep_is_refused_from_its_design_before_any_point_is_built(tmp_path: Path) -> None:
    src = chain_file(tmp_path)
    t0 = time.monotonic()
    p = resim_here(["sweep", str(src), "--grid", "licensing.approval_rate=0:1:100000",
                "--grid", "controls.lifetime_days=100:200:100000", "-n", "1", "--out", str(tmp_path / "o")], tmp_path)
    assert p.returncode == 2 and "10,000,000,000 units" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert time.monotonic() - t0 < 60 and not (tmp_path / "o").exists()


def test_a_repeated_grid_key_is_an_error(tmp_path: Path) -> None:
    p = resim_here(["sweep", str(chain_file(tmp_path)), "--grid", "licensing.approval_rate=0.2,0.4",
                "--grid", "licensing.approval_rate=0.6", "--out", str(tmp_path / "o")], tmp_path)
    assert p.returncode == 2 and "given twice" in p.stderr and "licensing.approval_rate" in p.stderr
    assert not (tmp_path / "o").exists()


def test_validate_checks_every_sweep_point_and_names_file_point_and_key(tmp_path: Path) -> None:
    doc = small_chain(**{"controls.renewal_lead_days": 60})
    doc["sweep"] = {"replications": 2, "grid": {"licensing.approval_rate": [0.5, 1.0],
                                                  "controls.lifetime_days": [365, 30]}}
    src = tmp_path / "grid.toml"
    src.write_text(dumps(doc))  # each value is fine alone; lifetime 30 < renewal lead 60 is not
    p = resim_here(["validate", str(src)], tmp_path)
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    line = p.stderr.strip()
    assert line.startswith(f"{src}: sweep design point 1 (") and "controls.lifetime_days=30" in line
    assert 'sweep.grid."controls.lifetime_days"' in line and "renewal_lead_days" in line
    p = resim_here(["sweep", str(src), "--out", str(tmp_path / "o")], tmp_path)
    assert p.returncode == 2 and p.stderr.strip() == line and not (tmp_path / "o").exists()


@pytest.mark.slow
def test_a_bad_dask_address_is_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for address in (f"tcp://127.0.0.1:{port}", "nonsense://x"):
        p = resim_here(["sweep", str(chain_file(tmp_path)), "--grid", "licensing.approval_rate=0.5", "-n", "1",
                    "--dask", address, "--out", str(tmp_path / "o")], tmp_path)
        assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--dask" in p.stderr, p.stderr
        assert "internal error" not in p.stderr and not (tmp_path / "o").exists()
        assert sorted(f.name for f in tmp_path.iterdir()) == ["chain.toml"]


@pytest.mark.processes
def test_dask_local_listens_on_localhost_with_tls_only() -> None:
    from distributed import Client

    from resim.experiment.executors import DaskConnection

    with DaskConnection("local", 1) as conn:
        address = conn.cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:")
        with pytest.raises((OSError, TimeoutError, ValueError)):  # no certificate, no entry
            Client(address.replace("tls://", "tcp://"), timeout=3)
        assert conn.client.submit(sum, [1, 2]).result() == 3


