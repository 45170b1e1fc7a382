"""Figures, the self-contained HTML report and the terminal tables of a run or a sweep."""

from __future__ import annotations

import base64
import io
import json
import math
import re
import subprocess
import sys
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure
from rich.console import Console

import resim
from resim.output import console, console_experiments, figures
from resim.output.figures import licences as licence_figures
from resim.output.figures.common import save_figure
from resim.output.figures.sweep import report_figures
from resim.output.formatting import MISSING, compact, format_number
from resim.output.report import report_command, write_report, write_sweep_report
from resim.output.rundata import RunData, load_run

from chain_fixtures import ROOT, SCENARIOS, small_chain

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DATA_PNG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
EXTERNAL = re.compile(r"""(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def build_run_dir(out: Path, replications: int = 4) -> Path:
    """The reference scenario, run small and written to ``out``."""
    res = resim.simulate(SCENARIOS / "six_month_licences.toml", replications=replications, workers=1)
    res.write(out)
    return out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_run_dir(tmp_path_factory.mktemp("six_month"))


@pytest.fixture(scope="module")
def office_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A licensing-only scenario (no supply chain) with a policy change."""
    scn = {
        "scenario": {"name": "review office", "start_date": "2025-04-04", "horizon": 150,
                     "replications": 3, "seed": 3},
        "controls": {"licence_mode": "general"},
        "licensing": {"approval_rate": 0.5, "background": {"applications_per_day": 3},
                      "stages": [{"name": "technical", "reviewers": 60,
                                  "duration": {"dist": "exponential", "mean": 15}},
                                 {"name": "issuance", "reviewers": "inf",
                                  "duration": {"dist": "uniform", "low": 2, "high": 5}}]},
        "policy": [{"date": "2025-06-01", "set": {"licensing.approval_rate": 0.8}}],
    }
    out = tmp_path_factory.mktemp("office")
    resim.simulate(scn, workers=1).write(out)
    return out


def assert_png_has_content(data: bytes) -> None:
    assert data.startswith(PNG_SIGNATURE)
    img = mpimg.imread(io.BytesIO(data), format="png")
    assert img.shape[0] > 200 and img.shape[1] > 400
    rgb = img[..., :3]
    assert float(rgb.std()) > 0.05, "image is (nearly) a single colour"
    # more than background and one ink: a chart has many distinct colours
    q = (rgb * 255).astype(np.uint32)
    assert np.unique(q[..., 0] << 16 | q[..., 1] << 8 | q[..., 2]).size > 20


class Cells(HTMLParser):
    """Collects KPI cells (data-automaker, data-metric, data-mean) and their first line."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], dict[str, str]] = {}
        self._cell: dict[str, str] | None = None
        self._in_mean = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "td" and "data-metric" in a and "data-mean" in a:
            self._cell = {"mean": a["data-mean"] or "", "text": ""}
            self.cells[(a["data-automaker"] or "", a["data-metric"] or "")] = self._cell
        elif tag == "span" and a.get("class") == "mean" and self._cell is not None:
            self._in_mean = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._in_mean = False
        elif tag == "td":
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._in_mean and self._cell is not None:
            self._cell["text"] += data


# ---------------------------------------------------------------- run figures
@pytest.mark.slow
def test_save_run_plots_writes_legible_pngs(run_dir: Path) -> None:
    paths = figures.save_run_plots(run_dir, run_dir)
    assert len(paths) >= 4
    assert all(p.parent == run_dir / "plots" and p.suffix == ".png" for p in paths)
    names = {p.stem for p in paths}
    assert {"vehicles_lost", "licence_pipeline", "licence_decisions", "flows",
            "inventory_eu_automaker", "inventory_us_automaker", "inventory_japan_automaker"} <= names
    for p in paths:
        assert_png_has_content(p.read_bytes())


@pytest.mark.slow
def test_figures_from_results_match_figures_from_files(run_dir: Path) -> None:
    res = resim.simulate(SCENARIOS / "six_month_licences.toml", replications=2, workers=1)
    from_results = [p.name for p in figures.run_figures(res)]
    from_files = [p.name for p in figures.run_figures(run_dir)]
    assert from_results == from_files


@pytest.mark.slow
def test_every_figure_has_title_labels_and_date_axis(run_dir: Path) -> None:
    for plot in figures.run_figures(run_dir):
        fig = plot.figure
        assert isinstance(fig, Figure)
        axes = [ax for ax in fig.axes if ax.get_visible()]
        assert any(ax.get_title() for ax in axes), plot.name
        assert all(ax.get_ylabel() for ax in axes), plot.name
        assert any(ax.get_xlabel() for ax in axes), plot.name
        assert re.search(r"\((t|vehicles|count|%|t per month)\)|\(t\)", " ".join(
            ax.get_ylabel() + ax.get_xlabel() for ax in axes)), plot.name
        if plot.name != "vehicles_lost":  # time axes show months and the year
            fig.canvas.draw()
            ticks = " ".join(t.get_text() for t in axes[-1].get_xticklabels())
            assert re.search(r"\b20\d\d\b", ticks) and re.search(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b", ticks), (plot.name, ticks)


def test_inventory_fan_marks_policy_changes() -> None:
    scn = small_chain(scenario__replications=2)
    scn["policy"] = [{"date": "2025-06-01", "set": {"licensing.approval_rate": 0.9}}]
    res = resim.simulate(scn, workers=1)
    fig = figures.inventory_fan(res, "EU maker")
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("approval rate → 0.9" in t for t in texts)
    top = fig.axes[0]
    labels = top.get_legend_handles_labels()[1]
    assert {"median", "5–95% of replications", "policy change", "stockout (0 t)"} <= set(labels)
    assert top.get_ylabel() == "magnet inventory (t)"


def test_licence_pipeline_counts_applications_in_review() -> None:
    # Replication 0: a file in review over [0.5, 5.5): two technical visits of 1 day, sent
    # back in between (2 days with the exporter), then 1 day of security.
    # Replication 1: a file pending at the horizon (day 6): 2 days in technical from day 1,
    # then 3 days with the exporter.
    lic = pd.DataFrame({
        "replication": [0, 1], "kind": ["general"] * 2,
        "submitted_day": [0.5, 1.0], "decided_day": [5.5, np.nan], "outcome": ["approved", "pending"],
        "wait_technical": [0.0, 1.0], "service_technical": [2.0, 1.0],
        "wait_security": [0.0, 0.0], "service_security": [1.0, 0.0],
        "visits_technical": [2, 1], "visits_security": [1, 0],
    })
    run = RunData(title="t", start_date=date(2025, 1, 1), horizon_days=6.0,
                        replications=[0, 1], kpis=pd.DataFrame(), timeseries=pd.DataFrame(),
                        licences=lic, flows=pd.DataFrame(), summary={},
                        scenario={"licensing": {"rework": {"stage": "technical"}}})
    days, by_kind, by_stage = licence_figures.pipeline(run)
    assert list(days) == [0, 1, 2, 3, 4, 5]
    assert by_kind["general"].tolist() == [[0, 1, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1]]
    assert by_stage["technical"].tolist() == [0.0, 1.0, 0.5, 0.0, 0.5, 0.0]
    assert by_stage[licence_figures.REWORK].tolist() == [0.0, 0.0, 0.5, 1.0, 0.5, 0.5]
    assert by_stage["security"].tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, 0.5]
    # the stages split the files in review, nothing lost or counted twice
    assert np.allclose(sum(by_stage.values()), by_kind["general"].mean(axis=0))


@pytest.mark.slow
def test_licensing_only_scenario_gets_only_licence_plots(office_dir: Path) -> None:
    paths = figures.save_run_plots(office_dir, office_dir)
    assert sorted(p.stem for p in paths) == ["licence_decisions", "licence_pipeline"]
    for p in paths:
        assert_png_has_content(p.read_bytes())
    html = write_report(office_dir).read_text(encoding="utf-8")
    assert len(DATA_PNG.findall(html)) == 2
    assert "no automakers" in html
    assert "2025-06-01" in html and "licensing.approval_rate" in html  # policy table


@pytest.mark.slow
def test_stale_plots_of_an_earlier_run_are_removed(tmp_path: Path, office_dir: Path) -> None:
    (tmp_path / "plots").mkdir()
    stale = tmp_path / "plots" / "inventory_gone_automaker.png"
    stale.write_bytes(b"old")
    mine = tmp_path / "plots" / "notes.png"
    mine.write_bytes(b"user's own file")
    figures.save_run_plots(office_dir, tmp_path)
    assert not stale.exists() and mine.exists()


# ---------------------------------------------------------------- run report
@pytest.mark.slow
def test_report_is_self_contained_and_matches_summary(run_dir: Path) -> None:
    path = write_report(run_dir)
    assert path == run_dir / "report.html"
    html = path.read_text(encoding="utf-8")
    summary = json.loads((run_dir / "summary.json").read_text())

    images = DATA_PNG.findall(html)
    assert len(images) >= 4
    assert len(images) == html.count("<img ")
    for b64 in images:
        assert_png_has_content(base64.b64decode(b64, validate=True))
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert re.findall(r"<script[^>]*>", html) == ["<script>"]  # only the inline counter

    # plain-words inputs a reader needs without the scenario file
    for words in ("2025-04-04", "365.25 days", "4 replications", "general", "182.625 days",
                  "60% of decided applications approved", "technical", "300", "working days",
                  "10 applications per day", "EU automaker", "75 days", "JL MAG", "How to read this"):
        assert words in html, words

    cells = Cells()
    cells.feed(html)
    start = date.fromisoformat(summary["start_date"])
    checked = 0
    for name, block in summary["kpis"].items():
        for metric in ("vehicles_lost", "shortfall_t", "stockout_days", "first_stockout_day",
                       "longest_stoppage_days", "fill_rate", "stockout_probability"):
            mean = block[metric]["mean"]
            if mean is None:
                continue
            cell = cells.cells[(name, metric)]
            assert float(cell["mean"]) == mean  # the exact number is in the page
            shown = cell["text"].strip()
            if metric == "first_stockout_day":
                assert shown == str(start + timedelta(days=math.floor(mean)))
                continue
            value = float(shown.replace(",", ""))
            expected = 100 * mean if metric == "fill_rate" else mean
            decimals = len(shown.split(".")[1]) if "." in shown else 0
            # equal to the precision shown (at least four significant figures)
            tol = max(0.5 * 10.0 ** -decimals, 5e-4 * abs(expected)) + 1e-9
            assert abs(value - expected) <= tol, (name, metric, shown, expected)
            checked += 1
    assert checked >= 4 * 6

    lic = summary["licensing"]
    assert f"{lic['applications']['mean']:.1f}" in html
    assert f"{100 * lic['approved_share']['mean']:.0f}%" in html
    assert f"{lic['decision_days']['mean']:.1f}" in html


@pytest.mark.slow
def test_report_is_rebuilt_from_files_alone(run_dir: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in run_dir.iterdir():
        if f.is_file() and f.name != "report.html":
            (copy / f.name).write_bytes(f.read_bytes())
    assert report_command(str(copy)) == 0
    assert capsys.readouterr().out.strip() == str(copy / "report.html")
    assert (copy / "report.html").is_file()
    assert len(list((copy / "plots").glob("*.png"))) >= 4


def test_report_command_on_a_bad_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_command(str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "summary.json" in err and "Traceback" not in err
    assert report_command(str(tmp_path / "missing")) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()


@pytest.mark.slow
def test_text_is_escaped(tmp_path: Path) -> None:
    scn = small_chain(scenario__replications=2, scenario__name="<b>A & B</b>")
    scn["scenario"]["description"] = '<script>alert("x")</script>'
    scn["automakers"][0]["name"] = "EU <maker>"
    resim.simulate(scn, workers=1).write(tmp_path)
    html = write_report(tmp_path).read_text(encoding="utf-8")
    assert "<b>A" not in html and "&lt;b&gt;A &amp; B&lt;/b&gt;" in html
    assert "<script>alert" not in html and "EU &lt;maker&gt;" in html


@pytest.mark.slow
def test_automakers_whose_names_slug_alike_each_get_their_own_figure(tmp_path: Path) -> None:
    scn = small_chain(scenario__replications=2)
    scn["automakers"][1]["name"] = "EU-maker"  # slugs as "EU maker" does: eu_maker
    resim.simulate(scn, workers=1).write(tmp_path)
    fans = sorted(p.name for p in (tmp_path / "plots").glob("inventory_*.png"))
    assert fans == ["inventory_cn_buyer.png", "inventory_eu_maker.png", "inventory_eu_maker_2.png"]
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    shown = {stem: (alt, base64.b64decode(data)) for stem, data, alt in re.findall(
        r'<figure id="fig-([^"]+)"><img src="data:image/png;base64,([^"]+)" alt="([^"]*)"', html)}
    run = load_run(tmp_path)
    own = {}
    for name, stem in (("EU maker", "inventory_eu_maker"), ("EU-maker", "inventory_eu_maker_2")):
        alt, png = shown[stem]
        assert alt.startswith(f"{name}:")
        assert png == (tmp_path / "plots" / f"{stem}.png").read_bytes()
        # the page shows the figure drawn for this automaker, not its namesake's
        own[name] = save_figure(figures.inventory_fan(run, name), tmp_path / f"{stem}.png").read_bytes()
        assert png == own[name]
    assert own["EU maker"] != own["EU-maker"]


@pytest.mark.slow
def test_templates_escape_markup_in_names(tmp_path: Path) -> None:
    scn = small_chain(scenario__replications=2, scenario__name='<script>alert("name")</script>')
    scn["automakers"][0]["name"] = "<script>evil()</script>"
    scn["policy"] = [{"date": "2025-06-01", "set": {"licensing.approval_rate": 0.9},
                      "note": "<img src=x onerror=alert(1)>"}]
    resim.simulate(scn, workers=1).write(tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert re.findall(r"<script[^>]*>", html) == ["<script>"]  # only the page's own counter
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;evil()&lt;/script&gt;" in html
    assert "<title>&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;: resim report</title>" in html
    cells = Cells()
    cells.feed(html)  # as text the names are intact, e.g. in the KPI table's attributes
    assert ("<script>evil()</script>", "vehicles_lost") in cells.cells


def test_templates_and_stylesheet_ship_as_package_data() -> None:
    import fnmatch
    import tomllib

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["resim.output"]
    files = [p.relative_to(ROOT / "resim" / "output").as_posix()
             for p in (ROOT / "resim" / "output" / "templates").iterdir()]
    assert {"templates/base.html.j2", "templates/run.html.j2", "templates/sweep.html.j2",
            "templates/report.css"} <= set(files)
    for f in files:
        assert any(fnmatch.fnmatch(f, pat) for pat in patterns), f"{f} would not be installed"


@pytest.mark.slow
def test_no_pyplot_state() -> None:
    code = ("import sys, pandas as pd; from resim.output import figures, report; "
            "s = pd.DataFrame({'k': [1, 2], 'automaker': ['all'] * 2, 'm_mean': [1.0, 2.0]}); "
            "figures.sweep_lines(s, 'k', 'm'); assert 'matplotlib.pyplot' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


# ---------------------------------------------------------------- sweeps
def sweep_summary(keys: dict[str, list[float]]) -> pd.DataFrame:
    """A hand-built sweep summary: one row per design point x automaker."""
    grid = pd.MultiIndex.from_product(list(keys.values()), names=list(keys)).to_frame(index=False)
    rows = []
    for i, point in grid.iterrows():
        for who, scale in (("all", 3.0), ("EU maker", 1.0)):
            mean = scale * 1000.0 * (1 + i)
            rows.append({"point": i, **point.to_dict(), "automaker": who,
                         "vehicles_lost_mean": mean, "vehicles_lost_ci_low": 0.8 * mean,
                         "vehicles_lost_ci_high": 1.2 * mean,
                         "stockout_probability": min(1.0, 0.1 * i),
                         "stockout_probability_ci_low": 0.0, "stockout_probability_ci_high": 1.0})
    return pd.DataFrame(rows)


def test_sweep_heatmap_annotates_every_cell() -> None:
    s = sweep_summary({"licensing.approval_rate": [0.2, 0.6, 1.0], "controls.lifetime_days": [90, 180]})
    fig = figures.sweep_heatmap(s, "licensing.approval_rate", "controls.lifetime_days", "vehicles_lost")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    for mean in s[s["automaker"] == "all"]["vehicles_lost_mean"]:
        assert compact(mean) in texts
    assert ax.get_xlabel() == "licensing.approval_rate (share)"
    assert ax.get_ylabel() == "controls.lifetime_days (days)"
    assert "vehicles" in fig.axes[1].get_ylabel()  # colour bar with units
    assert_png_has_content(_png(fig))
    fig = figures.sweep_heatmap(s, "licensing.approval_rate", "controls.lifetime_days",
                              "stockout_probability", automaker="EU maker")
    assert "EU maker" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="automaker"):
        figures.sweep_heatmap(s, "licensing.approval_rate", "controls.lifetime_days",
                            "vehicles_lost", automaker="nobody")
    three = sweep_summary({"a_rate": [0.2, 0.6], "b_days": [90, 180], "c": [1, 2]})
    with pytest.raises(ValueError, match="several rows"):
        figures.sweep_heatmap(three, "a_rate", "b_days", "vehicles_lost")


def test_sweep_lines_with_and_without_by() -> None:
    s = sweep_summary({"licensing.approval_rate": [0.2, 0.6, 1.0], "controls.lifetime_days": [90, 180]})
    fig = figures.sweep_lines(s, "licensing.approval_rate", "vehicles_lost",
                            by="controls.lifetime_days")
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and len(ax.collections) == 2  # a line and a CI band per value
    labels = ax.get_legend_handles_labels()[1]
    assert "controls.lifetime_days = 90" in labels and "95% CI" in labels
    assert ax.get_ylabel() == "mean vehicles lost (vehicles)"
    one = s[s["controls.lifetime_days"] == 90]
    fig = figures.sweep_lines(one, "licensing.approval_rate", "vehicles_lost", automaker="EU maker")
    assert list(fig.axes[0].lines[0].get_ydata()) == [1000.0, 3000.0, 5000.0]
    fig = figures.sweep_lines(one, "licensing.approval_rate", "vehicles_lost", by="automaker")
    assert len(fig.axes[0].lines) == 2
    with pytest.raises(ValueError, match="several rows"):
        figures.sweep_lines(s, "licensing.approval_rate", "vehicles_lost")


@pytest.mark.parametrize("keys", [
    {"licensing.approval_rate": [0.2, 0.6, 1.0]},
    {"licensing.approval_rate": [0.2, 0.6], "controls.lifetime_days": [90, 180]},
    {"licensing.approval_rate": [0.2, 0.6], "controls.lifetime_days": [90, 180], "x": [1, 2]},
])
def test_write_sweep_report(tmp_path: Path, keys: dict[str, list[float]]) -> None:
    s = sweep_summary(keys)
    path = write_sweep_report(tmp_path, s, list(keys))
    html = path.read_text(encoding="utf-8")
    images = DATA_PNG.findall(html)
    assert len(images) >= 2
    for b64 in images:
        assert_png_has_content(base64.b64decode(b64))
    assert not EXTERNAL.search(html)
    shown = sorted(float(v) for v in re.findall(r'data-mean="([^"]+)"', html))
    assert shown == sorted(s["vehicles_lost_mean"].tolist())
    assert len(list((tmp_path / "plots").glob("sweep_*.png"))) == len(images)


def test_report_command_rebuilds_a_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = {"licensing.approval_rate": [0.2, 0.6], "controls.lifetime_days": [90, 180]}
    sweep_summary(keys).to_parquet(tmp_path / "summary.parquet")
    (tmp_path / "sweep.json").write_text(json.dumps({"keys": list(keys), "replications": 5}))
    assert report_command(str(tmp_path)) == 0
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "5 replications each" in html and len(DATA_PNG.findall(html)) >= 2


@pytest.mark.parametrize("keys", [
    {"licensing.approval_rate": [0.2, 0.6, 0.6]},
    {"licensing.approval_rate": [0.2, 0.6], "controls.lifetime_days": [90, 90, 180]},
])
def test_sweep_report_with_repeated_design_points(tmp_path: Path, keys: dict[str, list[float]]) -> None:
    s = sweep_summary(keys)  # a grid listing a value twice: points alike in every swept key
    points = s.drop_duplicates("point")
    repeats = int(points.duplicated(list(keys)).sum())
    assert repeats >= 1
    html = write_sweep_report(tmp_path, s, list(keys)).read_text(encoding="utf-8")
    images = DATA_PNG.findall(html)
    assert len(images) >= 2
    for b64 in images:
        assert_png_has_content(base64.b64decode(b64))
    shown = sorted(float(v) for v in re.findall(r'data-mean="([^"]+)"', html))
    assert shown == sorted(s["vehicles_lost_mean"].tolist())  # every point is listed
    assert f"{len(points)} design point(s)" in html and f"{repeats} design point(s) repeat" in html
    # each figure draws the first of the repeated points
    first = s.drop_duplicates([*keys, "automaker"])
    x = list(keys)[0]
    lines = [p for p in report_figures(s, list(keys), "vehicles_lost") if "lines" in p.name
             or len(keys) == 1 and p.name == "sweep_all"]
    assert lines
    ax = lines[0].figure.axes[0]
    want = first[first["automaker"] == "all"].sort_values(x)
    if len(keys) == 1:
        assert list(ax.lines[0].get_ydata()) == want["vehicles_lost_mean"].tolist()
    else:
        drawn = sorted(float(v) for line in ax.lines for v in line.get_ydata())
        assert drawn == sorted(want["vehicles_lost_mean"].tolist())


# ---------------------------------------------------------------- numbers and terminal tables
@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), st.integers(0, 3))
def test_the_number_formatter_reads_back_to_the_number(x: float, digits: int) -> None:
    full = format_number(x, digits)
    value = float(full.replace(",", ""))
    # to the decimals asked for, or four significant figures for large whole numbers
    assert abs(value - x) <= max(0.5 * 10.0 ** -digits, 5e-4 * abs(x)) * (1 + 1e-9)
    short = compact(x)
    scale = {"k": 1e3, "M": 1e6}.get(short[-1], 1.0)
    value = float(short.rstrip("kM").replace(",", "")) * scale
    assert abs(value - x) <= max(0.005, 0.005 * abs(x)) * (1 + 1e-9)
    if abs(x) < 999e6:
        assert len(short.lstrip("-")) <= 7  # "999.99M": short enough for a table cell
    for text in (full, short):
        assert not (text.startswith("-") and float(text.strip("-kM").replace(",", "")) == 0)  # no -0


def test_the_number_formatter_marks_missing_values() -> None:
    for x in (None, math.nan, math.inf, -math.inf):
        assert format_number(x) == MISSING and compact(x) == MISSING
        assert format_number(x, missing="-") == "-"


def _render(table: object) -> str:
    out = io.StringIO()
    Console(file=out, width=250, highlight=False).print(table)
    return out.getvalue()


MARKUP_NAMES = ("[/]", "[bold red]loud", "x [/bold]", "back\\")


@pytest.mark.slow
def test_rich_markup_in_names_is_shown_as_typed(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    summary["scenario"] = "[/] scenario"
    blocks = list(summary["kpis"].values())
    summary["kpis"] = dict(zip(MARKUP_NAMES, blocks, strict=False))
    text = _render(console.kpi_table(summary))
    assert "[/] scenario" in text
    for name in MARKUP_NAMES:
        assert name in text
    lic = summary["licensing"]
    for table in ("stage_wait_days", "queue_length", "reviewer_utilisation"):
        lic[table] = {f"[{k}]" if i else "[/]": v for i, (k, v) in enumerate(lic[table].items())}
    text = _render(console.licensing_table(summary))
    assert "[/]" in text and "[security]" in text

    res = SimpleNamespace(keys=["[/]", "b"], summary=sweep_summary({"[/]": [0.2], "b": [1.0]}).assign(
        **{"[/]": "[/]", **{f"{m}_{s}": 0.5 for m in ("stockout_days", "fill_rate")
                            for s in ("mean", "ci_low", "ci_high")}, "stockout_probability_mean": 0.1}))
    text = _render(console_experiments.sweep_table(res))
    assert text.count("[/]") == 2  # the key's column heading and its value

    df = pd.DataFrame({"automaker": ["[/]"], "metric": ["[b]vehicles_lost"], "mean_a": [1.0],
                       "mean_b": [2.0], "diff": [1.0], "ci_low": [0.5], "ci_high": [1.5],
                       "width_ratio": [2.0]})
    text = _render(console_experiments.compare_table(df, "[/]a.toml", "b [/b].toml"))
    for name in ("[/]a.toml", "b [/b].toml", "[b]vehicles_lost"):
        assert name in text


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


# ---------------------------------------------------------------- report clarity
def _monthly_run(horizon: float) -> RunData:
    """One magnet flow of exactly 1 t per simulated day from 2025-04-04."""
    start = date(2025, 4, 4)
    days = pd.Series(pd.date_range(start, periods=int(horizon), freq="D"))
    per_month = days.dt.to_period("M").astype(str).value_counts().sort_index()
    flows = pd.DataFrame({"replication": 0, "month": per_month.index, "origin": "CN", "destination": "DE",
                          "product": "magnet", "tonnes": per_month.to_numpy(dtype=float)})
    return RunData(title="t", start_date=start, horizon_days=horizon, replications=[0], kpis=pd.DataFrame(),
                   timeseries=pd.DataFrame(), licences=pd.DataFrame(), flows=flows, summary={})


def test_partial_months_are_scaled_and_hatched_not_drawn_as_collapses() -> None:
    from resim.output.figures.common import month_coverage, per_whole_month

    run = _monthly_run(78)  # 2025-04-04 to 2025-06-20: 27 of 30 April days, all of May, 20 of 30 June days
    months = pd.period_range("2025-04", "2025-06", freq="M")
    assert month_coverage(run, months) == pytest.approx([27 / 30, 1.0, 20 / 30])
    assert per_whole_month(np.array([27.0, 31.0, 20.0]), month_coverage(run, months)) == pytest.approx([30, 31, 30])
    fig = figures.monthly_flows(run)
    bars = [p for p in fig.axes[0].patches if p.get_height() > 0]
    # a steady 1 t/day reads as a steady month-by-month flow, the partial months hatched
    assert sorted(round(p.get_height(), 6) for p in bars) == [30.0, 30.0, 31.0]
    assert sum(bool(p.get_hatch()) for p in bars) == 2
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert any("partial month" in label for label in labels)


def test_a_month_with_too_few_days_is_named_not_drawn() -> None:
    run = _monthly_run(61)  # ends 2025-06-03: three days of June
    fig = figures.monthly_flows(run)
    assert len([p for p in fig.axes[0].patches if p.get_height() > 0]) == 2
    labels = " ".join(fig.axes[0].get_legend_handles_labels()[1])
    assert "Jun 2025 (3 of 30 days)" in labels


def test_the_licensing_table_says_which_share_is_pooled() -> None:
    from resim.output.report_text import licensing_rows

    summary = {"replications": 2, "licensing": {
        "applications": {"mean": 5.0, "ci95": [4.0, 6.0]}, "approved_share": {"mean": 0.55, "ci95": [0.4, 0.7]},
        "decision_days": {"mean": 40.0, "p50": 38.0, "p95": 60.0, "n": 10}, "pending_at_horizon": 0,
        "by_kind": {"general": {"decided": 8, "approved_share": 0.75}, "renewal": {"decided": 2, "approved_share": 0.0}}}}
    rows = dict((what, value) for what, value in licensing_rows(summary))
    assert rows["share approved (of decided): mean of the replications' shares"].startswith("55%")
    assert rows["share approved (of decided): pooled over every decision"] == "60% of 10 decisions"
    assert rows["general applications decided"].endswith("(pooled)")


def test_a_distribution_with_many_zeros_says_how_many() -> None:
    kpis = pd.DataFrame({"replication": [0, 1, 2, 3] * 2, "automaker": ["a"] * 4 + ["b"] * 4,
                         "vehicles_lost": [0.0, 0.0, 0.0, 50.0, 10.0, 20.0, 30.0, 40.0]})
    summary = {"kpis": {"a": {"vehicles_lost": {"mean": 12.5, "ci95": [0.0, 52.0]}},
                        "b": {"vehicles_lost": {"mean": 25.0, "ci95": [4.5, 45.5]}}}}
    run = RunData(title="t", start_date=date(2025, 1, 1), horizon_days=30, replications=[0, 1, 2, 3], kpis=kpis,
                  timeseries=pd.DataFrame(), licences=pd.DataFrame(), flows=pd.DataFrame(), summary=summary)
    notes = [t.get_text() for t in figures.vehicles_lost_distribution(run).axes[0].texts]
    assert notes == ["75% of replications lose none"]  # a, not b (which lost something every time)
