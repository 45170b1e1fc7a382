"""Observed data beside a run: where each observed row falls in the model's spread.

``resim run SCENARIO --observed FILE`` reads the rows of an observed-data CSV
(the calibration's format, docs/calibration.md), measures each row's series in
every replication exactly as a calibration does (``measure.Measured``), and
writes ``observed_vs_model.parquet``: per row the observed value, the
replications' 5th, 50th and 95th percentiles, whether the observation lies
inside that 90% band, and its percentile among the replications (ties count
half: the mid-rank, so an observation equal to every draw sits at 50). A row
published after a forecast was made is the honest test of that forecast.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..scenario import Loaded
from .measure import Measured
from .observed import read_observed
from .series import Horizon, Target, compile_targets

COLUMNS = ["series", "period", "observed", "p5", "p50", "p95", "inside", "percentile", "replications"]


def observed_targets(loaded: Loaded, path: str | Path) -> list[Target]:
    """The rows of ``path`` checked against the scenario (one-line errors
    naming the file, row and value, before anything runs)."""
    return compile_targets(read_observed(path), loaded.scenario, str(path),
                           [step.scenario for step in loaded.timeline])


def observed_vs_model(outputs: Sequence[object], targets: Sequence[Target], loaded: Loaded) -> pd.DataFrame:
    """One row per target: the observed value against the replications' spread."""
    views = [Measured(o, Horizon.of(loaded.scenario)) for o in outputs if not getattr(o, "error", None)]
    rows = [_row(t, np.array([v.value(t.series, t.period) for v in views], dtype=float)) for t in targets]
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(target: Target, draws: np.ndarray) -> dict[str, object]:
    x = draws[np.isfinite(draws)]
    obs = target.value
    base = {"series": target.series.name, "period": target.period.text, "observed": obs, "replications": len(x)}
    if not len(x):
        return {**base, "p5": np.nan, "p50": np.nan, "p95": np.nan, "inside": False, "percentile": np.nan}
    p5, p50, p95 = np.percentile(x, [5, 50, 95])
    percentile = 100.0 * (np.mean(x < obs) + 0.5 * np.mean(x == obs))
    return {**base, "p5": p5, "p50": p50, "p95": p95, "inside": bool(p5 <= obs <= p95),
            "percentile": float(percentile)}


def inside_line(table: pd.DataFrame) -> str:
    """``observed: 9 of 11 rows inside the model's 5-95% band``."""
    return (f"observed: {int(table['inside'].sum())} of {len(table)} rows inside the model's 5-95% band "
            "(observed_vs_model.parquet)")


__all__ = ["COLUMNS", "inside_line", "observed_targets", "observed_vs_model"]
