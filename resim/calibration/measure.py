"""The model's number for a series and period, from one replication's output.

The definitions are the grammar's (``series.py``); this module only reads the
record tables a replication sends back (``flows``, ``licences``,
``timeseries``), so the same numbers serve the fit, the posterior-predictive
fan charts and any later check against new observations.

``share_stopped`` is the share of an entry's firms short that day, from the
timeseries' ``firms_stopped`` and ``firms`` columns (a one-firm entry: 1 on
the days it is short).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from .observed import Period
from .series import ALL, QUOTES, Horizon, Series, Target


class ReplicationOutput(Protocol):
    """What measuring reads of a replication's ``resim.model.records.Records``
    (named here so that measuring needs no simulation code): the monthly
    shipments and the licence and daily tables (``.data``: column lists)."""

    replication: int
    error: str | None
    monthly: Any
    licences: Any
    timeseries: Any
    prices: Any


def _monthly_tonnes(flows: Any) -> dict[tuple[str, str, str, str], float]:
    """Tonnes shipped per (product, origin, destination, month)."""
    out: dict[tuple[str, str, str, str], float] = {}
    if flows is None or not len(flows):
        return out
    for m, o, d, p, t in zip(flows["month"], flows["origin"], flows["destination"],
                             flows["product"], flows["tonnes"], strict=True):
        key = (str(p), str(o), str(d), str(m))
        out[key] = out.get(key, 0.0) + float(t)
    return out


def _goes_to(d: str, origin: str, dest: str) -> bool:
    """Whether a flow to ``d`` counts for ``dest``: that destination, or for
    ``ALL`` every destination across the border."""
    return d == dest or (dest == ALL and d != origin)


class Measured:
    """One replication's records, indexed once for many look-ups."""

    def __init__(self, out: ReplicationOutput, horizon: Horizon):
        if out.error:
            raise RuntimeError(f"replication {out.replication} failed: {out.error}")
        self.horizon = horizon
        self._flows = _monthly_tonnes(out.monthly)
        lic = out.licences.data if out.licences is not None else {}
        outcome = np.asarray(lic.get("outcome", []), dtype=object)
        decided = outcome != "pending"
        self._decided_day = np.asarray(lic.get("decided_day", []), dtype=float)[decided]
        self._approved = (outcome == "approved")[decided]
        self._destination = np.asarray(lic.get("destination", []), dtype=object)[decided]
        self._ts: dict[str, Any] = out.timeseries.data if out.timeseries is not None else {}
        self._entry_days: dict[str, np.ndarray] = {}
        self._prices: dict[str, Any] = out.prices.data if getattr(out, "prices", None) is not None else {}

    # ------------------------------------------------------------ series
    def exports(self, product: str, origin: str, dest: str, month: str) -> float:
        return sum(t for (p, o, d, m), t in self._flows.items()
                   if (p, o, m) == (product, origin, month) and _goes_to(d, o, dest))

    def approved_share(self, dest: str, end_day: int) -> float:
        """Share approved among decisions made before the end of ``end_day``;
        NaN when none was made (the particle cannot match the row)."""
        mask = self._decided_day < end_day + 1
        if dest != ALL:
            mask &= self._destination == dest
        n = int(mask.sum())
        return float(self._approved[mask].sum()) / n if n else math.nan

    def stopped(self, entry: str) -> np.ndarray:
        """The entry's daily share of firms short, indexed by day."""
        if entry not in self._entry_days:
            names = np.asarray(self._ts.get("automaker", []), dtype=object)
            rows = names == entry
            day = np.asarray(self._ts.get("day", []), dtype=np.int64)[rows]
            stopped = np.asarray(self._ts["firms_stopped"], dtype=float)[rows]
            share = stopped / np.asarray(self._ts["firms"], dtype=float)[rows]
            daily = np.zeros(self.horizon.days)
            keep = day < self.horizon.days
            daily[day[keep]] = share[keep]
            self._entry_days[entry] = daily
        return self._entry_days[entry]

    def share_stopped(self, entry: str, first_day: int, last_day: int) -> float:
        return float(self.stopped(entry)[first_day:last_day + 1].mean())

    def stockout_day(self, entry: str) -> float:
        """First day with a firm short; the horizon when none (censored)."""
        hit = np.flatnonzero(self.stopped(entry) > 0)
        return float(hit[0]) if hit.size else float(self.horizon.days)

    def price(self, item: str, quote: str, first_day: int, last_day: int) -> float:
        """Mean price (USD/kg) of ``item`` at ``quote``'s market and tier over
        the observation days in the period; for a period between two
        observations, the last one before its end (prices hold between
        steps). NaN without an observation by then."""
        market, tier = QUOTES[quote]
        p = self._prices
        rows = ((np.asarray(p.get("item", []), dtype=object) == item)
                & (np.asarray(p.get("market", []), dtype=object) == market)
                & (np.asarray(p.get("tier", []), dtype=object) == tier))
        day = np.asarray(p.get("day", []), dtype=float)[rows]
        usd = np.asarray(p.get("usd_per_kg", []), dtype=float)[rows]
        inside = (day >= first_day) & (day < last_day + 1)
        if inside.any():
            return float(usd[inside].mean())
        before = day < last_day + 1
        return float(usd[before][np.argmax(day[before])]) if before.any() else math.nan

    # ------------------------------------------------------------ dispatch
    def value(self, series: Series, period: Period) -> float:
        """The model's number for ``series`` over ``period``."""
        h = self.horizon
        if series.kind == "exports":
            product, origin, dest = series.args
            return self.exports(product, origin, dest, period.first.isoformat()[:7])
        if series.kind == "approved_share":
            return self.approved_share(series.args[0], h.day(period.last))
        if series.kind == "share_stopped":
            return self.share_stopped(series.args[0], h.day(period.first), h.day(period.last))
        if series.kind == "stockout_day":
            return self.stockout_day(series.args[0])
        if series.kind == "price":
            return self.price(*series.args, h.day(period.first), h.day(period.last))
        raise ValueError(f"unknown series kind {series.kind!r}")


def statistics(outputs: Sequence[ReplicationOutput], targets: Sequence[Target],
               horizon: Horizon) -> dict[str, float]:
    """Each target's model number, averaged over the replications given
    (NaN stays NaN: a row some replication cannot produce is not matched)."""
    views = [Measured(o, horizon) for o in outputs]
    return {t.label: float(np.mean([v.value(t.series, t.period) for v in views])) for t in targets}
