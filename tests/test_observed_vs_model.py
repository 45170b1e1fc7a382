"""``resim run --observed``: observed rows beside the model's spread (issue 28 item 4)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from resim.calibration.observed_vs_model import COLUMNS
from resim.scenario.tomlwriter import dumps

from chain_fixtures import small_chain
from scenario_helpers import assert_one_line_error, cli

#: Runs of whole scenarios, several replications each: out of the edit-test loop.
pytestmark = pytest.mark.slow


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


def test_rows_the_run_cannot_produce_are_left_out_and_counted_and_bad_rows_still_refused(tmp_path: Path) -> None:
    src = _chain(tmp_path)  # 150 days from its start, no [markets], destinations DE and US
    ok, out = ("exports.magnet.CN.all", "2025-06", 1.0), tmp_path / "o"
    elsewhere = [("exports.magnet.CN.BR", "2025-06", 10.0),  # no Brazilian buyer
                 ("exports.magnet.CN.all", "2025-12", 10.0),  # after the last simulated day
                 ("price.Dy_oxide.europe_ask", "2025-06", 900.0)]  # no [markets]
    res = cli("run", str(src), "--workers", "1", "--out", str(out),
              "--observed", str(_observed(tmp_path, [ok, *elsewhere])))
    assert res.code == 0, res.err
    table = pd.read_parquet(out / "observed_vs_model.parquet")
    assert list(table["series"]) == ["exports.magnet.CN.all"] and list(table["period"]) == ["2025-06"]
    assert "3 rows left out (not produced by this scenario)" in res.err
    # nothing this run can produce: refused before anything runs
    none = _observed(tmp_path, elsewhere)
    res = cli("run", str(src), "--workers", "1", "--out", str(tmp_path / "r"), "--observed", str(none))
    assert_one_line_error(res, str(none), "no row is produced by this scenario")
    assert not (tmp_path / "r").exists()
    # a malformed row is still an error, produced or not
    bad = _observed(tmp_path, [ok, ("exports.magnet.CN.all", "2025-07", -5.0)])
    res = cli("run", str(src), "--workers", "1", "--out", str(tmp_path / "b"), "--observed", str(bad))
    assert_one_line_error(res, str(bad), "value")
    assert not (tmp_path / "b").exists()


def _fans_rows(tmp_path: Path) -> list[tuple[str, str, float]]:
    return [("exports.magnet.CN.all", "2025-05", 500.0), ("exports.magnet.CN.all", "2025-06", 1e9),
            ("share_stopped.EU maker", "2025-06", 0.0)]


def test_the_fans_are_each_whole_months_spread_of_the_flows_and_the_report_draws_them(tmp_path: Path) -> None:
    import numpy as np

    import resim
    from resim.calibration.observed_vs_model import FAN_COLUMNS

    src = _chain(tmp_path)
    res = resim.simulate(src, workers=1, progress=False, out=tmp_path / "o",
                         observed=_observed(tmp_path, _fans_rows(tmp_path)))
    fans = res.extra_tables["observed_fans"]
    assert list(fans.columns) == FAN_COLUMNS
    # every whole month of the 150 days from 2025-04-04 (May-Aug), for each path series named
    assert sorted(set(fans["series"])) == ["exports.magnet.CN.all", "share_stopped.EU maker"]
    exports = fans[fans["series"] == "exports.magnet.CN.all"].set_index("period")
    assert list(exports.index) == ["2025-05", "2025-06", "2025-07", "2025-08"]
    # the fan is the spread of the flows table's monthly totals leaving China (an independent sum)
    fl = res.flows
    out = fl[(fl["origin"] == "CN") & (fl["destination"] != "CN") & (fl["product"] == "magnet")]
    for month, row in exports.iterrows():
        per_rep = out[out["month"].astype(str) == month].groupby("replication")["tonnes"].sum()
        per_rep = per_rep.reindex(range(12), fill_value=0.0)
        assert np.allclose([row["p5"], row["p50"], row["p95"]], np.percentile(per_rep, [5, 50, 95]))
    assert ((fans["p5"] <= fans["p25"]) & (fans["p25"] <= fans["p50"]) & (fans["p50"] <= fans["p75"])
            & (fans["p75"] <= fans["p95"])).all()
    # the band of an observed month is the observed_vs_model row's band
    table = res.extra_tables["observed_vs_model"].set_index("period")
    assert np.isclose(table.loc["2025-05", "p50"], exports.loc["2025-05", "p50"])
    assert (tmp_path / "o" / "observed_fans.parquet").exists() and (tmp_path / "o" / "plots" / "observed.png").exists()
    assert "observed.png" in (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert len([a for a in res.plot_fans().axes if a.get_ylabel()]) == 2


def test_plot_fans_measures_a_file_given_later_and_asks_for_one_when_none_was_set(tmp_path: Path) -> None:
    import resim
    from resim.scenario.errors import ScenarioError

    src = _chain(tmp_path)
    plain = resim.simulate(src, workers=1, progress=False)
    with pytest.raises(ScenarioError, match="observed"):
        plain.plot_fans()
    fig = plain.plot_fans(observed=_observed(tmp_path, _fans_rows(tmp_path)))
    assert "of 3 inside" in fig.axes[0].get_title()
    with pytest.raises(ScenarioError, match="no row is produced by this scenario"):
        plain.plot_fans(observed=_observed(tmp_path, [("exports.magnet.CN.BR", "2025-06", 10.0)]))
