"""The licence review office: a network of FIFO multi-reviewer stages.

An application visits the stages in order (technical, security, issuance by
default). Each stage is a pool of reviewers (finite or infinite) with a FIFO
queue and a duration distribution, optionally in working days. A stage may
send a file back for rework; the exporter fixes it and it re-enters that
stage's queue. After the last stage the application is decided (see
``authority.py``).

Speed by design (SPEC §5): no process and no ``Resource`` per application.
Each service or fix is one scheduled SimPy event with a callback, queues are
deques and reviewer pools are counters - the pattern that ran 4.5x faster
than idiomatic SimPy on this machine. Each application is its own SimPy
event (``kernel.SelfEvent``), rescheduled for each of its services with
the clock's ``scheduler()`` and a delay; its callbacks list is a shared one-element
list holding the bound method ``_done`` (or ``_fixed``), so a visit
allocates neither a ``Timeout`` nor a closure, and filing one allocates no
``Event``. (An application has at most one pending event: it is queued, in
service or being fixed.)

The office keeps time integrals per stage (its only running state besides the
queues), so Little's law and utilisation can be checked against the
application records: the queue-length integral is brought up to date whenever
a queue changes (never while a stage has free reviewers), the busy-reviewer
integral adds each service's length when it starts and, at the end, takes off
what runs past the horizon, and the reviewer-days integral only moves when a
policy changes capacity.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..calendar import WorkCalendar
from ..kernel import NORMAL, SelfEvent
from ..records import Table

if TYPE_CHECKING:
    from ...scenario.distributions import DistSpec
    from ...scenario.schema import Licensing
    from ..kernel import Clock
    from ..randomness import Stream, Streams


class Application(SelfEvent):
    """One application (one attempt) moving through the office. It is its
    own SimPy event (``kernel.SelfEvent``), rescheduled for each service."""

    __slots__ = (
        "id", "kind", "exporter", "customer", "destination", "end_use", "attempt",
        "tonnes", "submitted", "arrived", "wait", "service", "visits", "source",
        "subject", "renewal", "stage", "until", "chance", "link",
    )

    def __init__(self, aid: int, kind: str, source: SourceStreams, n_stages: int,
                 exporter: str = "", customer: str = "", destination: str = "other",
                 end_use: str = "civil", attempt: int = 1, tonnes: float = math.nan,
                 subject: Any = None, renewal: bool = False,
                 chance: Callable[[float], float] | None = None, link: Any = None):
        self.callbacks = None  # SelfEvent's, set here to spare a call per application
        self.id = aid
        self.kind = kind
        self.exporter = exporter
        self.customer = customer
        self.destination = destination
        self.end_use = end_use
        self.attempt = attempt
        self.tonnes = tonnes
        self.source = source
        self.subject = subject  # the shipment or link this application is for
        self.renewal = renewal
        self.chance = chance  # the customer's own chance at a given rate (firm propensity), if any
        self.link = link  # the exporter-customer link it is for (none for background files)
        self.submitted = -1.0  # set when filed (quota-held files keep their filing day)
        self.arrived = 0.0
        self.wait = [0.0] * n_stages
        self.service = [0.0] * n_stages
        self.visits = [0] * n_stages
        self.stage = 0  # the stage it is at (or was sent back to)
        self.until = 0.0  # end of its latest service


class SourceStreams:
    """The random streams of one source of applications (the background, or
    one exporter-customer link), so that a change elsewhere does not shift them
    (common random numbers)."""

    def __init__(self, streams: Streams, prefix: str, lic: Licensing):
        self._streams = streams
        self._prefix = prefix
        self._durations = [streams.stream(f"{prefix}/{s.name}/duration", s.duration) for s in lic.stages]
        self.rework = streams.uniforms(f"{prefix}/rework").draw
        self._fix = streams.stream(f"{prefix}/rework/fix", lic.rework.fix_days)
        self.decision = streams.uniforms(f"{prefix}/decision").draw
        self._resubmit = streams.stream(f"{prefix}/resubmit", lic.resubmit_days)
        self._partial: Stream | None = None  # made on first use: scenarios without partial approvals never draw
        self._bind()

    def _bind(self) -> None:
        self.durations = [s.draw for s in self._durations]
        self.fix = self._fix.draw
        self.resubmit = self._resubmit.draw

    def refresh(self, lic: Licensing) -> None:
        for stream, stage in zip(self._durations, lic.stages, strict=True):
            stream.set_dist(stage.duration)
        self._fix.set_dist(lic.rework.fix_days)
        self._resubmit.set_dist(lic.resubmit_days)
        if self._partial is not None and lic.partial_approval is not None:
            self._partial.set_dist(lic.partial_approval)
        self._bind()

    def approved_fraction(self, dist: DistSpec) -> float:
        """The share of the tonnes asked that an approval grants, drawn from
        ``dist`` (the ``partial_approval`` in force)."""
        if self._partial is None:
            self._partial = self._streams.stream(f"{self._prefix}/partial", dist)
        return self._partial.draw()


class ReviewOffice:
    """Stages, reviewers and queues. Calls ``on_reviewed(app)`` when an
    application leaves the last stage.

    Hot path, per visit: ``_arrive`` -> ``_start`` -> the application's event
    scheduled at the end of the service -> ``_done`` (the stage served is
    ``app.stage``).
    """

    def __init__(self, clock: Clock, lic: Licensing, calendar: WorkCalendar | None,
                 on_reviewed: Callable[[Application], None]):
        self.clock = clock
        self.on_reviewed = on_reviewed
        self.names = [s.name for s in lic.stages]
        n = len(self.names)
        self.n = n
        self.queues: list[deque[Application]] = [deque() for _ in range(n)]
        self.busy = [0] * n
        self.live: dict[int, Application] = {}
        # Time integrals over [0, now] (see ``stage_table``).
        self.q_area = [0.0] * n  # queue length: brought up to date whenever a queue changes
        self.b_area = [0.0] * n  # busy reviewers: each service adds its length when it starts
        self.r_area = [0.0] * n  # reviewers available: piecewise constant (policies)
        self.q_last = [0.0] * n
        self.r_last = 0.0
        self.arrivals = [0] * n
        self.calendar = calendar
        self.cap: list[float] = [0.0] * n
        self._schedule = clock.scheduler()
        self._done_callbacks = [self._done]
        self._fixed_callbacks = [self._fixed]
        self.apply(lic)

    def apply(self, lic: Licensing) -> None:
        """(Re)read parameters; a policy may add reviewers or change rates."""
        now = self.clock.now
        self._tick_reviewers(now)
        self.cap = [s.reviewers for s in lic.stages]
        self.rework_p = lic.rework.probability
        self.rework_stage = self.names.index(lic.rework.stage) if lic.rework.stage in self.names else -1
        self.working = lic.working_days and self.calendar is not None
        for s in range(self.n):  # more reviewers: start waiting files now
            q = self.queues[s]
            while q and self.busy[s] < self.cap[s]:
                self._tick_queue(s, now)
                self._start(q.popleft(), s, now)

    def _tick_queue(self, s: int, now: float) -> None:
        """Bring stage ``s``'s queue-length integral up to ``now`` (call before
        the queue changes)."""
        self.q_area[s] += len(self.queues[s]) * (now - self.q_last[s])
        self.q_last[s] = now

    def _tick_reviewers(self, now: float) -> None:
        dt = now - self.r_last
        if dt:
            for s, cap in enumerate(self.cap):
                self.r_area[s] += (cap if cap != math.inf else 0.0) * dt
            self.r_last = now

    def submit(self, app: Application) -> None:
        now = self.clock.now
        if app.submitted < 0.0:
            app.submitted = now
        self.live[app.id] = app
        self._arrive(app, 0, now)

    def _arrive(self, app: Application, s: int, now: float) -> None:
        app.arrived = now
        self.arrivals[s] += 1
        if self.busy[s] < self.cap[s]:
            self._start(app, s, now)
        else:
            q = self.queues[s]
            self.q_area[s] += len(q) * (now - self.q_last[s])  # inline _tick_queue
            self.q_last[s] = now
            q.append(app)

    def _start(self, app: Application, s: int, now: float) -> None:
        self.busy[s] += 1
        app.wait[s] += now - app.arrived
        app.visits[s] += 1
        app.stage = s
        d = app.source.durations[s]()
        if self.working:
            d = self.calendar.end(now, d) - now  # type: ignore[union-attr]
        app.service[s] += d
        app.until = now + d
        self.b_area[s] += d
        app.callbacks = self._done_callbacks
        self._schedule(app, NORMAL, d)

    def _done(self, app: Application) -> None:
        """A reviewer finished an application at its stage ``app.stage``."""
        s = app.stage
        now = self.clock.now
        busy = self.busy[s] - 1
        self.busy[s] = busy
        q = self.queues[s]
        if q and busy < self.cap[s]:
            self.q_area[s] += len(q) * (now - self.q_last[s])  # inline _tick_queue
            self.q_last[s] = now
            self._start(q.popleft(), s, now)
        if s == self.rework_stage and self.rework_p > 0.0 and app.source.rework() < self.rework_p:
            app.callbacks = self._fixed_callbacks
            self._schedule(app, NORMAL, app.source.fix())
        elif s + 1 < self.n:
            self._arrive(app, s + 1, now)
        else:
            del self.live[app.id]
            self.on_reviewed(app)

    def _fixed(self, app: Application) -> None:
        """The exporter has fixed the file: back into its stage's queue."""
        self._arrive(app, app.stage, self.clock.now)

    def close(self, horizon: float) -> None:
        """Bring the time integrals up to the horizon."""
        for s in range(self.n):
            self._tick_queue(s, horizon)
        self._tick_reviewers(horizon)

    def stage_table(self, horizon: float) -> Table:
        """One row per stage: the office's integrals over [0, horizon].

        ``busy_area`` counts each service from its start, less the part of
        services still running at the horizon that falls after it.
        """
        self.close(horizon)
        over = [0.0] * self.n
        for app in self.live.values():
            if app.until > horizon:  # in service at the horizon
                over[app.stage] += app.until - horizon
        t = Table(("stage", "horizon_days", "arrivals", "queue_area", "busy_area",
                   "reviewer_area", "reviewers", "in_queue_at_end", "in_service_at_end"))
        for s, name in enumerate(self.names):
            t.append(name, horizon, self.arrivals[s], self.q_area[s], self.b_area[s] - over[s],
                     self.r_area[s], self.cap[s], len(self.queues[s]), self.busy[s])
        return t
