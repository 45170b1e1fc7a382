"""Price rows in observed data (issue 27 item 5): ``price.<item>.<quote>``,
yearly periods and the ``unit`` column, measured from a run's price table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import resim
from resim.calibration.observed import Period, read_observed
from resim.calibration.series import QUOTES, compile_targets
from resim.scenario import load
from resim.scenario.errors import ScenarioError
from resim.scenario.tomlwriter import dumps

from chain_fixtures import small_chain

RATE = 7.2  # markets.cny_per_usd's default


def _chain(tmp_path: Path, markets: bool = True) -> Path:
    doc = small_chain(**{"scenario.replications": 10, "scenario.horizon": 400, "scenario.start_date": "2025-01-01"})
    if markets:
        doc["markets"] = {}
    src = tmp_path / ("m.toml" if markets else "plain.toml")
    src.write_text(dumps(doc))
    return src


def _csv(tmp_path: Path, rows: list[tuple[str, str, float, str]]) -> Path:
    f = tmp_path / "obs.csv"
    f.write_text("series,period,value,unit\n" + "".join(f"{s},{p},{v},{u}\n" for s, p, v, u in rows))
    return f


def test_a_year_is_a_period_and_a_month_is_not_a_year() -> None:
    y, m = Period.parse("2025"), Period.parse("2025-02")
    assert (y.first.isoformat(), y.last.isoformat(), y.is_month) == ("2025-01-01", "2025-12-31", False)
    assert (m.last.isoformat(), m.is_month) == ("2025-02-28", True)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, resim.Results]:
    d = tmp_path_factory.mktemp("prices")
    rows = [("price.Dy_oxide.europe_ask", "2025-05", 300.0, "USD/kg"),
            ("price.Dy_oxide.CN_domestic", "2025-06", 1940.0, "CNY/kg"),
            ("price.Dy_oxide.volume_weighted", "2025", 224.0, "USD/kg"),
            ("price.Tb_oxide.FOB_CN", "2025-09-25", 1000.0, "")]
    obs = _csv(d, rows)
    return obs, resim.simulate(_chain(d), workers=1, progress=False, observed=obs)


def test_a_price_row_is_the_mean_of_its_market_and_tier_over_the_period(run: tuple[Path, resim.Results]) -> None:
    _, res = run
    table = res.extra_tables["observed_vs_model"].set_index("series")
    prices = res.prices.assign(date=lambda f: pd.to_datetime(f["date"]))
    for series, period in (("price.Dy_oxide.europe_ask", "2025-05"), ("price.Dy_oxide.volume_weighted", "2025")):
        item, quote = series.split(".")[1:]
        market, tier = QUOTES[quote]
        rows = prices[(prices["item"] == item) & (prices["market"] == market) & (prices["tier"] == tier)
                      & (prices["date"].dt.strftime("%Y-%m" if len(period) == 7 else "%Y") == period)]
        per_rep = rows.groupby("replication")["usd_per_kg"].mean()
        assert np.isclose(table.loc[series, "p50"], np.percentile(per_rep, 50))
    # yuan are converted at markets.cny_per_usd: the observed column is in dollars
    assert np.isclose(table.loc["price.Dy_oxide.CN_domestic", "observed"], 1940.0 / RATE)
    # a single day between weekly observations takes the last price before it: a finite number
    assert np.isfinite(table.loc["price.Tb_oxide.FOB_CN", "p50"])
    fans = res.extra_tables["observed_fans"]
    assert {"price.Dy_oxide.europe_ask", "price.Dy_oxide.CN_domestic"} <= set(fans["series"])


def test_a_row_at_the_model_median_in_yuan_sits_at_the_50th_percentile(run: tuple[Path, resim.Results],
                                                                       tmp_path: Path) -> None:
    obs, res = run
    p50 = float(res.extra_tables["observed_vs_model"].set_index("series").loc["price.Dy_oxide.CN_domestic", "p50"])
    again = res.plot_fans  # the same run measured against a later file (common random numbers: same draws)
    fig = again(observed=_csv(tmp_path, [("price.Dy_oxide.CN_domestic", "2025-06", p50 * RATE, "CNY/kg")]))
    assert "1 of 1 inside" in fig.axes[0].get_title()


@pytest.mark.parametrize(("row", "fragment"), [
    (("price.Dy_oxide.europe_ask", "2025-05", 300.0, "t"), "unit"),
    (("exports.magnet.CN.all", "2025-05", 300.0, "USD/kg"), "exports rows are in t"),
    (("price.Nd_oxide.europe_ask", "2025-05", 300.0, ""), "Dy_oxide, Tb_oxide"),
    (("price.Dy_oxide.london_bid", "2025-05", 300.0, ""), "europe_ask|volume_weighted"),
    (("price.Dy_oxide.europe_ask", "2025-05", -3.0, ""), "> 0"),
    (("price.Dy_oxide.europe_ask", "2027", 300.0, ""), "outside the simulated days"),
])
def test_bad_price_rows_are_one_line_errors_naming_the_row(tmp_path: Path, row: tuple[str, str, float, str],
                                                           fragment: str) -> None:
    loaded = load(_chain(tmp_path))
    f = _csv(tmp_path, [row])
    with pytest.raises(ScenarioError, match="row 2") as e:
        compile_targets(read_observed(f), loaded.scenario, str(f))
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_a_scenario_without_markets_refuses_price_rows(tmp_path: Path) -> None:
    loaded = load(_chain(tmp_path, markets=False))
    f = _csv(tmp_path, [("price.Dy_oxide.europe_ask", "2025-05", 300.0, "USD/kg")])
    with pytest.raises(ScenarioError, match=r"no \[markets\] table"):
        compile_targets(read_observed(f), loaded.scenario, str(f))


def test_an_observation_equal_to_every_draw_up_to_rounding_is_inside_at_the_50th_percentile() -> None:
    from resim.calibration.observed_vs_model import _row
    from resim.calibration.series import Target, parse_series

    base = 1612.5 / 7.2
    target = Target(parse_series("price.Dy_oxide.CN_domestic"), Period.parse("2025-09"), 1612.5 / 7.2, None, 2)
    row = _row(target, np.full(8, base * (1 + 1e-13)))
    assert row["inside"] and row["percentile"] == 50.0
    assert not _row(target, np.full(8, base * 1.01))["inside"]
