"""Notebook-first: what an analyst sees in Jupyter, and an API without papercuts.

The example notebook runs in a fresh kernel (no ``%matplotlib inline``) and
must show its figures, once each; results, sweeps and comparisons show
their KPI tables; the API takes overrides as a dict everywhere, uses every
core by default and refuses an automaker name it does not know, saying
which one was meant.
"""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from nbclient import NotebookClient

import resim
from resim.experiment.replications import cores
from resim.output import notebook
from resim.output.comparison import Comparison
from resim.output.figures.common import new_figure
from resim.output.sweep import SweepResults

from chain_fixtures import ROOT, small_chain

EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def res() -> resim.Results:
    return resim.simulate(small_chain(**{"scenario.replications": 4}), workers=1)


def _formats(obj: object) -> dict[str, object]:
    """What IPython's display machinery makes of ``obj`` (as in a notebook)."""
    data, _ = InteractiveShell.instance().display_formatter.format(obj)
    return data


# ---------------------------------------------------------------- the example notebook
@pytest.mark.slow
def test_quick_look_runs_in_a_fresh_kernel_and_shows_each_figure_once() -> None:
    nb = nbformat.read(EXAMPLES / "quick_look.ipynb", as_version=4)
    assert not any("%matplotlib" in c.source for c in nb.cells if c.cell_type == "code")
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    images = {c.source: sum("image/png" in o.get("data", {}) for o in c.outputs) for c in code}
    plots = {src: n for src, n in images.items() if ".plot_" in src}
    assert plots and all(n == 1 for n in plots.values()), images  # shown, and not twice
    bare = [o for c in code for o in c.outputs if "data" in o and "image/png" not in o["data"]
            and str(o["data"].get("text/plain", "")).startswith("<Figure")]
    assert not bare, bare  # never the text "<Figure size 990x275 with 1 Axes>" instead of a figure
    first = code[0].outputs
    html = [o["data"]["text/html"] for o in first if o.output_type == "execute_result"]
    assert html and "EU automaker" in html[0] and "vehicles lost" in html[0]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in first)  # progress


def test_a_figure_displays_as_png_without_pyplot() -> None:
    fig = new_figure(4, 3)
    fig.add_subplot().plot([0, 1], [1, 0])
    data = _formats(fig)
    assert set(data) >= {"image/png", "text/plain"}
    png = data["image/png"]
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG")


def test_results_show_their_kpi_table(res: resim.Results) -> None:
    summary = res.summary()
    data = _formats(res)
    html = data["text/html"]
    for name in ("EU maker", "JP maker", "CN buyer", "vehicles lost", "P(stockout)"):
        assert name in html
    lo, hi = summary["kpis"]["EU maker"]["fill_rate"]["ci95"]
    assert f"[{100 * lo:.1f}, {100 * hi:.1f}]" in html  # the interval, as the report writes it
    lines = repr(res).splitlines()
    assert lines[0].startswith("<Results of 'small chain': 4 replications") and "EU maker" in repr(res)
    table = lines[1:next(i for i, line in enumerate(lines) if line.startswith("licensing"))]
    assert table and max(len(line) for line in table) <= 80


def test_an_unknown_automaker_is_a_scenario_error_with_a_did_you_mean(res: resim.Results) -> None:
    with pytest.raises(resim.ScenarioError, match='did you mean "EU maker"') as e:
        res.plot_inventory("EU Maker")
    assert "\n" not in str(e.value) and '"JP maker"' in str(e.value)
    with pytest.raises(resim.ScenarioError, match="no automaker of that name"):
        res.plot_lines_stopped("all")
    assert res.plot_inventory("EU maker").axes  # the right name still draws


# ---------------------------------------------------------------- the API
def test_compare_takes_overrides_as_a_dict_like_simulate() -> None:
    src = small_chain(**{"scenario.replications": 3, "scenario.horizon": 150})
    as_dict = resim.compare(src, overrides_b={"licensing.approval_rate": 0.3}, workers=1)
    as_text = resim.compare(src, overrides_b=["licensing.approval_rate=0.3"], workers=1)
    assert isinstance(as_dict, Comparison) and isinstance(as_dict, pd.DataFrame)
    pd.testing.assert_frame_equal(pd.DataFrame(as_dict), pd.DataFrame(as_text))
    assert (as_dict["diff"].abs() > 0).any()  # B really is A with the change
    # a filter is a plain DataFrame; the table itself shows B - A with its interval
    assert type(as_dict[as_dict.metric == "fill_rate"]) is pd.DataFrame
    html = _formats(as_dict)["text/html"]
    assert "B − A [95% CI]" in html and "licensing.approval_rate=0.3" in html
    assert repr(as_dict).startswith("<Comparison B - A")


def test_overrides_merge_in_order_and_keep_their_types() -> None:
    merged = resim.api.merge_overrides({"a.b": 1, "c": "6mo"}, {"a.b": 2})
    assert merged == {"c": "6mo", "a.b": 2} and list(merged) == ["c", "a.b"]
    mixed = resim.api.merge_overrides(["x=1"], {"c": "6mo", "d": [0.5, 1]})
    assert mixed == ["x=1", 'c="6mo"', "d=[0.5, 1]"]
    src = small_chain()
    a = resim.load_scenario(src, resim.api.merge_overrides(["controls.lifetime_days=90"],
                                                           {"controls.lifetime_days": "6mo"}))
    assert a.scenario.controls.lifetime_days == pytest.approx(365.25 / 2)


def test_simulate_uses_every_core_by_default_and_gets_the_same_numbers() -> None:
    src = small_chain(**{"scenario.replications": 4, "scenario.horizon": 120})
    default = resim.simulate(src)
    assert default.workers == min(cores(), 4)
    one = resim.simulate(src, workers=1)
    pd.testing.assert_frame_equal(default.replications, one.replications)


def test_progress_callable_hears_of_every_replication() -> None:
    seen: list[int] = []
    resim.simulate(small_chain(**{"scenario.replications": 3, "scenario.horizon": 60}), workers=1,
                   progress=seen.append)
    assert sum(seen) == 3


def test_a_sweep_shows_its_points_and_a_short_repr(tmp_path: Path) -> None:
    summary = pd.DataFrame({
        "point": [0, 0, 1, 1], "automaker": ["EU maker", "all", "EU maker", "all"],
        "licensing.approval_rate": [0.2, 0.2, 0.8, 0.8],
        **{f"{m}_{s}": [1.0, 2.0, 3.0, 4.0] for m in ("vehicles_lost", "stockout_days", "fill_rate")
           for s in ("mean", "ci_low", "ci_high")},
        "stockout_probability_mean": [0.5] * 4, "stockout_probability_ci_low": [0.1] * 4,
        "stockout_probability_ci_high": [0.9] * 4})
    results = pd.DataFrame({"point": [0, 1], "replication": [0, 0]})
    sw = SweepResults(tmp_path, ["licensing.approval_rate"], pd.DataFrame({"point": [0, 1]}), results,
                      summary, [], 1.0)
    html = _formats(sw)["text/html"]
    assert "0.2" in html and "0.8" in html and "vehicles lost" in html
    assert html.count("<tr>") == 3  # the header and the two points' 'all' rows
    text = repr(sw)
    assert text.startswith("<SweepResults in") and "2 design points x 1 replications" in text
    assert "DataFrame" not in text and len(text.splitlines()) < 30


def test_the_comparison_view_reads_any_column_set() -> None:
    # the view shows what compare() returns today, with n per row when there is one
    df = Comparison({"automaker": ["EU maker", None], "metric": ["fill_rate", "failed"],
                     "n": [4.0, math.nan], "mean_a": [0.9, math.nan], "mean_b": [0.8, math.nan],
                     "diff": [-0.1, math.nan], "ci_low": [-0.15, math.nan], "ci_high": [-0.05, math.nan],
                     "width_ratio": [3.0, math.nan]})
    df.attrs.update(a="a.toml", b="b.toml")
    html = notebook.comparison_html(df)
    assert "-10.0 [-15.0, -5.0]" in html  # fill rate in % points, as the report writes it
    assert "1 replication pair(s) failed" in html and "<td>4</td>" in html
