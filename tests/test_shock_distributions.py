"""Stock distributions with a low tail (issue 26 item 1): quantile tables and
mixtures, checked against their theoretical CDFs, in a firm population, and
their one-line errors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

import resim
from resim.scenario.distributions import make

from chain_fixtures import small_chain

TABLE = {"dist": "quantiles", "probs": [0, 0.1, 0.5, 0.9, 1], "values": [7, 30, 75, 90, 120]}
MIX = {"dist": "mixture", "weights": [0.15, 0.85],
       "parts": [{"dist": "uniform", "low": 5, "high": 30}, {"dist": "lognormal", "mean": 75, "cv": 0.2}]}


def _table_cdf(x: np.ndarray) -> np.ndarray:
    return np.interp(x, TABLE["values"], TABLE["probs"])


def _mix_cdf(x: np.ndarray) -> np.ndarray:
    s2 = math.log1p(0.2**2)
    logn = stats.lognorm(s=math.sqrt(s2), scale=75 * math.exp(-s2 / 2))
    return 0.15 * stats.uniform(5, 25).cdf(x) + 0.85 * logn.cdf(x)


@pytest.mark.parametrize("spec, cdf", [(TABLE, _table_cdf), (MIX, _mix_cdf)])
def test_draws_and_quantiles_follow_the_theoretical_cdf(spec: dict[str, Any], cdf: Any) -> None:
    d = make(spec)
    n = 20_000
    drawn = d.sample(np.random.default_rng(1), n)
    assert stats.kstest(drawn, cdf).pvalue > 1e-3
    u = np.random.default_rng(2).random(n)
    assert stats.kstest(d.quantile(u), cdf).pvalue > 1e-3
    # the mean the reports quote is the distribution's
    assert abs(drawn.mean() - d.mean) < 4 * drawn.std() / math.sqrt(n)


def test_table_mean_and_quantiles_are_exact_at_the_table_points() -> None:
    d = make(TABLE)
    assert np.allclose(d.quantile(np.array(TABLE["probs"][:-1])), TABLE["values"][:-1])
    assert d.mean == pytest.approx(0.1 * 18.5 + 0.4 * 52.5 + 0.4 * 82.5 + 0.1 * 105)


def test_a_mixture_of_one_part_is_that_part_and_ranks_hold_within_parts() -> None:
    u = np.random.default_rng(3).random(5000)
    part = {"dist": "gamma", "mean": 50, "cv": 0.5}
    assert np.allclose(make({"dist": "mixture", "parts": [part], "weights": [2]}).quantile(u), make(part).quantile(u))
    mix = make(MIX)
    assert np.all(np.diff(mix.quantile(np.sort(u))) >= 0)  # parts listed low to high: ranks hold overall
    assert make({"dist": "mixture", "parts": [10, 20], "weights": [1, 3]}).mean == pytest.approx(17.5)


def test_with_supply_cut_the_share_stopped_follows_a_low_tailed_stock() -> None:
    """No magnet arrives: firm i runs short on day floor(x_i), so the share
    stopped on day d is F(d + 1), low tail included (as test_populations for
    a lognormal)."""
    n = 1500
    src = small_chain(**{"scenario.horizon": 120, "magnet_makers[cn maker].capacity_t_per_day": 0.0,
                         "magnet_makers[cn maker].finished_stock_days": 0.0})
    eu = next(a for a in src["automakers"] if a["name"] == "EU maker")
    eu.update({"firms": n, "initial_inventory_days": MIX, "review_days": 200})
    ts = resim.simulate(src, replications=1, workers=1).timeseries
    ts = ts[ts.automaker == "EU maker"].sort_values("day")
    gap = np.abs(ts.share_stopped.to_numpy() - _mix_cdf(ts.day.to_numpy() + 1.0)).max()
    assert gap < 1.63 / math.sqrt(n), gap  # Kolmogorov-Smirnov, 99%
    assert ts.share_stopped.to_numpy()[20] > 0.05  # the low tail stops some firms within three weeks


@pytest.mark.parametrize("spec, fragment", [
    ('{ dist = "quantiles", probs = [0, 0.5, 0.9], values = [1, 2, 3] }', "probs must run from 0 to 1, got 0 to 0.9"),
    ('{ dist = "quantiles", probs = [0, 0.5, 1], values = [3, 2, 1] }', "values must not decrease (a quantile table is sorted), got [3.0, 2.0, 1.0]"),
    ('{ dist = "quantiles", probs = [0, 0.5, 0.5, 1], values = [1, 2, 3, 4] }', "probs must increase strictly, got [0.0, 0.5, 0.5, 1.0]"),
    ('{ dist = "quantiles", probs = [0, 1], values = [1, 2, 3] }', "probs has 2 entries but values has 3"),
    ('{ dist = "quantiles", probs = [0, 1.5], values = [1, 2] }', "probs[1]: must be >= 0 and <= 1, got 1.5"),
    ('{ dist = "mixture", parts = [1, 2], weights = [1] }', "weights has 1 entries but parts has 2"),
    ('{ dist = "mixture", parts = [1, 2], weights = [0, 0] }', "weights must not all be 0"),
    ('{ dist = "mixture", parts = [1, { dist = "mixture", parts = [1], weights = [1] }], weights = [1, 1] }',
     "parts[1]: dist must be one of"),
    ('{ dist = "mixture", parts = [{ dist = "uniform", low = 3, high = 1 }], weights = [1] }',
     "low (3) must be <= high (1)"),
])
def test_bad_tables_and_mixtures_get_one_line_naming_file_and_key(tmp_path: Path, spec: str, fragment: str) -> None:
    from resim.scenario import load
    from resim.scenario.errors import ScenarioError

    f = tmp_path / "s.toml"
    f.write_text(f"[licensing]\nresubmit_days = {spec}\n")
    with pytest.raises(ScenarioError) as err:
        load(f)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{f}: licensing.resubmit_days"), msg
    assert fragment in msg, msg
