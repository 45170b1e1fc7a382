"""The price book: the rules run over a replication's steps.

At each observation day (every ``step_days``) each market's mean demand and
supply over the step just ended move the spot price of every item
(``rules.spot_step`` against constant-elasticity demand) and the contract
price follows it (``rules.contract_step``). Rows are in US dollars per kg;
the domestic base converts from yuan at ``cny_per_usd``.
"""

from __future__ import annotations

from typing import Any

from ..records import Table
from . import rules
from .scarcity import CHINA, MARKETS, daily_balance, step_means

#: One row per observation day, market, item and tier (``prices.parquet`` adds replication and date).
PRICE_COLUMNS = ("day", "market", "item", "tier", "usd_per_kg")


def base_usd(item: Any, market: str, cny_per_usd: float) -> float:
    """An item's base price in a market, in US dollars per kg."""
    return item.china_cny_per_kg / cny_per_usd if market == CHINA else item.outside_usd_per_kg


def step_prices(cfg: Any, base: float, spot: float, contract: float, d0: float, s: float,
                dt: float) -> tuple[float, float]:
    """Spot and contract prices after one step of ``dt`` days in which the
    market's mean demand was ``d0`` and its supply ``s`` (the rules of ``rules.py``)."""
    low, high = base / cfg.max_ratio, base * cfg.max_ratio
    d = rules.elastic_demand(d0, spot, base, cfg.elasticity)
    spot = rules.spot_step(spot, rules.excess_share(d, s), cfg.speed_per_day, dt, low, high)
    return spot, rules.contract_step(contract, spot, dt, cfg.contract_lag_days)


def _path(cfg: Any, base: float, demand: Any, supply: Any, widths: Any) -> tuple[list[float], list[float]]:
    """Spot and contract prices at the start and after each step (``widths``:
    its days; the last step may be shorter)."""
    spot = contract = base
    spots, contracts = [spot], [contract]
    for d0, s, dt in zip(demand, supply, widths, strict=True):
        spot, contract = step_prices(cfg, base, spot, contract, d0, s, dt)
        spots.append(spot)
        contracts.append(contract)
    return spots, contracts


def price_table(cfg: Any, timeseries: dict[str, Any], jurisdictions: dict[str, str], home: str,
                days: int) -> Table:
    """Spot and contract prices per observation day, market and item, formed
    after the run from its record: the reference the run's own market
    (``market.Market``) equals when nobody responds to prices."""
    table = Table(PRICE_COLUMNS)
    step = int(cfg.step_days)
    balance = daily_balance(timeseries, jurisdictions, home, days)
    starts = list(range(0, days, step))
    obs_days = [*starts, days]
    widths = [float(b - a) for a, b in zip(obs_days, obs_days[1:], strict=False)]
    for market in MARKETS:
        demand, supply = (step_means(v, step) for v in balance[market])
        for name, item in cfg.items.items():
            spots, contracts = _path(cfg, base_usd(item, market, cfg.cny_per_usd), demand, supply, widths)
            for day, sp, co in zip(obs_days, spots, contracts, strict=True):
                table.append(day, market, name, "contract", co)
                table.append(day, market, name, "spot", sp)
    return table
