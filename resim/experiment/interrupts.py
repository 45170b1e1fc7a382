"""Ctrl-C and SIGTERM: stop soon, keep what finished, exit 130 or 143.

Python's default Ctrl-C raises ``KeyboardInterrupt`` wherever the main thread
happens to be, and SIGTERM kills the process outright (its worker processes
live on). The command line instead installs :func:`stop_on_signals`: both
signals raise :class:`Interrupted`, which the executors turn into "cancel the
queue, end the workers" and the commands into "write what finished, marked
partial". Worker processes ignore Ctrl-C (the terminal sends it to the whole
process group) and die on SIGTERM: the parent alone decides when they stop.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class Interrupted(KeyboardInterrupt):
    """The user (SIGINT) or the system (SIGTERM) asked us to stop.

    ``finished`` carries the work that completed before the stop, set by the
    code that was running it, so the caller can keep it. From the Python API
    it is a whole result object, also as ``results``: ``resim.simulate``'s
    ``Results`` of the replications that finished (``interrupted`` True), or
    ``resim.sweep``'s ``SweepResults`` of the finished units (``partial``
    True; None when none finished). Raising rather than returning keeps a
    stopped run from passing for a finished one in a script.
    """

    def __init__(self, signum: int = signal.SIGINT, finished: Any = None):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)
        self.finished = finished

    @property
    def results(self) -> Any:
        """What finished before the stop (``finished``), as the API's result object."""
        return self.finished

    @property
    def exit_code(self) -> int:
        """130 for SIGINT, 143 for SIGTERM (128 + the signal number)."""
        return 128 + self.signum


def as_interrupted(exc: BaseException, finished: Any = None) -> Interrupted:
    """``exc`` (a plain KeyboardInterrupt from a notebook, or already an
    ``Interrupted``) as an ``Interrupted`` carrying ``finished``."""
    stop = exc if isinstance(exc, Interrupted) else Interrupted(signal.SIGINT)
    stop.finished = finished
    return stop


@contextmanager
def stop_on_signals(announce: bool = True) -> Iterator[None]:
    """Within the block, the first SIGINT or SIGTERM raises :class:`Interrupted`
    in the main thread (after printing "stopping…"); later ones are ignored, so
    a second Ctrl-C cannot cut short the clean-up (ending the workers, writing
    what finished). The old handlers come back at the end."""
    stopping = False

    def handler(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            if announce:
                print("resim: already stopping…", file=sys.stderr, flush=True)
            return
        stopping = True
        if announce:
            print("resim: stopping… (finished work is kept)", file=sys.stderr, flush=True)
        raise Interrupted(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def worker_signals() -> None:
    """In a worker process: ignore Ctrl-C, die on SIGTERM (the defaults a
    forked worker would otherwise inherit from the parent's handlers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


__all__ = ["Interrupted", "as_interrupted", "stop_on_signals", "worker_signals"]
