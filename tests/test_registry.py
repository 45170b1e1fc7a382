"""A kind of actor that exists only in this file: the registry is the one
place kinds are declared.

``ScrapRecycler`` makes magnets from end-of-life scrap and sells them to
automakers. Registering it (schema class, actor class, product) is all it
takes for scenario files to have a ``[[scrap_recyclers]]`` table with the
usual checks and one-line errors, for automakers to buy from it, for wiring to
build and connect it, and for the material ledger to balance. Nothing outside
this file changes.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pytest
from pydantic import Field

import resim
from resim.model.actors.trade import Supplier
from resim.model.replication import run_one
from resim.scenario import ActorTable, load, registry, scenario_class
from resim.scenario.errors import ScenarioError
from resim.scenario.types import Name, NonNeg

from chain_fixtures import small_chain


class ScrapRecyclerTable(ActorTable):
    """Magnets of ``grade`` recovered from scrap at ``output_t_per_day``."""

    structural: ClassVar[tuple[str, ...]] = ("name", "jurisdiction", "grade")

    grade: Name
    output_t_per_day: NonNeg
    dispatch_days: float = Field(default=7.0, ge=1.0)


class ScrapRecycler(Supplier):
    """Recovers magnets every day; ships to its customers every ``dispatch_days``.
    Magnets are sold, as by every magnet seller, in tonnes per grade."""

    def __init__(self, ctx: Any, kind: Any, cfg: Any):
        super().__init__(ctx, kind, cfg)
        self.bom = ctx.elements.grade(cfg.grade)
        self.unit = ctx.elements.mix({cfg.grade: 1.0})
        self._magnets = np.zeros_like(self.unit)
        self.open_qty = np.zeros_like(self.unit)

    def unit_content(self) -> np.ndarray:
        return self.bom

    def next_duty(self, first: int) -> int:
        return self.next_multiple(first, "dispatch_days")

    def duty(self, day: int) -> None:
        self.advance(day + 1)
        self.dispatch()

    def work_days(self, first: int, end: int) -> None:
        made = (end - first) * self.cfg.output_t_per_day
        self._magnets = self._magnets + made * self.unit
        self.ctx.ledger.produced += made * self.bom

    def available_for(self, remaining: np.ndarray) -> np.ndarray:
        return np.minimum(remaining, self._magnets)

    def take(self, qty: np.ndarray) -> tuple[float, np.ndarray]:
        self._magnets = self._magnets - qty
        return float(qty.sum()), self.ctx.elements.content(qty)

    def restock(self, shp: Any) -> None:
        self._magnets = self._magnets + shp.qty

    def _held(self) -> np.ndarray:
        return self.ctx.elements.content(self._magnets)


KIND = registry.ActorKind("scrap_recyclers", f"{__name__}:ScrapRecyclerTable", f"{__name__}:ScrapRecycler",
                          "scrap recycler", tier=2, product="magnet")


@pytest.fixture
def recyclers() -> Iterator[None]:
    registry.register(KIND)
    try:
        yield
    finally:
        registry.unregister(KIND.table)


def _with_recycler(share: float = 0.5) -> dict[str, Any]:
    src = small_chain(**{"controls.licence_mode": "per_shipment", "licensing.approval_rate": 0.3,
                         "scenario.horizon": 300})
    src["scrap_recyclers"] = [{"name": "DE scrap", "jurisdiction": "DE", "grade": "N42SH", "output_t_per_day": 1.0}]
    eu = next(a for a in src["automakers"] if a["name"] == "EU maker")
    eu["suppliers"] = [{**eu["suppliers"][0], "share": 1.0 - share}, {"name": "DE scrap", "transit": "4d"}]
    eu["suppliers"][1]["share"] = share
    return src


def test_a_registered_kind_is_a_table_of_scenario_files(recyclers: None) -> None:
    assert "scrap_recyclers" in scenario_class().model_fields
    schema = scenario_class().model_json_schema(by_alias=True)
    assert "scrap_recyclers" in schema["properties"]
    loaded = load(_with_recycler())
    assert [a.name for a in loaded.scenario.scrap_recyclers] == ["DE scrap"]


def test_its_table_gets_the_usual_checks(recyclers: None) -> None:
    src = _with_recycler()
    src["scrap_recyclers"][0]["output_t_per_dya"] = 1.0
    with pytest.raises(ScenarioError, match=r'scrap_recyclers\[0\]\.output_t_per_dya: unknown key '
                                            r'"output_t_per_dya" \(did you mean "output_t_per_day"\?\)'):
        load(src)
    src = _with_recycler()
    src["separators"][0]["suppliers"] = [{"name": "DE scrap"}]
    with pytest.raises(ScenarioError, match='"DE scrap" is in scrap_recyclers; separators buy from mines'):
        load(src)
    src = _with_recycler()
    src["scrap_recyclers"][0]["grade"] = "N52"
    with pytest.raises(ScenarioError, match=r"scrap_recyclers\[0\].grade: no \[grades.N52\] table"):
        load(src)
    src = _with_recycler()
    src["policy"] = [{"day": 5, "set": {"scrap_recyclers[0].jurisdiction": "FR"}}]
    with pytest.raises(ScenarioError, match="a policy may change values but not actors"):
        load(src)


def test_unregistered_the_table_is_unknown_again() -> None:
    with pytest.raises(ScenarioError, match='unknown key "scrap_recyclers"'):
        load(_with_recycler())


def test_buyers_order_from_it_and_tonnes_are_conserved(recyclers: None) -> None:
    rec = run_one(load(_with_recycler()), 0)
    flows = rec.flows.frame()
    from_scrap = flows[(flows.origin == "DE") & (flows.destination == "DE")]
    assert from_scrap.tonnes.sum() > 0
    L = rec.ledger
    balance = (L["initial"] + L["produced"] - L["consumed"] - L["lost"] - L["stocks"] - L["in_transit"]
               - L["reserved"] - L["recycling"])
    assert np.all(np.abs(balance) <= 1e-9 * np.maximum(L["initial"] + L["produced"], 1.0))


def test_a_domestic_second_source_of_its_kind_loses_less_under_common_random_numbers(recyclers: None) -> None:
    only_china = _with_recycler()
    eu = next(a for a in only_china["automakers"] if a["name"] == "EU maker")
    eu["suppliers"] = [{**eu["suppliers"][0], "share": 1.0}]
    both = copy.deepcopy(_with_recycler(share=0.5))
    lost = {}
    for name, src in (("china", only_china), ("both", both)):
        reps = resim.simulate(src, replications=6, workers=1).replications
        lost[name] = reps[reps.automaker == "EU maker"].sort_values("replication").shortfall_t.to_numpy()
    assert np.all(lost["both"] <= lost["china"] + 1e-9) and lost["both"].sum() < lost["china"].sum()
