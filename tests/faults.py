"""Test-only faults, installed by the tests themselves (nothing in resim
reads an environment variable or a hook for them).

``inject`` replaces ``resim.experiment.replications.run_one`` - the model call every
replication and sweep unit goes through - with one that fails on chosen
replications: ``raise`` (an exception: a failure row), ``kill`` (the process
SIGKILLs itself, as the OOM killer would), ``hold`` (replications from
``hold_from`` on wait until the file ``gate`` exists: work that is certainly
still running while a test acts on it, for as long as the test needs, however
loaded the machine). Worker processes are forked from the process that
installed it, so they inherit it.

As a script, ``python tests/faults.py [--raise R] [--kill R] [--hold-from R
--gate PATH] [--batches PATH] -- ARGS`` installs the faults then runs ``resim
ARGS`` (``resim.cli.main``), for tests that need a real process: exit codes,
signals, worker deaths. ``--batches PATH`` makes the parent append a line to
PATH each time a batch of a run's replications reaches it: what a test waits
for before it interrupts a run that must have finished something.
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
#: How long a held replication waits for its gate before failing (a test that
#: forgot to open it must not leave processes behind for ever).
HOLD_LIMIT_S = 600.0


def _wait_for_gate(gate: Path, replication: int) -> None:
    deadline = time.monotonic() + HOLD_LIMIT_S
    while not gate.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"replication {replication} held for {HOLD_LIMIT_S:g} s: {gate} never appeared")
        time.sleep(0.05)


def _held(loaded: Any, replication: int, hold_from: int | None, branch: str | None) -> bool:
    """Whether ``replication`` waits for the gate: from ``hold_from`` on, in
    every branch or only in ``branch`` (a ``[[branch]]`` runs as the scenario
    with that branch as its default)."""
    if hold_from is None or replication < hold_from:
        return False
    return branch is None or loaded.scenario.scenario.default_branch == branch


def faulty(run_one: Callable[..., Any], fail: Iterable[int] = (), kill: Iterable[int] = (),
           hold_from: int | None = None, gate: Path | None = None,
           hold_branch: str | None = None) -> Callable[..., Any]:
    fail, kill = set(fail), set(kill)
    if (hold_from is None) != (gate is None):
        raise ValueError("hold_from and gate go together")

    def run(loaded: Any, replication: int) -> Any:
        if replication in kill:
            os.kill(os.getpid(), signal.SIGKILL)
        if replication in fail:
            raise RuntimeError(f"injected fault in replication {replication}")
        if gate is not None and _held(loaded, replication, hold_from, hold_branch):
            _wait_for_gate(gate, replication)
        return run_one(loaded, replication)

    return run


def install(fail: Iterable[int] = (), kill: Iterable[int] = (), hold_from: int | None = None,
            gate: Path | None = None, hold_branch: str | None = None) -> None:
    """For a whole process (the script form)."""
    from resim.experiment import replications as execution

    execution.run_one = faulty(execution.run_one, fail, kill, hold_from, gate, hold_branch)


def log_batches(path: Path) -> None:
    """For a whole process: each batch of a run's replications that reaches
    the parent (a chunk yielded by ``executors.execute`` to the Experiment)
    appends its size to ``path`` once the parent has stored it."""
    from resim.experiment import experiment

    inner = experiment.execute

    def execute(*args: Any, **kw: Any) -> Any:
        for units, results in inner(*args, **kw):
            yield units, results
            # written once the Experiment asks for the next batch, so it has stored this one
            with open(path, "a", encoding="utf-8") as f:
                f.write(f"{len(units)}\n")

    experiment.execute = execute


def inject(monkeypatch: Any, fail: Iterable[int] = (), kill: Iterable[int] = ()) -> None:
    """For one test (undone after it)."""
    from resim.experiment import replications as execution

    monkeypatch.setattr(execution, "run_one", faulty(execution.run_one, fail, kill))


def command(*resim_args: str, fail: Iterable[int] = (), kill: Iterable[int] = (), hold_from: int | None = None,
            gate: Path | None = None, batches: Path | None = None, hold_branch: str | None = None) -> list[str]:
    """argv of a process running ``resim resim_args`` with these faults."""
    flags = [*(f"--raise={r}" for r in fail), *(f"--kill={r}" for r in kill)]
    if hold_from is not None or gate is not None:
        flags += [f"--hold-from={hold_from}", f"--gate={gate}"]
    if hold_branch is not None:
        flags.append(f"--hold-branch={hold_branch}")
    if batches is not None:
        flags.append(f"--batches={batches}")
    return [sys.executable, str(HERE), *flags, "--", *resim_args]


def _main(argv: list[str]) -> int:
    cut = argv.index("--")
    p = argparse.ArgumentParser()
    p.add_argument("--raise", dest="fail", type=int, action="append", default=[])
    p.add_argument("--kill", type=int, action="append", default=[])
    p.add_argument("--hold-from", type=int)
    p.add_argument("--gate", type=Path)
    p.add_argument("--batches", type=Path)
    p.add_argument("--hold-branch")
    args = p.parse_args(argv[:cut])
    install(args.fail, args.kill, args.hold_from, args.gate, args.hold_branch)
    if args.batches:
        log_batches(args.batches)
    from resim.cli import main

    return main(argv[cut + 1:])


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
