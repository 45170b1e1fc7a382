"""One replication as a unit of work, and its KPI rows.

``simulate_replication`` (the model plus that replication's KPIs) is what
every experiment runs on its executors (``resim.experiment.experiment``): it
is pure - its result depends on the scenario, the seed and the index alone -
so ``--workers 1`` and ``--workers 8`` write identical files. A replication
that raises, or whose worker process dies, becomes an output with its error
(a row with its seed), never a crashed batch. Under ``--posterior`` the
scenario's ``draws`` (handed in from above) give the replication its
parameter values.
"""

from __future__ import annotations

import math
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ..model.kpis import METRICS, replication_kpis
from ..model.records import Records
from ..model.replication import run_one
from ..scenario import Loaded

#: Worker processes allowed per core: more only adds memory and switching.
WORKERS_PER_CORE = 4


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


def simulate_replication(loaded: Loaded, replication: int) -> Records:
    """Run one replication and its KPIs; an exception becomes an error row.
    Under ``--posterior`` the replication first draws its parameter values
    (from its own named stream: the same draw in every scenario of a
    comparison)."""
    try:
        if loaded.draws is not None:
            loaded = loaded.draws.scenario_for(loaded, replication)
        return _reduced(run_one(loaded, replication), loaded)
    except Exception as exc:  # noqa: BLE001 - isolation is the point
        return _error_row(replication, exc)


def _reduced(rec: Records, loaded: Loaded) -> Records:
    """The records with their KPIs, flows summed by month (the raw rows stay
    in the worker) and only the optional tables ``[output]`` asks for."""
    output = loaded.scenario.output
    rec.kpis = replication_kpis(rec.timeseries.frame(), rec.costs.frame(), rec.firms.frame())
    rec.monthly = monthly_flows(rec.flows.data, loaded.scenario.scenario.start_date)
    rec.flows = None
    if not output.firm_records:
        rec.firms = None
    if not output.stocks:
        rec.stocks = None
    return rec


def _error_row(replication: int, exc: Exception) -> Records:
    """A failed replication: the exception and the line that raised it (call from its handler)."""
    tb = traceback.format_exc(limit=-3).strip().splitlines()
    where = tb[-3].strip() if len(tb) >= 3 else ""
    return Records(replication=replication, error=f"{type(exc).__name__}: {exc} [{where}]")


def died_output(replication: int, reason: str) -> Records:
    """The output of a replication whose worker process died running it."""
    return Records(replication=replication, error=f"WorkerDied: {reason}")


def cores() -> int:
    """Cores this process may run on."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def default_workers() -> int:
    return cores()


def cap_workers(workers: int, units: int, announce: bool = True) -> int:
    """``workers`` capped at the number of units and at 4x the cores, saying
    so on stderr: ``--workers 1000`` must not fork a thousand processes."""
    limit = max(1, min(units, WORKERS_PER_CORE * cores()))
    if workers > limit:
        if announce:
            why = f"{units} units of work" if limit == units else f"{WORKERS_PER_CORE} x {cores()} cores"
            print(f"resim: --workers {workers} capped at {limit} ({why})", file=sys.stderr)
        return limit
    return workers


KPI_COLUMNS = ["replication", "automaker", *METRICS, "error", "seed_entropy"]
#: A unit's rows in an experiment of several points (a sweep's results.parquet, before its keys).
RESULT_COLUMNS = ["point", *KPI_COLUMNS]


def kpi_rows(outputs: Sequence[Records], loaded: Loaded) -> pd.DataFrame:
    """One row per replication x automaker with every KPI; a failed
    replication is one row with its error. Replication r is reproduced by
    ``SeedSequence(seed_entropy, spawn_key=(r,))``: two integer columns a
    frame can filter and join on, not a JSON string."""
    frames = []
    entropy = int(loaded.scenario.scenario.seed)
    for o in outputs:
        if o.error:
            frames.append(pd.DataFrame([{"replication": o.replication, "automaker": None,
                                         **{m: math.nan for m in METRICS}, "error": o.error}]))
        else:
            frames.append(o.kpis.assign(replication=o.replication, error=None))  # type: ignore[union-attr]
    if not frames:
        return pd.DataFrame(columns=KPI_COLUMNS).astype({"replication": "int64", "seed_entropy": "int64"})
    out = pd.concat(frames, ignore_index=True).assign(seed_entropy=entropy)[KPI_COLUMNS]
    return out.astype({"replication": "int64", "seed_entropy": "int64", "error": "string", "automaker": "string"})

