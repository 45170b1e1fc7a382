"""A calibration's output directory: what is in it, and whether a new or a
resumed calibration may use it.

``history.db`` is pyabc's history (one row set per generation, committed as
each generation ends); ``calibration.request.json`` records what defines the
calibration (scenario, observed rows, priors, seed, population, replications
per particle), so ``--resume`` continues only the same calibration. A light
module: the command checks all this before importing pyabc.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..scenario import ScenarioBase as Scenario
from ..scenario.errors import ScenarioError
from .priors import Prior
from .series import Target

HISTORY = "history.db"
REQUEST_FILE = "calibration.request.json"
_WHAT = {"scenario_sha256": "the scenario", "observed_sha256": "the observed rows", "fit": "--fit",
         "seed": "--seed", "population": "--population", "replications_per_particle": "--particle-replications"}


def check_out(out: Path, resume: bool) -> None:
    """Refuse an ``--out`` that cannot be written, or holds (or, resuming,
    lacks) a calibration."""
    existing = next((d for d in (out, *out.parents) if d.exists()), None)
    if existing is not None:
        _check_writable(out, existing)
    has = (out / HISTORY).is_file()
    if resume and not has:
        raise ScenarioError("--resume", "", "no calibration to continue in --out", str(out))
    if not resume and has:
        raise ScenarioError("--out", "", "holds a calibration already: add --resume to continue it, "
                            "or choose another --out", str(out))


def check_coverage_out(out: Path, resume: bool) -> None:
    """As ``check_out``, for a coverage study: its table is what ``--resume`` continues."""
    check_out(out, resume=False)
    has = (out / "coverage.parquet").is_file()
    if resume and not has:
        raise ScenarioError("--resume", "", "no coverage study to continue in --out", str(out))
    if not resume and (has or (out / REQUEST_FILE).is_file()):
        raise ScenarioError("--out", "", "holds a calibration or coverage study already: add --resume to "
                            "continue it, or choose another --out", str(out))


def _check_writable(out: Path, d: Path) -> None:
    """``d``, ``out`` or its closest existing parent, must be a directory we can write in."""
    if not d.is_dir():
        raise ScenarioError("--out", "", f"{d} exists and is not a directory", str(out))
    if not os.access(d, os.W_OK | os.X_OK):
        raise ScenarioError("--out", "", f"cannot write in {d}", str(out))


def make_request(scn: Scenario, targets: Sequence[Target], priors: Sequence[Prior], seed: int,
                 population: int, replications: int) -> dict[str, Any]:
    """What makes a calibration itself; ``--resume`` must match it."""
    text = json.dumps(scn.model_dump(mode="json", by_alias=True, exclude_none=True), sort_keys=True)
    rows = json.dumps([[t.series.name, t.period.text, t.value, t.sd] for t in targets])
    return {
        "scenario_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "observed_sha256": hashlib.sha256(rows.encode()).hexdigest(),
        "fit": [p.spec() for p in priors],
        "seed": seed,
        "population": population,
        "replications_per_particle": replications,
    }


def check_resume(out: Path, request: dict[str, Any]) -> None:
    """Refuse to resume a calibration made with other settings."""
    try:
        before = json.loads((out / REQUEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ScenarioError("--resume", "", f"{REQUEST_FILE} is missing or unreadable in --out", str(out)) from None
    for key, what in _WHAT.items():
        if before.get(key) != request[key]:
            raise ScenarioError("--resume", "", f"{what} differs from the calibration in --out "
                                f"(was {before.get(key)!r})", str(out))
