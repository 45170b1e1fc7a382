"""Experiment designs: which scenario variants (design points) to run.

Samplers only make variants - dicts of dotted scenario keys to values - and
never run anything (as EMA Workbench separates samplers from evaluators).
Every design point is built and checked like a scenario file of its own
(schema, references, policy timeline, network) before the first replication
starts - by ``resim sweep`` and by ``resim validate`` alike - and a refused
point names the file, the point and the swept key.

Samplers: ``grid`` (full factorial), ``lhs`` (Latin hypercube), ``qmc``
(scrambled Sobol points: space-filling, for ``resim discover``), and the two
designs that come with sensitivity indices (SALib, in the ``[sensitivity]``
extra): ``sobol``, a Saltelli design of N x (D + 2) points for first-order and
total Sobol indices, and ``morris``, N trajectories of D + 1 points for
Morris' elementary effects. Every sampler is seeded by the scenario seed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..scenario import Loaded, get_key, load, parse_value, with_values
from ..scenario.errors import ScenarioError

Point = dict[str, Any]


def parse_grid(text: str) -> tuple[str, list[Any]]:
    """``KEY=V1,V2,...`` (TOML values) or ``KEY=LO:HI:N`` (N evenly spaced)."""
    key, _, spec = (s.strip() for s in text.partition("="))
    if not key or not spec:
        raise ScenarioError("--grid", text, "must look like KEY=V1,V2 or KEY=LO:HI:N")
    values = _grid_values(key, spec)
    if not values:
        raise ScenarioError("--grid", key, "needs at least one value", spec)
    return key, values


def _grid_values(key: str, spec: str) -> list[Any]:
    """``LO:HI:N`` spaced out, else the comma-separated values (empty ones skipped)."""
    parts = spec.split(":")
    if len(parts) == 3 and all(p.strip() for p in parts):
        return _spaced(key, spec, *(parse_value(p) for p in parts))
    return [parse_value(v.strip()) for v in spec.split(",") if v.strip()]


def _spaced(key: str, spec: str, lo: Any, hi: Any, n: Any) -> list[Any]:
    """``LO:HI:N``: N evenly spaced values from LO to HI."""
    whole = isinstance(n, int) and not isinstance(n, bool) and n >= 1
    if not (_is_num(lo) and _is_num(hi) and whole):
        raise ScenarioError("--grid", key, "LO:HI:N needs two numbers and a whole number N >= 1", spec)
    return [float(v) for v in np.linspace(lo, hi, n)]


def parse_grids(texts: Sequence[str]) -> dict[str, list[Any]]:
    """Several ``--grid`` flags; a key given twice is an error (the later
    values used to replace the earlier ones silently)."""
    grid: dict[str, list[Any]] = {}
    for text in texts:
        key, values = parse_grid(text)
        if key in grid:
            raise ScenarioError("--grid", key, "given twice; list all its values in one --grid KEY=V1,V2,...")
        grid[key] = values
    return grid


def parse_range(text: str) -> tuple[str, float, float]:
    """``KEY=LO:HI`` for LHS and Sobol designs."""
    if "=" not in text:
        raise ScenarioError("--range", text, "must look like KEY=LO:HI")
    key, spec = (s.strip() for s in text.split("=", 1))
    parts = spec.split(":")
    if len(parts) != 2:
        raise ScenarioError("--range", key, "must look like KEY=LO:HI", spec)
    lo, hi = (parse_value(p.strip()) for p in parts)
    if not (_is_num(lo) and _is_num(hi) and lo < hi):
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
    """``n`` scrambled Sobol points (balanced when ``n`` is a power of two):
    the ``qmc`` sampler. (``--sampler sobol`` is the Saltelli design.)"""
    from scipy.stats import qmc

    engine = qmc.Sobol(d=len(ranges), scramble=True, seed=np.random.default_rng(seed))
    m = int(math.log2(n)) if n > 0 and (n & (n - 1)) == 0 else None
    unit = engine.random_base2(m) if m is not None else engine.random(n)
    return _scale(unit, ranges, integer or [False] * len(ranges))


#: Samplers over ``--range``s, and those whose design comes with sensitivity indices.
RANGE_SAMPLERS = ("lhs", "qmc", "sobol", "morris")
INDEX_SAMPLERS = ("sobol", "morris")
#: Grid levels of a Morris design (SALib's default).
MORRIS_LEVELS = 4


def _salib(sampler: str) -> Any:
    """SALib's sample module for ``sampler``; a missing extra is bad input, not a crash."""
    try:
        from SALib.sample import morris as morris_sample
        from SALib.sample import sobol as sobol_sample
    except ImportError:
        raise ScenarioError("--sampler", sampler, "needs SALib: pip install 'resim[sensitivity]'") from None
    return sobol_sample if sampler == "sobol" else morris_sample


def problem(ranges: Sequence[tuple[str, float, float]]) -> dict[str, Any]:
    """The ranges as SALib's problem definition."""
    return {"num_vars": len(ranges), "names": [k for k, _, _ in ranges],
            "bounds": [[lo, hi] for _, lo, hi in ranges]}


def index_matrix(sampler: str, ranges: Sequence[tuple[str, float, float]], n: int, seed: int) -> np.ndarray:
    """The unrounded design of a ``sobol`` (Saltelli, N x (D + 2) rows, no
    second-order terms) or ``morris`` (N trajectories x (D + 1) rows) sampler,
    in the keys' units and in the row order SALib's analysis expects."""
    import warnings

    module = _salib(sampler)
    with warnings.catch_warnings():  # "N should be a power of 2": the command line says so itself
        warnings.simplefilter("ignore")
        if sampler == "sobol":
            return module.sample(problem(ranges), n, calc_second_order=False, scramble=True, seed=seed)
        return module.sample(problem(ranges), n, num_levels=MORRIS_LEVELS, seed=seed)


def _rounded(matrix: np.ndarray, ranges: Sequence[tuple[str, float, float]],
             integer: Sequence[bool]) -> list[Point]:
    return [{key: int(round(float(v))) if is_int else float(v)
             for (key, _, _), v, is_int in zip(ranges, row, integer, strict=True)} for row in matrix]


def points_per_sample(sampler: str, dims: int) -> int:
    """Design points per ``--samples`` unit: D + 2 (Saltelli), D + 1 (a Morris trajectory), else 1."""
    return dims + 2 if sampler == "sobol" else dims + 1 if sampler == "morris" else 1


def make_design(
    loaded: Loaded,
    grid: Mapping[str, Sequence[Any]] | None = None,
    sampler: str = "grid",
    ranges: Sequence[tuple[str, float, float]] = (),
    samples: int | None = None,
) -> tuple[list[str], list[Point]]:
    """The design points: an explicit grid, a sampler over ranges, or the
    scenario's own ``[sweep]`` grid. Keys whose value in the scenario is a
    whole number (and reviewers) are rounded to whole numbers."""
    scn = loaded.scenario
    if sampler == "grid":
        return _grid_design(loaded, grid)
    _check_sampled(sampler, ranges, samples)
    return [k for k, _, _ in ranges], _sampled(scn, sampler, ranges, samples or 0)


def _sampled(scn: Any, sampler: str, ranges: Sequence[tuple[str, float, float]], samples: int) -> list[Point]:
    """The points a sampler draws over ``ranges``, seeded by the scenario's seed."""
    integer = [_is_integer_key(scn, k) for k, _, _ in ranges]
    seed = scn.scenario.seed
    if sampler in INDEX_SAMPLERS:
        return _rounded(index_matrix(sampler, ranges, samples, seed), ranges, integer)
    fn = latin_hypercube if sampler == "lhs" else sobol
    return fn(ranges, samples, seed, integer)


def _grid_design(loaded: Loaded, grid: Mapping[str, Sequence[Any]] | None) -> tuple[list[str], list[Point]]:
    """The full factorial of ``--grid`` or, without it, of the scenario's ``[sweep]`` grid."""
    g = dict(grid) if grid else dict(loaded.scenario.sweep.grid)
    if not g:
        raise ScenarioError(loaded.source, "sweep.grid", "nothing to sweep: give --grid KEY=V1,V2 or a [sweep] grid")
    return list(g), full_grid(g)


def _check_sampled(sampler: str, ranges: Sequence[tuple[str, float, float]], samples: int | None) -> None:
    """A sampler over ranges needs a known sampler, ranges and a sample size."""
    if sampler not in RANGE_SAMPLERS:
        raise ScenarioError("--sampler", "", "must be grid, lhs, qmc, sobol or morris", sampler)
    if not ranges:
        raise ScenarioError("--sampler", sampler, "needs at least one --range KEY=LO:HI")
    if not samples or samples < 1:
        raise ScenarioError("--samples", "", f"must be a whole number >= 1 with --sampler {sampler}", samples)


def _is_integer_key(scn: Any, key: str) -> bool:
    try:
        v = get_key(scn, key)
    except (KeyError, AttributeError, IndexError, StopIteration, TypeError, ValueError):
        return False
    return (isinstance(v, int) and not isinstance(v, bool)) or key.endswith("reviewers")


def design_size(loaded: Loaded, grid: Mapping[str, Sequence[Any]] | None = None, sampler: str = "grid",
                samples: int | None = None, ranges: Sequence[Any] = ()) -> int:
    """How many points ``make_design`` would make, without making them (so
    the work budget can refuse a huge sweep before it fills the memory)."""
    if sampler != "grid":
        return int(samples or 0) * points_per_sample(sampler, len(ranges))
    g = dict(grid) if grid else dict(loaded.scenario.sweep.grid)
    return math.prod(len(v) for v in g.values()) if g else 0


def design_origin(grid: Mapping[str, Any] | None, sampler: str) -> str:
    """Where a design's keys were given, for error messages."""
    if sampler != "grid":
        return "--range"
    return "--grid" if grid else "sweep.grid"


def _point_text(point: Point) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.items())


def build_points(base: Loaded, design: Sequence[Point], origin: str = "sweep.grid") -> list[Loaded]:
    """Every design point as a checked scenario: its values applied to the
    base, then every check a scenario file gets (references, policy timeline,
    network). A refused point names the file, the point and the key in
    ``origin`` (``sweep.grid``, ``--grid`` or ``--range``) that made it."""
    points = []
    for i, point in enumerate(design):
        where = f"{base.source}: sweep design point {i} ({_point_text(point)})"
        try:
            scn = with_values(base.scenario, point, source=where)
            points.append(load(scn))
        except ScenarioError as e:
            raise ScenarioError(where, _blamed(point, e.path, origin), e.message, e.value) from None
    return points


def _blamed(point: Point, path: str, origin: str) -> str:
    """The swept key a refused point's error lies under, as given in ``origin``;
    every key of the point for a cross-check its values fail together (e.g.
    renewal lead against lifetime)."""
    key = next((k for k in point if path == k or path.startswith((f"{k}.", f"{k}["))), None)
    if key is not None:
        return f'{origin}."{key}"'
    return ", ".join(f'{origin}."{k}"' for k in point) + (f" -> {path}" if path else "")
