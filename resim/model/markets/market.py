"""The market of one replication: prices formed during the run, on a fixed
step, from what the automakers' record shows, so that actors can read them
(``ctx.markets.price(item, market, tier)``).

Like the actors' day clock, the market is worked on demand: its observation
days are fixed (every ``step_days`` from day 0, and the horizon), and the
price of observation day ``t`` depends only on the automakers' rows of the
step that ended there (days already worked, which never change). So a price
is the same whenever it is computed: when an actor reads it (the market then
brings the automakers up to now and works the steps that ended) or at the end
of the run. Without a responder nobody reads during the run, the automakers
are never worked by the market, and the run's other records and its prices
are those of the post-run book (``book.price_table``, to rounding: sums over
firms are taken in another order).
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from ..records import Table
from . import responses
from .book import PRICE_COLUMNS, base_usd, step_prices
from .payments import Payments
from .scarcity import MARKETS, OUTSIDE, market_of
from .spot import SpotMarket
from .substitution import Substitutions

#: The tiers in the order of a path's lists: ``_paths[(market, item)]`` is ``(spots, contracts)``.
TIERS = ("spot", "contract")


class Market:
    """Spot and contract prices per market and item, by observation day."""

    def __init__(self, ctx: Any, cfg: Any, buyers: list[Any]):
        self.ctx = ctx
        self._cfg = cfg
        self.home: str = ctx.scenario.controls.jurisdiction
        self._buyers = {m: [b for b in buyers if market_of(b.jurisdiction, self.home) == m] for m in MARKETS}
        self._all = buyers
        days = ctx.clock.days
        step = int(cfg.step_days)
        self.days: list[int] = [*range(0, days, step), days]  # observation days
        self._items = list(cfg.items)
        self._bases = {(m, i): base_usd(item, m, cfg.cny_per_usd) for m in MARKETS for i, item in cfg.items.items()}
        # (market, item) -> (spots, contracts), one per observation day computed so far
        self._paths = {key: ([base], [base]) for key, base in self._bases.items()}
        self._capacity: dict[str, tuple[float, float]] = {}  # producer -> (capacity scale, day last asked)
        self._payments = Payments(cfg.items, ctx.elements.index)
        self._paying = cfg.payments  # whether payments were ever on: the run then has a payment table
        self._spot = SpotMarket(ctx)
        self._substitutions = Substitutions(ctx)

    @property
    def cfg(self) -> Any:
        """The ``[markets]`` parameters in force (``on_policy``)."""
        return self._cfg

    def on_policy(self, new: Any) -> None:
        """A policy swapped the scenario: when it changed ``[markets]``, the
        steps that ended by now are worked under the old keys and later ones
        under the new. The observation days, the items and their base prices
        stay those the run started with (a policy cannot remove the table)."""
        cfg = new.markets
        if cfg is None or cfg == self._cfg:
            return
        self.sync()
        self._cfg = cfg
        self._paying = self._paying or cfg.payments

    # ------------------------------------------------------------ reading
    def market_of(self, jurisdiction: str) -> str:
        """The market (``china`` or ``outside``) a jurisdiction buys in."""
        return market_of(jurisdiction, self.home)

    def price(self, item: str, market: str, tier: str) -> float:
        """The latest price of ``item`` in ``market`` (``china``, ``outside``),
        ``tier`` ``contract`` or ``spot``, in US dollars per kg."""
        self.sync()
        return self._paths[(market, item)][TIERS.index(tier)][-1]

    def price_at(self, item: str, market: str, tier: str, day: float) -> float:
        """The price in force on ``day``: that of the last observation day on
        or before it (the base before day 0; the latest known if later)."""
        self.sync()
        path = self._paths[(market, item)][TIERS.index(tier)]
        k = bisect.bisect_right(self.days, day) - 1
        return path[min(max(k, 0), len(path) - 1)]

    def ratio(self, market: str, tier: str, day: float) -> float:
        """The price ratio to base on ``day``, averaged over the items."""
        items = self._items
        return sum(self.price_at(i, market, tier, day) / self._bases[(market, i)] for i in items) / len(items)

    def buyer_levels(self, jurisdiction: str, day: float, content: float) -> tuple[float, float]:
        """What a buyer of ``jurisdiction`` does on ``day`` (``responses.py``):
        its content per vehicle after thrifting (from ``content``, never up)
        and the share of its target cover it keeps (destocking)."""
        cfg, market = self.cfg, self.market_of(jurisdiction)
        if cfg.thrift is not None:
            th = cfg.thrift
            content = responses.thrifted(content, self.ratio(market, th.tier, day - th.lag_days),
                                         th.per_doubling, th.max_reduction)
        keep = 1.0
        if cfg.destock is not None:
            ds = cfg.destock
            keep = responses.cover_kept(self.ratio(market, ds.tier, day - ds.lag_days), ds.per_doubling, ds.max_cut)
        return content, keep

    def release_scale(self, jurisdiction: str, day: float) -> float:
        """How many times its ``release_below_days`` a stockpile tops up a
        buyer of ``jurisdiction`` at on ``day`` (``[markets.reserves]``; 1 without it)."""
        res = self.cfg.reserves
        if res is None:
            return 1.0
        ratio = self.ratio(self.market_of(jurisdiction), res.tier, day - res.lag_days)
        return 1.0 + responses.bounded(ratio, res.per_doubling, res.max_increase)

    def next_price_seen(self, first: int, lag: float) -> int | None:
        """The first day >= ``first`` on which a price ``lag`` days old may
        differ from the day before's (an observation day plus ``lag``), or None."""
        k = bisect.bisect_left(self.days, first - lag)
        return math.ceil(self.days[k] + lag) if k < len(self.days) else None

    def capacity_scale(self, producer: str, jurisdiction: str, day: float) -> float:
        """A producer's capacity on ``day``, a share of its own
        (``[markets.supply]``, ``responses.expanded``): 1 in the controlling
        jurisdiction or without the table. The market keeps each producer's
        scale and the day it last asked."""
        sup = self.cfg.supply
        if sup is None or jurisdiction == self.home:
            return 1.0
        scale, since = self._capacity.get(producer, (1.0, day))
        scale = responses.expanded(scale, self.ratio(OUTSIDE, sup.tier, day - sup.lag_days), sup.per_doubling,
                                   sup.max_increase, sup.ramp_per_year, day - since)
        self._capacity[producer] = (scale, day)
        return scale

    def delivered(self, buyer: Any, shp: Any, payee: str | None = None) -> None:
        """A delivery arrived at ``buyer`` today: with ``payments`` it is paid
        to ``payee`` (default: the shipment's supplier) at its tier's price
        (``spot`` and its premium for a spot purchase, else ``contract``) in
        the buyer's market, priced after the run (``payments.py``)."""
        if self.cfg.payments:
            order = shp.order
            self._payments.delivered(self.ctx.clock.now, buyer.name, payee or shp.link.supplier.name,
                                     self.market_of(buyer.jurisdiction), getattr(order, "tier", "contract"),
                                     shp.vec, 1.0 + getattr(order, "premium", 0.0))

    def before_review(self, firm: Any, day: int) -> None:
        """A firm at its review, before it orders: with ``[markets.substitution]``
        it qualifies and moves to a less-controlled grade (``substitution.py``);
        with ``[markets.spot]`` it buys on the spot market if its cover is low
        (``spot.py``)."""
        cfg = self.cfg
        if cfg.substitution is not None:
            self._substitutions.review(cfg.substitution, self, firm, day)
        if cfg.spot is not None:
            self._spot.buy(cfg.spot, firm)

    # ------------------------------------------------------------ working
    def sync(self) -> None:
        """Work the steps whose days every automaker has worked (bringing
        them up to now first)."""
        k = len(self._paths_done())
        if k >= len(self.days) or self.days[k] > int(self.ctx.clock.now) + 1:
            return  # every step is worked, or none can have ended: no automaker is touched
        rows = [b.daily_rows() for b in self._all]
        done = min((len(r[1]) for r in rows), default=self.ctx.clock.days)
        while (k := len(self._paths_done())) < len(self.days) and self.days[k] <= done:
            self._step(self.days[k - 1], self.days[k])

    def finish(self) -> None:
        """The run is over (the automakers have worked every day): the last steps."""
        self.sync()

    def _paths_done(self) -> list[float]:
        return next(iter(self._paths.values()))[0]

    def _means(self, market: str, a: int, b: int) -> tuple[float, float]:
        """A market's mean daily demand and supply (consumption) over days ``a .. b-1``."""
        width = b - a
        demand = supply = 0.0
        for buyer in self._buyers[market]:
            rows = buyer.daily_rows()
            demand += math.fsum(rows[1][a:b])
            supply += math.fsum(rows[2][a:b])
        return demand / width, supply / width

    def _step(self, a: int, b: int) -> None:
        cfg = self.cfg
        for market in MARKETS:
            d0, s = self._means(market, a, b)
            for item in self._items:
                spots, contracts = self._paths[(market, item)]
                spot, contract = step_prices(cfg, self._bases[(market, item)], spots[-1], contracts[-1], d0, s,
                                             float(b - a))
                spots.append(spot)
                contracts.append(contract)

    # ------------------------------------------------------------ the record
    def payment_table(self) -> Table | None:
        """What each delivery was paid (``payments.PAYMENT_COLUMNS``), only
        when ``payments`` was on at some time of the run."""
        return self._payments.table(self.price_at) if self._paying else None

    def table(self) -> Table:
        """Spot and contract prices per observation day, market and item (``prices.parquet``)."""
        self.sync()
        table = Table(PRICE_COLUMNS)
        for market in MARKETS:
            for item in self._items:
                spots, contracts = self._paths[(market, item)]
                for day, sp, co in zip(self.days, spots, contracts, strict=True):
                    table.append(day, market, item, "contract", co)
                    table.append(day, market, item, "spot", sp)
        return table
