"""Dated forks as named branches of one scenario (issue 28 item 2): every
branch runs with the scenario's seed, so before the fork the branches'
record tables are identical and after it they differ by the branch's
changes only; a plain run writes the default branch to the standard files
and every branch to ``branches/<name>/``."""

from __future__ import annotations

import copy
import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import resim
from resim.scenario import build_timeline, with_values
from resim.scenario.tomlwriter import dumps

from chain_fixtures import SCENARIOS, small_chain
from scenario_helpers import assert_one_line_error, cli

FORK = 100.0


def forked(default: str = "closed", **changes: Any) -> dict[str, Any]:
    """The small chain forking on day 100: reviews keep approving ("open",
    no change) or approve nothing from then on ("closed")."""
    d = small_chain(**{"scenario.replications": 3, "scenario.horizon": 200, **changes})
    d["scenario"]["default_branch"] = default
    d["branch"] = [{"name": "open", "note": "nothing changes"},
                   {"name": "closed", "policy": [{"day": FORK, "set": {"licensing.approval_rate": 0.0}}]}]
    return d


def _before(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame[frame[column] < FORK].reset_index(drop=True)


@pytest.fixture(scope="module")
def forked_run() -> Any:
    return resim.simulate(forked(), workers=1, progress=False)


def test_branches_share_every_record_before_the_fork_and_differ_after_it_by_the_change_only(forked_run: Any) -> None:
    res = forked_run
    assert list(res.branches) == ["open", "closed"] and res.branches["closed"] is res
    op, cl = res.branches["open"], res.branches["closed"]
    # common random numbers: identical daily rows and decisions until the fork
    pd.testing.assert_frame_equal(_before(op.timeseries, "day"), _before(cl.timeseries, "day"))
    pd.testing.assert_frame_equal(_before(op.licences, "decided_day"), _before(cl.licences, "decided_day"))
    assert not op.timeseries.equals(cl.timeseries)
    # after it: the closed branch approves nothing, the open one keeps approving
    late_cl = cl.licences[cl.licences.decided_day >= FORK]
    late_op = op.licences[op.licences.decided_day >= FORK]
    assert len(late_cl) and set(late_cl.outcome) <= {"rejected"}
    assert (late_op.outcome == "approved").any()
    # the direction of the effect: fewer magnets arrive, so no fewer vehicles are lost
    lost = {name: r.summary()["kpis"]["all"]["vehicles_lost"]["mean"] for name, r in res.branches.items()}
    assert lost["closed"] >= lost["open"]
    assert [e for e in cl.summary()["events"] if e["kind"] == "policy"][0]["day"] == FORK
    assert not [e for e in op.summary()["events"] if e["kind"] == "policy"]
    assert cl.summary()["branch"] == "closed" and op.summary()["branch"] == "open"
    assert cl.summary()["branches"] == ["open", "closed"]


def test_the_default_branch_is_the_plain_run_and_a_set_chooses_another(forked_run: Any) -> None:
    other = resim.simulate(forked(default="open"), workers=1, progress=False)
    assert other.branches["open"] is other
    pd.testing.assert_frame_equal(other.timeseries, forked_run.branches["open"].timeseries)
    pd.testing.assert_frame_equal(other.branches["closed"].timeseries, forked_run.timeseries)


def test_a_scenario_without_branches_has_none_and_its_timeline_is_unchanged() -> None:
    d = small_chain(**{"scenario.replications": 1, "scenario.horizon": 60})
    res = resim.simulate(d, workers=1, progress=False)
    assert res.branches == {}
    assert "branch" not in res.summary() and "branches" not in res.summary()
    assert resim.load_scenario(d).timeline == ()


@pytest.mark.slow
def test_a_branched_run_folder_holds_the_default_branch_and_every_branch(tmp_path: Path) -> None:
    src = tmp_path / "fork.toml"
    src.write_text(dumps(forked(**{"scenario.replications": 2, "scenario.horizon": 150})))
    out = tmp_path / "out"
    res = cli("run", str(src), "--out", str(out), "--workers", "1", "--quiet")
    assert res.code == 0, res.err
    assert sorted(p.name for p in (out / "branches").iterdir()) == ["closed", "open"]
    for name in ("open", "closed"):
        assert (out / "branches" / name / "summary.json").is_file()
        assert (out / "branches" / name / "report.html").is_file()
    pd.testing.assert_frame_equal(pd.read_parquet(out / "timeseries.parquet"),
                                  pd.read_parquet(out / "branches" / "closed" / "timeseries.parquet"))
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<h2>Branches</h2>" in page and "not weighted outcomes" in page
    for name in ("open", "closed"):
        assert f'data-automaker="{name}"' in page
    assert list((out / "plots").glob("branches_*.png"))
    # rebuilt from the folder alone, the section is still there
    assert cli("report", str(out)).code == 0
    assert "<h2>Branches</h2>" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_run_folder_without_branches_has_no_branches_folder(tmp_path: Path) -> None:
    src = tmp_path / "plain.toml"
    src.write_text(dumps(small_chain(**{"scenario.replications": 1, "scenario.horizon": 60})))
    out = tmp_path / "out"
    assert cli("run", str(src), "--out", str(out), "--workers", "1", "--quiet").code == 0
    assert not (out / "branches").exists()
    assert "<h2>Branches</h2>" not in (out / "report.html").read_text(encoding="utf-8")


def _broken(tmp_path: Path, change: Any) -> Path:
    d = forked()
    change(d)
    src = tmp_path / "bad.toml"
    src.write_text(dumps(d))
    return src


@pytest.mark.parametrize(("change", "fragments"), [
    (lambda d: d["scenario"].update(default_branch="lapsed"),
     ("bad.toml", "scenario.default_branch", "no branch of that name", '"open", "closed"', 'got "lapsed"')),
    (lambda d: d["scenario"].pop("default_branch"), ("bad.toml", "scenario.default_branch", '"open"')),
    (lambda d: d["branch"].append({"name": "open"}), ("bad.toml", "branch[2].name", "unique", 'got "open"')),
    (lambda d: d["branch"][0].update(policy=[{"day": 5, "set": {"licensing.aproval_rate": 0.3}}]),
     ("bad.toml", "branch[0].policy[0].set", "aproval_rate", 'did you mean "approval_rate"')),
    (lambda d: d["branch"][1]["policy"][0]["set"].update({"licensing.approval_rate": 2.0}),
     ("bad.toml", "branch[1].policy[0].set", "licensing.approval_rate", "2")),
    (lambda d: d["branch"][0].update(policy=[{"day": 5, "set": {"scenario.seed": 3}}]),
     ("bad.toml", 'branch[0].policy[0].set."scenario.seed"', "cannot change scenario")),
    (lambda d: d.update(policy=[{"day": 5, "set": {"branch[0].name": "x"}}]),
     ("bad.toml", "policy[0].set", "cannot change branch")),
    (lambda d: d.pop("branch"), ("bad.toml", "scenario.default_branch", "no [[branch]]", 'got "closed"')),
    (lambda d: d["branch"][0].update(name="a/b"), ("bad.toml", ".name", "branches/<name>/", 'got "a/b"')),
])
def test_bad_branches_are_one_line_errors_naming_file_key_and_value(tmp_path: Path, change: Any,
                                                                    fragments: tuple[str, ...]) -> None:
    assert_one_line_error(cli("validate", str(_broken(tmp_path, change))), *fragments)


def test_a_branch_is_the_same_scenario_with_another_default() -> None:
    loaded = resim.load_scenario(forked())
    forks = resim.scenario.branch_scenarios(loaded)
    assert list(forks) == ["open", "closed"] and forks["closed"] is loaded
    assert forks["open"].timeline == () and forks["open"].scenario.scenario.seed == loaded.scenario.scenario.seed
    assert [s.path for s in loaded.timeline] == ["branch[1].policy[0]"]
    same = copy.deepcopy(forked(default="open"))
    assert resim.load_scenario(same).scenario == forks["open"].scenario


def test_the_shipped_fork_shares_everything_until_the_lapse_and_only_the_lapse_hurts_the_dy_free_buyer() -> None:
    res = resim.simulate(SCENARIOS / "suspension_fork_2026.toml", replications=2, workers=1, progress=False)
    ext, lap = res.branches["extended"], res.branches["lapsed"]
    assert res is lap
    fork = float((date(2026, 11, 10) - res.start_date).days)
    pd.testing.assert_frame_equal(ext.timeseries[ext.timeseries.day < fork].reset_index(drop=True),
                                  lap.timeseries[lap.timeseries.day < fork].reset_index(drop=True))
    # the lapsed branch is october_2025_expansion.toml, whose third policy is the lapse
    whole = resim.simulate(SCENARIOS / "october_2025_expansion.toml", replications=2, workers=1, progress=False)
    pd.testing.assert_frame_equal(whole.timeseries, lap.timeseries)
    pd.testing.assert_frame_equal(whole.licences, lap.licences)
    buyer = "EU industry (Dy-free magnets)"
    days = {name: r.replications.set_index(["automaker", "replication"]).stockout_days.loc[buyer]
            for name, r in res.branches.items()}
    # the Ho-bearing magnets need a licence only in the lapsed branch
    assert (days["lapsed"] >= days["extended"]).all() and days["lapsed"].sum() > days["extended"].sum()


def test_the_notebook_shows_every_branch_and_draws_them_side_by_side(forked_run: Any) -> None:
    text = repr(forked_run)
    assert "open:" in text and "closed (default):" in text and "not weighted" in text
    fig = forked_run.plot_branches("EU maker")
    labels = [t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()]
    assert any(lbl.startswith("open") for lbl in labels) and any(lbl.startswith("closed") for lbl in labels)
    with pytest.raises(resim.ScenarioError):
        resim.simulate(small_chain(**{"scenario.replications": 1, "scenario.horizon": 30}), workers=1,
                       progress=False).plot_branches("EU maker")


@dataclasses.dataclass(frozen=True)
class _Draws:
    """Parameter draws as ``--posterior`` hands them in: an approval rate per replication."""

    source: str = "fake posterior"
    keys: tuple[str, ...] = ("licensing.approval_rate",)

    @staticmethod
    def rate(replication: int) -> float:
        return 0.3 + 0.2 * (replication % 3)

    def scenario_for(self, loaded: Any, replication: int) -> Any:
        scn = with_values(loaded.scenario, {"licensing.approval_rate": self.rate(replication)})
        return dataclasses.replace(loaded, scenario=scn, timeline=build_timeline(scn, self.source), draws=None)

    def drawn(self, seed: int, replications: Any) -> pd.DataFrame:
        return pd.DataFrame({"replication": list(replications),
                             "licensing.approval_rate": [self.rate(r) for r in replications]})

    def describe(self) -> dict[str, Any]:
        return {"directory": self.source, "parameters": list(self.keys), "particles": 3}


def test_under_parameter_draws_every_branch_draws_the_same_values_and_keeps_its_own_changes() -> None:
    loaded = dataclasses.replace(resim.load_scenario(forked()), draws=_Draws())
    res = resim.simulate(loaded, workers=1, progress=False)
    op, cl = res.branches["open"], res.branches["closed"]
    pd.testing.assert_series_equal(op.replications["licensing.approval_rate"], cl.replications["licensing.approval_rate"])
    pd.testing.assert_frame_equal(_before(op.timeseries, "day"), _before(cl.timeseries, "day"))
    late = cl.licences[cl.licences.decided_day >= FORK]
    assert len(late) and (late.outcome == "rejected").all()  # the branch's change on top of each draw
    assert (op.licences[op.licences.decided_day >= FORK].outcome == "approved").any()


def test_a_sweep_over_the_default_branch_runs_each_branch_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    d = forked(**{"scenario.replications": 2})
    d["sweep"] = {"grid": {"scenario.default_branch": ["open", "closed", "nope"]}, "replications": 2}
    with pytest.raises(resim.ScenarioError) as e:
        resim.load_scenario(d)
    assert 'sweep.grid."scenario.default_branch"' in str(e.value) and '"nope"' in str(e.value)
    d["sweep"]["grid"]["scenario.default_branch"] = ["open", "closed"]
    s = resim.sweep(d, workers=1, report=False, out=tmp_path / "sweep").summary
    lost = s[s.automaker == "all"].set_index("scenario.default_branch").vehicles_lost_mean
    assert lost["closed"] >= lost["open"]
