"""One replication of a scenario: ``run_one(loaded, replication) -> Records``.

``run_one`` is pure and picklable (the executors ship it to worker processes):
its result depends only on the scenario, the seed and the replication index.
``Model`` builds the replication's context (clock, streams, ledger, record
tables), the licensing authority and the wired actors, runs the clock to the
horizon and gathers the record tables. KPIs are computed elsewhere
(``kpis.py``) from those tables.
"""

from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..scenario.roles import ElementSource
from . import markets, wiring
from .context import Calendar, Context, Elements, Ledger, Recorder
from .kernel import Clock
from .kpis import FIRM_COLUMNS, firm_kpis
from .licensing import Authority
from .policy import announcement_process, policy_process
from .randomness import Streams, replication_seed
from .records import Records, Table

if TYPE_CHECKING:
    from ..scenario import Loaded, PolicyStep

#: Element tonnes on site by actor entry and day (``output.stocks``).
STOCK_COLUMNS = ("day", "actor", "kind", "element", "tonnes")
#: The daily record of each automaker entry (its firms summed).
TIMESERIES_COLUMNS = ("day", "automaker", "inventory_t", "demand_t", "consumed_t", "shortfall_t", "t_per_vehicle",
                      "demand_vehicles", "produced_vehicles", "shortfall_vehicles", "firms", "firms_stopped",
                      "demand_stopped_t")


def element_symbols(loaded: Loaded) -> list[str]:
    """Every element the run can meet: what element sources bring, what
    grades hold, and the controls of any step of the policy timeline."""
    scn = loaded.scenario
    return sorted(
        {e for cfg in scn.actors if isinstance(cfg, ElementSource) for e in cfg.source_elements()}
        | {e for g in scn.grades.values() for e in g.content}  # type: ignore[attr-defined]
        | _controlled_ever(loaded)
    )


def _controlled_ever(loaded: Loaded) -> set[str]:
    """Elements controlled at the start or by any step of the policy timeline."""
    steps = [loaded.scenario, *(step.scenario for step in loaded.timeline)]
    return {e for scn in steps for e in scn.controls.controlled_elements}  # type: ignore[attr-defined]


def _entry_sums(rows: np.ndarray, firms: int, days: int) -> dict[str, np.ndarray]:
    """One automaker entry's daily columns from its firms' rows ``(firms, 5,
    days)``: sums over the firms, how many were short, and their demand."""
    with np.errstate(invalid="ignore", divide="ignore"):
        inv, dem, used, short, tpv = (rows[:, i] for i in range(5))
        stopped = short > 0
        dv = (dem / tpv).sum(axis=0)
        sums = {"inventory_t": inv.sum(axis=0), "demand_t": dem.sum(axis=0),
                "consumed_t": used.sum(axis=0), "shortfall_t": short.sum(axis=0),
                "demand_vehicles": dv, "produced_vehicles": (used / tpv).sum(axis=0),
                "shortfall_vehicles": (short / tpv).sum(axis=0),
                "firms": np.full(days, float(firms)), "firms_stopped": stopped.sum(axis=0).astype(float),
                "demand_stopped_t": (dem * stopped).sum(axis=0)}
        # tonnes per vehicle of the entry: its firms' (they differ only under substitution)
        sums["t_per_vehicle"] = tpv[0] if firms == 1 else np.where(dv > 0, sums["demand_t"] / dv, tpv[0])
    return sums


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
        cfg = scn.markets  # type: ignore[attr-defined]
        if cfg is not None:
            ctx.markets = markets.Market(ctx, cfg, [a for a in self.actors if a.kind.has_timeseries])

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
        if ctx.markets is not None:
            ctx.markets.on_policy(new)

    def dismantle(self) -> None:
        """Break the finished model's reference cycles (actors, links and the
        authority refer to each other, an application to its order licence
        and back, the clock's queue to everyone) so that reference counting
        frees it at once: left to the cyclic collector, its ~50,000 objects
        cost a full traversal, 10% of a replication (measured). Only for a
        model whose records are taken: it is unusable afterwards."""
        self.ctx.clock.close()
        auth = self.authority
        office = auth.office
        for app in (*office.live.values(), *auth.filer.quota_waiting):
            app.subject = app.link = app.source = app.callbacks = None
        for ol in auth.shipments.orders.values():
            ol.pending = None
        for obj in (*self.actors, *self.links, *vars(auth).values(), auth, self.ctx):
            state = getattr(obj, "__dict__", None)
            if state is not None:
                state.clear()

    def announce(self, step: PolicyStep) -> None:
        """A policy was announced today: actors that anticipate act on it."""
        for actor in self.actors:
            actor.on_announcement(step)

    def run(self) -> None:
        clock = self.ctx.clock
        clock.process(policy_process(clock, self.ctx.records.events, self.loaded.timeline, self.apply))
        if any(step.announced is not None for step in self.loaded.timeline):
            clock.process(announcement_process(clock, self.ctx.records.events, self.loaded.timeline,
                                               self.announce))
        self.authority.start()
        for actor in self.actors:
            actor.start()
        clock.run()
        for actor in self.actors:
            actor.finish()
        if self.ctx.markets is not None:
            self.ctx.markets.finish()

    def _entries(self) -> list[tuple[str, list[Any], np.ndarray]]:
        """Each automaker entry with its firms and their daily rows, an array
        ``(firms, 5, days)`` (inventory, demand, consumed, shortfall, t/vehicle)."""
        groups: dict[str, list[Any]] = {}
        for a in self.actors:
            if a.kind.has_timeseries:
                groups.setdefault(a.entry, []).append(a)
        return [(entry, firms, np.array([f.daily_rows() for f in firms], dtype=float))
                for entry, firms in groups.items()]

    def timeseries(self, entries: list[tuple[str, list[Any], np.ndarray]]) -> Table:
        """One row per automaker entry and day, day by day in entry order: the
        entry's firms summed, how many were short that day, and their demand."""
        days = self.ctx.clock.days
        table = Table(TIMESERIES_COLUMNS)
        data = table.data
        data["day"] = np.repeat(np.arange(days), len(entries))
        data["automaker"] = np.array([e for e, _, _ in entries] * days, dtype=object)
        cols: dict[str, list[np.ndarray]] = {c: [] for c in TIMESERIES_COLUMNS[2:]}
        for _, firms, rows in entries:
            for c, v in _entry_sums(rows, len(firms), days).items():
                cols[c].append(v)
        for c, parts in cols.items():
            data[c] = np.array(parts, dtype=float).reshape(len(entries), days).T.ravel()
        return table

    def firm_table(self, entries: list[tuple[str, list[Any], np.ndarray]]) -> Table:
        """One row per firm: its traits and its KPIs (``kpis.firm_kpis``)."""
        table = Table(FIRM_COLUMNS)
        for entry, firms, rows in entries:
            for f, k in zip(firms, firm_kpis(rows), strict=True):
                pop = f.population
                table.append(entry, f.firm, f.name, f.demand_share, float(pop.initial_days[f.firm]),
                             float(pop.target_days[f.firm]), pop.standing(f.firm), *k.values())
        return table

    def stock_table(self) -> Table:
        """Element tonnes on site per entry (firms summed) and day, when the
        scenario asks for them (``output.stocks``); else empty."""
        table = Table(STOCK_COLUMNS)
        if not self.ctx.scenario.output.stocks:  # type: ignore[attr-defined]
            return table
        symbols = self.ctx.elements.symbols
        days = self.ctx.clock.days
        by_entry: dict[str, tuple[str, np.ndarray]] = {}
        for a in self.actors:
            rows = np.array(a.stock_rows, dtype=float).reshape(days, len(symbols))
            table_name, total = by_entry.get(a.entry, (a.table, np.zeros((days, len(symbols)))))
            by_entry[a.entry] = (table_name, total + rows)
        for entry, (kind, rows) in by_entry.items():
            for e in np.flatnonzero(rows.any(axis=0)):
                for day in range(days):
                    table.append(day, entry, kind, symbols[e], rows[day, e])
        return table

    def ledger(self) -> dict[str, np.ndarray]:
        """The material ledger, with what is on site everywhere."""
        out = self.ctx.ledger.as_dict()
        out["stocks"] = sum((a.stock_vec() for a in self.actors), self.ctx.elements.zeros())
        return out

    def prices(self) -> Table | None:
        """Spot and contract prices the run's market formed (``markets``), only
        when the scenario has ``[markets]``."""
        return None if self.ctx.markets is None else self.ctx.markets.table()

    def records(self, replication: int, runtime: float) -> Records:
        ctx = self.ctx
        horizon = ctx.clock.horizon
        entries = self._entries()
        automakers: list[dict[str, Any]] = [
            {"name": entry, "jurisdiction": firms[0].jurisdiction, "firms": len(firms)} for entry, firms, _ in entries
        ]
        timeseries = self.timeseries(entries)
        return Records(
            replication=replication,
            timeseries=timeseries,
            firms=self.firm_table(entries),
            stocks=self.stock_table(),
            costs=ctx.records.costs,
            licences=self.authority.licence_table(horizon),
            flows=ctx.records.flows,
            events=ctx.records.events,
            stages=self.authority.office.stage_table(horizon),
            prices=self.prices(),
            payments=None if ctx.markets is None else ctx.markets.payment_table(),
            ledger=self.ledger(),
            elements=ctx.elements.symbols,
            sim_events=ctx.clock.events_scheduled(),
            runtime_s=runtime,
            automakers=automakers,
        )


def run_one(loaded: Loaded, replication: int) -> Records:
    """Simulate replication ``replication`` of a loaded scenario.

    The cyclic garbage collector is paused while the model runs: a run holds
    many long-lived objects (actors, links, streams, order books) that every
    full collection walks again, which cost 10% of a reference replication
    and 25-35% of one with 1,000 firms (measured). What a run discards is
    freed by reference counting (a decided application is referenced by
    nothing that it references); the model's own cycles go with the next
    collection after the run, and the model's own cycles are broken once its
    records are taken (``Model.dismantle``), so it is freed at once.
    """
    t0 = time.perf_counter()
    paused = gc.isenabled()
    gc.disable()
    try:
        model = Model(loaded, replication)
        model.run()
        records = model.records(replication, time.perf_counter() - t0)
        model.dismantle()
        return records
    finally:
        if paused:
            gc.enable()


__all__ = ["TIMESERIES_COLUMNS", "Model", "run_one"]
