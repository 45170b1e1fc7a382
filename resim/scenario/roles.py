"""The roles an actor's table can play, as small interfaces.

The scenario checks, the model's element index and the run report ask an
entry what it *does*, never what its keys are called: a mine is an element
source because its table says so (``ElementSource``), not because it has a
key named ``composition``. A kind's table class declares its roles by
inheriting them (``class MineTable(ActorTable, ElementSource, Producer)``) and
answers each role's one or two questions from its own keys, whatever their
names. The kind-level roles (the product it ships, the product it buys, and
whether buyers may order from it) are declared where the kind is registered
(``registry.ActorKind``).

The roles are abstract base classes rather than protocols so that playing one
is a declaration (``isinstance`` is a class check, not a probe of attributes)
and a table that claims a role without answering its questions cannot be
built.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from typing import Any, ClassVar, NamedTuple


class ElementSource(ABC):
    """Brings elements into the chain from outside it (a mine's ore, a
    recycler's scrap): what a maker's grades need must come from a source
    upstream of it, and a run indexes every element a source can bring."""

    @abstractmethod
    def source_elements(self) -> Collection[str]:
        """The element symbols it can ship."""


class Orders(ABC):
    """Buys from suppliers named in its table (a buyer)."""

    #: The key of its table that lists them (errors point at it).
    suppliers_key: ClassVar[str] = "suppliers"

    @abstractmethod
    def supplier_links(self) -> Sequence[Any]:
        """Its supplier links (``chain.SupplierLink``, which builds on this
        module), in the order its table lists them."""


class Producer(ABC):
    """Makes or works goods at a daily rate (its size in the report)."""

    @abstractmethod
    def daily_t(self) -> float:
        """Tonnes a day it makes or works at most."""


class StockHolder(ABC):
    """Holds a stock it does not make (its size in the report)."""

    @abstractmethod
    def held_t(self) -> float:
        """Tonnes it holds at the start."""


class GradeHolder(ABC):
    """Makes or holds magnets of named grades: each must have a
    ``[grades.NAME]`` table, and a buyer of them needs their elements."""

    @abstractmethod
    def grade_shares(self) -> dict[str, float]:
        """Grade name -> share of what it makes or holds."""

    @abstractmethod
    def grades_key(self) -> str:
        """The key of its table that names them (errors point at it)."""


class Recipients(NamedTuple):
    """Entries an actor ships to on its own initiative."""

    key: str  #: the key of its table that names them
    table: str  #: the table they are entries of
    names: list[str]


class Releaser(ABC):
    """Ships goods unasked to named entries of another table (a stockpile's
    releases): those names must exist, wiring links them, and the goods must
    be of a grade they use."""

    @abstractmethod
    def recipients(self) -> Recipients:
        """Who it ships to."""


def grades_of(cfg: Any) -> dict[str, float]:
    """The grades an entry makes or holds (none unless it is a ``GradeHolder``)."""
    return cfg.grade_shares() if isinstance(cfg, GradeHolder) else {}


def suppliers_of(cfg: Any) -> Sequence[Any]:
    """An entry's supplier links (none unless it ``Orders``)."""
    return cfg.supplier_links() if isinstance(cfg, Orders) else ()


def recipients_of(cfg: Any) -> list[str]:
    """The names an entry releases to (none unless it is a ``Releaser``)."""
    return cfg.recipients().names if isinstance(cfg, Releaser) else []


#: Every role, for listing what a kind plays.
ROLES: tuple[type, ...] = (ElementSource, Orders, Producer, StockHolder, GradeHolder, Releaser)
