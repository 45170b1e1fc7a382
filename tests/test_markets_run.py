"""Markets in a run: off by default, prices.parquet when on, behaviour under
common random numbers (the same seed, so the same chain)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import resim
from resim.output.figures import run_figures
from resim.scenario.errors import ScenarioError

#: Runs of whole scenarios, several replications each: out of the edit-test loop.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
APRIL = ROOT / "scenarios" / "april_2025_controls.toml"
BASELINE = ROOT / "scenarios" / "baseline.toml"


def _with_markets(tmp_path: Path, parent: Path, body: str = "", name: str = "m.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'extends = "{parent.as_posix()}"\n[markets]\n{body}')
    return path


def _run(path: Path, **overrides: object) -> resim.Results:
    return resim.simulate(str(path), replications=2, workers=1, progress=False, overrides=overrides)


@pytest.fixture(scope="module")
def april_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, resim.Results]:
    """Three runs of the April scenario to the end of September: buyers
    outside China are short from June and prices have risen by then, which is
    all these tests need to see."""
    d = tmp_path_factory.mktemp("april")
    short = {"scenario.horizon": 273}
    return {"off": _run(APRIL, **short), "on": _run(_with_markets(d, APRIL), **short),
            "elastic": _run(_with_markets(d, APRIL, "elasticity = 1.5\n", "e.toml"), **short)}


def test_without_a_markets_table_there_are_no_prices_and_no_file(april_runs: dict[str, resim.Results],
                                                                 tmp_path: Path) -> None:
    res = april_runs["off"]
    assert len(res.prices) == 0 and not res.has_markets
    assert "markets" not in res.summary()
    res.write(tmp_path / "out")
    assert not (tmp_path / "out" / "prices.parquet").exists()


def test_the_report_has_a_price_figure_only_with_markets(april_runs: dict[str, resim.Results]) -> None:
    assert "prices" not in [p.name for p in run_figures(april_runs["off"])]
    fig = {p.name: p for p in run_figures(april_runs["on"])}["prices"].figure
    assert [ax.get_ylabel() for ax in fig.axes] == ["Dy_oxide (USD/kg)", "Tb_oxide (USD/kg)"]


def test_prices_observe_the_chain_without_changing_it(april_runs: dict[str, resim.Results]) -> None:
    off, on = april_runs["off"], april_runs["on"]
    pd.testing.assert_frame_equal(off.timeseries, on.timeseries)
    pd.testing.assert_frame_equal(off.replications, on.replications)


def test_prices_parquet_is_tidy_finite_and_positive(april_runs: dict[str, resim.Results], tmp_path: Path) -> None:
    res = april_runs["on"]
    res.write(tmp_path / "out")
    df = pd.read_parquet(tmp_path / "out" / "prices.parquet")
    assert list(df.columns) == ["replication", "day", "date", "market", "item", "tier", "usd_per_kg"]
    assert set(df["tier"]) == {"contract", "spot"} and set(df["market"]) == {"china", "outside"}
    assert np.isfinite(df["usd_per_kg"]).all() and (df["usd_per_kg"] > 0).all()
    keys = ["replication", "day", "market", "item", "tier"]
    assert not df.duplicated(keys).any()


def test_prices_start_at_their_base_in_dollars(april_runs: dict[str, resim.Results]) -> None:
    df = april_runs["on"].prices
    first = df[df["day"] == 0].set_index(["market", "item"])["usd_per_kg"]
    assert first.loc[("china", "Dy_oxide")].to_numpy() == pytest.approx(1612.5 / 7.2)
    assert first.loc[("outside", "Tb_oxide")].to_numpy() == pytest.approx(965.0)


def test_shortage_outside_china_raises_the_outside_price_and_the_contract_lags(
        april_runs: dict[str, resim.Results]) -> None:
    res = april_runs["on"]
    assert res.totals["shortfall_t"].min() > 0  # the April controls leave buyers outside China short
    df = res.prices
    out = df[(df["market"] == "outside") & (df["item"] == "Dy_oxide")]
    spot = out[out["tier"] == "spot"].groupby("day")["usd_per_kg"].mean()
    contract = out[out["tier"] == "contract"].groupby("day")["usd_per_kg"].mean()
    assert spot.max() > 280.0 * 1.05
    # the contract price follows spot, lagged: its first rise comes no earlier and its peak is lower
    assert (contract > 280.0 + 1e-9).idxmax() >= (spot > 280.0 + 1e-9).idxmax()
    assert contract.max() < spot.max()


def test_more_elastic_demand_needs_a_smaller_price_rise(april_runs: dict[str, resim.Results]) -> None:
    # Same seed, same chain: the equilibrium ratio (D/S)^(1/e) falls as e grows.
    def peak(res: resim.Results) -> pd.Series:
        spot = res.prices[(res.prices["tier"] == "spot") & (res.prices["market"] == "outside")]
        return spot.groupby(["replication", "item"])["usd_per_kg"].max()
    assert (peak(april_runs["elastic"]) < peak(april_runs["on"])).all()


def test_without_shortage_prices_stay_at_base_and_the_premium_is_the_base_premium(tmp_path: Path) -> None:
    res = _run(_with_markets(tmp_path, BASELINE))
    assert res.totals["shortfall_t"].max() == 0
    base = {("china", "Dy_oxide"): 1612.5 / 7.2, ("china", "Tb_oxide"): 4825.0 / 7.2,
            ("outside", "Dy_oxide"): 280.0, ("outside", "Tb_oxide"): 965.0}
    want = res.prices.apply(lambda r: base[(r["market"], r["item"])], axis=1)
    np.testing.assert_allclose(res.prices["usd_per_kg"], want, rtol=1e-12)
    premium = res.summary()["markets"]["price_premium"]
    ratio = np.mean([280.0 / (1612.5 / 7.2), 965.0 / (4825.0 / 7.2)]) - 1.0
    assert premium["mean"] == pytest.approx(ratio, rel=1e-12)


@pytest.mark.parametrize(("body", "message"), [
    ("speed_per_day = 0.5\nelasticity = 1\n", r"m\.toml: markets: speed_per_day \* step_days \* elasticity = 3\.5"),
    ("cny_per_usd = 0\n", r"m\.toml: markets\.cny_per_usd: .*got 0"),
    ("[markets.items.Dy_oxide]\nchina_cny_per_kg = -3\noutside_usd_per_kg = 280\n",
     r"m\.toml: markets\.items\.Dy_oxide\.china_cny_per_kg: must be > 0, got -3"),
])
def test_bad_market_keys_get_one_line_errors(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as err:
        resim.load_scenario(str(_with_markets(tmp_path, BASELINE, body)))
    assert "\n" not in str(err.value)
