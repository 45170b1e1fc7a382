"""Shared helpers for the scenario-loading tests (loader, bad corpus, fuzz).

``VALID_TOML`` is a complete, valid scenario touching every table; tests copy it
into ``tmp_path`` and change it. ``cli`` runs ``resim.cli.main`` in-process and
captures its exit code, stdout and stderr (much faster than a subprocess).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VALID_TOML = """\
[scenario]
name = "Six-month general licences"
start_date = "2025-04-04"
horizon = "2y"
replications = 20
seed = 20250404

[controls]
jurisdiction = "CN"
controlled_elements = ["Sm", "Gd", "Tb", "Dy", "Lu", "Sc", "Y"]
de_minimis = 0.001
licence_mode = "general"
lifetime_days = "6mo"
renewal_lead_days = 60
shipment_validity_days = 90

[licensing]
approval_rate = 0.6
approval_by_destination = { US = 0.8, IN = 0.0 }
approval_by_end_use = { civil = 1.0, dual_use = 0.5, military = 0.0 }
working_days = true
holidays = ["2025-10-01", 2025-10-02]
resubmit_days = { dist = "uniform", low = 10, high = 30 }
max_attempts = 3
rework = { probability = 0.3, stage = "technical", fix_days = { dist = "triangular", low = 5, mode = 10, high = 30 } }
background = { applications_per_day = 40 }

[[licensing.stages]]
name = "technical"
reviewers = 30
duration = { dist = "uniform", low = 15, high = 20 }

[[licensing.stages]]
name = "security"
reviewers = 10
duration = { dist = "lognormal", mean = 12, cv = 0.3 }

[[licensing.stages]]
name = "issuance"
reviewers = "inf"
duration = "1w"

[grades.N42SH]
content = { Nd = 0.235, Pr = 0.06, Dy = 0.02, Tb = 0.005 }

[[mines]]
name = "Bayan Obo"
jurisdiction = "CN"
output_t_per_day = 600
composition = { Nd = 0.17, Pr = 0.05, Dy = 0.002, Tb = 0.0005 }
outages = { between = { dist = "exponential", mean = 200 }, repair = { dist = "gamma", mean = 10, cv = 0.5 } }

[[separators]]
name = "Baotou separation"
jurisdiction = "CN"
capacity_t_per_day = 500
suppliers = [{ name = "Bayan Obo", share = 1.0, transit = "3d" }]

[[magnet_makers]]
name = "JL MAG"
jurisdiction = "CN"
grade = "N42SH"
capacity_t_per_day = 41
suppliers = [{ name = "Baotou separation", share = 1.0, transit = "5d" }]

[[automakers]]
name = "EU automaker"
jurisdiction = "DE"
end_use = "civil"
vehicles_per_day = 3000
magnet_kg_per_vehicle = 1.6
initial_inventory_days = 75
review_days = 7
target_days = 90
suppliers = [{ name = "JL MAG", share = 1.0, transit = { dist = "uniform", low = 28, high = 42 } }]

[[automakers]]
name = "US automaker"
jurisdiction = "US"
demand_t_per_day = 2.5
suppliers = [{ name = "JL MAG", transit = { dist = "empirical", values = [30, 35, 40], weights = [1, 2, 1] } }]

[[policy]]
date = "2025-06-27"
set = { "licensing.approval_rate" = 0.8 }

[[policy]]
day = "30w"
set = { "controls.licence_mode" = "per_shipment", "licensing.stages[1].reviewers" = 20 }

[sweep]
replications = 10
grid = { "licensing.approval_rate" = [0.2, 0.6, 1.0], "controls.lifetime_days" = [90, 180, 365] }
"""


def valid_dict() -> dict[str, Any]:
    """``VALID_TOML`` parsed (a fresh copy each call)."""
    return tomllib.loads(VALID_TOML)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


#: The width resim's tables are drawn at in ``cli`` and ``cli_subprocess``.
#: Piped output takes its width from ``COLUMNS``, and the environment's value is
#: not the same everywhere: under pytest-xdist the workers inherit ``COLUMNS=80``
#: (pytest imports ``readline``, and GNU readline exports the terminal's size
#: into the C environment, which child processes inherit but ``os.environ`` of
#: the parent never shows). Tests that are about a width set their own.
WIDTH = "200"


@contextlib.contextmanager
def _columns(width: str) -> Iterator[None]:
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = width
    try:
        yield
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


def cli(*argv: str, width: str = WIDTH) -> CliResult:
    """``resim.cli.main(argv)`` in-process, with stdout/stderr captured (as
    piped output ``width`` columns wide)."""
    from resim.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _columns(width), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return CliResult(code, out.getvalue(), err.getvalue())


def cli_subprocess(*argv: str, cwd: Path | None = None) -> CliResult:
    """``python -m resim argv...`` in a child process (a real exit code)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "COLUMNS": WIDTH}
    proc = subprocess.run(
        [sys.executable, "-m", "resim", *argv],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=120,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def assert_one_line_error(res: CliResult, *fragments: str) -> str:
    """Exit code 2, exactly one line on stderr holding every fragment, no traceback."""
    assert res.code == 2, (res.code, res.err)
    assert "Traceback" not in res.err and "Traceback" not in res.out, res.err
    lines = res.err_lines
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {res.err!r}"
    line = lines[0]
    assert "internal error" not in line, line
    for frag in fragments:
        assert frag in line, f"{frag!r} not in {line!r}"
    return line
