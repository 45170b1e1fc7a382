"""Sensitivity indices (issue 16): Sobol and Morris against analytic cases,
failed points left out with their block, first stockout days censored at
the horizon, and a real Saltelli sweep where one key provably does nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import resim
from resim.experiment.design import index_matrix, make_design
from resim.experiment.point_outcomes import point_outcomes
from resim.experiment.runfolder import check_complete
from resim.experiment.sensitivity import analyse, plan, sweep_sensitivity
from resim.model.kpis import METRICS
from resim.scenario.tomlwriter import dumps

from chain_fixtures import small_chain
from scenario_helpers import assert_one_line_error, cli

RANGES = [("a", 0.0, 1.0), ("b", 0.0, 1.0), ("c", 0.0, 1.0)]


def _results(x: np.ndarray, f, replications: int = 2, failed: set[int] = frozenset()) -> pd.DataFrame:  # noqa: ANN001
    """A sweep's results table whose KPIs are ``f(row)`` at every replication (no noise)."""
    rows = []
    for i, row in enumerate(x):
        for r in range(replications):
            bad = i in failed and r == 1
            d = {"point": i, "replication": r, "automaker": None if bad else "all",
                 "error": "RuntimeError: boom" if bad else None, "seed_entropy": 1}
            d.update({m: np.nan if bad else float(f(row)) for m in METRICS})
            d["first_stockout_day"] = np.nan
            rows.append(d)
    return pd.DataFrame(rows)


def _index(frame: pd.DataFrame, key: str, index: str) -> pd.Series:
    row = frame[(frame["kpi"] == "vehicles_lost") & (frame["parameter"] == key) & (frame["index"] == index)]
    assert len(row) == 1
    return row.iloc[0]


@pytest.mark.slow
def test_sobol_indices_of_a_linear_model_match_theory() -> None:
    # Y = 4a + b with a, b, c uniform on [0, 1]: Var = 16/12 + 1/12, so
    # S1 = ST = 16/17 for a, 1/17 for b, 0 for c (which Y does not read)
    n = 512
    x = index_matrix("sobol", RANGES, n, seed=11)
    assert x.shape == (n * (3 + 2), 3)
    p = plan("sobol", RANGES, n, seed=11)
    sens = analyse(point_outcomes(_results(x, lambda r: 4 * r[0] + r[1]), 100.0), p, len(x))
    for key, theory in (("a", 16 / 17), ("b", 1 / 17), ("c", 0.0)):
        for index in ("S1", "ST"):
            row = _index(sens.frame, key, index)
            assert row.ci_low - 0.02 <= theory <= row.ci_high + 0.02, (key, index, row.to_dict())
            assert abs(row.value - theory) < 0.08
    assert _index(sens.frame, "c", "ST").value == 0.0  # Y never changes with c: exactly nothing to attribute
    # seeded bootstrap: the same numbers on recompute
    again = analyse(point_outcomes(_results(x, lambda r: 4 * r[0] + r[1]), 100.0), p, len(x))
    pd.testing.assert_frame_equal(sens.frame, again.frame)
    # a KPI that is the same everywhere has no indices, and says so
    assert ("first_stockout_day", "all") in sens.constant
    assert sens.of("first_stockout_day").empty


def test_morris_effects_of_a_linear_model_are_its_slopes_across_the_range() -> None:
    ranges = [("a", 0.0, 2.0), ("b", 10.0, 20.0), ("c", 0.0, 1.0)]
    n = 20
    x = index_matrix("morris", ranges, n, seed=3)
    assert x.shape == (n * (3 + 1), 3)
    # Y = 3a - 0.5b: across the whole range a moves Y by 3 x 2 = 6, b by -0.5 x 10 = -5, c by 0
    sens = analyse(point_outcomes(_results(x, lambda r: 3 * r[0] - 0.5 * r[1]), 100.0),
                   plan("morris", ranges, n, seed=3), len(x))
    for key, effect in (("a", 6.0), ("b", 5.0), ("c", 0.0)):
        assert _index(sens.frame, key, "mu_star").value == pytest.approx(effect, abs=1e-9)
        assert _index(sens.frame, key, "sigma").value == pytest.approx(0.0, abs=1e-9)  # linear: no interaction
    assert _index(sens.frame, "b", "mu").value == pytest.approx(-5.0)


def test_a_point_with_a_failed_replication_is_left_out_with_its_block() -> None:
    n = 64
    x = index_matrix("sobol", RANGES, n, seed=5)
    bad = {7, 7 + 5 * 10}  # points of base samples 1 and 11
    sens = analyse(point_outcomes(_results(x, lambda r: 4 * r[0] + r[1], failed=bad), 100.0),
                   plan("sobol", RANGES, n, seed=5), len(x))
    row = _index(sens.frame, "a", "ST")
    assert row.samples == n - 2 and row.points == (n - 2) * 5
    assert any("2 point(s) with a failed replication (7, 57)" in note for note in sens.notes), sens.notes
    assert row.ci_low <= 16 / 17 + 0.05 and row.ci_high >= 16 / 17 - 0.05


def test_point_outcomes_censor_the_first_stockout_at_the_horizon() -> None:
    rows = pd.DataFrame({
        "point": [0, 0, 0, 1, 1, 1], "replication": [0, 1, 2, 0, 1, 2], "automaker": ["all"] * 6,
        "error": [None] * 6, "seed_entropy": [1] * 6,
        **{m: [1.0] * 6 for m in METRICS},
    })
    rows["first_stockout_day"] = [10.0, np.nan, 40.0, np.nan, np.nan, np.nan]
    rows["vehicles_lost"] = [1.0, 2.0, np.nan, 3.0, 3.0, 3.0]  # undefined in one replication: undefined at the point
    out = point_outcomes(rows, np.array([100.0, 60.0])).means.set_index("point")
    assert out.loc[0, "first_stockout_day"] == pytest.approx((10 + 100 + 40) / 3)  # censored, never dropped
    assert out.loc[1, "first_stockout_day"] == 60.0  # that point's own horizon
    assert out.loc[0, "stockout_probability"] == pytest.approx(2 / 3)
    assert np.isnan(out.loc[0, "vehicles_lost"]) and out.loc[1, "vehicles_lost"] == 3.0
    assert list(out["replications"]) == [3, 3]


def test_sampled_designs_have_the_sizes_the_help_promises() -> None:
    loaded = resim.load_scenario(small_chain())
    ranges = [("licensing.approval_rate", 0.2, 1.0), ("controls.lifetime_days", 90.0, 365.0)]
    assert len(make_design(loaded, sampler="sobol", ranges=ranges, samples=8)[1]) == 8 * (2 + 2)
    assert len(make_design(loaded, sampler="morris", ranges=ranges, samples=5)[1]) == 5 * (2 + 1)
    assert len(make_design(loaded, sampler="qmc", ranges=ranges, samples=16)[1]) == 16
    keys, pts = make_design(loaded, sampler="sobol", ranges=ranges, samples=8)
    assert make_design(loaded, sampler="sobol", ranges=ranges, samples=8)[1] == pts  # seeded by the scenario


@pytest.mark.slow
def test_a_sobol_sweep_gives_a_key_that_does_nothing_no_index_and_the_dominant_key_the_largest(
        tmp_path: Path) -> None:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.horizon": 150})))
    out = tmp_path / "sobol"
    # scenario.replications is never read by a replication (its outcome depends on its seed and index
    # alone): a key with provably no effect. The approval rate over 0.1-1.0 dominates a 55-65 day stockpile.
    r = cli("sweep", str(src), "--sampler", "sobol", "--samples", "16", "-n", "2",
            "--range", "licensing.approval_rate=0.1:1.0",
            "--range", "automakers[EU maker].initial_inventory_days=55:65",
            "--range", "scenario.replications=2:50", "--workers", "1", "--out", str(out))
    assert r.code == 0, r.err
    assert "base sample 16 x (3 keys + 2) = 80 points" in r.err
    assert "Sobol indices of vehicles lost" in r.out and "ST (with interactions)" in r.out
    frame = pd.read_parquet(out / "sensitivity.parquet")
    eu = frame[(frame["kpi"] == "vehicles_lost") & (frame["automaker"] == "EU maker")]
    st = eu[eu["index"] == "ST"].set_index("parameter")
    null = st.loc["scenario.replications"]
    assert null.ci_low <= 0.0 <= null.ci_high and abs(null.value) < 0.02
    assert st["value"].idxmax() == "licensing.approval_rate"
    assert st.loc["licensing.approval_rate", "ci_low"] > 0
    # recomputed from the folder: the same numbers (seeded), the folder still complete
    pd.testing.assert_frame_equal(sweep_sensitivity(out).frame, frame)
    r = cli("sensitivity", str(out), "--kpi", "stockout_days", "--automaker", "EU maker")
    assert r.code == 0 and "Sobol indices of stockout days" in r.out and "JP maker" not in r.out
    check_complete(out)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "sensitivity.parquet"), frame)
    # the report: scatter plots (not a heatmap of empty cells), the index bars, the section
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Which keys matter" in html and "sensitivity_vehicles_lost.png" in html
    assert not list((out / "plots").glob("sweep_lines*.png"))
    doc = json.loads((out / "sweep.json").read_text())
    assert doc["sensitivity"]["method"] == "sobol" and doc["sensitivity"]["samples"] == 16


def test_sensitivity_refuses_a_grid_sweep_and_a_bad_kpi(tmp_path: Path) -> None:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.horizon": 60})))
    out = tmp_path / "grid"
    assert cli("sweep", str(src), "--grid", "licensing.approval_rate=0.3,0.9", "-n", "1", "--quiet",
               "--workers", "1", "--out", str(out)).code == 0
    assert_one_line_error(cli("sensitivity", str(out)), str(out), "--sampler sobol or morris")
    assert_one_line_error(cli("sensitivity", str(out), "--kpi", "vehicle_lost"), "vehicle_lost", "is not a KPI")
    assert_one_line_error(cli("sensitivity", str(tmp_path / "nowhere")), "does not exist")
    assert_one_line_error(cli("sweep", str(src), "--sampler", "sobol", "--samples", "4", "--out",
                              str(tmp_path / "x")), "--sampler", "--range")
    assert not (tmp_path / "x").exists()
