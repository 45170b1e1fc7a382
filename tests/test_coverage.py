"""``resim calibrate --coverage K``: simulation-based calibration of the
credible intervals (issue 26 item 4)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from resim.calibration.coverage import Study, draw_truth, rates, run_study, shrunk
from resim.calibration.observed import read_observed
from resim.calibration.particle import ParticleModel
from resim.calibration.priors import check_priors
from resim.calibration.series import compile_targets
from resim.scenario import load

from chain_fixtures import SCENARIOS
from scenario_helpers import assert_one_line_error, cli

PER_SHIPMENT = SCENARIOS / "per_shipment_licences.toml"
ROWS = "series,period,value\n" + "".join(f"exports.magnet.CN.all,2025-{m:02d},100\n" for m in (6, 7, 8))


def _study(tmp_path: Path, fits: int, budget: int = 100, population: int = 20) -> Study:
    obs = tmp_path / "rows.csv"
    obs.write_text(ROWS)
    # the rows end in August: simulating the rest of the year would change nothing they see
    loaded = load(PER_SHIPMENT, overrides={"scenario.horizon": 245})
    targets = compile_targets(read_observed(obs), loaded.scenario, str(obs))
    priors = check_priors(loaded.scenario, ["licensing.approval_rate=0.1:0.9"])
    model = ParticleModel(loaded.scenario, loaded.source, tuple(priors), tuple(targets), 1)
    return Study(model, fits, 11, population, budget, workers=1)


def test_truths_are_uniform_on_the_prior_and_the_same_for_a_resumed_study(tmp_path: Path) -> None:
    from scipy import stats

    study = _study(tmp_path, 400)
    x = np.array([draw_truth(study, k)[0]["licensing.approval_rate"] for k in range(400)])
    assert stats.kstest(x, stats.uniform(0.1, 0.8).cdf).pvalue > 0.001
    assert draw_truth(study, 7) == draw_truth(study, 7)


def test_a_shrunk_interval_covers_less_and_the_rate_has_its_wilson_interval() -> None:
    table = pd.DataFrame({"fit": range(10), "parameter": "a", "truth": np.linspace(0.0, 0.9, 10),
                          "ci_low": 0.0, "ci_high": 1.0, "covered": True})
    r = rates(table)["a"]
    assert (r["fits"], r["covered"], r["rate"]) == (10, 10, 1.0) and 0.6 < r["ci95"][0] < 0.8
    tight = rates(shrunk(table, 0.2))["a"]  # [0.4, 0.6]: holds 0.4 and 0.5 only
    assert tight["covered"] == 2


@pytest.mark.slow
def test_coverage_of_the_per_shipment_approval_rate_is_near_nominal_and_an_overconfident_posterior_scores_lower(
        tmp_path: Path) -> None:
    table = run_study(_study(tmp_path, 12), tmp_path)
    r = rates(table)["licensing.approval_rate"]
    lo, hi = r["ci95"]
    assert r["fits"] == 12 and lo <= 0.98 and hi >= 0.8, r  # the binomial interval overlaps [0.8, 0.98]
    over = rates(shrunk(table, 0.1))["licensing.approval_rate"]
    assert over["rate"] < r["rate"], (over, r)


@pytest.mark.slow
def test_a_resumed_study_adds_the_missing_fits_and_gives_the_uninterrupted_table(tmp_path: Path) -> None:
    study = _study(tmp_path, 2, budget=60, population=10)  # small fits: only their identity matters here
    whole, part = tmp_path / "whole", tmp_path / "part"
    whole.mkdir()
    part.mkdir()
    table = run_study(study, whole)
    run_study(Study(**{**study.__dict__, "fits": 1}), part)
    resumed = run_study(study, part, resume=True)
    pd.testing.assert_frame_equal(resumed.reset_index(drop=True), table.reset_index(drop=True))
    assert not (part / "fits").exists() or not any((part / "fits").iterdir())


@pytest.mark.slow
def test_the_command_writes_coverage_json_and_refuses_a_used_folder(tmp_path: Path) -> None:
    obs = tmp_path / "rows.csv"
    obs.write_text(ROWS)
    out = tmp_path / "cov"
    short = tmp_path / "short.toml"  # the rows end in August
    short.write_text(f'extends = "{PER_SHIPMENT.as_posix()}"\n[scenario]\nhorizon = 245\n')
    args = ["calibrate", str(short), "--observed", str(obs), "--fit", "licensing.approval_rate=0.1:0.9",
            "--coverage", "2", "--budget", "60", "--population", "10", "--workers", "1", "--out", str(out)]
    first = cli(*args)
    assert first.code == 0, first.err
    doc = json.loads((out / "coverage.json").read_text())
    assert doc["parameters"]["licensing.approval_rate"]["fits"] == 2 and doc["settings"]["budget_per_fit"] == 60
    assert "of 2 fits covered" in first.out
    assert_one_line_error(cli(*args), "holds a calibration or coverage study already")
    more = [a if a != "2" else "3" for a in args]
    again = cli(*more, "--resume")  # one more fit, the first two kept
    assert again.code == 0, again.err
    table = pd.read_parquet(out / "coverage.parquet")
    assert sorted(table["fit"]) == [0, 1, 2]
