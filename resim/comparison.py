"""Paired comparison of two scenarios under common random numbers.

Both scenarios run replications 0..n-1 with the same root seed, so
replication r of A and of B share every random draw that their difference
does not touch. The paired difference B - A then has a far narrower interval
than two independent samples would give; the report states by how much (the
ratio of the independent to the paired CI width).

A replication that fails on either side leaves its pair out of the
statistics and becomes a row of its own (``metric = "failed"``, with the
error and the seed that reproduces it), as a failed replication does in
``resim run``; it never ends the comparison.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .api import Overrides, load_scenario, merge_overrides, with_posterior
from .comparison_result import Comparison, scenario_label
from .execution import cap_workers, default_workers, kpi_rows, run_replications
from .kpis import METRICS
from .scenario import Loaded


def _kpis(loaded: Loaded, n: int, workers: int) -> pd.DataFrame:
    """One row per replication x automaker; a failed replication is one row
    with its error and seed."""
    return kpi_rows(run_replications(loaded, range(n), workers=workers), loaded)


def _failed_pairs(ka: pd.DataFrame, kb: pd.DataFrame) -> pd.DataFrame:
    """One row per replication that failed in A, in B or in both."""
    rows = []
    bad_a = ka[ka["error"].notna()].set_index("replication")
    bad_b = kb[kb["error"].notna()].set_index("replication")
    for r in sorted({*bad_a.index, *bad_b.index}):
        errs = [f"{side}: {bad.loc[r, 'error']}" for side, bad in (("A", bad_a), ("B", bad_b)) if r in bad.index]
        seed = (bad_a if r in bad_a.index else bad_b).loc[r, "seed"]
        rows.append({"automaker": None, "metric": "failed", "replication": int(r), "error": "; ".join(errs),
                     "seed": seed})
    return pd.DataFrame(rows, columns=["automaker", "metric", "replication", "error", "seed"])


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
    overrides: Overrides = (),
    overrides_a: Overrides = (),
    overrides_b: Overrides = (),
    workers: int | None = None,
    posterior: str | Path | None = None,
) -> Comparison:
    """Per automaker and KPI: A mean, B mean, paired B - A with 95% CI, and
    the CI width ratio (independent / paired), over the pairs where both
    sides succeeded; then one ``metric = "failed"`` row per failed pair. B
    defaults to A with ``overrides_b`` applied. B runs with A's seed (common
    random numbers); with ``posterior`` both draw replication r's fitted
    parameters from it, the same draw on both sides."""
    la = with_posterior(load_scenario(a, merge_overrides(overrides, overrides_a)), posterior)
    seed = la.scenario.scenario.seed
    lb = with_posterior(load_scenario(b if b is not None else a, merge_overrides(
        overrides, overrides_b, {"scenario.seed": seed})), posterior)
    n = replications or la.scenario.scenario.replications
    workers = cap_workers(max(1, workers or default_workers()), n, announce=workers is not None)
    ka, kb = _kpis(la, n, workers), _kpis(lb, n, workers)
    failed = _failed_pairs(ka, kb)
    bad = set(failed["replication"])
    ka, kb = ka[~ka["replication"].isin(bad)], kb[~kb["replication"].isin(bad)]
    rows = []
    for who in dict.fromkeys(ka["automaker"]):
        if who not in set(kb["automaker"]):
            continue
        ga = ka[ka.automaker == who].set_index("replication").sort_index()
        gb = kb[kb.automaker == who].set_index("replication").sort_index()
        for m in METRICS:
            s = paired_stats(ga[m].to_numpy(dtype=float), gb[m].to_numpy(dtype=float))
            rows.append({"automaker": who, "metric": m, **s})
    out = pd.DataFrame(rows)
    table = Comparison(pd.concat([out, failed], ignore_index=True) if len(failed) else out)
    table.attrs.update(a=scenario_label(a, merge_overrides(overrides, overrides_a)),
                       b=scenario_label(b if b is not None else a, merge_overrides(overrides, overrides_b)))
    return table
