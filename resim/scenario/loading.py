"""Loading a scenario: file or dict, ``extends``, ``--set``, validation, the
policy timeline and the cross-table checks, in that order.

Everything a user can get wrong is caught here, before any clock starts, and
reported as ``FILE: key.path[i].name: what is wrong, got VALUE`` (a
``ScenarioError``). The result, ``Loaded``, is all a run needs.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from .checks import check_graph, check_references
from .document import ScenarioBase, scenario_class
from .errors import ScenarioError
from .files import read_with_extends
from .keys import format_loc, parse_value, reason, set_key
from .limits import check_limits
from .messages import entry_names, raise_validation
from .timeline import PolicyStep, build_timeline, check_branches, with_values


class ParameterDraws(Protocol):
    """Parameter values that differ by replication (``--posterior``: a
    calibration's particles). The calibration layer makes them and hands them
    in from above; experiments and output reach them only through this face,
    so no layer below calibration imports it."""

    source: str
    keys: list[str]

    def scenario_for(self, loaded: Loaded, replication: int) -> Loaded:
        """The scenario replication ``replication`` of ``loaded`` runs."""

    def drawn(self, seed: int, replications: Sequence[int]) -> Any:
        """A frame: one row per replication with the values it drew."""

    def describe(self) -> dict[str, Any]:
        """What summary.json says of the draws."""


@dataclass(frozen=True)
class Loaded:
    """A validated scenario with its policy timeline and where it came from;
    with ``draws`` (``--posterior``), each replication runs with the
    parameter values it draws."""

    scenario: ScenarioBase
    timeline: tuple[PolicyStep, ...]
    raw: dict[str, Any]
    source: str
    draws: ParameterDraws | None = None


def _split_set(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise ScenarioError("--set", text, "must look like KEY=VALUE")
    key, value = text.split("=", 1)
    if not key.strip():
        raise ScenarioError("--set", text, "must look like KEY=VALUE")
    return key.strip(), value.strip()


def _set_one(raw: dict[str, Any], key: str, typed: Any, label: str) -> list[str | int]:
    """Set one override in ``raw`` (in place); the location it landed at."""
    before = copy.deepcopy(raw)
    try:
        return set_key(raw, key, typed)
    except (KeyError, ValueError) as e:
        # The path may run through a default the file does not spell out
        # (e.g. the default review stages): set it on the validated form.
        raw.clear()
        raw.update(before)
        try:
            filled = scenario_class().model_validate(raw).model_dump(by_alias=True, exclude_none=True)
            loc = set_key(filled, key, typed)
        except (KeyError, ValueError, ValidationError):
            raise ScenarioError(label, key, reason(e)) from None
        raw.clear()
        raw.update(filled)
        return loc


def _override(raw: dict[str, Any], overrides: Iterable[str] | Mapping[str, Any]) -> dict[str, str]:
    """Apply ``--set`` changes to the raw document; return where each landed."""
    as_text = not isinstance(overrides, Mapping)
    label = "--set" if as_text else "overrides"  # a dict comes from the Python API, not a flag
    items = [_split_set(o) for o in overrides] if as_text else list(overrides.items())  # type: ignore[union-attr]
    set_locs: dict[str, str] = {}
    for key, value in items:
        typed = parse_value(value) if as_text and isinstance(value, str) else value
        set_locs[format_loc(_set_one(raw, key, typed, label))] = label
    return set_locs


def validate_sweep_keys(scn: ScenarioBase, label: str) -> None:
    """Each [sweep].grid value must be a valid value for its key."""
    for key, values in scn.sweep.grid.items():  # type: ignore[attr-defined]
        if not values:
            raise ScenarioError(label, f'sweep.grid."{key}"', "needs at least one value")
        for v in values:
            point = with_values(scn, {key: v}, source=f'{label}: sweep.grid."{key}"')
            check_branches(point, f'{label}: sweep.grid."{key}"')  # a sweep over scenario.default_branch


def _raw(source: str | Path | Mapping[str, Any] | ScenarioBase, label: str | None) -> tuple[dict[str, Any], str]:
    """The document to validate, and the label its errors start with."""
    if isinstance(source, ScenarioBase):
        raw = source.model_dump(by_alias=True, exclude_none=True)
        label = label or f"<{source.scenario.name}>"  # type: ignore[attr-defined]
    elif isinstance(source, Mapping):
        raw, label = copy.deepcopy(dict(source)), label or "<scenario>"
    else:
        label = label or str(source)
        return read_with_extends(Path(source), label), label
    raw.pop("extends", None)
    return raw, label


def load(
    source: str | Path | Mapping[str, Any] | Loaded | ScenarioBase,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    label: str | None = None,
) -> Loaded:
    """Read, merge, override and validate a scenario (a path, a dict, or an
    already loaded one). ``overrides`` are ``"KEY=VALUE"`` strings or a
    ``{key: value}`` mapping, typed and validated like ``--set``. Raises
    ``ScenarioError`` on bad input."""
    if isinstance(source, Loaded):
        if not overrides:
            return source
        source = source.scenario
    raw, label = _raw(source, label)
    set_locs = _override(raw, overrides)
    try:
        scn = scenario_class().model_validate(raw)
    except ValidationError as e:
        raise_validation(label, e, set_locs, raw)
    check_limits(scn, label, set_locs)
    with entry_names(raw):
        check_references(scn, label)
        timeline = build_timeline(scn, label)
        _check_other_branches(scn, label)
        validate_sweep_keys(scn, label)
        check_graph(scn, label)
    return Loaded(scn, timeline, raw, label)


def _with_default(scn: ScenarioBase, name: str, label: str) -> ScenarioBase:
    return with_values(scn, {"scenario.default_branch": name}, source=label)


def _check_other_branches(scn: ScenarioBase, label: str) -> None:
    """Every branch's changes, validated as its timeline (the default's was built)."""
    for branch in scn.branch:  # type: ignore[attr-defined]
        if branch.name != scn.scenario.default_branch:  # type: ignore[attr-defined]
            build_timeline(_with_default(scn, branch.name, label), label)


def branch_scenarios(loaded: Loaded) -> dict[str, Loaded]:
    """Each ``[[branch]]`` as a scenario of its own, in file order: the same
    scenario with that branch as its default (the default branch is
    ``loaded`` itself), with the same seed and draws, so the branches run
    with common random numbers. Empty for a scenario without branches."""
    scn = loaded.scenario
    out: dict[str, Loaded] = {}
    for branch in scn.branch:  # type: ignore[attr-defined]
        if branch.name == scn.scenario.default_branch:  # type: ignore[attr-defined]
            out[branch.name] = loaded
            continue
        alt = _with_default(scn, branch.name, loaded.source)
        out[branch.name] = dataclasses.replace(loaded, scenario=alt, timeline=build_timeline(alt, loaded.source))
    return out
