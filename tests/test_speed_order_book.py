"""The per-unit order index must name every order a full FIFO walk would
ship to, in the walk's order (it only skips orders that would get nothing)."""

import numpy as np

from resim.model.order_book import OrderBook
from resim.model.shipping import Order


def _walk(orders: list[Order], stock: np.ndarray) -> list[int]:
    """A plain fill: every open order, oldest first, takes min(remaining, stock)."""
    served = []
    for order in orders:
        if order.cancelled:
            continue
        take = np.minimum(order.remaining, stock)
        if (take <= 1e-9).all():
            continue
        stock -= take
        order.remaining = order.remaining - take
        served.append(order.id)
    return served


def _book(rng: np.random.Generator, n: int, units: int) -> tuple[OrderBook, list[Order]]:
    book, orders = OrderBook(), []
    for i in range(n):
        qty = rng.uniform(0.0, 5.0, units) * (rng.random(units) < 0.4)
        order = Order(i, None, 0.0, qty)
        order.cancelled = bool(rng.random() < 0.1)
        book.append(order)
        orders.append(order)
    return book, orders


def test_the_index_serves_exactly_the_orders_a_full_walk_serves_in_its_order() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        units = int(rng.integers(1, 5))
        book, orders = _book(rng, int(rng.integers(0, 40)), units)
        for _fill in range(3):  # successive fills see partly served orders
            stock = rng.uniform(0.0, 30.0, units) * (rng.random(units) < 0.6)
            twins = [Order(o.id, None, 0.0, o.remaining.copy()) for o in orders]
            for twin, o in zip(twins, orders, strict=True):
                twin.cancelled = o.cancelled
            want = _walk(twins, stock.copy())
            chosen = book.servable(stock.tolist())
            got = _walk(chosen, stock.copy())
            assert got == want
            assert [o.remaining.tolist() for o in orders] == [t.remaining.tolist() for t in twins]


def test_a_book_with_a_scalar_order_is_not_indexed() -> None:
    book = OrderBook()
    book.append(Order(1, None, 0.0, 3.0))
    assert not book.vectors
