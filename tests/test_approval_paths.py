"""Approval paths by destination *and* end use (issue 28 item 2): a listed
(destination, end use) pair has its own multiplier, e.g. the January 2026
ban on dual-use exports to Japanese military end users, while civil buyers
in the same destination keep theirs."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import resim

from chain_fixtures import small_chain

BAN = 60.0


def _chain(paths: dict[str, Any]) -> dict[str, Any]:
    d = small_chain(**{"scenario.replications": 3, "scenario.horizon": 200,
                       "controls.licence_mode": "per_shipment", "licensing.approval_rate": 0.8})
    d["automakers"].append({"name": "JP defence", "jurisdiction": "JP", "end_use": "military",
                            "demand_t_per_day": 0.3, "initial_inventory_days": 30,
                            "suppliers": [{"name": "cn maker", "transit": "10d"}]})
    d["policy"] = [{"day": BAN, "set": {"licensing.approval_by_destination_and_end_use": paths}}]
    return d


@pytest.fixture(scope="module")
def runs() -> dict[str, pd.DataFrame]:
    # the same policy day either way: only the pair's path differs
    return {name: resim.simulate(_chain(paths), workers=1, progress=False).licences
            for name, paths in (("open", {"JP": {"civil": 1.0}}), ("ban", {"JP": {"military": 0.0}}))}


def test_a_banned_pair_is_never_approved_after_the_ban_and_was_before(runs: dict[str, pd.DataFrame]) -> None:
    lic = runs["ban"]
    defence = lic[lic.customer == "JP defence"]
    after = defence[defence.decided_day > BAN]
    assert len(after) and (after.outcome == "rejected").all()
    before = defence[defence.decided_day <= BAN]
    assert (before.outcome == "approved").any()


def test_civil_buyers_in_the_same_destination_are_decided_as_before(runs: dict[str, pd.DataFrame]) -> None:
    civil = {k: v[(v.customer != "JP defence") & (v.decided_day.notna())]
             .drop(columns="application_id").reset_index(drop=True) for k, v in runs.items()}
    # the same decisions for every other buyer, JP civil included (their own random streams)
    jp = civil["ban"][civil["ban"].destination == "JP"]
    assert len(jp) and (jp.outcome == "approved").any()
    pd.testing.assert_frame_equal(civil["open"], civil["ban"], check_exact=False, rtol=1e-12)


def test_a_pair_replaces_the_destination_and_end_use_multipliers() -> None:
    from resim.model.licensing.authority import _multiplier

    lic = resim.load_scenario(_chain({"JP": {"military": 0.5}}), {
        "licensing.approval_by_destination": {"JP": 0.4}, "licensing.approval_by_end_use": {"military": 0.1},
        "licensing.approval_by_destination_and_end_use": {"JP": {"military": 0.5}}}).scenario.licensing
    assert _multiplier(lic, "JP", "military") == 0.5
    assert _multiplier(lic, "JP", "civil") == pytest.approx(0.4)
    assert _multiplier(lic, "DE", "military") == pytest.approx(0.1)


def test_a_bad_end_use_in_a_pair_is_a_one_line_error() -> None:
    with pytest.raises(resim.ScenarioError) as e:
        resim.load_scenario(_chain({"JP": {"defence": 0.0}}))
    text = str(e.value)
    assert "approval_by_destination_and_end_use" in text and "defence" in text and "\n" not in text
