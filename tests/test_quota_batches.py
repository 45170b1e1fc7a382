"""Quotas issued in batches (``controls.quota_batches``): the annual quota in
equal parts at the start of each part of the year, as MOFCOM issued its 2010
and 2011 export quotas in half-year batches (observed_2010.csv)."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import resim
from resim.model.context import Calendar
from resim.scenario import set_key

FROZEN = Path(__file__).resolve().parent / "data" / "scenarios_608c727" / "quota_cut_2010.toml"
QUOTA = 2315.0  # the frozen file's annual_quota_t
REVIEW_MAX = 10.0  # the frozen file's issuance stage: uniform 3-10 days
HALF_YEARS = [(0, 181, 1), (0, 365, 2), (365, 546, 1), (365, 730, 2)]  # (1 January, end, batches issued): 2010-2011


def _quota_2010(**changes: Any) -> dict[str, Any]:
    d = tomllib.loads(FROZEN.read_text(encoding="utf-8"))
    d.pop("sweep", None)
    set_key(d, "scenario.horizon", 730)
    for key, value in changes.items():
        set_key(d, key, value)
    return d


def _licences(**changes: Any) -> pd.DataFrame:
    return resim.simulate(_quota_2010(**changes), replications=2, workers=1, progress=False).licences


def _most_in_review(lic: pd.DataFrame) -> float:
    """The most tonnes under review at any one time: an upper bound on what
    can leave after a batch is spent, since a file enters review only while
    the count is below the batches issued. A review takes at most
    ``REVIEW_MAX`` days, so it began no earlier than that before its decision
    (a file held for a batch keeps its filing day as ``submitted_day``)."""
    start = np.maximum(lic.submitted_day.to_numpy(), lic.decided_day.to_numpy() - REVIEW_MAX)
    events = pd.concat([pd.Series(lic.tonnes.to_numpy(), start),
                        pd.Series(-lic.tonnes.to_numpy(), lic.decided_day.to_numpy())]).sort_index(kind="stable")
    return float(events.groupby(level=0).sum().cumsum().max())


def test_batches_are_issued_at_the_start_of_each_part_of_the_year() -> None:
    cal = Calendar(date(2010, 1, 1), 730.0)
    assert [cal.batches_issued(t, 2) for t in (0.0, 180.9, 181.0, 364.9, 365.0, 546.0)] == [1, 1, 2, 2, 1, 2]
    assert cal.next_batch(10.0, 2) == 181.0 and cal.next_batch(200.0, 2) == 365.0
    assert [cal.batches_issued(t, 4) for t in (0.0, 90.0, 181.0, 273.0, 365.0)] == [1, 2, 3, 4, 1]
    assert cal.batches_issued(200.0, 1) == 1 and cal.next_batch(200.0, 1) == cal.next_new_year(200.0) == 365.0
    late = Calendar(date(2025, 4, 4), 365.0)  # a run starting mid-year: the batches of April already issued
    assert late.batches_issued(0.0, 4) == 2 and late.next_batch(0.0, 4) == float((date(2025, 7, 1) - date(2025, 4, 4)).days)


def test_tonnes_leaving_never_exceed_the_batches_issued_so_far() -> None:
    lic = _licences(**{"controls.quota_batches": 2})
    for rep, one in lic.groupby("replication"):
        ok = one[one.outcome == "approved"]
        slack = _most_in_review(one)  # the files held for a batch all go into review when it is issued
        for year_start, end, batches in HALF_YEARS:
            left = ok[(ok.decided_day >= year_start) & (ok.decided_day < end)].tonnes.sum()  # parcels leave on approval
            issued = QUOTA * batches / 2
            assert left <= issued + slack, (rep, end, left, issued)
            assert left >= 0.9 * issued, (rep, end, left, issued)  # 60% of the need: every batch is spent


def test_half_year_batches_spread_the_same_annual_quota() -> None:
    one, two = _licences(), _licences(**{"controls.quota_batches": 2})
    for lic in (one, two):
        ok = lic[lic.outcome == "approved"]
        year = ok[ok.decided_day < 365].groupby("replication").tonnes.sum()
        assert np.all(np.abs(year - QUOTA) < QUOTA / 10)  # the annual total is unchanged
    h1 = {name: lic[(lic.outcome == "approved") & (lic.decided_day < 181)].groupby("replication").tonnes.sum()
          for name, lic in (("one", one), ("two", two))}
    assert (h1["two"] < h1["one"] * 0.7).all()  # one batch is spent early in the year; half of it lasts to July
    # files held by a spent first batch go into review on 1 July, not on 1 January
    held = two[(two.submitted_day < 181) & (two.decided_day >= 181) & (two.decided_day < 200)]
    assert len(held) and (held.decided_day - held.submitted_day).max() > 10  # reviews take <= 10 days


def test_one_batch_is_the_quota_as_before() -> None:
    default = resim.simulate(_quota_2010(), replications=1, workers=1, progress=False)
    one = resim.simulate(_quota_2010(**{"controls.quota_batches": 1}), replications=1, workers=1, progress=False)
    pd.testing.assert_frame_equal(default.licences, one.licences)
    pd.testing.assert_frame_equal(default.flows, one.flows)


@pytest.mark.parametrize("value", [0, 5, 1.5, "2"])
def test_quota_batches_must_divide_the_year(value: Any) -> None:
    with pytest.raises(Exception, match="quota_batches"):
        resim.load_scenario(_quota_2010(**{"controls.quota_batches": value}))
