"""Firm populations: the firms of one ``[[automakers]]`` entry.

Each firm has a fixed uniform ``u`` per trait, drawn from a stream named by
the entry and the trait, firm ``i`` taking the ``i``-th draw: so firm ``i`` is
the same firm in every scenario of a comparison, and adding firms keeps the
first ones. A trait's value is the quantile of the entry's distribution at
``u`` (``Distribution.quantile``): a policy or a sweep that changes the
distribution moves every firm but keeps its rank.

Approval propensity: a firm's standing ``u`` turns the approval rate ``p`` in
force into its own chance ``BetaInv(u; p k, (1 - p) k)`` with concentration
``k = 1 / spread - 1``. Over firms the chances average ``p`` exactly (for any
``p``: a Beta(pk, (1-p)k) has mean p) and their variance is
``spread x p (1 - p)``, so ``approval_spread`` is the share of the variance of
approvals that lies between firms: 0 is today's independent coin flips, 1 a
firm that is either always approved or always refused. A firm keeps its rank
when a policy changes ``p``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..context import Context

TRAITS = ("initial_inventory_days", "target_days", "size", "approval_standing", "anticipation", "grade")


class Population:
    """The firms of one entry: their uniforms and the values they give under
    the entry's parameters in force."""

    def __init__(self, ctx: Context, cfg: Any):
        self.n: int = cfg.firms
        self.entry: str = cfg.name
        self._u = {t: ctx.streams.vector(f"firms/{cfg.name}/{t}", self.n) for t in TRAITS}
        self._cfg: Any = None
        self._chances: dict[float, np.ndarray] = {}
        self.refresh(cfg)

    def firm_name(self, i: int) -> str:
        """The entry's own name for a single firm (so a one-firm entry is the
        aggregate buyer it always was), ``"NAME #i"`` (1-based) otherwise."""
        return self.entry if self.n == 1 else f"{self.entry} #{i + 1}"

    def refresh(self, cfg: Any) -> None:
        """The entry's parameters (a policy may have changed them)."""
        if cfg is self._cfg:
            return
        self._cfg = cfg
        u = self._u
        self.initial_days = cfg.initial_inventory_days.quantile(u["initial_inventory_days"])
        self.target_days = cfg.target_days.quantile(u["target_days"])
        size = cfg.size.quantile(u["size"])
        total = float(size.sum())
        self.share = size / total if total > 0 else np.full(self.n, 1.0 / self.n)
        self._chances.clear()

    def standing(self, i: int) -> float:
        return float(self._u["approval_standing"][i])

    def grade_of(self, i: int, mix: np.ndarray) -> np.ndarray:
        """With ``grade_choice = "per_firm"``: firm ``i``'s one grade, drawn
        with the shares of ``mix`` (its uniform against their cumulative sum),
        as a one-hot mix; else ``mix`` itself."""
        if self._cfg.grade_choice != "per_firm" or not mix.any():
            return mix
        cum = np.cumsum(mix) / mix.sum()
        g = min(int(np.searchsorted(cum, self._u["grade"][i], side="right")), len(mix) - 1)
        while mix[g] <= 0:  # a grade with no share is never chosen (float edges)
            g -= 1
        out = np.zeros_like(mix)
        out[g] = 1.0
        return out

    def anticipates(self, i: int) -> bool:
        """Whether firm ``i`` is among the ``share_of_firms`` that act on
        announcements (the firms with the lowest uniforms: adding to the share
        adds firms, keeps the others)."""
        ant = self._cfg.anticipation
        return ant is not None and float(self._u["anticipation"][i]) < ant.share_of_firms

    def approval_chance(self, i: int, p: float) -> float:
        """Firm ``i``'s chance of approval when the rate in force is ``p``."""
        spread = self._cfg.approval_spread
        if spread <= 0.0 or p <= 0.0 or p >= 1.0:
            return p
        chances = self._chances.get(p)
        if chances is None:
            u = self._u["approval_standing"]
            if spread >= 1.0:  # the Beta's limit as k -> 0: always or never, with P(always) = p
                chances = (u >= 1.0 - p).astype(float)
            else:
                from scipy.special import betaincinv  # here: reading the scenario needs no SciPy

                k = 1.0 / spread - 1.0
                chances = betaincinv(p * k, (1.0 - p) * k, u)
            self._chances[p] = chances
        return float(chances[i])
