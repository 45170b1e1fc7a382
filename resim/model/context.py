"""What an actor may use: the narrow context of one replication.

Actors, links and the licensing authority receive this instead of the whole
model (a service locator invites reaching into anything): the clock, the
calendar, named random streams, ids, the element index, the material ledger,
the record tables, the licensing authority's public interface, and the
scenario in force (parameters, swapped whole when a policy changes them).
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .kernel import Clock
from .randomness import Streams
from .records import Table

if TYPE_CHECKING:
    from ..scenario import ScenarioBase


class Calendar:
    """Calendar years of simulation days: quotas run per calendar year."""

    def __init__(self, start: date, horizon: float):
        self.start = start
        origin = start.toordinal()
        self._new_years = [
            float(date(y, 1, 1).toordinal() - origin)
            for y in range(start.year + 1, start.year + 2 + int(horizon // 365) + 1)
        ]
        self._batches: dict[int, list[float]] = {}

    def year_of(self, t: float) -> int:
        """Calendar year of simulation time ``t``."""
        return self.start.year + bisect.bisect_right(self._new_years, t)

    def next_new_year(self, t: float) -> float:
        """Simulation time of the first 1 January after ``t``."""
        i = bisect.bisect_right(self._new_years, t)
        return self._new_years[i] if i < len(self._new_years) else math.inf

    def _batch_days(self, batches: int) -> list[float]:
        """Simulation times at which the year's quota batches are issued after
        1 January: every ``12 / batches`` months (1 July for two)."""
        days = self._batches.get(batches)
        if days is None:
            step, origin = 12 // batches, self.start.toordinal()
            days = [float(date(y, 1 + k * step, 1).toordinal() - origin)
                    for y in range(self.start.year, self.start.year + 2 + len(self._new_years))
                    for k in range(1, batches)]
            self._batches[batches] = days
        return days

    def batches_issued(self, t: float, batches: int) -> int:
        """How many of the ``batches`` equal batches of the calendar year of
        ``t`` have been issued by ``t`` (the first on 1 January)."""
        if batches == 1:
            return 1
        days = self._batch_days(batches)
        year = bisect.bisect_right(self._new_years, t)
        year_start = self._new_years[year - 1] if year else -math.inf
        return 1 + bisect.bisect_right(days, t) - bisect.bisect_right(days, year_start)

    def next_batch(self, t: float, batches: int) -> float:
        """Simulation time of the first batch issue (or 1 January) after ``t``."""
        if batches == 1:
            return self.next_new_year(t)
        days = self._batch_days(batches)
        i = bisect.bisect_right(days, t)
        return min(days[i] if i < len(days) else math.inf, self.next_new_year(t))


class Elements:
    """The element and grade indexes of a run: element vectors, grade
    contents (a magnet quantity is a vector over grades, its element content
    that vector times ``grade_matrix``), and which elements are controlled
    under the controls in force."""

    def __init__(self, symbols: list[str], grades: dict[str, Any], controlled: list[str]):
        self.symbols = symbols
        self.index = {e: i for i, e in enumerate(symbols)}
        self._grades = {name: self.vec(g.content) for name, g in grades.items()}
        self.grade_names = sorted(grades)
        self.grade_index = {g: i for i, g in enumerate(self.grade_names)}
        self.grade_matrix = (np.array([self._grades[g] for g in self.grade_names])
                             if grades else np.zeros((0, len(symbols))))
        self.controlled_mask = self.mask(controlled)
        self._controlled_grades: tuple[Any, float, list[int]] = (None, math.nan, [])

    def controlled_grades(self, mask: np.ndarray, de_minimis: float) -> list[int]:
        """The grades whose share of the elements of ``mask`` is above
        ``de_minimis``: asked for every order and licence on a hot path, so
        the last answer is kept while the same mask and threshold are asked
        (a policy replaces the mask, never changes it in place)."""
        cached_mask, cached_dm, grades = self._controlled_grades
        if mask is not cached_mask or de_minimis != cached_dm:
            grades = np.flatnonzero(self.grade_matrix @ mask > de_minimis).tolist()
            self._controlled_grades = (mask, de_minimis, grades)
        return grades

    @property
    def n(self) -> int:
        return len(self.symbols)

    def vec(self, mapping: dict[str, float]) -> np.ndarray:
        out = np.zeros(len(self.symbols))
        for e, x in mapping.items():
            out[self.index[e]] = x
        return out

    def mask(self, symbols: list[str]) -> np.ndarray:
        wanted = set(symbols)
        return np.array([1.0 if e in wanted else 0.0 for e in self.symbols])

    def grade(self, name: str) -> np.ndarray:
        """Element tonnes per tonne of magnet of grade ``name``."""
        return self._grades[name]

    def mix(self, shares: dict[str, float]) -> np.ndarray:
        """A vector over grades from ``{grade: share}``."""
        out = np.zeros(len(self.grade_names))
        for g, x in shares.items():
            out[self.grade_index[g]] = x
        return out

    def content(self, grades: np.ndarray) -> np.ndarray:
        """Element tonnes of a quantity of magnets given per grade."""
        return grades @ self.grade_matrix

    def zeros(self) -> np.ndarray:
        return np.zeros(len(self.symbols))


def _column(name: str, doc: str) -> property:
    """A ledger column, read-only from outside (``ledger.produced``)."""
    return property(lambda self: getattr(self, f"_{name}"), doc=doc)


class Ledger:
    """Element tonnes by where they are or went, for the conservation check:
    initial + produced = consumed + lost + on site + in transit + reserved
    (held at the border) + recycling (consumed, on its way back).

    Actors and links say what happened to goods (``produce``, ``reserve``,
    ``depart``...); each method moves tonnes between the columns it names, so
    the balance holds by construction wherever it is called from. The
    columns are read-only outside this class."""

    COLUMNS = ("initial", "produced", "consumed", "lost", "in_transit", "reserved", "recycling")
    __slots__ = tuple(f"_{c}" for c in COLUMNS)

    initial = _column("initial", "on site at day 0")
    produced = _column("produced", "made from nothing upstream (mined, recovered from scrap)")
    consumed = _column("consumed", "used up by buyers (built into vehicles)")
    lost = _column("lost", "lost in processing (tailings)")
    in_transit = _column("in_transit", "on their way on a link")
    reserved = _column("reserved", "handed to a link, not yet gone (held for a licence)")
    recycling = _column("recycling", "consumed, and on their way back to stock")

    def __init__(self, n: int):
        for c in self.COLUMNS:
            setattr(self, f"_{c}", np.zeros(n))

    # -- on site, from outside the chain or out of it
    def opening_stock(self, vec: np.ndarray) -> None:
        """Goods an actor holds at day 0."""
        self._initial += vec

    def produce(self, vec: np.ndarray) -> None:
        """Goods that enter the chain (a mine's output)."""
        self._produced += vec

    def lose(self, vec: np.ndarray) -> None:
        """Goods lost in processing (a separator's tailings)."""
        self._lost += vec

    def consume(self, vec: np.ndarray) -> None:
        """Goods used up for good."""
        self._consumed += vec

    # -- on links
    def reserve(self, vec: np.ndarray) -> None:
        """Goods taken from stock and handed to a link: held until they leave."""
        self._reserved += vec

    def depart(self, vec: np.ndarray) -> None:
        """Held goods leave: they are in transit."""
        self._reserved -= vec
        self._in_transit += vec

    def arrive(self, vec: np.ndarray) -> None:
        """Goods in transit arrive: they are on the customer's site."""
        self._in_transit -= vec

    def give_back(self, vec: np.ndarray) -> None:
        """Held goods refused a licence go back to the exporter's stock."""
        self._reserved -= vec

    # -- recycling
    def to_recycling(self, vec: np.ndarray) -> None:
        """Goods used up that will come back (recycled magnets)."""
        self._recycling += vec

    def recycled(self, vec: np.ndarray) -> None:
        """Recycled goods are back in stock."""
        self._recycling -= vec

    def as_dict(self) -> dict[str, np.ndarray]:
        return {c: getattr(self, f"_{c}").copy() for c in self.COLUMNS}


class Recorder:
    """The append-only tables actors and links write during a run (the
    automakers' daily rows and the licence table are gathered at the end)."""

    def __init__(self) -> None:
        self.flows = Table(("day", "origin", "destination", "product", "tonnes"))
        self.costs = Table(("day", "automaker", "usd"))
        self.events = Table(("day", "kind", "key", "value"))


class Licensing(Protocol):
    """The licensing authority's face to links and suppliers: a parcel asks
    to leave; an accepted order is announced (exporters may file on order)."""

    def request(self, shp: Any) -> None:
        """Ship the parcel (a ``shipping.Shipment``) now, or hold it until a
        licence allows it. (Typed loosely: shipping depends on this module.)"""

    def order_accepted(self, order: Any) -> None:
        """A supplier accepted ``order``; its goods are not made yet."""


@dataclass(eq=False)
class Context:
    """Everything one replication's actors share (and nothing more)."""

    scenario: ScenarioBase
    clock: Clock
    calendar: Calendar
    streams: Streams
    elements: Elements
    ledger: Ledger
    records: Recorder
    licensing: Licensing | None = None
    #: the run's market (``markets.Market``), only with ``[markets]``: prices by day
    markets: Any = None
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
