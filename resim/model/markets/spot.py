"""Spot purchases by firms about to stop (``[markets.spot]``, off by default).

At its review, before it orders, a firm whose cover (magnets on hand over
its need a day) is below ``cover_days`` buys ``max_share`` of its need
(target less position, grade by grade) on the spot market: traders' stocks
outside the modelled chain, which enter it when bought (``Ledger.produce``)
and arrive by air after ``transit`` days. While on their way they count in
the firm's position, so its ordinary order is the need less what it bought.
With ``depth_t_per_day`` the spot market gets that many tonnes a day, holds
at most 30 days of them (it starts full) and sells, first come first served,
what it holds. Each purchase is an event (``spot_purchase``, the firm, its
tonnes) and, with ``payments``, is paid at the spot price plus ``premium``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The payee of a spot purchase in the payment table.
SPOT_MARKET = "spot market"
#: Days of its daily depth the spot market holds at most.
HOLDS_DAYS = 30.0
_EPS = 1e-9


class SpotOrder:
    """What a delivery bought on the spot market carries for its payment."""

    __slots__ = ("premium",)
    tier = "spot"

    def __init__(self, premium: float):
        self.premium = premium


class SpotDelivery:
    """A spot purchase on its way: the fields of a shipment a payment reads."""

    __slots__ = ("order", "vec", "qty")

    def __init__(self, order: SpotOrder, vec: np.ndarray, qty: np.ndarray):
        self.order = order
        self.vec = vec
        self.qty = qty


class SpotMarket:
    """The spot market of one replication: what it holds and who bought."""

    def __init__(self, ctx: Any):
        self.ctx = ctx
        self._held: float | None = None  # tonnes held (None: not yet asked; starts full)
        self._since = 0.0  # the day ``_held`` was counted
        self._streams: dict[str, Any] = {}

    def _available(self, cfg: Any, now: float) -> float:
        """Tonnes the market can sell now (inf without a depth)."""
        depth = cfg.depth_t_per_day
        if depth is None:
            return float("inf")
        cap = depth * HOLDS_DAYS
        held = cap if self._held is None else min(cap, self._held + depth * (now - self._since))
        self._held, self._since = held, now
        return held

    def buy(self, cfg: Any, firm: Any) -> None:
        """A firm at its review: buys spot when its cover is below ``cover_days``."""
        if not firm.cover_days() < cfg.cover_days:
            return
        qty = self._what_it_gets(cfg, np.maximum(firm.target() - firm.position(), 0.0) * cfg.max_share)
        if qty is not None:
            self._send(cfg, firm, qty, float(qty.sum()))

    def _what_it_gets(self, cfg: Any, wanted: np.ndarray) -> np.ndarray | None:
        """What the market sells of ``wanted`` (grade tonnes): all of it, or
        in proportion what it holds; None for nothing."""
        tonnes = float(wanted.sum())
        if tonnes <= _EPS:
            return None
        available = self._available(cfg, self.ctx.clock.now)
        if tonnes > available:
            wanted, tonnes = wanted * (available / tonnes), available
        if tonnes <= _EPS:
            return None
        if self._held is not None:
            self._held -= tonnes
        return wanted

    def _send(self, cfg: Any, firm: Any, qty: np.ndarray, tonnes: float) -> None:
        ctx = self.ctx
        vec = ctx.elements.content(qty)
        ledger = ctx.ledger
        ledger.produce(vec)  # from outside the chain
        ledger.reserve(vec)
        ledger.depart(vec)
        firm.on_order = firm.on_order + qty
        ctx.records.events.append(ctx.clock.now, "spot_purchase", firm.name, tonnes)
        if cfg.air_cost_usd_per_kg > 0:
            ctx.records.costs.append(ctx.clock.now, firm.entry, tonnes * 1000.0 * cfg.air_cost_usd_per_kg)
        delivery = SpotDelivery(SpotOrder(cfg.premium), vec, qty)
        ctx.clock.after(self._transit(cfg, firm.name)(), lambda _e, d=delivery, f=firm: self._arrive(f, d))

    def _transit(self, cfg: Any, name: str) -> Any:
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = self.ctx.streams.stream(f"markets/spot/{name}", cfg.transit)
        stream.set_dist(cfg.transit)
        return stream

    def _arrive(self, firm: Any, delivery: SpotDelivery) -> None:
        self.ctx.ledger.arrive(delivery.vec)
        firm.spot_arrived(delivery.qty)
        self.ctx.markets.delivered(firm, delivery, SPOT_MARKET)
