"""``--posterior`` warns when the posterior was fitted to another version of
the scenario or by another resim (issue 26 item 3): calibration.json records
the model's fingerprint, the scenario with its fitted keys masked and without
its run settings, so the shipped file (the posterior medians) and a run's
``--set scenario.*`` do not count as changes."""

from __future__ import annotations

import dataclasses

import pytest

import resim
from resim.api import posterior_warnings, with_posterior
from resim.calibration.posterior import read_posterior
from resim.calibration.priors import apply_values, fingerprint
from resim.scenario import load

from chain_fixtures import ROOT, SCENARIOS

POSTERIOR = SCENARIOS / "posteriors" / "april_2025"
FITTED_TO = ROOT / "tests" / "data" / "scenarios_608c727" / "april_2025_controls.toml"


def test_the_fingerprint_ignores_fitted_keys_and_run_settings_and_sees_any_other_change() -> None:
    post = read_posterior(POSTERIOR)
    base = fingerprint(load(FITTED_TO).scenario, post.priors)
    fitted = {k: float(post.quantile(k, 0.9)) for k in post.keys}
    assert fingerprint(apply_values(load(FITTED_TO).scenario, fitted, "test").scenario, post.priors) == base
    run = {"scenario.seed": 7, "scenario.replications": 3, "scenario.horizon": 40}
    assert fingerprint(load(FITTED_TO, run).scenario, post.priors) == base
    assert fingerprint(load(FITTED_TO, {"licensing.max_attempts": 5}).scenario, post.priors) != base


def test_a_posterior_warns_on_another_scenario_version_or_resim_and_not_on_its_own() -> None:
    own = with_posterior(load(FITTED_TO), POSTERIOR)
    assert posterior_warnings(own) == []
    rebuilt = with_posterior(load(SCENARIOS / "april_2025_controls.toml"), POSTERIOR)
    [line] = posterior_warnings(rebuilt)
    assert line.startswith("resim: warning: --posterior") and "another version of this scenario" in line
    older = dataclasses.replace(own, draws=dataclasses.replace(own.draws, version="0.0.1"))
    [line] = posterior_warnings(older)
    assert "fitted with resim 0.0.1" in line
    unknown = dataclasses.replace(own, draws=dataclasses.replace(own.draws, fitted_to=None, version=None))
    assert posterior_warnings(unknown) == []  # folders written before the fingerprint: nothing to compare


def test_simulate_shows_the_warning_in_a_notebook() -> None:
    with pytest.warns(UserWarning, match="another version of this scenario"):
        resim.simulate(SCENARIOS / "april_2025_controls.toml", replications=1, workers=1, progress=False,
                       posterior=POSTERIOR, overrides={"scenario.horizon": 20})
