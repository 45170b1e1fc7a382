"""Paired comparison of two scenarios under common random numbers.

Both scenarios run replications 0..n-1 with the same root seed, so
replication r of A and of B share every random draw that their difference
does not touch. The paired difference B - A then has a far narrower interval
than two independent samples would give; the report states by how much (the
ratio of the independent to the paired CI width).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .api import load_scenario
from .execution import run_replications
from .kpis import METRICS
from .scenario import Loaded


def _kpis(loaded: Loaded, n: int, workers: int) -> pd.DataFrame:
    outs = run_replications(loaded, range(n), workers=workers)
    frames = []
    for o in outs:
        if o.error:
            raise RuntimeError(f"replication {o.replication} of {loaded.source} failed: {o.error}")
        df = o.kpis.copy()  # type: ignore[union-attr]
        df.insert(0, "replication", o.replication)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def paired_stats(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Mean of B - A with its paired 95% t-interval, and the half-width an
    independent-samples (Welch) interval would have had on the same data."""
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    n = a.size
    out = {"n": float(n), "mean_a": math.nan, "mean_b": math.nan, "diff": math.nan,
           "ci_low": math.nan, "ci_high": math.nan, "width_ratio": math.nan}
    if n == 0:
        return out
    d = b - a
    out.update(mean_a=float(a.mean()), mean_b=float(b.mean()), diff=float(d.mean()))
    if n < 2:
        return out
    half = float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / math.sqrt(n))
    out["ci_low"], out["ci_high"] = out["diff"] - half, out["diff"] + half
    va, vb = a.var(ddof=1) / n, b.var(ddof=1) / n
    se_ind = math.sqrt(va + vb)
    if se_ind > 0:
        df = (va + vb) ** 2 / ((va**2 + vb**2) / (n - 1)) if va + vb > 0 else n - 1
        half_ind = float(stats.t.ppf(0.975, df) * se_ind)
        out["width_ratio"] = half_ind / half if half > 0 else math.inf
    return out


def compare(
    a: str | Path | Mapping[str, Any] | Loaded,
    b: str | Path | Mapping[str, Any] | Loaded | None = None,
    replications: int | None = None,
    overrides: Iterable[str] = (),
    overrides_a: Iterable[str] = (),
    overrides_b: Iterable[str] = (),
    workers: int = 1,
) -> pd.DataFrame:
    """Per automaker and KPI: A mean, B mean, paired B - A with 95% CI, and
    the CI width ratio (independent / paired). B defaults to A with
    ``overrides_b`` applied. B runs with A's seed (common random numbers)."""
    la = load_scenario(a, [*overrides, *overrides_a])
    seed = la.scenario.scenario.seed
    lb = load_scenario(b if b is not None else a, [*overrides, *overrides_b, f"scenario.seed={seed}"])
    n = replications or la.scenario.scenario.replications
    ka, kb = _kpis(la, n, workers), _kpis(lb, n, workers)
    rows = []
    for who in dict.fromkeys(ka["automaker"]):
        if who not in set(kb["automaker"]):
            continue
        ga = ka[ka.automaker == who].set_index("replication").sort_index()
        gb = kb[kb.automaker == who].set_index("replication").sort_index()
        for m in METRICS:
            s = paired_stats(ga[m].to_numpy(dtype=float), gb[m].to_numpy(dtype=float))
            rows.append({"automaker": who, "metric": m, **s})
    return pd.DataFrame(rows)
