"""The day clock: actors work the days between events in one go (issue 6).

Working ``n`` days at once must equal working them one by one (each daily
limit adds up), the closed-form automaker run must equal its day-by-day rule,
and the timing convention must hold: whatever happens at a whole time ``t``
(an arrival, a policy) counts for day ``t``'s work.
"""

from __future__ import annotations

import copy
import signal
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from resim.model.actors import Automaker, MagnetMaker, Mine, Separator
from resim.model.replication import Model, run_one
from resim.scenario import load

from chain_fixtures import small_chain

SETTINGS = settings(max_examples=40, deadline=None)


def _twins(src: dict[str, Any]) -> tuple[Model, Model]:
    loaded = load(src)
    return Model(loaded, 0), Model(loaded, 0)


def _actor(model: Model, cls: type, name: str) -> Any:
    return next(a for a in model.actors if isinstance(a, cls) and a.name == name)


def _close(a: Any, b: Any) -> None:
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-9, atol=1e-9)


def _work(actor: Any, first: int, n: int, at_once: bool) -> None:
    if at_once:
        actor.work_days(first, first + n)
    else:
        for d in range(first, first + n):
            actor.work_days(d, d + 1)


@SETTINGS
@given(stock=st.floats(0, 5000), used=st.floats(0, 30000), first=st.integers(200, 300), n=st.integers(1, 120))
def test_a_mine_works_days_at_once_as_one_by_one_across_new_year(stock: float, used: float, first: int,
                                                                 n: int) -> None:
    # start 2025-04-04: 1 January 2026 is day 272, inside most of the drawn runs
    src = small_chain(**{"mines[mine].annual_quota_t": 30000})
    models = _twins(src)
    mines = [_actor(m, Mine, "mine") for m in models]
    for mine, at_once in zip(mines, (True, False), strict=True):
        mine._stock, mine._year, mine._year_output = stock, 2025, used
        _work(mine, first, n, at_once)
    _close(mines[0]._stock, mines[1]._stock)
    _close(mines[0]._year_output, mines[1]._year_output)
    _close(models[0].ctx.ledger.produced, models[1].ctx.ledger.produced)


@SETTINGS
@given(mass=st.floats(0, 3000), cap=st.floats(0.1, 200), n=st.integers(1, 60))
def test_a_separator_works_days_at_once_as_one_by_one(mass: float, cap: float, n: int) -> None:
    models = _twins(small_chain(**{"separators[sep].capacity_t_per_day": cap}))
    seps = [_actor(m, Separator, "sep") for m in models]
    for sep, at_once in zip(seps, (True, False), strict=True):
        sep._conc_vec = sep._conc_vec * (mass / sep._conc_mass)
        sep._conc_mass = mass
        _work(sep, 0, n, at_once)
    for attr in ("_conc_mass", "_conc_vec", "_oxide"):
        _close(getattr(seps[0], attr), getattr(seps[1], attr))
    _close(models[0].ctx.ledger.lost, models[1].ctx.ledger.lost)


@SETTINGS
@given(oxide=st.floats(0, 400), magnets=st.floats(0, 50), open_qty=st.floats(0, 300), n=st.integers(1, 60))
def test_a_magnet_maker_works_days_at_once_as_one_by_one(oxide: float, magnets: float, open_qty: float,
                                                         n: int) -> None:
    models = _twins(small_chain())
    makers = [_actor(m, MagnetMaker, "cn maker") for m in models]
    for mk, at_once in zip(makers, (True, False), strict=True):
        mk._oxide = mk.bom * oxide
        mk._oxide[np.argmax(mk.bom)] *= 0.7  # one element scarcer than the rest
        mk._magnets, mk.open_qty = magnets * mk.mix, open_qty * mk.mix
        _work(mk, 0, n, at_once)
    _close(makers[0]._oxide, makers[1]._oxide)
    _close(makers[0]._magnets, makers[1]._magnets)


def _rows(maker: Automaker) -> np.ndarray:
    return np.array(maker._rows, dtype=float)


LEVERS = st.sampled_from(["none", "backlog", "substitution", "recycling"])


@SETTINGS
@given(stock=st.floats(0, 300), n=st.integers(1, 90), lever=LEVERS, split=st.integers(1, 89))
def test_an_automaker_works_days_at_once_as_one_by_one(stock: float, n: int, lever: str, split: int) -> None:
    src = small_chain()
    eu = next(a for a in src["automakers"] if a["name"] == "EU maker")
    eu.update({"none": {}, "backlog": {"backlog": True, "catch_up": 0.5},
               "substitution": {"substitution": {"trigger_days": 3, "max_reduction": 0.5, "ramp_days": 20}},
               "recycling": {"recycling": {"fraction": 0.3, "lag_days": 4}}}[lever])
    models = _twins(src)
    makers = [_actor(m, Automaker, "EU maker") for m in models]
    for mk in makers:
        mk._stock = stock
    makers[0].work_days(0, n)
    cut = min(split, n)
    makers[1].work_days(0, cut)  # two runs, as when an event falls in between
    if cut < n:
        makers[1].work_days(cut, n)
    _close(_rows(makers[0]), _rows(makers[1]))
    _close(makers[0].stock_vec(), makers[1].stock_vec())
    for key in ("consumed",):
        _close(getattr(models[0].ctx.ledger, key), getattr(models[1].ctx.ledger, key))
    assert makers[0]._short_streak == makers[1]._short_streak


@SETTINGS
@given(stock=st.floats(0, 300), n=st.integers(1, 90))
def test_the_steady_automaker_run_is_its_daily_rule(stock: float, n: int) -> None:
    models = _twins(small_chain())
    makers = [_actor(m, Automaker, "EU maker") for m in models]
    for mk in makers:
        mk._stock = stock
    makers[0]._work_steady(0, n)
    makers[1]._work_daily(0, n)
    _close(_rows(makers[0]), _rows(makers[1]))
    _close(makers[0]._stock, makers[1]._stock)
    _close(models[0].ctx.ledger.consumed, models[1].ctx.ledger.consumed)
    assert makers[0]._short_streak == makers[1]._short_streak


def _series(rec: Any, who: str) -> Any:
    ts = rec.timeseries.frame()
    return ts[ts.automaker == who].set_index("day")


def test_an_arrival_at_a_whole_time_counts_for_that_days_work() -> None:
    # The CN buyer starts empty; its magnets come by a fixed 2-day transit from
    # a dispatch on a whole day, so they arrive at a whole time t: day t uses them.
    src = small_chain(**{"automakers[CN buyer].initial_inventory_days": 0,
                         "magnet_makers[cn maker].domestic_first": True})
    rec = run_one(load(src), 0)
    flows = rec.flows.frame()
    first = flows[(flows["product"] == "magnet") & (flows.destination == "CN")].day.min()
    ts = _series(rec, "CN buyer")
    arrival = int(first) + 2
    assert ts.consumed_t.loc[: arrival - 1].sum() == 0.0
    assert ts.consumed_t.loc[arrival] == ts.demand_t.loc[arrival] > 0


def test_a_policy_at_a_whole_day_applies_to_that_days_work() -> None:
    src = small_chain()
    src["policy"] = [{"day": 50, "set": {"automakers[EU maker].vehicles_per_day": 1500}}]
    ts = _series(run_one(load(src), 0), "EU maker")
    assert np.isclose(ts.demand_t.loc[49], 1.6) and np.isclose(ts.demand_t.loc[50], 2.4)


def test_a_stockpile_releases_on_the_first_day_cover_falls_below_its_threshold() -> None:
    src = small_chain(**{"licensing.approval_rate": 0.3})
    src["stockpiles"] = [{"name": "EU reserve", "jurisdiction": "EU", "grade": "N42SH", "initial_t": 100,
                          "release_to": ["EU maker"], "release_below_days": 20.5, "release_t_per_day": 1.0,
                          "transit": "5d"}]
    for rep in range(3):
        rec = run_one(load(copy.deepcopy(src)), rep)
        flows = rec.flows.frame()
        released = flows[flows.origin == "EU"].day
        assert not released.empty
        ts = _series(rec, "EU maker")
        cover = ts.inventory_t / ts.demand_t  # after each day's consumption; nothing released before
        below = cover[cover < 20.5].index
        assert released.min() == below.min()


def test_a_policy_shortening_the_recycling_lag_leaves_no_return_overdue() -> None:
    # Returns drawn under a 100-day lag must not hold back those of a later 0-day lag.
    src = small_chain(**{"scenario.horizon": 60})
    buyer = next(a for a in src["automakers"] if a["name"] == "CN buyer")
    buyer["recycling"] = {"fraction": 0.5, "lag_days": 100}
    src["policy"] = [{"day": 10, "set": {"automakers[CN buyer].recycling.lag_days": 0}}]
    model = Model(load(src), 0)
    model.run()
    maker = _actor(model, Automaker, "CN buyer")
    pending = sorted(item[:2] for item in maker._recycling)
    assert pending == [(d + 100, d + 100.0) for d in range(10)]  # only the first ten days' returns


def test_a_release_refused_on_its_day_is_not_released_again_that_day() -> None:
    # Zero-length reviews refuse a stockpile's release at the time it is sent; the
    # stockpile must wait for its next day, not release again (and again) at once.
    src = small_chain(**{"scenario.horizon": 60, "controls.licence_mode": "per_shipment",
                         "licensing.approval_rate": 0.0, "licensing.max_attempts": 1,
                         "licensing.stages": [{"name": "technical", "reviewers": "inf", "duration": "0d"}]})
    src["stockpiles"] = [{"name": "CN reserve", "jurisdiction": "CN", "grade": "N42SH", "initial_t": 80,
                          "release_to": ["EU maker"], "release_below_days": 100, "release_t_per_day": 1.5,
                          "transit": "2d"}]
    def stuck(*_: Any) -> None:
        raise TimeoutError("the stockpile keeps releasing at the same time")

    signal.signal(signal.SIGALRM, stuck)
    signal.alarm(60)
    try:
        rec = run_one(load(src), 0)
    finally:
        signal.alarm(0)
    apps = rec.licences.frame()
    per_day = apps[apps.exporter == "CN reserve"].submitted_day.astype(int).value_counts()
    assert len(per_day) > 0 and per_day.max() == 1
