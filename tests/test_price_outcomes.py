"""Price parameters and price KPIs in sweeps and sensitivity (issue 27 item 6).

Under common random numbers (every point's replication r runs on child r of
the seed) and without a response to price, a point differs from another only
in its prices: the price rule's speed moves the peak, never the chain. The
directions asserted are the price rule's (``model/markets/rules.py``): a
faster tatonnement reaches the rising equilibrium sooner, so its peak comes
no later and is no lower; more elastic demand clears at a lower price."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import resim
from resim.experiment.point_outcomes import check_outcome
from resim.experiment.replications import RESULT_COLUMNS
from resim.scenario.errors import ScenarioError

from chain_fixtures import ROOT
from scenario_helpers import cli

#: Runs of whole scenarios, several replications each: out of the edit-test loop.
pytestmark = pytest.mark.slow

#: The 2010 file as of 608c727 (no [markets] of its own: these tests switch
#: them on with --set; the shipped file now has markets and responses)
QUOTA = ROOT / "tests" / "data" / "scenarios_608c727" / "quota_cut_2010.toml"
SPEEDS = (0.01, 0.02, 0.04)
SERIES = [f"{i}:outside:{t}" for i in ("Dy_oxide", "Tb_oxide") for t in ("contract", "spot")]


@pytest.fixture(scope="module")
def speed_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``resim sweep`` over the price rule's speed, markets on through --set, six years, 2 replications."""
    out = tmp_path_factory.mktemp("sweep") / "s"
    p = cli("sweep", str(QUOTA), "--grid", f"markets.speed_per_day={','.join(map(str, SPEEDS))}", "-n", "2",
            "--set", "markets.speed_per_day=0.02", "--set", "scenario.horizon=6y", "--workers", "1",
            "--out", str(out), "--quiet", width="120")
    assert p.code == 0, p.err
    return out


def _all_rows(results: pd.DataFrame) -> pd.DataFrame:
    return results[results["automaker"] == "all"].sort_values(["replication", "markets.speed_per_day"])


def test_a_faster_price_peaks_no_later_and_no_lower_under_crn(speed_sweep: Path) -> None:
    rows = _all_rows(pd.read_parquet(speed_sweep / "results.parquet"))
    for _, g in rows.groupby("replication"):
        assert list(g["markets.speed_per_day"]) == list(SPEEDS)
        for s in SERIES:
            day = g[f"price_peak_day:{s}"].to_numpy()
            ratio = g[f"price_peak_ratio:{s}"].to_numpy()
            assert (np.diff(day) <= 0).all(), (s, day)
            assert (np.diff(ratio) >= -1e-12).all(), (s, ratio)
            assert day[0] < 6 * 365  # the slowest still peaks inside the run: the direction is not the horizon's


def test_the_chain_is_the_same_at_every_speed_only_prices_move(speed_sweep: Path) -> None:
    results = pd.read_parquet(speed_sweep / "results.parquet")
    kpis = results.set_index(["point", "replication", "automaker"])[["shortfall_t", "stockout_days"]]
    first = kpis.xs(0, level="point")
    for p in (1, 2):
        pd.testing.assert_frame_equal(kpis.xs(p, level="point"), first)
    # a price is no automaker's: its columns are on the all row only
    assert results.loc[results["automaker"] != "all", "price_premium"].isna().all()


def test_the_sweep_summary_holds_each_points_price_kpis_with_intervals(speed_sweep: Path) -> None:
    results = pd.read_parquet(speed_sweep / "results.parquet")
    summary = pd.read_parquet(speed_sweep / "summary.parquet")
    name = "price_peak_ratio:Dy_oxide:outside:spot"
    at = summary[summary["automaker"] == "all"].set_index("point")
    want = _all_rows(results).groupby("point")[name].mean()
    np.testing.assert_allclose(at[f"{name}_mean"].sort_index(), want.sort_index(), rtol=1e-12)
    assert (at[f"{name}_ci_low"] <= at[f"{name}_mean"]).all() and (at[f"{name}_mean"] <= at[f"{name}_ci_high"]).all()
    assert summary.loc[summary["automaker"] != "all", f"{name}_mean"].isna().all()
    fig = resim.load_sweep(speed_sweep).plot_lines("markets.speed_per_day", metric=name)
    assert "Dy oxide:outside:spot" in fig.axes[0].get_ylabel()


def test_a_sweep_without_markets_has_no_price_columns(tmp_path: Path) -> None:
    res = resim.sweep(str(QUOTA), grid={"licensing.approval_rate": [0.8, 1.0]}, replications=1,
                      overrides=["scenario.horizon=60d"], workers=1, out=tmp_path / "s", report=False)
    assert list(res.results.columns) == ["point", "licensing.approval_rate", *RESULT_COLUMNS[1:]]
    assert not any(":" in c or c.startswith("price") for c in res.summary.columns)


def test_morris_indices_of_price_kpis_have_the_rules_signs(tmp_path: Path) -> None:
    res = resim.sweep(str(QUOTA), sampler="morris", ranges=[("markets.speed_per_day", 0.01, 0.04),
                                                           ("markets.elasticity", 0.3, 1.0)],
                      samples=4, replications=1, overrides=["markets.speed_per_day=0.02", "scenario.horizon=2y"],
                      workers=1, out=tmp_path / "m", report=False)
    s = res.sensitivity
    assert s is not None
    prices = s[s["kpi"].str.contains(":")]
    assert set(prices["automaker"]) == {"all"}
    mu = prices[(prices["kpi"] == "price_peak_ratio:Dy_oxide:outside:spot") & (prices["index"] == "mu")]
    mu = mu.set_index("parameter")["value"]
    assert mu["markets.speed_per_day"] > 0 > mu["markets.elasticity"]
    # the automakers' KPIs do not move with price keys (no response is on)
    assert ("shortfall_t", "all") in res.constant


def test_price_outcomes_are_accepted_by_kpi_and_a_typo_gets_one_line() -> None:
    assert check_outcome("price_peak_ratio:Dy_oxide:outside:spot") == "price_peak_ratio:Dy_oxide:outside:spot"
    assert check_outcome("price_premium") == "price_premium"
    with pytest.raises(ScenarioError, match=r"--kpi: price_peak:Dy: is not a KPI.*with \[markets\] also") as e:
        check_outcome("price_peak:Dy")
    assert "\n" not in str(e.value)


def test_the_sweep_table_shows_each_items_spot_peak_outside_china(speed_sweep: Path, tmp_path: Path) -> None:
    from rich.console import Console

    from resim.output.console_experiments import sweep_table

    def text(res: object) -> str:
        console = Console(width=250, record=True, color_system=None)
        console.print(sweep_table(res))
        return console.export_text()

    shown = text(resim.load_sweep(speed_sweep))
    assert "Dy_oxide outside spot peak/base" in shown and "Tb_oxide outside spot peak/base" in shown
    at = pd.read_parquet(speed_sweep / "summary.parquet").query("automaker == 'all' and point == 0")
    assert f"{at['price_peak_ratio:Dy_oxide:outside:spot_mean'].item():.2f} [" in shown
    plain = resim.sweep(str(QUOTA), grid={"licensing.approval_rate": [1.0]}, replications=1,
                        overrides=["scenario.horizon=60d"], workers=1, out=tmp_path / "s", report=False)
    assert "peak/base" not in text(plain)
