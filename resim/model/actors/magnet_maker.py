"""Magnet makers: oxides in, sintered magnets of one grade (or a fixed mix of
grades) out, up to ``capacity_t_per_day`` and no more than the scarcest
element of the mix's bill of materials allows. They make to order (plus a
small finished buffer) and fill orders per grade, FIFO, home customers first
when ``domestic_first``. Magnet quantities are vectors over the run's grades.
The ``[[magnet_makers]]`` table, the actor and its registration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from ...scenario import registry
from ...scenario.chain import BuyerTable
from ...scenario.roles import GradeHolder, Producer
from ...scenario.types import Name, NonNeg, Period, param
from ..products import MAGNET, OXIDE
from ..shipping import Shipment
from .plant import Plant

if TYPE_CHECKING:
    from ...scenario.registry import ActorKind
    from ..context import Context

#: A grade's share of a maker's output, or "rest": 1 minus the others.
GradeShare = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | Literal["rest"]


class MagnetMakerTable(BuyerTable, GradeHolder, Producer):
    """Makes magnets of one ``grade``, or of several in fixed shares
    (``grades = { N42SH = 0.7, N48 = 0.3 }``): its capacity is tonnes of the
    mix, and each tonne needs the mix's elements (bill of materials)."""

    structural: ClassVar[tuple[str, ...]] = ("name", "jurisdiction", "suppliers", "grade", "grades")

    grade: Name | None = param(None, doc="the one grade it makes; must have a `[grades.NAME]` table")
    grades: dict[Name, GradeShare] | None = param(
        None, min_length=1,
        doc='several grades made in fixed shares of output (summing to 1), e.g. `{ N42SH = 0.7, N48 = 0.3 }`; '
            'one share may be `"rest"` (1 minus the others: `{ NdFeB_free = 0.3, NdFeB_DyTb = "rest" }`, '
            "so one key sets the split); give `grade` or `grades`, not both")
    capacity_t_per_day: NonNeg = param(unit="t magnet / day", doc="maximum output (tonnes of its mix)")
    price_usd_per_kg: NonNeg = param(
        0.0, unit="USD / kg of magnet",
        doc="price its automaker customers pay; used only for the `extra_cost_usd` KPI "
            "(see [prices](#prices-and-extra_cost_usd))")
    domestic_first: bool = param(False, doc="serve customers in its own jurisdiction before others")
    dispatch_days: Period = param(
        7.0, unit="days", doc="ship magnets every this many days (rounded to a whole number)")
    finished_stock_days: NonNeg = param(
        7.0, unit="days of capacity", doc="finished magnets it makes and keeps beyond what open orders need")

    @model_validator(mode="after")
    def _mix(self) -> MagnetMakerTable:
        if (self.grade is None) == (self.grades is None):
            raise ValueError("give either grade or grades (a mix with shares)")
        if self.grades is not None:
            _check_shares(self.grades)
        return self

    @property
    def mix(self) -> dict[str, float]:
        """Grade -> share of output (one grade: all of it; "rest": what the others leave)."""
        if self.grades is None:
            return {self.grade: 1.0}  # type: ignore[dict-item]
        given = _given(self.grades)
        return {g: (max(0.0, 1.0 - given) if x == "rest" else float(x)) for g, x in self.grades.items()}

    def grade_shares(self) -> dict[str, float]:
        return self.mix

    def grades_key(self) -> str:
        return "grade" if self.grades is None else "grades"

    def daily_t(self) -> float:
        return self.capacity_t_per_day


def _given(grades: dict[str, float | str]) -> float:
    """The sum of the shares given as numbers."""
    return sum(x for x in grades.values() if x != "rest")  # type: ignore[misc]


def _check_shares(grades: dict[str, float | str]) -> None:
    """Shares sum to 1, or one of them is "rest" and the others leave some."""
    rest = [g for g, x in grades.items() if x == "rest"]
    given = _given(grades)
    if len(rest) > 1:
        raise ValueError(f'only one grade share may be "rest", not {", ".join(rest)}')
    if rest and given > 1.0 + 1e-9:
        raise ValueError(f'the other grade shares sum to {given:g}, more than 1: nothing is left for "rest"')
    if not rest and abs(given - 1.0) > 1e-6:
        raise ValueError(f"grade shares must sum to 1, they sum to {given:g}")


class MagnetMaker(Plant):
    def __init__(self, ctx: Context, kind: ActorKind, cfg: Any):
        super().__init__(ctx, kind, cfg)
        self.mix = ctx.elements.mix(cfg.mix)  # shares of output over the run's grades
        self._makes = self.mix > 0
        self.bom = ctx.elements.content(self.mix)  # element t per t of the mix
        self._needs = self.bom > 0
        self._oxide = cfg.initial_inventory_days * cfg.capacity_t_per_day * self.bom
        self._magnets = np.zeros_like(self.mix)  # finished tonnes per grade
        ctx.ledger.opening_stock(self._oxide)

    def unit_content(self) -> np.ndarray:
        return self.bom

    def price_usd_per_kg(self) -> float:
        return self.cfg.price_usd_per_kg

    def serves_home_first(self) -> bool:
        return self.cfg.domestic_first

    def grade_mix(self) -> np.ndarray:
        return self.mix

    def work(self, days: int) -> None:
        """Each day ``min(capacity, what the oxides allow, what is wanted)``;
        the last two fall by what is made, so over ``days`` days the maker
        makes ``min(days x capacity, what the oxides allow, what is wanted)``.
        Output comes in the mix's shares, so what is wanted is what the most
        wanted grade needs (the others are co-products)."""
        cap = self.cfg.capacity_t_per_day * self.capacity_scale
        by_bom = float(np.min(self._oxide[self._needs] / self.bom[self._needs]))
        mix, makes = self.mix, self._makes
        wanted_g = self.open_qty + self.cfg.finished_stock_days * cap * mix - self._magnets
        wanted = float(np.max(wanted_g[makes] / mix[makes]))
        made = min(days * cap, by_bom, wanted)
        if made <= 0:
            return
        self._oxide = self._oxide - made * self.bom
        self._magnets = self._magnets + made * mix

    # buying oxides (element vectors of the grade's bill of materials)
    def target(self) -> np.ndarray:
        return self.cfg.target_days * (self.cfg.capacity_t_per_day * self.capacity_scale) * self.bom

    def position(self) -> np.ndarray:
        return self._oxide + self.on_order

    def add_stock(self, shp: Shipment) -> None:
        self._oxide = self._oxide + shp.vec

    # selling magnets (tonnes per grade)
    def stock_units(self) -> list[float]:
        return self._magnets.tolist()

    def available_for(self, remaining: np.ndarray) -> np.ndarray:
        return np.minimum(remaining, self._magnets)

    def take(self, qty: np.ndarray) -> tuple[float, np.ndarray]:
        self._magnets = self._magnets - qty
        return float(qty.sum()), self.ctx.elements.content(qty)

    def restock(self, shp: Shipment) -> None:
        self._magnets = self._magnets + shp.qty

    def _held(self) -> np.ndarray:
        return self._oxide + self.ctx.elements.content(self._magnets)


KIND = registry.register(registry.ActorKind("magnet_makers", MagnetMakerTable, MagnetMaker, "magnet maker",
                                            tier=2, product=MAGNET, buys=OXIDE))
