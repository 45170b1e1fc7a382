"""Markets: spot and contract prices per item, in China and outside it,
formed from scarcity (``[markets]``, off by default).

``rules.py`` holds the price rules (pure functions, tested against theory),
``scarcity.py`` reads each market's demand and supply from the automakers'
daily record, and ``book.py`` runs the rules over the run's days into the
price table (``prices.parquet``). Prices do not feed back into the chain yet:
they are observed from it, so a run's other records are those of the same run
without markets.
"""

from .book import PRICE_COLUMNS, price_table

__all__ = ["PRICE_COLUMNS", "price_table"]
