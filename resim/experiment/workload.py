"""The review office's offered load, before anything runs.

Queueing theory says, from the scenario alone, whether a review stage can
keep up: a stage with ``c`` reviewers, mean review time ``m`` (calendar days)
and ``lam`` visits per day is offered ``a = lam * m`` erlangs and is saturated
when ``rho = a / c >= 1`` - its queue then grows for the whole horizon, and
so does the memory the simulation holds for the applications in it. The
budget (``resim.experiment.budget``) uses this estimate to warn about saturated stages
and to refuse runs whose applications in flight would not fit in memory.

Applications per day are the background rate plus an upper estimate of the
supply chain's own filings (one per order per licensed link and firm under
``per_shipment``, one per licence lifetime under ``general``). Durations in
working days stretch by 7/5 in calendar time. A stable stage holds
``a + Lq`` applications (Erlang C's queue); a saturated one ``c`` in review
plus a queue growing at ``lam - c / m`` per day, and passes on only ``c / m``
per day to the next stage.

How long a replication takes follows from the same counts
(``replication_seconds``): a fixed part, actor entries and firms per
simulated year, and stage visits of applications. The coefficients were
measured on the project's 2-core machine (single worker, December 2026):
baseline 0.05 s per replication, 0.005-0.002 s per firm-year from 200 to
20,000 firms (eu_supplier_population), 10-30 us per application visit to a
stage (office-only scenarios at 100 and 1,000 a day). The estimate is within
a factor of about 2 of those runs, on the high side: good enough to refuse
a run that would take days, not to promise a finishing time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..model.queueing import mmc_wait
from ..scenario import ScenarioBase as Scenario

#: Calendar days per working day when reviews count working days only.
WORKING_DAY_STRETCH = 7.0 / 5.0
#: Seconds of a replication's work (see the module's docstring).
SECONDS_FIXED = 0.05
SECONDS_PER_ENTRY_YEAR = 0.01
SECONDS_PER_FIRM_YEAR = 0.004
SECONDS_PER_STAGE_VISIT = 1e-5


@dataclass(frozen=True)
class StageLoad:
    """One review stage under its offered load."""

    index: int
    name: str
    arrivals_per_day: float
    mean_days: float
    reviewers: float
    offered: float
    rho: float
    in_flight: float

    @property
    def saturated(self) -> bool:
        return self.rho >= 1.0


@dataclass(frozen=True)
class OfficeLoad:
    """The office's stages under one scenario (one step of the policy timeline)."""

    applications_per_day: float
    stages: tuple[StageLoad, ...]

    @property
    def in_flight(self) -> float:
        """Applications in the office at the horizon (the most it holds)."""
        return sum(s.in_flight for s in self.stages)


def chain_applications_per_day(scn: Scenario) -> float:
    """An upper estimate of the supply chain's own filings per day."""
    mode = scn.controls.licence_mode
    if mode == "none":
        return 0.0
    where = {a.name: a.jurisdiction for a in scn.actors}
    home = scn.controls.jurisdiction
    rate = 0.0
    for buyer in scn.actors:  # every kind that buys (the registry's kinds, not a fixed list)
        if buyer.jurisdiction == home:
            continue
        for link in getattr(buyer, "suppliers", ()):
            if where.get(link.name) == home:
                rate += _filings_per_day(scn, buyer)
    return rate


def _filings_per_day(scn: Scenario, buyer: object) -> float:
    """One licensed link's filings a day: a shipment per review period, or a
    licence per lifetime; a population files for each of its firms."""
    firms = getattr(buyer, "firms", None) or 1
    if scn.controls.licence_mode == "per_shipment":
        return firms * (1.0 / getattr(buyer, "review_days", 1.0))
    return firms * (1.0 / scn.controls.lifetime_days)


def _queue_held(lam: float, mean: float, c: float) -> float:
    """Applications at a stable stage: in review plus Erlang C's queue. With
    far more reviewers than the load needs (``c`` above ``a + 10 sqrt(a) +
    10``) the chance of waiting is below e^-50, so the queue is 0 without
    Erlang's recursion, which loops ``c`` times."""
    offered = lam * mean
    if c > offered + 10.0 * math.sqrt(offered) + 10.0:
        return offered
    return offered + lam * mmc_wait(lam, mean, c)


def _stage(i: int, st: object, rate: float, visits: float, stretch: float,
           horizon: float) -> tuple[StageLoad, float]:
    """One stage's load given ``rate`` new applications a day; and the rate it passes on."""
    mean = st.duration.mean * stretch  # type: ignore[attr-defined]
    lam, c = rate * visits, st.reviewers  # type: ignore[attr-defined]
    offered = lam * mean
    if c == math.inf or lam == 0 or mean <= 0:
        rho, held, passed = 0.0, offered, rate
    elif offered < c:
        rho, held, passed = offered / c, _queue_held(lam, mean, c), rate
    else:
        rho, held, passed = offered / c, c + (lam - c / mean) * horizon, c / mean / visits
    return StageLoad(i, st.name, lam, mean, c, offered, rho, held), passed  # type: ignore[attr-defined]


def office_load(scn: Scenario) -> OfficeLoad:
    """Offered load, utilisation and applications in flight per stage."""
    lic = scn.licensing
    stretch = WORKING_DAY_STRETCH if lic.working_days else 1.0
    rate = total = lic.background.applications_per_day + chain_applications_per_day(scn)
    stages = []
    for i, st in enumerate(lic.stages):
        visits = 1.0 / (1.0 - lic.rework.probability) if lic.rework.stage == st.name else 1.0
        load, rate = _stage(i, st, rate, visits, stretch, float(scn.scenario.horizon))
        stages.append(load)
    return OfficeLoad(total, tuple(stages))


def replication_seconds(scn: Scenario) -> float:
    """Estimated seconds of one replication of ``scn`` on one core."""
    years = float(scn.scenario.horizon) / 365.25
    entries = scn.actors
    firms = sum(getattr(a, "firms", 0) for a in entries)
    visits = sum(st.arrivals_per_day for st in office_load(scn).stages) * float(scn.scenario.horizon)
    return (SECONDS_FIXED + years * (SECONDS_PER_ENTRY_YEAR * len(entries) + SECONDS_PER_FIRM_YEAR * firms)
            + SECONDS_PER_STAGE_VISIT * visits)


__all__ = ["OfficeLoad", "StageLoad", "chain_applications_per_day", "office_load", "replication_seconds"]
