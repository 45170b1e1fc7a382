"""Progress of long work: a rich progress bar on a terminal or in a Jupyter notebook.

The bar redraws twice a second, so the elapsed time moves even while a slow
chunk of replications is running, and its time-left estimate comes from the
work completed so far (elapsed time x work left / work done). Rich's own
estimate averages the speed over a recent window, which jumps about when work
finishes in chunks of several replications at a time.

In a notebook rich draws through ipywidgets (the ``[notebook]`` extra);
without it the bar is left out rather than printing a warning at every
refresh. Piped output gets no bar, so logs stay clean; instead a plain line
on stderr says how far the work is, at most every ``LINE_EVERY_S`` seconds,
so a sweep in a batch job or behind ``| tee`` is not silent for ten minutes.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

#: Redraws per second (the brief: at least one every 2 s).
REFRESH_PER_SECOND = 2
#: Seconds between progress lines when the output is not a terminal (a pipe, a log).
LINE_EVERY_S = 10.0


def clock(seconds: float) -> str:
    """``75`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    s = max(0, int(round(seconds)))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class EtaColumn(ProgressColumn):
    """Time left from the completed work: elapsed x (total - done) / done.

    Work already done when the bar started (a resumed sweep) is not counted
    as done in this session, so it does not make the estimate optimistic."""

    def render(self, task: Task) -> Text:
        done = task.completed - float(task.fields.get("resumed", 0))
        if not task.total or task.elapsed is None or done <= 0:
            return Text("ETA –", style="progress.remaining")
        if task.finished:
            return Text("done", style="progress.remaining")
        left = task.elapsed * (task.total - task.completed) / done
        return Text(f"ETA {clock(left)}", style="progress.remaining")


def can_show(console: Console) -> bool:
    """Whether a live bar can be drawn on ``console``: a terminal, or a
    notebook with ipywidgets (which rich draws Jupyter bars with)."""
    if console.is_jupyter:
        return importlib.util.find_spec("ipywidgets") is not None
    return console.is_terminal and not console.is_dumb_terminal


class ProgressLines:
    """Progress for a log: ``resim: replications: 40/400 done, 0:45 elapsed,
    ETA 6:45`` on stderr, at most every ``every`` seconds of ``now``."""

    def __init__(self, label: str, every: float | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.label, self.now = label, now
        self.every = LINE_EVERY_S if every is None else every
        self.n: int | None = None
        self.done = self.resumed = 0
        self.t0 = self.last = now()

    def total(self, n: int, done: int = 0) -> None:
        if self.n is None:
            self.resumed = done
        self.n, self.done = n, done

    def advance(self, k: int = 1) -> None:
        self.done += k
        t = self.now()
        if t - self.last >= self.every:
            self.last = t
            print(self.line(t), file=sys.stderr, flush=True)

    def line(self, t: float) -> str:
        elapsed = t - self.t0
        of = f"/{self.n:,}" if self.n else ""
        fresh = self.done - self.resumed
        eta = f", ETA {clock(elapsed * (self.n - self.done) / fresh)}" if self.n and fresh > 0 else ""
        return f"resim: {self.label}: {self.done:,}{of} done, {clock(elapsed)} elapsed{eta}"


class ProgressBar:
    """A progress bar with elapsed time and ETA on a terminal or in a notebook;
    progress lines on stderr when piped; nothing when quiet.

    Use as a context manager; call ``total(n, done)`` once the amount of work
    is known, then ``advance(k)`` as it completes.
    """

    def __init__(self, console: Console, label: str, enabled: bool = True) -> None:
        self._prog: Progress | None = None
        self._task: Any = None
        self._lines: ProgressLines | None = None
        if enabled and can_show(console):
            self._prog = Progress(TextColumn(escape(label)), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), EtaColumn(), console=console,
                                  refresh_per_second=REFRESH_PER_SECOND,
                                  transient=not console.is_jupyter)  # a notebook keeps the finished bar
        elif enabled:
            self._lines = ProgressLines(label)

    def __enter__(self) -> ProgressBar:
        if self._prog is not None:
            self._prog.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._prog is not None:
            self._prog.stop()

    def total(self, n: int, done: int = 0) -> None:
        """The amount of work (``done`` of it already finished, as on
        ``--resume``); called again, the work known has changed (sequential
        rounds): same bar, new total."""
        if self._lines is not None:
            self._lines.total(n, done)
        if self._prog is None:
            return
        if self._task is None:
            self._task = self._prog.add_task("work", total=n, completed=done, resumed=done)
        else:
            self._prog.update(self._task, total=n, completed=done)

    def advance(self, k: int = 1, *_: Any) -> None:
        """``k`` more units done (extra arguments, as executors pass them, are ignored)."""
        if self._lines is not None:
            self._lines.advance(k)
        if self._prog is not None and self._task is not None:
            self._prog.advance(self._task, k)

    @property
    def shown(self) -> bool:
        """Whether a bar is drawn (a terminal or a notebook, and not quiet)."""
        return self._prog is not None


__all__ = ["LINE_EVERY_S", "REFRESH_PER_SECOND", "EtaColumn", "ProgressBar", "ProgressLines", "can_show", "clock"]
