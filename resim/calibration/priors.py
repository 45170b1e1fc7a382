"""Fitted parameters: ``--fit KEY=LO:HI[:log]`` and the keys they set.

``KEY`` is any dotted scenario key ``--set`` takes
(``licensing.approval_rate``, ``automakers[EU automaker].target_days``);
``[*]`` ties one parameter across every entry of a table
(``automakers[*].target_days`` sets each automaker's to the same value). A
prior is uniform on ``[LO, HI]``, or log-uniform with ``:log`` (for scale
parameters spanning orders of magnitude, where a uniform prior would put
nine tenths of its mass in the top decade). A key whose value is a whole
number (reviewers, attempts) is rounded.

Both bounds are applied to the scenario before anything runs, so a key that
does not exist, is not a number, or whose bound the scenario refuses, is a
one-line error naming the flag. No pyabc here: ``--posterior`` uses this
module in runs that need no calibration library.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ..scenario import Loaded, build_timeline, parse_key, with_values
from ..scenario import ScenarioBase as Scenario
from ..scenario.checks import check_references
from ..scenario.errors import ScenarioError

TIE = "[*]"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_FIT = re.compile(rf"^(?P<key>.+?)=(?P<lo>{_NUMBER}):(?P<hi>{_NUMBER})(?::(?P<scale>log|uniform))?$")


@dataclass(frozen=True)
class Prior:
    """One fitted parameter: its key, prior range and scale.

    pyabc works on ``name`` (``p0``, ``p1``...: safe in its database) in the
    internal scale: the logarithm for a log-uniform prior, so the
    perturbation kernel moves in the same scale as the prior.
    """

    key: str
    low: float
    high: float
    log: bool = False
    integer: bool = False
    name: str = "p0"

    @property
    def internal_bounds(self) -> tuple[float, float]:
        return (math.log(self.low), math.log(self.high)) if self.log else (self.low, self.high)

    def natural(self, internal: float) -> float:
        """The scenario value of an internal value."""
        x = math.exp(internal) if self.log else float(internal)
        x = min(max(x, self.low), self.high)  # exp(log(x)) may round past a bound
        return float(round(x)) if self.integer else x

    def spec(self) -> str:
        return f"{self.key}={self.low:g}:{self.high:g}{':log' if self.log else ''}"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "low": self.low, "high": self.high,
                "scale": "log" if self.log else "uniform", "integer": self.integer}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], name: str) -> Prior:
        return cls(str(d["key"]), float(d["low"]), float(d["high"]), d.get("scale") == "log",
                   bool(d.get("integer", False)), name)


def parse_fit(text: str) -> tuple[str, float, float, bool]:
    """``KEY=LO:HI[:log]`` -> (key, low, high, log); ``ScenarioError`` if malformed."""
    m = _FIT.match(text.strip())
    if not m or not m.group("key").strip():
        raise ScenarioError("--fit", "", "must look like KEY=LO:HI or KEY=LO:HI:log", text)
    key = m.group("key").strip()
    lo, hi = float(m.group("lo")), float(m.group("hi"))
    log = m.group("scale") == "log"
    _check_range(key, lo, hi, log, text)
    return key, lo, hi, log


def _check_range(key: str, lo: float, hi: float, log: bool, text: str) -> None:
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise ScenarioError("--fit", key, "needs LO < HI, both finite", text)
    if log and lo <= 0:
        raise ScenarioError("--fit", key, "a log-uniform prior needs LO > 0", text)


#: What walking a key the scenario lacks raises (a missing name, index, field or entry).
_MISSING = (ValueError, KeyError, IndexError, AttributeError, StopIteration, TypeError)


def _walk(node: Any, tok: Any) -> Any:
    """One step of a parsed key: an entry by name, an index, a table key or a field."""
    if isinstance(tok, tuple):
        return next(x for x in node if getattr(x, "name", None) == tok[1])
    if isinstance(tok, int) or isinstance(node, Mapping):
        return node[tok]
    return getattr(node, _field_name(node, tok))


def _field_name(node: Any, tok: str) -> str:
    """The attribute behind a field's name or alias ("mean" -> ``mu``)."""
    if isinstance(node, BaseModel) and tok not in type(node).model_fields:
        return next(n for n, f in type(node).model_fields.items() if f.alias == tok)
    return tok


def _walk_or_none(node: Any, tok: Any) -> Any:
    """:func:`_walk`, or None where the scenario lacks the key."""
    try:
        return _walk(node, tok)
    except _MISSING:
        return None


def read_value(scn: Scenario, key: str) -> Any:
    """A key's value in a validated scenario (aliases such as ``mean`` allowed)."""
    node: Any = scn
    for tok in parse_key(key):
        node = _walk(node, tok)
    return node


def _read_or_none(scn: Scenario, key: str) -> Any:
    """:func:`read_value`, or None where the scenario lacks the key."""
    try:
        return read_value(scn, key)
    except _MISSING:
        return None


def expand_key(scn: Scenario, key: str, source: str = "--fit") -> list[str]:
    """The concrete keys a ``[*]`` key stands for, by entry index
    (``automakers[*].x`` -> ``automakers[0].x``, ``automakers[1].x``...)."""
    if TIE not in key:
        return [key]
    head, _, rest = key.partition(TIE)
    table = _read_or_none(scn, head) if head else None
    if not isinstance(table, list):
        raise ScenarioError(source, key, f"{head or 'the scenario'} is not a table of entries [*] can tie")
    if not table:
        raise ScenarioError(source, key, f"{head} has no entries")
    return [k for i in range(len(table)) for k in expand_key(scn, f"{head}[{i}]{rest}", source)]


def canonical(scn: Scenario, key: str) -> str:
    """``key`` with entry names resolved to indices, to see two spellings of one key."""
    out, node = "", scn
    for tok in parse_key(key):
        tok = _by_index(node, tok)
        out += _spelled(tok)
        node = _walk_or_none(node, tok)
    return out


def _by_index(node: Any, tok: Any) -> Any:
    """An entry's name as its index in the table ``node``, where it names one."""
    if isinstance(tok, tuple) and isinstance(node, list):
        names = [getattr(x, "name", None) for x in node]
        return names.index(tok[1]) if tok[1] in names else tok
    return tok


def _spelled(tok: Any) -> str:
    """One parsed key token written back: ``[0]``, ``[EU automaker]`` or ``.field``."""
    if isinstance(tok, int):
        return f"[{tok}]"
    return f"[{tok[1]}]" if isinstance(tok, tuple) else f".{tok}"


def overrides(scn: Scenario, values: Mapping[str, float], source: str = "--fit") -> dict[str, float]:
    """``{fit key: value}`` -> ``{concrete key: value}`` for ``with_values``."""
    return {k: v for key, v in values.items() for k in expand_key(scn, key, source)}


def _whole(scn: Scenario, key: str, near: float) -> bool:
    """Whether the schema refuses a fraction for ``key`` (reviewer counts are
    floats that must be whole, so the Python type does not tell)."""
    try:
        with_values(scn, {key: math.floor(near) + 0.5})
    except ScenarioError as e:
        return "whole number" in e.message
    return False


#: Tables that set what is simulated (the run's name, start, horizon, seed and
#: replications; designs; outputs; grades), never a parameter of the model.
STRUCTURAL_TABLES = ("scenario", "sweep", "output", "policy", "grades", "extends")
#: Entry fields that are counts or sizes of the model, not its parameters.
STRUCTURAL_FIELDS = ("firms",)


def _name_at(tokens: Sequence[Any], i: int) -> str:
    """The field or table name at ``tokens[i]`` ("" for an index, an entry name or no tokens)."""
    return tokens[i] if tokens and isinstance(tokens[i], str) else ""


def check_structural(scn: Scenario, key: str, text: str) -> None:
    """Refuse a key that is not a model parameter: a structural table, a
    field an entry declares structural (names, jurisdictions, grades,
    suppliers), or a size of the model (a population's firms)."""
    tokens = parse_key(key)
    head = _name_at(tokens, 0)
    if head in STRUCTURAL_TABLES:
        raise ScenarioError("--fit", key, f"is in [{head}], which sets what is simulated, not a model parameter; "
                            "fit a parameter such as licensing.approval_rate", text)
    field = _name_at(tokens, -1)
    node: Any = scn
    try:
        for tok in tokens[:-1]:
            node = _walk(node, tok)
    except _MISSING:
        return  # a key the scenario lacks: with_values names it
    if field in (*getattr(node, "structural", ()), *STRUCTURAL_FIELDS):
        raise ScenarioError("--fit", key, f"is structural ({field} fixes the network or its size), not a model "
                            "parameter --fit can vary", text)


def _kind(scn: Scenario, key: str, text: str, near: float) -> bool:
    """Whether ``key`` holds a whole number; errors for values no number can replace."""
    try:
        value = read_value(scn, key)
    except _MISSING:
        return False  # a key the file leaves unset: with_values says if it exists
    _refuse_non_numbers(value, key, text)
    return isinstance(value, int) or (isinstance(value, float) and _whole(scn, key, near))


def _refuse_non_numbers(value: Any, key: str, text: str) -> None:
    """``ScenarioError`` for a value no fitted number can replace: a flag, a
    distribution (its numbers can be fitted), text, a list or a table."""
    if isinstance(value, bool):
        raise ScenarioError("--fit", key, "is true/false, not a number", text)
    if isinstance(value, BaseModel) and getattr(value, "dist", None) not in (None, "constant"):
        raise ScenarioError("--fit", key, f"is a {value.dist} distribution; fit one of its numbers "
                            f"(e.g. {key}.{_first_number(value)})", text)
    if isinstance(value, str | list | dict) or (isinstance(value, BaseModel) and not hasattr(value, "dist")):
        raise ScenarioError("--fit", key, "is not a number", text)


def _first_number(dist: BaseModel) -> str:
    """The name of a distribution's first number, for the hint of what to fit instead."""
    numbers = [f.alias or n for n, f in type(dist).model_fields.items() if n != "dist"]
    return numbers[0] if numbers else "low"


def apply_values(scn: Scenario, values: Mapping[str, float], source: str,
                 fixed: Mapping[str, Any] | None = None) -> Loaded:
    """The scenario with fitted ``values`` (and plain ``fixed`` keys, e.g. the
    seed) set and its policy timeline rebuilt on top, validated as a run
    would; ``ScenarioError`` from ``source`` if the scenario refuses them."""
    new = with_values(scn, {**overrides(scn, values, source), **(fixed or {})}, source=source)
    check_references(new, source)
    return Loaded(new, build_timeline(new, source), {}, source)


#: Tables of run settings, not of the model: a posterior fits whatever they say.
_RUN_SETTINGS = ("scenario", "output", "sweep")


def fingerprint(scn: Scenario, priors: Sequence[Prior]) -> str:
    """SHA-256 of the model a posterior was fitted to: the resolved scenario
    with every fitted key at its prior's lower bound (the shipped file holds
    the posterior medians there, which must not count as a change) and without
    its run settings (seed, replications, horizon, outputs)."""
    masked = apply_values(scn, {p.key: p.low for p in priors}, "--posterior").scenario
    form = {k: v for k, v in masked.file_form().items() if k not in _RUN_SETTINGS}  # type: ignore[attr-defined]
    return hashlib.sha256(json.dumps(form, sort_keys=True, default=str).encode()).hexdigest()


def check_priors(scn: Scenario, specs: Sequence[str]) -> list[Prior]:
    """Parse and check every ``--fit`` against the scenario."""
    if not specs:
        raise ScenarioError("--fit", "", "give at least one parameter to fit, e.g. --fit licensing.approval_rate=0.2:0.9")
    priors: list[Prior] = []
    owner: dict[str, str] = {}
    for i, text in enumerate(specs):
        key, lo, hi, log = parse_fit(text)
        concrete = expand_key(scn, key)
        for k in concrete:
            _claim(scn, key, k, text, owner)
        integer = any(_kind(scn, k, text, lo) for k in concrete)
        _check_bounds(scn, key, lo, hi, integer, text)
        priors.append(Prior(key, lo, hi, log, integer, f"p{i}"))
    return priors


def _claim(scn: Scenario, key: str, concrete: str, text: str, owner: dict[str, str]) -> None:
    """Record that ``--fit key`` sets ``concrete``; refuse a structural key and
    one another ``--fit`` already sets (however spelled: by name or index)."""
    check_structural(scn, concrete, text)
    where = canonical(scn, concrete)
    if where in owner:
        raise ScenarioError("--fit", key, f"sets {concrete}, which --fit {owner[where]} also sets", text)
    owner[where] = key


def _check_bounds(scn: Scenario, key: str, lo: float, hi: float, integer: bool, text: str) -> None:
    """Both bounds applied to the scenario (rounded for a whole-number key), so
    a bound the scenario refuses is an error before anything runs."""
    if integer and math.floor(hi) < math.ceil(lo):
        raise ScenarioError("--fit", key, "holds a whole number; LO:HI contains none", text)
    for bound in (lo, hi):
        apply_values(scn, {key: float(round(bound)) if integer else bound}, "--fit")
