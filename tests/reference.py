"""Helpers for comparing a run with the reference data of commit 608c727.

``tests/data/reference_608c727/`` holds what commit 608c727 produced for every
shipped scenario (``make_reference.py`` there writes it, with these helpers):

* ``record_hashes.json``: a SHA-256 of each record table of a 2-replication
  run, for checks that a change leaves the records bit-for-bit the same
  (``table_hashes``);
* ``kpi_reference.json``: per automaker and for ``all``, the count, mean and
  standard deviation of each KPI over many replications, for checks that a
  change which alters the random streams still gives statistically the same
  outcomes (``kpi_equivalence``).

Only the public ``Results`` attributes are read (``.replications``,
``.totals``, ``.timeseries``, ``.licences``, ``.flows``), so the helpers work
with any version of ``resim``. Nothing here imports ``resim``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

#: The record tables hashed by ``table_hashes``, in the order they are written.
TABLES = ("timeseries", "licences", "flows", "replications", "totals")

#: The KPI columns of ``Results.replications`` and ``Results.totals``.
KPIS = (
    "vehicles_lost",
    "shortfall_t",
    "stockout_days",
    "first_stockout_day",
    "longest_stoppage_days",
    "fill_rate",
    "extra_cost_usd",
    "peak_share_stopped",
    "firms_ever_stopped",
    "first_firm_stockout_day",
)

#: KPIs that are the day of a first event, NaN in a replication without one.
FIRST_EVENT_KPIS = ("first_stockout_day", "first_firm_stockout_day")

#: The group name of the all-automaker totals (``Results.totals``).
ALL = "all"

#: Differences larger than this many standard errors are failures.
SIGMAS = 3.0


def frame_hash(df: pd.DataFrame) -> str:
    """SHA-256 of a frame written canonically: columns sorted by name, rows in
    the frame's order, ``to_csv(index=False, float_format="%.17g",
    na_rep="NA")`` (with ``"\\n"`` line ends whatever the platform)."""
    canonical = df[sorted(df.columns)]
    text = canonical.to_csv(index=False, float_format="%.17g", na_rep="NA", lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def table_hashes(results: Any) -> dict[str, str]:
    """``{table: sha256}`` for each record table of a ``resim.Results``
    (``TABLES``), hashed by ``frame_hash``."""
    return {name: frame_hash(getattr(results, name)) for name in TABLES}


def _stats(values: pd.Series) -> dict[str, Any]:
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = x[~np.isnan(x)]
    n = int(finite.size)
    return {
        "n": n,
        "mean": float(finite.mean()) if n else None,
        "sd": float(finite.std(ddof=1)) if n > 1 else None,
        "nan": int(x.size - n),
    }


def kpi_stats(replications_df: pd.DataFrame, totals_df: pd.DataFrame,
              kpis: Iterable[str] = KPIS) -> dict[str, dict[str, dict[str, Any]]]:
    """``{automaker or "all": {kpi: {"n", "mean", "sd", "nan"}}}``.

    ``n`` counts the non-NaN values, ``mean`` and ``sd`` (ddof=1) are over
    them (``None`` when undefined: no value, or one for ``sd``) and ``nan``
    counts the NaN values (replications without the event, for a first-event
    day). Automakers in order of first appearance, then ``"all"`` from the
    totals. A KPI missing from a frame is left out of its group."""
    kpis = tuple(kpis)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    automakers = pd.unique(replications_df["automaker"].astype(object))
    for name in automakers:
        rows = replications_df[replications_df["automaker"].astype(object) == name]
        out[str(name)] = {k: _stats(rows[k]) for k in kpis if k in rows.columns}
    out[ALL] = {k: _stats(totals_df[k]) for k in kpis if k in totals_df.columns}
    return out


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


def _failed_rows(df: pd.DataFrame) -> int:
    if "error" not in df.columns:
        return 0
    return int(df["error"].notna().sum())


def _compare_means(where: str, ref: Mapping[str, Any], new: Mapping[str, Any], sigmas: float) -> str | None:
    n_ref, n_new = int(ref["n"]), int(new["n"])
    if n_ref == 0 or n_new == 0:
        return None  # nothing to compare (the NaN checks speak for this pair)
    m_ref, m_new = _num(ref["mean"]), _num(new["mean"])
    sd_ref, sd_new = _num(ref["sd"]), _num(new["sd"])
    # one value has no spread of its own: take the other side's
    if math.isnan(sd_ref) and math.isnan(sd_new):
        return None  # one value each: no estimate of the spread, no test
    if math.isnan(sd_ref):
        sd_ref = sd_new
    if math.isnan(sd_new):
        sd_new = sd_ref
    diff = abs(m_new - m_ref)
    slack = 1e-9 * max(1.0, abs(m_ref))  # floating-point rounding of sums
    if sd_ref == 0 and sd_new == 0 and diff <= slack:
        return None
    se = math.sqrt(sd_ref**2 / n_ref + sd_new**2 / n_new)
    if diff <= sigmas * se + slack:
        return None
    z = diff / se if se > 0 else math.inf
    return (f"{where}: mean {m_new:.6g} (sd {sd_new:.4g}, n {n_new}) against reference "
            f"{m_ref:.6g} (sd {sd_ref:.4g}, n {n_ref}): |difference| {diff:.4g} is "
            f"{z:.2f} standard errors (limit {sigmas:g})")


def _compare_event_share(where: str, ref: Mapping[str, Any], new: Mapping[str, Any],
                         sigmas: float) -> str | None:
    ev_ref, tot_ref = int(ref["n"]), int(ref["n"]) + int(ref.get("nan", 0))
    ev_new, tot_new = int(new["n"]), int(new["n"]) + int(new["nan"])
    if tot_ref == 0 or tot_new == 0:
        return None
    p_ref, p_new = ev_ref / tot_ref, ev_new / tot_new
    pooled = (ev_ref + ev_new) / (tot_ref + tot_new)
    se = math.sqrt(pooled * (1 - pooled) * (1 / tot_ref + 1 / tot_new))
    if se == 0 or abs(p_new - p_ref) <= sigmas * se:
        return None  # se 0: both always or both never
    return (f"{where}: event in {ev_new} of {tot_new} replications ({p_new:.3f}) against "
            f"reference {ev_ref} of {tot_ref} ({p_ref:.3f}): |difference| is "
            f"{abs(p_new - p_ref) / se:.2f} standard errors (limit {sigmas:g}, two-proportion z)")


def comparisons(reference_block: Mapping[str, Any]) -> int:
    """How many tests ``kpi_equivalence`` makes against this block: one per
    automaker (and ``"all"``) and KPI, two for a first-event day (the share
    with the event, and the mean day). For a limit that keeps the chance of
    any false failure small over all of them."""
    return sum(1 + (kpi in FIRST_EVENT_KPIS) for group in reference_block["kpis"].values() for kpi in group)


def kpi_equivalence(reference_block: Mapping[str, Any], replications_df: pd.DataFrame,
                    totals_df: pd.DataFrame, sigmas: float = SIGMAS) -> list[str]:
    """Human-readable failures of a run against a scenario's reference block
    (``kpi_reference.json["scenarios"][file]``); empty when equivalent.

    For each automaker and ``"all"`` and each KPI of the block, the means must
    agree: ``|mean_new - mean_ref| <= sigmas * sqrt(sd_ref²/n_ref + sd_new²/n_new)``
    over the non-NaN values (a pair whose sds are both 0 passes when the means
    are equal; a side with a single value borrows the other side's sd; with a
    single value on both sides, or no value on a side, the means are not
    compared). For first-event days (NaN: no event), the share of
    replications with the event must agree too, by a two-proportion z test
    at the same ``sigmas`` (3 by default: a run of a few hundred replications
    and a handful of comparisons; a short run against many comparisons needs
    a wider limit, see ``comparisons``). For the other KPIs a NaN where the
    reference had none (or the reverse) is a failure. Automakers or KPIs missing from the
    run, automakers the reference does not have, and failed replications
    (``error`` set) are failures too."""
    failures: list[str] = []
    ref_groups: Mapping[str, Mapping[str, Any]] = reference_block["kpis"]
    for df, label in ((replications_df, "replications"), (totals_df, "totals")):
        failed = _failed_rows(df)
        if failed:
            failures.append(f"{failed} row(s) of {label} have an error")
    kpis: list[str] = []
    for group in ref_groups.values():
        kpis += [k for k in group if k not in kpis]
    new_groups = kpi_stats(replications_df, totals_df, kpis)
    for name in new_groups:
        if name not in ref_groups:
            failures.append(f"{name}: in the run but not in the reference")
    for name, ref_kpis in ref_groups.items():
        if name not in new_groups:
            failures.append(f"{name}: in the reference but not in the run")
            continue
        for kpi, ref in ref_kpis.items():
            where = f"{name} {kpi}"
            new = new_groups[name].get(kpi)
            if new is None:
                failures.append(f"{where}: column missing from the run")
                continue
            if kpi in FIRST_EVENT_KPIS:
                msg = _compare_event_share(where, ref, new, sigmas)
                if msg:
                    failures.append(msg)
            elif (int(ref.get("nan", 0)) == 0) != (new["nan"] == 0):
                failures.append(f"{where}: NaN in {new['nan']} of {new['n'] + new['nan']} "
                                f"replications, reference {ref.get('nan', 0)} of "
                                f"{ref['n'] + ref.get('nan', 0)}")
            msg = _compare_means(where, ref, new, sigmas)
            if msg:
                failures.append(msg)
    return failures
