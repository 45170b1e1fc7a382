"""The review office against queueing theory (SPEC §5, §6).

With exponential review durations and Poisson background load each stage is an
M/M/c queue and the office an open Jackson network, so the simulated waits,
times in review, queue lengths and utilisations must match Erlang C / Jackson
(``resim.model.queueing``). Tolerances come from the simulation's own standard errors
(batch means over replications, a 99.9% Student-t interval), never from pinned
seeded numbers; each test also checks that its interval is tight enough for
the comparison to mean something.

Applications submitted in the first ``WARMUP`` days (the office starts empty)
or in the last ``TAIL`` days (some would still be pending at the horizon, and
keeping only the decided ones would favour short reviews) are left out.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import resim
from resim.model.queueing import (
    Rework,
    erlang_b,
    erlang_c,
    jackson_tandem,
    mmc_wait,
)

WARMUP = 300.0
TAIL = 200.0
CONFIDENCE = 0.999
BATCHES = 10  # batches per replication for batch means

# A test is only meaningful if its interval is this tight (relative to theory).
WAIT_PRECISION = 0.15
TOTAL_PRECISION = 0.02  # the SPEC §6 bar on the mean time in review

# Arrival rate and (name, mean days, reviewers): utilisations 0.8, 0.75, 0.7
# with 2-7 reviewers, so every stage has a wait of 0.4-1 service times
# while the 99.9% intervals stay near 10% (waits) and 1.6% (total) with ~0.5M
# files (heavier load, e.g. rho = 0.9, needs ~10x the files for the same).
LAM = 4.0
STAGES = [("technical", 1.4, 7), ("security", 0.75, 4), ("issuance", 0.35, 2)]
HORIZON = 12_500.0
REPS = 10


def scenario(
    lam: float,
    stages: list[tuple[str, Any, Any]],
    horizon: float,
    reps: int,
    seed: int,
    *,
    rework: tuple[float, str, float] | None = None,
    **licensing: Any,
) -> dict[str, Any]:
    """A licensing-only scenario: Poisson background load through ``stages``
    of (name, duration, reviewers); a number as duration means exponential
    with that mean, a dict is taken as is."""
    q, at, fix = rework if rework is not None else (0.0, stages[0][0], 1.0)
    lic: dict[str, Any] = {
        "approval_rate": 1.0,
        "resubmit_days": 20.0,
        "rework": {"probability": q, "stage": at, "fix_days": {"dist": "exponential", "mean": fix}},
        "background": {"applications_per_day": lam},
        "stages": [
            {
                "name": name,
                "reviewers": c,
                "duration": d if isinstance(d, dict) else {"dist": "exponential", "mean": d},
            }
            for name, d, c in stages
        ],
    }
    lic.update(licensing)
    return {
        "scenario": {"name": "review theory", "horizon": horizon, "replications": reps, "seed": seed},
        "licensing": lic,
    }


def steady(licences: pd.DataFrame, horizon: float) -> pd.DataFrame:
    """Applications submitted after the warm-up and early enough to be decided,
    in submission order within each replication."""
    sub = licences["submitted_day"]
    sel = licences[(sub > WARMUP) & (sub < horizon - TAIL)]
    assert len(sel) > 0
    assert (sel["outcome"] != "pending").all(), "steady-state window must be fully decided"
    return sel.sort_values(["replication", "submitted_day"])


def batch_mean_ci(values: pd.Series, replication: pd.Series) -> tuple[float, float]:
    """Mean of ``values`` and the half-width of its ``CONFIDENCE`` interval from
    batch means: each replication is cut into ``BATCHES`` consecutive batches
    (each thousands of files, far longer than the queues' memory)."""
    means = []
    for _, v in values.groupby(replication, sort=False):
        means.extend(b.mean() for b in np.array_split(v.to_numpy(dtype=float), BATCHES))
    m = np.asarray(means)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, m.size - 1) * m.std(ddof=1) / math.sqrt(m.size)
    return float(values.mean()), float(half)


def rep_ci(values: np.ndarray) -> tuple[float, float]:
    """Mean and ``CONFIDENCE`` half-width over independent replications."""
    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean()), float(half)


# ---------------------------------------------------------------- theory itself


def test_theory_formulas() -> None:
    # M/M/1: Wq = rho S / (1 - rho); Erlang C equals rho.
    assert mmc_wait(0.5, 1.0, 1) == pytest.approx(1.0)
    assert erlang_c(0.5, 1) == pytest.approx(0.5)
    # M/M/2, a = 1: C = 1/3, Wq = C S / (c - a) = 1/3.
    assert erlang_c(1.0, 2) == pytest.approx(1 / 3)
    assert mmc_wait(1.0, 1.0, 2) == pytest.approx(1 / 3)
    # Erlang B by its closed form for small c.
    a, c = 3.0, 5
    closed = (a**c / math.factorial(c)) / sum(a**k / math.factorial(k) for k in range(c + 1))
    assert erlang_b(a, c) == pytest.approx(closed)
    # Large c is stable (no overflow) and infinite servers never wait.
    assert 0.0 < erlang_c(2000.0, 2050) < 1.0
    assert mmc_wait(10.0, 17.5, math.inf) == 0.0
    # The anchor network of benchmarks/anchors_tandem.py: 37.507 days.
    net = jackson_tandem(10.0, [(17.5, 220), (12.5, 160), (7.5, 95)])
    assert net.total == pytest.approx(37.50704641888458, rel=1e-12)
    # Rework: visits 1/(1-q), rate lam/(1-q), fix time (visits-1) * fix mean.
    rw = jackson_tandem(1.0, [(1.0, 3), (0.5, math.inf)], Rework(0, 0.5, 4.0))
    assert rw.visits == (2.0, 1.0) and rw.arrival_rates == (2.0, 1.0)
    assert rw.total == pytest.approx(2 * (mmc_wait(2.0, 1.0, 3) + 1.0) + 0.5 + 4.0)
    with pytest.raises(ValueError):
        mmc_wait(2.0, 1.0, 2)
    with pytest.raises(ValueError):
        jackson_tandem(1.0, [(1.0, 2)], Rework(0, 0.5, 1.0))  # rho = 1 with rework


# ---------------------------------------------------------------- (a), (b), (f)


@pytest.fixture(scope="module")
def network() -> resim.Results:
    return resim.simulate(scenario(LAM, STAGES, HORIZON, REPS, seed=2025), workers=1)


@pytest.mark.slow
def test_stage_waits_and_time_in_review_match_jackson(network: resim.Results) -> None:
    theory = jackson_tandem(LAM, [(m, c) for _, m, c in STAGES])
    sel = steady(network.licences, HORIZON)
    assert len(sel) > 0.9 * LAM * (HORIZON - WARMUP - TAIL) * REPS
    for i, (name, _, _) in enumerate(STAGES):
        assert (sel[f"visits_{name}"] == 1).all()
        mean, half = batch_mean_ci(sel[f"wait_{name}"], sel["replication"])
        assert theory.waits[i] > 0.3 * theory.services[i]  # waits are not trivial
        assert half < WAIT_PRECISION * theory.waits[i], f"{name}: interval too wide ({half:.4f})"
        assert abs(mean - theory.waits[i]) <= half, (
            f"{name}: mean wait {mean:.4f} vs Erlang C {theory.waits[i]:.4f} (+/- {half:.4f})"
        )
        # Services are exponential with the configured mean.
        s_mean, s_half = batch_mean_ci(sel[f"service_{name}"], sel["replication"])
        assert abs(s_mean - theory.services[i]) <= s_half
    total = sel["decided_day"] - sel["submitted_day"]
    mean, half = batch_mean_ci(total, sel["replication"])
    assert half < TOTAL_PRECISION * theory.total
    assert abs(mean - theory.total) <= half
    assert abs(mean / theory.total - 1.0) < TOTAL_PRECISION


@pytest.mark.slow
def test_littles_law_per_stage(network: resim.Results) -> None:
    lic, st = network.licences, network.stages
    theory = jackson_tandem(LAM, [(m, c) for _, m, c in STAGES])
    for i, (name, _, _) in enumerate(STAGES):
        g = st[st["stage"] == name].set_index("replication").sort_index()
        L = g["queue_area"] / g["horizon_days"]  # time-average number waiting
        rate = g["arrivals"] / g["horizon_days"]
        # Sample-path Little's law: every file's wait in [0, horizon] (files
        # still queued at the horizon included) adds up to the queue area.
        wait_sum = lic.groupby("replication")[f"wait_{name}"].sum().sort_index()
        w_per_arrival = wait_sum / g["arrivals"]
        np.testing.assert_allclose(L, rate * w_per_arrival, rtol=1e-9)
        # Arrivals at each stage are the files that reached it.
        reached = lic[(lic[f"visits_{name}"] > 0) | (lic[f"wait_{name}"] > 0)]
        np.testing.assert_array_equal(reached.groupby("replication").size().sort_index(), g["arrivals"])
        # Steady state: L = lambda * Wq per visit, with the measured rate and
        # the steady-state mean wait per visit (and both against theory).
        sel = steady(lic, HORIZON)
        w, w_half = batch_mean_ci(sel[f"wait_{name}"] / sel[f"visits_{name}"], sel["replication"])
        L_mean, L_half = rep_ci(L.to_numpy())
        r_mean = float(rate.mean())
        # Start-up from empty shortens the average queue by at most the
        # queue's fill-up time over the horizon.
        bias = theory.queue_lengths[i] * sum(theory.sojourns[: i + 1]) / HORIZON
        assert abs(L_mean - r_mean * w) <= L_half + r_mean * w_half + bias, (
            f"{name}: L {L_mean:.4f} vs lambda W {r_mean * w:.4f}"
        )
        assert abs(L_mean - theory.queue_lengths[i]) <= L_half + bias
        assert abs(r_mean - LAM) <= 4 * math.sqrt(LAM / HORIZON / REPS)


@pytest.mark.slow
def test_reviewer_utilisation_matches_offered_load(network: resim.Results) -> None:
    summary = network.summary()["licensing"]
    st = network.stages
    for name, mean, c in STAGES:
        rho = LAM * mean / c
        g = st[st["stage"] == name]
        per_rep = (g["busy_area"] / g["reviewer_area"]).to_numpy()
        u, half = rep_ci(per_rep)
        util = summary["reviewer_utilisation"][name]
        assert util["mean"] == pytest.approx(u, rel=1e-9)
        assert half < 0.02 * rho
        bias = rho * (WARMUP / 10) / HORIZON  # empty start: a few days of lower load
        assert abs(util["mean"] - rho) <= half + bias, f"{name}: {util['mean']:.4f} vs {rho:.4f}"
    # The summary's per-visit waits (all files) agree with the steady-state ones.
    theory = jackson_tandem(LAM, [(m, c) for _, m, c in STAGES])
    for i, (name, _, _) in enumerate(STAGES):
        assert summary["stage_wait_days"][name]["mean"] == pytest.approx(theory.waits[i], rel=0.1)


# ---------------------------------------------------------------- (c) rework


@pytest.mark.slow
def test_rework_visits_and_time_match_jackson() -> None:
    q, fix = 0.3, 3.0
    # technical sees 4 / 0.7 = 5.71 visits a day: utilisation 0.78 with 7 reviewers
    stages = [("technical", 0.95, 7), ("security", 0.75, 4), ("issuance", 0.35, 2)]
    lam, horizon, reps = 4.0, 8_000.0, 8
    res = resim.simulate(
        scenario(lam, stages, horizon, reps, seed=77, rework=(q, "technical", fix)), workers=1
    )
    theory = jackson_tandem(lam, [(m, c) for _, m, c in stages], Rework(0, q, fix))
    sel = steady(res.licences, horizon)
    visits = sel["visits_technical"]
    # Visits are geometric: mean 1/(1-q), P(k) = (1-q) q^(k-1).
    v_mean, v_half = batch_mean_ci(visits, sel["replication"])
    assert abs(v_mean - 1 / (1 - q)) <= v_half
    assert v_half < 0.01
    # The coin flips are independent of the queues: plain binomial intervals.
    n = len(visits)
    z = stats.norm.ppf(0.5 + CONFIDENCE / 2)
    for k in (1, 2, 3):
        p = (1 - q) * q ** (k - 1)
        assert abs((visits == k).mean() - p) <= z * math.sqrt(p * (1 - p) / n), k
    assert (sel["visits_security"] == 1).all() and (sel["visits_issuance"] == 1).all()
    # Per-visit wait at the rework stage: Erlang C at the rate lam / (1 - q).
    w, w_half = batch_mean_ci(sel["wait_technical"] / visits, sel["replication"])
    assert theory.arrival_rates[0] == pytest.approx(lam / (1 - q))
    assert w_half < WAIT_PRECISION * theory.waits[0]
    assert abs(w - theory.waits[0]) <= w_half
    # Stage arrivals count every visit.
    st = res.stages[res.stages["stage"] == "technical"]
    rate, r_half = rep_ci((st["arrivals"] / st["horizon_days"]).to_numpy())
    assert abs(rate - lam / (1 - q)) <= r_half + lam * fix / horizon  # + files in fix at the end
    # Total time in review, including (visits - 1) fixes.
    total = sel["decided_day"] - sel["submitted_day"]
    t_mean, t_half = batch_mean_ci(total, sel["replication"])
    assert t_half < TOTAL_PRECISION * theory.total
    assert abs(t_mean - theory.total) <= t_half
    assert abs(t_mean / theory.total - 1.0) < TOTAL_PRECISION


# ---------------------------------------------------------------- (d) decisions


@pytest.mark.parametrize(
    ("licensing", "background", "expected"),
    [
        (
            {"approval_rate": 0.8, "approval_by_destination": {"US": 0.5, "JP": 0.9},
             "approval_by_end_use": {"civil": 1.0, "dual_use": 0.75, "military": 0.0}},
            {"destination": "US", "end_use": "dual_use"},
            0.8 * 0.5 * 0.75,
        ),
        ({"approval_rate": 0.6}, {"destination": "DE", "end_use": "civil"}, 0.6),
        (
            {"approval_rate": 0.9, "approval_by_end_use": {"military": 0.0}},
            {"destination": "US", "end_use": "military"},
            0.0,
        ),
    ],
    ids=["US-dual-use", "no-multipliers", "military-zero"],
)
def test_approved_fraction_is_rate_times_multipliers(
    licensing: dict[str, Any], background: dict[str, Any], expected: float
) -> None:
    lam, horizon, reps = 40.0, 500.0, 2
    fast = {"dist": "constant", "value": 1.0}
    scn = scenario(lam, [("technical", fast, "inf"), ("issuance", fast, "inf")], horizon, reps, seed=5)
    scn["licensing"].update(licensing)
    scn["licensing"]["background"].update(background)
    res = resim.simulate(scn, workers=1)
    decided = res.licences[res.licences["outcome"] != "pending"]
    n = len(decided)
    assert n > 0.9 * lam * horizon * reps
    assert (decided["destination"] == background["destination"]).all()
    share = float((decided["outcome"] == "approved").mean())
    z = stats.norm.ppf(0.5 + CONFIDENCE / 2)
    half = z * math.sqrt(expected * (1 - expected) / n)
    assert abs(share - expected) <= half, f"approved {share:.4f} vs {expected:.4f} (+/- {half:.4f})"
    summary = res.summary()["licensing"]["approved_share"]
    assert summary["mean"] == pytest.approx(expected, abs=3 * half + 1e-12)


# ---------------------------------------------------------------- (e) working days


def _workday_end(start: date, holidays: list[date], t: float, d: float) -> float:
    """Calendar time when ``d`` working days of work begun at ``t`` end, by
    walking the calendar day by day (independent of ``resim.model.calendar``)."""
    hol = np.array(holidays, dtype="datetime64[D]")

    def busy(day: int) -> bool:
        return bool(np.is_busday(np.datetime64(start + timedelta(days=day)), holidays=hol))

    day = math.floor(t)
    if busy(day):
        avail = day + 1 - t
        if d <= avail:
            return t + d
        d -= avail
    day += 1
    while True:
        if busy(day):
            if d <= 1.0:
                return day + d
            d -= 1.0
        day += 1


def test_working_day_durations_skip_weekends_and_holidays() -> None:
    start = date(2025, 4, 21)  # a Monday
    holidays = [date(2025, 5, 1), date(2025, 5, 2), date(2025, 5, 5), date(2025, 6, 9),
                date(2025, 10, 1), date(2025, 10, 2), date(2025, 10, 3)]
    durations = [("technical", 5.0), ("security", 2.5), ("issuance", 1.0)]
    horizon = 300.0
    stages = [(n, {"dist": "constant", "value": d}, "inf") for n, d in durations]
    scn = scenario(3.0, stages, horizon, 1, seed=11, working_days=True,
                   holidays=[h.isoformat() for h in holidays])
    scn["scenario"]["start_date"] = start.isoformat()
    lic = resim.simulate(scn, workers=1).licences
    lic = lic[lic["outcome"] != "pending"]
    assert len(lic) > 500
    hol = np.array(holidays, dtype="datetime64[D]")
    day0 = np.datetime64(start)
    spanned_holiday = 0
    for row in lic.itertuples():
        t = row.submitted_day
        for name, d in durations:
            assert getattr(row, f"wait_{name}") == 0.0  # infinite reviewers
            service = getattr(row, f"service_{name}")
            end = _workday_end(start, holidays, t, d)
            assert service == pytest.approx(end - t, abs=1e-9), (name, t)
            # Whole working days strictly inside the span, by numpy's own count.
            first, last = math.ceil(t), math.floor(t + service)
            if last > first:
                inside = np.busday_count(day0 + first, day0 + last, holidays=hol)
                assert inside <= d
                spanned_holiday += int(np.busday_count(day0 + first, day0 + last) > inside)
            t += service
        assert row.decided_day == pytest.approx(t, abs=1e-9)
    assert spanned_holiday > 0
    # Five working days never take less than five calendar days, and take
    # more than a week when a holiday falls inside.
    svc = lic["service_technical"]
    assert svc.min() >= 5.0 and svc.max() > 7.0
