"""One replication of a scenario: ``run_one(loaded, replication) -> Records``.

``run_one`` is pure and picklable (the executors ship it to worker processes):
its result depends only on the scenario, the seed and the replication index.
``Model`` owns the SimPy environment and the shared ledgers; the actors own
their state; the authority owns licences. KPIs are computed elsewhere
(``kpis.py``) from the record tables returned here.
"""

from __future__ import annotations

import bisect
import itertools
import math
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import simpy

from . import wiring
from .actors.automaker import Automaker
from .actors.base import Actor
from .licensing import Authority
from .loader import Loaded
from .policy import policy_process
from .randomness import Streams, replication_seed
from .records import Table
from .scenario import Scenario
from .shipping import Link

TIMESERIES_COLUMNS = ("day", "automaker", "inventory_t", "demand_t", "consumed_t", "shortfall_t", "t_per_vehicle")
COST_COLUMNS = ("day", "automaker", "usd")


@dataclass
class Records:
    """Everything one replication produced (plain lists; cheap to pickle)."""

    replication: int
    timeseries: Table
    costs: Table
    licences: Table
    flows: Table
    events: Table
    stages: Table
    ledger: dict[str, np.ndarray]
    elements: list[str]
    sim_events: int
    runtime_s: float
    automakers: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


class Model:
    """State shared by the actors of one replication."""

    def __init__(self, loaded: Loaded, replication: int):
        scn = loaded.scenario
        self.loaded = loaded
        self.scenario: Scenario = scn
        self.horizon = float(scn.scenario.horizon)
        self.days = math.ceil(self.horizon)  # whole days worked: 0 .. days-1
        self.duty_rank: int | None = None  # rank of the actor doing its day's duties, if any
        self.env = simpy.Environment()
        self.streams = Streams(replication_seed(scn.scenario.seed, replication))
        self.elements = sorted(
            {e for m in scn.mines for e in m.composition}
            | {e for g in scn.grades.values() for e in g.content}
            | set(scn.controls.controlled_elements)
            | {e for step in loaded.timeline for e in step.scenario.controls.controlled_elements}
        )
        self._el_index = {e: i for i, e in enumerate(self.elements)}
        n = len(self.elements)
        self.ledger = {k: np.zeros(n) for k in ("initial", "produced", "consumed", "lost")}
        self.in_transit = np.zeros(n)
        self.reserved = np.zeros(n)
        self.recycling = np.zeros(n)  # consumed magnet mass on its way back
        self.controlled_mask = self._mask(scn)
        self.ids = itertools.count(1)
        self.timeseries = Table(TIMESERIES_COLUMNS)
        self.flows = Table(("day", "origin", "destination", "product", "tonnes"))
        self.flow_append = self.flows.append
        self.events = Table(("day", "kind", "key", "value"))
        self.costs = Table(COST_COLUMNS)
        self.links: list[Link] = []
        start = scn.scenario.start_date
        self._start_ordinal = start.toordinal()
        self._new_years = [
            float(date(y, 1, 1).toordinal() - self._start_ordinal)
            for y in range(start.year + 1, start.year + 2 + int(self.horizon // 365) + 1)
        ]
        self._start_year = start.year
        keep = scn.output.licence_records
        keep_background = keep == "all" or (keep == "auto" and not scn.has_supply_chain)
        self.authority = Authority(self, keep_background)
        self.actors: list[Actor] = wiring.elaborate(self)

    def _mask(self, scn: Scenario) -> np.ndarray:
        ctl = set(scn.controls.controlled_elements)
        return np.array([1.0 if e in ctl else 0.0 for e in self.elements])

    def vec(self, mapping: dict[str, float]) -> np.ndarray:
        out = np.zeros(len(self.elements))
        for e, x in mapping.items():
            out[self._el_index[e]] = x
        return out

    def year_of(self, t: float) -> int:
        """Calendar year of simulation time ``t``."""
        return self._start_year + bisect.bisect_right(self._new_years, t)

    def next_new_year(self, t: float) -> float:
        """Simulation time of the first 1 January after ``t``."""
        i = bisect.bisect_right(self._new_years, t)
        return self._new_years[i] if i < len(self._new_years) else math.inf

    def apply(self, scn: Scenario) -> None:
        """Swap in the scenario a policy produced and tell everyone."""
        self.scenario = scn
        self.controlled_mask = self._mask(scn)
        self.authority.apply(scn)
        for actor in self.actors:
            actor.refresh(scn)

    def run(self) -> None:
        self.env.process(policy_process(self, self.loaded.timeline))
        self.authority.start()
        for actor in self.actors:
            actor.start()
        self.env.run(until=self.horizon)
        for actor in self.actors:
            actor.finish()
        self._timeseries()

    def _timeseries(self) -> None:
        """One row per automaker and day, day by day in actor order."""
        makers = [a for a in self.actors if isinstance(a, Automaker)]
        data = self.timeseries.data
        days = self.days
        data["day"] = np.repeat(np.arange(days), len(makers))
        data["automaker"] = np.array([a.name for a in makers] * days, dtype=object)
        for i, name in enumerate(TIMESERIES_COLUMNS[2:]):
            cols = np.array([a.rows[i] for a in makers], dtype=float).reshape(len(makers), days)
            data[name] = cols.T.ravel()

    def stocks(self) -> np.ndarray:
        """Element tonnes on site everywhere (for the conservation check)."""
        return sum((a.stock_vec() for a in self.actors), np.zeros(len(self.elements)))

    def records(self, replication: int, runtime: float) -> Records:
        ledger = dict(self.ledger)
        ledger["stocks"] = self.stocks()
        ledger["in_transit"] = self.in_transit.copy()
        ledger["reserved"] = self.reserved.copy()
        ledger["recycling"] = self.recycling.copy()
        automakers = [
            {"name": a.name, "jurisdiction": a.jurisdiction}
            for a in self.actors
            if isinstance(a, Automaker)
        ]
        return Records(
            replication=replication,
            timeseries=self.timeseries,
            costs=self.costs,
            licences=self.authority.licence_table(self.horizon),
            flows=self.flows,
            events=self.events,
            stages=self.authority.office.stage_table(self.horizon),
            ledger=ledger,
            elements=self.elements,
            sim_events=next(self.env._eid),  # events scheduled so far
            runtime_s=runtime,
            automakers=automakers,
        )


def run_one(loaded: Loaded, replication: int) -> Records:
    """Simulate replication ``replication`` of a loaded scenario."""
    t0 = time.perf_counter()
    model = Model(loaded, replication)
    model.run()
    return model.records(replication, time.perf_counter() - t0)
