"""Spot purchases by firms about to stop (``[markets.spot]``), under common
random numbers (the same seed, one key changed): nobody stops earlier and no
more vehicles are lost; nothing is bought while every firm's cover is above
``cover_days``; spot purchases are paid the spot price plus the premium; the
market's depth bounds what is bought."""

from __future__ import annotations

import bisect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_markets_payments import _market_of, _write, records

import resim
from resim.model.markets.spot import HOLDS_DAYS, SPOT_MARKET
from resim.scenario.errors import ScenarioError

#: Runs of whole scenarios, several replications each: out of the edit-test loop.
pytestmark = pytest.mark.slow

SIX = "six_month_licences.toml"
#: prices that move within weeks, payments on
BASE = "speed_per_day = 0.1\npayments = true\n"
REPS = (0, 1, 2)


def _spot(body: str = "") -> str:
    return f"{BASE}[markets.spot]\n{body}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    tmp = tmp_path_factory.mktemp("spot")
    bodies = {"off": BASE, "on": _spot(), "deep": _spot("depth_t_per_day = 0.5\npremium = 0.2\n"),
              "never": _spot("cover_days = 0\n")}
    return {k: [records(_write(tmp, SIX, body, f"{k}.toml"), r) for r in REPS] for k, body in bodies.items()}


def _purchases(rec: object) -> pd.DataFrame:
    ev = rec.events.frame()
    return ev[ev["kind"] == "spot_purchase"]


def _first_short(ts: pd.DataFrame) -> pd.Series:
    short = ts[ts["shortfall_t"] > 1e-9]
    return short.groupby("automaker")["day"].min().reindex(ts["automaker"].unique(), fill_value=10**9)


@pytest.mark.parametrize("key", ["on", "deep"])
def test_with_spot_purchases_nobody_stops_earlier_and_no_more_vehicles_are_lost(runs: dict, key: str) -> None:
    bought = 0.0
    for (off, _), (on, _) in zip(runs["off"], runs[key], strict=True):
        a, b = off.timeseries.frame(), on.timeseries.frame()
        assert (_first_short(b) >= _first_short(a)).all()
        lost_off = a.groupby("automaker")["shortfall_vehicles"].sum()
        lost_on = b.groupby("automaker")["shortfall_vehicles"].sum()
        assert (lost_on <= lost_off * (1 + 1e-9) + 1e-6).all()
        bought += _purchases(on)["value"].sum()
    assert bought > 0  # the firms of the six-month chain run low: spot purchases happen


def test_nothing_is_bought_while_every_cover_is_above_cover_days(runs: dict) -> None:
    """A purchase on day d needs the buyer's cover below cover_days at its
    review: arrivals only add, so its stock after day d-1 was below it too;
    before the first purchase the run is the run without spot purchases."""
    cover_days = 14.0  # the default
    for (off, _), (on, _) in zip(runs["off"], runs["on"], strict=True):
        ts = on.timeseries.frame().set_index(["automaker", "day"])
        buys = _purchases(on)
        for row in buys.itertuples():
            day = int(row.day)
            assert ts.loc[(row.key, day - 1), "inventory_t"] < cover_days * ts.loc[(row.key, day), "demand_t"]
        first = buys["day"].min()
        a, b = (r.timeseries.frame() for r in (off, on))
        pd.testing.assert_frame_equal(a[a["day"] < first], b[b["day"] < first])
    for (off, _), (never, _) in zip(runs["off"], runs["never"], strict=True):
        assert _purchases(never).empty
        pd.testing.assert_frame_equal(off.timeseries.frame(), never.timeseries.frame())


def test_spot_purchases_pay_the_spot_price_and_premium(runs: dict) -> None:
    for key, premium in (("on", 0.0), ("deep", 0.2)):
        for rec, model in runs[key]:
            pay = rec.payments.frame()
            spot = pay[pay["payee"] == SPOT_MARKET]
            assert len(spot) > 0
            prices, where = rec.prices.frame(), _market_of(model)
            for row in spot.itertuples():
                p = prices[(prices["market"] == where[row.payer]) & (prices["item"] == row.item)
                           & (prices["tier"] == "spot")].sort_values("day")
                k = max(bisect.bisect_right(p["day"].tolist(), row.day) - 1, 0)
                want = row.tonnes * 1000.0 * p["usd_per_kg"].iloc[k] * (1.0 + premium)
                assert row.usd == pytest.approx(want, rel=1e-12)


def test_the_market_depth_bounds_what_is_bought(runs: dict) -> None:
    """At most what it starts with (30 days of depth) plus its depth a day since."""
    for rec, model in runs["deep"]:
        buys = _purchases(rec)
        days = np.sort(buys["day"].to_numpy())
        cum = buys.sort_values("day")["value"].cumsum().to_numpy()
        assert (cum <= 0.5 * (HOLDS_DAYS + days) + 1e-9).all()
        assert model.ctx.clock.days > 0


def test_bad_spot_keys_get_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"m\.toml: markets\.spot\.max_share: must be >= 0 and <= 1, got 1\.5"):
        resim.load_scenario(str(_write(tmp_path, SIX, _spot("max_share = 1.5\n"))))
