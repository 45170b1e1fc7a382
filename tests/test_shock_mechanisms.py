"""The 2025 shock's mechanisms (issue 26 item 1): customs holding uncontrolled
grades, learning that starts at an event, approval rates that ramp, review
times with a tail past the statutory cap.

Each is off by default and tested against what it must do: exact where the
mechanism has an exact consequence (no parcel leaves before its hold ends,
targets equal before learning starts), within a binomial or CLT tolerance
where it is random, and under common random numbers (same seed, the key on
and off) for the direction of its effect.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from resim.model.replication import Model
from resim.scenario import load, set_key
from resim.scenario.tomlwriter import dumps

from scenario_helpers import assert_one_line_error, cli

# A Chinese maker making a Dy/Tb grade and a Dy/Tb-free one (same product,
# magnets) for a population of German firms that never run short; licences
# per shipment from day 20, approved after a constant review.
HOLD = {"dist": "uniform", "low": 10, "high": 30}  # mean 20 days
CUSTOMS_FROM, CUSTOMS_TO = 30.0, 120.0
TWO_GRADES: dict[str, Any] = {
    "scenario": {"start_date": "2025-04-04", "horizon": 200, "replications": 1, "seed": 11},
    "controls": {"licence_mode": "none"},
    "licensing": {"approval_rate": 1.0, "stages": [{"name": "review", "reviewers": "inf", "duration": 10}]},
    "grades": {"DyTb": {"content": {"Nd": 0.235, "Pr": 0.06, "Dy": 0.012, "Tb": 0.003}},
               "free": {"content": {"Nd": 0.25, "Pr": 0.06}}},
    "mines": [{"name": "mine", "jurisdiction": "CN", "output_t_per_day": 200,
               "composition": {"Nd": 0.17, "Pr": 0.05, "Dy": 0.004, "Tb": 0.001}}],
    "separators": [{"name": "sep", "jurisdiction": "CN", "capacity_t_per_day": 180,
                    "suppliers": [{"name": "mine", "transit": 1}]}],
    "magnet_makers": [{"name": "cn maker", "jurisdiction": "CN", "grades": {"free": 0.5, "DyTb": "rest"},
                       "capacity_t_per_day": 20.0, "dispatch_days": 1, "initial_inventory_days": 30,
                       "suppliers": [{"name": "sep", "transit": 1}]}],
    "automakers": [{"name": "EU", "jurisdiction": "DE", "demand_t_per_day": 8.0, "firms": 30,
                    "initial_inventory_days": 150, "target_days": 150, "review_days": 5,
                    "suppliers": [{"name": "cn maker", "transit": 30}]}],
    "policy": [{"day": 20, "set": {"controls.licence_mode": "per_shipment"}}],
}


def two_grades(**changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(TWO_GRADES)
    for k, v in changes.items():
        set_key(d, k, v)
    return d


def with_customs(d: dict[str, Any], share: float) -> dict[str, Any]:
    """Customs hold ``share`` of the free parcels from CUSTOMS_FROM to CUSTOMS_TO."""
    d = copy.deepcopy(d)
    d["policy"] += [{"day": CUSTOMS_FROM, "set": {"controls.customs": {"share_held": share, "delay": HOLD}}},
                    {"day": CUSTOMS_TO, "set": {"controls.customs.share_held": 0.0}}]
    return d


def parcels(src: dict[str, Any], replication: int = 0) -> tuple[Model, list[tuple[float, float, bool]]]:
    """Run, logging each exported parcel's (ready day, departure day, needed a licence)."""
    m = Model(load(src), replication)
    auth = m.ctx.licensing
    ready: dict[int, tuple[float, bool]] = {}
    log: list[tuple[float, float, bool]] = []
    request = auth.request

    def logged_request(shp: Any) -> None:
        if shp.link.crosses_border:
            ready[shp.id] = (m.ctx.clock.now, auth.needs_licence(shp))
        request(shp)

    auth.request = logged_request  # type: ignore[method-assign]
    for link in m.links:
        depart = link.depart

        def logged_depart(shp: Any, depart: Any = depart) -> None:
            if shp.id in ready:
                day, controlled = ready[shp.id]
                log.append((day, m.ctx.clock.now, controlled))
            depart(shp)

        link.depart = logged_depart  # type: ignore[method-assign]
    m.run()
    return m, log


# ------------------------------------------------------------ customs

def test_customs_hold_a_share_of_free_parcels_for_the_delay_and_only_in_their_period() -> None:
    share = 0.6
    _, log = parcels(with_customs(two_grades(), share))
    free = np.array([(r, d) for r, d, controlled in log if not controlled and r >= CUSTOMS_FROM - 25])
    ready, gone = free[:, 0], free[:, 1]
    hold = gone - ready
    # no parcel leaves before it is ready, and none is held outside the period
    assert (hold >= 0).all()
    inside = (ready >= CUSTOMS_FROM) & (ready < CUSTOMS_TO)
    assert (hold[~inside] == 0).all() and (~inside).sum() > 20
    # a held parcel waits at least the distribution's low end and at most its high end
    held = hold[inside] > 0
    n = int(inside.sum())
    assert n > 200
    assert (hold[inside][held] >= HOLD["low"] - 1e-9).all() and (hold[inside][held] <= HOLD["high"] + 1e-9).all()
    # the share held is binomial(n, share); the mean hold is uniform's mean (CLT, 4 sd)
    assert abs(held.sum() - share * n) <= 4 * np.sqrt(n * share * (1 - share))
    k = int(held.sum())
    assert abs(hold[inside][held].mean() - 20.0) <= 4 * (20 / np.sqrt(12)) / np.sqrt(k)


def test_customs_leave_licensed_grades_and_uncontrolled_links_alone() -> None:
    """With every free parcel held, each of them waits; a scenario whose
    controls never start holds nothing at all (customs act on goods that
    cross controls only)."""
    src = with_customs(two_grades(), 1.0)
    _, log = parcels(src)
    free = [(r, d) for r, d, c in log if not c and CUSTOMS_FROM <= r < CUSTOMS_TO]
    assert free and all(d > r for r, d in free)  # share 1: every free parcel waits
    no_controls = copy.deepcopy(src)
    no_controls["policy"][0]["set"] = {"licensing.approval_rate": 1.0}
    _, log = parcels(no_controls)
    assert all(d == r for r, d, _ in log)


def test_customs_delay_free_exports_under_common_random_numbers() -> None:
    """Same seed, the treatment on and off: fewer free-grade tonnes leave in
    the period, and the shortfall is the tonnes still held at its end."""
    def departed(src: dict[str, Any]) -> float:
        _, log = parcels(src)
        return sum(1 for r, d, c in log if not c and CUSTOMS_FROM <= d < CUSTOMS_TO)

    off, on = departed(two_grades()), departed(with_customs(two_grades(), 0.8))
    assert on < off


@pytest.mark.parametrize(("table", "key", "value"), [
    ({"share_held": 1.5, "delay": 10}, "controls.customs.share_held", "1.5"),
    ({"share_held": 0.5, "delay": 10, "products": ["magnets"]}, "controls.customs.products[0]", "magnets"),
    ({"share_held": 0.5}, "controls.customs.delay", "required"),
])
def test_bad_customs_values_are_one_line_errors(tmp_path: Path, table: dict[str, Any], key: str,
                                                value: str) -> None:
    d = two_grades()
    d["controls"]["customs"] = table
    src = tmp_path / "c.toml"
    src.write_text(dumps(d))
    assert_one_line_error(cli("validate", str(src)), key, value)


# ------------------------------------------------------------ learning from an event

LEARNER = {"safety_days": 60, "censored": True, "reviews": True}


def learning(starts: Any = None, learn: bool = True, **changes: Any) -> dict[str, Any]:
    """TWO_GRADES with lean targets (40-60 days) that learning would raise."""
    d = two_grades(**{"automakers[0].target_days": {"dist": "uniform", "low": 40, "high": 60},
                      "automakers[0].initial_inventory_days": 60, **changes})
    if learn:
        d["automakers"][0]["adaptive_target"] = {**LEARNER, **({} if starts is None else {"starts": starts})}
    return d


def targets(src: dict[str, Any]) -> list[tuple[float, str, float]]:
    """Every firm's order-up-to target (tonnes) at each of its reviews."""
    m = Model(load(src), 0)
    log: list[tuple[float, str, float]] = []
    for actor in m.actors:
        if actor.kind.table == "automakers":
            target = actor.target

            def logged(actor: Any = actor, target: Any = target) -> Any:
                t = target()
                log.append((m.ctx.clock.now, actor.name, float(t.sum())))
                return t

            actor.target = logged  # type: ignore[method-assign]
    m.run()
    return log


def _split(log: list[tuple[float, str, float]], day: float) -> tuple[list[Any], list[Any]]:
    return [r for r in log if r[0] < day], [r for r in log if r[0] >= day]


@pytest.mark.parametrize(("starts", "day"), [("2025-05-24", 50.0), ("controls_in_force", 20.0),
                                             ("controls_announced", 12.0)])
def test_before_learning_starts_every_target_is_the_files(starts: str, day: float) -> None:
    """Same seed, learning from ``starts`` vs no learning: every firm's target
    is the same at every review before the start, and larger for some firm
    after it (learning only raises targets); learning from day 0 raises
    them before the start already."""
    extra = {"policy[0].announced": "2025-04-16"} if starts == "controls_announced" else {}
    plain = targets(learning(learn=False, **extra))
    late = targets(learning(starts, **extra))
    early = targets(learning(**extra))
    before, after = _split(late, day)
    plain_before, plain_after = _split(plain, day)
    assert len(before) > 30 and before == plain_before
    assert all(a[2] >= p[2] - 1e-9 for a, p in zip(after, plain_after, strict=False))
    assert any(a[2] > p[2] * 1.2 for a, p in zip(after, plain_after, strict=False))
    assert any(e[2] > p[2] * 1.2 for e, p in zip(_split(early, day)[0], plain_before, strict=True))


def test_learning_from_an_event_that_never_comes_never_learns() -> None:
    never = learning("controls_in_force")
    never["policy"] = [{"day": 20, "set": {"licensing.approval_rate": 1.0}}]
    plain = learning(learn=False)
    plain["policy"] = never["policy"]
    assert targets(never) == targets(plain)


@pytest.mark.parametrize("value", ["controls", "2025-13-01", 5])
def test_bad_learning_starts_are_one_line_errors(tmp_path: Path, value: Any) -> None:
    src = tmp_path / "l.toml"
    src.write_text(dumps(learning(value)))
    assert_one_line_error(cli("validate", str(src)), "automakers[EU].adaptive_target.starts",
                          "controls_announced")


# ------------------------------------------------------------ approval paths and review tails

def office_only(horizon: float, per_day: float, duration: Any, **licensing: Any) -> dict[str, Any]:
    """The review office alone under Poisson background load, one stage with
    infinite reviewers (no queue: a file's review time is its draw)."""
    return {"scenario": {"name": "office", "start_date": "2025-04-04", "horizon": horizon, "replications": 1,
                         "seed": 3},
            "licensing": {"approval_rate": 0.5, "background": {"applications_per_day": per_day},
                          "stages": [{"name": "review", "reviewers": "inf", "duration": duration}], **licensing}}


def decisions(src: dict[str, Any]) -> Any:
    m = Model(load(src), 0)
    m.run()
    lic = m.records(0, 0.0).licences.frame()
    return lic[lic.outcome != "pending"]


RAMP = [{"date": "2025-05-24", "rate": 0.2}, {"date": "2025-07-13", "rate": 0.8},   # days 50 and 100
        {"date": "2025-08-02", "rate": 0.8}, {"date": "2025-08-02", "rate": 0.4}]   # a step at day 120


def ramp(t: float) -> float:
    return float(np.interp(t, [50, 100], [0.2, 0.8])) if t < 120 else 0.4


def test_the_approved_share_follows_the_approval_path() -> None:
    """Decisions in each 10-day window approve with the path's mean rate over
    it (linear in the ramp, flat outside, a step at day 120): binomial, 4 sd.
    ``approval_rate`` (0.5) is not used."""
    lic = decisions(office_only(160, 150, 2.0, approval_path=RAMP))
    for lo in range(10, 160, 10):
        window = lic[(lic.decided_day >= lo) & (lic.decided_day < lo + 10)]
        n = len(window)
        p = float(np.mean([ramp(t) for t in np.linspace(lo, lo + 10, 201)]))
        got = (window.outcome == "approved").mean()
        assert n > 1000 and abs(got - p) <= 4 * np.sqrt(p * (1 - p) / n), (lo, got, p)


def test_the_path_moves_approvals_only_and_multipliers_still_apply() -> None:
    """Same seed, with and without a flat path at the file's rate: the same
    decisions (the path draws nothing); a destination multiplier of 0.5
    halves the path's rate."""
    plain = decisions(office_only(60, 50, 2.0))
    flat = decisions(office_only(60, 50, 2.0, approval_path=[{"day": 0, "rate": 0.5}]))
    assert plain.outcome.tolist() == flat.outcome.tolist()
    half = decisions(office_only(60, 200, 2.0, approval_path=[{"day": 0, "rate": 0.8}],
                                 approval_by_destination={"other": 0.5}))
    n, got = len(half), (half.outcome == "approved").mean()
    assert abs(got - 0.4) <= 4 * np.sqrt(0.24 / n)


def test_review_times_take_a_tail_past_the_statutory_cap_from_a_mixture() -> None:
    """Review-stage durations accept a mixture: 60% within 30-45 days and 40%
    a lognormal tail (mean 70, cv 0.5). The share of reviews longer than 45
    days and the mean match the mixture's CDF and mean (binomial and CLT,
    4 sd; files submitted early enough that all are decided)."""
    from scipy import stats

    tail = {"dist": "lognormal", "mean": 70.0, "cv": 0.5}
    mix = {"dist": "mixture", "parts": [{"dist": "uniform", "low": 30, "high": 45}, tail], "weights": [0.6, 0.4]}
    lic = decisions(office_only(400, 40, mix))
    early = lic[lic.submitted_day < 100]
    took = (early.decided_day - early.submitted_day).to_numpy()
    assert len(early) > 3000
    sigma = np.sqrt(np.log(1 + 0.5**2))
    p_long = 0.4 * stats.lognorm(sigma, scale=70.0 / np.sqrt(1 + 0.5**2)).sf(45.0)
    n = len(took)
    assert abs((took > 45.0).mean() - p_long) <= 4 * np.sqrt(p_long * (1 - p_long) / n)
    mean = 0.6 * 37.5 + 0.4 * 70.0
    var = 0.6 * (15**2 / 12 + 37.5**2) + 0.4 * (35.0**2 + 70.0**2) - mean**2
    assert abs(took.mean() - mean) <= 4 * np.sqrt(var / n)


@pytest.mark.parametrize(("path", "key", "value"), [
    ([{"day": 5, "rate": 1.2}], "licensing.approval_path[0].rate", "1.2"),
    ([{"day": 5, "rate": 0.2}, {"day": 3, "rate": 0.4}], "licensing.approval_path", "time order"),
    ([{"day": 5, "rate": 0.2}, {"date": "2025-06-01", "rate": 0.4}], "licensing.approval_path", "not both"),
    ([{"rate": 0.2}], "licensing.approval_path[0]", "exactly one of date or day"),
])
def test_bad_approval_paths_are_one_line_errors(tmp_path: Path, path: list[Any], key: str, value: str) -> None:
    src = tmp_path / "p.toml"
    src.write_text(dumps(office_only(30, 1, 2.0, approval_path=path)))
    assert_one_line_error(cli("validate", str(src)), key, value)


def test_a_policy_rate_that_a_path_in_force_would_shadow_is_a_one_line_error(tmp_path: Path) -> None:
    doc = office_only(30, 1, 2.0, approval_path=[{"day": 0, "rate": 0.5}])
    doc["policy"] = [{"day": 10, "set": {"licensing.approval_rate": 0.9}}]
    src = tmp_path / "p.toml"
    src.write_text(dumps(doc))
    assert_one_line_error(cli("validate", str(src)), 'policy[0].set."licensing.approval_rate"', "0.9")
    # clearing the path in the same policy is the documented way back to the rate
    doc["policy"][0]["set"]["licensing.approval_path"] = []
    src.write_text(dumps(doc))
    assert cli("validate", str(src)).code == 0
