"""``resim calibrate --update DIR --observed newer.csv``: a finished calibration
continued with the rows that arrived since (a month's customs data).

Why not start over: the old posterior already holds what the old rows say,
so the particles the new rows accept lie inside it. The update re-simulates
the old posterior's particles on *all* rows (the bridge: generation 0 of the
new history, with the old weights) and then runs ordinary ABC-SMC
generations against all rows. Generation 1 proposes from the old particles'
perturbation kernel (a weighted multivariate normal mixture) and weights each
accepted particle by prior / proposal, exactly as every SMC generation does,
so the result targets the posterior of the *original* priors given all rows:
the old posterior is only the proposal, never the prior (which would count
the old rows twice).

This module reads and checks DIR and the new rows (no pyabc: every refusal
comes before anything heavy is imported); ``bridge.py`` runs the bridge.
DIR is only read (``posterior.parquet``, ``calibration.json``,
``scenario.calibrated.toml``, the completion marker), never written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..model.randomness import name_key
from ..scenario.errors import ScenarioError
from .posterior import POSTERIOR_FILE, SUMMARY_FILE, Posterior, read_posterior
from .series import Target

CALIBRATED_FILE = "scenario.calibrated.toml"
MARKER = ".resim-complete.json"  # resim.experiment.runfolder.MARKER (read here, never written)
#: Share of a from-scratch calibration's simulations an update spends by default.
DEFAULT_SHARE = 0.5
#: The first generation after the bridge keeps this weighted quantile of the
#: bridge's distances (later ones the median, as any calibration): the old
#: posterior is already a generation or three into a fit, so its median
#: distance would let the new rows pull too little.
BRIDGE_ALPHA = 0.25
_SEED_STREAM = name_key("calibration/update")


@dataclass(frozen=True)
class Previous:
    """A finished calibration folder, as an update reads it."""

    directory: Path
    posterior: Posterior  # the old particles and weights, in scenario values
    summary: dict[str, Any]  # its calibration.json
    digest: str  # SHA-256 of its posterior.parquet: what an interrupted update continues

    @property
    def rows(self) -> dict[tuple[str, str], tuple[float, float | None]]:
        """(series, period) -> (value, sd) of every row DIR was fitted on."""
        return {(r["series"], r["period"]): (r["value"], r.get("sd")) for r in self.summary.get("observed", [])}

    @property
    def from_scratch(self) -> int:
        """Simulations a calibration from scratch spent: DIR's own (fit and
        predictive check), or, for an update, what its DIR's start spent."""
        up = self.summary.get("update") or {}
        if up.get("from_scratch_simulations"):
            return int(up["from_scratch_simulations"])
        s = self.summary
        return int(max(s.get("simulations") or 0, s.get("simulations_run") or 0) + (s.get("predictive_simulations") or 0))

    def setting(self, key: str, default: Any) -> Any:
        return self.summary.get(key, default) if self.summary.get(key) is not None else default


def _refuse(directory: str | Path, message: str) -> ScenarioError:
    return ScenarioError("--update", "", message, str(directory))


def _finished(d: Path) -> None:
    """DIR must be a finished calibration: marked complete (files unchanged
    since), or shipped (calibration.json and posterior.parquet, no history)."""
    if not d.is_dir():
        raise _refuse(d, "does not exist" if not d.exists() else "is not a directory")
    try:
        marker = json.loads((d / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        marker = None
    if marker is None and (d / "history.db").is_file():
        raise _refuse(d, "is an unfinished calibration (interrupted, or still running): finish it with --resume first")
    if marker is not None and (marker.get("kind") != "calibration" or marker.get("status") != "complete"):
        raise _refuse(d, "is not a finished calibration (its completion marker says "
                      f"{marker.get('kind')} {marker.get('status')})")
    for name in (SUMMARY_FILE, POSTERIOR_FILE):
        if not (d / name).is_file():
            raise _refuse(d, f"is not a finished calibration ({name} is missing)")
        want = ((marker or {}).get("files") or {}).get(name)
        if want and _digest(d / name) != want:
            raise _refuse(d, f"{name} is not the file its calibration wrote (the folder mixes runs)")


def _digest(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def read_previous(directory: str | Path) -> Previous:
    """The finished calibration in ``directory``; ``ScenarioError`` (--update) if it is not one."""
    d = Path(directory)
    _finished(d)
    try:
        post = read_posterior(d)
        summary = json.loads((d / SUMMARY_FILE).read_text(encoding="utf-8"))
    except ScenarioError as e:
        raise _refuse(d, e.message) from None
    except (OSError, ValueError) as e:
        raise _refuse(d, f"cannot read its {SUMMARY_FILE} ({type(e).__name__})") from None
    if not summary.get("observed"):
        raise _refuse(d, f"its {SUMMARY_FILE} lists no observed rows to continue from")
    return Previous(d, post, summary, _digest(d / POSTERIOR_FILE))


def scenario_file(previous: Previous) -> Path:
    """The scenario an update runs when none is given: DIR's calibrated file
    (the whole scenario, ``extends`` resolved; the fitted keys are set by
    every particle anyway)."""
    path = previous.directory / CALIBRATED_FILE
    if not path.is_file():
        raise _refuse(previous.directory, f"{CALIBRATED_FILE} is missing: give the SCENARIO it was fitted with")
    return path


@dataclass(frozen=True)
class RowChange:
    """How the new observed rows relate to DIR's."""

    kept: int
    new: int
    revised: int


def check_rows(previous: Previous, targets: Sequence[Target], observed_file: str) -> RowChange:
    """Every row DIR was fitted on must still be there (a revised value is
    allowed: the old posterior is only a proposal); at least one row must be
    new or revised."""
    now = {(t.series.name, t.period.text): (t.value, t.sd) for t in targets}
    before = previous.rows
    for (series, period) in before:
        if (series, period) not in now:
            raise ScenarioError(observed_file, "", f"drops a row {previous.directory} was fitted on "
                                f"(keep every earlier row and add the new months)", f"{series},{period}")
    revised = sum(1 for k, v in before.items() if not _same(now[k], v))
    change = RowChange(len(before), len(now) - len(before), revised)
    if change.new == 0 and revised == 0:
        raise ScenarioError(observed_file, "", f"holds no row {previous.directory} was not fitted on: "
                            "nothing to update", f"{len(now)} rows")
    return change


def _same(a: tuple[float, float | None], b: tuple[float, float | None]) -> bool:
    return bool(np.isclose(a[0], b[0], rtol=1e-12, atol=0)) and (a[1] or None) == (b[1] or None)


@dataclass(frozen=True)
class Update:
    """``--update``: the finished calibration continued, and how the rows changed."""

    previous: Previous
    change: RowChange


def update_seed(seed: int) -> int:
    """The root seed of an update of a calibration seeded ``seed``: its own
    stream, so its candidates do not replay DIR's."""
    return int(np.random.SeedSequence(seed, spawn_key=(_SEED_STREAM,)).generate_state(1, np.uint64)[0] >> 1)


def default_budget(previous: Previous) -> int:
    """Half the simulations starting over spent."""
    return max(1, int(previous.from_scratch * DEFAULT_SHARE))


def update_request(previous: Previous) -> dict[str, Any]:
    """What an interrupted update must continue: the same DIR posterior."""
    return {"directory": str(previous.directory), "posterior_sha256": previous.digest}


def update_block(previous: Previous, change: RowChange, spent: int, bridge: int) -> dict[str, Any]:
    """calibration.json's ``update``: what was continued and what it cost
    against starting over."""
    scratch = previous.from_scratch
    return {"of": str(previous.directory), "rows_before": change.kept, "rows_new": change.new,
            "rows_revised": change.revised, "bridge_simulations": bridge, "simulations": spent,
            "from_scratch_simulations": scratch, "share_of_from_scratch": spent / scratch if scratch else None}
