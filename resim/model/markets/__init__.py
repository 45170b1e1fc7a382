"""Markets: spot and contract prices per item, in China and outside it,
formed from scarcity (``[markets]``, off by default).

``rules.py`` holds the price rules (pure functions, tested against theory),
``market.py`` the run's market: it forms prices on a fixed step from the
automakers' record as the run goes, and actors read them
(``ctx.markets.price(item, market, tier)``); ``responses.py`` holds what
buyers do at a price (thrifting, destocking), each off unless its table is
given. ``payments.py`` prices each delivery to a buyer (``[markets] payments``).
``book.py`` holds the step and the same rules run after the run over
its record (``scarcity.py``), the reference the market equals when nobody
responds: a run's other records are then those of the run without markets.
"""

from .book import PRICE_COLUMNS, price_table
from .market import Market
from .payments import PAYMENT_COLUMNS

__all__ = ["PAYMENT_COLUMNS", "PRICE_COLUMNS", "Market", "price_table"]
