"""tests/reference.py: kpi_equivalence accepts samples of one distribution and
rejects a shifted one, by its stated rule (3 standard errors), on synthetic
replication tables drawn with fixed seeds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from reference import (
    FIRST_EVENT_KPIS,
    KPIS,
    SIGMAS,
    comparisons,
    frame_hash,
    kpi_equivalence,
    kpi_stats,
)

AUTOMAKERS = ("EU automaker", "US automaker")


def draw(seed: int, n: int = 300, shift: dict[str, float] | None = None,
         event_p: float = 0.6) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replications (per automaker) and totals of ``n`` synthetic replications;
    ``shift`` adds to a KPI's values, ``event_p`` is the chance of a first event."""
    rng = np.random.default_rng(seed)
    shift = shift or {}
    rows = []
    for r in range(n):
        for a in AUTOMAKERS:
            row: dict[str, object] = {"replication": r, "automaker": a, "error": pd.NA}
            for k in KPIS:
                if k in FIRST_EVENT_KPIS:
                    row[k] = rng.uniform(30, 120) if rng.random() < event_p else math.nan
                elif k == "extra_cost_usd":
                    row[k] = 0.0  # a KPI without spread
                else:
                    row[k] = rng.gamma(4.0, 25.0)
                row[k] = float(row[k]) + shift.get(k, 0.0)
            rows.append(row)
    reps = pd.DataFrame(rows)
    reps["automaker"] = reps["automaker"].astype("string")
    totals = reps.groupby("replication", as_index=False)[list(KPIS)].agg(
        {k: ("min" if k in FIRST_EVENT_KPIS else "sum") for k in KPIS})
    totals["error"] = pd.array([pd.NA] * len(totals), dtype="string")
    return reps, totals


def reference_block(reps: pd.DataFrame, totals: pd.DataFrame) -> dict:
    return {"seed": 1, "replications": int(totals.shape[0]), "kpis": kpi_stats(reps, totals)}


def rule_failures(ref: dict, reps: pd.DataFrame, totals: pd.DataFrame, sigmas: float = SIGMAS) -> set[str]:
    """The ``where`` of every pair the stated rule rejects, computed here
    independently of kpi_equivalence's code."""
    out = set()
    groups = {a: reps[reps["automaker"] == a] for a in AUTOMAKERS} | {"all": totals}
    for name, df in groups.items():
        for k in KPIS:
            x_ref = ref["kpis"][name][k]
            x = df[k].to_numpy(dtype=float)
            have = x[~np.isnan(x)]
            if x_ref["n"] > 1 and have.size > 1:
                sd_ref, sd_new = x_ref["sd"], have.std(ddof=1)
                se = math.sqrt(sd_ref**2 / x_ref["n"] + sd_new**2 / have.size)
                diff = abs(have.mean() - x_ref["mean"])
                if not (sd_ref == 0 and sd_new == 0 and diff == 0) and diff > sigmas * se + 1e-9 * max(1, abs(x_ref["mean"])):
                    out.add(f"{name} {k}: mean")
            if k in FIRST_EVENT_KPIS:
                n1, n2 = x_ref["n"] + x_ref["nan"], x.size
                e1, e2 = x_ref["n"], have.size
                p = (e1 + e2) / (n1 + n2)
                se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
                if se > 0 and abs(e1 / n1 - e2 / n2) > sigmas * se:
                    out.add(f"{name} {k}: event")
    return out


def kinds(failures: list[str]) -> set[str]:
    return {f.split(": ")[0] + (": event" if "event in" in f else ": mean") for f in failures}


@pytest.mark.parametrize("seed_ref, seed_new", [(1, 2), (3, 4), (5, 6)])
def test_same_distribution_is_accepted(seed_ref: int, seed_new: int) -> None:
    ref = reference_block(*draw(seed_ref))
    reps, totals = draw(seed_new, n=120)
    failures = kpi_equivalence(ref, reps, totals)
    assert kinds(failures) == rule_failures(ref, reps, totals)
    # 3 sigma over ~30 comparisons: a false alarm is rare; none on these seeds
    assert failures == []


def test_shifted_mean_is_rejected() -> None:
    ref = reference_block(*draw(1))
    # ~8 standard errors of the EU automaker's vehicles lost (sd 50, n 300 and 120)
    reps, totals = draw(2, n=120, shift={"vehicles_lost": 45.0})
    failures = kpi_equivalence(ref, reps, totals)
    assert kinds(failures) == rule_failures(ref, reps, totals)
    assert {"EU automaker vehicles_lost: mean", "US automaker vehicles_lost: mean",
            "all vehicles_lost: mean"} <= kinds(failures)
    assert all("vehicles_lost" in f for f in failures)


def test_the_limit_can_be_widened_for_many_comparisons_of_a_short_run() -> None:
    ref = reference_block(*draw(1))
    assert comparisons(ref) == 3 * (len(KPIS) + len(FIRST_EVENT_KPIS))  # EU, US and all
    reps, totals = draw(2, n=120, shift={"vehicles_lost": 45.0})  # ~8 standard errors (all: ~12)
    for sigmas in (3.0, 6.0, 10.0, 20.0):
        failures = kpi_equivalence(ref, reps, totals, sigmas=sigmas)
        assert kinds(failures) == rule_failures(ref, reps, totals, sigmas), sigmas
        assert all(f"(limit {sigmas:g}" in f for f in failures)
    assert kpi_equivalence(ref, reps, totals, sigmas=20.0) == []


def test_event_share_is_compared() -> None:
    ref = reference_block(*draw(1, event_p=0.6))
    reps, totals = draw(2, n=120, event_p=0.3)
    failures = kpi_equivalence(ref, reps, totals)
    assert kinds(failures) == rule_failures(ref, reps, totals)
    assert "EU automaker first_stockout_day: event" in kinds(failures)
    assert all(k.endswith(": event") or "first" in k for k in kinds(failures))


def test_constant_kpi_and_missing_parts() -> None:
    ref = reference_block(*draw(1))
    reps, totals = draw(2, n=50, shift={"extra_cost_usd": 1.0})
    assert any(f.startswith("EU automaker extra_cost_usd") for f in kpi_equivalence(ref, reps, totals))
    reps, totals = draw(2, n=50)
    only_eu = reps[reps["automaker"] == "EU automaker"]
    assert "US automaker: in the reference but not in the run" in kpi_equivalence(ref, only_eu, totals)
    reps.loc[0, "error"] = "boom"
    assert any("have an error" in f for f in kpi_equivalence(ref, reps, totals))
    assert any("column missing" in f for f in kpi_equivalence(ref, reps.drop(columns="fill_rate"), totals))


def test_frame_hash_is_canonical() -> None:
    reps, _ = draw(1, n=3)
    assert frame_hash(reps) == frame_hash(reps[list(reversed(reps.columns))])
    assert frame_hash(reps) != frame_hash(reps.iloc[::-1])
