"""``resim run --observed``: observed rows beside the model's spread (issue 28 item 4)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from resim.calibration.observed_vs_model import COLUMNS
from resim.scenario.tomlwriter import dumps

from chain_fixtures import small_chain
from scenario_helpers import assert_one_line_error, cli


def _chain(tmp_path: Path) -> Path:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.replications": 12, "scenario.horizon": 150})))
    return src


def _observed(tmp_path: Path, rows: list[tuple[str, str, float]]) -> Path:
    f = tmp_path / "observed.csv"
    f.write_text("series,period,value\n" + "".join(f"{s},{p},{v}\n" for s, p, v in rows))
    return f


def test_a_row_at_the_model_median_is_inside_at_the_50th_percentile_and_far_rows_are_outside(tmp_path: Path) -> None:
    src = _chain(tmp_path)
    rows = [("exports.magnet.CN.all", "2025-06", 1e9), ("exports.magnet.CN.DE", "2025-07", 0.0)]
    first = cli("run", str(src), "--workers", "1", "--out", str(tmp_path / "a"),
                "--observed", str(_observed(tmp_path, rows)))
    assert first.code == 0, first.err
    table = pd.read_parquet(tmp_path / "a" / "observed_vs_model.parquet")
    assert list(table.columns) == COLUMNS and len(table) == 2
    assert not table["inside"].iloc[0] and table["percentile"].iloc[0] == 100.0  # above every replication
    lowest = table.iloc[1]  # nothing exported: at or below every replication
    assert lowest["percentile"] <= 50.0 and lowest["inside"] == (lowest["p5"] == 0.0)
    assert (table["p5"] <= table["p50"]).all() and (table["p50"] <= table["p95"]).all()
    assert f"observed: {int(table['inside'].sum())} of 2 rows inside" in first.err
    # the same replications (same seed): the model's own median sits inside, near the 50th percentile
    median = float(table["p50"].iloc[0])
    again = cli("run", str(src), "--workers", "1", "--out", str(tmp_path / "b"),
                "--observed", str(_observed(tmp_path, [("exports.magnet.CN.all", "2025-06", median)])))
    assert again.code == 0, again.err
    row = pd.read_parquet(tmp_path / "b" / "observed_vs_model.parquet").iloc[0]
    assert row["inside"] and 35.0 <= row["percentile"] <= 65.0 and row["replications"] == 12


def test_a_row_the_scenario_cannot_produce_is_refused_before_anything_runs(tmp_path: Path) -> None:
    src = _chain(tmp_path)
    bad = _observed(tmp_path, [("exports.magnet.CN.BR", "2025-06", 10.0)])
    res = cli("run", str(src), "--workers", "1", "--out", str(tmp_path / "r"), "--observed", str(bad))
    assert_one_line_error(res, str(bad))
    assert not (tmp_path / "r").exists()
