"""Customs treatment of parcels that need no licence (``[controls.customs]``).

Under controls, customs see one code for a controlled product whatever its
grade: in April-May 2025 Chinese customs cleared all NdFeB magnets under one
HS code, so magnets without Dy/Tb waited too while exporters documented that
they held no controlled element (facts.md §1). A parcel of such a product
that crosses the controlled border without needing a licence is held with
probability ``share_held`` for a ``delay`` (calendar days) drawn for it, and
leaves when the delay ends. The share and the delay in force when the parcel
is ready decide; a parcel already held keeps its release day when a policy
lifts the treatment.

Each link has its own two streams (held or not, and the delay), made the
first time the link meets the treatment: a scenario without it draws nothing,
and under common random numbers a parcel's fate does not depend on other
links' parcels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import controls

if TYPE_CHECKING:
    from ..context import Context
    from ..randomness import Stream
    from ..shipping import Link, Shipment


class Customs:
    """Holds uncontrolled parcels of a controlled product at the border."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self._streams: dict[str, tuple[Any, Stream]] = {}

    def clear(self, shp: Shipment) -> None:
        """A parcel that needs no licence is ready: it leaves now, or when
        customs release it."""
        link = shp.link
        ctl = self.ctx.scenario.controls  # type: ignore[attr-defined]
        cus = ctl.customs
        if cus is None or cus.share_held <= 0.0 or not self._applies(cus, ctl, link):
            link.depart(shp)
            return
        held, delay = self._link_streams(link, cus.delay)
        if held() >= cus.share_held:
            link.depart(shp)
            return
        self.ctx.clock.after(delay(), lambda _e, s=shp: s.link.depart(s))

    @staticmethod
    def _applies(cus: Any, ctl: Any, link: Link) -> bool:
        return link.product_name in cus.products and controls.crosses_controls(ctl, link)

    def _link_streams(self, link: Link, dist: Any) -> tuple[Any, Stream]:
        """The link's held/not draw and its delay stream, under ``dist``."""
        pair = self._streams.get(link.key)
        if pair is None:
            streams = self.ctx.streams
            name = f"link/{link.key}/customs"
            pair = self._streams[link.key] = (streams.uniforms(f"{name}/held").draw,
                                               streams.stream(f"{name}/delay", dist))
        pair[1].set_dist(dist)  # a no-op unless a policy changed it
        return pair
