"""Prices formed during the run and the buyers who respond to them (issue 27
item 2): the market equals the post-run book when nobody responds; the
response rules against their closed forms; thrifting and destocking under
common random numbers (the same seed, one key changed: direction, lag, bounds)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import resim
from resim.model.markets import price_table, responses
from resim.model.markets.book import step_prices
from resim.model.replication import Model

#: Runs of whole scenarios, several replications each: out of the edit-test loop.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SIX = ROOT / "scenarios" / "six_month_licences.toml"
#: prices that move within weeks (gain 0.1 x 7 x 0.5 = 0.35 < 2), so responses have time to show
FAST = "speed_per_day = 0.1\n"
REPS = 3


def _scenario(tmp_path: Path, body: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(f'extends = "{SIX.as_posix()}"\n[markets]\n{FAST}{body}')
    return path


def _run(path: Path) -> resim.Results:
    return resim.simulate(str(path), replications=REPS, workers=1, progress=False)


def _outside(res: resim.Results, tier: str = "contract") -> pd.Series:
    """The outside-China price ratio to base (Dy oxide) by replication and day."""
    p = res.prices
    p = p[(p["market"] == "outside") & (p["item"] == "Dy_oxide") & (p["tier"] == tier)]
    return p.set_index(["replication", "day"])["usd_per_kg"] / 280.0


# ---------------------------------------------------------------- the market in the run
def test_the_run_forms_the_prices_the_post_run_book_gives_when_nobody_responds(tmp_path: Path) -> None:
    loaded = resim.load_scenario(str(_scenario(tmp_path, "", "m.toml")))
    model = Model(loaded, 0)
    model.run()
    rec = model.records(0, 0.0)
    where = {a["name"]: a["jurisdiction"] for a in rec.automakers}
    want = price_table(loaded.scenario.markets, rec.timeseries.data, where, "CN", model.ctx.clock.days).data
    got = rec.prices.data
    for col in ("day", "market", "item", "tier"):
        assert list(got[col]) == list(want[col])
    np.testing.assert_allclose(np.asarray(got["usd_per_kg"], float), np.asarray(want["usd_per_kg"], float),
                               rtol=1e-12)
    assert max(want["usd_per_kg"]) > 280.0 * 1.5  # the fast prices do move


def test_actors_read_the_price_in_force_on_a_day(tmp_path: Path) -> None:
    loaded = resim.load_scenario(str(_scenario(tmp_path, "", "m.toml")))
    model = Model(loaded, 0)
    model.run()
    market = model.ctx.markets
    days = market.days
    assert days[:3] == [0, 7, 14] and days[-1] == model.ctx.clock.days
    spot = [market.price_at("Dy_oxide", "outside", "spot", d) for d in days]
    assert market.price("Dy_oxide", "outside", "spot") == spot[-1]
    assert market.price_at("Dy_oxide", "outside", "spot", -30) == 280.0  # before day 0: the base
    # between observation days the last observed price holds
    assert market.price_at("Dy_oxide", "outside", "spot", days[5] + 3) == spot[5]
    assert market.ratio("china", "contract", days[-1]) == pytest.approx(1.0)  # no Chinese buyer: no shortage


# ---------------------------------------------------------------- the response rules
@pytest.mark.parametrize(("ratio", "per", "bound", "want"), [
    (1.0, 0.1, 0.4, 0.0), (0.3, 0.1, 0.4, 0.0), (2.0, 0.1, 0.4, 0.1), (8.0, 0.1, 0.4, 0.3), (64.0, 0.1, 0.4, 0.4),
])
def test_a_response_grows_by_a_share_per_doubling_up_to_its_bound(ratio: float, per: float, bound: float,
                                                                  want: float) -> None:
    assert responses.bounded(ratio, per, bound) == pytest.approx(want, abs=1e-12)
    assert responses.cover_kept(ratio, per, bound) == pytest.approx(1.0 - want, abs=1e-12)


def test_thrifting_is_not_undone_when_the_price_falls() -> None:
    content = 1.0
    for ratio in (4.0, 16.0, 2.0, 1.0):
        content = responses.thrifted(content, ratio, 0.1, 0.4)
    assert content == pytest.approx(0.6)


@given(ratio=st.floats(allow_nan=True, allow_infinity=True), per=st.floats(0.0, 1.0), bound=st.floats(0.0, 1.0),
       content=st.floats(0.0, 1.0))
def test_responses_stay_within_their_bounds_whatever_the_price(ratio: float, per: float, bound: float,
                                                               content: float) -> None:
    r = responses.bounded(ratio, per, bound)
    assert math.isfinite(r) and 0.0 <= r <= bound
    kept = responses.cover_kept(ratio, per, bound)
    assert 1.0 - bound <= kept <= 1.0
    t = responses.thrifted(content, ratio, per, bound)
    assert min(content, 1.0 - bound) <= t <= content


# ---------------------------------------------------------------- responses in a run (common random numbers)
@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, resim.Results]:
    d = tmp_path_factory.mktemp("responses")
    thrift = "[markets.thrift]\nper_doubling = 0.3\nmax_reduction = 0.4\nlag_days = {}\n"
    destock = "[markets.destock]\nper_doubling = {}\nmax_cut = 0.6\n"
    bodies = {"plain": "", "thrift_30": thrift.format(30), "thrift_120": thrift.format(120),
              "thrift_never": thrift.format(3650), "destock": destock.format(0.5), "destock_0": destock.format(0.0)}
    return {name: _run(_scenario(d, body, f"{name}.toml")) for name, body in bodies.items()}


def _content(res: resim.Results) -> pd.Series:
    """Magnet per vehicle as a share of day 0's, by replication, automaker and day."""
    ts = res.timeseries.set_index(["replication", "automaker", "day"])["t_per_vehicle"]
    return ts / ts.groupby(level=["replication", "automaker"]).transform("first")


def test_a_responder_that_never_acts_leaves_the_chain_as_it_was(runs: dict[str, resim.Results]) -> None:
    # the market then brings the automakers up to date during the run: the same
    # days worked in other pieces give the same record (to rounding)
    cols = ["demand_t", "consumed_t", "shortfall_t", "inventory_t"]
    for name in ("thrift_never", "destock_0"):
        pd.testing.assert_frame_equal(runs[name].timeseries[cols], runs["plain"].timeseries[cols], rtol=1e-9)
        pd.testing.assert_series_equal(_outside(runs[name]), _outside(runs["plain"]), rtol=1e-9)


def test_thrifting_cuts_content_within_its_bound_after_its_lag(runs: dict[str, resim.Results]) -> None:
    ratio = _outside(runs["plain"])
    first_rise = ratio[ratio > 1.0 + 1e-9].reset_index().groupby("replication")["day"].min()
    for name, lag in (("thrift_30", 30), ("thrift_120", 120)):
        content = _content(runs[name])
        assert content.min() >= 0.6 - 1e-12 and content.max() <= 1.0 + 1e-12
        assert content.min() < 0.95  # it bites
        cut = content[content < 1.0 - 1e-12].reset_index().groupby("replication")["day"].min()
        # no redesign before a price rise has been seen for the lag (the observation day it
        # is seen on lies at least one step after the step it reflects)
        assert (cut >= first_rise + lag).all(), (name, cut, first_rise)
    assert (_content(runs["thrift_never"]) == 1.0).all()


def test_a_longer_lag_thrifts_later_and_never_more(runs: dict[str, resim.Results]) -> None:
    early, late = _content(runs["thrift_30"]), _content(runs["thrift_120"])
    first = {n: c[c < 1.0 - 1e-12].reset_index().groupby("replication")["day"].min() for n, c in
             (("early", early), ("late", late))}
    assert (first["late"] >= first["early"] + 90 - 14).all()
    assert early.groupby(level=["replication", "automaker"]).min().le(
        late.groupby(level=["replication", "automaker"]).min() + 1e-12).all()


def test_thrifting_needs_fewer_tonnes(runs: dict[str, resim.Results]) -> None:
    # Neither fewer vehicles lost in every replication nor a lower price: a firm
    # orders up to days of its (thrifted) need, so it holds fewer tonnes when
    # supply stops, and the price follows the share of need unmet (docs/markets.md).
    on, off = runs["thrift_30"], runs["thrift_never"]
    for col in ("demand_t", "shortfall_t"):
        assert on.timeseries[col].sum() < off.timeseries[col].sum(), col


def test_destocking_holds_less_cover_while_prices_are_high(runs: dict[str, resim.Results]) -> None:
    on, off = runs["destock"], runs["destock_0"]
    ratio = _outside(on, "spot")
    first_rise = int(ratio[ratio > 1.0 + 1e-9].reset_index()["day"].min())
    key = ["replication", "automaker", "day"]
    inv_on = on.timeseries.set_index(key)["inventory_t"]
    inv_off = off.timeseries.set_index(key)["inventory_t"]
    before = inv_on.index.get_level_values("day") <= first_rise
    np.testing.assert_allclose(inv_on[before], inv_off[before], rtol=1e-9)
    assert inv_on.sum() < inv_off.sum()


# ---------------------------------------------------------------- supply outside China
# the 2010 quota cut without prices (608c727's file): the shipped one carries its own responses
QUOTA = ROOT / "tests" / "data" / "scenarios_608c727" / "quota_cut_2010.toml"


def test_capacity_ramps_to_its_target_and_stays() -> None:
    # ratio 8 (three doublings) x 0.25 = +75%, ramping 0.5 a year: reached after 1.5 years
    s = responses.expanded(1.0, 8.0, 0.25, 1.0, 0.5, 365.0)
    assert s == pytest.approx(1.5)
    s = responses.expanded(s, 8.0, 0.25, 1.0, 0.5, 365.0)
    assert s == pytest.approx(1.75)
    assert responses.expanded(s, 1.0, 0.25, 1.0, 0.5, 365.0) == s  # the price falls: capacity stays
    assert responses.expanded(1.0, 1e9, 0.25, 1.0, 100.0, 365.0) == pytest.approx(2.0)  # its bound


@given(scale=st.floats(1.0, 11.0), ratio=st.floats(allow_nan=True, allow_infinity=True),
       per=st.floats(0.0, 10.0), most=st.floats(0.0, 10.0), ramp=st.floats(1e-6, 100.0), days=st.floats(-1e4, 1e5))
def test_capacity_never_falls_and_never_jumps(scale: float, ratio: float, per: float, most: float, ramp: float,
                                              days: float) -> None:
    s = responses.expanded(scale, ratio, per, most, ramp, days)
    assert math.isfinite(s) and s >= scale
    assert s <= max(scale, min(1.0 + most, scale + ramp * max(days, 0.0) / 365.0)) * (1 + 1e-12)


@pytest.fixture(scope="module")
def quota_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, resim.Results]:
    d = tmp_path_factory.mktemp("supply")
    out = {}
    for name, lag in (("supply", 180), ("never", 3650)):
        path = d / f"{name}.toml"
        path.write_text(f'extends = "{QUOTA.as_posix()}"\n[markets]\n[markets.supply]\nlag_days = {lag}\n')
        out[name] = resim.simulate(str(path), replications=2, workers=1, progress=False)
    return out


def test_supply_outside_china_answers_the_price_after_its_lag(quota_runs: dict[str, resim.Results]) -> None:
    on, off = quota_runs["supply"], quota_runs["never"]

    def outside_flows(res: resim.Results) -> pd.Series:
        f = res.flows[res.flows["origin"] == "US"]
        return f.groupby(["replication", "month"])["tonnes"].sum()

    ratio = _outside(off)
    first_rise = int(ratio[ratio > 1.0 + 1e-9].reset_index()["day"].min())
    start = pd.Timestamp(on.scenario.scenario.start_date)
    answered = (start + pd.Timedelta(days=first_rise + 180)).to_period("M")
    a, b = outside_flows(on), outside_flows(off)
    before = pd.PeriodIndex(a.index.get_level_values("month").astype(str), freq="M") < answered
    np.testing.assert_allclose(a[before], b[before], rtol=1e-9)
    assert a.sum() > b.sum() * 1.1


def test_capacity_stays_within_its_bound_and_only_outside_china(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f'extends = "{QUOTA.as_posix()}"\n[markets]\n[markets.supply]\nlag_days = 0\n'
                    "per_doubling = 1\nmax_increase = 0.3\n")
    model = Model(resim.load_scenario(str(path)), 0)
    model.run()
    scales = {a.name: (a.jurisdiction, a.capacity_scale) for a in model.actors if hasattr(a, "capacity_scale")}
    assert all((s == 1.0) == (j == "CN") for j, s in scales.values()), scales
    assert max(s for _, s in scales.values()) == pytest.approx(1.3)


@given(d0=st.floats(allow_nan=True, allow_infinity=True), s=st.floats(allow_nan=True, allow_infinity=True),
       spot=st.floats(1e-3, 1e6), contract=st.floats(1e-3, 1e6), dt=st.floats(0.0, 365.0))
def test_a_market_step_gives_finite_positive_prices_whatever_the_record_says(
        d0: float, s: float, spot: float, contract: float, dt: float) -> None:
    from resim.scenario.markets import Markets

    cfg = Markets()
    base = 280.0
    new_spot, new_contract = step_prices(cfg, base, spot, contract, d0, s, dt)
    assert math.isfinite(new_spot) and base / cfg.max_ratio <= new_spot <= base * cfg.max_ratio
    assert math.isfinite(new_contract) and new_contract > 0.0


def test_a_policy_changes_the_market_rules_from_its_day_only(tmp_path: Path) -> None:
    # six_month_licences starts on 2025-04-04; the speed doubles on 2025-07-01 (day 88)
    plain = _run(_scenario(tmp_path, "", "plain.toml"))
    path = tmp_path / "policy.toml"
    path.write_text(f'extends = "{SIX.as_posix()}"\n[markets]\n{FAST}\n[[policy]]\ndate = "2025-07-01"\n'
                    'set = { "markets.speed_per_day" = 0.2 }\n')
    changed = _run(path)
    a, b = _outside(changed, "spot"), _outside(plain, "spot")
    day = a.index.get_level_values("day")
    np.testing.assert_allclose(a[day <= 84], b[day <= 84], rtol=1e-12)  # steps ended by the policy's day
    assert not np.allclose(a[day > 91], b[day > 91])
    pd.testing.assert_frame_equal(changed.timeseries, plain.timeseries)  # nobody responds: the chain is the same


# ---------------------------------------------------------------- stockpiles
def _reserve_run(tmp_path: Path, per_doubling: float) -> resim.Results:
    path = tmp_path / f"reserve_{per_doubling}.toml"
    path.write_text(f'extends = "{SIX.as_posix()}"\n'
                    '[[stockpiles]]\nname = "EU reserve"\njurisdiction = "EU"\ngrade = "N42SH"\ninitial_t = 300\n'
                    'release_to = ["EU automaker", "US automaker"]\nrelease_below_days = 5\nrelease_t_per_day = 2\n'
                    f'[markets]\n{FAST}[markets.reserves]\nlag_days = 14\nper_doubling = {per_doubling}\n'
                    'max_increase = 3\n')
    return resim.simulate(str(path), replications=2, workers=1, progress=False)


def test_stockpiles_release_earlier_when_prices_are_high(tmp_path: Path) -> None:
    on, off = _reserve_run(tmp_path, 1.0), _reserve_run(tmp_path, 0.0)

    def released(res: resim.Results) -> pd.Series:
        """Tonnes the reserve (the only actor in "EU") shipped, cumulated by month."""
        f = res.flows[res.flows["origin"] == "EU"]
        return f.groupby(["replication", "month"])["tonnes"].sum().groupby(level="replication").cumsum()

    a, b = released(on).align(released(off), fill_value=0.0)
    ratio = _outside(off, "spot")
    first_rise = int(ratio[ratio > 1.0 + 1e-9].reset_index()["day"].min())
    start = pd.Timestamp(on.scenario.scenario.start_date)
    seen = (start + pd.Timedelta(days=first_rise + 14)).to_period("M")
    before = pd.PeriodIndex(a.index.get_level_values("month").astype(str), freq="M") < seen
    np.testing.assert_allclose(a[before], b[before], rtol=1e-9)
    assert (a >= b - 1e-9).all()  # by every month at least as much released
    assert (a > b + 1.0).any()


def test_the_release_threshold_rises_with_the_price_up_to_its_bound() -> None:
    assert [1.0 + responses.bounded(r, 0.5, 2.0) for r in (0.5, 1.0, 4.0, 64.0)] == [1.0, 1.0, 2.0, 3.0]
