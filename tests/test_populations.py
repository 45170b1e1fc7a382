"""Firm populations, grade mixes and per-element sourcing against theory and
under common random numbers (issue 13)."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

import resim
from resim.model.actors.population import Population
from resim.model.replication import Model, run_one
from resim.scenario import load
from resim.scenario.distributions import make
from resim.scenario.errors import ScenarioError

from chain_fixtures import small_chain


def _entry(src: dict[str, Any], name: str = "EU maker") -> dict[str, Any]:
    return next(a for a in src["automakers"] if a["name"] == name)


def _balance(ledger: dict[str, np.ndarray]) -> np.ndarray:
    L = ledger
    return (L["initial"] + L["produced"] - L["consumed"] - L["lost"] - L["stocks"] - L["in_transit"]
            - L["reserved"] - L["recycling"])


def test_quantiles_are_the_distributions_own() -> None:
    u = np.random.default_rng(5).random(40_000)
    for spec in ({"dist": "uniform", "low": 20, "high": 80}, {"dist": "lognormal", "mean": 60, "cv": 0.4},
                 {"dist": "triangular", "low": 30, "mode": 45, "high": 120}, {"dist": "gamma", "mean": 50, "cv": 0.5},
                 {"dist": "normal", "mean": 10, "sd": 8}, {"dist": "exponential", "mean": 30},
                 {"dist": "empirical", "values": [30, 60, 90], "weights": [1, 2, 1]}):
        d = make(spec)
        q = d.quantile(u)
        drawn = d.sample(np.random.default_rng(6), 40_000)
        assert stats.ks_2samp(q, drawn).pvalue > 1e-3, spec
        assert np.all(np.diff(d.quantile(np.sort(u))) >= 0), spec  # monotone: firms keep their rank


def test_with_supply_cut_the_share_stopped_is_the_cdf_of_inventory_days() -> None:
    """No magnet ever arrives: firm i runs short on day floor(x_i), so the
    share of firms short on day d is P(x < d + 1) = F(d + 1)."""
    n = 1500
    cover = {"dist": "lognormal", "mean": 45, "cv": 0.35}
    src = small_chain(**{"scenario.horizon": 120, "magnet_makers[cn maker].capacity_t_per_day": 0.0,
                         "magnet_makers[cn maker].finished_stock_days": 0.0})
    eu = _entry(src)
    eu.update({"firms": n, "initial_inventory_days": cover, "review_days": 200})
    res = resim.simulate(src, replications=1, workers=1)
    ts = res.timeseries[res.timeseries.automaker == "EU maker"].sort_values("day")
    d = ts.day.to_numpy()
    cdf = make(cover).quantile  # F^-1; F via scipy's lognormal with the same parameters
    s2 = math.log1p(0.35**2)
    F = stats.lognorm(s=math.sqrt(s2), scale=45 * math.exp(-s2 / 2)).cdf(d + 1.0)
    assert np.isclose(cdf(np.array([0.5]))[0], stats.lognorm(s=math.sqrt(s2), scale=45 * math.exp(-s2 / 2)).ppf(0.5))
    gap = np.abs(ts.share_stopped.to_numpy() - F).max()
    assert gap < 1.63 / math.sqrt(n), gap  # Kolmogorov-Smirnov, 99%
    # stopped firms' demand share: equal sizes, so the same
    assert np.allclose(ts.demand_share_stopped, ts.share_stopped)


@pytest.mark.slow
def test_n_identical_firms_lose_what_one_aggregate_buyer_of_their_demand_loses() -> None:
    """Infinite reviewers, general licences: every quantity scales with
    demand, so N identical firms lose, in expectation, the tonnes of one buyer
    of their total demand (different draws per firm, same expectation)."""
    base = small_chain(**{"scenario.horizon": 300, "licensing.approval_rate": 0.6})
    many = copy.deepcopy(base)
    _entry(many)["firms"] = 8
    reps = 24
    lost = {}
    for name, src in (("one", base), ("many", many)):
        r = resim.simulate(src, replications=reps, workers=1).replications
        lost[name] = r[r.automaker == "EU maker"].shortfall_t.to_numpy()
    diff = lost["many"].mean() - lost["one"].mean()
    se = math.sqrt(lost["many"].var(ddof=1) / reps + lost["one"].var(ddof=1) / reps)
    assert abs(diff) < 3.3 * se + 1e-9, (lost["many"].mean(), lost["one"].mean(), se)
    # spreading the same risk over firms makes the entry's loss less variable
    assert lost["many"].std() < lost["one"].std()


@pytest.mark.slow
def test_approval_spread_keeps_the_mean_and_gives_the_between_firm_variance_of_theory() -> None:
    cfg = load(small_chain()).scenario.find("automakers", "EU maker")
    loaded = load(small_chain(**{"automakers[EU maker].firms": 20_000,
                                 "automakers[EU maker].approval_spread": 0.4}))
    model = Model(loaded, 0)
    firms = [a for a in model.actors if a.entry == "EU maker"]
    pop: Population = firms[0].population
    for p in (0.2, 0.6):
        chances = np.array([pop.approval_chance(i, p) for i in range(pop.n)])
        assert abs(chances.mean() - p) < 4 * math.sqrt(0.4 * p * (1 - p) / pop.n)
        assert chances.var() == pytest.approx(0.4 * p * (1 - p), rel=0.05)
    # a firm keeps its rank when the rate changes
    lo = np.array([pop.approval_chance(i, 0.2) for i in range(200)])
    hi = np.array([pop.approval_chance(i, 0.6) for i in range(200)])
    assert stats.spearmanr(lo, hi).statistic > 0.999
    assert cfg.approval_spread == 0.0


def test_refusals_cluster_by_firm_with_spread_and_not_without() -> None:
    """Per-shipment licences: each firm's approved share. With no spread the
    between-firm variance is binomial noise; with spread s it adds s p (1-p)."""
    p = 0.5
    shares = {}
    for spread in (0.0, 0.6):
        src = small_chain(**{"controls.licence_mode": "per_shipment", "licensing.approval_rate": p,
                             "licensing.max_attempts": 1, "scenario.horizon": 360})
        _entry(src).update({"firms": 120, "approval_spread": spread, "review_days": 7})
        rec = run_one(load(src), 0)
        lic = rec.licences.frame()
        eu = lic[lic.customer.str.startswith("EU maker") & (lic.outcome != "pending")]
        per_firm = eu.groupby("customer").outcome.agg(lambda s: (s == "approved").mean())
        counts = eu.groupby("customer").size()
        shares[spread] = (per_firm.to_numpy(), counts.to_numpy())
    for spread, (share, counts) in shares.items():
        assert abs(share.mean() - p) < 0.08, (spread, share.mean())
        noise = np.mean(p * (1 - p) / counts)
        expected = spread * p * (1 - p) + (1 - spread) * noise
        assert share.var() == pytest.approx(expected, rel=0.45), (spread, share.var(), expected)
    assert shares[0.6][0].var() > 3 * shares[0.0][0].var()


def test_firm_draws_do_not_change_when_another_value_changes() -> None:
    def firm_table(**changes: Any) -> Any:
        src = small_chain(**{"automakers[EU maker].firms": 40, "output.firm_records": True, **changes})
        _entry(src)["initial_inventory_days"] = {"dist": "uniform", "low": 30, "high": 90}
        res = resim.simulate(src, replications=1, workers=1)
        return res.firms[res.firms.automaker == "EU maker"].set_index("firm")

    base = firm_table()
    other = firm_table(**{"licensing.approval_rate": 0.2, "automakers[JP maker].firms": 5})
    assert np.array_equal(base.initial_inventory_days, other.initial_inventory_days)
    assert np.array_equal(base.approval_standing, other.approval_standing)
    more = firm_table(**{"automakers[EU maker].firms": 60})
    assert np.array_equal(base.initial_inventory_days, more.initial_inventory_days.iloc[:40])


def test_a_dy_tb_free_grade_never_waits_for_a_licence() -> None:
    src = small_chain(**{"controls.licence_mode": "per_shipment", "licensing.approval_rate": 0.0,
                         "licensing.max_attempts": 1, "scenario.horizon": 200})
    src["grades"]["FREE"] = {"content": {"Nd": 0.29, "Pr": 0.05}}
    maker = next(m for m in src["magnet_makers"] if m["name"] == "cn maker")
    del maker["grade"]
    maker["grades"] = {"N42SH": 0.6, "FREE": 0.4}
    rec = run_one(load(src), 0)
    flows = rec.flows.frame()
    to_eu = flows[(flows["product"] == "magnet") & (flows.destination == "DE")]
    assert to_eu.tonnes.sum() > 0  # only the free grade crosses: nothing controlled is approved
    assert np.all(to_eu.day % 7 == 0)  # each parcel left on its dispatch day: it never waited
    lic = rec.licences.frame()
    assert (lic[lic.customer == "EU maker"].outcome != "approved").all()
    ts = rec.timeseries.frame()
    eu = ts[ts.automaker == "EU maker"]
    # a vehicle needs both grades: the free grade alone builds nothing once the kits are gone
    assert eu.shortfall_t.iloc[-1] == pytest.approx(eu.demand_t.iloc[-1])
    assert np.all(np.abs(_balance(rec.ledger)) <= 1e-9 * np.maximum(rec.ledger["initial"] + rec.ledger["produced"], 1))


def test_per_element_sourcing_buys_each_element_where_told_and_conserves_tonnes() -> None:
    src = small_chain(**{"controls.licence_mode": "per_shipment", "licensing.approval_rate": 0.5})
    src["mines"].append({"name": "my mine", "jurisdiction": "MY", "output_t_per_day": 50,
                         "composition": {"Nd": 0.17, "Pr": 0.05, "La": 0.3}})
    src["separators"].append({"name": "my sep", "jurisdiction": "MY", "capacity_t_per_day": 40,
                              "suppliers": [{"name": "my mine", "transit": "2d"}]})
    jp = next(m for m in src["magnet_makers"] if m["name"] == "jp maker")
    jp["suppliers"] = [{"name": "sep", "transit": "10d", "elements": ["Dy", "Tb"]},
                       {"name": "my sep", "transit": "6d", "elements": ["Nd", "Pr"]}]
    rec = run_one(load(src), 0)
    flows = rec.flows.frame()
    oxide = flows[flows["product"] == "oxide"]
    cn_jp = oxide[(oxide.origin == "CN") & (oxide.destination == "JP")].tonnes.sum()
    my_jp = oxide[(oxide.origin == "MY") & (oxide.destination == "JP")].tonnes.sum()
    assert my_jp > 0 and cn_jp > 0
    # Dy+Tb are 3% of the grade and Nd+Pr 29.5%: the Chinese share is the small one
    assert cn_jp / (cn_jp + my_jp) == pytest.approx(0.03 / 0.325, rel=0.25)
    scale = np.maximum(rec.ledger["initial"] + rec.ledger["produced"], 1.0)
    assert np.all(np.abs(_balance(rec.ledger)) <= 1e-9 * scale)


def test_stocks_by_element_are_recorded_when_asked_and_match_the_ledger() -> None:
    rec = run_one(load(small_chain(**{"output.stocks": True})), 0)
    stocks = rec.stocks.frame()
    last = stocks[stocks.day == stocks.day.max()].groupby("element").tonnes.sum()
    ledger = dict(zip(rec.elements, rec.ledger["stocks"], strict=True))
    for element, tonnes in last.items():
        assert tonnes == pytest.approx(ledger[element], rel=1e-9, abs=1e-9)
    assert set(stocks.actor) >= {"mine", "sep", "cn maker", "EU maker"}
    assert run_one(load(small_chain()), 0).stocks.frame().empty


@pytest.mark.parametrize(("change", "fragment"), [
    ({"automakers[EU maker].firms": 0}, "automakers[EU maker].firms: must be >= 1 and <= 100000, got 0"),
    ({"automakers[EU maker].approval_spread": 1.5}, "automakers[EU maker].approval_spread: must be >= 0 and <= 1, got 1.5"),
    ({"automakers[EU maker].size": 0}, "size must have a positive mean"),
    ({"magnet_makers[cn maker].grades": {"N42SH": 0.5}}, "give either grade or grades"),
    ({"separators[sep].suppliers[0].elements": ["Nd"]},
     "separators[sep].suppliers[mine].elements: only buyers of oxides buy by element"),
    ({"magnet_makers[jp maker].suppliers": [{"name": "sep", "share": 0.5, "elements": ["Nd"]}]},
     "supplier shares of Nd must sum to 1, they sum to 0.5"),
])
def test_bad_population_and_mix_values_get_one_line_errors(change: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load(small_chain(**change))
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_a_stockpile_of_a_grade_its_automaker_does_not_use_is_refused() -> None:
    src = small_chain()
    src["grades"]["FREE"] = {"content": {"Nd": 0.3}}
    src["stockpiles"] = [{"name": "reserve", "jurisdiction": "DE", "grade": "FREE", "initial_t": 5,
                          "release_to": ["EU maker"]}]
    with pytest.raises(ScenarioError, match='stockpiles\\[reserve\\].grade: "EU maker" uses no FREE'):
        load(src)


def test_per_firm_grades_split_the_population_and_free_grade_firms_never_stop() -> None:
    """``grade_choice = "per_firm"``: a share of firms (the Dy/Tb-free share of
    what the entry buys) uses only the free grade; with every controlled parcel
    refused, exactly those firms keep running."""
    src = small_chain(**{"controls.licence_mode": "per_shipment", "licensing.approval_rate": 0.0,
                         "licensing.max_attempts": 1, "scenario.horizon": 200, "output.firm_records": True})
    src["grades"]["FREE"] = {"content": {"Nd": 0.29, "Pr": 0.05}}
    maker = next(m for m in src["magnet_makers"] if m["name"] == "cn maker")
    del maker["grade"]
    maker["grades"] = {"FREE": 0.3, "N42SH": "rest"}
    _entry(src).update({"firms": 400, "grade_choice": "per_firm", "initial_inventory_days": 90})
    res = resim.simulate(src, replications=1, workers=1)
    firms = res.firms[res.firms.automaker == "EU maker"]
    running = (firms.stockout_days == 0).mean()
    assert abs(running - 0.3) < 3 * math.sqrt(0.3 * 0.7 / 400), running
    ts = res.timeseries[res.timeseries.automaker == "EU maker"]
    assert ts.share_stopped.iloc[-1] == pytest.approx(1.0 - running)


def test_a_grade_share_may_be_the_rest() -> None:
    src = small_chain()
    src["grades"]["FREE"] = {"content": {"Nd": 0.29, "Pr": 0.05}}
    maker = next(m for m in src["magnet_makers"] if m["name"] == "cn maker")
    del maker["grade"]
    maker["grades"] = {"FREE": 0.25, "N42SH": "rest"}
    assert load(src).scenario.find("magnet_makers", "cn maker").mix == {"FREE": 0.25, "N42SH": 0.75}
    maker["grades"] = {"FREE": "rest", "N42SH": "rest"}
    with pytest.raises(ScenarioError, match='only one grade share may be "rest"'):
        load(src)
