"""Payments (issue 27 items 2-3, ``[markets] payments``): money is conserved
(what buyers pay is what sellers receive) and the money is the tonnes
delivered times the price in force on the delivery day, recomputed here from
the prices the run formed; payments observe the chain without changing it."""

from __future__ import annotations

import bisect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import resim
from resim.model.markets import PAYMENT_COLUMNS
from resim.model.records import Records
from resim.model.replication import Model
from resim.scenario.errors import ScenarioError

#: Runs of whole scenarios, several replications each: out of the edit-test loop.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("six_month_licences.toml", "april_2025_controls.toml", "baseline.toml")


def _write(tmp_path: Path, parent: str, body: str, name: str = "m.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'extends = "{(ROOT / "scenarios" / parent).as_posix()}"\n[markets]\n{body}')
    return path


def records(path: Path, replication: int = 0) -> tuple[Records, Model]:
    """One replication's records (the payment table is a record table of the model)."""
    model = Model(resim.load_scenario(str(path)), replication)
    model.run()
    return model.records(replication, 0.0), model


def price_in_force(prices: pd.DataFrame) -> dict[tuple[str, str, str], tuple[list[float], list[float]]]:
    """(market, item, tier) -> (observation days, prices), from the price table."""
    out = {}
    for key, g in prices.groupby(["market", "item", "tier"]):
        g = g.sort_values("day")
        out[key] = (g["day"].tolist(), g["usd_per_kg"].tolist())
    return out


def recomputed_usd(payments: pd.DataFrame, prices: pd.DataFrame, market_of: dict[str, str],
                   premium: float = 0.0) -> np.ndarray:
    """Each row's tonnes times the price of the last observation on or before
    its day: contract, or spot times ``1 + premium`` for a spot purchase."""
    book = price_in_force(prices)
    usd = []
    for row in payments.itertuples():
        spot = row.payee == "spot market"
        days, values = book[(market_of[row.payer], row.item, "spot" if spot else "contract")]
        k = max(bisect.bisect_right(days, row.day) - 1, 0)
        usd.append(row.tonnes * 1000.0 * values[k] * (1.0 + premium if spot else 1.0))
    return np.asarray(usd)


def _market_of(model: Model) -> dict[str, str]:
    market = model.ctx.markets
    return {a.name: market.market_of(a.jurisdiction) for a in model.actors if a.kind.has_timeseries}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # a run per example: no shrinking
@given(parent=st.sampled_from(SCENARIOS), speed=st.floats(0.005, 0.2), elasticity=st.floats(0.2, 1.4),
       lag=st.floats(5.0, 400.0), replication=st.integers(0, 5), premium=st.one_of(st.none(), st.floats(0.0, 1.0)))
def test_money_is_conserved_and_is_tonnes_times_the_price_in_force(
        tmp_path: Path, parent: str, speed: float, elasticity: float, lag: float, replication: int,
        premium: float | None) -> None:
    """With or without spot purchases (``premium`` None: none)."""
    body = f"payments = true\nspeed_per_day = {speed}\nelasticity = {elasticity}\ncontract_lag_days = {lag}\n"
    if premium is not None:
        body += f"[markets.spot]\npremium = {premium}\n"
    rec, model = records(_write(tmp_path, parent, body), replication)
    pay = rec.payments.frame()
    assert tuple(pay.columns) == PAYMENT_COLUMNS and len(pay) > 0
    paid = pay.groupby("payer")["usd"].sum()
    received = pay.groupby("payee")["usd"].sum()
    # payers are the automakers, payees their suppliers, and what one side pays the other receives
    sellers = {lk.supplier.name for a in model.actors if a.kind.has_timeseries for lk in a.links}
    assert set(paid.index) <= set(_market_of(model)) and set(received.index) <= sellers | {"spot market"}
    assert paid.sum() == pytest.approx(received.sum(), rel=1e-9)
    want = recomputed_usd(pay, rec.prices.frame(), _market_of(model), premium or 0.0)
    np.testing.assert_allclose(pay["usd"].to_numpy(), want, rtol=1e-12)
    assert pay["usd"].sum() == pytest.approx(want.sum(), rel=1e-9)
    assert (pay["tonnes"] > 0).all() and np.isfinite(pay["usd"]).all()


def test_actors_read_each_tier_as_the_price_table_has_it(tmp_path: Path) -> None:
    """``price_at(..., tier, day)`` is the table's row of that tier (the
    contract price lags spot: they differ once prices move)."""
    rec, model = records(_write(tmp_path, "six_month_licences.toml", "speed_per_day = 0.1\n"))
    market, prices = model.ctx.markets, rec.prices.frame()
    for row in prices.itertuples():
        assert market.price_at(row.item, row.market, row.tier, row.day) == row.usd_per_kg
    spot, contract = (prices[prices["tier"] == t]["usd_per_kg"].to_numpy() for t in ("spot", "contract"))
    assert (spot != contract).any()


def test_payments_observe_the_chain_without_changing_it(tmp_path: Path) -> None:
    off, _ = records(_write(tmp_path, "six_month_licences.toml", "speed_per_day = 0.1\n", "off.toml"))
    on, _ = records(_write(tmp_path, "six_month_licences.toml", "speed_per_day = 0.1\npayments = true\n"))
    assert off.payments is None and on.payments is not None
    for name in ("timeseries", "prices", "flows", "costs"):
        pd.testing.assert_frame_equal(getattr(off, name).frame(), getattr(on, name).frame())


def test_each_item_pays_for_its_element_in_the_magnets_delivered(tmp_path: Path) -> None:
    """Tb holds a fifth of Dy's tonnes in every grade of the six-month chain:
    so do the tonnes paid (the grade contents, not the prices, set them)."""
    rec, model = records(_write(tmp_path, "six_month_licences.toml", "payments = true\n"))
    pay = rec.payments.frame()
    by_item = pay.groupby("item")["tonnes"].sum()
    grades = model.ctx.scenario.grades
    dy = sum(g.content.get("Dy", 0.0) for g in grades.values())
    tb = sum(g.content.get("Tb", 0.0) for g in grades.values())
    assert by_item["Tb_oxide"] / by_item["Dy_oxide"] == pytest.approx(tb / dy, rel=1e-9)


def test_an_item_whose_element_no_grade_holds_gets_a_one_line_error(tmp_path: Path) -> None:
    body = "payments = true\n[markets.items.Ce_oxide]\nchina_cny_per_kg = 10\noutside_usd_per_kg = 2\n"
    with pytest.raises(ScenarioError, match=r"m\.toml: markets\.items\.Ce_oxide: prices an element no grade "
                                            r"holds \(.*\); give its `element`, got \"?Ce") as err:
        resim.load_scenario(str(_write(tmp_path, "six_month_licences.toml", body)))
    assert "\n" not in str(err.value)


def test_payments_parquet_holds_every_replications_payments_and_the_summary_totals_them(tmp_path: Path) -> None:
    src = _write(tmp_path, "six_month_licences.toml", "payments = true\nspeed_per_day = 0.1\n")
    res = resim.simulate(str(src), replications=3, workers=1, progress=False,
                         overrides={"scenario.horizon": 200})
    out = res.write(tmp_path / "out")
    df = pd.read_parquet(out / "payments.parquet")
    assert list(df.columns) == ["replication", "day", "date", "payer", "payee", "item", "tonnes", "usd"]
    # replication 0 is the same whether 1 or 3 are run (common random numbers)
    one = resim.simulate(str(src), replications=1, workers=1, progress=False, overrides={"scenario.horizon": 200})
    np.testing.assert_array_equal(df[df["replication"] == 0]["usd"].to_numpy(), one.payments["usd"].to_numpy())
    paid = res.summary()["markets"]["paid_usd"]
    per = df.groupby(["payer", "replication"])["usd"].sum().unstack(fill_value=0.0)
    assert set(paid) == set(per.index)
    for payer, row in per.iterrows():
        values = [row.get(r, 0.0) for r in range(3)]
        assert paid[payer]["mean"] == pytest.approx(np.mean(values), rel=1e-12)
        lo, hi = paid[payer]["ci95"]
        assert lo <= paid[payer]["mean"] <= hi


def test_without_payments_there_is_no_payments_file(tmp_path: Path) -> None:
    src = _write(tmp_path, "six_month_licences.toml", "")
    res = resim.simulate(str(src), replications=1, workers=1, progress=False, overrides={"scenario.horizon": 60})
    assert res.payments is None and "paid_usd" not in res.summary()["markets"]
    out = res.write(tmp_path / "out")
    assert not (out / "payments.parquet").exists()
