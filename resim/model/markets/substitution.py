"""Grade substitution after a qualification delay (``[markets.substitution]``,
off by default).

At each review a firm not yet qualifying checks its trigger: it is short
that day (``on_shortfall``) or its market's price ratio has reached
``trigger_ratio``. It then draws its qualification time (its own stream,
``markets/substitution/<firm>``) and, that many days later, orders in a mix
with ``share`` of its other grades' tonnes moved to ``grade``: the same
tonnes, less Dy and Tb. It builds in that mix from the first review at which
the grades on hand make at least as many kits of it as of the old mix, so the
switch itself never stops a day's build. A firm none of whose suppliers
offers ``grade`` never substitutes. Three events per firm:
``substitution_triggered`` (value: the qualification days drawn),
``substitution_qualified`` and ``substitution_built`` (value: the share moved).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_NEVER = float("inf")


def moved_mix(mix: np.ndarray, target: int, share: float) -> np.ndarray:
    """``mix`` with ``share`` of every other grade's share moved to grade
    ``target``: the shares still sum as before."""
    moved = mix * share
    moved[target] = 0.0
    out = mix - moved
    out[target] += float(moved.sum())
    return out


class Substitutions:
    """Each firm's qualification: the day its new grade is qualified, and
    whether it has ordered and built in the new mix."""

    def __init__(self, ctx: Any):
        self.ctx = ctx
        self._ready: dict[str, float] = {}  # firm -> day qualified (inf: never)
        self._stage: dict[str, str] = {}  # firm -> "ordering" or "built"

    def review(self, cfg: Any, market: Any, firm: Any, day: int) -> None:
        """A firm at its review, before it orders."""
        ready = self._ready.get(firm.name)
        if ready is None:
            if self._triggered(cfg, market, firm, day):
                self._start(cfg, firm, day)
        else:
            self._advance(cfg, firm, day, ready)

    def _advance(self, cfg: Any, firm: Any, day: int, ready: float) -> None:
        """A qualifying firm: orders the new mix once qualified, then builds in it."""
        name = firm.name
        stage = self._stage.get(name)
        if stage is None and day >= ready:
            self._qualified(cfg, firm, day)
        elif stage == "ordering" and firm.build_in_order_mix():
            self._stage[name] = "built"
            self.ctx.records.events.append(day, "substitution_built", name, cfg.share)

    def _triggered(self, cfg: Any, market: Any, firm: Any, day: int) -> bool:
        if cfg.on_shortfall and firm.is_short():
            return True
        ratio = cfg.trigger_ratio
        return ratio is not None and market.ratio(market.market_of(firm.jurisdiction), cfg.tier, day) >= ratio

    def _start(self, cfg: Any, firm: Any, day: int) -> None:
        index = self.ctx.elements.grade_index.get(cfg.grade)
        offered = index is not None and any(float(np.asarray(lk.supplies)[index]) > 0 for lk in firm.links)
        if not offered:
            self._ready[firm.name] = _NEVER
            return
        days = float(self.ctx.streams.stream(f"markets/substitution/{firm.name}", cfg.qualification_days)())
        self._ready[firm.name] = day + days
        self.ctx.records.events.append(day, "substitution_triggered", firm.name, days)

    def _qualified(self, cfg: Any, firm: Any, day: int) -> None:
        index = self.ctx.elements.grade_index[cfg.grade]
        firm.order_in(moved_mix(firm.buying_mix(), index, cfg.share))
        self._stage[firm.name] = "ordering"
        self.ctx.records.events.append(day, "substitution_qualified", firm.name, cfg.share)
