"""The supply-chain model against conservation laws and expected behaviour.

No seeded number is pinned: tonnes must balance to rounding, and policy levers
must move shortfall in the direction theory says, under common random numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import faults
import numpy as np
import pandas as pd
import pytest

import resim
from resim.model.context import Ledger
from resim.model.replication import Model, run_one
from resim.scenario import load

from chain_fixtures import SCENARIOS, small_chain


def _balance(rec) -> np.ndarray:  # noqa: ANN001
    L = rec.ledger
    return (L["initial"] + L["produced"] - L["consumed"] - L["lost"] - L["stocks"] - L["in_transit"]
            - L["reserved"] - L["recycling"])


@pytest.mark.parametrize("mode", ["none", "per_shipment", "general"])
def test_tonnes_are_conserved_per_element(mode: str) -> None:
    loaded = load(small_chain(**{"controls.licence_mode": mode}))
    for r in range(3):
        rec = run_one(loaded, r)
        scale = rec.ledger["initial"] + rec.ledger["produced"]
        assert np.all(np.abs(_balance(rec)) <= 1e-9 * np.maximum(scale, 1.0)), dict(zip(rec.elements, _balance(rec), strict=True))
        assert rec.ledger["consumed"].sum() > 0


def test_tonnes_are_conserved_in_the_shipped_scenarios() -> None:
    for name in ("six_month_licences.toml", "per_shipment_licences.toml"):
        loaded = load(SCENARIOS / name)
        rec = run_one(loaded, 0)
        scale = rec.ledger["initial"] + rec.ledger["produced"]
        assert np.all(np.abs(_balance(rec)) <= 1e-9 * np.maximum(scale, 1.0)), name


def test_rejected_goods_return_and_orders_are_cancelled() -> None:
    """With approval 0 and one attempt, no controlled goods cross the border,
    every parcel returns to its exporter, and nothing stays reserved."""
    loaded = load(small_chain(**{"controls.licence_mode": "per_shipment", "licensing.approval_rate": 0.0,
                                 "licensing.max_attempts": 1}))
    m = Model(loaded, 0)
    m.run()
    rec = m.records(0, 0.0)
    flows = rec.flows.frame()
    crossing = flows[(flows.origin == "CN") & (flows.destination != "CN")]
    assert crossing.empty or set(crossing["product"]) == {"oxide"}  # only uncontrolled Nd/Pr/La oxide
    lic = rec.licences.frame()
    decided = lic[lic.outcome != "pending"]
    assert len(decided) > 0 and (decided.outcome == "rejected").all()
    pending_t = lic.loc[lic.outcome == "pending", "tonnes"].sum()
    assert rec.ledger["reserved"].sum() == pytest.approx(
        sum(s.vec.sum() for s in m.authority.held.values()), abs=1e-9)
    assert pending_t >= 0
    # the EU automaker's magnet orders were cancelled, so nothing is on order forever
    eu = next(a for a in m.actors if a.name == "EU maker")
    held_for_eu = sum(s.qty for s in m.authority.held.values() if s.link.customer is eu)
    assert eu.on_order >= held_for_eu - 1e-9


def test_controlled_products_are_detected_per_link() -> None:
    loaded = load(small_chain(**{"controls.licence_mode": "per_shipment"}))
    m = Model(loaded, 0)
    m.run()
    lic = m.records(0, 0.0).licences.frame()
    pairs = set(zip(lic.exporter, lic.customer, strict=True))
    assert ("cn maker", "EU maker") in pairs  # magnets CN -> DE
    assert ("sep", "jp maker") in pairs  # Dy/Tb oxide CN -> JP: a Japanese maker is exposed too
    assert ("cn maker", "CN buyer") not in pairs  # same jurisdiction
    assert ("jp maker", "JP maker") not in pairs  # not from the controlling jurisdiction
    # only the controlled oxides (Dy, Tb) need a licence: Nd/Pr parcels travel freely,
    # so licensed tonnes are at most the Dy+Tb share of the oxide shipped to Japan
    rec = m.records(0, 0.0)
    flows = rec.flows.frame()
    oxide_to_jp = flows[(flows["product"] == "oxide") & (flows.destination == "JP")].tonnes.sum()
    licensed = lic[(lic.exporter == "sep") & (lic.outcome == "approved")].tonnes.sum()
    dy_tb_share = (0.025 + 0.005) / (0.235 + 0.06 + 0.025 + 0.005)
    assert 0 < licensed <= dy_tb_share * oxide_to_jp + 1e-9


def test_de_minimis_exempts_low_content_products() -> None:
    loaded = load(small_chain(**{"controls.licence_mode": "per_shipment", "controls.de_minimis": 0.05}))
    rec = run_one(loaded, 0)
    lic = rec.licences.frame()
    # magnets hold 3% Dy+Tb < 5%: exempt; separated Dy/Tb oxide parcels are 100% controlled
    assert not (lic.exporter == "cn maker").any()
    assert (lic.exporter == "sep").any()


def test_no_controls_loses_no_vehicles() -> None:
    res = resim.simulate(small_chain(**{"controls.licence_mode": "none"}), replications=6, workers=1)
    assert (res.replications["vehicles_lost"].fillna(0) == 0).all()
    assert (res.replications["stockout_days"] == 0).all()


def test_baseline_scenario_runs_short_of_nothing() -> None:
    res = resim.simulate(SCENARIOS / "baseline.toml", replications=4, workers=1)
    assert res.replications["shortfall_t"].max() == 0.0


def _paired_lost(overrides_a: dict, overrides_b: dict, n: int, source=None) -> np.ndarray:  # noqa: ANN001
    src = source or small_chain()
    # every automaker together
    a = resim.simulate(src, replications=n, overrides=overrides_a, workers=1).totals
    b = resim.simulate(src, replications=n, overrides=overrides_b, workers=1).totals
    a = a.set_index("replication")["shortfall_t"]
    b = b.set_index("replication")["shortfall_t"]
    return (a - b).to_numpy()


def test_lower_approval_rate_loses_no_fewer_vehicles_with_crn() -> None:
    d = _paired_lost({"licensing.approval_rate": 0.2}, {"licensing.approval_rate": 0.6}, n=16)
    mean, se = d.mean(), d.std(ddof=1) / np.sqrt(d.size)
    assert mean > 0 and mean - 2 * se > 0, (mean, se)


def test_shorter_licences_lose_no_fewer_vehicles_with_crn() -> None:
    src = small_chain(**{"scenario.horizon": 400})
    d = _paired_lost({"controls.lifetime_days": 60, "controls.renewal_lead_days": 20},
                     {"controls.lifetime_days": 365, "controls.renewal_lead_days": 20}, n=12, source=src)
    assert d.mean() >= -1e-9
    assert d.mean() - 2 * d.std(ddof=1) / np.sqrt(d.size) > -1e-9 or d.mean() > 0


def test_policy_changes_apply_at_their_date_and_are_logged() -> None:
    src = small_chain(**{"controls.licence_mode": "per_shipment", "licensing.approval_rate": 0.0,
                         "licensing.max_attempts": 1})
    src["policy"] = [{"day": 100, "set": {"licensing.approval_rate": 1.0}},
                     {"date": "2025-10-01", "set": {"controls.licence_mode": "none"}}]
    res = resim.simulate(src, replications=2, workers=1)
    lic = res.licences
    decided = lic[lic.outcome != "pending"]
    assert (decided.loc[decided.decided_day < 100, "outcome"] == "rejected").all()
    assert (decided.loc[decided.decided_day >= 100, "outcome"] == "approved").all()
    assert (lic.submitted_day < (pd.Timestamp("2025-10-01") - pd.Timestamp("2025-04-04")).days).all()
    ev = res.summary()["events"]
    assert [e["key"] for e in ev] == ["licensing.approval_rate", "controls.licence_mode"]
    assert ev[1]["date"] == "2025-10-01"


def test_general_licence_renewal_covers_link_without_gap_when_lead_exceeds_review() -> None:
    """Review takes exactly 30 days (constant, infinite reviewers, approval 1):
    a renewal lead of 40 days leaves no gap; a lead of 20 leaves 10-day gaps."""
    base = {"controls.licence_mode": "general", "controls.lifetime_days": 90, "licensing.approval_rate": 1.0,
            "scenario.horizon": 500}
    for lead, expect_gap in ((40, 0.0), (20, 10.0)):
        src = small_chain(**base, **{"controls.renewal_lead_days": lead})
        src["licensing"]["stages"] = [{"name": "technical", "reviewers": "inf", "duration": 30}]
        lic = resim.simulate(src, replications=1, workers=1).licences
        g = lic[(lic.kind == "general") & (lic.outcome == "approved") & (lic.exporter == "cn maker")
                & (lic.customer == "EU maker")].sort_values("decided_day")
        assert len(g) >= 4
        gaps = g.decided_day.to_numpy()[1:] - g.licence_expiry_day.to_numpy()[:-1]
        assert np.allclose(np.maximum(gaps, 0.0), expect_gap, atol=1e-9), (lead, gaps)


def test_annual_quota_makes_applications_wait_for_january() -> None:
    src = small_chain(**{"controls.licence_mode": "per_shipment", "controls.annual_quota_t": 5.0,
                         "licensing.approval_rate": 1.0, "scenario.horizon": 400})
    lic = resim.simulate(src, replications=1, workers=1).licences
    jan1 = (pd.Timestamp("2026-01-01") - pd.Timestamp("2025-04-04")).days
    approved_2025 = lic[(lic.outcome == "approved") & (lic.decided_day < jan1)]
    # spending stops new filings, so 2025 approvals exceed the quota by at most the files already in review
    assert approved_2025.tonnes.sum() > 5.0
    # files held by the spent quota keep their filing day: their decision waits for January
    held = lic[(lic.submitted_day < jan1) & (lic.decided_day >= jan1)]
    assert len(held) > 0 and (held.decided_day - held.submitted_day).max() > 45  # reviews take <= 35 days


def test_working_days_lengthen_reviews_in_calendar_time() -> None:
    src = small_chain(**{"licensing.approval_rate": 1.0})
    src["licensing"]["stages"] = [{"name": "technical", "reviewers": "inf", "duration": 45}]
    cal = resim.simulate(src, replications=1, workers=1).licences
    src["licensing"]["working_days"] = True
    work = resim.simulate(src, replications=1, workers=1).licences
    assert np.allclose(cal.service_technical, 45.0)
    # 45 working days span 9 weeks (63 calendar days), give or take the weekend it starts in
    assert work.service_technical.between(61, 65).all()


def test_a_quantity_cap_smaller_than_a_parcel_still_lets_goods_through() -> None:
    loaded = load(small_chain(**{"controls.quantity_cap_t": 1.0, "licensing.approval_rate": 1.0}))
    rec = run_one(loaded, 0)
    flows = rec.flows.frame()
    to_eu = flows[(flows.destination == "DE") & (flows["product"] == "magnet")].tonnes
    assert to_eu.sum() > 0 and to_eu.max() <= 1.0 + 1e-9
    lic = rec.licences.frame()
    assert (lic[lic.kind == "general"].tonnes == 1.0).all()
    scale = rec.ledger["initial"] + rec.ledger["produced"]
    assert np.all(np.abs(_balance(rec)) <= 1e-9 * np.maximum(scale, 1.0))


def test_no_link_is_left_holding_goods_with_nothing_in_progress() -> None:
    """A capped general licence whose re-application is finally refused while
    it is still valid must not strand the waiting parcels (they go back)."""
    src = small_chain(**{"controls.quantity_cap_t": 20.0, "licensing.max_attempts": 1,
                         "licensing.approval_rate": 0.5, "scenario.horizon": 720})
    loaded = load(src)
    for r in range(3):
        m = Model(loaded, r)
        m.run()
        for licence in m.authority.book:
            if licence.waiting:
                assert licence.pending is not None, (r, licence.link.key, len(licence.waiting))


def test_a_policy_lowering_the_cap_does_not_block_a_link() -> None:
    src = small_chain(**{"licensing.approval_rate": 1.0, "controls.quantity_cap_t": 200.0})
    src["policy"] = [{"day": 20, "set": {"controls.quantity_cap_t": 1.0}}]
    rec = run_one(load(src), 0)
    f = rec.flows.frame()
    late = f[(f.destination == "DE") & (f["product"] == "magnet") & (f.day > 60)]
    assert late.tonnes.sum() > 0 and late.tonnes.max() <= 1.0 + 1e-9


def test_a_policy_raising_the_background_rate_acts_at_once() -> None:
    src = {"scenario": {"horizon": 200, "seed": 3},
           "licensing": {"background": {"applications_per_day": 0.001},
                         "stages": [{"name": "technical", "reviewers": "inf", "duration": 5}]},
           "policy": [{"day": 10, "set": {"licensing.background.applications_per_day": 40}}]}
    rec = run_one(load(src), 0)
    n = len(rec.licences.frame())
    assert abs(n - 40 * 190) < 5 * (40 * 190) ** 0.5  # Poisson count from day 10 on


def test_a_policy_shortening_mine_repairs_raises_output() -> None:
    src = small_chain(**{"scenario.horizon": 200})
    src["mines"][0]["outages"] = {"between": 10, "repair": 10}
    slow = run_one(load(src), 0).ledger["produced"].sum()
    src["policy"] = [{"day": 5, "set": {"mines[0].outages.repair": 0.01}}]
    fast = run_one(load(src), 0).ledger["produced"].sum()
    assert fast > 1.5 * slow


def test_licensing_counts_use_the_replications_that_succeeded(monkeypatch) -> None:  # noqa: ANN001
    faults.inject(monkeypatch, fail={1})
    res = resim.simulate(small_chain(), replications=4, workers=1)
    apps = res.summary()["licensing"]["applications"]
    counts = res.licences.groupby("replication").size()
    assert apps["n"] == 3 and sorted(counts.index) == [0, 2, 3]
    assert apps["mean"] == pytest.approx(counts.mean())


def test_emptiness_of_a_quantity_is_numpys_for_every_order_of_values() -> None:
    import math

    import numpy as np

    from resim.model.shipping import is_empty

    for qty in ([0.0], [1e-12, 0.0], [0.0, 0.5], [math.nan, 0.0], [0.0, math.nan], [], [-1.0]):
        a = np.array(qty, dtype=float)
        assert is_empty(a) == bool((a <= 1e-9).all()), qty
    assert is_empty(0.0) and not is_empty(0.5)


# ------------------------------------------------------------ who writes the ledger

#: ``ledger.produced += x``, ``ctx.ledger.reserved[:] -= x``, ``setattr(ledger, "lost", ...)``,
#: ``ledger._consumed = ...``: a write to a column rather than a call saying what happened.
LEDGER_WRITE = re.compile(
    r"ledger\.(_?(" + "|".join(Ledger.COLUMNS) + r"))\b(\[[^\]]*\])?\s*([-+*/]?=)(?!=)"
    r"|setattr\(\s*[\w.]*ledger\b")


def ledger_writers(sources: dict[str, str]) -> list[str]:
    return [path for path, text in sources.items() if not path.endswith("model/context.py")
            and LEDGER_WRITE.search(text)]


def test_only_the_ledger_writes_its_columns() -> None:
    root = Path(resim.__file__).parent
    sources = {str(p.relative_to(root.parent)): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.py"))}
    assert len(sources) > 50 and ledger_writers(sources) == []


def test_a_direct_column_write_is_caught() -> None:
    sources = {"resim/model/actors/a.py": "        self.ctx.ledger.produced += made * self.bom",
               "resim/model/b.py": "    ledger.reserved[:] -= vec",
               "resim/model/c.py": "    ctx.ledger.produce(made)\n    x = ledger.lost == 0",
               "resim/model/context.py": "        self._produced += vec"}
    assert ledger_writers(sources) == ["resim/model/actors/a.py", "resim/model/b.py"]


def test_the_ledger_columns_are_read_only() -> None:
    ledger = Ledger(2)
    ledger.depart(np.array([1.0, 2.0]))
    assert list(ledger.reserved) == [-1.0, -2.0] and list(ledger.in_transit) == [1.0, 2.0]
    with pytest.raises(AttributeError):
        ledger.produced = np.ones(2)  # type: ignore[misc]
