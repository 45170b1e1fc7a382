"""What every actor shares: identity, a day clock computed on demand, its
connections to links, and the one policy hook.

Parameters come from the frozen scenario (``self.cfg``, looked up again by
name when a policy swaps the scenario); state (stocks, open orders) lives in
the actor, private: every public read brings it up to date first.

Time. Production and consumption happen once per whole day, but nothing is
scheduled for them: between two events that touch an actor its days are a
known function of its state and parameters, so they are worked in one go
(``advance``) when the actor is next read or changed (``sync``). Only the days
with a duty (a review, a dispatch, a stockpile release) are SimPy events. The
convention, as with a daily process: day ``t``'s work happens at time ``t``
after every other event of that time (arrivals and policies of day ``t`` count
for it), actors upstream first (``kernel.DayEvent``).

Connections (as desmod's ``add_connections``/``elaborate``): wiring creates
the links an actor's parameters name and connects them; ``elaborate`` refuses
to start an actor whose connections do not match its parameters.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ...scenario.roles import grades_of

if TYPE_CHECKING:
    from ...scenario import ScenarioBase, SupplierLink
    from ...scenario.registry import ActorKind
    from ..context import Context
    from ..shipping import Link, Shipment

#: How wiring finds a link's parameters in a scenario (by names, not positions).
LinkParams = Callable[["ScenarioBase"], "SupplierLink"]


class Actor(ABC):
    """A named participant in a jurisdiction, with its parameter table."""

    def __init__(self, ctx: Context, kind: ActorKind, cfg: Any):
        self.ctx = ctx
        self.kind = kind
        self.table = kind.table
        self.cfg = cfg
        self.name: str = cfg.name
        self.entry: str = cfg.name  # the scenario entry (a firm of a population has its own name)
        self.jurisdiction: str = cfg.jurisdiction
        self.rank = 0  # position in the upstream-first actor list (set by wiring)
        self.done = 0  # days 0 .. done-1 are worked
        self.customers: list[Link] = []  # links this actor ships on
        #: element tonnes on site after each day's work, when ``output.stocks`` asks for them
        self.stock_rows: list[np.ndarray] | None = [] if ctx.scenario.output.stocks else None
        self._plan_id = 0  # the scheduled duty that is current (older ones are ignored)
        self._last_duty = -1  # the last day whose duties ran: never run a day twice

    @classmethod
    def instances(cls, ctx: Context, kind: ActorKind, cfg: Any) -> list[Actor]:
        """The actors one scenario entry becomes (one, but for populations)."""
        return [cls(ctx, kind, cfg)]

    #: This customer's own chance of approval at a rate in force (a firm of
    #: a population has one); None: the rate itself.
    approval_chance: Callable[[float], float] | None = None

    @property
    def end_use(self) -> str:
        """What the goods it buys are for (licensing decides by it)."""
        return "civil"

    def grade_mix(self) -> np.ndarray:
        """The magnet grades it ships, as shares over the run's grades."""
        return self.ctx.elements.mix(grades_of(self.cfg))

    # ----------------------------------------------------------- connections
    def wanted_suppliers(self) -> list[tuple[str, LinkParams]]:
        """Suppliers this actor orders from, with how to find each link's
        parameters in a scenario (none for an actor that buys nothing)."""
        return []

    def wanted_customers(self) -> list[tuple[str, LinkParams]]:
        """Customers this actor ships to on its own initiative (a stockpile's
        releases); customers that order from it connect themselves."""
        return []

    def connect_supplier(self, link: Link) -> None:
        raise TypeError(f"{self.table} do not buy ({self.name})")

    def connect_customer(self, link: Link) -> None:
        self.customers.append(link)

    def elaborate(self) -> None:
        """Check the connections before the clock starts, then set up what
        needs them (initial stock in the mix of the suppliers)."""
        return None  # an actor that neither buys nor releases: nothing to check

    # ----------------------------------------------------------- the day clock
    def start(self) -> None:
        """Schedule the first duty day."""
        self.plan(0)

    def sync(self) -> None:
        """Work the days that are over before this actor's state is read or
        changed: at time ``s`` days before ``s`` are done (so at a whole time
        ``t``, day ``t`` is not, and an arrival at ``t`` counts for day ``t``);
        during the duties of day ``t``, day ``t`` is done for upstream actors."""
        clock = self.ctx.clock
        rank = clock.duty_rank
        now = clock.now
        upto = math.ceil(now) if rank is None else int(now) + (rank > self.rank)
        if upto > self.done:
            self.advance(upto)

    def advance(self, upto: int) -> None:
        """Work days ``done .. upto-1`` (never past the horizon); one by one
        when the run records every actor's stock by day (``output.stocks``)."""
        upto = min(upto, self.ctx.clock.days)
        if upto > self.done:
            log = self.stock_rows
            if log is None:
                self.work_days(self.done, upto)
            else:
                for day in range(self.done, upto):
                    self.work_days(day, day + 1)
                    log.append(self._held())
            self.done = upto

    @abstractmethod
    def work_days(self, first: int, end: int) -> None:
        """Days ``first .. end-1`` of production or consumption, with no event
        in between."""

    @abstractmethod
    def next_duty(self, first: int) -> int | None:
        """The first day >= ``first`` with a duty, or None for none."""

    @abstractmethod
    def duty(self, day: int) -> None:
        """The duties of ``day`` (this actor's days before it are worked)."""

    def plan(self, first: int) -> None:
        """Schedule the next duty day on or after ``first`` (and after the
        last day whose duties ran); a plan made earlier (under other
        parameters) is dropped."""
        self._plan_id += 1
        day = self.next_duty(max(first, self._last_duty + 1))
        clock = self.ctx.clock
        if day is None or day >= clock.days:
            return
        clock.day_duty(day, self.rank, lambda _e, d=day, p=self._plan_id: self._on_duty(d, p))

    def _on_duty(self, day: int, plan_id: int) -> None:
        if plan_id != self._plan_id:
            return
        clock = self.ctx.clock
        clock.duty_rank = self.rank
        self._last_duty = day
        try:
            self.duty(day)
        finally:
            clock.duty_rank = None
        self.plan(day + 1)

    def on_policy(self, old: ScenarioBase, new: ScenarioBase, changes: Any) -> None:
        """A policy changed the scenario: days before now ran under the old
        parameters; pick up this actor's new ones (by name) and re-plan."""
        self.sync()
        self.cfg = new.find(self.table, self.entry)
        self.plan(math.ceil(self.ctx.clock.now))

    def finish(self) -> None:
        """The run is over: work the remaining days up to the horizon."""
        self.advance(self.ctx.clock.days)

    def period(self, key: str) -> int:
        """A whole number of days from a ``*_days`` period parameter, read
        from the parameters in force (a policy may change it)."""
        return max(1, int(getattr(self.cfg, key) + 0.5))

    def next_multiple(self, first: int, key: str) -> int:
        """The first day >= ``first`` that is a multiple of the period ``key``."""
        p = self.period(key)
        return -(-first // p) * p

    def stock_vec(self) -> np.ndarray:
        """Element tonnes held on site, up to date (conservation checks)."""
        self.sync()
        return self._held()

    @abstractmethod
    def _held(self) -> np.ndarray:
        """Element tonnes held on site now (state already worked up to now)."""

    # -- what arrives or comes back (buyers and suppliers override)
    def receive(self, shp: Shipment) -> None:
        raise TypeError(f"{self.name} receives nothing")

    def cancel(self, shp: Shipment) -> None:
        """A parcel sent to this actor was finally refused at the border."""
        raise TypeError(f"{self.name} receives nothing")

    def returned(self, shp: Shipment) -> None:
        raise TypeError(f"{self.name} ships nothing")

    def licence_decided(self, link: Link, review_days: float) -> None:
        """An application for goods to this actor on ``link`` was decided after
        ``review_days`` (buyers that learn lead times may use it)."""
        return None

    def on_announcement(self, step: Any) -> None:
        """A policy taking effect on ``step.day`` was announced today."""
        return None

    def flies_licensed(self) -> bool:
        """Whether a licensed parcel to this actor should fly (an emergency)."""
        return False
