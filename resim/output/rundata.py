"""The tables of one finished run, as the figures and the report read them.

A run reaches the presentation in one of two ways: in memory, straight after
``resim.simulate`` (a ``Results``), or as the files of a finished run
directory (SPEC §4), which is how ``resim report DIR`` rebuilds a report
without running anything. :func:`load_run` turns either into a ``RunData``,
so every figure and the report are drawn from the same tables whichever way
the run arrived. The in-memory case is read by duck typing (see
:class:`RunTablesLike`): this module depends on no results or presentation
class.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd


@dataclass
class RunData:
    """The tables of one finished run, from memory or from its directory."""

    title: str
    start_date: date
    horizon_days: float
    replications: list[int]
    kpis: pd.DataFrame
    timeseries: pd.DataFrame
    licences: pd.DataFrame
    flows: pd.DataFrame
    summary: dict[str, Any]
    events: list[tuple[float, str]] = field(default_factory=list)
    scenario: dict[str, Any] = field(default_factory=dict)
    #: prices.parquet's rows; empty for a run without ``[markets]``.
    prices: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: With ``--observed``: observed_vs_model.parquet and observed_fans.parquet; else empty.
    observed_vs_model: pd.DataFrame = field(default_factory=pd.DataFrame)
    observed_fans: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def automakers(self) -> list[str]:
        """Automaker names in scenario order (without the ``all`` aggregate)."""
        names = [str(n) for n in self.summary.get("kpis", {}) if n != "all"]
        if not names and len(self.timeseries):
            names = [str(n) for n in dict.fromkeys(self.timeseries["automaker"])]
        return names

    @property
    def stage_names(self) -> list[str]:
        """Review stages in order (from the licence table's ``wait_<stage>`` columns)."""
        cols = [c[5:] for c in self.licences.columns if c.startswith("wait_")]
        if cols:
            return cols
        return list(self.summary.get("licensing", {}).get("stage_wait_days", {}))

    def day_to_datetime(self, day: Any) -> np.ndarray:
        """Simulation days (floats) as numpy datetimes (for date axes)."""
        d = np.asarray(day, dtype=float)
        minutes = np.round(d * 1440.0).astype("int64").astype("timedelta64[m]")
        return np.datetime64(self.start_date, "m") + minutes


class RunTablesLike(Protocol):
    """What :func:`load_run` reads from a run held in memory (``Results`` has it)."""

    start_date: date
    replications: pd.DataFrame
    timeseries: pd.DataFrame
    licences: pd.DataFrame
    flows: pd.DataFrame
    events: pd.DataFrame
    scenario: Any  # the validated Scenario (a pydantic model)

    def summary(self) -> dict[str, Any]: ...


RunSource = RunTablesLike | RunData | str | Path


def policy_label(key: str, value: Any) -> str:
    """``licensing.approval_rate``, 0.6 -> ``approval rate → 0.6``."""
    last = re.sub(r"\[.*?\]", "", key).split(".")[-1].replace("_", " ")
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{last} → {value}"


def events_from_rows(rows: Iterable[tuple[float, str, str, Any]]) -> list[tuple[float, str]]:
    """Policy changes as (day, label), the labels of one day joined by '; '."""
    by_day: dict[float, list[str]] = {}
    for day, kind, key, value in rows:
        if kind != "policy":
            continue
        by_day.setdefault(float(day), []).append(policy_label(str(key), value))
    return sorted((d, "; ".join(labels)) for d, labels in by_day.items())


def ok_replications(summary: dict[str, Any], kpis: pd.DataFrame | None = None) -> list[int]:
    """The replications that finished (summary.json lists the failed ones).

    The numbers come from the KPI table when there is one: an interrupted
    run keeps the replications that finished, which need not be 0..n-1
    (with two workers, replications 8-15 may finish before 0-7)."""
    failed = {f["replication"] for f in summary.get("failed_replications", [])}
    return [r for r in _held(summary, kpis) if r not in failed]


def _held(summary: dict[str, Any], kpis: pd.DataFrame | None) -> list[int]:
    """The replications the run holds rows of: the KPI table's, else 0..n-1."""
    if kpis is not None and "replication" in kpis:
        return sorted(int(r) for r in pd.unique(kpis["replication"]))
    return list(range(int(summary.get("replications", 0))))


def load_run(source: RunSource) -> RunData:
    """Collect a run's tables from a ``Results`` object or a run directory."""
    if isinstance(source, RunData):
        return source
    if isinstance(source, str | Path):
        return load_run_dir(Path(source))
    return from_tables(source)


def from_tables(res: RunTablesLike) -> RunData:
    """A ``RunData`` from a run held in memory (what ``resim.simulate`` returned)."""
    summary = res.summary()
    ev = res.events
    rows = [(r.day, r.kind, r.key, json.loads(r.value)) for r in ev.itertuples()] if len(ev) else []
    scenario = res.scenario.file_form()
    return RunData(
        title=res.scenario.scenario.name, start_date=res.start_date,
        horizon_days=float(res.scenario.scenario.horizon),
        replications=ok_replications(summary, res.replications),
        kpis=res.replications, timeseries=res.timeseries, licences=res.licences, flows=res.flows,
        summary=summary, events=events_from_rows(rows), scenario=scenario,
        prices=pd.DataFrame() if getattr(res, "prices", None) is None else res.prices,
        **_observed(getattr(res, "extra_tables", {})),
    )


def _observed(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {k: tables.get(k, pd.DataFrame()) for k in ("observed_vs_model", "observed_fans")}


def _read_parquet(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()


def load_run_dir(out: Path) -> RunData:
    """A ``RunData`` from the files of a finished run directory.

    Raises ``FileNotFoundError`` when there is no summary.json.
    """
    summary_path = out / "summary.json"
    if not summary_path.is_file():
        raise FileNotFoundError(f"{out} is not a finished run directory (no summary.json)")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    kpis = _read_parquet(out / "replications.parquet")
    scenario: dict[str, Any] = {}
    resolved = out / "scenario.resolved.toml"
    if resolved.is_file():
        scenario = tomllib.loads(resolved.read_text(encoding="utf-8"))
    rows = [(e["day"], e.get("kind", "policy"), e["key"], e["value"]) for e in summary.get("events", [])]
    return RunData(
        title=str(summary.get("scenario", out.name)),
        start_date=date.fromisoformat(summary["start_date"]),
        horizon_days=float(summary["horizon_days"]),
        replications=ok_replications(summary, kpis),
        kpis=kpis,
        timeseries=_read_parquet(out / "timeseries.parquet"),
        licences=_read_parquet(out / "licences.parquet"),
        flows=_read_parquet(out / "flows.parquet"),
        summary=summary, events=events_from_rows(rows), scenario=scenario,
        prices=_read_parquet(out / "prices.parquet"),
        **_observed({k: _read_parquet(out / f"{k}.parquet") for k in ("observed_vs_model", "observed_fans")}),
    )


__all__ = ["RunData", "RunSource", "RunTablesLike", "events_from_rows", "from_tables", "load_run",
           "load_run_dir", "ok_replications", "policy_label"]
