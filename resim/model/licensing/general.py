"""General licences: one per exporter-customer pair, lasting ``lifetime_days``
(optionally capped at ``quantity_cap_t``), renewed ``renewal_lead_days``
before expiry. A renewal not approved by expiry leaves a gap: shipments on
the pair wait until a licence is granted.

The first controlled parcel of a pair without a valid licence waits and
files the application (one at a time per pair); with ``filing = "on_order"``
the pair's first order files it, so the review runs while the goods are made.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..shipping import Link, Shipment
from .controls import licence_kind
from .filing import Filer
from .licences import GeneralLicence, LicenceBook
from .office import Application

if TYPE_CHECKING:
    from ..context import Context


class GeneralLicensing:
    """Files, decides and renews each pair's general licence and ships the
    parcels it covers."""

    def __init__(self, ctx: Context, filer: Filer, book: LicenceBook):
        self.ctx = ctx
        self.clock = ctx.clock
        self.filer = filer
        self.book = book

    @property
    def params(self) -> Any:
        return self.ctx.scenario

    def request(self, shp: Shipment) -> None:
        """A controlled parcel is ready: ship it under the pair's licence, or
        queue it (cut to the cap first) and file if nothing is pending."""
        for part in self._cap_sized(shp):
            self._request(part)

    def order_accepted(self, link: Link) -> None:
        """Filing on order: the pair's first order (no licence valid, none
        pending) files the general licence."""
        gl = self.book.of(link)
        if gl.pending is None and not self.clock.now < gl.expiry:
            self.file(gl, renewal=False)

    def _cap_sized(self, shp: Shipment) -> list[Shipment]:
        """The parcel, or equal parts of it no larger than the licence cap in
        force (no general licence could ever cover it whole)."""
        cap = self.params.controls.quantity_cap_t
        if cap is None or shp.mass <= cap:
            return [shp]
        return shp.link.split(shp, math.ceil(shp.mass / cap))

    def fit_to_cap(self, gl: GeneralLicence) -> None:
        """Re-cut waiting parcels when a policy has lowered the cap."""
        parts = [part for shp in gl.waiting for part in self._cap_sized(shp)]
        gl.waiting.clear()
        gl.waiting.extend(parts)

    def _request(self, shp: Shipment) -> None:
        gl = self.book.of(shp.link)
        if not gl.waiting and gl.covers(self.clock.now, shp.mass):
            self._ship(gl, shp)
        else:
            gl.waiting.append(shp)
            if gl.pending is None:
                self.file(gl, renewal=False)

    def _ship(self, gl: GeneralLicence, shp: Shipment) -> None:
        gl.cap_left -= shp.mass
        self.filer.use_quota(shp.mass)
        shp.licensed = True
        shp.link.depart(shp)

    def file(self, gl: GeneralLicence, renewal: bool, attempt: int = 1, aid: int | None = None) -> None:
        cap = self.params.controls.quantity_cap_t
        app = self.filer.new("general", gl.link, gl, cap if cap is not None else math.nan, attempt, aid, renewal)
        gl.pending = app
        self.filer.file(app)

    def decided(self, app: Application, approved: bool, expiry: float) -> None:
        gl: GeneralLicence = app.subject
        if gl.pending is not app:
            return
        if approved:
            self._granted(gl, expiry)
        elif not self.filer.retry(app, self._resubmit):
            # Finally refused. Parcels still waiting are ones the current
            # licence (if any) cannot cover - it has expired or its cap is
            # spent - so they go back and their orders are cancelled.
            gl.pending = None
            while gl.waiting:
                gl.link.give_back(gl.waiting.popleft())

    def _granted(self, gl: GeneralLicence, expiry: float) -> None:
        """A licence until ``expiry``: plan its renewal, ship what it covers,
        and apply again if its cap cannot cover what still waits."""
        ctl = self.params.controls
        gl.grant(expiry, ctl.quantity_cap_t)
        at = max(0.0, expiry - ctl.renewal_lead_days - self.clock.now)
        self.clock.after(at, lambda _e, g=gl, x=expiry: self._renew(g, x))
        self.fit_to_cap(gl)
        now = self.clock.now
        while gl.waiting and gl.covers(now, gl.waiting[0].mass):
            self._ship(gl, gl.waiting.popleft())
        if gl.waiting:  # the cap ran out: apply again
            self.file(gl, renewal=False)

    def _resubmit(self, app: Application) -> None:
        gl = app.subject
        if gl.pending is app:
            self.file(gl, app.renewal, app.attempt + 1, app.id)

    def _renew(self, gl: GeneralLicence, expiry: float) -> None:
        """File the renewal of the licence expiring at ``expiry`` unless a newer
        licence or an application already covers the pair, or its exporter
        no longer gets general licences."""
        if (gl.expiry == expiry and gl.pending is None
                and licence_kind(self.params.controls, gl.link) == "general"):
            self.file(gl, renewal=True)
