"""The results layer: a run's tables, its summary, and its data files.

``RunTables`` assembles what the replications sent back into the tidy tables
of SPEC §4 (replications, timeseries, licences, stages, flows, events),
summarises them into summary.json and writes the data files. Files are
written to temporary names and renamed into place, so an interrupted run
never leaves a file that looks complete.

Nothing here draws or renders: the figures, the HTML report and the terminal
tables build on these tables (``resim.output.results.Results`` adds them), and
no module of this layer imports them, so the data can be produced and written
without matplotlib, Jinja2 or rich.
"""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Sequence
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..experiment.replications import kpi_rows
from ..experiment.store import write_parquet, write_text
from ..model.kpis import ALL, FIRM_COLUMNS, METRICS, licensing_summary, summarise_kpis
from ..model.licensing import licence_columns
from ..model.records import Records
from ..model.replication import STOCK_COLUMNS, TIMESERIES_COLUMNS
from ..scenario import Loaded
from ..scenario.tomlwriter import resolved_toml
from ..scenario.units import day_to_date
from .payments import paid_summary, payment_frame
from .prices import markets_summary, no_prices, price_frame

RESULT_FILES = (
    "summary.json",
    "replications.parquet",
    "totals.parquet",
    "timeseries.parquet",
    "licences.parquet",
    "flows.parquet",
    "scenario.resolved.toml",
    "manifest.json",
)
STAGE_COLUMNS = ("stage", "horizon_days", "arrivals", "queue_area", "busy_area", "reviewer_area",
                 "reviewers", "in_queue_at_end", "in_service_at_end")
FLOW_COLUMNS = ["replication", "month", "origin", "destination", "product", "tonnes"]
#: Columns of replications.parquet (``automaker`` is missing only on a failed
#: replication's one row) and of totals.parquet, before any drawn posterior values.
REPLICATION_COLUMNS = ["replication", "automaker", *METRICS, "error", "seed_entropy"]
TOTAL_COLUMNS = ["replication", *METRICS, "error", "seed_entropy"]


def versions() -> dict[str, str]:
    """Versions of Python and the libraries that shape the numbers (for summary and manifest)."""
    out = {"python": platform.python_version()}
    for pkg in ("resim", "simpy", "numpy", "scipy", "pandas", "pyarrow", "pydantic"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def _frame(rep: int, data: dict[str, list[Any]] | None, columns: Sequence[str]) -> pd.DataFrame:
    df = pd.DataFrame(data if data else {c: [] for c in columns}, columns=list(columns))
    df.insert(0, "replication", rep)
    return df


def _branch_keys(scn: Any) -> dict[str, Any]:
    """summary.json of a forked scenario: the branch run and every branch's name."""
    if not scn.branch:
        return {}
    return {"branch": scn.scenario.default_branch, "branches": [b.name for b in scn.branch]}


class RunTables:
    """All replications of one scenario run, as tables, a summary and data files."""

    def __init__(self, loaded: Loaded, outputs: Sequence[Records], runtime_s: float,
                 workers: int) -> None:
        self.loaded = loaded
        #: With ``target_ci``: the target and the sequential rule's decision
        #: (status met/capped, replications kept, precision per KPI), as in
        #: sequential.json; else None.
        self.sequential: dict[str, Any] | None = None
        self.scenario = loaded.scenario
        self.outputs = list(outputs)
        #: The replications asked for (more than ``outputs`` under a sequential
        #: target or after an interrupt), and whether an interrupt stopped the
        #: run (then it is written marked partial). ``api.run`` sets both.
        self.asked = len(self.outputs)
        self.interrupted = False
        self.runtime_s = runtime_s
        self.workers = workers
        self.start_date: date = self.scenario.scenario.start_date
        self.failures = [(o.replication, o.error) for o in self.outputs if o.error]
        ok = [o for o in self.outputs if not o.error]
        self.replications, self.totals = self._kpi_tables(loaded)
        self.timeseries = self._timeseries(ok)
        self.licences = self._concat(ok, "licences", licence_columns(self.scenario.stage_names()))
        self.stages = self._concat(ok, "stages", STAGE_COLUMNS)
        self.flows = self._flows(ok)
        output = self.scenario.output
        self.firms = self._optional(output.firm_records, ok, "firms", FIRM_COLUMNS)
        self.stocks = self._optional(output.stocks, ok, "stocks", STOCK_COLUMNS)
        #: Spot and contract prices (prices.parquet); no rows (and no file) without ``[markets]``.
        self.has_markets = self.scenario.markets is not None
        self.prices = price_frame(ok, self.start_date) if self.has_markets else no_prices()
        #: What each delivery was paid (payments.parquet), or None without ``[markets] payments``.
        self.payments = payment_frame(ok, self.start_date)
        self.events = _events_frame(ok)
        self.sim_events = int(sum(o.sim_events for o in ok))
        self._summary: dict[str, Any] | None = None
        #: Tables a layer above adds to the run folder as ``NAME.parquet``
        #: (``observed_vs_model`` under ``resim run --observed``).
        self.extra_tables: dict[str, pd.DataFrame] = {}

    # ---------------------------------------------------------------- tables
    def _kpi_tables(self, loaded: Loaded) -> tuple[pd.DataFrame, pd.DataFrame]:
        """replications and totals, with the parameter values each replication
        drew when the scenario samples a posterior (so a KPI can be read
        against the values that produced it)."""
        reps, totals = split_kpis(kpi_rows(self.outputs, loaded))
        if loaded.draws is None:
            return reps, totals
        drawn = loaded.draws.drawn(self.scenario.scenario.seed, [o.replication for o in self.outputs])
        return (reps.merge(drawn, on="replication", how="left"),
                totals.merge(drawn, on="replication", how="left"))

    def _optional(self, wanted: bool, ok: Sequence[Records], attr: str,
                  columns: Sequence[str]) -> pd.DataFrame | None:
        """A table the scenario's ``[output]`` asks for, else None (no file is written)."""
        return self._concat(ok, attr, columns) if wanted else None

    def _timeseries(self, ok: Sequence[Records]) -> pd.DataFrame:
        df = pd.concat([_frame(o.replication, o.timeseries.data, TIMESERIES_COLUMNS) for o in ok],
                       ignore_index=True) if ok else _frame(0, None, TIMESERIES_COLUMNS).iloc[0:0]
        day = df["day"].to_numpy(dtype="int64")
        df.insert(2, "date", (np.datetime64(self.start_date, "D") + day.astype("timedelta64[D]")))
        df["share_stopped"] = df["firms_stopped"] / df["firms"]
        with np.errstate(invalid="ignore", divide="ignore"):
            df["demand_share_stopped"] = np.where(df["demand_t"] > 0, df["demand_stopped_t"] / df["demand_t"],
                                                  df["share_stopped"])
        df["firms_stopped"] = df["firms_stopped"].astype("int64")
        cols = ["replication", "day", "date", "automaker", "inventory_t", "produced_vehicles",
                "shortfall_vehicles", "demand_t", "consumed_t", "shortfall_t", "t_per_vehicle",
                "firms_stopped", "share_stopped", "demand_share_stopped"]
        return df[cols]

    @staticmethod
    def _concat(ok: Sequence[Records], attr: str, columns: Sequence[str]) -> pd.DataFrame:
        frames = [_frame(o.replication, getattr(o, attr).data, columns) for o in ok]
        if not frames:
            return _frame(0, None, columns).iloc[0:0]
        return pd.concat(frames, ignore_index=True)

    @staticmethod
    def _flows(ok: Sequence[Records]) -> pd.DataFrame:
        frames = []
        for o in ok:
            f = o.monthly.copy()  # type: ignore[union-attr]
            f.insert(0, "replication", o.replication)
            frames.append(f)
        if not frames:
            return pd.DataFrame(columns=FLOW_COLUMNS)
        out = pd.concat(frames, ignore_index=True)[FLOW_COLUMNS]
        out["tonnes"] = out["tonnes"].astype(float)
        return out

    # ---------------------------------------------------------------- summary
    def summary(self) -> dict[str, Any]:
        """summary.json as a dict (computed once: the results never change)."""
        if self._summary is None:
            self._summary = self._summarise()
        return self._summary

    def _summarise(self) -> dict[str, Any]:
        scn = self.scenario
        n = len(self.outputs)
        return json_clean({
            "scenario": scn.scenario.name,
            "seed": scn.scenario.seed,
            "replications": n,
            "failed_replications": [{"replication": r, "error": e} for r, e in self.failures],
            "horizon_days": scn.scenario.horizon,
            "start_date": str(self.start_date),
            "firms": {a.name: a.firms for a in scn.automakers},
            "posterior": None if self.loaded.draws is None else self.loaded.draws.describe(),
            "kpis": summarise_kpis(pd.concat([self.replications, self.totals.assign(automaker=ALL)],
                                             ignore_index=True), float(scn.scenario.horizon)),
            "licensing": self._licensing(),
            "events": self._event_dicts(),
            **self._markets(),
            **_branch_keys(scn),
            "simulated_events": self.sim_events,
            "runtime_s": round(self.runtime_s, 3),
            "versions": versions(),
        })

    def _licensing(self) -> dict[str, Any]:
        """The licence office's summary over the replications that finished."""
        return licensing_summary(self.licences, self.stages,
                                 [o.replication for o in self.outputs if not o.error])

    def _markets(self) -> dict[str, Any]:
        """``{"markets": ...}`` with ``[markets]``, else nothing (summary.json has no such key)."""
        if not self.has_markets:
            return {}
        block = markets_summary(self.prices, float(self.scenario.scenario.horizon))
        if self.payments is not None:
            block["paid_usd"] = paid_summary(self.payments, [o.replication for o in self.outputs if not o.error])
        return {"markets": block}

    def _event_dicts(self) -> list[dict[str, Any]]:
        """The events table with calendar dates and decoded values, as summary.json lists them."""
        return [
            {"day": float(r.day), "date": str(day_to_date(self.start_date, r.day)),
             "kind": r.kind, "key": r.key, "value": json.loads(r.value)}
            for r in self.events.itertuples()
        ]

    def kpi_frame(self) -> pd.DataFrame:
        """The KPI block as a tidy DataFrame (automaker, metric, mean, lo, hi, p5, p50, p95)."""
        rows = []
        for name, block in self.summary()["kpis"].items():
            for metric in METRICS:
                d = block[metric]
                rows.append({"automaker": name, "metric": metric, "mean": d["mean"],
                             "ci_low": d["ci95"][0], "ci_high": d["ci95"][1],
                             "p5": d["p5"], "p50": d["p50"], "p95": d["p95"]})
        return pd.DataFrame(rows)

    # ---------------------------------------------------------------- files
    def write(self, out: str | Path, argv: Sequence[str] = ()) -> Path:
        """Write the data files of SPEC §4 into ``out`` (each atomically); return ``out``.

        These are the files every later step reads (``resim report`` among
        them); the report and figures are added by ``Results.write``.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        summary = self.summary()
        write_parquet(out / "replications.parquet", self.replications)
        write_parquet(out / "totals.parquet", self.totals)
        write_parquet(out / "timeseries.parquet", self.timeseries)
        write_parquet(out / "licences.parquet", self.licences)
        write_parquet(out / "flows.parquet", self.flows)
        for name, extra in self.extra_tables.items():
            write_parquet(out / f"{name}.parquet", extra)
        prices = self.prices if self.has_markets else None
        for name, table in (("firms", self.firms), ("stocks", self.stocks), ("prices", prices),
                            ("payments", self.payments)):
            if table is not None:
                write_parquet(out / f"{name}.parquet", table)
            else:
                (out / f"{name}.parquet").unlink(missing_ok=True)  # not a leftover of an earlier run
        write_text(out / "scenario.resolved.toml",
                   resolved_toml(self.scenario.file_form(), self.loaded.source, self.scenario.scenario.name))
        write_text(out / "summary.json", json.dumps(summary, indent=2, default=_json_default) + "\n")
        write_text(out / "manifest.json", json.dumps(self._manifest(argv), indent=2) + "\n")
        if self.sequential is not None:
            write_text(out / "sequential.json", json.dumps(self.sequential, indent=2) + "\n")
        else:
            (out / "sequential.json").unlink(missing_ok=True)
        return out

    def _manifest(self, argv: Sequence[str]) -> dict[str, Any]:
        return {
            "scenario": self.scenario.scenario.name,
            "source": self.loaded.source,
            "command": list(argv),
            "seed": self.scenario.scenario.seed,
            "replications": len(self.outputs),
            "replication_seeds": "numpy SeedSequence(seed_entropy, spawn_key=(replication,)) for replication r",
            "workers": self.workers,
            "runtime_s": round(self.runtime_s, 3),
            "simulated_events": self.sim_events,
            "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": versions(),
            "platform": platform.platform(),
            "files": sorted([*RESULT_FILES, "report.html", "plots/"]),
        }


def split_kpis(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-replication KPI rows (``execution.kpi_rows``: automakers, the
    ``all`` aggregate, one row per failed replication) as two tidy tables:
    ``replications`` (real automakers only, so sums over automakers count
    each vehicle once; a failed replication keeps its one row with the error)
    and ``totals`` (one row per replication: every automaker together).

    The seed that reproduces replication r is ``SeedSequence(seed_entropy,
    spawn_key=(r,))``: two integer columns rather than the JSON text
    ``"[seed, r]"`` that a DataFrame can neither filter nor join on."""
    rows = rows.astype({"replication": "int64", "automaker": "string", "error": "string",
                        **{m: "float64" for m in METRICS}})
    failed = rows["error"].notna()
    total = (rows["automaker"] == ALL).fillna(False)
    reps = rows[~total][REPLICATION_COLUMNS].reset_index(drop=True)
    totals = rows[total | failed][TOTAL_COLUMNS].reset_index(drop=True)
    return reps, totals


def _events_frame(ok: Sequence[Records]) -> pd.DataFrame:
    """The scenario's events (shocks, policy changes) as the first finished
    replication logged them: they are scheduled, so every replication logs the same."""
    if ok and len(ok[0].events):
        return pd.DataFrame(ok[0].events.data)
    return pd.DataFrame(columns=["day", "kind", "key", "value"])


def _json_default(x: Any) -> Any:
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return None if math.isnan(x) else float(x)
    if isinstance(x, date):
        return str(x)
    raise TypeError(type(x).__name__)


def json_clean(obj: Any) -> Any:
    """NaN -> None recursively, for strict JSON."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_clean(v) for v in obj]
    return obj


__all__ = ["REPLICATION_COLUMNS", "RESULT_FILES", "TOTAL_COLUMNS", "RunTables", "json_clean", "split_kpis",
           "versions"]
