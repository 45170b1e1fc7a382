"""Experiment designs: which scenario variants (design points) to run.

Samplers only make variants - dicts of dotted scenario keys to values - and
never run anything (as EMA Workbench separates samplers from evaluators).
Every value is validated against the schema before the first replication
starts, exactly like ``--set``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import ScenarioError
from .scenario import parse_value

Point = dict[str, Any]


def parse_grid(text: str) -> tuple[str, list[Any]]:
    """``KEY=V1,V2,...`` (TOML values) or ``KEY=LO:HI:N`` (N evenly spaced)."""
    if "=" not in text:
        raise ScenarioError("--grid", text, "must look like KEY=V1,V2 or KEY=LO:HI:N")
    key, spec = (s.strip() for s in text.split("=", 1))
    if not key or not spec:
        raise ScenarioError("--grid", text, "must look like KEY=V1,V2 or KEY=LO:HI:N")
    parts = spec.split(":")
    if len(parts) == 3 and all(p.strip() for p in parts):
        lo, hi, n = (parse_value(p) for p in parts)
        if not (_is_num(lo) and _is_num(hi)) or not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ScenarioError("--grid", key, "LO:HI:N needs two numbers and a whole number N >= 1", spec)
        values: list[Any] = [float(v) for v in np.linspace(lo, hi, n)]
    else:
        values = [parse_value(v.strip()) for v in spec.split(",") if v.strip()]
    if not values:
        raise ScenarioError("--grid", key, "needs at least one value", spec)
    return key, values


def parse_range(text: str) -> tuple[str, float, float]:
    """``KEY=LO:HI`` for LHS and Sobol designs."""
    if "=" not in text:
        raise ScenarioError("--range", text, "must look like KEY=LO:HI")
    key, spec = (s.strip() for s in text.split("=", 1))
    parts = spec.split(":")
    if len(parts) != 2:
        raise ScenarioError("--range", key, "must look like KEY=LO:HI", spec)
    lo, hi = (parse_value(p.strip()) for p in parts)
    if not (_is_num(lo) and _is_num(hi)) or not lo < hi:
        raise ScenarioError("--range", key, "needs two numbers LO < HI", spec)
    return key, float(lo), float(hi)


def _is_num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def full_grid(grid: Mapping[str, Sequence[Any]]) -> list[Point]:
    """Every combination, the first key varying slowest."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def _scale(unit: np.ndarray, ranges: Sequence[tuple[str, float, float]], integer: Sequence[bool]) -> list[Point]:
    points = []
    for row in unit:
        p: Point = {}
        for (key, lo, hi), u, is_int in zip(ranges, row, integer, strict=True):
            v = lo + float(u) * (hi - lo)
            p[key] = int(round(v)) if is_int else v
        points.append(p)
    return points


def latin_hypercube(ranges: Sequence[tuple[str, float, float]], n: int, seed: int,
                    integer: Sequence[bool] | None = None) -> list[Point]:
    """``n`` points, one in each of ``n`` equal strata of every key."""
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(d=len(ranges), seed=np.random.default_rng(seed)).random(n)
    return _scale(unit, ranges, integer or [False] * len(ranges))


def sobol(ranges: Sequence[tuple[str, float, float]], n: int, seed: int,
          integer: Sequence[bool] | None = None) -> list[Point]:
    """``n`` scrambled Sobol points (balanced when ``n`` is a power of two)."""
    from scipy.stats import qmc

    engine = qmc.Sobol(d=len(ranges), scramble=True, seed=np.random.default_rng(seed))
    m = int(math.log2(n)) if n > 0 and (n & (n - 1)) == 0 else None
    unit = engine.random_base2(m) if m is not None else engine.random(n)
    return _scale(unit, ranges, integer or [False] * len(ranges))
