"""The simulation kernel: SimPy, and the one place resim uses its internals.

Why a shim: resim's hot paths (the review office, shipments, the actors' day
clock) run hundreds of thousands of events per replication, and three SimPy
idioms cost more than the work they schedule: a ``Timeout`` object per
service, a closure per callback, and a property call per read of the clock.
So the office schedules each application as its own event (a
``SelfEvent``: SimPy's ``step`` reads only ``callbacks`` and ``_ok`` of what it
pops), rescheduled with ``env.schedule`` (``Clock.scheduler()``) for each
service; other reused events are ``triggered`` ones read with ``value_of``;
everything else schedules through the ``Clock``'s methods (``after``,
``day_duty``, ``process``, ``timeout``): no module but this one holds the
SimPy environment. Actors read the time through ``Clock.now``; whole-day duties are ``DayEvent``s ordered after every
ordinary event of their time. All of these touch SimPy's private attributes
(``_now``, ``_eid``, ``_ok``, ``_value``), which is why they live here, pinned to
a SimPy version range in pyproject.toml and checked by
``tests/test_kernel.py``: if SimPy renames an internal, that test fails,
not a simulation.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Generator
from typing import Any

import simpy
from simpy.core import NORMAL
from simpy.events import Event

#: The SimPy releases whose internals this module was checked against.
SIMPY_VERSIONS = ">=4.1,<4.2"

__all__ = ["NORMAL", "SIMPY_VERSIONS", "Clock", "DayEvent", "Event", "SelfEvent", "triggered", "value_of"]

#: The payload of a triggered event, read without ``Event.value``'s checks
#: (a C-level getter on the office's hot path).
value_of: Callable[[Event], Any] = operator.attrgetter("_value")


def triggered(env: simpy.Environment, value: Any = None) -> Event:
    """An event already succeeded with ``value``: schedule it with
    ``env.schedule(event, NORMAL, delay)`` as often as needed, setting its
    ``callbacks`` before each (it is reused, never re-created)."""
    ev = Event(env)
    ev._ok = True
    ev._value = value
    return ev


class SelfEvent:
    """An object SimPy can schedule as an event of its own, already
    succeeded: ``env.schedule(obj, NORMAL, delay)`` after setting
    ``obj.callbacks``; each callback receives the object itself. It saves an
    ``Event`` per object and a read of its value per firing (the review
    office's applications, three or more firings each). Subclasses add their
    own ``__slots__``."""

    __slots__ = ("callbacks",)
    _ok = True  # always succeeded (SimPy's ``step`` reads it after the callbacks)

    def __init__(self) -> None:
        self.callbacks: list[Callable[[Any], None]] | None = None


class DayEvent(Event):
    """A whole-day duty of the actor of position ``rank``: fires after every
    ``NORMAL`` event of its time, and after the duties of upstream actors
    (SimPy orders its queue by ``(time, priority, id)``)."""

    def __init__(self, env: simpy.Environment, delay: float, rank: int, callback: Callable[[Any], None]):
        self.env = env
        self.callbacks = [callback]
        self._value = None
        self._ok = True
        env.schedule(self, NORMAL + 1 + rank, delay)


class Clock:
    """Simulation time in days for one replication: the SimPy environment,
    the horizon, and the bookkeeping of the day clock (which actor is doing
    its day's duties)."""

    __slots__ = ("env", "horizon", "days", "duty_rank")

    def __init__(self, horizon: float):
        self.env = simpy.Environment()
        self.horizon = float(horizon)
        self.days = int(-(-self.horizon // 1))  # whole days worked: 0 .. days-1
        self.duty_rank: int | None = None  # rank of the actor doing its day's duties, if any

    @property
    def now(self) -> float:
        return self.env._now

    def after(self, delay: float, callback: Callable[[Any], None]) -> None:
        """Call ``callback(event)`` ``delay`` days from now."""
        self.env.timeout(delay).callbacks.append(callback)

    def triggered(self, value: Any = None) -> Event:
        """A reusable event, already succeeded with ``value``: set its
        ``callbacks`` and hand it to ``scheduler()`` as often as needed."""
        return triggered(self.env, value)

    def scheduler(self) -> Callable[[Any, int, float], None]:
        """SimPy's ``schedule(event, priority, delay)``, bound, for hot paths
        that reschedule their own events (``triggered`` events and
        ``SelfEvent``s, priority ``NORMAL``): asked for once, it saves a call
        per event."""
        return self.env.schedule

    def process(self, generator: Generator[Any, Any, Any]) -> None:
        self.env.process(generator)

    def timeout(self, delay: float) -> Event:
        return self.env.timeout(delay)

    def day_duty(self, day: int, rank: int, callback: Callable[[Any], None]) -> None:
        """Run ``callback`` at whole time ``day`` after that time's other events."""
        DayEvent(self.env, day - self.env._now, rank, callback)

    def run(self) -> None:
        self.env.run(until=self.horizon)

    def close(self) -> None:
        """Drop the events still queued past the horizon (they hold callbacks
        into the model): the run is over."""
        self.env._queue.clear()

    def events_scheduled(self) -> int:
        """Events scheduled so far (SimPy's event id counter)."""
        return next(self.env._eid)
