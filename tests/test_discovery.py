"""Scenario discovery (issue 16): PRIM finds a box planted by construction,
frees a key that does not matter, reads the --where grammar, and
``resim discover`` works on a hand-built sweep folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from resim.experiment.discovery import parse_where
from resim.experiment.prim import prim
from resim.experiment.runfolder import check_complete, write_marker
from resim.experiment.sweeps import summarise
from resim.model.kpis import METRICS
from resim.scenario.errors import ScenarioError

from scenario_helpers import assert_one_line_error, cli


def _planted(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 3))
    x[:, 2] = np.round(x[:, 2] * 10)  # a whole-number key that does not matter
    y = (x[:, 0] < 0.3) & (x[:, 1] > 0.6)
    return x, y ^ (rng.uniform(size=n) < noise)


@pytest.mark.parametrize("n, noise, seed", [(400, 0.0, 1), (600, 0.05, 2), (300, 0.0, 3)])
def test_prim_finds_the_planted_box_and_leaves_the_other_key_free(n: int, noise: float, seed: int) -> None:
    # with 5% of all points flipped, a quarter of the hits fall outside the planted box: ask for 60% coverage
    x, y = _planted(n, noise, seed)
    t = prim(x, y, ["a", "b", "c"])
    # the trajectory only ever trades coverage for density
    assert all(b.mass >= 0.05 - 1e-9 for b in t.boxes)
    assert t.boxes[0].coverage == 1.0 and t.boxes[0].density == pytest.approx(y.mean())
    coverage = 0.6 if noise else 0.8
    box, freed = t.significant(t.boxes[t.choose(coverage)], 0.05)
    assert set(box.restricted) == {0, 1}, (box, freed)  # c is left free (or freed as insignificant)
    assert box.upper[0] == pytest.approx(0.3, abs=0.05) and box.lower[1] == pytest.approx(0.6, abs=0.05)
    assert box.lower[0] == x[:, 0].min() and box.upper[1] == x[:, 1].max()  # one-sided, as planted
    assert box.coverage >= coverage and box.density >= 0.9
    qp = t.quasi_p(box)
    assert max(qp.values()) < 1e-3  # both restrictions matter beyond doubt


def test_prim_without_any_hit_or_with_hits_everywhere_returns_the_whole_box() -> None:
    x, _ = _planted(100, 0.0, 4)
    for y in (np.zeros(100, bool), np.ones(100, bool)):
        t = prim(x, y, ["a", "b", "c"])
        assert len(t.boxes) == 1 and t.boxes[0].restricted == ()


def test_the_where_grammar() -> None:
    c = parse_where("vehicles_lost > 1e5 and fill_rate<=0.95 AND first_stockout_day >= 100_000")
    assert [(x.kpi, x.op, x.value) for x in c] == [("vehicles_lost", ">", 1e5), ("fill_rate", "<=", 0.95),
                                                    ("first_stockout_day", ">=", 100000.0)]
    for bad, fragment in (("vehicles_lost >> 3", "cannot read"), ("vehicle_lost > 3", "is not a KPI"),
                          ("vehicles_lost > 1e999", "finite"), ("vehicles_lost > 3 or fill_rate < 1", "cannot read"),
                          ("", "cannot read")):
        with pytest.raises(ScenarioError, match=fragment) as e:
            parse_where(bad)
        assert "\n" not in str(e.value)


def _sweep_folder(root: Path, n: int = 300) -> None:
    """A finished sweep folder, built by hand: vehicles lost are 200k in the planted box, 20k elsewhere."""
    x, hit = _planted(n, 0.0, 5)
    keys = ["licensing.approval_rate", "controls.lifetime_days", "automakers[EU maker].target_days"]
    points = pd.DataFrame({"point": range(n), keys[0]: x[:, 0], keys[1]: 90 + 275 * x[:, 1], keys[2]: x[:, 2]})
    rows = []
    for i in range(n):
        for r in range(2):
            d = {"point": i, "replication": r, "automaker": "all", "error": None, "seed": f"[7, {r}]",
                 **{m: 1.0 for m in METRICS}}
            d["vehicles_lost"] = 200_000.0 + r if hit[i] else 20_000.0 + r
            d["first_stockout_day"] = 50.0 if hit[i] else np.nan
            rows.append(d)
    results = points.merge(pd.DataFrame(rows), on="point")
    root.mkdir()
    points.to_parquet(root / "points.parquet")
    results.to_parquet(root / "results.parquet")
    summarise(results[["point", "replication", "automaker", *METRICS, "error", "seed"]], points, keys) \
        .to_parquet(root / "summary.parquet")
    (root / "sweep.json").write_text(json.dumps({
        "keys": keys, "sampler": "lhs", "replications": 2, "points": [],
        "scenario": {"scenario": {"name": "hand-built", "horizon": 100.0}}}))
    write_marker(root, "sweep", "complete", units=2 * n, failures=0)


@pytest.mark.slow
def test_discover_on_a_hand_built_sweep_says_the_planted_box_in_words(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    _sweep_folder(root)
    r = cli("discover", str(root), "--where", "vehicles_lost > 100000")
    assert r.code == 0, r.err
    words = " ".join(r.out.split())
    assert "licensing.approval_rate is below 0.3" in words and "controls.lifetime_days is above 2" in words
    assert "Anywhere in its range: automakers[EU maker].target_days" in words
    doc = json.loads((root / "discovery.json").read_text())
    assert doc["box"]["density"] >= 0.95 and doc["box"]["coverage"] >= 0.8
    lim = {d["key"]: d for d in doc["box"]["limits"]}
    assert lim["licensing.approval_rate"]["high"] == pytest.approx(0.3, abs=0.03)
    assert lim["controls.lifetime_days"]["low"] == pytest.approx(90 + 275 * 0.6, abs=15)
    check_complete(root)  # the folder is marked complete again, discovery.json pinned
    html = (root / "report.html").read_text(encoding="utf-8")
    assert "Where it happens (PRIM)" in html and "discovery.png" in html
    assert (root / "plots" / "discovery.png").stat().st_size > 10_000
    # censored first stockout: "no stockout" is the horizon, so a late-stockout condition finds the complement
    r = cli("discover", str(root), "--where", "first_stockout_day > 90", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["hits"] == int((pd.read_parquet(root / "points.parquet").pipe(
        lambda p: ~((p["licensing.approval_rate"] < 0.3) & (p["controls.lifetime_days"] > 255)))).sum())


def test_discover_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    _sweep_folder(root, 60)
    assert_one_line_error(cli("discover", str(root), "--where", "vehicles_lost >> 1"), "--where", "cannot read")
    assert_one_line_error(cli("discover", str(root), "--where", "vehicles_lost > 1", "--automaker", "EU"),
                          "--automaker", "EU")
    assert_one_line_error(cli("discover", str(tmp_path / "nothing"), "--where", "vehicles_lost > 1"),
                          "does not exist")
    assert not (root / "discovery.json").exists()
    check_complete(root)
