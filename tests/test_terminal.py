"""The terminal: run tables that fit 80 columns without wrapping a cell,
progress with an ETA from the work done, ``--version``, quiet broken pipes."""

from __future__ import annotations

import copy
import io
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from procs import resim_cli
from rich.console import Console
from rich.progress import Task, TaskID

import resim
from resim.output.console import kpi_table, licensing_table, make_console
from resim.output.progress import EtaColumn, clock

from chain_fixtures import SCENARIOS
from scenario_helpers import cli


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    """The reference scenario's summary, run small."""
    return resim.simulate(SCENARIOS / "six_month_licences.toml", replications=6, workers=1,
                          progress=False).summary()


def render(table: object, width: int) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, highlight=False, color_system=None).print(table)
    return out.getvalue().splitlines()


def _cells(summary: dict[str, Any]) -> list[str]:
    """Texts that must each appear whole on one line: names, means and intervals."""
    start = date.fromisoformat(summary["start_date"])
    out = []
    for name, k in summary["kpis"].items():
        out.append(name)
        d = k["stockout_probability"]
        out += [f"{d['mean']:.2f}", f"[{d['ci95'][0]:.2f}, {d['ci95'][1]:.2f}]"]
        first = k["first_stockout_day"]["mean"]
        if first is not None:
            out.append(str(start + timedelta(days=int(first))))
    return out


@pytest.mark.parametrize("width", [80, 100, 200])
def test_the_run_table_fits_the_width_without_wrapping_a_cell(summary: dict[str, Any], width: int) -> None:
    lines = render(kpi_table(summary), width)
    assert max(len(line.rstrip()) for line in lines) <= width
    text = "\n".join(lines)
    for cell in _cells(summary):
        assert cell in text, (cell, text)
    body = [line for line in lines if line.startswith(tuple(summary["kpis"]))]
    assert len(body) == len(summary["kpis"])  # each name starts one row: no name broken over lines
    d = summary["kpis"]["all"]["stockout_probability"]
    beside = f"{d['mean']:.2f} [{d['ci95'][0]:.2f}, {d['ci95'][1]:.2f}]"
    if width >= 130:  # room for every column, each interval beside its mean
        assert beside in text and "fill rate %" in text and "Left out" not in text
    else:  # intervals stacked below their means
        assert beside not in text


def test_at_80_columns_populations_and_posterior_bands_still_fit(summary: dict[str, Any]) -> None:
    s = copy.deepcopy(summary)
    s["firms"] = {name: 40 for name in s["kpis"] if name != "all"}
    s["posterior"] = {"directory": "results/calibrated", "parameters": ["licensing.approval_rate"],
                      "particles": 100}
    lines = render(kpi_table(s), 80)
    assert max(len(line.rstrip()) for line in lines) <= 80
    text = "\n".join(lines)
    assert "peak lines" in text and "(p5–p95" in text
    assert "Left out at this width: fill rate %" in " ".join(text.split())  # dropped, and said so
    narrow = "\n".join(render(kpi_table(s), 50))
    assert all(name in narrow for name in ("EU automaker", "US automaker", "Japan automaker"))


def test_the_licensing_table_fits_80_columns(summary: dict[str, Any]) -> None:
    lines = render(licensing_table(summary), 80)
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert all(stage in "\n".join(lines) for stage in summary["licensing"]["stage_wait_days"])


@pytest.mark.slow
def test_resim_run_prints_a_table_that_fits_80_columns(tmp_path: Path) -> None:
    p = cli(str(SCENARIOS / "six_month_licences.toml"), "-n", "3", "--workers", "1", "--out", str(tmp_path / "o"),
            width="80")
    assert p.code == 0, p.err
    lines = p.out.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80, p.out
    assert any(line.startswith("Japan automaker") for line in lines)


def test_piped_output_takes_its_width_from_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "72")
    assert make_console(io.StringIO()).width == 72
    monkeypatch.delenv("COLUMNS")
    assert make_console(io.StringIO()).width == 120


def _task(total: float, completed: float, elapsed: float, resumed: float = 0.0) -> Task:
    t = Task(TaskID(0), "work", total, completed, _get_time=lambda: 100.0 + elapsed,
             fields={"resumed": resumed})
    t.start_time = 100.0
    return t


def test_the_eta_comes_from_the_work_completed() -> None:
    eta = EtaColumn()
    assert eta.render(_task(20, 5, 10.0)).plain == "ETA 0:30"  # 10 s for 5, 15 to go
    assert eta.render(_task(20, 0, 10.0)).plain == "ETA –"  # nothing done: no estimate
    # a resumed sweep: 10 units were done before; 5 more in 10 s, 5 to go
    assert eta.render(_task(20, 15, 10.0, resumed=10)).plain == "ETA 0:10"
    assert clock(3725) == "1:02:05" and clock(75) == "1:15"


@pytest.mark.processes
def test_version_and_a_reader_that_goes_away() -> None:
    p = resim_cli(["--version"], SCENARIOS)
    assert p.returncode == 0 and p.stdout.strip() == f"resim {resim.__version__}"
    # the reader closes the pipe before resim writes: no traceback, no message, exit 141
    proc = subprocess.Popen([sys.executable, "-m", "resim", "validate", str(SCENARIOS / "baseline.toml")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 141 and err == "", err
