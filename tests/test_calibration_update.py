"""``resim calibrate --update DIR --observed newer.csv`` (issue 28 item 5): a
finished calibration continued with new months.

The statistical test fits the tiny per-shipment chain of test_calibration
(about 30 simulations a second) to rows the model made at a known approval
rate: a calibration on three months, then the update to five months, against
a calibration from scratch on all five. Per parameter the posterior means must
differ by at most 0.5 of the from-scratch posterior sd, the 90% intervals must
overlap by at least 70% of the longer one, and the update must have spent at
most half the from-scratch simulations. With 100 particles a fit's own Monte
Carlo noise is well inside those bounds; with 50, two fits from scratch at
different seeds already differed by 0.37 sd (intervals overlapping 75%). The
refusals and the folder rules run
on a shipped-style DIR (calibration.json and posterior.parquet written here),
which needs no fit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_calibration import TINY, observe

from resim.calibration.update import DEFAULT_SHARE, read_previous, update_seed
from resim.scenario.tomlwriter import dumps as toml_dumps

from scenario_helpers import assert_one_line_error, cli

FIT = "licensing.approval_rate=0.1:0.9"
KEY = "licensing.approval_rate"
MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]


def _rows(months: list[str], seed: int = 5) -> str:
    obs = observe({KEY: 0.45}, seed, months=MONTHS)
    keep = [o for o in obs if o.period.text in months]
    return "series,period,value\n" + "".join(f"{o.series},{o.period.text},{o.value!r}\n" for o in keep)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"toml": tmp_path / "tiny.toml", "old": tmp_path / "old.csv", "new": tmp_path / "new.csv"}
    paths["toml"].write_text(toml_dumps(TINY))
    paths["old"].write_text(_rows(MONTHS[:3]))
    paths["new"].write_text(_rows(MONTHS))
    return paths


def _shipped(d: Path, files: dict[str, Path], particles: int = 20) -> Path:
    """A finished calibration as a shipped folder holds it (no history): the
    old rows, the prior, particles spread over 0.3-0.6, and what it spent."""
    from resim.calibration.observed import read_observed

    d.mkdir()
    rows = [{"row": o.row, "series": o.series, "period": o.period.text, "value": o.value, "sd": o.sd}
            for o in read_observed(files["old"])]
    doc = {"seed": 7, "population": particles, "replications_per_particle": 1, "simulations": 300,
           "simulations_run": 300, "predictive_simulations": 0, "observed": rows,
           "priors": [{"key": KEY, "low": 0.1, "high": 0.9, "scale": "uniform", "integer": False}]}
    (d / "calibration.json").write_text(json.dumps(doc))
    x = np.linspace(0.3, 0.6, particles)
    pd.DataFrame({KEY: x, "weight": np.full(particles, 1 / particles), "distance": 1.0}).to_parquet(
        d / "posterior.parquet")
    (d / "scenario.calibrated.toml").write_text(files["toml"].read_text())
    return d


def _hashes(d: Path) -> dict[str, str]:
    return {str(f.relative_to(d)): hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(d.rglob("*"))
            if f.is_file()}


def _update(d: Path, observed: Path, *extra: str):
    return cli("calibrate", "--update", str(d), "--observed", str(observed), "--workers", "1", "--quiet", *extra)


# ------------------------------------------------------------- refusals


def test_refuses_a_folder_that_is_not_a_finished_calibration(tmp_path: Path, files: dict[str, Path]) -> None:
    assert_one_line_error(_update(tmp_path / "none", files["new"]), "does not exist")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(_update(tmp_path / "empty", files["new"]), "is not a finished calibration")
    running = _shipped(tmp_path / "running", files)
    (running / "history.db").write_bytes(b"")  # a history and no completion marker: interrupted
    assert_one_line_error(_update(running, files["new"]), "unfinished calibration")
    mixed = _shipped(tmp_path / "mixed", files)
    (mixed / ".resim-complete.json").write_text(json.dumps(
        {"kind": "calibration", "status": "complete", "files": {"posterior.parquet": "0" * 64}}))
    assert_one_line_error(_update(mixed, files["new"]), "mixes runs")


def test_refuses_rows_that_drop_an_earlier_row_or_add_none_and_an_existing_out(
        tmp_path: Path, files: dict[str, Path]) -> None:
    d = _shipped(tmp_path / "cal", files)
    dropped = tmp_path / "dropped.csv"
    lines = files["new"].read_text().splitlines()
    dropped.write_text("\n".join(x for x in lines if "2025-02" not in x) + "\n")
    r = _update(d, dropped)
    assert_one_line_error(r, "drops a row")
    assert "2025-02" in r.err
    assert_one_line_error(_update(d, files["old"]), "nothing to update")
    (tmp_path / "taken").mkdir()
    assert_one_line_error(_update(d, files["new"], "--out", str(tmp_path / "taken")), "exists already")
    assert_one_line_error(_update(d, files["new"], "--out", str(d / "inside")), "inside it")
    assert_one_line_error(_update(d, files["new"], "--fit", FIT), "DIR's priors")
    assert_one_line_error(_update(d, files["new"], "--budget", "50"), "too small for an update")
    assert not (tmp_path / "cal_update").exists()


# ------------------------------------------------------------- the update itself


@pytest.mark.slow
def test_an_update_writes_a_new_complete_folder_leaves_dir_untouched_and_chains(
        tmp_path: Path, files: dict[str, Path]) -> None:
    d = _shipped(tmp_path / "cal", files)
    before = _hashes(d)
    r = _update(d, files["new"], "--predictive", "5")
    assert r.code == 0, r.err
    assert _hashes(d) == before
    new = tmp_path / "cal_update"
    doc = json.loads((new / "calibration.json").read_text())
    up = doc["update"]
    assert (up["rows_before"], up["rows_new"], up["rows_revised"]) == (6, 4, 0)
    assert up["from_scratch_simulations"] == 300 and up["bridge_simulations"] == 20
    assert up["simulations"] <= 300 * DEFAULT_SHARE == doc["budget"]
    assert doc["seed"] == update_seed(7) and doc["population"] == 20
    assert len(doc["observed"]) == 10
    marker = json.loads((new / ".resim-complete.json").read_text())
    assert marker["kind"] == "calibration" and marker["status"] == "complete"
    # the new folder is a finished calibration: next month's update starts from it, and
    # "starting over" stays the original calibration's cost
    prev = read_previous(new)
    assert prev.from_scratch == 300 and len(prev.rows) == 10
    revised = tmp_path / "revised.csv"
    revised.write_text(files["new"].read_text().replace("2025-05,", "2025-05,1", 1))
    again = _update(new, revised, "--predictive", "0", "--budget", "120")
    assert again.code == 0, again.err
    up2 = json.loads((tmp_path / "cal_update_update" / "calibration.json").read_text())["update"]
    assert (up2["rows_new"], up2["rows_revised"], up2["from_scratch_simulations"]) == (0, 1, 300)


def test_an_interrupted_update_resumes_only_from_the_same_dir(tmp_path: Path, files: dict[str, Path]) -> None:
    d = _shipped(tmp_path / "cal", files)
    out = tmp_path / "upd"
    out.mkdir()
    assert_one_line_error(_update(d, files["new"], "--out", str(out), "--resume"), "no update to continue")
    (out / "calibration.request.json").write_text(json.dumps({"update": {"directory": "elsewhere"}}))
    r = _update(d, files["new"], "--out", str(out), "--resume")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1, r.err


# ------------------------------------------------------------- against starting over


def _interval_overlap(a: list[float], b: list[float]) -> float:
    """The length two intervals share, as a share of the longer one."""
    shared = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return shared / max(a[1] - a[0], b[1] - b[0])


@pytest.mark.slow
def test_an_update_matches_a_calibration_from_scratch_on_all_rows_at_half_the_simulations(
        tmp_path: Path, files: dict[str, Path]) -> None:
    common = ["--fit", FIT, "--budget", "1800", "--population", "100", "--predictive", "0", "--workers", "1",
              "--quiet"]
    old, scratch = tmp_path / "old", tmp_path / "scratch"
    for out, rows, seed in ((old, files["old"], "1"), (scratch, files["new"], "2")):
        r = cli("calibrate", str(files["toml"]), "--observed", str(rows), "--out", str(out), "--seed", seed, *common)
        assert r.code == 0, r.err
    before = _hashes(old)
    r = _update(old, files["new"], "--predictive", "0")
    assert r.code == 0, r.err
    assert _hashes(old) == before
    s = json.loads((scratch / "calibration.json").read_text())
    u = json.loads((tmp_path / "old_update" / "calibration.json").read_text())
    spent_scratch = max(s["simulations"], s["simulations_run"])
    assert u["update"]["simulations"] <= spent_scratch / 2, (u["update"], spent_scratch)
    for key, ref in s["parameters"].items():
        got = u["parameters"][key]
        assert abs(got["mean"] - ref["mean"]) <= 0.5 * ref["sd"], (key, got, ref)
        assert _interval_overlap(got["ci90"], ref["ci90"]) >= 0.7, (key, got["ci90"], ref["ci90"])
        assert ref["ci90"][1] - ref["ci90"][0] < 0.6 * (0.9 - 0.1)  # the data inform it: not the prior back


@pytest.mark.slow
def test_an_update_cut_short_continues_with_resume_and_dir_stays_as_it_was(tmp_path: Path,
                                                                            files: dict[str, Path]) -> None:
    d = _shipped(tmp_path / "cal", files)
    before = _hashes(d)
    assert _update(d, files["new"], "--predictive", "0").code == 0
    out = tmp_path / "cal_update"
    gens = len(json.loads((out / "calibration.json").read_text())["generations"])
    (out / ".resim-complete.json").unlink()  # what a kill after a generation leaves: no completion marker
    assert_one_line_error(_update(out, files["new"]), "unfinished calibration")  # not a DIR to update yet
    r = _update(d, files["new"], "--predictive", "0", "--budget", "350", "--resume")
    assert r.code == 0, r.err
    doc = json.loads((out / "calibration.json").read_text())
    assert len(doc["generations"]) > gens and doc["update"]["bridge_simulations"] == 0  # the bridge was kept
    assert (out / ".resim-complete.json").is_file()
    assert _hashes(d) == before
