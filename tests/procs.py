"""Helpers for tests that run resim in real processes: a scenario file,
starting a command in a session of its own, waiting, and checking that no
process of it is left."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from resim.scenario.tomlwriter import dumps

from chain_fixtures import small_chain


def resim_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m resim args`` to completion."""
    return subprocess.run([sys.executable, "-m", "resim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def chain_file(tmp_path: Path, **changes: object) -> Path:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.replications": 4, "scenario.horizon": 120, **changes})))
    return src


def start(argv: list[str], cwd: Path, **kw: object) -> subprocess.Popen[str]:
    """A resim process in a session of its own (its process group is ours to watch)."""
    return subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kw)  # type: ignore[call-overload]


def group_gone(pgid: int, within: float = 10.0) -> bool:
    """True once no process is left in the process group ``pgid``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def wait_for(cond: Callable[[], bool], within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def parts(out: Path) -> list[Path]:
    return sorted((out / "parts").glob("part-*.parquet")) if (out / "parts").is_dir() else []
