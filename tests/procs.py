"""Helpers for tests that run resim in real processes: a scenario file,
starting a command in a session of its own, waiting, and checking that no
process of it is left."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from resim.scenario.tomlwriter import dumps

from chain_fixtures import small_chain
from scenario_helpers import cli


def resim_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m resim args`` to completion."""
    return subprocess.run([sys.executable, "-m", "resim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def resim_here(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """What ``resim_cli`` gives, from ``resim.cli.main`` run in this process
    in ``cwd``: seconds cheaper a call (no interpreter start-up, no imports),
    for tests about what a command does rather than about its process."""
    with contextlib.chdir(cwd):
        r = cli(*args)
    return subprocess.CompletedProcess(["resim", *args], r.code, r.out, r.err)


def chain_file(tmp_path: Path, **changes: object) -> Path:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.replications": 4, "scenario.horizon": 120, **changes})))
    return src


def start(argv: list[str], cwd: Path, **kw: object) -> subprocess.Popen[str]:
    """A resim process in a session of its own (its process group is ours to watch)."""
    return subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kw)  # type: ignore[call-overload]


def wait_for(cond: Callable[[], bool], what: str = "the condition", within: float = 120.0) -> None:
    """Poll ``cond`` every 50 ms until it holds; fail after ``within`` seconds
    naming ``what``. Tests wait on the real condition (a part written, a lock
    held, a batch finished), never a fixed time: a loaded machine only makes
    them wait longer."""
    deadline = time.monotonic() + within
    while not cond():
        assert time.monotonic() < deadline, f"timed out after {within:g} s waiting for {what}"
        time.sleep(0.05)


def group_gone(pgid: int, within: float = 60.0) -> bool:
    """True once no process is left in the process group ``pgid`` (False if
    one is still there after ``within`` seconds)."""
    def gone() -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        return False

    try:
        wait_for(gone, f"process group {pgid} to end", within)
    except AssertionError:
        return False
    return True


def parts(out: Path) -> list[Path]:
    return sorted((out / "parts").glob("part-*.parquet")) if (out / "parts").is_dir() else []
