"""Result files (SPEC §4), KPI arithmetic, determinism across workers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import faults
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import resim
from resim.model.kpis import METRICS, automaker_kpis, describe, replication_kpis, wilson
from resim.output import figures
from resim.output.figures.common import save_figure
from resim.scenario.tomlwriter import dumps

from chain_fixtures import SCENARIOS, small_chain
from scenario_helpers import cli


def test_kpis_from_a_hand_built_table() -> None:
    # 10 days, 2 t/day demand; short on days 3, 4, 5 and 8 (1 t each), 0.5 t/vehicle
    day = np.arange(10)
    demand = np.full(10, 2.0)
    short = np.zeros(10)
    short[[3, 4, 5, 8]] = 1.0
    consumed = demand - short
    k = automaker_kpis(day, demand, consumed, short, 0.5)
    assert k["shortfall_t"] == 4.0
    assert k["vehicles_lost"] == 8.0
    assert k["stockout_days"] == 4
    assert k["first_stockout_day"] == 3
    assert k["longest_stoppage_days"] == 3
    assert k["fill_rate"] == pytest.approx(1 - 4 / 20)


def test_backlog_catch_up_reduces_vehicles_lost_but_not_stockout_days() -> None:
    day = np.arange(6)
    demand = np.full(6, 1.0)
    short = np.array([0, 1.0, 1.0, 0, 0, 0])
    consumed = np.array([1, 0, 0, 1.5, 1.5, 2.0])  # the two lost days rebuilt later
    k = automaker_kpis(day, demand, consumed, short, 1.0)
    assert k["stockout_days"] == 2 and k["first_stockout_day"] == 1
    assert k["vehicles_lost"] == 0.0 and k["fill_rate"] == 1.0


def test_all_row_sums_vehicles_and_counts_any_stockout() -> None:
    ts = pd.DataFrame({
        "day": [0, 1, 2, 0, 1, 2],
        "automaker": ["a", "a", "a", "b", "b", "b"],
        "demand_t": [1.0] * 6,
        "consumed_t": [1, 0, 1, 1, 1, 0.5],
        "shortfall_t": [0, 1, 0, 0, 0, 0.5],
        "t_per_vehicle": [0.001] * 3 + [0.002] * 3,
    })
    costs = pd.DataFrame({"day": [1, 2], "automaker": ["a", "b"], "usd": [10.0, 5.0]})
    k = replication_kpis(ts, costs)
    row = k.set_index("automaker").loc["all"]
    assert row.vehicles_lost == pytest.approx(1000 + 250)
    assert row.stockout_days == 2 and row.first_stockout_day == 1 and row.longest_stoppage_days == 2
    assert row.extra_cost_usd == 15.0 and k.set_index("automaker").loc["a"].extra_cost_usd == 10.0


def test_describe_gives_a_t_interval_that_covers_at_the_nominal_rate() -> None:
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(400):
        x = rng.exponential(2.0, 15)
        d = describe(x)
        hits += d["ci95"][0] <= 2.0 <= d["ci95"][1]
    assert 0.90 <= hits / 400 <= 0.98  # skewed data, n=15: close to 95%
    assert describe([1.0])["ci95"] == [None, None]
    assert describe([math.nan])["n"] == 0


def test_wilson_interval_is_sound_at_the_edges() -> None:
    assert wilson(0, 20)[0] == 0.0 and 0.1 < wilson(0, 20)[1] < 0.2
    assert wilson(20, 20)[1] == 1.0


def test_toml_writer_round_trips_a_scenario() -> None:
    import tomllib

    loaded = resim.load_scenario(SCENARIOS / "six_month_licences.toml")
    data = loaded.scenario.model_dump(by_alias=True, exclude_none=True)
    data.pop("extends", None)
    again = resim.load_scenario(tomllib.loads(dumps(data)))
    assert again.scenario == loaded.scenario


@pytest.mark.slow
def test_run_writes_every_result_file_with_the_contract_columns(tmp_path: Path) -> None:
    out = tmp_path / "six"
    p = cli(str(SCENARIOS / "six_month_licences.toml"), "-n", "4", "--out", str(out), "--workers", "1", "--json")
    assert p.code == 0, p.err
    assert json.loads(p.out) == json.loads((out / "summary.json").read_text())  # --json prints summary.json
    for f in ("summary.json", "replications.parquet", "timeseries.parquet", "licences.parquet",
              "flows.parquet", "scenario.resolved.toml", "manifest.json"):
        assert (out / f).is_file(), f
    s = json.loads((out / "summary.json").read_text())
    for key in ("scenario", "seed", "replications", "horizon_days", "start_date", "kpis", "licensing",
                "events", "runtime_s", "versions"):
        assert key in s
    for who in ("EU automaker", "US automaker", "Japan automaker", "all"):
        block = s["kpis"][who]
        for m in ("vehicles_lost", "shortfall_t", "stockout_days", "first_stockout_day",
                  "longest_stoppage_days", "fill_rate"):
            assert set(block[m]) >= {"mean", "ci95", "p5", "p50", "p95"}
        assert "stockout_probability" in block
    for key in ("applications", "approved_share", "decision_days", "stage_wait_days"):
        assert key in s["licensing"]
    assert set(pq.read_schema(out / "timeseries.parquet").names) >= {
        "replication", "day", "date", "automaker", "inventory_t", "produced_vehicles", "shortfall_vehicles"}
    lic_cols = set(pq.read_schema(out / "licences.parquet").names)
    assert lic_cols >= {"replication", "application_id", "kind", "exporter", "customer", "destination", "attempt",
                        "submitted_day", "decided_day", "outcome", "wait_technical", "service_technical",
                        "wait_security", "service_security", "wait_issuance", "service_issuance"}
    assert set(pq.read_schema(out / "flows.parquet").names) >= {
        "replication", "month", "origin", "destination", "product", "tonnes"}
    reps = pd.read_parquet(out / "replications.parquet")
    assert len(reps) == 4 * 3 and set(reps.automaker) == {"EU automaker", "US automaker", "Japan automaker"}
    totals = pd.read_parquet(out / "totals.parquet")
    assert list(totals.replication) == [0, 1, 2, 3] and "automaker" not in totals.columns
    resolved = resim.load_scenario(out / "scenario.resolved.toml")
    assert resolved.scenario.controls.licence_mode == "general"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == s["seed"] and "versions" in manifest


@pytest.mark.slow
def test_same_seed_gives_identical_files_with_one_and_two_workers(tmp_path: Path) -> None:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.replications": 6})))
    for w in (1, 2):
        p = cli(str(src), "--out", str(tmp_path / f"w{w}"), "--workers", str(w), "--quiet")
        assert p.code == 0, p.err
    for f in ("replications.parquet", "licences.parquet", "timeseries.parquet", "flows.parquet"):
        assert (tmp_path / "w1" / f).read_bytes() == (tmp_path / "w2" / f).read_bytes(), f


@pytest.mark.slow
def test_a_failing_replication_becomes_a_row_and_exits_non_zero(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.replications": 4})))
    faults.inject(monkeypatch, fail={2})  # the worker processes are forked from this one: they have it too
    p = cli(str(src), "--out", str(tmp_path / "o"), "--workers", "2")
    assert p.code == 1
    assert "1 of 4 replications failed" in p.err and "Traceback" not in p.err
    reps = pd.read_parquet(tmp_path / "o" / "replications.parquet")
    bad = reps[reps.error.notna()]
    assert list(bad.replication) == [2] and "injected fault" in bad.error.iloc[0]
    assert (bad.seed_entropy.iloc[0], bad.replication.iloc[0]) == (7, 2)  # SeedSequence(7, spawn_key=(2,))
    assert set(reps[reps.error.isna()].replication) == {0, 1, 3}


@pytest.mark.slow
def test_results_plot_methods_draw_the_run_figures_of_the_written_files(tmp_path: Path) -> None:
    scn = small_chain(**{"scenario.replications": 3})
    scn["policy"] = [{"date": "2025-06-01", "set": {"licensing.approval_rate": 0.9}}]
    res = resim.simulate(scn, workers=1)
    res.write(tmp_path)

    def png(fig: object, name: str) -> bytes:
        return save_figure(fig, tmp_path / "check" / f"{name}.png").read_bytes()  # type: ignore[arg-type]

    # in memory and from the files, the same figure (the files are the contract)
    pairs = {
        "inventory": (res.plot_inventory("EU maker"), figures.inventory_fan(tmp_path, "EU maker")),
        "vehicles_lost": (res.plot_vehicles_lost(), figures.vehicles_lost_distribution(tmp_path)),
        "licences": (res.plot_licences(), figures.licence_pipeline(tmp_path)),
        "flows": (res.plot_flows(), figures.monthly_flows(tmp_path)),
    }
    for name, (mine, from_files) in pairs.items():
        assert png(mine, name) == png(from_files, name + "_files"), name
        assert any(ax.get_title() for ax in mine.axes), name
    assert "EU maker" in pairs["inventory"][0].axes[0].get_title()
    lost = pairs["vehicles_lost"][0].axes[0]
    # automakers counted in vehicles, top to bottom in scenario order (CN buyer is in tonnes)
    ticks = sorted(zip(lost.get_yticks(), (t.get_text() for t in lost.get_yticklabels()),
                       strict=True), reverse=True)
    assert [name for _, name in ticks] == ["EU maker", "JP maker"]


def test_kpi_frame_is_the_summary_as_a_table() -> None:
    res = resim.simulate(small_chain(**{"scenario.replications": 3}), workers=1)
    frame = res.kpi_frame()
    kpis = res.summary()["kpis"]
    assert len(frame) == len(kpis) * len(METRICS)
    for r in frame.itertuples():
        block = kpis[r.automaker][r.metric]
        for col, value in (("mean", block["mean"]), ("ci_low", block["ci95"][0]),
                           ("ci_high", block["ci95"][1]), ("p50", block["p50"])):
            got = getattr(r, col)
            assert (value is None and (got is None or got != got)) or got == value, (r, col)
    # the per-replication table agrees with the summary it was summarised into
    reps = res.replications
    for who, rows in (("EU maker", reps[reps["automaker"] == "EU maker"]), ("all", res.totals)):
        mean = rows["vehicles_lost"].mean()
        assert math.isclose(kpis[who]["vehicles_lost"]["mean"], mean, rel_tol=1e-9, abs_tol=1e-9)


def test_replications_hold_real_automakers_and_totals_add_them_up() -> None:
    scn = small_chain(**{"scenario.replications": 4, "scenario.seed": 11})
    res = resim.simulate(scn, workers=1, progress=False)
    reps, totals = res.replications, res.totals
    assert set(reps.automaker) == {"EU maker", "JP maker", "CN buyer"}  # no "all" to double-count
    assert list(totals.replication) == [0, 1, 2, 3] and "automaker" not in totals.columns
    # every automaker together: vehicles and stockout days of 'all' follow from the entries
    by_rep = reps.groupby("replication")
    assert np.allclose(totals.set_index("replication").vehicles_lost, by_rep.vehicles_lost.sum(min_count=1))
    assert (totals.set_index("replication").stockout_days >= by_rep.stockout_days.max()).all()
    # seeds are integers that reproduce a replication: SeedSequence(seed_entropy, spawn_key=(r,))
    assert str(reps.replication.dtype) == "int64" and str(reps.seed_entropy.dtype) == "int64"
    assert str(reps.automaker.dtype) == "string" and (reps.seed_entropy == 11).all()
    from resim.model.randomness import replication_seed

    ss = replication_seed(int(totals.seed_entropy.iloc[2]), int(totals.replication.iloc[2]))
    assert (ss.entropy, ss.spawn_key) == (11, (2,))
    # summary.json's 'all' block is summarised from the totals
    assert math.isclose(res.summary()["kpis"]["all"]["vehicles_lost"]["mean"], totals.vehicles_lost.mean())


def test_t_and_wilson_intervals_are_the_textbook_ones() -> None:
    x = np.array([3.0, 5.0, 4.0, 8.0, 6.0])
    d = describe(x)
    half = 2.7764451051977987 * x.std(ddof=1) / math.sqrt(x.size)  # t(0.975, 4)
    assert d["ci95"] == pytest.approx([x.mean() - half, x.mean() + half])
    assert describe([2.0, 2.0, 2.0])["ci95"] == [2.0, 2.0]  # no spread, no width (not NaN)
    assert describe(x, bounds=(4.0, None))["ci95"][0] == 4.0
    for k, n in ((0, 20), (7, 20), (20, 20), (1, 3)):
        z, p = 1.959963984540054, k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        assert wilson(k, n) == pytest.approx([max(0.0, centre - half), min(1.0, centre + half)])


@pytest.mark.slow
def test_results_write_makes_a_whole_run_folder_that_resim_report_accepts(tmp_path: Path) -> None:
    from resim.experiment.runfolder import read_marker
    from resim.scenario.errors import ScenarioError

    out = tmp_path / "nb"
    resim.simulate(small_chain(**{"scenario.replications": 2}), workers=1).write(out)
    marker = read_marker(out)
    assert marker is not None and (marker["kind"], marker["status"], marker["replications"]) == ("run", "complete", 2)
    p = cli("report", str(out))
    assert p.code == 0, p.err
    # a second write replaces the run whole: no file of the first is left beside the second's
    resim.simulate(small_chain(**{"scenario.replications": 3, "scenario.seed": 9}), workers=1).write(out)
    assert pd.read_parquet(out / "totals.parquet").replication.tolist() == [0, 1, 2]
    assert json.loads((out / "summary.json").read_text())["seed"] == 9
    # a folder of other files is not a run: refused unless overwrite=True
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    res = resim.simulate(small_chain(**{"scenario.replications": 2}), workers=1)
    with pytest.raises(ScenarioError, match="not a resim result"):
        res.write(other)
    assert (other / "notes.txt").read_text() == "mine"
    res.write(other, overwrite=True)
    assert not (other / "notes.txt").exists() and read_marker(other) is not None


@pytest.mark.slow
def test_a_partial_run_whose_finished_replications_do_not_start_at_0_is_written_and_drawn(tmp_path: Path) -> None:
    # with two workers, replications 2-3 can finish before 0-1; an interrupt then keeps 2 and 3 only
    from resim.experiment.runfolder import check_complete
    from resim.output.results import Results
    from resim.output.rundata import load_run

    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.replications": 4, "scenario.horizon": 120})))
    whole = resim.simulate(src, workers=1, progress=False)
    part = Results(whole.loaded, whole.outputs[2:], 1.0, 2)
    part.asked, part.interrupted = 4, True
    out = part.write(tmp_path / "run")
    assert check_complete(out)["status"] == "partial"
    run = load_run(out)
    assert run.replications == [2, 3]
    kept = run.flows[run.flows["replication"].isin(run.replications)]
    assert len(kept) and kept["tonnes"].sum() == pytest.approx(
        whole.flows.loc[whole.flows["replication"] >= 2, "tonnes"].sum())
