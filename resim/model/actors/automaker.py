"""Automakers (or supplier bases, or aggregate buyers such as "EU industry"):
each firm builds what its magnet kits allow every day (``assembly.py``) and
orders magnets of its grade mix with a periodic order-up-to policy. An entry
with ``firms = N`` is N such firms (``population.py``).

Mitigation levers (all optional, SPEC §1), acting per firm with the entry's
settings:
* ``adaptive_target``: the order-up-to target grows with observed lead times
  (stockpiling when the border slows down);
* ``emergency``: when cover falls below ``cover_days``, orders go to suppliers
  outside the controlling jurisdiction only, by air where a link offers it;
* ``substitution``: after ``trigger_days`` of continuous shortage, magnet need
  per vehicle falls by up to ``max_reduction`` over ``ramp_days``;
* ``recycling``: a ``fraction`` of the magnet mass consumed returns to stock
  after ``lag_days``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import model_validator

from ...scenario import registry
from ...scenario.chain import BuyerTable
from ...scenario.distributions import Distribution
from ...scenario.types import Fraction, NonNeg, Positive, Whole, param
from ...scenario.units import date_to_day
from ..products import MAGNET
from ..shipping import Link, Order, Shipment
from .assembly import Assembly
from .levers import AdaptiveTarget, Anticipation, Emergency, Recycling, Substitution
from .population import Population
from .trade import Buyer

if TYPE_CHECKING:
    from ...scenario import ScenarioBase
    from ...scenario.registry import ActorKind
    from ..context import Context

_LEVERS = "see [mitigation levers](#mitigation-levers)"


def _constant(value: float) -> dict[str, Any]:
    return {"dist": "constant", "value": value}


def _controlled(scn: Any) -> bool:
    """Whether controls are in force in the scenario ``scn``."""
    return bool(scn.controls.licence_mode != "none")


class AutomakerTable(BuyerTable):
    """An automaker, a supplier base or an aggregate buyer; with ``firms = N``
    a population of N firms sharing the entry's demand by ``size``, each with
    its own stock, orders and licences and its own draw of the per-firm
    values (``initial_inventory_days``, ``target_days``, ``size``, and its
    approval standing, spread by ``approval_spread``)."""

    vehicles_per_day: Positive | None = param(None, unit="vehicles / day", doc="vehicles it plans to build per day")
    magnet_kg_per_vehicle: Positive | None = param(
        None, unit="kg",
        doc="magnet per vehicle; needed with `vehicles_per_day`, optional with `demand_t_per_day` "
            "(then used to convert shortfall into vehicles)")
    demand_t_per_day: Positive | None = param(None, unit="t magnet / day", doc="demand of an aggregate buyer")
    firms: Whole = param(
        1, ge=1, le=100_000,
        doc="firms in this entry; with more than one, each is simulated with its own stock, orders and licences")
    target_days: Distribution = param(
        default_factory=lambda: _constant(90.0), validate_default=True, unit="days of demand",
        doc="order-up-to level; per firm, a draw from this distribution")
    initial_inventory_days: Distribution = param(
        default_factory=lambda: _constant(60.0), validate_default=True, unit="days of demand",
        doc="magnets in stock at day 0; per firm, a draw from this distribution")
    size: Distribution = param(
        default_factory=lambda: _constant(1.0), validate_default=True, unit="a weight",
        doc="each firm's weight in the entry's demand (normalised over the firms); its mean must be > 0")
    approval_spread: Fraction = param(
        0.0, doc="share of the variance of licence approvals that lies between firms: 0, every firm has the "
                 "same chance; 1, a firm is either always approved or always refused")
    grade_choice: Literal["mix", "per_firm"] = param(
        "mix", doc="`mix`: every firm needs the grades its entry buys, in their shares (a bill of materials); "
                   "`per_firm`: each firm uses one grade, drawn with those shares (e.g. the firms whose products "
                   "use Dy/Tb-free magnets)")
    backlog: bool = param(False, doc="`false`: shortfall is lost; `true`: it is built later")
    catch_up: NonNeg = param(
        0.2, unit="share of daily demand", doc="with `backlog`, extra output per day while a backlog remains")
    adaptive_target: AdaptiveTarget | None = param(
        None, doc=f"raise the order-up-to target with observed lead times (stockpiling); {_LEVERS}")
    anticipation: Anticipation | None = param(
        None, doc=f"raise the target between a policy's announcement and its effect (pre-buying); {_LEVERS}")
    emergency: Emergency | None = param(
        None, doc="when cover runs low, order only outside the controlling jurisdiction, by air where possible; "
                  f"{_LEVERS}")
    substitution: Substitution | None = param(
        None, doc=f"after a lasting shortage, need less magnet per vehicle; {_LEVERS}")
    recycling: Recycling | None = param(None, doc=f"part of the magnet mass used comes back to stock; {_LEVERS}")
    reference_price_usd_per_kg: NonNeg | None = param(
        None, unit="USD / kg",
        doc="price that `extra_cost_usd` is counted against (absent: the lowest `price_usd_per_kg` among its "
            "suppliers; see [prices](#prices-and-extra_cost_usd))")

    @model_validator(mode="after")
    def _demand(self) -> AutomakerTable:
        by_vehicle = self.vehicles_per_day is not None
        if by_vehicle and self.magnet_kg_per_vehicle is None:
            raise ValueError("vehicles_per_day needs magnet_kg_per_vehicle")
        if by_vehicle == (self.demand_t_per_day is not None):
            raise ValueError(
                "give either vehicles_per_day with magnet_kg_per_vehicle, or demand_t_per_day"
            )
        if self.size.mean <= 0:
            raise ValueError("size must have a positive mean (it weighs the firms' demand)")
        return self

    @property
    def demand_t(self) -> float:
        """Magnet demand in tonnes per day."""
        if self.demand_t_per_day is not None:
            return self.demand_t_per_day
        return self.vehicles_per_day * self.magnet_kg_per_vehicle / 1000.0  # type: ignore[operator]

    @property
    def t_per_vehicle(self) -> float:
        """Tonnes of magnet per vehicle; NaN for an aggregate buyer without vehicles."""
        if self.magnet_kg_per_vehicle is None:
            return math.nan
        return self.magnet_kg_per_vehicle / 1000.0


class Automaker(Assembly, Buyer):
    """One firm of an automaker entry (the entry itself when ``firms = 1``)."""

    @classmethod
    def instances(cls, ctx: Context, kind: ActorKind, cfg: Any) -> list[Automaker]:
        """The firms of an entry, sharing one ``Population``."""
        population = Population(ctx, cfg)
        return [cls(ctx, kind, cfg, population, i) for i in range(population.n)]

    def __init__(self, ctx: Context, kind: ActorKind, cfg: Any, population: Population | None = None,
                 firm: int = 0):
        super().__init__(ctx, kind, cfg)
        self.population = population if population is not None else Population(ctx, cfg)
        self.firm = firm
        self.name = self.population.firm_name(firm)
        self._content = 1.0  # magnet per vehicle, a share of the entry's (thrifting lowers it)
        self._cover_kept = 1.0  # share of the target cover kept (destocking lowers it)
        self._traits()
        self._mix = ctx.elements.zeros()  # set when the suppliers are connected
        self._initial_t = float(self.population.initial_days[firm]) * self._demand
        self._lead_ewma: float | None = None  # observed order-to-arrival days
        self._open: deque[Order] = deque()  # orders not yet arrived, oldest first (adaptive_target.censored)
        self._anticipate_until = -1.0  # raise the target until this day (an announced policy)
        on = 0.0 if _controlled(ctx.scenario) else math.inf
        self._events = {"controls_announced": on, "controls_in_force": on}  # days they happened
        self.reference_price = 0.0

    def elaborate(self) -> None:
        """The grade mix of what it buys (its suppliers' mixes by share), and
        the initial magnets in that mix."""
        super().elaborate()
        mix = sum((link.share * link.supplier.grade_mix() for link in self.links),
                  np.zeros(len(self.ctx.elements.grade_names)))
        self._mix = self.population.grade_of(self.firm, mix)
        self._init_assembly(self._initial_t)
        self.ctx.ledger.opening_stock(self._assembly_held())
        prices = [link.supplier.price_usd_per_kg() for link in self.links]
        ref = self.cfg.reference_price_usd_per_kg
        self.reference_price = ref if ref is not None else min(prices)

    def _traits(self) -> None:
        """This firm's values under the entry's parameters in force."""
        pop, i = self.population, self.firm
        pop.refresh(self.cfg)
        self.demand_share = float(pop.share[i])
        self._demand = self.cfg.demand_t * self.demand_share * self._content
        self._target_days = float(pop.target_days[i])

    def on_policy(self, old: ScenarioBase, new: ScenarioBase, changes: Any) -> None:
        super().on_policy(old, new, changes)
        self._traits()
        if not _controlled(old) and _controlled(new):
            self._happened("controls_in_force", "controls_announced")

    def approval_chance(self, p: float) -> float:
        """This firm's chance of approval when the rate in force is ``p``."""
        return self.population.approval_chance(self.firm, p)

    def next_duty(self, first: int) -> int:
        """Every ``review_days`` (all firms of a population on the same days:
        N identical firms then behave as one buyer of their total demand)."""
        return self.next_multiple(first, "review_days")

    def duty(self, day: int) -> None:
        """Review before the day's consumption (and after the day's arrivals)."""
        self.advance(day)
        self._recycle_due(day)
        self._read_prices(day)
        if self.ctx.markets is not None:
            self.ctx.markets.before_review(self, day)  # [markets.substitution], [markets.spot]
        self.review()

    def finish(self) -> None:
        super().finish()
        self._finish_recycling(self.ctx.clock.horizon)

    def _read_prices(self, day: int) -> None:
        """With ``[markets]`` responses: thrift (less magnet per vehicle from
        today, never more) and destock (a lower target cover) at the prices
        its market shows (``markets.Market.buyer_levels``)."""
        market = self.ctx.markets
        if market is None or not market.cfg.buyers_respond:
            return
        content, self._cover_kept = market.buyer_levels(self.jurisdiction, day, self._content)
        if content != self._content:
            self._content = content
            self._traits()

    # ---------------------------------------------------------------- ordering
    def demand_now(self) -> float:
        return self._demand * (1.0 - self.reduction(self.ctx.clock.now))

    def cover_days(self, extra_t: float = 0.0) -> float:
        """Days of need the kits (plus ``extra_t`` on its way) cover now."""
        self.sync()
        d = self.demand_now()
        return (self._stock + extra_t) / d if d > 0 else float("inf")

    def first_day_cover_may_fall_below(self, days: float, extra_t: float, first: int) -> int | None:
        """The earliest day >= ``first`` on which the cover (kits plus
        ``extra_t``) could be below ``days`` days of need, if nothing arrives;
        None if it never falls. Between events the kits fall by at most the
        demand a day (``demand x (1 + catch_up)`` with a backlog) and demand
        does not rise (substitution only lowers it), so the crossing cannot
        come before the day computed from that rate."""
        self.sync()
        cfg = self.cfg
        demand = self._demand
        rate = demand * (1.0 + cfg.catch_up) if cfg.backlog else demand
        if rate <= 0:
            return None
        # stock after day d >= stock - (d - done + 1) x rate
        slack = self._stock + extra_t - days * demand
        return first if slack < 0 else max(first, self.done + int(slack / rate) - 1)

    def target(self) -> np.ndarray:
        """Order up to ``target_days`` of need of each grade of the mix (more
        while an announced policy is anticipated; with ``adaptive_target``,
        at least the lead time estimate plus a review and a safety margin)."""
        cfg = self.cfg
        days = self._target_days
        now = self.ctx.clock.now
        if now < self._anticipate_until:
            days += cfg.anticipation.extra_days
        ad = cfg.adaptive_target
        lead = self._lead_estimate() if ad is not None and self._learning(ad, now) else None
        if lead is not None:
            days = max(days, min(ad.max_days, lead + cfg.review_days + ad.safety_days))
        return days * self._cover_kept * self.demand_now() * self.buying_mix()

    def _learning(self, ad: Any, now: float) -> bool:
        """Whether the target learns today (``adaptive_target.starts``)."""
        starts = ad.starts
        if starts is None:
            return True
        if isinstance(starts, str):
            return now >= self._events[starts]
        return now >= date_to_day(self.ctx.scenario.scenario.start_date, starts)  # type: ignore[attr-defined]

    def _happened(self, *events: str) -> None:
        now = self.ctx.clock.now
        for event in events:
            self._events[event] = min(self._events[event], now)

    def _lead_estimate(self) -> float | None:
        """Lead times seen (smoothed); with ``censored``, at least the age of
        the oldest order still open: it has taken that long already."""
        lead = self._lead_ewma
        if self.cfg.adaptive_target.censored:
            q = self._open
            while q and not q[0].open:
                q.popleft()
            if q:
                age = self.ctx.clock.now - q[0].day
                lead = age if lead is None else max(lead, age)
        return lead

    def _learn(self, lead: float) -> None:
        ad = self.cfg.adaptive_target
        alpha = ad.alpha if ad is not None else 0.3
        self._lead_ewma = lead if self._lead_ewma is None else (1 - alpha) * self._lead_ewma + alpha * lead

    def ordered(self, order: Order) -> None:
        ad = self.cfg.adaptive_target
        if ad is not None and ad.censored:
            self._open.append(order)

    def licence_decided(self, link: Link, review_days: float) -> None:
        """A review of one of its applications took ``review_days``: with
        ``adaptive_target.reviews`` that plus the link's mean transit is a
        lead time seen, before any goods arrive."""
        ad = self.cfg.adaptive_target
        if ad is not None and ad.reviews:
            self._learn(review_days + link.mean_transit)

    def on_announcement(self, step: Any) -> None:
        """Anticipating firms raise their target until the policy's day; an
        announcement of controls is an event learning may start at."""
        if _controlled(step.scenario) and not _controlled(self.ctx.scenario):
            self._happened("controls_announced")
        if self.population.anticipates(self.firm):
            self._anticipate_until = max(self._anticipate_until, step.day)

    def flies_licensed(self) -> bool:
        em = self.cfg.emergency
        return em is not None and em.fly_licensed and self.cover_days() < em.cover_days

    def position(self) -> np.ndarray:
        return self._stock * self._mix + self._spare + self.on_order

    def split(self) -> tuple[list[Link], bool]:
        em = self.cfg.emergency
        links, air = super().split()
        if em is not None and self._cover() < em.cover_days:
            home = self.ctx.scenario.controls.jurisdiction
            outside = [lk for lk in links if lk.supplier.jurisdiction != home]
            if outside:
                return outside, em.use_air
        return links, air

    def receive(self, shp: Shipment) -> None:
        super().receive(shp)
        if self.ctx.markets is not None:
            self.ctx.markets.delivered(self, shp)  # paid, with [markets] payments
        order = shp.order
        if order is None:
            return  # a stockpile release: no order, no price
        now = self.ctx.clock.now
        self._learn(now - order.day)
        link = shp.link
        price = link.supplier.price_usd_per_kg() * (1.0 + link.premium)
        usd = shp.mass * 1000.0 * (price - self.reference_price)
        if shp.by_air and link.air_cost_usd_per_kg > 0:
            usd += shp.mass * 1000.0 * link.air_cost_usd_per_kg
        if usd:
            self.ctx.records.costs.append(now, self.entry, usd)

    def add_stock(self, shp: Shipment) -> None:
        self._add_grades(shp.qty)

    def spot_arrived(self, qty: np.ndarray) -> None:
        """Magnets bought on the spot market (``markets/spot.py``) arrived."""
        self.sync()
        self.on_order = self.on_order - qty
        self._add_grades(qty)

    def daily_rows(self) -> tuple[list[float], ...]:
        """The firm's record, one entry per day worked (up to now):
        inventory after the day, demand, consumed, shortfall (tonnes) and
        tonnes per vehicle."""
        self.sync()
        return self._rows

    def _cover(self) -> float:
        d = self.demand_now()
        return self._stock / d if d > 0 else float("inf")

    def _held(self) -> np.ndarray:
        return self._assembly_held()


KIND = registry.register(registry.ActorKind("automakers", AutomakerTable, Automaker, "automaker", tier=3,
                                            buys=MAGNET, has_timeseries=True))
