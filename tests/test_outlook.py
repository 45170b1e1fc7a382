"""scenarios/outlook_2026.toml (issue 28 item 3, before its posterior): the whole
2025-26 timeline on April's populations, with the end of No. 70's suspension on
2026-11-10 as two branches run under common random numbers.

Checks: the file validates and its copied buyers are April's (so a recalibrated
April file shows up here); the branches share every record before the fork and,
since no grade holds the elements the lapse controls, after it too (up to float
rounding); the January 2026 ban leaves Japan's defence-linked buyers no approval
while Japanese civil buyers keep getting them. Structural, never seeded numbers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest

import resim

from chain_fixtures import SCENARIOS

#: Runs of whole scenarios, several replications each: out of the edit-test loop.
pytestmark = pytest.mark.slow

OUTLOOK = SCENARIOS / "outlook_2026.toml"
APRIL = SCENARIOS / "april_2025_controls.toml"
JAPAN, DEFENCE = "Japan", "Japan (defence-linked)"
FORK, BAN = date(2026, 11, 10), date(2026, 1, 6)
LAPSE = {"Ho", "Er", "Tm", "Eu", "Yb"}


def _day(start: date, d: date) -> float:
    return float((d - start).days)


def test_the_outlook_validates_with_its_fork_and_copies_april_buyers() -> None:
    out = resim.load_scenario(OUTLOOK).scenario
    april = resim.load_scenario(APRIL).scenario
    assert [b.name for b in out.branch] == ["extended", "lapsed"]
    assert out.scenario.default_branch == "lapsed"
    assert out.scenario.start_date == april.scenario.start_date
    mine = {a.name: a for a in out.automakers}
    theirs = {a.name: a for a in april.automakers}
    assert set(mine) == set(theirs) | {DEFENCE}
    for name in set(theirs) - {JAPAN}:
        assert mine[name] == theirs[name], f"{name} differs from april_2025_controls.toml"
    # Japan is split, its demand kept: civil buyers and a defence-linked population
    assert mine[JAPAN].demand_t_per_day + mine[DEFENCE].demand_t_per_day == pytest.approx(theirs[JAPAN].demand_t_per_day)
    assert mine[DEFENCE].end_use == "dual_use" and mine[JAPAN].end_use == "civil"
    same = {"jurisdiction", "initial_inventory_days", "target_days", "review_days", "approval_spread",
            "adaptive_target", "anticipation", "suppliers", "grade_choice", "size"}
    for key in same:
        assert getattr(mine[DEFENCE], key) == getattr(theirs[JAPAN], key) == getattr(mine[JAPAN], key), key


@pytest.fixture(scope="module")
def outlook_run() -> Any:
    # two replications (about 12 s); the horizon stops a few weeks after the fork (2026-11-10 is day 678)
    return resim.simulate(OUTLOOK, replications=2, overrides={"scenario.horizon": "700d"}, workers=1, progress=False)


def test_branches_share_every_record_before_the_fork_and_the_lapse_moves_no_parcel(outlook_run: Any) -> None:
    res = outlook_run
    fork = _day(res.start_date, FORK)
    ext, lap = res.branches["extended"], res.branches["lapsed"]
    assert res.branches["lapsed"] is res
    for table, column in (("timeseries", "day"), ("licences", "submitted_day")):
        a, b = getattr(ext, table), getattr(lap, table)
        pd.testing.assert_frame_equal(a[a[column] < fork].reset_index(drop=True), b[b[column] < fork].reset_index(drop=True))
    a, b = ext.flows, lap.flows  # monthly rows: those of the months before the fork's
    pd.testing.assert_frame_equal(a[a.month < "2026-11"].reset_index(drop=True), b[b.month < "2026-11"].reset_index(drop=True))
    # the lapse controls Ho, Er, Tm, Eu, Yb again; no grade of this chain holds them,
    # so after the fork the records differ by float rounding at most
    grades = resim.load_scenario(OUTLOOK).scenario.grades
    assert not LAPSE & {e for g in grades.values() for e in g.content}
    for table in ("timeseries", "licences", "flows"):
        pd.testing.assert_frame_equal(getattr(ext, table), getattr(lap, table), check_exact=False, rtol=1e-9, atol=1e-9)
    policy_days = [e["day"] for e in lap.summary()["events"] if e["kind"] == "policy"]
    assert fork in policy_days and fork not in [e["day"] for e in ext.summary()["events"] if e["kind"] == "policy"]


def test_after_the_ban_japanese_defence_linked_buyers_get_no_approval_and_civil_ones_do(outlook_run: Any) -> None:
    lic = outlook_run.licences
    ban = _day(outlook_run.start_date, BAN)
    jp = lic[lic.destination == "JP"]
    defence, civil = jp[jp.end_use == "dual_use"], jp[jp.end_use == "civil"]
    assert set(defence.customer.str.rsplit(" #", n=1).str[0]) == {DEFENCE}
    late_def, late_civ = defence[defence.decided_day >= ban], civil[civil.decided_day >= ban]
    assert len(late_def) and set(late_def.outcome) == {"rejected"}
    assert (late_civ.outcome == "approved").any()
    # the direction of the ban: before it the defence-linked buyers were approved at times
    assert (defence[defence.decided_day < ban].outcome == "approved").any()
