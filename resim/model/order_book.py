"""A supplier's order book, indexed by unit (grade or element) so a fill
visits only the orders its stock can serve.

A fill walks the open orders oldest first and ships each
``min(remaining, stock)``. When stock holds a few grades and hundreds of
orders wait for others, almost every step of that walk ships nothing. Per
unit, the orders served are a prefix of those still wanting that unit (the
stock of a unit only falls during a fill, and falls by exactly what the walk
would take), so the index finds them by replaying that arithmetic unit by
unit; the walk then serves just those, in their original order, so shipments,
ids and random draws come out exactly as a full walk makes them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import numpy as np

from .shipping import Order

_EPS = 1e-9


class OrderBook:
    """Open orders in arrival order, plus per unit the orders that asked for it."""

    __slots__ = ("orders", "_by_unit", "_seq", "vectors")

    def __init__(self) -> None:
        self.orders: deque[Order] = deque()
        self._by_unit: dict[int, deque[tuple[int, Order]]] = {}
        self._seq = 0
        self.vectors = True  # every order so far is a vector (the index covers them all)

    def __iter__(self) -> Iterator[Order]:
        return iter(self.orders)

    def __bool__(self) -> bool:
        return bool(self.orders)

    def append(self, order: Order) -> None:
        self.orders.append(order)
        qty = order.qty
        if not isinstance(qty, np.ndarray):
            self.vectors = False
            return
        seq = self._seq
        self._seq = seq + 1
        by_unit = self._by_unit
        for unit, v in enumerate(qty.tolist()):
            if v > _EPS:
                wanting = by_unit.get(unit)
                if wanting is None:
                    by_unit[unit] = wanting = deque()
                wanting.append((seq, order))

    def drop_done(self) -> None:
        """Drop the filled and cancelled orders at the head of the book."""
        orders = self.orders
        while orders and _done(orders[0]):
            orders.popleft()

    def servable(self, stock: list[float]) -> list[Order]:
        """The orders a fill from ``stock`` (one value per unit) ships to, oldest
        first: per unit with stock, the open orders wanting it until the walk
        would have used it up. Orders left out would be shipped nothing."""
        chosen: dict[int, Order] = {}
        by_unit = self._by_unit
        for unit, s in enumerate(stock):
            if s <= _EPS:
                continue
            wanting = by_unit.get(unit)
            if not wanting:
                continue
            while wanting and _spent(wanting[0][1], unit):
                wanting.popleft()
            for seq, order in wanting:
                if order.cancelled:
                    continue
                r = float(order.remaining[unit])
                if r <= _EPS:
                    continue
                chosen[seq] = order
                s = s - min(r, s)
                if s <= _EPS:
                    break
        return [chosen[seq] for seq in sorted(chosen)]


def _spent(order: Order, unit: int) -> bool:
    return order.cancelled or float(order.remaining[unit]) <= _EPS


def _done(order: Order) -> bool:
    remaining = order.remaining
    if order.cancelled:
        return True
    if isinstance(remaining, np.ndarray):
        return all(v <= _EPS for v in remaining.tolist())
    return remaining <= _EPS
