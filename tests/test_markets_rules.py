"""Theory tests of the price rules (resim/model/markets/rules.py)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resim.model.markets import rules

finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)
anything = st.floats(allow_nan=True, allow_infinity=True)


@pytest.mark.parametrize(("a", "b", "supply"), [(100.0, 0.5, 60.0), (1000.0, 2.0, 300.0), (50.0, 0.01, 49.0)])
def test_linear_demand_with_fixed_supply_converges_to_the_analytic_price(a: float, b: float, supply: float) -> None:
    # D(p) = a - b p = S at p* = (a - S) / b; start far away on both sides.
    want = (a - supply) / b
    for start in (want / 20.0, want * 5.0):
        got = rules.tatonnement(start, lambda p, a=a, b=b: max(a - b * p, 0.0), supply, speed=0.01, dt=7.0,
                                low=1e-9, high=1e9, steps=20_000)
        assert got == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize(("share", "elasticity"), [(0.5, 0.5), (0.8, 0.3), (0.25, 1.2)])
def test_a_supply_cut_with_constant_elasticity_gives_its_closed_form_ratio(share: float, elasticity: float) -> None:
    base, d0 = 280.0, 100.0
    got = rules.tatonnement(base, lambda p: rules.elastic_demand(d0, p, base, elasticity), share * d0,
                            speed=0.02, dt=7.0, low=base / 1000.0, high=base * 1000.0, steps=20_000)
    assert got / base == pytest.approx(rules.cut_ratio(share, elasticity), rel=1e-6)
    assert got / base == pytest.approx(share ** (-1.0 / elasticity), rel=1e-6)


def test_without_shortage_the_price_returns_to_its_base() -> None:
    base = 965.0
    got = rules.tatonnement(base * 7.0, lambda p: rules.elastic_demand(10.0, p, base, 0.5), 10.0,
                            speed=0.02, dt=7.0, low=base / 50.0, high=base * 50.0, steps=5_000)
    assert got == pytest.approx(base, rel=1e-6)


def test_the_price_moves_toward_scarcity_and_stops_at_its_bound() -> None:
    assert rules.spot_step(100.0, 0.3, 0.02, 7.0, 1.0, 1e4) > 100.0
    assert rules.spot_step(100.0, -0.3, 0.02, 7.0, 1.0, 1e4) < 100.0
    p = 100.0
    for _ in range(10_000):
        p = rules.spot_step(p, 1.0, 0.05, 7.0, 1.0, 500.0)
    assert p == pytest.approx(500.0, rel=1e-12)


def test_the_contract_price_lags_spot_by_its_time_constant() -> None:
    # After one time constant the gap to a constant spot is e^-1 of what it was.
    c = 100.0
    for _ in range(90):
        c = rules.contract_step(c, 200.0, 1.0, 90.0)
    assert (200.0 - c) / 100.0 == pytest.approx(math.exp(-1.0), rel=1e-9)


@given(price=anything, excess=anything, speed=st.floats(0.0, 1.0), dt=st.floats(0.0, 365.0),
       low=st.floats(1e-6, 1e3), ratio=st.floats(1.0, 1e4))
def test_spot_prices_are_finite_positive_and_bounded_whatever_comes_in(
        price: float, excess: float, speed: float, dt: float, low: float, ratio: float) -> None:
    high = low * ratio
    p = rules.spot_step(price, excess, speed, dt, low, high)
    assert math.isfinite(p) and low <= p <= high


@given(demand=finite, supply=finite)
def test_the_excess_share_lies_in_minus_one_to_one(demand: float, supply: float) -> None:
    x = rules.excess_share(demand, supply)
    assert -1.0 <= x <= 1.0
    assert (x > 0) == (max(demand, 0.0) > max(supply, 0.0))


@given(contract=st.floats(1e-6, 1e6), spot=st.floats(1e-6, 1e6), dt=st.floats(0.0, 1e4),
       lag=st.floats(1e-3, 1e4))
def test_the_contract_price_stays_between_itself_and_spot(contract: float, spot: float, dt: float,
                                                          lag: float) -> None:
    c = rules.contract_step(contract, spot, dt, lag)
    assert min(contract, spot) - 1e-9 * max(contract, spot) <= c <= max(contract, spot) * (1 + 1e-12)
    assert c > 0.0
