"""The Python API (SPEC §3): ``load_scenario``, ``simulate``, ``sweep`` and ``compare``.

The top of the house: it loads a scenario (``resim.scenario``), hands a
calibration's posterior in as the scenario's parameter draws
(``resim.calibration``), runs the experiment (``resim.experiment``) and wraps
what comes back in the output layer's objects (``Results``,
``SweepResults``, ``Comparison``). Layers below never import it.

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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .experiment.budget import check_memory, check_run, time_budget
from .experiment.interrupts import Interrupted
from .experiment.runfolder import RunFolder
from .scenario import Loaded, ScenarioBase, load
from .scenario.tomlwriter import toml_value

Source = str | Path | Mapping[str, Any] | Loaded | ScenarioBase

#: Scenario changes: ``{"licensing.approval_rate": 0.4}`` or ``["licensing.approval_rate=0.4"]``.
Overrides = Iterable[str] | Mapping[str, Any]
#: ``None``: a progress bar in a notebook only; ``True``: also on a terminal;
#: ``False``: none; a callable: called with the number of replications just finished.
Progress = bool | Callable[[int], None] | None

if TYPE_CHECKING:  # simulation imports (simpy, pandas) only when simulating:
    import pandas as pd

    from .experiment.sequential import Decision, Target
    from .output.comparison import Comparison
    from .output.results import Results  # `resim validate` stays light and fast
    from .output.sweep import SweepResults


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
    return [line for part in parts for line in _as_lines(part)]


def _as_lines(part: Overrides) -> list[str]:
    """One set of overrides as ``"KEY=VALUE"`` strings."""
    if isinstance(part, Mapping):
        return [f"{k}={toml_value(v)}" for k, v in part.items()]
    return [part] if isinstance(part, str) else list(part)


def load_scenario(
    source: Source,
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
    return replace(loaded, draws=post)


def _warn(lines: Sequence[str]) -> None:
    """Warning lines as Python warnings (what a notebook shows)."""
    import warnings

    for line in lines:
        warnings.warn(line.removeprefix("resim: warning: "), UserWarning, stacklevel=3)


def posterior_warnings(loaded: Loaded) -> list[str]:
    """Warning lines when a ``--posterior`` was fitted to another version of
    the scenario or by another resim (empty without a posterior)."""
    from .calibration.posterior import Posterior
    from .calibration.posterior import posterior_warnings as warnings_of

    return warnings_of(loaded, loaded.draws) if isinstance(loaded.draws, Posterior) else []


def simulate(
    scenario: Source,
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
    observed: str | Path | None = None,
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
    still writes the replications that finished, marked partial. Either way
    an interrupt raises ``resim.experiment.interrupts.Interrupted`` whose
    ``.results`` is the ``Results`` of the replications that finished
    (``interrupted`` True).

    A run estimated to take more than ``max_hours`` on its workers (default
    ``resim.experiment.budget.DEFAULT_MAX_HOURS``; ``math.inf`` for no limit)
    is refused before it starts, as ``resim run --max-hours`` does.

    With ``observed`` (a CSV in the calibration's format, checked before
    anything runs), the model is measured against its rows as ``resim run
    --observed`` does: ``Results.extra_tables`` holds ``observed_vs_model``
    and ``observed_fans``, ``Results.plot_fans()`` draws them."""
    target = None
    if target_ci is not None:
        from .experiment.sequential import parse_target

        target = parse_target(target_ci, target_kpis, target_abs)
    plan = plan_run(scenario, overrides, replications=replications, seed=seed, posterior=posterior,
                    target=target, workers=workers, max_memory=max_memory, max_hours=max_hours,
                    announce=workers is not None)
    _warn(posterior_warnings(plan.loaded))
    n = run_size(plan.loaded)
    extra = observed_extra(plan.loaded, observed)
    with progress_reporter(progress, "replications", n) as advance:
        if out is None:
            results, stop, _ = run(plan.loaded, plan.workers, advance, target=target, extra=extra)
        else:
            with RunFolder(out, "run", overwrite) as folder:
                results, stop, _ = run(plan.loaded, plan.workers, advance, folder, target=target, extra=extra)
    if stop is not None:
        raise stop
    return results


@dataclass(frozen=True)
class RunPlan:
    """A run checked before it starts: the scenario (with its draws), the
    precision target if any, and the workers it will use."""

    loaded: Loaded
    target: Target | None
    workers: int
    #: The line to print before a long run (its time estimate), else None.
    estimate: str | None = None


def plan_run(scenario: Source, overrides: Overrides = (), *, replications: int | None = None,
             seed: int | None = None, posterior: str | Path | None = None, target: Target | None = None,
             workers: int | None = None, max_memory: int | None = None, max_hours: str | float | None = None,
             announce: bool = True) -> RunPlan:
    """Load and check everything a run needs before any replication starts,
    as ``simulate`` and ``resim run`` both do: the scenario with
    ``replications`` and ``seed`` set, the posterior, the work and memory
    budgets (``max_hours``: the time estimate's limit), the target's
    automakers; ``workers`` (default: the cores)
    capped at the replications and 4 x the cores (``announce`` says so)."""
    from .experiment.replications import cap_workers, default_workers
    from .experiment.sequential import check_target

    meta = {k: v for k, v in (("scenario.replications", replications), ("scenario.seed", seed)) if v is not None}
    loaded = with_posterior(load_scenario(scenario, merge_overrides(overrides, meta)), posterior)
    n, units = loaded.scenario.scenario.replications, run_size(loaded)
    check_run(loaded.scenario, loaded.source, units)
    if target is not None:
        check_target(target, loaded)
    workers = cap_workers(max(1, workers or default_workers()), units, announce=announce)
    check_memory(loaded, workers, max_memory)
    what = f"{units // n} branches x {n:,} replications" if units > n else None
    estimate = time_budget(loaded, units, workers, max_hours, what)
    return RunPlan(loaded, target, workers, estimate)


def run_size(loaded: Loaded) -> int:
    """The replications a run simulates: the scenario's, once per ``[[branch]]``."""
    return loaded.scenario.scenario.replications * max(1, len(loaded.scenario.branch))  # type: ignore[attr-defined]


@contextmanager
def progress_reporter(progress: Progress, label: str, total: int) -> Iterator[Callable[[int], None] | None]:
    """What to call as work finishes: the caller's callable, or a rich
    progress bar (on stderr) - in a Jupyter notebook by default, also on a
    terminal with ``progress=True`` - or nothing."""
    if callable(progress) or progress is False:
        yield progress or None
        return
    with _progress_bar(label, total, forced=progress is True) as advance:
        yield advance


@contextmanager
def _progress_bar(label: str, total: int, forced: bool) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on stderr, shown in a notebook or when ``forced``
    (then as lines on stderr when piped)."""
    from rich.console import Console

    from .output.progress import ProgressBar

    console = Console(stderr=True)
    with ProgressBar(console, label, enabled=forced or console.is_jupyter) as bar:
        bar.total(total)
        yield bar.advance if bar.shown or forced else None


def observed_extra(loaded: Loaded, path: str | Path | None) -> Callable[[Results], dict[str, pd.DataFrame]] | None:
    """With an observed-data file: its rows checked now (one-line errors
    before anything runs) and the tables a finished run adds to its folder."""
    if path is None:
        return None
    from .calibration.observed_vs_model import observed_tables

    return observed_tables(loaded, path)


def _measure_observed(results: Results, path: str | Path) -> dict[str, pd.DataFrame]:
    from .calibration.observed_vs_model import observed_tables

    return observed_tables(results.loaded, path)(results)


def run(
    loaded: Loaded,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    folder: RunFolder | None = None,
    argv: Sequence[str] = (),
    target: Target | None = None,
    extra: Callable[[Results], Mapping[str, pd.DataFrame]] | None = None,
) -> tuple[Results, Interrupted | None, Decision | None]:
    """Run every replication of ``loaded`` and, given a locked ``folder``,
    write the results into it (staged, swapped in whole). With ``target``
    the scenario's replications are the most to run, and the third value is
    the sequential rule's decision (also written as sequential.json).

    An interrupt is returned, not raised, once what finished has been
    written (marked partial), so the caller can report it and exit 130/143;
    it is raised if no replication had finished (nothing to write).
    ``extra(results)`` gives further tables written into the folder with the
    others (``resim run --observed``).

    A scenario with ``[[branch]]`` tables runs every branch with the same
    seed (common random numbers); the default branch's ``Results`` is
    returned, with every branch's in ``.branches`` (written to
    ``branches/<name>/``)."""
    from .experiment.experiment import Experiment, Memory
    from .output.results import Results, set_observed_measure
    from .scenario import branch_scenarios

    set_observed_measure(_measure_observed)
    n = loaded.scenario.scenario.replications
    t0 = time.perf_counter()
    stop: Interrupted | None = None
    forks = branch_scenarios(loaded)
    points, main = _points(loaded, forks)
    held = Memory()
    exp = Experiment(points, n, target=target, workers=workers, sink=held,
                     progress=(lambda units, _failed: progress(units)) if progress else None)
    try:
        exp.run()
        outputs = [held.of(p, exp.kept(p)) for p in range(len(points))]
    except Interrupted as e:
        stop, outputs = e, _finished_in_all(held, len(points))
        if not outputs[main]:
            e.finished = None  # nothing finished: no Results to hand back
            raise
    every = [Results(pt, out, time.perf_counter() - t0, workers) for pt, out in zip(points, outputs, strict=True)]
    _mark(every, exp, target, n, stop)
    decision: Decision | None = exp.decisions[main] if exp.decisions else None
    results = every[main]
    results.branches = dict(zip(forks, every, strict=True)) if forks else {}
    if stop is not None:
        stop.finished = results
    if extra is not None:
        results.extra_tables.update(extra(results))
    if folder is not None:
        results.commit(folder, argv)
    return results, stop, decision


def _points(loaded: Loaded, forks: Mapping[str, Loaded]) -> tuple[list[Loaded], int]:
    """What a run simulates: each branch (or the scenario alone), and which is the default."""
    if not forks:
        return [loaded], 0
    return list(forks.values()), list(forks).index(loaded.scenario.scenario.default_branch)


def _mark(every: Sequence[Results], exp: Any, target: Target | None, n: int, stop: Interrupted | None) -> None:
    """Each point's sequential decision, replications asked and whether it was interrupted."""
    for p, res in enumerate(every):
        decided = exp.decisions[p] if exp.decisions else None
        if target is not None and decided is not None:
            res.sequential = {"target": target.to_json(), **decided.to_json()}
        res.asked, res.interrupted = n, stop is not None


def _finished_in_all(held: Any, points: int) -> list[list[Any]]:
    """After an interrupt: each point's replications that finished in every
    point (branches are compared replication by replication)."""
    finished = [held.of(p) for p in range(points)]
    common = set.intersection(*({o.replication for o in out} for out in finished))
    return [[o for o in out if o.replication in common] for out in finished]


def sweep(
    scenario: Source,
    grid: Mapping[str, Sequence[Any]] | None = None,
    sampler: str = "grid",
    ranges: Sequence[tuple[str, float, float]] = (),
    samples: int | None = None,
    replications: int | None = None,
    overrides: Overrides = (),
    posterior: str | Path | None = None,
    report: bool = True,
    **options: Any,
) -> SweepResults:
    """Run a sweep; see ``resim sweep --help``. A ``grid`` of values per key
    (``sampler="grid"``), or ``ranges`` ``(key, lo, hi)`` sampled by ``lhs``,
    ``qmc``, ``sobol`` or ``morris`` (``samples`` base points), each point
    run ``replications`` times with common random numbers. ``options`` are
    ``resim.experiment.sweeps.run_sweep``'s: ``workers``, ``dask``, ``out``,
    ``resume``, ``overwrite``, ``target``, progress callbacks, ...

    Raises ScenarioError on bad input (before anything is written) and
    ``Interrupted`` on Ctrl-C or SIGTERM, whose ``.results`` is a
    ``SweepResults`` of the units that finished (``partial`` True; the parts
    are kept: finish with ``resume=True``). ``report=False`` skips report.html."""
    from .experiment.sweeps import run_sweep
    from .output.sweep import SweepResults, write_report

    base = with_posterior(load_scenario(scenario, overrides), posterior)
    try:
        data = run_sweep(base, grid, sampler, ranges, samples, replications,
                         finishing=write_report if report else None, **options)
    except Interrupted as e:
        e.finished = SweepResults.of(e.finished) if e.finished is not None else None
        raise
    return SweepResults.of(data)


def compare(
    a: Source,
    b: Source | None = None,
    replications: int | None = None,
    overrides: Overrides = (),
    overrides_a: Overrides = (),
    overrides_b: Overrides = (),
    workers: int | None = None,
    posterior: str | Path | None = None,
    seed: int | None = None,
) -> Comparison:
    """Per automaker and KPI: A mean, B mean, paired B - A with 95% CI, the
    CI width ratio (independent / paired) and ``n`` pairs
    (``resim.experiment.comparison.compare_loaded``). B defaults to A with
    ``overrides_b`` applied and runs with A's seed (``seed``, default the
    scenario's: common random numbers); with ``posterior`` both draw
    replication r's fitted parameters from it, the same draw on both sides.
    Overrides are ``KEY=VALUE`` strings or dicts."""
    from .experiment.comparison import compare_loaded
    from .experiment.replications import cap_workers, default_workers
    from .output.comparison import Comparison, scenario_label

    extra = {"scenario.seed": seed} if seed is not None else {}
    la = with_posterior(load_scenario(a, merge_overrides(overrides, overrides_a, extra)), posterior)
    seed = la.scenario.scenario.seed
    lb = with_posterior(load_scenario(b if b is not None else a, merge_overrides(
        overrides, overrides_b, {"scenario.seed": seed})), posterior)
    n = replications or la.scenario.scenario.replications
    workers = cap_workers(max(1, workers or default_workers()), n, announce=workers is not None)
    frame = compare_loaded(la, lb, n, workers)
    table = Comparison(frame)
    table.attrs.update(frame.attrs, a=scenario_label(a, merge_overrides(overrides, overrides_a)),
                       b=scenario_label(b if b is not None else a, merge_overrides(overrides, overrides_b)))
    return table


def load_sweep(out: str | Path) -> SweepResults:
    """A finished sweep folder read back, with its figures and ``discover``."""
    from .output.sweep import SweepResults

    return SweepResults.load(out)
