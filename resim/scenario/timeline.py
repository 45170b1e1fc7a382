"""The policy timeline: each ``[[policy]]`` entry applied, in date order, to
the scenario in force before it, and validated like the file itself.

At run time a policy is then only a swap of frozen scenario objects (see
``resim/policy.py``). What a policy may not change is what a run is built
from: the actor network (each table's ``structural`` fields), the review
stages, the holiday calendar and the start date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .checks import check_references
from .document import ScenarioBase, scenario_class
from .errors import ScenarioError
from .keys import format_loc, parse_key, reason, set_key
from .limits import check_limits
from .messages import raise_validation
from .units import date_to_day

_POLICY_FORBIDDEN = ("scenario", "policy", "branch", "sweep", "output", "extends", "grades")
_STRUCTURE_MESSAGE = ("a policy may change values but not actors, suppliers, jurisdictions, grades, "
                      "compositions, stockpile release lists, holidays or stages")


@dataclass(frozen=True)
class PolicyStep:
    """The scenario in force from ``day`` on, after one ``[[policy]]`` entry."""

    day: float
    index: int
    changes: tuple[tuple[str, Any], ...]
    scenario: ScenarioBase
    announced: float | None = None  # the day it was announced, if it was
    #: Where the entry is in the file: ``policy[2]`` or ``branch[1].policy[0]``.
    path: str = ""


def _structure(scn: ScenarioBase, skip: tuple[str, ...] = ()) -> tuple[Any, ...]:
    return (
        tuple((k.table, cfg.structure(skip)) for k, _, cfg in scn.entries()),
        tuple(scn.stage_names()),
        tuple(scn.licensing.holidays),  # type: ignore[attr-defined]
        scn.scenario.start_date,  # type: ignore[attr-defined]
    )


def with_values(scn: ScenarioBase, changes: Mapping[str, Any], source: str = "--set") -> ScenarioBase:
    """A new scenario with dotted keys changed (policies, sweeps), validated."""
    raw = scn.model_dump(by_alias=True, exclude_none=True)
    set_locs: dict[str, str] = {}
    for key, value in changes.items():
        try:
            loc = set_key(raw, key, value)
        except (KeyError, ValueError) as e:
            raise ScenarioError(source, key, reason(e)) from None
        set_locs[format_loc(loc)] = source
    try:
        scn = scenario_class().model_validate(raw)
    except ValidationError as e:
        raise_validation(source, e, set_locs, raw)
    check_limits(scn, source, set_locs)
    return scn


def _check_keys(label: str, path: str, changes: Mapping[str, Any]) -> None:
    for key in changes:
        try:
            head = parse_key(key)[0]
        except ValueError as e:
            raise ScenarioError(label, f'{path}.set."{key}"', reason(e)) from None
        if head in _POLICY_FORBIDDEN:
            raise ScenarioError(label, f'{path}.set."{key}"', f"a policy cannot change {head}")
        if isinstance(changes[key], Mapping) and "." not in key and "[" not in key:
            raise ScenarioError(
                label, f"{path}.set.{key}",
                f'write dotted keys in quotes, e.g. set = {{ "{key}.x" = 1 }}; unquoted, they make a '
                f"table that would replace all of [{key}]",
            )


def _entries(scn: ScenarioBase) -> list[tuple[str, Any]]:
    """The policy entries in force, with where each is in the file: the
    ``[[policy]]`` entries, then those of the default ``[[branch]]``."""
    out = [(f"policy[{i}]", p) for i, p in enumerate(scn.policy)]  # type: ignore[attr-defined]
    chosen = scn.scenario.default_branch  # type: ignore[attr-defined]
    for j, branch in enumerate(scn.branch):  # type: ignore[attr-defined]
        if branch.name == chosen:
            out += [(f"branch[{j}].policy[{k}]", p) for k, p in enumerate(branch.policy)]
    return out


def _dated(scn: ScenarioBase) -> list[tuple[float, int, str, Any]]:
    """The policy entries as (day, index, path, entry), in the order they
    apply (on the same day, the file's own before the branch's)."""
    start = scn.scenario.start_date  # type: ignore[attr-defined]
    entries = [(max(p.day if p.day is not None else date_to_day(start, p.date), 0.0), i, path, p)
               for i, (path, p) in enumerate(_entries(scn))]
    return sorted(entries, key=lambda e: (e[0], e[1]))


def _apply(current: ScenarioBase, label: str, path: str, changes: Mapping[str, Any],
           before: tuple[tuple[Any, ...], tuple[Any, ...]]) -> ScenarioBase:
    """The scenario after policy ``i``, refused if it changes the structure.
    Grades are compared after the reference checks (``before``: without and
    with them), so a policy naming an unknown grade gets the precise "no
    [grades.X] table" error."""
    _check_keys(label, path, changes)
    try:
        current = with_values(current, changes, source=f"{label}: {path}.set")
    except ScenarioError as e:
        raise ScenarioError(e.source, e.path, e.message, e.value) from None
    if _structure(current, skip=("grade",)) != before[0]:
        raise ScenarioError(label, f"{path}.set", _STRUCTURE_MESSAGE)
    # The values it sets must also pass the cross-checks (grade and rework
    # stage names, renewal lead shorter than lifetime...).
    check_references(current, f"{label}: {path}.set")
    _check_not_shadowed(current, label, path, changes)
    if _structure(current) != before[1]:
        raise ScenarioError(label, f"{path}.set", _STRUCTURE_MESSAGE)
    return current


def _check_not_shadowed(current: ScenarioBase, label: str, path: str, changes: Mapping[str, Any]) -> None:
    """A policy's new ``approval_rate`` would be silently ignored while an
    ``approval_path`` is in force (the path replaces the rate): refuse it."""
    rate = "licensing.approval_rate"
    if rate in changes and "licensing.approval_path" not in changes and current.licensing.approval_path:
        raise ScenarioError(label, f'{path}.set."{rate}"', "has no effect while licensing.approval_path is "
                            'in force; also set "licensing.approval_path" = [] to return to the rate',
                            changes[rate])


def _announced(start: Any, label: str, path: str, p: Any, day: float) -> float | None:
    announced = None if p.announced is None else max(0.0, date_to_day(start, p.announced))
    if announced is not None and announced > day:
        raise ScenarioError(label, f"{path}.announced", f"must not be after the policy's day ({day:g})",
                            p.announced)
    return announced


def build_timeline(scn: ScenarioBase, label: str) -> tuple[PolicyStep, ...]:
    """Validate every policy entry in force (the file's and the default
    branch's) by applying it, cumulatively, in date order."""
    check_branches(scn, label)
    start = scn.scenario.start_date  # type: ignore[attr-defined]
    before = (_structure(scn, skip=("grade",)), _structure(scn))
    steps, current = [], scn
    for day, i, path, p in _dated(scn):
        current = _apply(current, label, path, p.set, before)
        steps.append(PolicyStep(day, i, tuple(p.set.items()), current,
                                _announced(start, label, path, p, day), path))
    return tuple(steps)


def check_branches(scn: ScenarioBase, label: str) -> None:
    """Branch names unique, and ``scenario.default_branch`` naming one of
    them (required when there are branches, refused when there are none)."""
    names = [b.name for b in scn.branch]  # type: ignore[attr-defined]
    _check_unique(names, label)
    chosen = scn.scenario.default_branch  # type: ignore[attr-defined]
    if names and chosen is None:
        raise ScenarioError(label, "scenario.default_branch", "name the branch a plain run writes to the "
                            f"standard result files, one of {_listed(names)}")
    if chosen is not None and chosen not in names:
        where = f"the branches are {_listed(names)}" if names else "the scenario has no [[branch]] tables"
        raise ScenarioError(label, "scenario.default_branch", f"no branch of that name ({where})", chosen)


def _check_unique(names: list[str], label: str) -> None:
    seen: set[str] = set()
    for j, name in enumerate(names):
        if name in seen:
            raise ScenarioError(label, f"branch[{j}].name", "branch names must be unique, this one repeats", name)
        seen.add(name)


def _listed(names: list[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)
