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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..model.queueing import mmc_wait
from ..scenario import ScenarioBase as Scenario

#: Calendar days per working day when reviews count working days only.
WORKING_DAY_STRETCH = 7.0 / 5.0


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
        for link in getattr(buyer, "suppliers", ()):
            if where.get(link.name) == home and buyer.jurisdiction != home:
                firms = getattr(buyer, "firms", None) or 1  # a population files for each of its firms
                per = 1.0 / getattr(buyer, "review_days", 1.0) if mode == "per_shipment" \
                    else 1.0 / scn.controls.lifetime_days
                rate += firms * per
    return rate


def office_load(scn: Scenario) -> OfficeLoad:
    """Offered load, utilisation and applications in flight per stage."""
    lic = scn.licensing
    horizon = float(scn.scenario.horizon)
    rate = lic.background.applications_per_day + chain_applications_per_day(scn)
    total = rate
    stages = []
    for i, st in enumerate(lic.stages):
        mean = st.duration.mean * (WORKING_DAY_STRETCH if lic.working_days else 1.0)
        visits = 1.0
        if lic.rework.probability > 0 and lic.rework.stage == st.name:
            visits = 1.0 / (1.0 - lic.rework.probability)
        lam = rate * visits
        offered = lam * mean
        c = st.reviewers
        if c == math.inf or lam == 0 or mean <= 0:
            rho, held, passed = 0.0, offered, rate
        elif offered < c:
            rho = offered / c
            held = offered + lam * mmc_wait(lam, mean, c)
            passed = rate
        else:
            rho = offered / c
            held = c + (lam - c / mean) * horizon
            passed = c / mean / visits
        stages.append(StageLoad(i, st.name, lam, mean, c, offered, rho, held))
        rate = passed
    return OfficeLoad(total, tuple(stages))


__all__ = ["OfficeLoad", "StageLoad", "chain_applications_per_day", "office_load"]
