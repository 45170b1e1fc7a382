"""The series grammar: which model output an observed row is compared with.

=====================================================  ==========================================
series                                                 the model's number for a period
=====================================================  ==========================================
``exports.<product>.<origin>.<destination|all>``       tonnes of ``product`` (concentrate, oxide,
                                                       magnet) leaving jurisdiction ``origin`` for
                                                       ``destination`` (``all``: every other
                                                       jurisdiction) that month, by departure
                                                       month (``flows``); a month only
``approved_share.<destination|all>``                   share approved of the applications decided
                                                       from day 0 to the end of the period (the
                                                       decided applications ``licences`` holds)
``share_stopped.<automaker entry>``                    share of the entry's firms short that day;
                                                       for a month, its daily mean
``stockout_day.<automaker entry>``                     first day (from ``start_date``) the entry
                                                       is short; none in the horizon counts as
                                                       the horizon. ``value`` is that day number,
                                                       ``period`` its date or month
``price.<item>.<quote>``                               the ``[markets]`` price of ``item`` (USD/kg)
                                                       averaged over the price observations in
                                                       the period (a day: the last one before
                                                       it); ``quote`` names the published kind
                                                       (``QUOTES``: market and tier it maps to)
=====================================================  ==========================================

A ``unit`` column is checked: exports are ``t``; prices ``USD/kg`` or
``CNY/kg``, converted to dollars at the scenario's ``markets.cny_per_usd`` (an
assumption, docs/data-sources.md), so a fit compares like with like.

Everything that can be known without simulating is checked here, at once,
against the scenario: an unknown series, an entry or jurisdiction the
scenario does not have, a link it cannot ship on, a period outside the
simulated days (months only partly inside, too: their totals would be cut
short). Each is one line naming the file, the row and the value. A price
row before ``start_date`` is the initial price: it must agree with the
scenario's base price for its quote's market (prices start there) and is not
a fitting target.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from ..model import products
from ..scenario import ScenarioBase as Scenario
from ..scenario import roles
from ..scenario.errors import ScenarioError
from .observed import Observation, Period

GRAMMAR = {
    "exports": "exports.<product>.<origin>.<destination|all>",
    "approved_share": "approved_share.<destination|all>",
    "share_stopped": "share_stopped.<automaker entry>",
    "stockout_day": "stockout_day.<automaker entry>",
    "price": "price.<item>.<europe_ask|volume_weighted|CN_domestic|FOB_CN>",
}
#: Published price quotes -> (market, tier) of the model (docs/calibration.md §1): a thin
#: European ask is the marginal tonne outside China; the volume-weighted average is what
#: most volume pays, which in 2025 was the Chinese contract price (96% of Dy oxide volume
#: at the domestic price, facts §3); a domestic assessment is China's spot; FOB China is
#: the contract price buyers outside pay.
QUOTES = {"europe_ask": ("outside", "spot"), "volume_weighted": ("china", "contract"),
          "CN_domestic": ("china", "spot"), "FOB_CN": ("outside", "contract")}
#: Units a row of each kind may carry (an empty unit cell means the first).
UNITS = {"exports": ("t",), "price": ("USD/kg", "CNY/kg")}
PRODUCTS = tuple(p.name for p in products.PRODUCTS)
ALL = "all"


@dataclass(frozen=True)
class Series:
    """A parsed series name: its kind and arguments."""

    name: str
    kind: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Target:
    """An observed row the model can produce: its series, period and value."""

    series: Series
    period: Period
    value: float
    sd: float | None
    row: int

    @property
    def label(self) -> str:
        return f"{self.series.name}@{self.period.text}"


def parse_series(name: str) -> Series:
    """Split a series name by the grammar; ``ValueError`` says what is wrong."""
    kind, _, rest = name.partition(".")
    if kind not in GRAMMAR:
        raise ValueError(f"unknown series; the grammar is {', '.join(GRAMMAR.values())}")
    if not rest:
        raise ValueError(f"needs its arguments: {GRAMMAR[kind]}")
    if kind == "exports":
        return Series(name, kind, _export_args(rest))
    if kind == "price":
        return _price_series(name, rest)
    return Series(name, kind, (rest,))  # an entry name may hold dots


def _export_args(rest: str) -> tuple[str, ...]:
    """``PRODUCT.ORIGIN.DESTINATION`` of an exports series, checked."""
    args = tuple(rest.split("."))
    if len(args) != 3 or not all(args):
        raise ValueError(f"must look like {GRAMMAR['exports']}")
    if args[0] not in PRODUCTS:
        raise ValueError(f"product must be one of {', '.join(PRODUCTS)}")
    if args[1] == args[2]:
        raise ValueError("exports cross a border: origin and destination must differ")
    return args


def _price_series(name: str, rest: str) -> Series:
    item, _, quote = rest.rpartition(".")
    if not item or quote not in QUOTES:
        raise ValueError(f"must look like {GRAMMAR['price']}")
    return Series(name, "price", (item, quote))


@dataclass(frozen=True)
class Horizon:
    """The simulated calendar: day 0 is ``start``; days ``0 .. days-1`` are worked."""

    start: date
    days: int

    @classmethod
    def of(cls, scn: Scenario) -> Horizon:
        return cls(scn.scenario.start_date, math.ceil(scn.scenario.horizon))

    @property
    def last(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    def day(self, when: date) -> int:
        return (when - self.start).days

    def months(self) -> list[Period]:
        """Every calendar month wholly inside the horizon."""
        out = []
        y, m = self.start.year, self.start.month
        while True:
            p = Period.parse(f"{y:04d}-{m:02d}")
            if p.first > self.last:
                return out
            if p.first >= self.start and p.last <= self.last:
                out.append(p)
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def _links(scn: Scenario) -> set[tuple[str, str, str]]:
    """(product, origin, destination) of every link the scenario can ship on:
    what buyers order and what actors release unasked (the registry says
    which product each kind ships)."""
    kind_of = {cfg.name: kind for kind, _, cfg in scn.entries()}
    where = {a.name: a.jurisdiction for a in scn.actors}
    out = set()
    for kind, _, cfg in scn.entries():
        for s in roles.suppliers_of(cfg):
            out.add((kind_of[s.name].product.name, where[s.name], cfg.jurisdiction))
        for name in roles.recipients_of(cfg):
            out.add((kind.product.name, cfg.jurisdiction, where[name]))
    return out


def _licence_destinations(steps: Sequence[Scenario]) -> set[str]:
    """Destinations whose applications the licence records can hold, in any
    policy step: controlled links out of the controlling jurisdiction, and the
    background load when its records are kept."""
    out: set[str] = set()
    for scn in steps:
        out |= _controlled_destinations(scn) | _background_destination(scn)
    return out


def _controlled_destinations(scn: Scenario) -> set[str]:
    """Where the controlling jurisdiction's links go abroad, if it licenses them at all."""
    if scn.controls.licence_mode == "none":
        return set()
    ctl = scn.controls.jurisdiction
    return {dest for _, origin, dest in _links(scn) if origin == ctl and dest != ctl}


def _background_destination(scn: Scenario) -> set[str]:
    """The background load's destination, when it applies and its records are kept
    (``auto`` keeps them only for a scenario without a supply chain)."""
    keep = scn.output.licence_records
    keep_bg = keep == "all" or (keep == "auto" and not scn.has_supply_chain)
    if keep_bg and scn.licensing.background.applications_per_day > 0:
        return {scn.licensing.background.destination}
    return set()


def _fail(source: str, obs: Observation, key: str, message: str, value: object) -> ScenarioError:
    return ScenarioError(source, f"row {obs.row}: {key}", message, value)


def _check_period(source: str, obs: Observation, series: Series, horizon: Horizon) -> None:
    p = obs.period
    span = f"the simulated days ({horizon.start} to {horizon.last})"
    if series.kind == "exports" and not p.is_month:
        raise _fail(source, obs, "period", "exports are monthly totals: give a month like 2025-08", p.text)
    if p.last < horizon.start or p.first > horizon.last:
        raise _fail(source, obs, "period", f"is outside {span}", p.text)
    if p.first < horizon.start or p.last > horizon.last:
        raise _fail(source, obs, "period", f"is only partly inside {span}; its total would be cut short", p.text)


def _check_value(source: str, obs: Observation, series: Series, horizon: Horizon) -> None:
    v = obs.value
    if series.kind in ("approved_share", "share_stopped") and not 0.0 <= v <= 1.0:
        raise _fail(source, obs, "value", "a share must be between 0 and 1", v)
    if series.kind == "exports" and v < 0:
        raise _fail(source, obs, "value", "tonnes must be >= 0", v)
    if series.kind == "price" and v <= 0:
        raise _fail(source, obs, "value", "a price must be > 0", v)
    if series.kind == "stockout_day":
        lo, hi = horizon.day(obs.period.first), horizon.day(obs.period.last) + 1
        if not lo <= v < hi:
            raise _fail(source, obs, "value",
                        f"is the first stockout's day number from {horizon.start}; the period "
                        f"{obs.period.text} means days {lo} to {hi - 1}", v)


def _check_automaker(source: str, obs: Observation, series: Series, scn: Scenario,
                     steps: Sequence[Scenario]) -> None:
    automakers = [a.name for a in scn.automakers]
    if series.args[0] not in automakers:
        names = ", ".join(automakers) or "none"
        raise _fail(source, obs, "series", f"no automaker entry of that name (entries: {names})", obs.series)


def _check_applications(source: str, obs: Observation, series: Series, scn: Scenario,
                        steps: Sequence[Scenario]) -> None:
    dests = _licence_destinations(steps)
    if not dests:
        raise _fail(source, obs, "series", "the scenario files no licence applications it records "
                    "(licence_mode none, no recorded background load)", obs.series)
    if series.args[0] != ALL and series.args[0] not in dests:
        raise _fail(source, obs, "series", f"no recorded applications go to that destination "
                    f"(destinations: {', '.join(sorted(dests))})", obs.series)


def _check_flow(source: str, obs: Observation, series: Series, scn: Scenario,
                steps: Sequence[Scenario]) -> None:
    product, origin, dest = series.args
    links = _links_abroad(scn, product)
    if not any(o == origin and (dest == ALL or d == dest) for o, d in links):
        have = ", ".join(sorted(f"{o}->{d}" for o, d in links)) or "none"
        raise _fail(source, obs, "series", f"the scenario ships no {product} across that border "
                    f"({product} links abroad: {have})", obs.series)


def _links_abroad(scn: Scenario, product: str) -> set[tuple[str, str]]:
    """(origin, destination) of every link shipping ``product`` across a border."""
    return {(o, d) for p, o, d in _links(scn) if p == product and o != d}


def _check_price(source: str, obs: Observation, series: Series, scn: Scenario,
                 steps: Sequence[Scenario]) -> None:
    markets = scn.markets
    if markets is None:
        raise _fail(source, obs, "series", "the scenario has no [markets] table, so no prices", obs.series)
    if series.args[0] not in markets.items:
        raise _fail(source, obs, "series", f"no traded item of that name (markets.items: "
                    f"{', '.join(markets.items)})", obs.series)


#: How close a price row before ``start_date`` must be to the scenario's base (relative).
BASE_TOLERANCE = 0.005


def _check_initial_price(source: str, obs: Observation, series: Series, scn: Scenario) -> None:
    """A price row before the run starts is the initial price: prices start at
    their base (``price_at`` gives the base before day 0), so the row must
    agree with the base of its quote's market rather than be fitted."""
    from ..model.markets.book import (
        base_usd,  # here: the book imports pandas, which `resim validate` must not
    )

    item, quote = series.args
    market, _tier = QUOTES[quote]
    value, _sd = _in_model_units(source, obs, series, scn)
    markets = scn.markets
    base = base_usd(markets.items[item], market, markets.cny_per_usd)  # type: ignore[union-attr]
    if abs(value - base) > BASE_TOLERANCE * base:
        raise _fail(source, obs, "value", f"is before start_date, so it is the initial price: it must equal "
                    f"the scenario's base for {item} {market} ({base:g} USD/kg)", obs.value)


#: How each kind of series is checked against the scenario: can the model produce it?
_PRODUCIBLE = {"share_stopped": _check_automaker, "stockout_day": _check_automaker,
               "approved_share": _check_applications, "price": _check_price}


def _in_model_units(source: str, obs: Observation, series: Series, scn: Scenario) -> tuple[float, float | None]:
    """The row's value and sd in the unit the model reports (yuan -> dollars)."""
    allowed = UNITS.get(series.kind)
    unit = obs.unit or (allowed[0] if allowed else "")
    if allowed and unit not in allowed:
        raise _fail(source, obs, "unit", f"{series.kind} rows are in {' or '.join(allowed)}", obs.unit)
    if unit != "CNY/kg":
        return obs.value, obs.sd
    rate = scn.markets.cny_per_usd  # type: ignore[union-attr]  # _check_price: markets exist
    return obs.value / rate, None if obs.sd is None else obs.sd / rate


def _check_producible(source: str, obs: Observation, series: Series, scn: Scenario,
                      steps: Sequence[Scenario]) -> None:
    _PRODUCIBLE.get(series.kind, _check_flow)(source, obs, series, scn, steps)


def _in_run(source: str, obs: Observation, series: Series, scn: Scenario, steps: Sequence[Scenario],
            horizon: Horizon) -> bool:
    """Whether a run of ``scn`` produces the row (see ``compile_targets``)."""
    if series.kind == "price" and getattr(scn, "markets", None) is None:
        return False
    try:
        _check_producible(source, obs, series, scn, steps)
    except ScenarioError:
        return False
    p = obs.period
    before_start = series.kind == "price" and p.last < horizon.start  # the initial price: checked, not measured
    return before_start or (p.first >= horizon.start and p.last <= horizon.last)


def compile_targets(observations: Iterable[Observation], scn: Scenario, source: str,
                    steps: Sequence[Scenario] = (), left_out: list[Observation] | None = None) -> list[Target]:
    """Check every observed row against the scenario (``steps``: the scenario
    in force after each policy change) and return the targets, in file order.

    With ``left_out`` (a run compared with data, not a fit), a well-formed row
    this run cannot produce (a price without ``[markets]``, a destination or
    product it lacks, a period not wholly simulated) is put there instead of
    refused: the shipped observed file then serves every scenario."""
    horizon = Horizon.of(scn)
    every = [scn, *steps]
    out = []
    for obs in observations:
        try:
            series = parse_series(obs.series)
        except ValueError as e:
            raise _fail(source, obs, "series", str(e), obs.series) from None
        if left_out is None:
            _check_producible(source, obs, series, scn, every)
        elif not _in_run(source, obs, series, scn, every, horizon):  # it checks what this run produces
            left_out.append(obs)
            continue
        if series.kind == "price" and obs.period.last < horizon.start:
            _check_initial_price(source, obs, series, scn)
            continue  # the base: the same in every run, nothing to fit
        _check_period(source, obs, series, horizon)
        _check_value(source, obs, series, horizon)
        out.append(Target(series, obs.period, *_in_model_units(source, obs, series, scn), obs.row))
    return out


def days_needed(targets: Sequence[Target], scn: Scenario) -> float:
    """The shortest horizon that produces every target exactly: the day after
    the last period, or the whole horizon when a stockout day is observed (a
    run cut short would count a later stockout as none)."""
    horizon = Horizon.of(scn)
    if any(t.series.kind == "stockout_day" for t in targets):
        return float(scn.scenario.horizon)
    last = max(horizon.day(t.period.last) for t in targets)
    return float(min(scn.scenario.horizon, last + 1))


def series_of(targets: Sequence[Target]) -> list[Series]:
    """The distinct series of the targets, in order of first appearance."""
    return list({t.series.name: t.series for t in targets}.values())
