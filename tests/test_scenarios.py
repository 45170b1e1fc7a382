"""Every scenario in scenarios/ validates, runs and gives results that make sense.

Two replications each (fast enough for CI). The checks are structural -- what the
scenario is built to show (no shortfall without controls, exports collapse when
No. 18 arrives, the quota caps licensed tonnes, ...) -- and never pin seeded numbers.
"""

from __future__ import annotations

import math
from datetime import date
from functools import cache

import numpy as np
import pandas as pd
import pytest

import resim
from resim.experiment.sweeps import make_design
from resim.scenario import with_values

from chain_fixtures import ROOT, SCENARIOS

FROZEN = ROOT / "tests" / "data" / "scenarios_608c727"

FILES = sorted(p.name for p in SCENARIOS.glob("*.toml"))



@cache
def run(name: str, **overrides: object) -> resim.Results:
    """Two replications of a scenario (cached: several tests read one run)."""
    return resim.simulate(SCENARIOS / name, replications=2, overrides=dict(overrides), workers=1)


def day_of(res: resim.Results, d: str) -> float:
    return float((date.fromisoformat(d) - res.start_date).days)


def cn_magnet_exports(res: resim.Results) -> pd.Series:
    """Mean tonnes of magnets leaving China per month (by departure)."""
    f = res.flows
    f = f[(f.origin == "CN") & (f.destination != "CN") & (f["product"] == "magnet")]
    return f.groupby(["replication", "month"]).tonnes.sum().groupby("month").mean()


def test_the_new_scenarios_are_there() -> None:
    for name in ("april_2025_controls.toml", "one_year_general_licences.toml", "october_2025_expansion.toml",
                 "quota_cut_2010.toml", "stockpile_policy.toml", "baseline.toml", "eu_supplier_population.toml",
                 "december_2025_general_licences.toml"):
        assert name in FILES


#: Scenarios of firm populations: a replication costs seconds, not a tenth of one.
POPULATIONS = ("april_2025_controls.toml", "eu_supplier_population.toml", "outlook_2026.toml")


@pytest.mark.parametrize("name", [pytest.param(f, marks=pytest.mark.slow) if f in POPULATIONS else f
                                  for f in FILES])
def test_scenario_validates_and_runs(name: str) -> None:
    loaded = resim.load_scenario(SCENARIOS / name)
    scn = loaded.scenario
    assert scn.automakers, "every scenario here models a supply chain"
    res = run(name)
    assert not res.failures, res.failures
    reps = res.replications
    names = {a.name for a in scn.automakers}
    assert set(reps["automaker"]) == names  # every automaker together is res.totals
    assert len(reps) == 2 * len(names) and len(res.totals) == 2
    assert ((reps.fill_rate >= 0) & (reps.fill_rate <= 1)).all()
    assert (reps.shortfall_t >= 0).all()
    assert (reps.stockout_days <= math.ceil(scn.scenario.horizon)).all()
    assert (res.flows.tonnes >= 0).all()
    # an automaker with stockouts has a first stockout day, one without has none
    assert (reps.first_stockout_day.isna() == (reps.stockout_days == 0)).all()


SWEEPING = [f for f in FILES if "[sweep]" in (SCENARIOS / f).read_text()]


@pytest.mark.parametrize("name", SWEEPING)
def test_every_sweep_point_is_valid(name: str) -> None:
    """The [sweep] grid of each scenario that has one gives only valid
    scenarios, including combinations of keys, not just each value alone."""
    loaded = resim.load_scenario(SCENARIOS / name)
    assert loaded.scenario.sweep.grid
    keys, points = make_design(loaded)
    assert points
    for point in points:
        with_values(loaded.scenario, point, source=name)


def test_baseline_has_no_shortfall() -> None:
    reps = run("baseline.toml").replications
    assert (reps.shortfall_t == 0).all()
    assert reps.first_stockout_day.isna().all()


def test_licences_cost_vehicles_and_one_year_licences_are_one_year() -> None:
    for name in ("six_month_licences.toml", "per_shipment_licences.toml", "one_year_general_licences.toml"):
        eu = run(name).replications.set_index(["automaker", "replication"]).loc["EU automaker"]
        assert (eu.vehicles_lost > 0).all(), name
    lic = run("one_year_general_licences.toml").licences
    ok = lic[(lic.kind == "general") & (lic.outcome == "approved")]
    assert len(ok)
    assert np.allclose(ok.licence_expiry_day - ok.decided_day, 365.25)


@pytest.mark.slow
def test_april_2025_exports_collapse_when_no_18_arrives() -> None:
    res = run("april_2025_controls.toml")
    m = cn_magnet_exports(res)
    scn = res.scenario
    demand_per_day = sum(a.demand_t for a in scn.automakers)
    free = scn.find("magnet_makers", "Chinese magnet exporters").mix["NdFeB_free"]
    # no controls before 2025-04-04: exports follow the buyers' demand (and their stockbuilding)
    assert 0.9 * demand_per_day * 31 < m["2025-03"] < 1.5 * demand_per_day * 31
    # per-shipment licences with 30-45 working-day reviews: in May little more than the
    # Dy/Tb-free grades (not controlled) leaves
    assert m["2025-05"] < (free + 0.15) * m["2025-03"]
    assert m["2025-05"] > 0.5 * free * demand_per_day * 31  # the free grades do keep moving
    # approvals resume from June
    assert m["2025-05"] < m["2025-07"]
    # India: nothing approved before its first approvals of 2025-10-30 (sources §1), so
    # its firms on controlled grades run out
    lic = res.licences
    india = lic[lic.destination == "IN"]
    assert (india[india.decided_day < day_of(res, "2025-10-30")].outcome != "approved").all()
    reps = res.replications.set_index("automaker")
    assert (reps.loc["India", "stockout_days"] > 0).all()
    # before shipments stop (2025-04-11) every firm's target covers its lead time, even in
    # the low tail of stocks, and learning has not begun: no firm runs out
    assert (reps.first_firm_stockout_day.dropna() >= day_of(res, "2025-04-11")).all()
    # the controls switch on by policy: no licence is filed before 2025-04-04
    assert lic.submitted_day.min() >= day_of(res, "2025-04-04")
    # and from 2025-10-30 India's files are decided at the rates of the others
    assert (india[india.decided_day >= day_of(res, "2025-10-30")].outcome == "approved").any()


def test_october_expansion_binds_only_while_not_suspended() -> None:
    buyer = "EU industry (Dy-free magnets)"
    horizon = {"scenario.horizon": day_of(run("baseline.toml"), "2026-03-01")}
    factual = run("october_2025_expansion.toml", **horizon)
    # No. 70 suspends the added elements at once: the Ho magnets never need a licence
    lic = factual.licences
    assert not (lic.customer == buyer).any()
    # counterfactual: the suspension comes after the horizon -> licences from 2025-11-08
    counter = run("october_2025_expansion.toml", **horizon, **{"policy[1].date": "2027-12-31"})
    lic = counter.licences[counter.licences.customer == buyer]
    assert len(lic) and lic.submitted_day.min() >= day_of(counter, "2025-11-08")
    # the policy log shows the addition and the suspension on the same day
    assert [e["key"] for e in factual.summary()["events"]][:2] == ["controls.controlled_elements"] * 2


def test_quota_caps_licensed_exports_in_2010() -> None:
    res = run("quota_cut_2010.toml")
    quota = resim.load_scenario(SCENARIOS / "quota_cut_2010.toml").scenario.controls.annual_quota_t
    f = res.flows
    f = f[(f.origin == "CN") & (f.destination != "CN") & f.month.str.startswith("2010")]
    per_rep = f.groupby("replication").tonnes.sum()
    # parcels already approved when the quota is reached still leave: a small overshoot
    assert (per_rep <= quota * 1.1).all()
    assert (per_rep >= quota * 0.9).all()
    # the quota is 60% of the need, so it is spent months before the year ends:
    # nothing leaves China in December, and exports resume with the new quota year
    m = f.groupby("month").tonnes.sum()
    assert m.get("2010-12", 0.0) == 0.0
    f11 = res.flows
    jan = f11[(f11.origin == "CN") & (f11.destination != "CN") & (f11.month == "2011-01")]
    assert jan.tonnes.sum() > 0


def test_stockpile_second_source_ships_only_after_it_exists() -> None:
    res = run("stockpile_policy.toml", **{"scenario.horizon": 240})
    f = res.flows
    narva = f[(f.origin == "EE") & (f.destination == "DE")]
    # Narva makes magnets from 2025-09 and is qualified after 5.5 months (2025-09-18)
    assert (narva.month >= "2025-09").all()
    assert narva.tonnes.sum() > 0


def test_quota_2010_unmet_demand_falls_as_substitution_and_new_mining_ramp() -> None:
    """Supply from China is 60% of the 2009 volume throughout; non-Chinese
    mining adds 1% + 4%/yr and substitution removes 10%/yr of demand (sources
    §4), so supply meets demand only once 0.61 + 0.04 t >= 1 - 0.1 t, i.e.
    t >= 2.8 years: recovery (unmet demand below 5% in a calendar year) cannot
    come before 2013, and unmet demand falls every year after the first full
    year of shortage. This holds for the file without prices and price
    responses: the frozen copy of 608c727 (the shipped file was rebuilt with
    them for issue 27 and recovers earlier: the test below)."""
    res = resim.simulate(FROZEN / "quota_cut_2010.toml", replications=2, workers=1, progress=False)
    ts = res.timeseries.assign(year=pd.to_datetime(res.timeseries["date"]).dt.year)
    y = ts.groupby(["replication", "year"])[["demand_t", "consumed_t"]].sum()
    unmet = (1 - y.consumed_t / y.demand_t).groupby("year").mean()
    assert unmet[2011] > unmet[2012] > unmet[2013] > unmet[2014]
    recovered = [year for year in range(2011, 2016) if unmet[year] < 0.05]
    assert recovered and 2013 <= recovered[0] <= 2015, unmet.round(3).to_dict()


def _unmet_by_year(res: resim.Results) -> pd.Series:
    ts = res.timeseries.assign(year=pd.to_datetime(res.timeseries["date"]).dt.year)
    y = ts.groupby(["replication", "year"])[["demand_t", "shortfall_t"]].sum()
    return (y.shortfall_t / y.demand_t).groupby("year").mean()


def test_quota_2010_shortage_falls_through_the_price_responses() -> None:
    """The rebuilt file: the Dy oxide price rises at least 5x (issue 27), the
    shortage of 2011 falls in 2012 and is over by 2013 (thrifting after the
    price rise; China's supply is the same 60% every year), and the mechanism
    is the price response, not supply: under common random numbers the same
    file without thrifting (per doubling 0) leaves more of 2012's demand unmet."""
    res = run("quota_cut_2010.toml")
    unmet = _unmet_by_year(res)
    assert unmet[2011] > unmet[2012] and unmet[2013] < 0.05, unmet.round(3).to_dict()
    dy = res.prices[(res.prices["item"] == "Dy_oxide") & (res.prices["market"] == "outside")]
    base = dy.groupby("tier")["usd_per_kg"].first()  # day 0: the base
    assert (dy.groupby("tier")["usd_per_kg"].max() / base).min() >= 5.0
    without = _unmet_by_year(run("quota_cut_2010.toml", **{"markets.thrift.per_doubling": 0.0}))
    assert without[2012] > unmet[2012], (without.round(3).to_dict(), unmet.round(3).to_dict())


@pytest.mark.xfail(strict=True, reason="issue 27's goal is not met at the calibrated medians: thrifting starts "
                   "312 days after the price (posterior median; the two price rows barely inform the lag), "
                   "so 2012's unmet share is about 10% (10 replications), not below 5%")
def test_quota_2010_third_year_unmet_share_is_below_5_percent() -> None:
    assert _unmet_by_year(run("quota_cut_2010.toml"))[2012] < 0.05


def test_december_2025_general_licences_only_for_large_exporters() -> None:
    res = run("december_2025_general_licences.toml")
    lic = res.licences
    assert set(lic[lic.exporter == "JL MAG"].kind) == {"general"}
    assert set(lic[lic.exporter == "Other Chinese magnet makers"].kind) == {"shipment"}
    # a one-year general licence runs a year from its decision
    granted = lic[(lic.kind == "general") & (lic.outcome == "approved")]
    assert np.allclose(granted.licence_expiry_day - granted.decided_day, 365.25)
