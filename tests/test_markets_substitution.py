"""Grade substitution after a qualification delay (``[markets.substitution]``),
under common random numbers (the same seed, one key changed): nothing moves
before a firm's trigger plus its qualification time; controlled content per
magnet tonne falls after it; magnet tonnes demanded are unchanged; the mix
rule keeps the shares' sum."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_markets_payments import _write, records

import resim
from resim.model.markets.substitution import moved_mix
from resim.scenario.errors import ScenarioError

#: Runs of whole scenarios, several replications each: out of the edit-test loop.
pytestmark = pytest.mark.slow

APRIL = "april_2025_controls.toml"
PRICES = "speed_per_day = 0.1\n"
#: a qualification shorter than the default 4-7 months, so the April year shows its effect
SUB = '[markets.substitution]\ngrade = "NdFeB_free"\nqualification_days = { dist = "uniform", low = 30, high = 60 }\n'
LOW = 30.0


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("sub")
    return {k: records(_write(tmp, APRIL, body, f"{k}.toml"))[0] for k, body in (("off", PRICES), ("on", PRICES + SUB))}


def _events(rec: object, kind: str) -> pd.DataFrame:
    ev = rec.events.frame()
    return ev[ev["kind"] == kind].set_index("key")


def test_nothing_moves_before_the_trigger_plus_qualification(runs: dict) -> None:
    trig, qual, built = (_events(runs["on"], k) for k in
                         ("substitution_triggered", "substitution_qualified", "substitution_built"))
    assert len(built) > 0  # the April firms run short, qualify and switch within the year
    assert ((trig["value"] >= LOW) & (trig["value"] <= 60.0)).all()
    ready = trig["day"] + trig["value"]
    assert (qual["day"] >= ready.reindex(qual.index)).all()
    assert (built["day"] >= qual["day"].reindex(built.index)).all()
    # under CRN the record is the record without substitution until the first trigger plus the shortest qualification
    a, b = (runs[k].timeseries.frame() for k in ("off", "on"))
    before = a["day"] < trig["day"].min() + LOW
    np.testing.assert_allclose(b.loc[before, "inventory_t"], a.loc[before, "inventory_t"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(b.loc[before, "shortfall_t"], a.loc[before, "shortfall_t"], rtol=1e-9, atol=1e-9)


def test_controlled_content_per_magnet_tonne_falls_after_it(runs: dict) -> None:
    def dy_per_tonne(rec: object) -> float:
        consumed = rec.ledger["consumed"]
        dytb = consumed[rec.elements.index("Dy")] + consumed[rec.elements.index("Tb")]
        return dytb / rec.timeseries.frame()["consumed_t"].sum()

    assert dy_per_tonne(runs["on"]) < dy_per_tonne(runs["off"])


def test_magnet_tonnes_demanded_are_unchanged(runs: dict) -> None:
    a, b = (runs[k].timeseries.frame() for k in ("off", "on"))
    np.testing.assert_allclose(b["demand_t"], a["demand_t"], rtol=1e-12)
    np.testing.assert_allclose(b["t_per_vehicle"], a["t_per_vehicle"], rtol=1e-12)


@given(mix=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6), share=st.floats(0.0, 1.0), pick=st.integers(0, 5))
def test_the_moved_mix_keeps_its_sum_and_moves_the_share(mix: list[float], share: float, pick: int) -> None:
    m = np.asarray(mix)
    target = pick % m.size
    out = moved_mix(m.copy(), target, share)
    assert out.sum() == pytest.approx(m.sum(), rel=1e-12, abs=1e-12)
    others = np.arange(m.size) != target
    np.testing.assert_allclose(out[others], m[others] * (1.0 - share), rtol=1e-12, atol=1e-15)
    assert out[target] >= m[target]


def test_an_unknown_grade_gets_a_one_line_error(tmp_path: Path) -> None:
    body = '[markets.substitution]\ngrade = "NdFeB_fre"\n'
    with pytest.raises(ScenarioError, match=r"m\.toml: markets\.substitution\.grade: no grade of that name") as err:
        resim.load_scenario(str(_write(tmp_path, APRIL, body)))
    assert "\n" not in str(err.value)
