"""The calibrated April 2025 scenario against the rows it was calibrated to.

The shipped posterior was fitted to the April scenario as it was at 608c727
(tests/data/scenarios_608c727/april_2025_controls.toml, the frozen copy); the
shipped file has since been rebuilt on new mechanisms (issue 26) and awaits
its own calibration, so this test holds the posterior to the file it fits.
With ``--posterior scenarios/posteriors/april_2025`` every replication draws
its fitted parameters from the shipped posterior; the band that holds 90% of
replications (posterior-predictive) must hold each observed calibration row
of ``data/observed_2025.csv``, except India's May and June 2025 exports (150
and 172 t), which are above what Dy/Tb-free grades alone carry to a
destination whose licences are all refused: the model leaves them just
outside (in 120 replications, at the 97th and 98th percentiles), and
docs/scenarios.md says so. US exports in September (420 t, a -29% month) sit
at the 7th percentile: inside, narrowly.
"""

from __future__ import annotations

import csv
from dataclasses import replace

import numpy as np
import pytest

from resim.api import with_posterior
from resim.calibration.measure import Measured
from resim.calibration.observed import Period
from resim.calibration.series import Horizon, parse_series
from resim.experiment.experiment import run_points
from resim.scenario import load

from chain_fixtures import ROOT, SCENARIOS

POSTERIOR = SCENARIOS / "posteriors" / "april_2025"
#: The scenario the shipped posterior was fitted to (the rebuilt file awaits its own fit).
FITTED = ROOT / "tests" / "data" / "scenarios_608c727" / "april_2025_controls.toml"
OBSERVED = ROOT / "data" / "observed_2025.csv"
pytestmark = pytest.mark.slow  # 50 replications of the April scenario: over a minute of work

#: Rows the calibration report puts outside its 90% band (with the reason in the docstring).
KNOWN_MISSES = {("exports.magnet.CN.IN", "2025-05"), ("exports.magnet.CN.IN", "2025-06")}
#: Replications: the verdict on every row is the same at 50, 60 and 120 (at 40
#: the August total, at its 88th percentile, falls outside by noise).
REPLICATIONS = 50


def _calibration_rows() -> list[tuple[str, str, float]]:
    used = {(r["series"], r["period"]) for r in csv.DictReader((POSTERIOR / "observed_used.csv").open())}
    rows = [(r["series"], r["period"], float(r["value"])) for r in csv.DictReader(OBSERVED.open())
            if r["kind"] == "calibration"]
    assert used <= {(s, p) for s, p, _ in rows}  # the fit used the shipped data
    return [r for r in rows if (r[0], r[1]) in used]


def test_the_calibrated_scenario_reproduces_its_calibration_series() -> None:
    loaded = with_posterior(load(FITTED, {"scenario.horizon": 334}), POSTERIOR)
    outputs = run_points([loaded], REPLICATIONS, workers=2).of(0)
    assert not [o.error for o in outputs if o.error]
    horizon = Horizon.of(replace(loaded).scenario)
    measured = [Measured(o, horizon) for o in outputs]
    inside, outside = [], []
    for series, period, value in _calibration_rows():
        sims = np.array([m.value(parse_series(series), Period.parse(period)) for m in measured])
        lo, hi = np.percentile(sims, [5, 95])
        (inside if lo <= value <= hi else outside).append((series, period, value, round(lo), round(hi)))
    assert {(s, p) for s, p, *_ in outside} <= KNOWN_MISSES, outside
    assert len(inside) >= 13, inside
