"""The Python API (SPEC §3): ``load_scenario`` and ``simulate``.

Notebook users get the same objects the command line writes to disk, and
``simulate(..., out=DIR)`` writes them under the same folder discipline as
``resim run`` (one writer, staged and swapped in whole, a completion marker).
The API behaves as the command line does: ``workers`` defaults to the cores,
``overwrite=`` is ``--overwrite``, overrides are a ``{key: value}`` dict or
``"KEY=VALUE"`` strings everywhere, and in a notebook a progress bar shows
how far the replications have got.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .experiment.budget import check_memory, check_run, time_budget
from .experiment.interrupts import Interrupted
from .experiment.runfolder import RunFolder
from .scenario import Loaded, ScenarioBase, load
from .scenario.tomlwriter import toml_value

#: Scenario changes: ``{"licensing.approval_rate": 0.4}`` or ``["licensing.approval_rate=0.4"]``.
Overrides = Iterable[str] | Mapping[str, Any]
#: ``None``: a progress bar in a notebook only; ``True``: also on a terminal;
#: ``False``: none; a callable: called with the number of replications just finished.
Progress = bool | Callable[[int], None] | None

if TYPE_CHECKING:  # simulation imports (simpy, pandas) only when simulating:
    from .experiment.sequential import Decision, Target
    from .output.results import Results  # `resim validate` stays light and fast


def merge_overrides(*parts: Overrides) -> Overrides:
    """Several sets of overrides as one, applied in order (a later value of a
    key wins): a dict when every part is one, else ``"KEY=VALUE"`` strings,
    a dict's values written as TOML so they keep their types (``0.4`` stays
    a number, ``"6mo"`` a string). A lone string is one ``KEY=VALUE``."""
    if all(isinstance(p, Mapping) for p in parts):
        merged: dict[str, Any] = {}
        for part in parts:
            for key, value in part.items():  # type: ignore[union-attr]
                merged.pop(key, None)  # moved to the end: applied in the order given
                merged[key] = value
        return merged
    out: list[str] = []
    for part in parts:
        if isinstance(part, Mapping):
            out += [f"{k}={toml_value(v)}" for k, v in part.items()]
        else:
            out += [part] if isinstance(part, str) else list(part)
    return out


def load_scenario(
    source: str | Path | Mapping[str, Any] | Loaded | ScenarioBase,
    overrides: Overrides = (),
) -> Loaded:
    """Read and validate a scenario (a path, a dict, or an already loaded one).

    ``overrides`` are ``"KEY=VALUE"`` strings or a ``{key: value}`` mapping,
    typed and validated like ``--set``. Raises ``ScenarioError`` on bad input.
    """
    return load(source, [overrides] if isinstance(overrides, str) else overrides)


def with_posterior(loaded: Loaded, posterior: str | Path | None) -> Loaded:
    """``loaded`` whose replications draw their parameter values from a
    calibration's posterior (``--posterior DIR``), after checking that this
    scenario takes every value the posterior holds; unchanged without one."""
    if posterior is None:
        return loaded
    from dataclasses import replace

    from .calibration.posterior import check_posterior, read_posterior

    post = read_posterior(posterior)
    check_posterior(loaded, post)
    return replace(loaded, posterior=post)


def simulate(
    scenario: str | Path | Mapping[str, Any] | Loaded | ScenarioBase,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    overrides: Overrides = (),
    progress: Progress = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    max_memory: int | None = None,
    posterior: str | Path | None = None,
    target_ci: float | None = None,
    target_kpis: Sequence[str] = (),
    target_abs: float | None = None,
    max_hours: float | None = None,
) -> Results:
    """Run a scenario's replications and return its ``Results``.

    ``workers`` defaults to the cores this process may use, as ``resim run``
    does (the results are the same whatever the number). ``progress``: a bar
    in a notebook by default, ``True`` for one on a terminal too, ``False``
    for none, or a callable given the count of each batch that finishes.

    With ``posterior`` (the folder ``resim calibrate`` wrote), each
    replication draws its fitted parameters from the posterior, so the spread
    of outcomes includes the parameters' uncertainty.

    With ``target_ci`` (e.g. 0.05), replications run in batches until the
    95% CI half-width of ``target_kpis`` (``"KPI"`` or ``"KPI@automaker"``;
    default vehicles lost of all automakers) is within that share of the
    mean, or within ``target_abs``; ``replications`` is then the most to run
    (``resim.experiment.sequential``); ``Results.sequential`` holds the decision (met or
    capped, replications kept, precision reached), as ``out/sequential.json``
    does.

    With ``out``, the result files are also written there, as ``resim run``
    does (``overwrite=True`` is ``--overwrite``); an interrupt (Ctrl-C) then
    still writes the replications that finished, marked partial, and
    re-raises ``resim.experiment.interrupts.Interrupted`` with those ``Results`` as its
    ``finished``.

    A run estimated to take more than ``max_hours`` on its workers (default
    ``resim.experiment.budget.DEFAULT_MAX_HOURS``; ``math.inf`` for no limit)
    is refused before it starts, as ``resim run --max-hours`` does."""
    extra: dict[str, Any] = {}
    if replications is not None:
        extra["scenario.replications"] = replications
    if seed is not None:
        extra["scenario.seed"] = seed
    loaded = with_posterior(load_scenario(scenario, merge_overrides(overrides, extra)), posterior)
    from .experiment.replications import cap_workers, default_workers

    n = loaded.scenario.scenario.replications
    check_run(loaded.scenario, loaded.source, n)
    target = None
    if target_ci is not None:
        from .experiment.sequential import check_target, parse_target

        target = parse_target(target_ci, target_kpis, target_abs)
        check_target(target, loaded)
    workers = cap_workers(max(1, workers or default_workers()), n, announce=workers is not None)
    check_memory(loaded, workers, max_memory)
    time_budget(loaded, n, workers, max_hours)
    with progress_reporter(progress, "replications", n) as advance:
        if out is None:
            results, stop, _ = run(loaded, workers, advance, target=target)
        else:
            with RunFolder(out, "run", overwrite) as folder:
                results, stop, _ = run(loaded, workers, advance, folder, target=target)
    if stop is not None:
        raise stop
    return results


@contextmanager
def progress_reporter(progress: Progress, label: str, total: int) -> Iterator[Callable[[int], None] | None]:
    """What to call as work finishes: the caller's callable, or a rich
    progress bar (on stderr) - in a Jupyter notebook by default, also on a
    terminal with ``progress=True`` - or nothing."""
    if callable(progress) or progress is False:
        yield progress or None
        return
    from rich.console import Console

    from .output.progress import ProgressBar

    console = Console(stderr=True)
    wanted = progress is True or console.is_jupyter
    with ProgressBar(console, label, enabled=wanted) as bar:
        bar.total(total)
        yield bar.advance if bar.shown else None


def run(
    loaded: Loaded,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    folder: RunFolder | None = None,
    argv: Sequence[str] = (),
    target: Target | None = None,
) -> tuple[Results, Interrupted | None, Decision | None]:
    """Run every replication of ``loaded`` and, given a locked ``folder``,
    write the results into it (staged, swapped in whole). With ``target``
    the scenario's replications are the most to run, and the third value is
    the sequential rule's decision (also written as sequential.json).

    An interrupt is returned, not raised, once what finished has been
    written (marked partial), so the caller can report it and exit 130/143;
    it is raised if no replication had finished (nothing to write)."""
    from .experiment.replications import run_replications
    from .output.results import Results

    n = loaded.scenario.scenario.replications
    t0 = time.perf_counter()
    stop: Interrupted | None = None
    decision: Decision | None = None
    try:
        if target is None:
            outputs = run_replications(loaded, range(n), workers=workers, progress=progress)
        else:
            from .experiment.sequential import replicate

            outputs, decision = replicate(loaded, target, n, workers, progress)
    except Interrupted as e:
        stop, outputs = e, e.finished or []
        if not outputs:
            raise
    results = Results(loaded, outputs, time.perf_counter() - t0, workers)
    if target is not None and decision is not None:
        results.sequential = {"target": target.to_json(), **decision.to_json()}
    results.asked, results.interrupted = n, stop is not None
    if stop is not None:
        stop.finished = results
    if folder is not None:
        results.commit(folder, argv)
    return results, stop, decision
