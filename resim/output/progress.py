"""Progress of long work: a rich progress bar on a terminal or in a Jupyter notebook.

The bar redraws twice a second, so the elapsed time moves even while a slow
chunk of replications is running, and its time-left estimate comes from the
work completed so far (elapsed time x work left / work done). Rich's own
estimate averages the speed over a recent window, which jumps about when work
finishes in chunks of several replications at a time.

In a notebook rich draws through ipywidgets (the ``[notebook]`` extra);
without it the bar is left out rather than printing a warning at every
refresh. Piped output gets no bar, so logs stay clean.
"""

from __future__ import annotations

import importlib.util
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


class ProgressBar:
    """A progress bar with elapsed time and ETA on a terminal or in a notebook;
    nothing when piped or quiet.

    Use as a context manager; call ``total(n, done)`` once the amount of work
    is known, then ``advance(k)`` as it completes.
    """

    def __init__(self, console: Console, label: str, enabled: bool = True) -> None:
        self._prog: Progress | None = None
        self._task: Any = None
        if enabled and can_show(console):
            self._prog = Progress(TextColumn(escape(label)), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), EtaColumn(), console=console,
                                  refresh_per_second=REFRESH_PER_SECOND,
                                  transient=not console.is_jupyter)  # a notebook keeps the finished bar

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
        if self._prog is None:
            return
        if self._task is None:
            self._task = self._prog.add_task("work", total=n, completed=done, resumed=done)
        else:
            self._prog.update(self._task, total=n, completed=done)

    def advance(self, k: int = 1, *_: Any) -> None:
        """``k`` more units done (extra arguments, as executors pass them, are ignored)."""
        if self._prog is not None and self._task is not None:
            self._prog.advance(self._task, k)

    @property
    def shown(self) -> bool:
        """Whether a bar is drawn (a terminal or a notebook, and not quiet)."""
        return self._prog is not None


__all__ = ["REFRESH_PER_SECOND", "EtaColumn", "ProgressBar", "can_show", "clock"]
