"""Execution: running replications serially or on a process pool.

Executors only schedule; the work is ``simulate_replication`` (model + that
replication's KPIs), which is pure. Results come back ordered by replication
index whatever the number of workers, and each replication's random streams
derive from its index alone, so ``--workers 1`` and ``--workers 8`` write
identical files.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from .kpis import METRICS, replication_kpis
from .model import run_one
from .randomness import replication_seed
from .scenario import Loaded

#: Test-only fault hook: comma-separated replication indices that raise.
FAULT_ENV = "RESIM_FAULT_REPLICATIONS"


@dataclass
class ReplicationOutput:
    """What one replication sends back to the parent process."""

    replication: int
    kpis: pd.DataFrame | None = None
    timeseries: dict[str, list[Any]] | None = None
    firms: dict[str, list[Any]] | None = None
    stocks: dict[str, list[Any]] | None = None
    licences: dict[str, list[Any]] | None = None
    flows: pd.DataFrame | None = None
    stages: dict[str, list[Any]] | None = None
    events: dict[str, list[Any]] | None = None
    ledger: dict[str, np.ndarray] = field(default_factory=dict)
    elements: list[str] = field(default_factory=list)
    automakers: list[dict[str, Any]] = field(default_factory=list)
    sim_events: int = 0
    runtime_s: float = 0.0
    error: str | None = None


def monthly_flows(flows: dict[str, list[Any]], start: date) -> pd.DataFrame:
    """Shipments by departure month, origin, destination and product, from
    the flow table's columns (a few hundred rows per replication: summed in
    a dict, which costs a tenth of a pandas groupby)."""
    cols = ["month", "origin", "destination", "product", "tonnes"]
    if not flows["day"]:
        return pd.DataFrame(columns=cols)
    days = np.asarray(flows["day"], dtype=float).astype("int64")
    month = (np.datetime64(start, "D") + days.astype("timedelta64[D]")).astype("datetime64[M]").astype(str)
    sums: dict[tuple[str, str, str, str], float] = {}
    keys = zip(month.tolist(), flows["origin"], flows["destination"], flows["product"], strict=True)
    for key, t in zip(keys, flows["tonnes"], strict=True):
        sums[key] = sums.get(key, 0.0) + t
    keys = sorted(sums)
    return pd.DataFrame([(*k, sums[k]) for k in keys], columns=cols)


def _faults() -> set[int]:
    text = os.environ.get(FAULT_ENV, "")
    return {int(x) for x in text.split(",") if x.strip().lstrip("-").isdigit()}


def simulate_replication(loaded: Loaded, replication: int) -> ReplicationOutput:
    """Run one replication and its KPIs; an exception becomes an error row."""
    try:
        if replication in _faults():
            raise RuntimeError(f"injected fault ({FAULT_ENV})")
        rec = run_one(loaded, replication)
        ts = rec.timeseries.frame()
        return ReplicationOutput(
            replication=replication,
            kpis=replication_kpis(ts, rec.costs.frame(), rec.firms.frame()),
            timeseries=rec.timeseries.data,
            firms=rec.firms.data if loaded.scenario.output.firm_records else None,
            stocks=rec.stocks.data if loaded.scenario.output.stocks else None,
            licences=rec.licences.data,
            flows=monthly_flows(rec.flows.data, loaded.scenario.scenario.start_date),
            stages=rec.stages.data,
            events=rec.events.data,
            ledger=rec.ledger,
            elements=rec.elements,
            automakers=rec.automakers,
            sim_events=rec.sim_events,
            runtime_s=rec.runtime_s,
        )
    except Exception as exc:  # noqa: BLE001 - isolation is the point
        tb = traceback.format_exc(limit=-3).strip().splitlines()
        where = tb[-3].strip() if len(tb) >= 3 else ""
        return ReplicationOutput(replication=replication, error=f"{type(exc).__name__}: {exc} [{where}]")


def _chunk(loaded: Loaded, reps: Sequence[int]) -> list[ReplicationOutput]:
    return [simulate_replication(loaded, r) for r in reps]


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def run_replications(
    loaded: Loaded,
    replications: Sequence[int],
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[ReplicationOutput]:
    """Run replications, in order of index, on ``workers`` processes."""
    reps = list(replications)
    if workers <= 1 or len(reps) <= 1:
        out = []
        for r in reps:
            out.append(simulate_replication(loaded, r))
            if progress:
                progress(1)
        return out
    size = max(1, math.ceil(len(reps) / (workers * 4)))
    chunks = [reps[i:i + size] for i in range(0, len(reps), size)]
    results: dict[int, ReplicationOutput] = {}
    for i, outs in execute(_chunk, [(loaded, c) for c in chunks], workers):
        for o in outs:
            results[o.replication] = o
        if progress:
            progress(len(chunks[i]))
    return [results[r] for r in reps]


def _context() -> mp.context.BaseContext:
    """Fork where the platform has it: workers inherit the imported modules
    (no start-up import cost) and a user's script is never re-run as
    ``__main__`` in the workers, as it is under spawn and forkserver."""
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else methods[0])


def execute(
    fn: Callable[..., Any],
    tasks: Sequence[tuple[Any, ...]],
    workers: int = 1,
    dask: str | None = None,
) -> Iterator[tuple[int, Any]]:
    """Run ``fn(*task)`` for each task; yield ``(task index, result)`` as they finish.

    Serial when ``workers <= 1`` and no ``dask``; a local process pool
    otherwise; or a Dask cluster (``dask`` = scheduler address, or "local" to
    start a ``LocalCluster`` with ``workers`` single-threaded processes).
    Callers order results by task index, so the executor never changes them.
    """
    if dask:
        yield from _execute_dask(fn, tasks, workers, dask)
        return
    if workers <= 1 or len(tasks) <= 1:
        for i, t in enumerate(tasks):
            yield i, fn(*t)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
        futures = {pool.submit(fn, *t): i for i, t in enumerate(tasks)}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()


def _execute_dask(fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], workers: int,
                  address: str) -> Iterator[tuple[int, Any]]:
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError as e:  # pragma: no cover - dask is in the test extra
        raise RuntimeError("--dask needs dask.distributed: pip install 'dask[distributed]'") from e
    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(address, timeout=30)
    try:
        futures = [client.submit(fn, *t, pure=False) for t in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in dask_completed(futures):
            yield index[fut.key], fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


KPI_COLUMNS = ["replication", "automaker", *METRICS, "error", "seed"]


def kpi_rows(outputs: Sequence[ReplicationOutput], loaded: Loaded) -> pd.DataFrame:
    """One row per replication x automaker with every KPI; a failed
    replication is one row with its error and the seed that reproduces it."""
    frames = []
    for o in outputs:
        seed = json.dumps(seed_of(loaded, o.replication))
        if o.error:
            frames.append(pd.DataFrame([{"replication": o.replication, "automaker": None,
                                         **{m: math.nan for m in METRICS}, "error": o.error, "seed": seed}]))
        else:
            frames.append(o.kpis.assign(replication=o.replication, error=None, seed=seed))  # type: ignore[union-attr]
    if not frames:
        return pd.DataFrame(columns=KPI_COLUMNS)
    out = pd.concat(frames, ignore_index=True)[KPI_COLUMNS]
    return out.astype({"error": "string", "automaker": "string"})


def seed_of(loaded: Loaded, replication: int) -> list[int]:
    """The seed sequence of a replication, to reproduce it alone."""
    ss = replication_seed(loaded.scenario.scenario.seed, replication)
    return [int(ss.entropy), *ss.spawn_key]
