"""The 2010 observed rows (data/observed_2010.csv, a copy of the shared file):
the quota rows are inputs (skipped), the price rows parse with their units,
and the 2009-01 price, before the run starts, is the initial price."""

from __future__ import annotations

import os
import tomllib

import pytest

from resim.calibration.observed import read_observed
from resim.calibration.series import compile_targets
from resim.scenario import load, set_key
from resim.scenario.errors import ScenarioError

from chain_fixtures import ROOT

OBSERVED = ROOT / "data" / "observed_2010.csv"
FROZEN = ROOT / "tests" / "data" / "scenarios_608c727" / "quota_cut_2010.toml"


def _with_markets(outside_usd: float) -> object:
    d = tomllib.loads(FROZEN.read_text(encoding="utf-8"))
    d["markets"] = {"items": {"Dy_oxide": {"china_cny_per_kg": outside_usd * 7.2, "outside_usd_per_kg": outside_usd}}}
    set_key(d, "scenario.replications", 1)
    return load(d).scenario


def test_the_copy_is_the_shared_file() -> None:
    # the project's shared folder sits beside the repository (as CI checks it out)
    shared = ROOT.parent / "shared" / "domain" / "observed_2010.csv"
    if not shared.exists():
        reason = f"{shared} is missing: the shared domain folder is not beside the repository"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set: .ci/run needs ../shared)", pytrace=False)
        pytest.skip(reason)
    assert OBSERVED.read_bytes() == shared.read_bytes()


def test_the_price_rows_parse_with_their_units_and_the_quota_rows_are_inputs() -> None:
    rows = read_observed(OBSERVED)
    assert [(r.series, r.period.text, r.unit) for r in rows] == [
        ("price.Dy_oxide.FOB_CN", "2009-01", "USD/kg"),
        ("price.Dy_oxide.FOB_CN", "2011-08", "USD/kg"),
        ("price.Dy_oxide.FOB_CN", "2013-07", "USD/kg")]
    assert [r.value for r in rows] == [91.0, 2377.0, 500.0]  # facts §3: 26x in 31 months, then about 1/7 of the peak


def test_the_2009_price_is_the_base_and_not_a_target() -> None:
    targets = compile_targets(read_observed(OBSERVED), _with_markets(91.0), str(OBSERVED))
    assert [(t.series.name, t.period.text, t.value) for t in targets] == [
        ("price.Dy_oxide.FOB_CN", "2011-08", 2377.0), ("price.Dy_oxide.FOB_CN", "2013-07", 500.0)]


def test_a_base_other_than_the_initial_price_is_a_one_line_error() -> None:
    with pytest.raises(ScenarioError, match="row 5: value") as e:
        compile_targets(read_observed(OBSERVED), _with_markets(280.0), str(OBSERVED))
    assert "initial price" in str(e.value) and "280" in str(e.value) and "\n" not in str(e.value)
