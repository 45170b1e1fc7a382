"""Buyers that react (issue 14, items 1, 2 and 4), each against its expected
effect under common random numbers: the same replication with and without the
behaviour differs only by what the behaviour does."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import resim
from resim.model.replication import run_one
from resim.scenario import load
from resim.scenario.errors import ScenarioError

from chain_fixtures import small_chain

REPS = 6


def _eu(src: dict[str, Any]) -> dict[str, Any]:
    return next(a for a in src["automakers"] if a["name"] == "EU maker")


def _slow_licences(**changes: Any) -> dict[str, Any]:
    """Per-shipment licences reviewed in about 60 days, a low order target:
    a buyer that waits for arrivals to learn orders too little for months."""
    src = small_chain(**{"controls.licence_mode": "per_shipment", "licensing.approval_rate": 1.0,
                         "licensing.stages": [{"name": "review", "reviewers": "inf",
                                               "duration": {"dist": "uniform", "low": 50, "high": 70}}],
                         "scenario.horizon": 300, **changes})
    _eu(src).update({"target_days": 30, "initial_inventory_days": 60,
                     "adaptive_target": {"alpha": 0.5, "safety_days": 20, "max_days": 240}})
    return src


def _applied_tonnes(src: dict[str, Any], rep: int, before: float) -> float:
    lic = run_one(load(src), rep).licences.frame()
    eu = lic[(lic.customer == "EU maker") & (lic.submitted_day < before) & (lic.attempt == 1)]
    return float(eu.tonnes.sum())


def test_a_buyer_that_learns_from_pending_orders_and_reviews_orders_more_before_anything_arrives() -> None:
    plain = _slow_licences()
    learns = copy.deepcopy(plain)
    _eu(learns)["adaptive_target"].update({"censored": True, "reviews": True})
    # nothing ordered has arrived before day ~55 (review >= 50 days + transit): only evidence
    # from open orders (censored) or decisions (reviews) can raise the target by then
    for rep in range(3):
        assert _applied_tonnes(learns, rep, 80) > _applied_tonnes(plain, rep, 80) + 1.0


def test_a_buyer_that_learns_early_rebuilds_stock_sooner() -> None:
    plain = _slow_licences()
    learns = copy.deepcopy(plain)
    _eu(learns)["adaptive_target"].update({"censored": True, "reviews": True})
    stock = {}
    for name, src in (("plain", plain), ("learns", learns)):
        ts = resim.simulate(src, replications=REPS, workers=1).timeseries
        eu = ts[(ts.automaker == "EU maker") & ts.day.between(100, 200)]
        stock[name] = eu.groupby("replication").inventory_t.mean().to_numpy()
    assert np.all(stock["learns"] >= stock["plain"] - 1e-9) and stock["learns"].mean() > stock["plain"].mean()


def test_anticipating_firms_raise_stock_between_announcement_and_effect() -> None:
    base = small_chain(**{"scenario.horizon": 200, "controls.licence_mode": "none"})
    base["policy"] = [{"day": 90, "announced": "2025-05-04", "set": {"controls.licence_mode": "per_shipment"}}]
    eager = copy.deepcopy(base)
    _eu(eager).update({"firms": 20, "anticipation": {"extra_days": 60, "share_of_firms": 0.5}})
    calm = copy.deepcopy(eager)
    _eu(calm).pop("anticipation")
    result = {}
    for name, src in (("calm", calm), ("eager", eager)):
        res = resim.simulate(src, replications=3, workers=1)
        ts = res.timeseries[res.timeseries.automaker == "EU maker"].set_index(["replication", "day"])
        result[name] = ts.inventory_t
        if name == "eager":
            events = res.summary()["events"]
            kinds = {(e["kind"], e["day"]) for e in events}
            assert ("announcement", 30.0) in kinds and ("policy", 90.0) in kinds
    before, at = result["calm"].xs(29, level="day"), result["eager"].xs(29, level="day")
    assert np.allclose(before, at)  # nothing changes before the announcement
    assert np.all(result["eager"].xs(89, level="day") > result["calm"].xs(89, level="day"))


def test_only_the_share_of_anticipating_firms_acts() -> None:
    src = small_chain(**{"scenario.horizon": 120})
    src["policy"] = [{"day": 100, "announced": "2025-04-14", "set": {"licensing.approval_rate": 0.5}}]
    _eu(src).update({"firms": 400, "anticipation": {"extra_days": 30, "share_of_firms": 0.25}})
    from resim.model.replication import Model

    model = Model(load(src), 0)
    firms = [a for a in model.actors if a.entry == "EU maker"]
    acting = np.mean([f.population.anticipates(f.firm) for f in firms])
    assert abs(acting - 0.25) < 3 * np.sqrt(0.25 * 0.75 / 400)


def test_licensed_parcels_fly_in_an_emergency_and_the_air_freight_is_paid() -> None:
    src = small_chain(**{"scenario.horizon": 300, "licensing.approval_rate": 0.5})
    for mm in src["magnet_makers"]:
        mm["price_usd_per_kg"] = 50.0
    eu = _eu(src)
    eu["suppliers"][0]["air_freight"] = {"transit": {"dist": "uniform", "low": 2, "high": 3}, "cost_usd_per_kg": 25.0}
    sea = copy.deepcopy(src)
    _eu(sea)["emergency"] = {"cover_days": 20, "use_air": True}
    air = copy.deepcopy(src)
    _eu(air)["emergency"] = {"cover_days": 20, "use_air": True, "fly_licensed": True}
    out = {}
    for name, s in (("sea", sea), ("air", air)):
        r = resim.simulate(s, replications=REPS, workers=1).replications
        out[name] = r[r.automaker == "EU maker"].set_index("replication").sort_index()
    assert (out["sea"].extra_cost_usd == 0).all() and (out["air"].extra_cost_usd > 0).any()
    assert np.all(out["air"].shortfall_t <= out["sea"].shortfall_t + 1e-9)
    assert out["air"].shortfall_t.sum() < out["sea"].shortfall_t.sum()


@pytest.mark.parametrize(("change", "fragment"), [
    ({"policy": [{"date": "2025-05-01", "announced": "2025-06-01", "set": {"licensing.approval_rate": 0.5}}]},
     "announced (2025-06-01) must not be after date (2025-05-01)"),
    ({"automakers[EU maker].anticipation": {"extra_days": 30, "share_of_firms": 1.2}},
     "automakers[EU maker].anticipation.share_of_firms: must be >= 0 and <= 1, got 1.2"),
    ({"automakers[EU maker].adaptive_target": {"censored": "yes"}},
     "automakers[EU maker].adaptive_target.censored: must be true or false"),
])
def test_bad_behaviour_values_get_one_line_errors(change: dict[str, Any], fragment: str) -> None:
    src = small_chain()
    for k, v in change.items():
        if k == "policy":
            src["policy"] = v
        else:
            src = small_chain(**{k: v})
    with pytest.raises(ScenarioError) as info:
        load(src)
    assert fragment in str(info.value) and "\n" not in str(info.value)
