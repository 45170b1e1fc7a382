"""Reviews that stall for one destination (issue 28 item 2): applications to
a destination in ``licensing.stalled_destinations`` finish review and wait
without a decision until a policy lifts the stall; the other destinations'
applications are decided as before (common random numbers)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import resim

from chain_fixtures import small_chain

STALL, LIFT = 60.0, 150.0


def _chain(policies: list[dict[str, Any]]) -> dict[str, Any]:
    d = small_chain(**{"scenario.replications": 3, "scenario.horizon": 200,
                       "controls.licence_mode": "per_shipment"})
    d["policy"] = policies
    return d


def _licences(policies: list[dict[str, Any]]) -> pd.DataFrame:
    return resim.simulate(_chain(policies), workers=1, progress=False).licences


@pytest.fixture(scope="module")
def runs() -> dict[str, pd.DataFrame]:
    stalled = [{"day": STALL, "set": {"licensing.stalled_destinations": ["JP"]}},
               {"day": LIFT, "set": {"licensing.stalled_destinations": []}}]
    # the same policy days with nothing stalled: the same event calendar
    plain = [{"day": STALL, "set": {"licensing.stalled_destinations": []}}]
    return {"plain": _licences(plain), "stalled": _licences(stalled)}


def test_no_decision_for_a_stalled_destination_falls_inside_the_stall(runs: dict[str, pd.DataFrame]) -> None:
    jp = runs["stalled"][runs["stalled"].destination == "JP"]
    inside = (jp.decided_day > STALL) & (jp.decided_day < LIFT)
    assert not inside.any()
    # the reviews went on: what waited is decided the day the stall is lifted
    assert (jp.decided_day == LIFT).sum() > 0
    # before the stall nothing differs
    before = {k: v[v.decided_day <= STALL].drop(columns="application_id").reset_index(drop=True)
              for k, v in runs.items()}
    pd.testing.assert_frame_equal(before["plain"], before["stalled"])
    # without the stall, the same destination has decisions in that window
    jp_plain = runs["plain"][runs["plain"].destination == "JP"]
    assert ((jp_plain.decided_day > STALL) & (jp_plain.decided_day < LIFT)).any()


def test_other_destinations_are_decided_as_without_the_stall(runs: dict[str, pd.DataFrame]) -> None:
    others = {k: v[v.destination != "JP"].drop(columns="application_id").reset_index(drop=True)
              for k, v in runs.items()}
    assert len(others["plain"]) > 0
    # equal but for the last bits of tonnes summed in another order
    pd.testing.assert_frame_equal(others["plain"], others["stalled"], check_exact=False, rtol=1e-12)


def test_a_stall_never_lifted_leaves_its_applications_pending_at_the_horizon() -> None:
    lic = _licences([{"day": STALL, "set": {"licensing.stalled_destinations": ["JP"]}}])
    jp = lic[lic.destination == "JP"]
    assert not (jp.decided_day > STALL).any()
    assert (jp[jp.submitted_day > STALL].outcome == "pending").all()
    assert (jp.outcome == "pending").sum() > 0


def test_a_bad_stalled_destination_is_a_one_line_error() -> None:
    with pytest.raises(resim.ScenarioError) as e:
        resim.load_scenario(_chain([]), {"licensing.stalled_destinations": ["japan"]})
    assert "licensing.stalled_destinations" in str(e.value) and "japan" in str(e.value)
    assert "\n" not in str(e.value)
