"""Probability distributions for durations (review stages, transit, repairs...).

Each distribution is a frozen pydantic model that knows its own ``mean`` (so
theory tests and reports can quote it) and draws vectors from a numpy
``Generator`` (so hot paths can pre-draw in blocks; see ``randomness.Stream``).
A bare number or duration string ("5d") in a scenario means a constant.

Parameters that are valid one by one can still make draws that overflow to
infinity, underflow to 0 or divide by zero (a lognormal's ``cv = 1e200``
squares to infinity; a gamma's ``cv = 1e-200`` squares to 0 and divides).
So every parameter is checked at load against limits that keep every draw a
finite float: values at most ``LARGEST``; positive means, scales and ``cv``
at least ``SMALLEST``; a gamma's shape at least ``MIN_GAMMA_SHAPE``. Within
them, means, spreads and the products of two parameters stay far inside
float64's range (about 1e-308 to 1e308), and fewer than one draw in a
million of a positive distribution underflows to 0.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)

from .draw_limits import (
    LARGEST,
    MAX_GAMMA_CV,
    MAX_TABLE_POINTS,
    MIN_GAMMA_SHAPE,
    SMALLEST,
    Scale,
    Spread,
    Value,
    _gamma_cv,
    _gamma_shape,
    _not_huge,
    _not_tiny,
)
from .units import parse_duration

#: A non-negative number of days; accepts "45d", "26w", "6mo", "1y".
Days = Annotated[float, BeforeValidator(parse_duration)]


class _Dist(BaseModel):
    """Every distribution knows its mean and draws vectors (pydantic's model
    metaclass is an ABCMeta, so the abstract methods are enforced)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @property
    @abstractmethod
    def mean(self) -> float:
        """The distribution's mean (days)."""

    @abstractmethod
    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent draws."""

    @abstractmethod
    def quantile(self, u: np.ndarray) -> np.ndarray:
        """The inverse CDF at ``u`` in [0, 1). Firms of a population draw their
        values as ``quantile(u_i)`` with a fixed ``u_i`` per firm, so a firm
        keeps its rank when a policy or a sweep changes the distribution."""


class Constant(_Dist):
    dist: Literal["constant"] = "constant"
    value: Value

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return np.full(np.shape(u), self.value, dtype=float)


class Uniform(_Dist):
    dist: Literal["uniform"]
    low: Value
    high: Value

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) must be <= high ({self.high:g})")
        return self

    @property
    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return self.low + np.asarray(u, dtype=float) * (self.high - self.low)


class Triangular(_Dist):
    dist: Literal["triangular"]
    low: Value
    mode: Value
    high: Value

    @model_validator(mode="after")
    def _order(self) -> Triangular:
        if not (self.low <= self.mode <= self.high):
            raise ValueError(
                f"needs low <= mode <= high, got low={self.low:g}, mode={self.mode:g}, high={self.high:g}"
            )
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3.0

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if self.low == self.high:
            return np.full(size, self.low)
        return rng.triangular(self.low, self.mode, self.high, size)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        a, c, b = self.low, self.mode, self.high
        if a == b:
            return np.full(u.shape, a)
        cut = (c - a) / (b - a)
        left = a + np.sqrt(u * (b - a) * (c - a))
        right = b - np.sqrt((1.0 - u) * (b - a) * (b - c))
        return np.where(u < cut, left, right)


class Normal(_Dist):
    """Normal truncated at 0: durations cannot be negative. ``mean`` is the
    mean of the truncated distribution, which exceeds ``mu`` when ``sd`` is
    large relative to it."""

    dist: Literal["normal"]
    mu: Value = Field(alias="mean")
    sd: Spread = Field(ge=0, allow_inf_nan=False)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def mean(self) -> float:
        if self.sd == 0:
            return self.mu
        from scipy.stats import truncnorm

        a = (0.0 - self.mu) / self.sd
        return float(truncnorm.mean(a, math.inf, loc=self.mu, scale=self.sd))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        out = rng.normal(self.mu, self.sd, size)
        bad = out < 0
        while bad.any():  # rejection keeps the stream's draws in a fixed order
            out[bad] = rng.normal(self.mu, self.sd, int(bad.sum()))
            bad = out < 0
        return out

    def quantile(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        if self.sd == 0:
            return np.full(u.shape, self.mu)
        from scipy.stats import truncnorm

        return truncnorm.ppf(u, (0.0 - self.mu) / self.sd, math.inf, loc=self.mu, scale=self.sd)


class LogNormal(_Dist):
    """Lognormal given by its mean and coefficient of variation, the two
    numbers published sources quote."""

    dist: Literal["lognormal"]
    mu: Scale = Field(alias="mean", gt=0)
    cv: Spread = Field(ge=0, allow_inf_nan=False)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def mean(self) -> float:
        return self.mu

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        s2 = math.log1p(self.cv**2)
        return rng.lognormal(math.log(self.mu) - 0.5 * s2, math.sqrt(s2), size)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        from scipy.special import ndtri

        s2 = math.log1p(self.cv**2)
        return np.exp(math.log(self.mu) - 0.5 * s2 + math.sqrt(s2) * ndtri(np.asarray(u, dtype=float)))


class Exponential(_Dist):
    dist: Literal["exponential"]
    mu: Scale = Field(alias="mean", gt=0)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def mean(self) -> float:
        return self.mu

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mu, size)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return -self.mu * np.log1p(-np.asarray(u, dtype=float))


class Gamma(_Dist):
    """Gamma by ``shape`` and ``scale``, or by ``mean`` and ``cv``."""

    dist: Literal["gamma"]
    shape: Annotated[float, AfterValidator(_not_huge), AfterValidator(_gamma_shape)] | None = Field(
        default=None, gt=0, allow_inf_nan=False)
    scale: Scale | None = None
    mu: Scale | None = Field(default=None, alias="mean")
    cv: Annotated[float, AfterValidator(_not_tiny), AfterValidator(_gamma_cv)] | None = Field(default=None, gt=0, allow_inf_nan=False)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _pair(self) -> Gamma:
        by_shape = self.shape is not None and self.scale is not None
        by_mean = self.mu is not None and self.cv is not None
        if by_shape == by_mean:
            raise ValueError("give either shape and scale, or mean and cv")
        return self

    def _params(self) -> tuple[float, float]:
        if self.shape is not None and self.scale is not None:
            return self.shape, self.scale
        k = 1.0 / self.cv**2  # type: ignore[operator]
        return k, self.mu / k  # type: ignore[operator]

    @property
    def mean(self) -> float:
        k, theta = self._params()
        return k * theta

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        k, theta = self._params()
        return rng.gamma(k, theta, size)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        from scipy.stats import gamma

        k, theta = self._params()
        return gamma.ppf(np.asarray(u, dtype=float), k, scale=theta)


class Empirical(_Dist):
    dist: Literal["empirical"]
    values: list[Value] = Field(min_length=1)
    weights: list[Annotated[float, Field(ge=0, allow_inf_nan=False), AfterValidator(_not_huge)]] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Empirical:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries but values has {len(self.values)}"
                )
            if sum(self.weights) <= 0:
                raise ValueError("weights must not all be 0")
        return self

    def _p(self) -> np.ndarray | None:
        if self.weights is None:
            return None
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    @property
    def mean(self) -> float:
        v = np.asarray(self.values, dtype=float)
        p = self._p()
        return float(v.mean() if p is None else (v * p).sum())

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.choice(np.asarray(self.values, dtype=float), size=size, p=self._p())

    def quantile(self, u: np.ndarray) -> np.ndarray:
        order = np.argsort(np.asarray(self.values, dtype=float), kind="stable")
        values = np.asarray(self.values, dtype=float)[order]
        p = self._p()
        weights = np.full(len(values), 1.0 / len(values)) if p is None else p[order]
        cum = np.cumsum(weights)
        idx = np.searchsorted(cum, np.asarray(u, dtype=float), side="right")
        return values[np.minimum(idx, len(values) - 1)]


class Quantiles(_Dist):
    """A quantile table: ``values[i]`` is the ``probs[i]`` quantile, with
    straight lines between (a piecewise-uniform density). Survey figures come
    as such tables ("a tenth of firms held under a month"), and they give a
    population a low tail that a uniform or triangular cannot."""

    dist: Literal["quantiles"]
    probs: list[Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]] = Field(
        min_length=2, max_length=MAX_TABLE_POINTS)
    values: list[Value] = Field(min_length=2, max_length=MAX_TABLE_POINTS)

    @model_validator(mode="after")
    def _table(self) -> Quantiles:
        p, v = self.probs, self.values
        if len(p) != len(v):
            raise ValueError(f"probs has {len(p)} entries but values has {len(v)}")
        if p[0] != 0 or p[-1] != 1:
            raise ValueError(f"probs must run from 0 to 1, got {p[0]:g} to {p[-1]:g}")
        if any(b <= a for a, b in zip(p, p[1:], strict=False)):
            raise ValueError(f"probs must increase strictly, got {[float(x) for x in p]}")
        if any(b < a for a, b in zip(v, v[1:], strict=False)):
            raise ValueError(f"values must not decrease (a quantile table is sorted), got {[float(x) for x in v]}")
        return self

    @property
    def mean(self) -> float:
        p, v = np.asarray(self.probs), np.asarray(self.values, dtype=float)
        return float((np.diff(p) * 0.5 * (v[1:] + v[:-1])).sum())

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.quantile(rng.random(size))

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(u, dtype=float), self.probs, self.values)


def _coerce(value: Any) -> Any:
    """A bare number or duration string is a constant."""
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        return {"dist": "constant", "value": value}
    return value


#: What a mixture mixes: every kind but a mixture.
Part = Annotated[
    Constant | Uniform | Triangular | Normal | LogNormal | Exponential | Gamma | Empirical | Quantiles,
    Field(discriminator="dist"),
    BeforeValidator(_coerce),
]


class Mixture(_Dist):
    """A draw from ``parts[k]`` with probability ``weights[k]``: a population
    whose bulk holds two to three months and a few firms weeks, or review
    times that mostly end by the statutory cap and sometimes long after.

    ``quantile(u)`` takes part ``k`` for ``u`` in its slice of [0, 1) (slices
    in the order given) and that part's quantile at ``u`` rescaled within the
    slice: draws follow the mixture exactly, and a firm keeps its rank within
    its part. List the parts from low to high to keep ranks overall."""

    dist: Literal["mixture"]
    parts: list[Part] = Field(min_length=1, max_length=MAX_TABLE_POINTS)
    weights: list[Annotated[float, Field(ge=0, allow_inf_nan=False), AfterValidator(_not_huge)]]

    @model_validator(mode="after")
    def _weights(self) -> Mixture:
        if len(self.weights) != len(self.parts):
            raise ValueError(f"weights has {len(self.weights)} entries but parts has {len(self.parts)}")
        if sum(self.weights) <= 0:
            raise ValueError(f"weights must not all be 0, got {[float(x) for x in self.weights]}")
        return self

    def _edges(self) -> np.ndarray:
        w = np.asarray(self.weights, dtype=float)
        return np.concatenate(([0.0], np.cumsum(w / w.sum())))

    @property
    def mean(self) -> float:
        return float(np.dot(np.diff(self._edges()), [p.mean for p in self.parts]))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.quantile(rng.random(size))

    def quantile(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        edges = self._edges()
        k = np.minimum(np.searchsorted(edges, u, side="right") - 1, len(self.parts) - 1)
        out = np.empty(u.shape)
        for i, part in enumerate(self.parts):
            mine = k == i
            if mine.any():
                width = edges[i + 1] - edges[i]
                out[mine] = part.quantile(np.clip((u[mine] - edges[i]) / width, 0.0, np.nextafter(1.0, 0.0)))
        return out


DistSpec = Constant | Uniform | Triangular | Normal | LogNormal | Exponential | Gamma | Empirical | Quantiles | Mixture
Distribution = Annotated[
    Constant | Uniform | Triangular | Normal | LogNormal | Exponential | Gamma | Empirical | Quantiles | Mixture,
    Field(discriminator="dist"),
    BeforeValidator(_coerce),
]

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Distribution)


def make(value: Any) -> DistSpec:
    """Build a distribution from its scenario form (for tests and the API)."""
    return _ADAPTER.validate_python(value)


__all__ = ["LARGEST", "MAX_GAMMA_CV", "MIN_GAMMA_SHAPE", "SMALLEST", "Days", "DistSpec", "Distribution",
           "Mixture", "Quantiles", "Scale", "Spread", "Value", "make"]
