"""Sequential replications (issue 16): Hoad et al.'s rule reaches its
target, keeps the same replications whatever the batches or workers, stops
at -n and says so, and works per sweep point."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import resim
from resim.experiment.sequential import Target, decide, look_ahead, prefix_precision
from resim.scenario.tomlwriter import dumps

from chain_fixtures import small_chain
from scenario_helpers import assert_one_line_error, cli


def _run(v: np.ndarray, target: Target, cap: int, step: int | None = None) -> object:
    """Feed ``v`` to the rule as the runner would: in the batches it asks for (or fixed ``step``s)."""
    m = 0
    while True:
        d = decide(v[:m], target, cap)
        if d.status != "more":
            return d
        m = min(cap, d.next_total if step is None else max(m + step, 8))


def test_prefix_precision_is_the_t_interval_of_each_prefix() -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(1e6, 2e5, size=(40, 2))
    v[5, 1] = np.nan  # a failed replication counts for nothing
    count, mean, half = prefix_precision(v)
    for n in (2, 7, 40):
        col = v[:n, 1][~np.isnan(v[:n, 1])]
        assert count[n - 1, 1] == col.size and mean[n - 1, 1] == pytest.approx(col.mean())
        want = stats.t.ppf(0.975, col.size - 1) * col.std(ddof=1) / math.sqrt(col.size)
        assert half[n - 1, 1] == pytest.approx(want, rel=1e-9)
    assert np.isinf(half[0]).all()
    same = prefix_precision(np.full((10, 1), 123456.789))[2]
    assert (same[1:] == 0).all()  # equal values: a zero-width interval, not rounding noise


@pytest.mark.parametrize("cv, rel", [(0.2, 0.05), (0.5, 0.1), (1.0, 0.2)])
def test_the_rule_reaches_its_target_near_the_replications_theory_asks_for(cv: float, rel: float) -> None:
    rng = np.random.default_rng(int(cv * 100))
    v = rng.normal(100.0, 100.0 * cv, size=(5000, 1))
    d = _run(v, Target(rel), cap=5000)
    assert d.status == "met"
    n = d.solution
    assert d.replications == n + look_ahead(n)
    _, mean, half = prefix_precision(v[: d.replications])
    assert (half[n - 1:] <= rel * np.abs(mean[n - 1:])).all()  # met at n and for the whole look-ahead
    theory = (1.96 * cv / rel) ** 2  # n with z * s / sqrt(n) = rel * mean
    assert 0.5 * theory <= n <= 2 * theory + 10, (n, theory)
    # the kept replications do not depend on the batches the runner used
    for step in (1, 7, 50):
        assert _run(v, Target(rel), 5000, step) == d


def test_the_rule_stops_at_the_cap_and_an_absolute_floor_rescues_a_mean_near_zero() -> None:
    rng = np.random.default_rng(1)
    v = rng.normal(0.0, 1.0, size=(200, 1))  # mean 0: no relative precision is ever reached
    d = _run(v, Target(0.05), cap=60)
    assert d.status == "capped" and d.replications == 60 and d.solution is None
    d = _run(v, Target(0.05, abs_floor=0.5), cap=200)
    assert d.status == "met" and d.precision[0]["half_width"] <= 0.5


@pytest.mark.slow
def test_run_with_target_ci_keeps_the_same_replications_on_any_workers(tmp_path: Path) -> None:
    doc = small_chain(**{"scenario.horizon": 120})
    kw = dict(replications=60, target_ci=0.25, target_kpis=["fill_rate@EU maker", "vehicles_lost"])
    one = resim.simulate(doc, workers=1, out=tmp_path / "w1", **kw)
    two = resim.simulate(doc, workers=2, out=tmp_path / "w2", **kw)
    pd.testing.assert_frame_equal(one.replications, two.replications)
    seq = json.loads((tmp_path / "w1" / "sequential.json").read_text())
    assert seq == json.loads((tmp_path / "w2" / "sequential.json").read_text())
    assert one.sequential == seq  # the decision is on the Results too, not only in the file
    n = len(one.outputs)
    assert seq["status"] == "met" and n == seq["solution"] + look_ahead(seq["solution"]) < 60
    for p in seq["precision"]:
        assert p["half_width"] <= 0.25 * abs(p["mean"]) + 1e-9
    # the same replications as a plain run of n, which the rule only chose the length of
    plain = resim.simulate(doc, replications=n, workers=1)
    pd.testing.assert_frame_equal(one.replications, plain.replications)
    assert sorted(one.replications["replication"].unique()) == list(range(n))  # a prefix: child r of the seed
    assert plain.sequential is None
    plain.write(tmp_path / "w1")  # a plain run written over a sequential one leaves no stale decision
    assert not (tmp_path / "w1" / "sequential.json").exists()


@pytest.mark.slow
def test_the_command_line_says_when_the_target_is_not_met(tmp_path: Path) -> None:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.horizon": 90})))
    r = cli("run", str(src), "-n", "9", "--target-ci", "0.0001", "--workers", "1", "--out", str(tmp_path / "o"))
    assert r.code == 0, r.err
    assert "target not met within -n 9" in " ".join(r.out.split())
    assert "--target-ci 0.0001 not met within -n 9 replications" in r.err
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["replications"] == 9
    assert_one_line_error(cli("run", str(src), "--target-kpi", "vehicles_lost"), "--target-ci")
    assert_one_line_error(cli("run", str(src), "--target-ci", "1.5"), "--target-ci", "1.5")
    assert_one_line_error(cli("run", str(src), "--target-ci", "0.1", "--target-kpi", "vehicles_lost@Nobody"),
                          "--target-kpi", "Nobody")
    assert_one_line_error(cli("run", str(src), "--target-ci", "0.1", "--target-kpi", "lost"), "lost", "is not a KPI")


@pytest.mark.slow
def test_a_sweep_with_target_ci_replicates_each_point_until_it_is_met(tmp_path: Path) -> None:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.horizon": 120})))
    args = ["sweep", str(src), "--grid", "licensing.approval_rate=0.3,1.0", "-n", "40", "--target-ci", "0.2",
            "--target-kpi", "fill_rate@EU maker", "--quiet"]
    r1 = cli(*args, "--workers", "1", "--out", str(tmp_path / "s1"))
    r2 = cli(*args, "--workers", "2", "--out", str(tmp_path / "s2"))
    assert r1.code == 0 and r2.code == 0, (r1.err, r2.err)
    a, b = (pd.read_parquet(tmp_path / s / "results.parquet") for s in ("s1", "s2"))
    pd.testing.assert_frame_equal(a, b)
    doc = json.loads((tmp_path / "s1" / "sweep.json").read_text())
    for d in doc["sequential"]:
        reps = a[a["point"] == d["point"]]["replication"].unique()
        assert sorted(reps) == list(range(d["replications"]))  # each point keeps exactly its prefix
        if d["status"] == "met":
            assert d["precision"][0]["half_width"] <= 0.2 * abs(d["precision"][0]["mean"]) + 1e-12
    assert doc["units"] == sum(d["replications"] for d in doc["sequential"])
    assert "replications per point were chosen" in (tmp_path / "s1" / "report.html").read_text().lower()


def test_a_sequential_sweep_reports_the_work_known_each_round_not_the_cap(tmp_path: Path) -> None:
    from resim.api import sweep
    from resim.experiment.sequential import first_batch, parse_target

    seen: list[tuple[int, int]] = []
    done = [0]
    res = sweep(small_chain(**{"scenario.horizon": 120}), grid={"licensing.approval_rate": [0.3, 1.0]},
                replications=40, target=parse_target(0.2, ["fill_rate@EU maker"], None), workers=1,
                out=tmp_path / "s", report=False, on_total=lambda t, d: seen.append((t, d)),
                progress=lambda k, _e: done.__setitem__(0, done[0] + k))
    ran = len(res.results.drop_duplicates(["point", "replication"]))
    assert seen[0] == (2 * first_batch(40), 0)  # the first round, not 2 x 40
    assert all(t1 <= t2 and d1 <= d2 for (t1, d1), (t2, d2) in zip(seen, seen[1:], strict=False))
    assert seen[-1][0] == done[0] < 2 * 40  # the last total is the work that was done
    assert ran <= done[0]  # each point keeps its prefix (a round may run a few past the rule's choice)
