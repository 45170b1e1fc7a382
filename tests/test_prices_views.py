"""Prices in the notebook and the terminal (issue 27 item 6): ``res.prices``,
``res.plot_prices()``, the price KPIs and the price and cost rows of the run
table. The KPIs are checked against prices.parquet computed here
independently, and their intervals against the t-interval and by coverage."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from rich.console import Console
from scipy import stats

import resim
from resim.model.kpis import describe
from resim.model.price_kpis import PRICE_KPI_COLUMNS, price_kpis, wide_price_kpis
from resim.output.console import kpi_table, licensing_lines
from resim.output.console_markets import market_renderables, price_table
from resim.scenario.errors import ScenarioError

from chain_fixtures import ROOT
from scenario_helpers import cli

#: Runs of whole scenarios, several replications each: out of the edit-test loop.
pytestmark = pytest.mark.slow

#: The 2010 file as of 608c727 (no [markets] of its own: these tests switch
#: them on with --set; the shipped file now has markets and responses)
QUOTA = ROOT / "tests" / "data" / "scenarios_608c727" / "quota_cut_2010.toml"
#: Markets on with their default keys, two years (the price rises in 2011).
ON = ("markets.speed_per_day=0.02", "scenario.horizon=2y")
OFF = ("scenario.horizon=90d",)
COLUMNS = ["replication", "day", "date", "market", "item", "tier", "usd_per_kg"]


def _run(overrides: tuple[str, ...], n: int) -> resim.Results:
    return resim.simulate(str(QUOTA), replications=n, workers=1, progress=False, overrides=list(overrides))


@pytest.fixture(scope="module")
def on() -> resim.Results:
    return _run(ON, 4)


@pytest.fixture(scope="module")
def off() -> resim.Results:
    return _run(OFF, 2)


def test_res_prices_is_tidy_and_plot_prices_draws_a_panel_per_item(on: resim.Results) -> None:
    assert list(on.prices.columns) == COLUMNS
    assert sorted(on.prices["replication"].unique()) == [0, 1, 2, 3]
    fig = on.plot_prices()
    assert isinstance(fig, Figure)
    assert [ax.get_ylabel() for ax in fig.axes] == ["Dy_oxide (USD/kg)", "Tb_oxide (USD/kg)"]


def test_without_markets_prices_are_empty_and_plot_prices_says_why(off: resim.Results, tmp_path: Path) -> None:
    assert list(off.prices.columns) == COLUMNS and len(off.prices) == 0
    assert pd.api.types.is_float_dtype(off.prices["usd_per_kg"]) and pd.api.types.is_integer_dtype(off.prices["day"])
    with pytest.raises(ScenarioError, match=r"quota_cut_2010\.toml: markets: this scenario has no \[markets\]") as e:
        off.plot_prices()
    assert "\n" not in str(e.value)
    off.write(tmp_path / "o")
    assert not (tmp_path / "o" / "prices.parquet").exists()
    assert "markets" not in json.loads((tmp_path / "o" / "summary.json").read_text())


def _independent(prices: pd.DataFrame) -> pd.DataFrame:
    """Per replication and series: mean, max over the day-0 price, first day at the max (by hand)."""
    rows = []
    for (rep, item, market, tier), g in prices.groupby(["replication", "item", "market", "tier"]):
        g = g.sort_values("day")
        usd = g["usd_per_kg"].to_numpy()
        top = usd.max()
        first = g["day"].to_numpy()[np.isclose(usd, top, rtol=1e-9, atol=0)][0]
        rows.append({"replication": rep, "item": item, "market": market, "tier": tier,
                     "mean_price_usd_per_kg": usd.mean(), "price_peak_ratio": top / usd[0],
                     "price_peak_day": float(first)})
    return pd.DataFrame(rows)


def test_price_kpis_are_the_mean_and_max_of_prices_parquet(on: resim.Results, tmp_path: Path) -> None:
    on.write(tmp_path / "o")
    prices = pd.read_parquet(tmp_path / "o" / "prices.parquet")
    got = price_kpis(prices)
    assert list(got.columns) == list(PRICE_KPI_COLUMNS)
    keys = ["replication", "item", "market", "tier"]
    both = got.merge(_independent(prices), on=keys, suffixes=("", "_want"))
    assert len(both) == len(got) == 4 * 2 * 2 * 2
    for k in ("mean_price_usd_per_kg", "price_peak_ratio", "price_peak_day"):
        np.testing.assert_allclose(both[k], both[f"{k}_want"], rtol=1e-12)
    # the quota bites outside China: its spot price rises above its base, China's does not
    peak = both.set_index(["market", "tier"])["price_peak_ratio"]
    assert (peak.loc[("outside", "spot")] > 1.5).all() and (peak.loc[("china", "spot")] < 1.0 + 1e-9).all()


def test_summary_series_are_t_intervals_of_the_replication_values(on: resim.Results, tmp_path: Path) -> None:
    on.write(tmp_path / "o")
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    want = _independent(pd.read_parquet(tmp_path / "o" / "prices.parquet"))
    for block in summary["markets"]["series"]:
        g = want[(want["item"] == block["item"]) & (want["market"] == block["market"])
                 & (want["tier"] == block["tier"])]
        x = g["price_peak_ratio"].to_numpy()
        d = block["price_peak_ratio"]
        assert d["mean"] == pytest.approx(x.mean(), rel=1e-12) and d["n"] == 4
        if x.std() > 1e-9:
            lo, hi = stats.t.interval(0.95, x.size - 1, loc=x.mean(), scale=stats.sem(x))
            assert d["ci95"] == pytest.approx([max(lo, 1.0), hi], rel=1e-9)
        assert d["ci95"][0] <= d["mean"] <= d["ci95"][1]


def test_the_intervals_cover_the_mean_about_95_percent_of_the_time(on: resim.Results) -> None:
    # Resampling the replications' peak ratios (their empirical distribution, whose mean is known):
    # the interval of 4 draws covers that mean in about 95% of 400 trials (the t-interval of a
    # small skewed sample covers a little less; 85% is 10 points and ~9 binomial sd below).
    x = price_kpis(on.prices).query("market == 'outside' and tier == 'spot'")["price_peak_ratio"].to_numpy()
    rng = np.random.default_rng(27)
    hits = [(lambda d: d["ci95"][0] <= x.mean() <= d["ci95"][1])(describe(rng.choice(x, 4), (1.0, None)))
            for _ in range(400)]
    assert 0.85 <= np.mean(hits) <= 1.0


def test_wide_price_kpis_name_every_series_and_the_premium(on: resim.Results) -> None:
    one = on.prices[on.prices["replication"] == 0]
    wide = wide_price_kpis(one)
    assert wide["price_peak_ratio:Dy_oxide:outside:spot"] == pytest.approx(
        _independent(one).query("item == 'Dy_oxide' and market == 'outside' and tier == 'spot'")
        ["price_peak_ratio"].item(), rel=1e-12)
    assert len(wide) == 3 * 8 + 1 and "price_premium" in wide


def _text(renderable: Any, width: int = 80) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, highlight=False, color_system=None).print(renderable)
    return [line.rstrip() for line in out.getvalue().splitlines()]


def test_the_price_table_has_a_row_per_item_and_market_and_fits(on: resim.Results) -> None:
    summary = on.summary()
    for width in (80, 140):
        lines = _text(price_table(summary), width)
        assert max(map(len, lines)) <= width
        text = "\n".join(lines)
        for item in ("Dy_oxide", "Tb_oxide"):
            assert sum(line.startswith(item) for line in lines) == 2, text
        assert "peak/base" in text
    assert not market_renderables({**summary, "markets": None})


def test_resim_run_prints_price_and_cost_rows_with_markets(tmp_path: Path) -> None:
    args = [str(QUOTA), "-n", "2", "--workers", "1", "--out", str(tmp_path / "o")]
    p = cli(*args, *(x for kv in ON for x in ("--set", kv)), width="100")
    assert p.code == 0, p.err
    assert "Prices, mean [95% CI]" in p.out and "Costs, mean [95% CI]" in p.out
    assert "price premium outside China" in p.out
    assert any(line.startswith("Dy_oxide") and "outside" in line for line in p.out.splitlines())


def test_a_run_without_markets_prints_exactly_the_kpi_table_and_licensing_lines(tmp_path: Path) -> None:
    out = tmp_path / "o"
    p = cli(str(QUOTA), "-n", "2", "--workers", "1", "--out", str(out), "--set", OFF[0], width="80")
    assert p.code == 0, p.err
    summary = json.loads((out / "summary.json").read_text())
    want = [*_text(kpi_table(summary)), *(x for line in licensing_lines(summary) for x in _text(line))]
    got = [line.rstrip() for line in p.out.splitlines()]
    assert got[:len(want)] == want
    assert got[len(want)].startswith("2 replications in")  # the runtime line, and nothing else
    assert not any("price" in line.lower() or "Costs" in line for line in got)


def test_the_report_shows_the_price_table_and_fans_only_with_markets(on: resim.Results, off: resim.Results,
                                                                    tmp_path: Path) -> None:
    on.write(tmp_path / "on")
    off.write(tmp_path / "off")
    html = (tmp_path / "on" / "report.html").read_text()
    section = html[html.index("<h2>Prices</h2>"):html.index("<h2>Scenario</h2>")]
    assert section.count("<tr>") == 1 + 8  # the head, then 2 items x 2 markets x 2 tiers
    peak = on.summary()["markets"]["series"][-1]["price_peak_ratio"]
    assert f"{peak['mean']:.2f} [{peak['ci95'][0]:.2f}, {peak['ci95'][1]:.2f}]" in section
    assert (tmp_path / "on" / "plots" / "prices.png").is_file() and "Prices per item" in html
    html_off = (tmp_path / "off" / "report.html").read_text()
    assert "<h2>Prices</h2>" not in html_off and not (tmp_path / "off" / "plots" / "prices.png").exists()
