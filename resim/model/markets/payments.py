"""Payments: what buyers pay their suppliers for each delivery
(``[markets] payments``, off by default).

Each delivery to an automaker is paid, item by item, for the tonnes of the
item's element it holds (``Item.element_of``: Dy_oxide pays for Dy), at the
price in force on the delivery day (``Market.price_at``) in the buyer's
market: the contract price for an ordinary order, the spot price plus its
``premium`` for a spot purchase (``[markets.spot]``, paid to the ``spot
market``), the contract price for a stockpile release.
A delivery is written down when it arrives and priced when the table is
asked for, after the run: pricing it then reads no price during the run, so
the run's other records are those of the run without payments.

Every row moves ``usd`` from its payer to its payee, so money is conserved
by construction: what the test checks is that the table's money is the
delivered tonnes times the prices the market formed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..records import Table

#: One row per delivery and item (``replication`` is added with the other tables).
PAYMENT_COLUMNS = ("day", "payer", "payee", "item", "tonnes", "usd")

#: ``price_at(item, market, tier, day)``: US dollars per kg in force on a day.
PriceAt = Callable[[str, str, str, float], float]


class Payments:
    """Deliveries written down during the run, priced into rows after it."""

    def __init__(self, items: dict[str, Any], index: dict[str, int]):
        # (item, element position) for the items whose element the run knows
        self._items = [(name, index[item.element_of(name)]) for name, item in items.items()
                       if item.element_of(name) in index]
        self._due: list[tuple[float, str, str, str, str, np.ndarray, float]] = []

    def delivered(self, day: float, payer: str, payee: str, market: str, tier: str, vec: np.ndarray,
                  factor: float = 1.0) -> None:
        """A delivery of element tonnes ``vec`` arrived on ``day``; it is paid
        ``factor`` times the ``tier`` price of ``market`` in force that day
        (a spot purchase's premium)."""
        self._due.append((day, payer, payee, market, tier, vec, factor))

    def table(self, price_at: PriceAt) -> Table:
        """One row per delivery and item with tonnes of it: tonnes times the
        price in force, in US dollars."""
        table = Table(PAYMENT_COLUMNS)
        for day, payer, payee, market, tier, vec, factor in self._due:
            for item, e in self._items:
                tonnes = float(vec[e])
                if tonnes > 0.0:
                    usd = tonnes * 1000.0 * price_at(item, market, tier, day) * factor
                    table.append(day, payer, payee, item, tonnes, usd)
        return table
