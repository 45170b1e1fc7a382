"""Queueing theory for the review office: Erlang B/C, M/M/c waits and the
Jackson-network value of a tandem of M/M/c stages with a rework loop.

These are the yardsticks of the theory tests (SPEC §5, §6): with exponential
review durations and Poisson background load, each review stage is an M/M/c
queue and the office is an open Jackson network, so the mean wait per visit at
each stage is Erlang C's and the mean time in review is a sum over stages.

All functions are pure; times are in days, rates per day. A stage with an
infinite number of reviewers (``math.inf``) never queues.

Rework: an application leaving stage ``k`` is sent back with probability ``q``
(independently on each visit), spends a fix time of mean ``fix_mean`` with the
exporter (an infinite-server delay) and re-enters stage ``k``'s queue. Stage
``k`` then sees an arrival rate ``lam / (1 - q)`` and each application visits
it ``1 / (1 - q)`` times on average (a geometric number of visits), fixing
``q / (1 - q)`` times. Jackson's theorem (Bernoulli feedback, insensitive
infinite-server fix delay) keeps each stage's marginal an M/M/c queue at its
effective arrival rate, so the per-visit wait is Erlang C's at that rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Rework",
    "Tandem",
    "erlang_b",
    "erlang_c",
    "jackson_tandem",
    "mmc_wait",
    "utilisation",
]


def _check_servers(c: float) -> None:
    if c != math.inf and (c < 1 or c != int(c)):
        raise ValueError(f"number of servers must be a whole number >= 1 or inf, got {c!r}")


def erlang_b(a: float, c: float) -> float:
    """Erlang B blocking probability of an M/M/c/c loss system with offered
    load ``a = lam * mean_service`` (erlangs) and ``c`` servers.

    Uses the recursion ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))``,
    which is numerically stable for thousands of servers (no factorials).
    ``c = inf`` gives 0.
    """
    if a < 0:
        raise ValueError(f"offered load must be >= 0, got {a!r}")
    _check_servers(c)
    if c == math.inf or a == 0:
        return 0.0
    b = 1.0
    for k in range(1, int(c) + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(a: float, c: float) -> float:
    """Erlang C: probability that an arrival to an M/M/c queue waits, with
    offered load ``a`` erlangs and ``c`` servers (``c = inf`` gives 0).

    ``C = B / (1 - rho + rho B)`` with ``rho = a / c`` and ``B = erlang_b(a, c)``.
    Raises ``ValueError`` if the queue is unstable (``rho >= 1``).
    """
    _check_servers(c)
    if c == math.inf:
        if a < 0:
            raise ValueError(f"offered load must be >= 0, got {a!r}")
        return 0.0
    rho = a / c
    if rho >= 1.0:
        raise ValueError(f"unstable queue: utilisation {rho:.4g} >= 1 (load {a:.4g}, {c:g} servers)")
    b = erlang_b(a, c)
    return b / (1.0 - rho + rho * b)


def mmc_wait(lam: float, mean_service: float, c: float) -> float:
    """Mean wait in queue ``Wq`` (before service starts) of an M/M/c queue.

    ``Wq = C(a, c) * mean_service / (c - a)`` with ``a = lam * mean_service``.
    ``c = inf`` gives 0. Raises ``ValueError`` when ``lam * mean_service >= c``.
    """
    if lam < 0 or mean_service <= 0:
        raise ValueError(f"need lam >= 0 and mean_service > 0, got {lam!r}, {mean_service!r}")
    _check_servers(c)
    if c == math.inf or lam == 0:
        return 0.0
    a = lam * mean_service
    return erlang_c(a, c) * mean_service / (c - a)


def utilisation(lam: float, mean_service: float, c: float) -> float:
    """Long-run fraction of busy reviewers, ``lam * mean_service / c`` (0 if
    ``c`` is infinite)."""
    _check_servers(c)
    return 0.0 if c == math.inf else lam * mean_service / c


@dataclass(frozen=True)
class Rework:
    """A rework loop at stage ``stage`` (0-based index into the stages)."""

    stage: int
    probability: float
    fix_mean: float = 0.0


@dataclass(frozen=True)
class Tandem:
    """Jackson-network values of a tandem of M/M/c stages, per stage and total.

    ``waits`` are the mean waits in queue *per visit*, ``arrival_rates`` the
    rates of arrivals (visits) per day, ``visits`` the mean visits per
    application, ``sojourns`` the mean time per application at each stage
    (``visits * (wait + service)``), and ``total`` the mean time from
    submission to decision, which adds ``(visits - 1) * fix_mean`` for rework.
    """

    arrival_rates: tuple[float, ...]
    visits: tuple[float, ...]
    waits: tuple[float, ...]
    services: tuple[float, ...]
    utilisations: tuple[float, ...]
    sojourns: tuple[float, ...]
    total: float

    @property
    def queue_lengths(self) -> tuple[float, ...]:
        """Mean number waiting at each stage (Little's law, ``rate * wait``)."""
        return tuple(r * w for r, w in zip(self.arrival_rates, self.waits, strict=True))


def jackson_tandem(
    lam: float,
    stages: Sequence[tuple[float, float]],
    rework: Rework | tuple[int, float, float] | None = None,
) -> Tandem:
    """Mean waits and time in review of an open tandem of M/M/c stages.

    ``lam`` is the Poisson arrival rate of applications, ``stages`` a list of
    ``(mean_service_days, reviewers)`` (reviewers may be ``math.inf``), and
    ``rework`` an optional :class:`Rework` (or ``(stage, probability,
    fix_mean)``). Raises ``ValueError`` if any stage is unstable (``rho >= 1``
    at its effective arrival rate) or the rework probability is not in [0, 1).
    """
    if lam <= 0:
        raise ValueError(f"arrival rate must be > 0, got {lam!r}")
    if not stages:
        raise ValueError("need at least one stage")
    rw = Rework(*rework) if isinstance(rework, tuple) else rework
    visits, fix_time = _visits(len(stages), rw)
    rates, waits, services, utils, sojourns = [], [], [], [], []
    for i, ((mean, c), v) in enumerate(zip(stages, visits, strict=True)):
        rate = lam * v
        _check_stable(i, rate, mean, c)
        w = mmc_wait(rate, mean, c)
        rates.append(rate)
        waits.append(w)
        services.append(float(mean))
        utils.append(utilisation(rate, mean, c))
        sojourns.append(v * (w + mean))
    return Tandem(
        arrival_rates=tuple(rates),
        visits=tuple(visits),
        waits=tuple(waits),
        services=tuple(services),
        utilisations=tuple(utils),
        sojourns=tuple(sojourns),
        total=sum(sojourns) + fix_time,
    )


def _visits(n: int, rw: Rework | None) -> tuple[list[float], float]:
    """Mean visits to each of ``n`` stages and the mean time spent fixing:
    the rework stage is visited ``1 / (1 - q)`` times, fixed ``q / (1 - q)``."""
    visits = [1.0] * n
    if rw is None:
        return visits, 0.0
    if not 0 <= rw.stage < n:
        raise ValueError(f"rework stage {rw.stage} is not one of the {n} stages")
    if not 0.0 <= rw.probability < 1.0:
        raise ValueError(f"rework probability must be in [0, 1), got {rw.probability!r}")
    if rw.fix_mean < 0:
        raise ValueError(f"fix_mean must be >= 0, got {rw.fix_mean!r}")
    v = 1.0 / (1.0 - rw.probability)
    visits[rw.stage] = v
    return visits, (v - 1.0) * rw.fix_mean


def _check_stable(i: int, rate: float, mean: float, c: float) -> None:
    if c != math.inf and rate * mean >= c:
        raise ValueError(
            f"stage {i} is unstable: utilisation {rate * mean / c:.4g} >= 1 "
            f"(rate {rate:.4g}/day, mean {mean:g} days, {c:g} reviewers)"
        )
