"""Filing applications for exporter-customer links: application ids, each
link's own random streams, the annual quota and resubmissions.

Shipment and general licences are filed the same way, so this is shared by
both (``shipments.py``, ``general.py``): an application is numbered, draws
from its link's streams (so a change on one link leaves every other link's
draws alone: common random numbers), waits for the quota's next batch (1
January with one batch a year) when the batches issued so far are spent, and
after a rejection is filed again after a ``resubmit_days`` draw while
attempts remain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..shipping import Link
from .office import Application, ReviewOffice, SourceStreams

if TYPE_CHECKING:
    from ..context import Context


class Filer:
    """Numbers, files and refiles applications; keeps the quota count."""

    def __init__(self, ctx: Context, office: ReviewOffice):
        self.ctx = ctx
        self.clock = ctx.clock
        self.office = office
        self.sources: dict[str, SourceStreams] = {}
        self.next_id = 0
        self.quota_used: dict[int, float] = {}
        self.quota_waiting: list[Application] = []

    def next_aid(self) -> int:
        self.next_id += 1
        return self.next_id

    def source(self, link: Link) -> SourceStreams:
        """The random streams of ``link``'s applications."""
        src = self.sources.get(link.key)
        if src is None:
            src = SourceStreams(self.ctx.streams, f"licensing/link/{link.key}", self.ctx.scenario.licensing)  # type: ignore[attr-defined]
            self.sources[link.key] = src
        return src

    def new(self, kind: str, link: Link, subject: Any, tonnes: float, attempt: int,
            aid: int | None = None, renewal: bool = False) -> Application:
        """An application by ``link``'s exporter for its customer; a
        resubmission keeps the id ``aid`` of its first attempt."""
        if aid is None:
            aid = self.next_aid()
        cust = link.customer
        return Application(aid, kind, self.source(link), self.office.n, exporter=link.supplier.name,
                           customer=cust.name, destination=cust.jurisdiction,
                           end_use=cust.end_use, attempt=attempt,
                           tonnes=tonnes, subject=subject, renewal=renewal,
                           chance=cust.approval_chance, link=link)

    def file(self, app: Application) -> None:
        """Into review now, or when the next batch of the quota is issued (1
        January with one batch a year) if the batches issued are spent."""
        now = self.clock.now
        app.submitted = now  # a file held by the quota waits from today
        controls = self.ctx.scenario.controls  # type: ignore[attr-defined]
        calendar = self.ctx.calendar
        if controls.annual_quota_t is not None and self._spent(now, controls):
            if not self.quota_waiting:
                self.clock.after(calendar.next_batch(now, controls.quota_batches) - now, self._new_year)
            self.quota_waiting.append(app)
            return
        self.office.submit(app)

    def _spent(self, now: float, controls: Any) -> bool:
        """Whether this year's tonnes so far reach the batches issued so far."""
        n = controls.quota_batches
        issued = controls.annual_quota_t
        if n > 1:
            issued = issued * self.ctx.calendar.batches_issued(now, n) / n
        return self.quota_used.get(self.ctx.calendar.year_of(now), 0.0) >= issued

    def _new_year(self, _event: Any) -> None:
        """A new batch (1 January with one batch a year): the held files go
        into review."""
        waiting, self.quota_waiting = self.quota_waiting, []
        for app in waiting:
            self.office.submit(app)

    def use_quota(self, tonnes: float) -> None:
        """Tonnes leaving under a licence count toward this year's quota."""
        if self.ctx.scenario.controls.annual_quota_t is not None:  # type: ignore[attr-defined]
            year = self.ctx.calendar.year_of(self.clock.now)
            self.quota_used[year] = self.quota_used.get(year, 0.0) + tonnes

    def retry(self, app: Application, resubmit: Callable[[Application], None]) -> bool:
        """After a rejection: call ``resubmit(app)`` after a ``resubmit_days``
        draw if attempts remain (and say whether they did)."""
        if app.attempt >= self.ctx.scenario.licensing.max_attempts:  # type: ignore[attr-defined]
            return False
        delay = app.source.resubmit()
        self.clock.after(delay, lambda _e, a=app: resubmit(a))
        return True
