"""Kinds of actor that exist only in this file: a kind is one module that
declares its table (with the roles it plays), its actor and its registration.

``ScrapRecycler`` makes magnets from end-of-life scrap and sells them to
automakers; ``OxideRecycler`` recovers oxides from scrap and sells them to
magnet makers, a source of elements like a mine. Registering them is all it
takes for scenario files to have their tables with the usual checks and
one-line errors, for buyers to order from them, for wiring to build and
connect them, for the material ledger to balance, for the report to size
them and for their reference tables to be written. Their keys are named
unlike any built-in kind's: what the checks, the model and the report need
they ask of the roles, not of key names. Nothing outside this file changes.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Collection, Iterator
from typing import Any, ClassVar

import numpy as np
import pytest

import resim
from resim.model.actors.trade import Supplier
from resim.model.products import MAGNET, OXIDE
from resim.model.replication import Model, run_one
from resim.output.report_text import upstream_rows
from resim.scenario import ActorTable, load, reference, registry, scenario_class
from resim.scenario.errors import ScenarioError
from resim.scenario.roles import ElementSource, GradeHolder, Producer
from resim.scenario.types import Element, Name, NonNeg, Period, Share, param

from chain_fixtures import small_chain


class ScrapRecyclerTable(ActorTable, GradeHolder, Producer):
    """Magnets of one grade recovered from scrap."""

    structural: ClassVar[tuple[str, ...]] = ("name", "jurisdiction", "grade")

    grade: Name = param(doc="the grade recovered")
    recovered_t_per_day: NonNeg = param(unit="t magnet / day", doc="magnets recovered per day")
    dispatch_days: Period = param(7.0, unit="days", doc="ship to customers every this many days")

    def grade_shares(self) -> dict[str, float]:
        return {self.grade: 1.0}

    def grades_key(self) -> str:
        return "grade"

    def daily_t(self) -> float:
        return self.recovered_t_per_day


class ScrapRecycler(Supplier):
    """Recovers magnets every day; ships to its customers every ``dispatch_days``.
    Magnets are sold, as by every magnet seller, in tonnes per grade."""

    def __init__(self, ctx: Any, kind: Any, cfg: Any):
        super().__init__(ctx, kind, cfg)
        self.bom = ctx.elements.grade(cfg.grade)
        self.unit = ctx.elements.mix({cfg.grade: 1.0})
        self._magnets = np.zeros_like(self.unit)

    def unit_content(self) -> np.ndarray:
        return self.bom

    def next_duty(self, first: int) -> int:
        return self.next_multiple(first, "dispatch_days")

    def duty(self, day: int) -> None:
        self.advance(day + 1)
        self.dispatch()

    def work_days(self, first: int, end: int) -> None:
        made = (end - first) * self.cfg.recovered_t_per_day
        self._magnets = self._magnets + made * self.unit
        self.ctx.ledger.produce(made * self.bom)

    def available_for(self, remaining: np.ndarray) -> np.ndarray:
        return np.minimum(remaining, self._magnets)

    def take(self, qty: np.ndarray) -> tuple[float, np.ndarray]:
        self._magnets = self._magnets - qty
        return float(qty.sum()), self.ctx.elements.content(qty)

    def restock(self, shp: Any) -> None:
        self._magnets = self._magnets + shp.qty

    def _held(self) -> np.ndarray:
        return self.ctx.elements.content(self._magnets)


KIND = registry.ActorKind("scrap_recyclers", ScrapRecyclerTable, ScrapRecycler, "scrap recycler", tier=2,
                          product=MAGNET)


class OxideRecyclerTable(ActorTable, ElementSource, Producer):
    """Oxides recovered from end-of-life magnet scrap."""

    structural: ClassVar[tuple[str, ...]] = ("name", "jurisdiction", "recovers")

    scrap_t_per_day: NonNeg = param(unit="t scrap / day", doc="scrap processed per day")
    recovers: dict[Element, Share] = param(min_length=1, unit="t element / t scrap",
                                           doc="tonnes of each element recovered per tonne of scrap")
    dispatch_days: Period = param(7.0, unit="days", doc="ship to customers every this many days")

    def source_elements(self) -> Collection[str]:
        return self.recovers.keys()

    def daily_t(self) -> float:
        return self.scrap_t_per_day


class OxideRecycler(Supplier):
    """Oxides every day, sold element by element as a separator's are."""

    def __init__(self, ctx: Any, kind: Any, cfg: Any):
        super().__init__(ctx, kind, cfg)
        self.per_day = cfg.scrap_t_per_day * ctx.elements.vec(cfg.recovers)
        self._oxide = ctx.elements.zeros()

    def unit_content(self) -> np.ndarray:
        return np.ones(self.ctx.elements.n)

    def next_duty(self, first: int) -> int:
        return self.next_multiple(first, "dispatch_days")

    def duty(self, day: int) -> None:
        self.advance(day + 1)
        self.dispatch()

    def work_days(self, first: int, end: int) -> None:
        made = (end - first) * self.per_day
        self._oxide = self._oxide + made
        self.ctx.ledger.produce(made)

    def available_for(self, remaining: np.ndarray) -> np.ndarray:
        return np.minimum(remaining, self._oxide)

    def take(self, qty: np.ndarray) -> tuple[float, np.ndarray]:
        self._oxide = self._oxide - qty
        return float(qty.sum()), qty.copy()

    def restock(self, shp: Any) -> None:
        self._oxide = self._oxide + shp.vec

    def _held(self) -> np.ndarray:
        return self._oxide


OXIDE_KIND = registry.ActorKind("oxide_recyclers", OxideRecyclerTable, OxideRecycler, "oxide recycler", tier=1,
                                product=OXIDE)


@pytest.fixture
def recyclers() -> Iterator[None]:
    registry.register(KIND)
    registry.register(OXIDE_KIND)
    try:
        yield
    finally:
        registry.unregister(KIND.table)
        registry.unregister(OXIDE_KIND.table)


def _with_recycler(share: float = 0.5) -> dict[str, Any]:
    src = small_chain(**{"controls.licence_mode": "per_shipment", "licensing.approval_rate": 0.3,
                         "scenario.horizon": 300})
    src["scrap_recyclers"] = [{"name": "DE scrap", "jurisdiction": "DE", "grade": "N42SH", "recovered_t_per_day": 1.0}]
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
    src["scrap_recyclers"][0]["recovered_t_per_dya"] = 1.0
    with pytest.raises(ScenarioError, match=r'scrap_recyclers\[DE scrap\]\.recovered_t_per_dya: unknown key '
                                            r'"recovered_t_per_dya" \(did you mean "recovered_t_per_day"\?\)'):
        load(src)
    src = _with_recycler()
    src["separators"][0]["suppliers"] = [{"name": "DE scrap"}]
    with pytest.raises(ScenarioError, match='"DE scrap" is in scrap_recyclers; separators buy from mines'):
        load(src)
    src = _with_recycler()
    src["scrap_recyclers"][0]["grade"] = "N52"
    with pytest.raises(ScenarioError, match=r"scrap_recyclers\[DE scrap\].grade: no \[grades.N52\] table"):
        load(src)
    src = _with_recycler()
    src["policy"] = [{"day": 5, "set": {"scrap_recyclers[0].jurisdiction": "FR"}}]
    with pytest.raises(ScenarioError, match="a policy may change values but not actors"):
        load(src)


def test_unregistered_the_table_is_unknown_again() -> None:
    with pytest.raises(ScenarioError, match='unknown key "scrap_recyclers"'):
        load(_with_recycler())


def _balance(ledger: dict[str, np.ndarray]) -> np.ndarray:
    L = ledger
    return (L["initial"] + L["produced"] - L["consumed"] - L["lost"] - L["stocks"] - L["in_transit"]
            - L["reserved"] - L["recycling"])


def test_buyers_order_from_it_and_tonnes_are_conserved(recyclers: None) -> None:
    rec = run_one(load(_with_recycler()), 0)
    flows = rec.flows.frame()
    from_scrap = flows[(flows.origin == "DE") & (flows.destination == "DE")]
    assert from_scrap.tonnes.sum() > 0 and set(from_scrap["product"]) == {"magnet"}
    L = rec.ledger
    assert np.all(np.abs(_balance(L)) <= 1e-9 * np.maximum(L["initial"] + L["produced"], 1.0))


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


def test_the_report_sizes_it_by_its_role(recyclers: None) -> None:
    src = _with_oxide_recycler()
    rows = {r[0]: r for r in upstream_rows(load(src).scenario.file_form())}
    assert rows["DE scrap"] == ["DE scrap", "scrap recycler", "DE", "1 t/day, grade N42SH", "–"]
    assert rows["EU oxide"] == ["EU oxide", "oxide recycler", "DE", "40 t/day", "–"]
    assert rows["EU magnets"][3:] == ["2 t/day, grade N42SH", "EU oxide"]


def test_its_reference_table_is_written_from_its_table_class(recyclers: None) -> None:
    text = reference.section(KIND)
    assert text.startswith("### `[[scrap_recyclers]]`\n\nMagnets of one grade recovered from scrap.\n")
    assert "| `recovered_t_per_day` | number ≥ 0, t magnet / day | **required** | magnets recovered per day |" in text
    assert "| `dispatch_days` | number ≥ 1, days | `7.0` | ship to customers every this many days |" in text
    stale = text.replace("magnets recovered per day", "old words")
    assert stale != text and reference.refresh(stale) == text


# ------------------------------------------------------------ a source of elements


def _with_oxide_recycler(recovers: dict[str, float] | None = None) -> dict[str, Any]:
    """The chain with recyclers: an EU magnet maker buys oxides only from
    scrap, and the EU automaker buys a quarter of its magnets from it."""
    src = _with_recycler()
    src["oxide_recyclers"] = [{"name": "EU oxide", "jurisdiction": "DE", "scrap_t_per_day": 40.0,
                               "recovers": recovers or {"Nd": 0.24, "Pr": 0.06, "Dy": 0.03, "Tb": 0.006,
                                                        "Ho": 0.001}}]
    src["magnet_makers"].append({"name": "EU magnets", "jurisdiction": "DE", "grade": "N42SH",
                                 "capacity_t_per_day": 2.0, "suppliers": [{"name": "EU oxide", "transit": "2d"}]})
    eu = next(a for a in src["automakers"] if a["name"] == "EU maker")
    eu["suppliers"] = [{**eu["suppliers"][0], "share": 0.5}, {**eu["suppliers"][1], "share": 0.25},
                       {"name": "EU magnets", "share": 0.25, "transit": "3d"}]
    return src


def test_a_maker_may_buy_from_any_source_of_the_elements_its_grade_needs(recyclers: None) -> None:
    loaded = load(_with_oxide_recycler())
    assert [m.name for m in loaded.scenario.magnet_makers][-1] == "EU magnets"
    short = _with_oxide_recycler({"Nd": 0.24, "Pr": 0.06})
    with pytest.raises(ScenarioError, match=r'magnet_makers\[EU magnets\]\.grade: grade "N42SH" needs Dy, Tb, which none '
                                            "of this maker's upstream mines or oxide recyclers produce"):
        load(short)


def test_the_elements_it_brings_are_in_the_run_and_balance(recyclers: None) -> None:
    model = Model(load(_with_oxide_recycler()), 0)
    assert "Ho" in model.ctx.elements.symbols  # only the recycler brings holmium
    model.run()
    rec = model.records(0, 0.0)
    L = rec.ledger
    assert np.all(np.abs(_balance(L)) <= 1e-9 * np.maximum(L["initial"] + L["produced"], 1.0))
    flows = rec.flows.frame()
    assert flows[flows["product"] == "oxide"].query("origin == 'DE'").tonnes.sum() > 0
    ho = rec.elements.index("Ho")
    assert L["produced"][ho] == pytest.approx(40.0 * 0.001 * 300)  # every day of the horizon, nothing else


def test_a_kind_that_buys_must_have_a_table_that_orders() -> None:
    with pytest.raises(TypeError, match="a kind that buys has a table that orders"):
        registry.register(registry.ActorKind("odd", ScrapRecyclerTable, ScrapRecycler, "odd", tier=2, buys=OXIDE))


# ------------------------------------------------------------ a kind found by its package

DEPOT_MODULE = '''
"""A depot: a kind in a module of its own, registered when the module is imported."""
import numpy as np

from resim.model.actors.base import Actor
from resim.scenario import ActorTable, registry
from resim.scenario.roles import StockHolder
from resim.scenario.types import NonNeg, param


class DepotTable(ActorTable, StockHolder):
    """Magnets kept in a depot."""

    stored_t: NonNeg = param(0.0, unit="t magnet", doc="tonnes in store")

    def held_t(self) -> float:
        return self.stored_t


class Depot(Actor):
    def work_days(self, first, end):
        pass

    def next_duty(self, first):
        return None

    def duty(self, day):
        pass

    def _held(self):
        return self.ctx.elements.zeros()


registry.register(registry.ActorKind("depots", DepotTable, Depot, "depot", tier=5))
'''


@pytest.fixture
def plugin_package(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A package ``resim_test_kinds`` holding one kind module, named in the
    registry's packages (as a plug-in would be)."""
    package = tmp_path / "resim_test_kinds"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "depot.py").write_text(DEPOT_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "KIND_PACKAGES", [*registry.KIND_PACKAGES, "resim_test_kinds"])
    try:
        yield "resim_test_kinds"
    finally:
        registry.unregister("depots")
        registry._imported.discard("resim_test_kinds")
        for name in ("resim_test_kinds", "resim_test_kinds.depot"):
            sys.modules.pop(name, None)


def test_a_module_in_a_kinds_package_is_all_a_kind_needs(plugin_package: str) -> None:
    assert [k.table for k in registry.kinds()][-1] == "depots"
    src = small_chain()
    src["depots"] = [{"name": "depot", "jurisdiction": "FR", "stored_t": 5}]
    loaded = load(src)
    assert loaded.scenario.depots[0].stored_t == 5.0
    assert ["depot", "depot", "FR", "5 t held", "–"] in upstream_rows(loaded.scenario.file_form())
    assert run_one(loaded, 0).ledger["initial"].sum() > 0
