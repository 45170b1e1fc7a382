"""The licensing authority: which parcels need a licence, who applies, how
applications are decided, and what a decision does.

* ``per_shipment``: every controlled parcel needs its own licence ("one batch,
  one licence", facts.md §1), filed when the goods are ready or, with
  ``filing = "on_order"``, when the order is accepted (``shipments.py``).
* ``general``: a licence per exporter-customer pair lasting ``lifetime_days``
  (``general.py``); ``general_licence_exporters`` get general licences while
  the others file per shipment (the December 2025 regime).
* Decisions use the rates in force *when the decision is made* (with
  ``approval_path``, the base rate of that day: ``approval.py``); a rejected
  exporter resubmits after ``resubmit_days`` up to ``max_attempts``; a final
  rejection returns the goods and cancels the customer's order. With
  ``partial_approval`` a shipment licence may grant only part of the tonnes.
* ``annual_quota_t``: tonnes licensed per calendar year, issued in
  ``quota_batches`` equal batches; once the batches issued are spent, new
  applications wait for the next batch (1 January with one) (``filing.py``).
* ``[controls.customs]``: parcels that need no licence but share a customs
  code with controlled ones may be held at the border (``customs.py``).

The review itself (stages, reviewers, rework) is ``office.py``; this module
routes parcels and orders, decides applications and keeps the records.
"""

from __future__ import annotations

import math
from collections import deque
from operator import call
from typing import TYPE_CHECKING, Any

from ..calendar import WorkCalendar
from ..kernel import NORMAL
from ..records import Table
from ..shipping import Link, Order, Shipment
from . import controls
from .approval import RatePath
from .customs import Customs
from .filing import Filer
from .general import GeneralLicensing
from .licences import LicenceBook
from .office import Application, ReviewOffice, SourceStreams
from .per_shipment import ShipmentLicensing

if TYPE_CHECKING:
    from ...scenario import ScenarioBase
    from ..context import Context

_drain = deque(maxlen=0).extend

BASE_COLUMNS = (
    "application_id", "kind", "exporter", "customer", "destination", "end_use", "attempt",
    "renewal", "tonnes", "submitted_day", "decided_day", "outcome", "licence_expiry_day",
)


def licence_columns(stages: list[str]) -> tuple[str, ...]:
    return (
        *BASE_COLUMNS,
        *(f"wait_{s}" for s in stages),
        *(f"service_{s}" for s in stages),
        *(f"visits_{s}" for s in stages),
    )


def _calendar(scn: Any) -> WorkCalendar:
    lic = scn.licensing
    return WorkCalendar(scn.scenario.start_date, lic.holidays, int(scn.scenario.horizon) + 400,
                        lic.extra_working_days)


def _multiplier(lic: Any, destination: str, end_use: str) -> float:
    """The approval multiplier of a destination and end use: the pair's own
    path if listed, else the destination's times the end use's."""
    pair = lic.approval_by_destination_and_end_use.get(destination, {}).get(end_use)
    if pair is not None:
        return float(pair)
    return lic.approval_by_destination.get(destination, 1.0) * lic.approval_by_end_use.get(end_use, 1.0)


class Authority:
    """Routes controlled parcels and orders to the licences they need,
    decides applications and records them.

    Parameters are read from the scenario in force (``ctx.scenario``) when
    they are used; what is cached from them (the office's stages, the
    sources' distributions, approval rates) is renewed by ``on_policy``.
    """

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.clock = ctx.clock
        self._schedule = ctx.clock.scheduler()
        scn = ctx.scenario
        lic = scn.licensing  # type: ignore[attr-defined]
        self.office = ReviewOffice(self.clock, lic, _calendar(scn), self._reviewed)
        self.stage_names = list(self.office.names)
        self.filer = Filer(ctx, self.office)
        self.book = LicenceBook()
        self.general = GeneralLicensing(ctx, self.filer, self.book)
        self.shipments = ShipmentLicensing(ctx, self.filer, self._file_anew)
        self.held = self.shipments.held  # per-shipment parcels awaiting their own licence
        self.customs = Customs(ctx)  # parcels that need no licence, held at the border for a while
        self.background = SourceStreams(ctx.streams, "licensing/background", lic)
        self._bg_gap = ctx.streams.uniforms("licensing/background/arrivals").draw
        self._bg_running = False
        self._bg_event = self.clock.triggered()  # rescheduled for each background arrival
        self._bg_callbacks = [self._background_arrival]
        self.keep_background = scn.keeps_background_records
        # Records are columnar (SPEC §5): a row is appended value by value, so
        # no per-application tuple stays alive for the garbage collector to
        # walk (full collections over ~1e5 live tuples cost ~15% of a run).
        self._table = Table(licence_columns(self.stage_names))
        self._append = [self._table.data[c].append for c in self._table.columns]
        self._approval: dict[tuple[str, str], float] = {}
        #: Reviewed applications waiting for a decision while their destination is stalled.
        self._stalled: list[Application] = []
        self._stall = frozenset(lic.stalled_destinations)
        self._path: RatePath | None = None  # the approval path in force, if any (made when first used)

    @property
    def params(self) -> Any:
        """The scenario in force."""
        return self.ctx.scenario

    # ------------------------------------------------------------ setup
    def connect(self, link: Link) -> None:
        """Wiring connects a link: its exporter-customer pair may need licences."""
        self.book.add(link)

    def start(self) -> None:
        self._maybe_start_background()

    def on_policy(self, old: ScenarioBase, new: ScenarioBase, changes: Any) -> None:
        """A policy changed the scenario (reviewers, rates, modes, ...)."""
        ctl, old_ctl = new.controls, old.controls  # type: ignore[attr-defined]
        lic, old_lic = new.licensing, old.licensing  # type: ignore[attr-defined]
        self._approval.clear()
        self._path = None
        if lic.extra_working_days != old_lic.extra_working_days:
            self.office.calendar = _calendar(new)  # services already running keep their end
        self.office.apply(lic)
        self.background.refresh(lic)
        for src in self.filer.sources.values():
            src.refresh(lic)
        self._refile_per_shipment(old_ctl, ctl)
        self._release_decontrolled()
        if ctl.quantity_cap_t != old_ctl.quantity_cap_t:
            for gl in self.book:
                self.general.fit_to_cap(gl)
        self._maybe_start_background(restart=lic.background != old_lic.background)
        self._resume(frozenset(lic.stalled_destinations))

    def _refile_per_shipment(self, old_ctl: Any, ctl: Any) -> None:
        """An exporter's licences became per shipment: each parcel waiting for
        its general licence needs a licence of its own."""
        for gl in self.book:
            new_kind = controls.licence_kind(ctl, gl.link)
            if gl.waiting and new_kind == "per_shipment" and controls.licence_kind(old_ctl, gl.link) != new_kind:
                while gl.waiting:
                    self.shipments.file_parcel(gl.waiting.popleft())

    # ------------------------------------------------------------ background load
    def _maybe_start_background(self, restart: bool = False) -> None:
        """Start the Poisson stream of background files; ``restart`` redraws
        the next arrival at the rate now in force (exact: arrivals are
        memoryless), discarding the one drawn at the old rate."""
        bg = self.params.licensing.background
        # read once per change, not per arrival (on_policy restarts the stream when it changes)
        self._bg_rate, self._bg_to = bg.applications_per_day, (bg.destination, bg.end_use)
        if restart and self._bg_running:
            self._bg_event = self.clock.triggered()  # the old one, still queued, is ignored when it fires
            self._bg_running = False
        if not self._bg_running and self._bg_rate > 0:
            self._bg_running = True
            self._schedule_background()

    def _schedule_background(self) -> None:
        ev = self._bg_event
        ev.callbacks = self._bg_callbacks
        self._schedule(ev, NORMAL, -math.log(1.0 - self._bg_gap()) / self._bg_rate)

    def _background_arrival(self, event: Any) -> None:
        if event is not self._bg_event:
            return  # drawn at a rate a policy has since changed
        destination, end_use = self._bg_to
        self.office.submit(Application(self.filer.next_aid(), "background", self.background, self.office.n,
                                       "", "", destination, end_use))
        self._schedule_background()

    # ------------------------------------------------------------ parcels and orders
    def needs_licence(self, shp: Shipment) -> bool:
        return controls.needs_licence(self.params.controls, self.ctx.elements.controlled_mask, shp)

    def request(self, shp: Shipment) -> None:
        """A parcel is ready on its link: ship it (after customs), or hold it
        for a licence."""
        if not self.needs_licence(shp):
            self.customs.clear(shp)
            return
        kind = controls.licence_kind(self.params.controls, shp.link)
        if kind == "per_shipment" or self.shipments.has_order_licence(shp):
            self.shipments.request(shp)  # its own licence, or its order's (which it uses up first)
        else:
            self.general.request(shp)

    def _file_anew(self, shp: Shipment) -> None:
        """A parcel its order's licence cannot cover after a policy changed
        how its exporter files: a general licence or its own application."""
        if controls.licence_kind(self.params.controls, shp.link) == "general":
            self.general.request(shp)
        else:
            self.shipments.file_parcel(shp)

    def order_accepted(self, order: Order) -> None:
        """A supplier accepted ``order``: an exporter that files on order
        applies now for the goods that will need a licence."""
        scn = self.params
        if scn.licensing.filing != "on_order":
            return
        ctl = scn.controls
        tonnes = controls.licensed_tonnes(ctl, self.ctx.elements.controlled_mask, order.link, order.qty)
        if tonnes <= 0.0:
            return
        if controls.licence_kind(ctl, order.link) == "general":
            self.general.order_accepted(order.link)
        else:
            self.shipments.order_accepted(order, tonnes)

    def _release_decontrolled(self) -> None:
        """Parcels that no longer need a licence (controls lifted, elements
        de-listed, a higher de minimis) leave now; their pending applications
        run on unheeded."""
        self.shipments.release(self.needs_licence)
        for gl in self.book:
            if gl.waiting and not any(self.needs_licence(s) for s in gl.waiting):
                while gl.waiting:
                    gl.link.depart(gl.waiting.popleft())

    # ------------------------------------------------------------ decisions
    def approval_probability(self, app: Application) -> float:
        """The one place a decision's probability is computed: the rate in
        force for its destination and end use, through its customer's
        propensity (a firm of a population has its own chance)."""
        key = (app.destination, app.end_use)
        p = self._approval.get(key)
        if p is None:  # rates in force now (the cache is emptied by ``on_policy``)
            lic = self.params.licensing
            m = _multiplier(lic, app.destination, app.end_use)
            if lic.approval_path:  # the base rate moves: not cached
                p = min(1.0, self._path_rate(lic) * m)
            else:
                p = self._approval[key] = min(1.0, lic.approval_rate * m)
        # a firm's own chance at this rate (its approval propensity)
        return p if app.chance is None else app.chance(p)

    def _path_rate(self, lic: Any) -> float:
        """The base rate today on ``approval_path``."""
        if self._path is None:
            self._path = RatePath(lic.approval_path, self.params.scenario.start_date)
        return self._path(self.clock.now)

    def _resume(self, stall: frozenset[str]) -> None:
        """A policy changed which destinations are stalled: the applications
        of destinations no longer stalled are decided now, in review order."""
        self._stall = stall
        if self._stalled:
            waiting, self._stalled = self._stalled, []
            for app in waiting:
                self._reviewed(app)

    def _reviewed(self, app: Application) -> None:
        if self._stall and app.destination in self._stall:
            self._stalled.append(app)  # no decision until a policy lifts the stall
            return
        now = self.clock.now
        approved = app.source.decision() < self.approval_probability(app)
        outcome = "approved" if approved else "rejected"
        if app.kind == "background":  # decided and recorded; nothing waits on it
            self._record(app, now, outcome, math.nan)
            return
        expiry, fraction = self._terms(app, now) if approved else (math.nan, 1.0)
        self._record(app, now, outcome, expiry)
        if app.link is not None:  # the buyer learns how long reviews take
            app.link.customer.licence_decided(app.link, now - app.submitted)
        if app.kind == "shipment":
            self.shipments.decided(app, approved, fraction, expiry)
        elif app.kind == "general":
            self.general.decided(app, approved, expiry)

    def _terms(self, app: Application, now: float) -> tuple[float, float]:
        """An approval's expiry, and the share of the tonnes asked it grants
        (a shipment licence may grant part of them: ``partial_approval``)."""
        ctl = self.params.controls
        if app.kind == "general":
            return now + controls.lifetime_days(ctl, app.link), 1.0
        partial = self.params.licensing.partial_approval
        fraction = 1.0 if partial is None else app.source.approved_fraction(partial)
        return now + ctl.shipment_validity_days, fraction

    # ------------------------------------------------------------ records
    def _record(self, app: Application, decided: float, outcome: str, expiry: float) -> None:
        if app.kind == "background" and not self.keep_background:
            return
        row = (
            app.id, app.kind, app.exporter, app.customer, app.destination, app.end_use,
            app.attempt, app.renewal, app.tonnes, app.submitted, decided, outcome, expiry,
            *app.wait, *app.service, *app.visits,
        )
        _drain(map(call, self._append, row))  # one list.append per column, looped in C

    def licence_table(self, horizon: float) -> Table:
        """Every decided application, plus those still pending at the horizon."""
        queued = {a.id: s for s, q in enumerate(self.office.queues) for a in q}
        for app in list(self.office.live.values()) + self.filer.quota_waiting + self._stalled:
            s = queued.get(app.id)
            if s is not None:  # waiting in stage s's queue at the horizon
                app.wait[s] += horizon - app.arrived
            self._record(app, math.nan, "pending", math.nan)
        return self._table
