"""The price rules: pure functions of prices, demand and supply.

**Spot** (the marginal tonne) moves by tatonnement on the excess demand share
at the current price, in logs so it stays positive::

    x(p)     = (D(p) - S) / max(D(p), S)          in [-1, 1]
    p_next   = clip(p * exp(k * dt * x(p)), base / m, base * m)

``k`` is the adjustment speed per day, ``dt`` the step in days and ``m`` the
bound on the ratio to the base price. Demand answers the price with a constant
elasticity ``e`` around the demand observed at the base price ``D0``:
``D(p) = D0 * (p / base) ** -e``. The rule rests where ``x = 0``, at
``p* = base * (D0 / S) ** (1 / e)``: a supply cut to a share ``s`` of demand
multiplies the price by ``s ** (-1 / e)`` (:func:`cut_ratio`); with no
shortage it returns to the base price. Near ``p*`` the log price closes a
share ``k * dt * e`` of its gap per step, so the rule converges when that is
below 2 (the schema refuses more).

**Contract** (what most volume pays) follows spot with an exponential lag of
time constant ``T`` days: ``c_next = c + (1 - exp(-dt / T)) * (p_next - c)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable


def excess_share(demand: float, supply: float) -> float:
    """Excess demand as a share of the larger side, in [-1, 1] (0 when both are 0)."""
    d, s = max(demand, 0.0), max(supply, 0.0)
    top = max(d, s)
    return 0.0 if top == 0.0 else (d - s) / top


def elastic_demand(d0: float, price: float, base: float, elasticity: float) -> float:
    """Demand at ``price`` with constant elasticity around ``d0`` at ``base``."""
    return d0 * math.exp(-elasticity * (math.log(price) - math.log(base)))


def spot_step(price: float, excess: float, speed: float, dt: float, low: float, high: float) -> float:
    """The next spot price: ``price * exp(speed * dt * excess)`` within ``[low, high]``.

    Computed in logs, so no input makes it zero, negative or infinite."""
    x = min(max(excess, -1.0), 1.0) if math.isfinite(excess) else 0.0
    price = price if price > 0.0 else low  # NaN or not positive: the floor
    log_p = math.log(min(max(price, low), high)) + speed * dt * x
    return min(max(math.exp(min(max(log_p, math.log(low)), math.log(high))), low), high)


def contract_step(contract: float, spot: float, dt: float, lag_days: float) -> float:
    """The next contract price: an exponential lag of time constant ``lag_days`` toward spot."""
    return contract + (1.0 - math.exp(-dt / lag_days)) * (spot - contract)


def tatonnement(price: float, demand: Callable[[float], float], supply: float, speed: float, dt: float,
                low: float, high: float, steps: int) -> float:
    """The spot price after ``steps`` steps against a demand curve and a fixed supply."""
    for _ in range(steps):
        price = spot_step(price, excess_share(demand(price), supply), speed, dt, low, high)
    return price


def cut_ratio(supply_share: float, elasticity: float) -> float:
    """The equilibrium price ratio after supply falls to ``supply_share`` of
    demand at the base price, with constant elasticity: ``s ** (-1 / e)``."""
    return supply_share ** (-1.0 / elasticity)
