"""The licensing authority: which parcels need a licence, who applies, how
applications are decided, and how licences cover links over time.

* ``per_shipment``: every controlled parcel needs its own licence ("one batch,
  one licence", facts.md §1). The parcel waits with its goods reserved.
* ``general``: a licence per exporter-customer link lasting ``lifetime_days``
  (optionally capped at ``quantity_cap_t``), renewed ``renewal_lead_days``
  before expiry. A renewal not approved by expiry leaves a gap: shipments on
  the link wait until a licence is granted.
* Decisions use the rates in force *when the decision is made*; a rejected
  exporter resubmits after ``resubmit_days`` up to ``max_attempts``; a final
  rejection returns the goods and cancels the customer's order.
* ``annual_quota_t``: tonnes licensed per calendar year; once spent, new
  applications wait for 1 January.

The review itself (stages, reviewers, rework) is ``office.py``; this module
only files applications and acts on decisions.
"""

from __future__ import annotations

import math
from collections import deque
from operator import call
from typing import TYPE_CHECKING, Any

from ..kernel import NORMAL, triggered
from ..records import Table
from ..shipping import Link, Shipment
from ..workdays import WorkCalendar
from .licences import GeneralLicence, LicenceBook
from .office import Application, ReviewOffice, SourceStreams

if TYPE_CHECKING:
    from ..context import Context
    from ..scenario import ScenarioBase

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


class Authority:
    """Files applications, decides them and keeps each pair's general licence.

    Parameters are read from the scenario in force (``ctx.scenario``) when
    they are used; what is cached from them (the office's stages, the
    sources' distributions, approval rates) is renewed by ``on_policy``.
    """

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.env = ctx.clock.env
        scn = ctx.scenario
        lic = scn.licensing  # type: ignore[attr-defined]
        cal = WorkCalendar(scn.scenario.start_date, lic.holidays, int(scn.scenario.horizon) + 400)  # type: ignore[attr-defined]
        self.office = ReviewOffice(self.env, lic, cal, self._reviewed)
        self.stage_names = list(self.office.names)
        self.background = SourceStreams(ctx.streams, "licensing/background", lic)
        self._bg_gap = ctx.streams.uniforms("licensing/background/arrivals").draw
        self._bg_running = False
        self._bg_event = triggered(self.env)  # rescheduled for each background arrival
        self._bg_callbacks = [self._background_arrival]
        self.sources: dict[str, SourceStreams] = {}
        self.book = LicenceBook()
        self.keep_background = scn.keeps_background_records
        # Records are columnar (SPEC §5): a row is appended value by value, so
        # no per-application tuple stays alive for the garbage collector to
        # walk (full collections over ~1e5 live tuples cost ~15% of a run).
        self._table = Table(licence_columns(self.stage_names))
        self._append = [self._table.data[c].append for c in self._table.columns]
        self._approval: dict[tuple[str, str], float] = {}
        self.held: dict[int, Shipment] = {}  # per-shipment parcels awaiting a licence
        self.next_id = 0
        self.quota_used: dict[int, float] = {}
        self.quota_waiting: list[Application] = []

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
        """A policy changed the scenario (reviewers, rates, mode, ...)."""
        ctl, old_ctl = new.controls, old.controls  # type: ignore[attr-defined]
        lic = new.licensing  # type: ignore[attr-defined]
        self._approval.clear()
        self.office.apply(lic)
        self.background.refresh(lic)
        for src in self.sources.values():
            src.refresh(lic)
        if ctl.licence_mode != old_ctl.licence_mode and ctl.licence_mode == "per_shipment":
            for gl in self.book:  # each waiting parcel now needs its own licence
                while gl.waiting:
                    self._file_shipment(gl.waiting.popleft())
        self._release_decontrolled()
        if ctl.quantity_cap_t != old_ctl.quantity_cap_t:
            for gl in self.book:
                self._fit_to_cap(gl)
        self._maybe_start_background(restart=lic.background != old.licensing.background)  # type: ignore[attr-defined]

    def _source(self, link: Link) -> SourceStreams:
        src = self.sources.get(link.key)
        if src is None:
            src = SourceStreams(self.ctx.streams, f"licensing/link/{link.key}", self.params.licensing)
            self.sources[link.key] = src
        return src

    # ------------------------------------------------------------ background load
    def _maybe_start_background(self, restart: bool = False) -> None:
        """Start the Poisson stream of background files; ``restart`` redraws
        the next arrival at the rate now in force (exact: arrivals are
        memoryless), discarding the one drawn at the old rate."""
        if restart and self._bg_running:
            self._bg_event = triggered(self.env)  # the old one, still queued, is ignored when it fires
            self._bg_running = False
        if not self._bg_running and self.params.licensing.background.applications_per_day > 0:
            self._bg_running = True
            self._schedule_background()

    def _schedule_background(self) -> None:
        rate = self.params.licensing.background.applications_per_day
        if rate <= 0:
            self._bg_running = False
            return
        ev = self._bg_event
        ev.callbacks = self._bg_callbacks
        self.env.schedule(ev, NORMAL, -math.log(1.0 - self._bg_gap()) / rate)

    def _background_arrival(self, event: Any) -> None:
        if event is not self._bg_event:
            return  # drawn at a rate a policy has since changed
        bg = self.params.licensing.background
        self.next_id += 1
        self.office.submit(Application(self.next_id, "background", self.background, self.office.n,
                                       "", "", bg.destination, bg.end_use))
        self._schedule_background()

    # ------------------------------------------------------------ shipments
    def needs_licence(self, shp: Shipment) -> bool:
        ctl = self.params.controls
        link = shp.link
        if ctl.licence_mode == "none" or not link.crosses_border:
            return False
        if link.supplier.jurisdiction != ctl.jurisdiction or link.customer.jurisdiction == ctl.jurisdiction:
            return False
        if shp.mass <= 0:
            return False
        return float(shp.vec @ self.ctx.elements.controlled_mask) / shp.mass > ctl.de_minimis

    def request(self, shp: Shipment) -> None:
        """A parcel is ready on its link: ship it, or hold it for a licence."""
        if not self.needs_licence(shp):
            shp.link.depart(shp)
            return
        if self.params.controls.licence_mode == "per_shipment":
            self._file_shipment(shp)
        else:
            for part in self._cap_sized(shp):
                self._request_general(part)

    def _cap_sized(self, shp: Shipment) -> list[Shipment]:
        """The parcel, or equal parts of it no larger than the licence cap in
        force (no general licence could ever cover it whole)."""
        cap = self.params.controls.quantity_cap_t
        if cap is None or shp.mass <= cap:
            return [shp]
        return shp.link.split(shp, math.ceil(shp.mass / cap))

    def _fit_to_cap(self, gl: GeneralLicence) -> None:
        """Re-cut waiting parcels when a policy has lowered the cap."""
        parts = [part for shp in gl.waiting for part in self._cap_sized(shp)]
        gl.waiting.clear()
        gl.waiting.extend(parts)

    def _request_general(self, shp: Shipment) -> None:
        gl = self.book.of(shp.link)
        if not gl.waiting and gl.covers(self.env.now, shp.mass):
            self._ship_under_licence(gl, shp)
        else:
            gl.waiting.append(shp)
            if gl.pending is None:
                self._file_general(gl, renewal=False)

    def _ship_under_licence(self, gl: GeneralLicence, shp: Shipment) -> None:
        gl.cap_left -= shp.mass
        self._use_quota(shp.mass)
        shp.link.depart(shp)

    def _release_decontrolled(self) -> None:
        """Parcels that no longer need a licence (controls lifted, elements
        de-listed, a higher de minimis) leave now; their pending applications
        run on unheeded."""
        for sid, shp in list(self.held.items()):
            if not self.needs_licence(shp):
                del self.held[sid]
                shp.link.depart(shp)
        for gl in self.book:
            if gl.waiting and not any(self.needs_licence(s) for s in gl.waiting):
                while gl.waiting:
                    gl.link.depart(gl.waiting.popleft())

    # ------------------------------------------------------------ filing
    def _new(self, kind: str, link: Link, subject: Any, tonnes: float, attempt: int,
             aid: int | None = None, renewal: bool = False) -> Application:
        if aid is None:
            self.next_id += 1
            aid = self.next_id
        cust = link.customer
        return Application(aid, kind, self._source(link), self.office.n, exporter=link.supplier.name,
                           customer=cust.name, destination=cust.jurisdiction,
                           end_use=cust.end_use, attempt=attempt,
                           tonnes=tonnes, subject=subject, renewal=renewal,
                           chance=getattr(cust, "approval_chance", None))

    def _file_shipment(self, shp: Shipment, attempt: int = 1, aid: int | None = None) -> None:
        self.held[shp.id] = shp
        self._file(self._new("shipment", shp.link, shp, shp.mass, attempt, aid))

    def _file_general(self, gl: GeneralLicence, renewal: bool, attempt: int = 1, aid: int | None = None) -> None:
        cap = self.params.controls.quantity_cap_t
        app = self._new("general", gl.link, gl, cap if cap is not None else math.nan, attempt, aid, renewal)
        gl.pending = app
        self._file(app)

    def _file(self, app: Application) -> None:
        app.submitted = self.env.now  # a file held by the quota waits from today
        quota = self.params.controls.annual_quota_t
        calendar = self.ctx.calendar
        if quota is not None and self.quota_used.get(calendar.year_of(self.env.now), 0.0) >= quota:
            if not self.quota_waiting:
                wait = calendar.next_new_year(self.env.now) - self.env.now
                self.env.timeout(wait).callbacks.append(self._new_year)
            self.quota_waiting.append(app)
            return
        self.office.submit(app)

    def _new_year(self, _event: Any) -> None:
        waiting, self.quota_waiting = self.quota_waiting, []
        for app in waiting:
            self.office.submit(app)

    def _use_quota(self, tonnes: float) -> None:
        if self.params.controls.annual_quota_t is not None:
            year = self.ctx.calendar.year_of(self.env.now)
            self.quota_used[year] = self.quota_used.get(year, 0.0) + tonnes

    # ------------------------------------------------------------ decisions
    def approval_probability(self, app: Application) -> float:
        """The chance the decision on ``app`` is an approval: the rate in force
        for its destination and end use, through its customer's propensity."""
        key = (app.destination, app.end_use)
        p = self._approval.get(key)
        if p is None:  # rates in force now (the cache is emptied by ``apply``)
            lic = self.params.licensing
            p = lic.approval_rate
            p *= lic.approval_by_destination.get(app.destination, 1.0)
            p *= lic.approval_by_end_use.get(app.end_use, 1.0)  # type: ignore[call-overload]
            p = self._approval[key] = min(1.0, p)
        # a firm's own chance at this rate (its approval propensity)
        return p if app.chance is None else app.chance(p)

    def _reviewed(self, app: Application) -> None:
        now = self.env.now
        approved = app.source.decision() < self.approval_probability(app)
        ctl = self.params.controls
        expiry = math.nan
        if approved:
            if app.kind == "shipment":
                expiry = now + ctl.shipment_validity_days
            elif app.kind == "general":
                expiry = now + ctl.lifetime_days
        self._record(app, now, "approved" if approved else "rejected", expiry)
        if app.kind == "shipment":
            self._shipment_decided(app, approved)
        elif app.kind == "general":
            self._general_decided(app, approved, expiry)

    def _retry(self, app: Application) -> bool:
        """Schedule a resubmission if attempts remain."""
        if app.attempt >= self.params.licensing.max_attempts:
            return False
        delay = app.source.resubmit()
        self.env.timeout(delay).callbacks.append(lambda _e, a=app: self._resubmit(a))
        return True

    def _resubmit(self, app: Application) -> None:
        if app.kind == "shipment":
            shp = app.subject
            if shp.id in self.held:  # still waiting (not released by a policy)
                self._file_shipment(shp, app.attempt + 1, app.id)
        else:
            gl = app.subject
            if gl.pending is app:
                self._file_general(gl, app.renewal, app.attempt + 1, app.id)

    def _shipment_decided(self, app: Application, approved: bool) -> None:
        shp: Shipment = app.subject
        if shp.id not in self.held:
            return  # released meanwhile (controls lifted)
        if approved:
            del self.held[shp.id]
            self._use_quota(shp.mass)
            shp.link.depart(shp)
        elif not self._retry(app):
            del self.held[shp.id]
            shp.link.give_back(shp)

    def _general_decided(self, app: Application, approved: bool, expiry: float) -> None:
        gl: GeneralLicence = app.subject
        if gl.pending is not app:
            return
        if approved:
            ctl = self.params.controls
            gl.grant(expiry, ctl.quantity_cap_t)
            at = max(0.0, expiry - ctl.renewal_lead_days - self.env.now)
            self.env.timeout(at).callbacks.append(lambda _e, g=gl, x=expiry: self._renew(g, x))
            self._fit_to_cap(gl)
            now = self.env.now
            while gl.waiting and gl.covers(now, gl.waiting[0].mass):
                self._ship_under_licence(gl, gl.waiting.popleft())
            if gl.waiting:  # the cap ran out: apply again
                self._file_general(gl, renewal=False)
        elif not self._retry(app):
            # Finally refused. Parcels still waiting are ones the current
            # licence (if any) cannot cover - it has expired or its cap is
            # spent - so they go back and their orders are cancelled.
            gl.pending = None
            while gl.waiting:
                gl.link.give_back(gl.waiting.popleft())

    def _renew(self, gl: GeneralLicence, expiry: float) -> None:
        """File the renewal of the licence expiring at ``expiry`` unless a newer
        licence or an application already covers the pair."""
        if gl.expiry == expiry and gl.pending is None and self.params.controls.licence_mode == "general":
            self._file_general(gl, renewal=True)

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
        queued = {a.id for q in self.office.queues for a in q}
        for app in list(self.office.live.values()) + self.quota_waiting:
            if app.id in queued:
                s = next(i for i, q in enumerate(self.office.queues) if any(a is app for a in q))
                app.wait[s] += horizon - app.arrived
            self._record(app, math.nan, "pending", math.nan)
        return self._table
