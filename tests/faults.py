"""Test-only faults, installed by the tests themselves (nothing in resim
reads an environment variable or a hook for them).

``inject`` replaces ``resim.experiment.replications.run_one`` - the model call every
replication and sweep unit goes through - with one that fails on chosen
replications: ``raise`` (an exception: a failure row), ``kill`` (the process
SIGKILLs itself, as the OOM killer would), ``slow`` (sleeps, to be
interrupted). Worker processes are forked from the process that installed
it, so they inherit it.

As a script, ``python tests/faults.py [--raise R] [--kill R] [--slow S] -- ARGS``
installs the faults then runs ``resim ARGS`` (``resim.cli.main``), for tests
that need a real process: exit codes, signals, worker deaths.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()


def faulty(run_one: Callable[..., Any], fail: Iterable[int] = (), kill: Iterable[int] = (),
           slow: float = 0.0) -> Callable[..., Any]:
    fail, kill = set(fail), set(kill)

    def run(loaded: Any, replication: int) -> Any:
        if replication in kill:
            os.kill(os.getpid(), signal.SIGKILL)
        if replication in fail:
            raise RuntimeError(f"injected fault in replication {replication}")
        if slow:
            time.sleep(slow)
        return run_one(loaded, replication)

    return run


def install(fail: Iterable[int] = (), kill: Iterable[int] = (), slow: float = 0.0) -> None:
    """For a whole process (the script form)."""
    from resim.experiment import replications as execution

    execution.run_one = faulty(execution.run_one, fail, kill, slow)


def inject(monkeypatch: Any, fail: Iterable[int] = (), kill: Iterable[int] = (), slow: float = 0.0) -> None:
    """For one test (undone after it)."""
    from resim.experiment import replications as execution

    monkeypatch.setattr(execution, "run_one", faulty(execution.run_one, fail, kill, slow))


def command(*resim_args: str, fail: Iterable[int] = (), kill: Iterable[int] = (), slow: float = 0.0) -> list[str]:
    """argv of a process running ``resim resim_args`` with these faults."""
    flags = [*(f"--raise={r}" for r in fail), *(f"--kill={r}" for r in kill)]
    if slow:
        flags.append(f"--slow={slow}")
    return [sys.executable, str(HERE), *flags, "--", *resim_args]


def _main(argv: list[str]) -> int:
    cut = argv.index("--")
    p = argparse.ArgumentParser()
    p.add_argument("--raise", dest="fail", type=int, action="append", default=[])
    p.add_argument("--kill", type=int, action="append", default=[])
    p.add_argument("--slow", type=float, default=0.0)
    args = p.parse_args(argv[:cut])
    install(args.fail, args.kill, args.slow)
    from resim.cli import main

    return main(argv[cut + 1:])


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
