"""General licences per customer (issue 28 item 1): an exporter holds general
licences for named customers, or for a share of them, while its other
customers' goods stay per shipment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import resim
from resim.model.licensing.controls import customer_place
from resim.scenario.tomlwriter import dumps

from chain_fixtures import small_chain
from scenario_helpers import assert_one_line_error, cli


def _chain(tmp_path: Path, grants: list[dict[str, Any]], **changes: Any) -> Path:
    d = small_chain(**{"scenario.replications": 2, "controls.licence_mode": "per_shipment",
                       "licensing.approval_rate": 1.0, **changes})
    d["controls"]["general_licences"] = grants
    src = tmp_path / "g.toml"
    src.write_text(dumps(d))
    return src


def test_named_customers_hold_general_licences_without_a_gap_and_the_others_file_per_shipment(tmp_path: Path) -> None:
    src = _chain(tmp_path, [{"exporter": "cn maker", "customers": ["EU maker"], "lifetime_days": 200}])
    lic = resim.simulate(src, workers=1, progress=False).licences
    eu, jp = lic[lic.customer == "EU maker"], lic[(lic.customer == "JP maker") & (lic.exporter == "cn maker")]
    assert set(eu.kind) == {"general"} and set(jp.kind) == {"shipment"} and len(jp) > 0
    for _, rep in eu[eu.outcome == "approved"].groupby("replication"):
        rep = rep.sort_values("decided_day")
        # the grant's own lifetime, not controls.lifetime_days (120)
        assert np.allclose(rep.licence_expiry_day - rep.decided_day, 200.0)
        # every renewal is decided before the licence it renews expires: once granted, the line never waits
        assert (rep.decided_day.to_numpy()[1:] <= rep.licence_expiry_day.to_numpy()[:-1]).all()


def test_a_share_of_customers_covers_about_that_share_and_a_larger_share_keeps_the_smaller_ones(
        tmp_path: Path) -> None:
    firms = 300

    def covered(share: float) -> set[str]:
        src = _chain(tmp_path, [{"exporter": "cn maker", "share_of_customers": share}],
                     **{"scenario.replications": 1, "scenario.horizon": 90})
        d = resim.load_scenario(src)
        raw = d.raw
        raw["automakers"][0]["firms"] = firms
        src.write_text(dumps(raw))
        lic = resim.simulate(src, workers=1, progress=False).licences
        mine = lic[lic.customer.str.startswith("EU maker")]
        return set(mine[mine.kind == "general"].customer)

    small, large = covered(0.3), covered(0.6)
    assert small <= large
    # each firm is covered with probability = share (a fixed place per name): binomial, 4 sd
    for share, got in ((0.3, small), (0.6, large)):
        assert abs(len(got) - share * firms) <= 4 * np.sqrt(firms * share * (1 - share)), (share, len(got))


def test_customer_places_are_uniform() -> None:
    from scipy import stats

    u = [customer_place("cn maker", f"EU maker #{i}") for i in range(2000)]
    assert stats.kstest(u, "uniform").pvalue > 1e-3


@pytest.mark.parametrize(("grant", "key", "value"), [
    ({"exporter": "cn maker", "customers": ["EU makr"]}, "controls.general_licences[0].customers[0]", "EU makr"),
    ({"exporter": "nobody", "customers": ["EU maker"]}, "controls.general_licences[0].exporter", "nobody"),
])
def test_grants_naming_what_the_scenario_lacks_are_one_line_errors(tmp_path: Path, grant: dict, key: str,
                                                                    value: str) -> None:
    res = cli("validate", str(_chain(tmp_path, [grant])))
    assert_one_line_error(res, key, value)


def test_customers_and_a_share_together_are_refused(tmp_path: Path) -> None:
    res = cli("validate", str(_chain(tmp_path, [{"exporter": "cn maker", "customers": ["EU maker"],
                                                "share_of_customers": 0.5}])))
    assert_one_line_error(res, "controls.general_licences", "not both")
