"""Observed data beside a run: where each observed row falls in the model's spread.

``resim run SCENARIO --observed FILE`` reads the rows of an observed-data CSV
(the calibration's format, docs/calibration.md), measures each row's series in
every replication exactly as a calibration does (``measure.Measured``), and
writes ``observed_vs_model.parquet``: per row the observed value, the
replications' 5th, 50th and 95th percentiles, whether the observation lies
inside that 90% band, and its percentile among the replications (ties count
half: the mid-rank, so an observation equal to every draw sits at 50). A row
published after a forecast was made is the honest test of that forecast.

``observed_fans`` gives the model's monthly band (5, 25, 50, 75, 95th
percentiles over replications) of every time series the observed file
names, for every whole month of the horizon, so the report and
``Results.plot_fans`` draw the observations on the forecast they test.
``stockout_day`` rows are one number per replication, not a path: they have
no fan.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..scenario import Loaded
from ..scenario.errors import ScenarioError
from .measure import Measured
from .observed import Observation, Period, read_observed
from .series import Horizon, Series, Target, compile_targets

COLUMNS = ["series", "period", "observed", "p5", "p50", "p95", "inside", "percentile", "replications"]
FAN_COLUMNS = ["series", "period", "p5", "p25", "p50", "p75", "p95", "replications"]
#: Relative difference below which a model value equals the observation (rounding, not a miss).
TIE = 1e-9
#: Series kinds that are a path over months (a fan), not one number per replication.
PATH_KINDS = ("exports", "approved_share", "share_stopped", "price")


def observed_targets(loaded: Loaded, path: str | Path, left_out: list[Observation] | None = None) -> list[Target]:
    """The rows of ``path`` checked against the scenario (one-line errors
    naming the file, row and value, before anything runs); with ``left_out``,
    the rows this run cannot produce go there instead of being refused."""
    return compile_targets(read_observed(path), loaded.scenario, str(path),
                           [step.scenario for step in loaded.timeline], left_out)


def observed_vs_model(outputs: Sequence[object], targets: Sequence[Target], loaded: Loaded) -> pd.DataFrame:
    """One row per target: the observed value against the replications' spread."""
    views = [Measured(o, Horizon.of(loaded.scenario)) for o in outputs if not getattr(o, "error", None)]
    rows = [_row(t, np.array([v.value(t.series, t.period) for v in views], dtype=float)) for t in targets]
    return pd.DataFrame(rows, columns=COLUMNS)


def observed_fans(outputs: Sequence[object], targets: Sequence[Target], loaded: Loaded) -> pd.DataFrame:
    """Per series the targets name (paths only) and whole month of the
    horizon: the replications' percentiles of the model's monthly number."""
    horizon = Horizon.of(loaded.scenario)
    views = [Measured(o, horizon) for o in outputs if not getattr(o, "error", None)]
    series = {t.series.name: t.series for t in targets if t.series.kind in PATH_KINDS}
    rows = [_fan_row(s, month, [v.value(s, month) for v in views])
            for s in series.values() for month in horizon.months()]
    return pd.DataFrame(rows, columns=FAN_COLUMNS)


def _fan_row(series: Series, month: Period, values: Sequence[float]) -> dict[str, object]:
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    q = np.percentile(x, [5, 25, 50, 75, 95]) if len(x) else np.full(5, np.nan)
    return {"series": series.name, "period": month.text, **dict(zip(FAN_COLUMNS[2:7], map(float, q), strict=True)),
            "replications": len(x)}


class ObservedTables:
    """With observed rows from ``path`` (checked now: a bad row stops before
    anything runs), the tables a finished run adds to its folder:
    ``observed_vs_model`` and ``observed_fans``. Rows the run cannot produce
    are left out and counted (``left_out``); if that is every row, refused."""

    def __init__(self, loaded: Loaded, path: str | Path):
        skipped: list[Observation] = []
        self.loaded, self.targets = loaded, observed_targets(loaded, path, skipped)
        self.left_out = len(skipped)
        if not self.targets:
            raise ScenarioError(str(path), "", "no row is produced by this scenario (its prices, destinations "
                                "or simulated days)", f"{self.left_out} rows")

    def __call__(self, results: object) -> dict[str, pd.DataFrame]:
        outputs = results.outputs  # type: ignore[attr-defined]
        return {"observed_vs_model": observed_vs_model(outputs, self.targets, self.loaded),
                "observed_fans": observed_fans(outputs, self.targets, self.loaded)}


def observed_tables(loaded: Loaded, path: str | Path) -> ObservedTables:
    """The tables of ``path``'s rows for a run of ``loaded`` (``ObservedTables``)."""
    return ObservedTables(loaded, path)


def _row(target: Target, draws: np.ndarray) -> dict[str, object]:
    x = draws[np.isfinite(draws)]
    obs = target.value
    base = {"series": target.series.name, "period": target.period.text, "observed": obs, "replications": len(x)}
    if not len(x):
        return {**base, "p5": np.nan, "p50": np.nan, "p95": np.nan, "inside": False, "percentile": np.nan}
    p5, p50, p95 = np.percentile(x, [5, 50, 95])
    tie = TIE * max(abs(obs), 1.0)  # a price at its base, 1612.5 / 7.2 either way round, is a tie
    percentile = 100.0 * (np.mean(x < obs - tie) + 0.5 * np.mean(abs(x - obs) <= tie))
    return {**base, "p5": p5, "p50": p50, "p95": p95, "inside": bool(p5 - tie <= obs <= p95 + tie),
            "percentile": float(percentile)}


def inside_line(table: pd.DataFrame, left_out: int = 0) -> str:
    """``observed: 9 of 11 rows inside the model's 5-95% band`` (and how many
    rows this run does not produce)."""
    skipped = f"; {left_out} rows left out (not produced by this scenario)" if left_out else ""
    return (f"observed: {int(table['inside'].sum())} of {len(table)} rows inside the model's 5-95% band "
            f"(observed_vs_model.parquet){skipped}")


__all__ = ["COLUMNS", "FAN_COLUMNS", "ObservedTables", "inside_line", "observed_fans", "observed_tables", "observed_targets",
           "observed_vs_model"]
