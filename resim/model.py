"""One replication of a scenario: ``run_one(loaded, replication) -> Records``.

``run_one`` is pure and picklable (the executors ship it to worker processes):
its result depends only on the scenario, the seed and the replication index.
``Model`` builds the replication's context (clock, streams, ledger, record
tables), the licensing authority and the wired actors, runs the clock to the
horizon and gathers the record tables. KPIs are computed elsewhere
(``kpis.py``) from those tables.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from . import wiring
from .context import Calendar, Context, Elements, Ledger, Recorder
from .kernel import Clock
from .licensing import Authority
from .policy import policy_process
from .randomness import Streams, replication_seed
from .records import Records, Table

if TYPE_CHECKING:
    from .scenario import Loaded, PolicyStep

TIMESERIES_COLUMNS = ("day", "automaker", "inventory_t", "demand_t", "consumed_t", "shortfall_t", "t_per_vehicle")


def element_symbols(loaded: Loaded) -> list[str]:
    """Every element the run can meet: in mines, grades, and the controls of
    any step of the policy timeline."""
    scn = loaded.scenario
    return sorted(
        {e for cfg in scn.actors for e in getattr(cfg, "composition", {})}
        | {e for g in scn.grades.values() for e in g.content}  # type: ignore[attr-defined]
        | set(scn.controls.controlled_elements)  # type: ignore[attr-defined]
        | {e for step in loaded.timeline for e in step.scenario.controls.controlled_elements}  # type: ignore[attr-defined]
    )


class Model:
    """The actors, links and authority of one replication, and its context."""

    def __init__(self, loaded: Loaded, replication: int):
        scn = loaded.scenario
        self.loaded = loaded
        meta = scn.scenario  # type: ignore[attr-defined]
        symbols = element_symbols(loaded)
        self.ctx = ctx = Context(
            scenario=scn,
            clock=Clock(meta.horizon),
            calendar=Calendar(meta.start_date, float(meta.horizon)),
            streams=Streams(replication_seed(meta.seed, replication)),
            elements=Elements(symbols, scn.grades, scn.controls.controlled_elements),  # type: ignore[attr-defined]
            ledger=Ledger(len(symbols)),
            records=Recorder(),
        )
        self.authority = Authority(ctx)
        ctx.licensing = self.authority
        self.actors, self.links = wiring.elaborate(ctx, self.authority)

    def apply(self, step: PolicyStep) -> None:
        """Swap in the scenario a policy produced and tell everyone once."""
        ctx = self.ctx
        old, new = ctx.scenario, step.scenario
        ctx.scenario = new
        ctx.elements.controlled_mask = ctx.elements.mask(new.controls.controlled_elements)  # type: ignore[attr-defined]
        self.authority.on_policy(old, new, step.changes)
        for actor in self.actors:
            actor.on_policy(old, new, step.changes)
        for link in self.links:
            link.on_policy(old, new, step.changes)

    def run(self) -> None:
        clock = self.ctx.clock
        clock.process(policy_process(clock, self.ctx.records.events, self.loaded.timeline, self.apply))
        self.authority.start()
        for actor in self.actors:
            actor.start()
        clock.run()
        for actor in self.actors:
            actor.finish()

    def timeseries(self) -> Table:
        """One row per automaker and day, day by day in actor order."""
        makers = [a for a in self.actors if a.kind.has_timeseries]
        days = self.ctx.clock.days
        table = Table(TIMESERIES_COLUMNS)
        data = table.data
        data["day"] = np.repeat(np.arange(days), len(makers))
        data["automaker"] = np.array([a.name for a in makers] * days, dtype=object)
        rows = [a.daily_rows() for a in makers]
        for i, name in enumerate(TIMESERIES_COLUMNS[2:]):
            cols = np.array([r[i] for r in rows], dtype=float).reshape(len(makers), days)
            data[name] = cols.T.ravel()
        return table

    def ledger(self) -> dict[str, np.ndarray]:
        """The material ledger, with what is on site everywhere."""
        out = self.ctx.ledger.as_dict()
        out["stocks"] = sum((a.stock_vec() for a in self.actors), self.ctx.elements.zeros())
        return out

    def records(self, replication: int, runtime: float) -> Records:
        ctx = self.ctx
        horizon = ctx.clock.horizon
        automakers: list[dict[str, Any]] = [
            {"name": a.name, "jurisdiction": a.jurisdiction} for a in self.actors if a.kind.has_timeseries
        ]
        return Records(
            replication=replication,
            timeseries=self.timeseries(),
            costs=ctx.records.costs,
            licences=self.authority.licence_table(horizon),
            flows=ctx.records.flows,
            events=ctx.records.events,
            stages=self.authority.office.stage_table(horizon),
            ledger=self.ledger(),
            elements=ctx.elements.symbols,
            sim_events=ctx.clock.events_scheduled(),
            runtime_s=runtime,
            automakers=automakers,
        )


def run_one(loaded: Loaded, replication: int) -> Records:
    """Simulate replication ``replication`` of a loaded scenario."""
    t0 = time.perf_counter()
    model = Model(loaded, replication)
    model.run()
    return model.records(replication, time.perf_counter() - t0)


__all__ = ["TIMESERIES_COLUMNS", "Model", "run_one"]
