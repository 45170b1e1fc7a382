"""Calibration (issue 15): observed data, the series grammar, --fit, the
seeded ABC-SMC fit, its files, and --posterior draws.

Statistical tests run the method on a tiny per-shipment chain (about 10 ms a
simulation): parameters drawn from the prior are recovered inside their 90%
credible intervals at about the nominal rate, informed posteriors are clearly
narrower than their priors, and a parameter the data cannot inform keeps a
posterior about as wide as its prior. One end-to-end calibration runs from
the command line on scenarios/per_shipment_licences.toml.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from resim.api import load_scenario
from resim.calibration.measure import Measured
from resim.calibration.observed import Observation, Period, read_observed
from resim.calibration.particle import ParticleModel
from resim.calibration.posterior import (
    Posterior,
    check_posterior,
    draw_index,
    draw_values,
    drawn_values,
    read_posterior,
    replication_scenario,
)
from resim.calibration.priors import Prior, check_priors, expand_key
from resim.calibration.report import render
from resim.calibration.series import Horizon, compile_targets, parse_series
from resim.cli import calibrate as command
from resim.experiment.replications import simulate_replication
from resim.scenario import get_key
from resim.scenario.errors import ScenarioError
from resim.scenario.tomlwriter import dumps as toml_dumps

from chain_fixtures import SCENARIOS
from scenario_helpers import cli as run_cli

TINY: dict[str, Any] = {
    "scenario": {"name": "tiny chain", "start_date": "2025-01-01", "horizon": 151, "seed": 1},
    "controls": {"licence_mode": "per_shipment", "shipment_validity_days": 60},
    "licensing": {"approval_rate": 0.6, "max_attempts": 1, "working_days": False,
                  "stages": [{"name": "review", "reviewers": "inf",
                              "duration": {"dist": "uniform", "low": 10, "high": 20}}]},
    "grades": {"N42SH": {"content": {"Nd": 0.235, "Pr": 0.06, "Dy": 0.025, "Tb": 0.005}}},
    "mines": [{"name": "mine", "jurisdiction": "CN", "output_t_per_day": 100,
               "composition": {"Nd": 0.17, "Pr": 0.05, "Dy": 0.004, "Tb": 0.001}}],
    "separators": [{"name": "sep", "jurisdiction": "CN", "capacity_t_per_day": 90,
                    "suppliers": [{"name": "mine", "transit": "3d"}], "target_days": 21}],
    "magnet_makers": [{"name": "maker", "jurisdiction": "CN", "grade": "N42SH", "capacity_t_per_day": 10,
                       "suppliers": [{"name": "sep", "transit": "5d"}]}],
    "automakers": [{"name": "EU maker", "jurisdiction": "DE", "vehicles_per_day": 1000,
                    "magnet_kg_per_vehicle": 1.6, "initial_inventory_days": 30, "target_days": 60,
                    "review_days": 3, "suppliers": [{"name": "maker", "transit": "10d"}]}],
}
MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]
SERIES = ["exports.magnet.CN.DE", "approved_share.DE"]


def tiny(**changes: Any) -> Any:
    return load_scenario(TINY, changes)


def observe(truth: dict[str, float], seed: int, series: list[str] = SERIES, months: list[str] = MONTHS) -> list[Observation]:
    """Observed rows made by the model itself at ``truth``."""
    loaded = tiny(**truth, **{"scenario.seed": seed})
    m = Measured(simulate_replication(loaded, 0), Horizon.of(loaded.scenario))
    pairs = [(s, mo) for s in series for mo in months]
    return [Observation(i + 2, s, Period.parse(mo), m.value(parse_series(s), Period.parse(mo)), None)
            for i, (s, mo) in enumerate(pairs)]


def model_for(fits: list[str], obs: list[Observation]) -> ParticleModel:
    base = tiny()
    targets = compile_targets(obs, base.scenario, "observed.csv")
    return ParticleModel(base.scenario, base.source, tuple(check_priors(base.scenario, fits)), tuple(targets))


def cli(argv: list[str]) -> tuple[int, str, str]:
    """``resim calibrate ARGV`` through resim's own command line."""
    return resim_cli(["calibrate", *argv])


def resim_cli(argv: list[str]) -> tuple[int, str, str]:
    r = run_cli(*argv)
    return r.code, r.out, r.err


@pytest.fixture
def tiny_toml(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(toml_dumps(TINY))
    return path


def write_csv(path: Path, rows: list[str], header: str = "series,period,value,sd,unit,source") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


# ---------------------------------------------------------------- observed data


def test_observed_file_reads_series_period_value_and_sd_and_ignores_other_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "obs.csv", [
        'exports.magnet.CN.DE,2025-02,40,,t,"customs, Feb"',
        "approved_share.DE,2025-04-30,0.5,0.05,share,note",
        "",
    ])
    rows = read_observed(path)
    assert [(r.series, r.period.text, r.value, r.sd, r.row) for r in rows] == [
        ("exports.magnet.CN.DE", "2025-02", 40.0, None, 2), ("approved_share.DE", "2025-04-30", 0.5, 0.05, 3)]
    assert rows[0].period.is_month and (rows[0].period.first.day, rows[0].period.last.day) == (1, 28)
    assert not rows[1].period.is_month


BAD_CSV = [
    ("series,value\nexports.magnet.CN.DE,4\n", "row 1", "missing period"),
    ("series,period,value\nexports.magnet.CN.DE,2025-13,4\n", "row 2: period", "2025-13"),
    ("series,period,value\nexports.magnet.CN.DE,2025-02,lots\n", "row 2: value", "lots"),
    ("series,period,value,sd\nexports.magnet.CN.DE,2025-02,4,-1\n", "row 2: sd", "-1"),
    ("series,period,value\nexports.magnet.CN.DE,2025-02,4\nexports.magnet.CN.DE,2025-02,5\n", "row 3: period", "2025-02"),
    ("series,period,value\n", "", "no rows"),
    ("series,period,value\nimports.magnet.CN.DE,2025-02,4\n", "row 2: series", "imports.magnet.CN.DE"),
    ("series,period,value\nexports.magnet.CN.DE,2025-02-03,4\n", "row 2: period", "monthly"),
    ("series,period,value\nexports.magnet.CN.DE,2024-12,4\n", "row 2: period", "outside"),
    ("series,period,value\nexports.magnet.CN.DE,2025-06,4\n", "row 2: period", "outside"),
    ("series,period,value\napproved_share.DE,2025-03,1.5\n", "row 2: value", "1.5"),
    ("series,period,value\nshare_stopped.US maker,2025-03,0.5\n", "row 2: series", "no automaker entry"),
    ("series,period,value\nexports.magnet.CN.US,2025-03,4\n", "row 2: series", "CN->DE"),
    ("series,period,value\napproved_share.JP,2025-03,0.5\n", "row 2: series", "destinations: DE"),
    ("series,period,value\nstockout_day.EU maker,2025-03,3\n", "row 2: value", "days 59 to 89"),
]


@pytest.mark.parametrize(("text", "where", "says"), BAD_CSV)
def test_a_bad_observed_row_is_one_line_naming_file_row_and_value_and_nothing_is_written(
        tmp_path: Path, tiny_toml: Path, text: str, where: str, says: str) -> None:
    obs = tmp_path / "obs.csv"
    obs.write_text(text)
    out = tmp_path / "out"
    code, _, err = cli([str(tiny_toml), "--observed", str(obs), "--fit", "licensing.approval_rate=0.2:0.9",
                        "--out", str(out)])
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"{obs}: {where}") and says in err
    assert not out.exists()


def test_a_month_the_horizon_cuts_short_is_refused(tmp_path: Path) -> None:
    loaded = load_scenario(SCENARIOS / "per_shipment_licences.toml")  # starts 4 April 2025
    ok, partial = (read_observed(write_csv(tmp_path / f"{m}.csv", [f"exports.magnet.CN.all,{m},100,,t,x"]))
                   for m in ("2025-05", "2025-04"))
    assert compile_targets(ok, loaded.scenario, "o.csv")[0].label == "exports.magnet.CN.all@2025-05"
    with pytest.raises(ScenarioError, match=r"o\.csv: row 2: period: is only partly inside .* got \"2025-04\""):
        compile_targets(partial, loaded.scenario, "o.csv")


# ---------------------------------------------------------------- --fit


@pytest.mark.parametrize(("fit_arg", "says"), [
    ("licensing.aproval_rate=0.1:0.5", 'unknown key "aproval_rate" (did you mean "approval_rate"?)'),
    ("licensing.approval_rate=0.1:1.5", "must be >= 0 and <= 1"),
    ("licensing.approval_rate=0.5:0.1", "needs LO < HI"),
    ("licensing.approval_rate=0:0.5:log", "log-uniform prior needs LO > 0"),
    ("licensing.approval_rate", "must look like KEY=LO:HI"),
    ("scenario[*].horizon=1:2", "not a table"),
    ("licensing.stages[0].duration=1:2", "uniform distribution; fit one of its numbers"),
    ("licensing.working_days=0:1", "true/false"),
    ("automakers[NO maker].target_days=1:2", 'no entry named "NO maker"'),
])
def test_a_bad_fit_key_is_one_line_and_nothing_is_written(tmp_path: Path, tiny_toml: Path,
                                                          fit_arg: str, says: str) -> None:
    obs = write_csv(tmp_path / "obs.csv", ["exports.magnet.CN.DE,2025-02,40,,t,x"])
    out = tmp_path / "out"
    code, _, err = cli([str(tiny_toml), "--observed", str(obs), "--fit", fit_arg, "--out", str(out)])
    assert code == 2 and err.count("\n") == 1 and err.startswith("--fit") and says in err, err
    assert not out.exists()


def test_a_tied_key_expands_to_every_entry_and_may_not_overlap_another() -> None:
    scn = load_scenario(SCENARIOS / "per_shipment_licences.toml").scenario
    assert expand_key(scn, "automakers[*].target_days") == [f"automakers[{i}].target_days" for i in range(3)]
    with pytest.raises(ScenarioError, match="also sets"):
        check_priors(scn, ["automakers[*].target_days=30:90", "automakers[EU automaker].target_days=30:90"])
    reviewers, = check_priors(scn, ["licensing.stages[technical].reviewers=100:400:log"])
    assert reviewers.integer and reviewers.natural(np.log(123.4)) == 123.0  # a head count stays whole


# ---------------------------------------------------------------- measuring


def test_each_series_is_read_from_the_records_as_the_grammar_defines() -> None:
    start = Period.parse("2025-01-01").first
    flows = pd.DataFrame({"month": ["2025-02", "2025-02", "2025-02", "2025-03"],
                          "origin": ["CN", "CN", "JP", "CN"], "destination": ["DE", "US", "JP", "DE"],
                          "product": ["magnet"] * 4, "tonnes": [10.0, 5.0, 7.0, 3.0]})
    licences = {"outcome": ["approved", "rejected", "approved", "pending"],
                "decided_day": [10.0, 40.0, 58.5, float("nan")], "destination": ["DE", "DE", "US", "DE"]}
    days = np.arange(90)
    short = np.where((days >= 40) & (days < 50), 1.0, 0.0)
    ts = {"day": days, "automaker": np.array(["EU"] * 90, dtype=object), "shortfall_t": short,
          "firms": np.ones(90), "firms_stopped": short}
    out = SimpleNamespace(replication=0, error=None, monthly=flows, licences=SimpleNamespace(data=licences),
                          timeseries=SimpleNamespace(data=ts))
    m = Measured(out, Horizon(start, 90))
    value = lambda s, p: m.value(parse_series(s), Period.parse(p))  # noqa: E731
    assert value("exports.magnet.CN.all", "2025-02") == 15.0  # domestic JP->JP is no export
    assert value("exports.magnet.CN.DE", "2025-03") == 3.0 and value("exports.magnet.CN.US", "2025-03") == 0.0
    assert value("approved_share.all", "2025-01") == 1.0  # only day 10 decided by 31 Jan
    assert value("approved_share.all", "2025-02-28") == pytest.approx(2 / 3)  # day 58.5 is 28 Feb
    assert np.isnan(value("approved_share.US", "2025-01-15"))  # nothing decided yet: no match possible
    assert value("share_stopped.EU", "2025-02") == pytest.approx(10 / 28)
    assert value("stockout_day.EU", "2025-02-10") == 40.0
    ts["firms"] = np.full(90, 4.0)  # a population of 4 firms, one of them short
    m = Measured(out, Horizon(start, 90))
    assert m.value(parse_series("share_stopped.EU"), Period.parse("2025-02")) == pytest.approx(2.5 / 28)
    ts["firms_stopped"] = np.zeros(90)
    assert Measured(out, Horizon(start, 90)).stockout_day("EU") == 90.0  # none: censored at the horizon


# ---------------------------------------------------------------- the method


@pytest.mark.slow
def test_two_parameters_are_recovered_at_the_nominal_rate_and_an_uninformed_one_keeps_its_prior(tmp_path: Path) -> None:
    fits = ["licensing.approval_rate=0.2:0.9", "automakers[*].vehicles_per_day=500:1500",
            "controls.renewal_lead_days=10:50"]  # renewals exist only for general licences
    inside = {f.split("=")[0]: 0 for f in fits}
    ratios: dict[str, list[float]] = {k: [] for k in inside}
    # pyabc takes seconds to import: only the tests that fit import it
    from resim.calibration.abc_smc import fit
    from resim.calibration.outputs import parameter_summary, posterior_of

    seeds = range(5)
    for s in seeds:
        rng = np.random.default_rng(100 + s)
        truth = {"licensing.approval_rate": rng.uniform(0.2, 0.9), "automakers[0].vehicles_per_day": rng.uniform(500, 1500),
                 "controls.renewal_lead_days": rng.uniform(10, 50)}
        model = model_for(fits, observe(truth, seed=700 + s))
        (tmp_path / str(s)).mkdir()
        result = fit(model, tmp_path / str(s), seed=s, population=30, budget=330)
        summary = parameter_summary(posterior_of(result, model, ""))
        for p, true in zip(model.priors, truth.values(), strict=True):
            lo, hi = summary[p.key]["ci90"]
            inside[p.key] += lo <= true <= hi
            ratios[p.key].append(summary[p.key]["sd"] / ((p.high - p.low) / 12 ** 0.5))
    informed = ["licensing.approval_rate", "automakers[*].vehicles_per_day"]
    # 10 intervals at 90%: P(7 or fewer inside) is 7%; ABC's intervals are if anything conservative
    assert sum(inside[k] for k in informed) >= 8, inside
    for k in informed:
        assert np.mean(ratios[k]) < 0.7, (k, ratios[k])  # clearly narrower than the prior
    assert np.mean(ratios["controls.renewal_lead_days"]) > 0.8, ratios  # a uniform prior's sd ratio is 1
    assert inside["controls.renewal_lead_days"] == len(seeds)


def _small_fit(tmp_path: Path, name: str, crash_after: int | None = None, resume: bool = False,
               workers: int = 1) -> Any:
    from resim.calibration.abc_smc import fit

    obs = observe({"licensing.approval_rate": 0.5}, seed=5, months=MONTHS[1:4])
    model = model_for(["licensing.approval_rate=0.2:0.9", "automakers[*].vehicles_per_day=500:1500"], obs)
    out = tmp_path / name
    out.mkdir(exist_ok=True)
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        if crash_after is not None and line.startswith(f"generation {crash_after}:"):
            raise KeyboardInterrupt  # killed between generations

    result = fit(model, out, seed=11, population=15, budget=200, workers=workers, resume=resume, progress=progress)
    return result, lines


@pytest.fixture(scope="module")
def serial_fit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[str]]:
    """The small fit on one worker, uninterrupted (the reference of the next two tests)."""
    return _small_fit(tmp_path_factory.mktemp("fit"), "one")


@pytest.mark.slow
def test_the_posterior_is_the_same_for_a_seed_whatever_the_workers(tmp_path: Path,
                                                                   serial_fit: tuple[Any, list[str]]) -> None:
    one, lines = serial_fit
    two, _ = _small_fit(tmp_path, "two", workers=2)
    pd.testing.assert_frame_equal(one.posterior, two.posterior)
    assert (one.simulations, one.evaluated, len(one.generations)) == (two.simulations, two.evaluated, len(two.generations))
    assert len(one.generations) >= 2 and one.simulations <= one.evaluated <= 200  # within the budget
    assert any(line.startswith("generation 1: epsilon") and "acceptance" in line for line in lines)


@pytest.mark.slow
def test_a_calibration_killed_between_generations_resumes_to_the_same_posterior(
        tmp_path: Path, serial_fit: tuple[Any, list[str]]) -> None:
    whole, _ = serial_fit
    with pytest.raises(KeyboardInterrupt):
        _small_fit(tmp_path, "killed", crash_after=0)
    resumed, lines = _small_fit(tmp_path, "killed", resume=True)
    assert next(x for x in lines if x.startswith("generation")).startswith("generation 1:")  # 0 was in the history
    pd.testing.assert_frame_equal(whole.posterior, resumed.posterior)


# ---------------------------------------------------------------- end to end


@pytest.mark.slow
def test_calibrate_recovers_the_approval_rate_of_per_shipment_licences_from_monthly_exports(tmp_path: Path) -> None:
    scenario = SCENARIOS / "per_shipment_licences.toml"
    truth = float(np.random.default_rng(2025).uniform(0.3, 0.8))  # the calibration is not told
    made = load_scenario(scenario, {"licensing.approval_rate": truth, "scenario.seed": 4242})
    m = Measured(simulate_replication(made, 0), Horizon.of(made.scenario))
    rows = [f"exports.magnet.CN.all,{mo},{m.value(parse_series('exports.magnet.CN.all'), Period.parse(mo)):.1f},,t,model"
            for mo in ("2025-06", "2025-07", "2025-08")]
    obs = write_csv(tmp_path / "exports.csv", rows)
    out = tmp_path / "cal"
    args = [str(scenario), "--observed", str(obs), "--fit", "licensing.approval_rate=0.1:0.9", "--budget", "280",
            "--population", "20", "--predictive", "10", "--workers", "1", "--seed", "3", "--out", str(out)]
    code, stdout, err = cli(args)
    assert code == 0, err
    assert "generation 0: epsilon" in stdout and "90% credible interval" in stdout
    summary = json.loads((out / "calibration.json").read_text())
    p = summary["parameters"]["licensing.approval_rate"]
    assert p["ci90"][0] <= truth <= p["ci90"][1], (truth, p)
    assert p["ci90"][1] - p["ci90"][0] < 0.75 * (0.9 - 0.1)  # the exports inform it
    assert p["prior"] == [0.1, 0.9] and summary["effective_sample_size"] > 5
    assert summary["simulations"] <= 280 - 10 and summary["predictive_simulations"] == 10
    assert {r["series"] for r in summary["observed"]} == {"exports.magnet.CN.all"}
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert list(posterior.columns) == ["licensing.approval_rate", "weight", "distance"] and len(posterior) == 20
    assert posterior["weight"].sum() == pytest.approx(1.0)
    calibrated = load_scenario(out / "scenario.calibrated.toml")  # runnable as is
    assert calibrated.scenario.licensing.approval_rate == pytest.approx(p["median"])
    assert get_key(calibrated.scenario, "controls.licence_mode") == "per_shipment"
    html = (out / "report.html").read_text()
    assert "exports.magnet.CN.all" in html and html.count("data:image/png;base64,") == 2
    assert sorted(f.name for f in (out / "plots").iterdir()) == [
        "calibration-exports-magnet-cn-all.png", "calibration-posterior.png"]
    # the posterior feeds --posterior: it reads back, and each replication draws from it
    post = read_posterior(out)
    assert post.keys == ["licensing.approval_rate"] and post.medians()["licensing.approval_rate"] == pytest.approx(p["median"])
    # --posterior: each replication of a run draws the approval rate from this posterior
    run_out = tmp_path / "run"
    code, stdout, err = resim_cli(["run", str(scenario), "-n", "12", "--workers", "1", "--posterior", str(out),
                                   "--out", str(run_out)])
    assert code == 0, err
    assert "p5–p95" in stdout and "parameter uncertainty" in " ".join(stdout.split())
    reps = pd.read_parquet(run_out / "replications.parquet")
    drawn = reps.groupby("replication")["licensing.approval_rate"].first()
    assert drawn.nunique() > 1 and set(drawn).issubset(set(posterior["licensing.approval_rate"]))
    run_summary = json.loads((run_out / "summary.json").read_text())
    assert run_summary["posterior"]["parameters"] == ["licensing.approval_rate"]
    assert "p5–p95" in (run_out / "report.html").read_text()
    # a second calibration into the same directory is refused; --resume with other settings too
    code, _, err = cli(args)
    assert code == 2 and "add --resume" in err
    code, _, err = cli([*args, "--resume", "--population", "25"])
    assert code == 2 and "--population differs" in err


def test_the_command_plugs_into_a_cli_parser_and_refuses_a_budget_below_one_generation(tmp_path: Path,
                                                                                   tiny_toml: Path) -> None:
    parser = argparse.ArgumentParser(prog="resim")
    command.add_parser(parser.add_subparsers(dest="command"))
    obs = write_csv(tmp_path / "obs.csv", ["exports.magnet.CN.DE,2025-02,40,,t,x"])
    args = parser.parse_args(["calibrate", str(tiny_toml), "--observed", str(obs), "--fit",
                              "licensing.approval_rate=0.2:0.9", "--budget", "100", "--out", str(tmp_path / "o")])
    assert (args.population, args.particle_replications, args.resume) == (100, 1, False)
    with pytest.raises(ScenarioError, match="--budget: is too small"):
        command.command(args)
    assert not (tmp_path / "o").exists()


def test_the_report_escapes_what_users_wrote() -> None:
    summary = {"scenario": "<script>alert(1)</script>", "source": "x.toml", "observed_file": "o.csv", "observed": [],
               "method": "m", "particles": 1, "effective_sample_size": 1.0, "generations": [], "seed": 1,
               "simulations": 1, "simulations_run": 1, "predictive_simulations": 0, "budget": 1, "stopped": "budget",
               "parameters": {}, "replications_per_particle": 1, "run": {}}
    html = render(summary, {"posterior_png": "", "fans": []})
    assert "<script>" not in html and "&lt;script&gt;" in html


# ---------------------------------------------------------------- --posterior


def _posterior(values: list[float], weights: list[float]) -> Posterior:
    prior = Prior("licensing.approval_rate", 0.05, 0.95)
    w = np.asarray(weights, dtype=float)
    return Posterior("test", (prior,), np.asarray(values, dtype=float).reshape(-1, 1), w / w.sum())


def test_each_replication_draws_a_particle_by_weight_from_its_own_stream() -> None:
    post = _posterior([0.3, 0.7], [0.2, 0.8])
    draws = np.array([draw_index(post, 20250404, r) for r in range(4000)])
    # binomial(4000, 0.8): sd 25
    assert abs((draws == 1).sum() - 3200) < 4 * 25
    assert [draw_index(post, 20250404, r) for r in range(50)] == draws[:50].tolist()  # a function of (seed, r)
    assert [draw_index(post, 7, r) for r in range(50)] != draws[:50].tolist()
    frame = drawn_values(post, 20250404, range(3))
    assert list(frame.columns) == ["replication", "licensing.approval_rate"]
    assert frame["licensing.approval_rate"].tolist() == [draw_values(post, 20250404, r)["licensing.approval_rate"]
                                                         for r in range(3)]


def test_a_replication_gets_the_same_values_in_both_scenarios_of_a_comparison() -> None:
    post = _posterior(list(np.linspace(0.2, 0.9, 15)), [1.0] * 15)
    a, b = tiny(), tiny(**{"automakers[0].target_days": 90})
    for r in range(5):
        ra, rb = replication_scenario(a, post, r), replication_scenario(b, post, r)
        assert ra.scenario.licensing.approval_rate == rb.scenario.licensing.approval_rate
        assert ra.scenario.licensing.approval_rate == draw_values(post, 1, r)["licensing.approval_rate"]
        assert rb.scenario.automakers[0].target_days.mean == 90 and ra.scenario.automakers[0].target_days.mean == 60
        assert ra.source == a.source


def test_posterior_draws_widen_the_p5_p95_band_of_an_outcome() -> None:
    """Under common random numbers, the same replications with and without
    parameter uncertainty: the band must widen (binomial noise alone gives
    about 0.25 at p = 0.55; p spread over 0.2-0.9 about 0.6)."""
    post = _posterior(list(np.linspace(0.2, 0.9, 15)), [1.0] * 15)

    def share(loaded: Any) -> float:
        lic = simulate_replication(loaded, 0).licences.data
        decided = [o for o in lic["outcome"] if o != "pending"]
        return sum(o == "approved" for o in decided) / len(decided)

    plain, drawn = [], []
    for r in range(40):
        plain.append(share(tiny(**{"licensing.approval_rate": 0.55, "scenario.seed": 1000 + r})))
        drawn.append(share(replication_scenario(tiny(**{"scenario.seed": 1000 + r}), post, r)))
    width = lambda x: float(np.subtract(*np.quantile(x, [0.95, 0.05])))  # noqa: E731
    assert width(drawn) > 1.5 * width(plain), (width(drawn), width(plain))


def test_a_posterior_the_scenario_cannot_take_is_refused_before_any_run(tmp_path: Path) -> None:
    post = Posterior("dir", (Prior("automakers[*].target_days", 1, 100),), np.array([[30.0], [60.0]]),
                     np.array([0.5, 0.5]))
    check_posterior(tiny(), post)  # fits
    bad = Posterior("dir", (Prior("automakers[*].target_dayz", 1, 100),), np.array([[30.0]]), np.array([1.0]))
    with pytest.raises(ScenarioError, match="unknown key"):
        check_posterior(tiny(), bad)
    with pytest.raises(ScenarioError, match="--posterior"):
        read_posterior(tmp_path)
    shutil.rmtree(tmp_path)
    with pytest.raises(ScenarioError, match="not a directory"):
        read_posterior(tmp_path)


@pytest.mark.slow
def test_the_calibrated_scenario_file_is_toml_a_run_reads(tmp_path: Path, tiny_toml: Path) -> None:
    """The small fits above write no files; this one goes through the command
    with a predictive check on the tiny chain and a tied key."""
    rows = [f"{o.series},{o.period.text},{o.value},,t,y" for o in observe({"licensing.approval_rate": 0.5}, 3,
                                                                          months=MONTHS[1:3])]
    obs = write_csv(tmp_path / "obs.csv", rows)
    out = tmp_path / "out"
    code, _, err = cli([str(tiny_toml), "--observed", str(obs), "--fit", "licensing.approval_rate=0.2:0.9",
                        "--fit", "automakers[*].target_days=30:90:log", "--budget", "120", "--population", "10",
                        "--predictive", "5", "--workers", "1", "--out", str(out), "--quiet"])
    assert code == 0, err
    text = (out / "scenario.calibrated.toml").read_text()
    assert text.startswith("# tiny chain: calibrated by resim calibrate")
    data = tomllib.loads(text)
    summary = json.loads((out / "calibration.json").read_text())
    median = summary["parameters"]["automakers[*].target_days"]["median"]
    assert data["automakers"][0]["target_days"] == pytest.approx(median)
    assert 30 <= median <= 90 and summary["priors"][1]["scale"] == "log"
    assert all("predictive" in r for r in summary["observed"])


def test_an_observed_file_is_read_like_a_scenario_file(tmp_path: Path) -> None:
    import os

    from resim.calibration.observed import read_observed
    from resim.scenario.errors import ScenarioError

    fifo = tmp_path / "obs.csv"
    os.mkfifo(fifo)  # would block a plain open() forever
    with pytest.raises(ScenarioError, match="not a regular file"):
        read_observed(fifo)
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(ScenarioError, match="is a directory, not a CSV file"):
        read_observed(tmp_path / "dir.csv")
