"""Issue 25 (red team and new analyst): inputs valid one by one that broke
runs, messages in the validator's words, extends, small samples, PRIM in a
notebook. Each test fails on the code before the fix."""

from __future__ import annotations

import copy
import json
import math
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from scipy import stats
from test_discovery import _planted, _sweep_folder

import resim
from resim.api import load_sweep
from resim.experiment.budget import DEFAULT_MAX_HOURS, run_seconds
from resim.experiment.discovery import parse_where
from resim.experiment.point_outcomes import OUTCOMES, PointOutcomes, check_outcome
from resim.experiment.sensitivity import analyse, plan
from resim.experiment.workload import office_load, replication_seconds
from resim.model.kpis import summarise_kpis
from resim.output.console_experiments import sweep_table
from resim.scenario import load
from resim.scenario.distributions import LARGEST, MIN_GAMMA_SHAPE, SMALLEST, make
from resim.scenario.errors import ScenarioError
from resim.scenario.limits import MAX_REVIEWERS
from resim.scenario.tomlwriter import dumps

from chain_fixtures import ROOT, small_chain
from scenario_helpers import assert_one_line_error, cli


def _office(duration: Any, reviewers: Any = "inf", **licensing: Any) -> dict[str, Any]:
    return {"licensing": {"stages": [{"name": "technical", "reviewers": reviewers, "duration": duration}],
                          **licensing}}


# ------------------------------------------------------------ 3. distributions and sizes
@pytest.mark.parametrize("dist, key, limit", [
    ({"dist": "lognormal", "mean": 5, "cv": 1e200}, "duration.cv", "at most 1e+100"),  # OverflowError when drawn
    ({"dist": "gamma", "mean": 5, "cv": 1e-200}, "duration.cv", "at least 1e-100"),    # ZeroDivisionError
    ({"dist": "gamma", "mean": 5, "cv": 1e200}, "duration.cv", "at most 5"),
    ({"dist": "gamma", "shape": 1e-300, "scale": 1}, "duration.shape", "at least 0.04"),  # every draw 0
    ({"dist": "exponential", "mean": 1e-320}, "duration.mean", "at least 1e-100"),     # draws underflow
    ({"dist": "uniform", "low": 1e308, "high": 1.7e308}, "duration.low", "at most 1e+100"),  # mean inf
    ({"dist": "triangular", "low": 0, "mode": 1e200, "high": 1e300}, "duration.mode", "at most 1e+100"),
    ({"dist": "normal", "mean": 1, "sd": 1e308}, "duration.sd", "at most 1e+100"),
    ({"dist": "empirical", "values": [1, 2], "weights": [1e308, 1e308]}, "duration.weights[0]", "at most 1e+100"),
])
def test_parameters_whose_draws_overflow_or_underflow_are_refused_at_load(dist: dict, key: str, limit: str) -> None:
    with pytest.raises(ScenarioError) as e:
        load(_office(dist))
    assert f"licensing.stages[technical].{key}: must be {limit}" in str(e.value), str(e.value)


@pytest.mark.parametrize("dist", [
    {"dist": "lognormal", "mean": SMALLEST, "cv": LARGEST},
    {"dist": "lognormal", "mean": LARGEST, "cv": LARGEST},
    {"dist": "gamma", "shape": MIN_GAMMA_SHAPE, "scale": SMALLEST},
    {"dist": "gamma", "mean": SMALLEST, "cv": SMALLEST},
    {"dist": "gamma", "shape": LARGEST, "scale": LARGEST},
    {"dist": "exponential", "mean": SMALLEST},
    {"dist": "normal", "mean": LARGEST, "sd": LARGEST},
    {"dist": "triangular", "low": 0, "mode": LARGEST, "high": LARGEST},
    {"dist": "uniform", "low": LARGEST, "high": LARGEST},
])
def test_at_the_limits_every_draw_is_finite_and_almost_none_is_zero(dist: dict) -> None:
    # the limits' promise: finite means and draws, and under one draw in a million of a positive one at 0
    d = make(dist)
    x = d.sample(np.random.default_rng(1), 200_000)
    q = d.quantile(np.array([1e-6, 0.5, 1 - 1e-9]))
    assert math.isfinite(d.mean) and np.isfinite(x).all() and np.isfinite(q).all()
    assert (x == 0).sum() <= 2


def test_an_absurd_reviewer_count_is_refused_at_once_not_hung(tmp_path: Path) -> None:
    src = tmp_path / "office.toml"
    src.write_text(dumps(_office(5, 1e12, background={"applications_per_day": 10})))
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "resim", "run", str(src), "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and time.perf_counter() - t0 < 60, p.stderr
    assert f'licensing.stages[technical].reviewers: must be at most {MAX_REVIEWERS} or "inf"' in p.stderr
    assert not (tmp_path / "out").exists()


def test_the_office_load_at_the_reviewer_limit_is_quick_and_queues_nothing() -> None:
    scn = load(_office({"dist": "exponential", "mean": 10}, MAX_REVIEWERS, background={"applications_per_day": 50}))
    t0 = time.perf_counter()
    stage = office_load(scn.scenario).stages[0]
    assert time.perf_counter() - t0 < 1.0
    assert stage.in_flight == pytest.approx(50 * 10)  # Little: lam x mean in review, no queue


@pytest.mark.parametrize("change, fragment", [
    ({"grades.N42SH.content": {"Nd": 1e-320}}, "grades.N42SH.content.Nd: must be at least 1e-09"),
    ({"mines[0].composition.Dy": 1e-300}, "mines[mine].composition.Dy: must be at least 1e-09"),
    ({"sweep.replications": 10_000_000}, "sweep.replications: must be at most 1000000"),
    ({"automakers[0].firms": 100_001}, "automakers[EU maker].firms: must be >= 1 and <= 100000"),
])
def test_counts_and_sizes_have_exact_limits(change: dict, fragment: str) -> None:
    with pytest.raises(ScenarioError, match=re.escape(fragment)):
        load(small_chain(**change))


def test_a_run_estimated_over_max_hours_is_refused_with_the_estimate_and_the_flag(tmp_path: Path) -> None:
    src = tmp_path / "big.toml"
    src.write_text(dumps(small_chain(**{"automakers[0].firms": 100_000})))
    line = assert_one_line_error(cli("run", str(src), "-n", "100", "--max-hours", "1", "--workers", "2",
                                     "--out", str(tmp_path / "out")), "would take about", "--max-hours 1")
    assert re.search(r"about [\d.]+ (hours|days) on 2 worker", line), line
    assert not (tmp_path / "out").exists()
    # the same from the Python API, a sweep and a calibration
    with pytest.raises(ScenarioError, match="more than --max-hours 0.5"):
        resim.simulate(src, replications=100, workers=2, max_hours=0.5, progress=False)
    assert_one_line_error(cli("sweep", str(src), "--grid", "licensing.approval_rate=0.2,0.5", "-n", "50",
                              "--max-hours", "0.5", "--out", str(tmp_path / "sw")), "--max-hours 0.5")
    assert not (tmp_path / "sw").exists()
    observed = tmp_path / "obs.csv"
    observed.write_text("series,period,value\nstockout_day.EU maker,2025-06,70\n")
    res = cli("calibrate", str(src), "--observed", str(observed), "--fit", "licensing.approval_rate=0.1:0.9",
              "--max-hours", "0.5", "--workers", "2", "--out", str(tmp_path / "cal"))
    assert_one_line_error(res, "--budget 2000 simulations would take about", "--max-hours 0.5")
    assert not (tmp_path / "cal").exists()


def test_the_estimate_grows_with_firms_and_replications_and_shrinks_with_workers() -> None:
    small = replication_seconds(load(small_chain(**{"automakers[0].firms": 1000})).scenario)
    large = replication_seconds(load(small_chain(**{"automakers[0].firms": 2000})).scenario)
    base = replication_seconds(load(small_chain()).scenario)
    assert large - base == pytest.approx(2 * (small - base), rel=0.01)  # linear in firms
    assert run_seconds(2.0, 10, 2) == 10.0 and run_seconds(2.0, 10, 1) == 20.0 and run_seconds(2.0, 1, 4) == 2.0


def test_max_hours_default_is_stated_in_help_and_readme() -> None:
    for command in ("run", "sweep", "calibrate"):
        r = subprocess.run([sys.executable, "-m", "resim", command, "--help"], capture_output=True, text=True)
        assert f"(default {DEFAULT_MAX_HOURS:g})" in " ".join(r.stdout.split()), command
    assert f"`--max-hours H` (run, sweep, calibrate; default {DEFAULT_MAX_HOURS:g})" in \
        (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_large_feasible_run_starts_and_stops_on_ctrl_c_within_seconds(tmp_path: Path) -> None:
    src = tmp_path / "large.toml"
    src.write_text(dumps(small_chain(**{"automakers[0].firms": 20_000})))
    p = subprocess.Popen([sys.executable, "-m", "resim", "run", str(src), "-n", "4", "--workers", "2",
                          "--out", str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    from procs import wait_for

    # it started (under --max-hours): the run folder's lock is held, and the process still runs
    wait_for(lambda: (tmp_path / ".out.lock").exists() or p.poll() is not None, "the run's lock")
    assert p.poll() is None, p.communicate()
    t0 = time.perf_counter()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and time.perf_counter() - t0 < 15, err


# ------------------------------------------------------------ 4. messages in the user's words
def test_grade_share_errors_name_the_key_without_validator_labels() -> None:
    src = small_chain(**{"magnet_makers[0].grade": None})
    src["magnet_makers"][0].pop("grade")
    src["magnet_makers"][0]["grades"] = {"N42SH": -0.5}
    with pytest.raises(ScenarioError) as e:
        load(src)
    msg = str(e.value)
    assert "constrained-float" not in msg and "literal" not in msg, msg
    assert "magnet_makers[cn maker].grades.N42SH: must be >= 0 and <= 1 or one of 'rest', got -0.5" in msg


def test_errors_name_entries_as_the_file_does(tmp_path: Path) -> None:
    src = small_chain(**{"automakers[1].suppliers[1].share": 2})
    with pytest.raises(ScenarioError, match=re.escape("automakers[JP maker].suppliers[cn maker].share: must be > 0 "
                                                      "and <= 1, got 2")):
        load(src)
    src = small_chain(**{"automakers[0].vehicles_per_day": -3})
    with pytest.raises(ScenarioError, match=re.escape("automakers[EU maker].vehicles_per_day: must be > 0, got -3")):
        load(src)
    # cross-table checks too, and an entry named like a number keeps its quotes (it is not an index)
    src = small_chain(**{"automakers[0].name": "3", "magnet_makers[0].grade": "N99"})
    with pytest.raises(ScenarioError, match=re.escape("magnet_makers[cn maker].grade: no [grades.N99] table")):
        load(src)
    src = small_chain(**{"automakers[0].name": "3", "automakers[0].review_days": 0.5})
    with pytest.raises(ScenarioError, match=re.escape('automakers["3"].review_days: must be >= 1, got 0.5')):
        load(src)


def test_a_duration_that_must_be_positive_says_so_exactly() -> None:
    for value in (-5, 0):
        with pytest.raises(ScenarioError, match=re.escape(f"controls.shipment_validity_days: must be > 0, got {value}")):
            load(small_chain(**{"controls.shipment_validity_days": value}))
    with pytest.raises(ScenarioError, match=re.escape("controls.renewal_lead_days: must be >= 0, got -5")):
        load(small_chain(**{"controls.renewal_lead_days": -5}))


# ------------------------------------------------------------ 6. extends, docs, small samples, flags, tables
def _family(tmp_path: Path, child: str) -> Path:
    (tmp_path / "parent.toml").write_text(dumps(small_chain()))
    path = tmp_path / "child.toml"
    path.write_text('extends = "parent.toml"\n' + child)
    return path


def test_extends_changes_one_entry_by_its_name(tmp_path: Path) -> None:
    child = _family(tmp_path, '[automakers."EU maker"]\ntarget_days = 120\n\n'
                              '[automakers."JP maker".suppliers."cn maker"]\ntransit = "3w"\n')
    scn = load(child).scenario
    parent = load(small_chain()).scenario
    eu, jp = scn.find("automakers", "EU maker"), scn.find("automakers", "JP maker")
    assert eu.target_days.mean == 120 and eu.initial_inventory_days == parent.automakers[0].initial_inventory_days
    assert jp.suppliers[1].transit.mean == 21 and jp.suppliers[1].share == 0.5 and jp.suppliers[0].transit.mean == 3
    assert [a.name for a in scn.automakers] == [a.name for a in parent.automakers]
    assert scn.automakers[2] == parent.automakers[2]


def test_extends_with_an_unknown_name_is_an_error_naming_it(tmp_path: Path) -> None:
    child = _family(tmp_path, '[automakers."EU makr"]\ntarget_days = 120\n')
    line = assert_one_line_error(cli("validate", str(child)), 'automakers[EU makr]',
                                 'no automakers entry named "EU makr" (did you mean "EU maker"?)')
    assert line.startswith(str(child))


def test_extends_with_an_array_still_replaces_it_whole(tmp_path: Path) -> None:
    child = _family(tmp_path, '[[automakers]]\nname = "only"\njurisdiction = "DE"\ndemand_t_per_day = 1\n'
                              'suppliers = [{ name = "cn maker" }]\n')
    assert [a.name for a in load(child).scenario.automakers] == ["only"]


def _doc_blocks() -> dict[str, str]:
    text = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    return {"office.toml": next(b for b in blocks if "MOFCOM review office under load" in b),
            "chain.toml": next(b for b in blocks if 'name = "Small chain, general licences"' in b), "": text}


def test_the_documented_set_examples_say_what_they_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _doc_blocks()
    for name in ("office.toml", "chain.toml"):
        (tmp_path / name).write_text(blocks[name])
    monkeypatch.chdir(tmp_path)
    examples = re.findall(r"\$ python -m resim validate ((?:office|chain)\.toml --set '[^']*')\n\s+(.*)\n", blocks[""])
    assert len(examples) >= 2
    for argv, shown in examples:
        file, flag, value = re.match(r"(\S+) (--set) '(.*)'", argv).groups()
        assert_one_line_error(cli("validate", file, flag, value), shown.strip())
    # and what the docs say an automaker's target_days takes: "13w" is 91 days
    scn = load(tmp_path / "chain.toml", ["automakers[EU automaker].target_days=13w"]).scenario
    assert scn.find("automakers", "EU automaker").target_days.mean == 91


def test_intervals_of_kpis_in_days_stay_within_the_horizon() -> None:
    reps = pd.DataFrame({"automaker": ["a", "a"], "error": [None, None],
                         **{m: [0.0, 60.0] for m in ("vehicles_lost", "shortfall_t", "stockout_days",
                                                     "first_stockout_day", "longest_stoppage_days", "fill_rate",
                                                     "extra_cost_usd", "peak_share_stopped", "firms_ever_stopped",
                                                     "first_firm_stockout_day")}})
    block = summarise_kpis(reps, horizon=60.0)["a"]
    for m in ("stockout_days", "first_stockout_day", "longest_stoppage_days", "first_firm_stockout_day"):
        low, high = block[m]["ci95"]
        assert 0.0 <= low and high <= 60.0, (m, low, high)  # the t-interval of n=2 is 30 +- 381
    assert block["vehicles_lost"]["ci95"][1] > 60.0  # not a KPI in days: unbounded above


def test_noisy_sensitivity_indices_get_a_warning() -> None:
    ranges = [("a", 0.0, 1.0), ("b", 0.0, 1.0), ("c", 0.0, 1.0)]
    p = plan("sobol", ranges, 8, seed=3)
    n = 8 * (3 + 2)
    y = np.random.default_rng(0).normal(size=n)  # pure noise: no key matters, and 8 base samples
    means = pd.DataFrame({"point": range(n), "automaker": "all", "replications": 1,
                          **{k: y for k in OUTCOMES}})
    found = analyse(PointOutcomes(means, []), p, n)
    f = found.frame[found.frame["kpi"] == "vehicles_lost"].pivot_table(index="parameter", columns="index",
                                                                        values="value")
    assert (f["S1"] > f["ST"]).any()  # impossible for true indices: noise
    assert any("S1 above ST" in note for note in found.notes), found.notes
    assert any("CI wider than the index" in note for note in found.notes), found.notes


def test_kpi_and_where_say_did_you_mean_and_read_suffixes() -> None:
    c = parse_where("vehicles_lost > 300k and shortfall_t < 1.5M and extra_cost_usd >= 2B")
    assert [x.value for x in c] == [300_000.0, 1_500_000.0, 2e9]
    with pytest.raises(ScenarioError, match=re.escape('fill_rat: is not a KPI (did you mean "fill_rate"?)')):
        parse_where("fill_rat < 0.9")
    with pytest.raises(ScenarioError, match=re.escape('vehicle_lost: is not a KPI (did you mean "vehicles_lost"?)')):
        check_outcome("vehicle_lost")


def test_sweep_tables_wrap_long_keys_instead_of_cutting_them() -> None:
    key = "automakers[EU automaker].suppliers[Chinese magnet exporters].share"
    summary = pd.DataFrame({"point": [0], key: [0.5], "automaker": ["all"], **{
        f"{m}_{s}": [1.0] for m in ("vehicles_lost", "stockout_days", "fill_rate")
        for s in ("mean", "ci_low", "ci_high")}, "stockout_probability_mean": [0.5]})
    res = type("Res", (), {"summary": summary, "keys": [key], "points": summary[["point", key]]})()
    console = Console(width=60, record=True)
    console.print(sweep_table(res))
    header = console.export_text().split("┡")[0].splitlines()[2:]
    cells = "".join(line.split("┃")[1].replace(" ", "") for line in header if "┃" in line)
    assert cells == key.replace(" ", "") and "…" not in console.export_text()  # folded at its spaces


@pytest.mark.slow
# ------------------------------------------------------------ 7. PRIM as EMA Workbench users know it
def test_prim_in_a_notebook_show_tradeoff_inspect_select(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "sweep"
    _sweep_folder(root)
    box = load_sweep(root).discover("vehicles_lost > 100k")
    assert "licensing.approval_rate is below 0.3" in " ".join(repr(box).split())
    traj = box.trajectory
    fig = box.show_tradeoff()
    points = fig.axes[0].collections[0].get_offsets()
    assert np.allclose(points, [[b.coverage, b.density] for b in traj.boxes])
    assert list(box.peeling_trajectory["res_dim"]) == [len(b.restricted) for b in traj.boxes]
    i = max(j for j, b in enumerate(traj.boxes) if len(b.restricted) >= 2)
    limits = box.inspect(i)
    assert f"box {i}: coverage" in capsys.readouterr().out
    b = traj.boxes[i]
    x, y = traj.x, traj.y
    for key, row in limits.iterrows():
        j = box.keys.index(key)
        lower, upper = np.array(b.lower), np.array(b.upper)
        lower[j], upper[j] = x[:, j].min(), x[:, j].max()  # that one restriction dropped
        inside = ((x >= lower) & (x <= upper)).all(axis=1)
        want = stats.binomtest(b.hits, b.points, y[inside].mean(), alternative="greater").pvalue
        assert row["qp value"] == pytest.approx(want)  # EMA Workbench's quasi-p
        assert (row["min"], row["max"]) == pytest.approx((max(b.lower[j], x[:, j].min()), b.upper[j]), rel=1e-2)
    assert box.select(i) is box and box.found.box == b and box.found.chosen == i
    box.inspect()
    assert f"box {i}:" in capsys.readouterr().out
    with pytest.raises(IndexError, match="no 999"):
        box.select(999)


@pytest.mark.slow
def test_prim_boxes_of_the_notebook_are_those_of_resim_discover(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    _sweep_folder(root, 200)
    box = load_sweep(root).discover("vehicles_lost > 100000", min_coverage=0.7)
    r = cli("discover", str(root), "--where", "vehicles_lost > 100k", "--min-coverage", "0.7", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["chosen"] == box.chosen and doc["box"]["limits"] == copy.deepcopy(box.limits())
    x, y = _planted(200, 0.0, 5)
    assert int(y.sum()) == doc["hits"]
