"""Executors: where units of work run (in process, a process pool, Dask).

Executors only schedule. The caller gives a picklable ``work(payload,
units) -> results`` (one result per unit, same order), the ``payload`` every
unit needs (the loaded scenario, the design points) and the units (e.g.
replication indices). The payload reaches each worker process once, through
the pool's initializer (inherited, not pickled, under fork): tasks carry only
their units, so a 32-unit chunk no longer pickles the scenario 32 times.

Faults are contained:

* A worker that dies (the OOM killer, a segfault) breaks a process pool and
  every task in it. The pool is rebuilt; tasks that were queued go back to the
  new pool, and the units of the tasks that may have been running when it
  broke are rerun one at a time, each in a fresh process of its own, so the
  unit that kills its process is found and becomes ``died(unit, reason)``
  (a failure row with its seed) while the others finish normally.
* Ctrl-C / SIGTERM (:class:`resim.experiment.interrupts.Interrupted`) or any other
  exception cancels the queue and ends the worker processes at once (within
  seconds, not after the queue has run), then propagates.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from ..scenario.errors import ScenarioError
from .interrupts import worker_signals

U = TypeVar("U")
Work = Callable[[Any, Sequence[Any]], list[Any]]
Died = Callable[[Any, str], Any]

#: Tasks a process pool may have handed to workers beyond one per worker
#: (concurrent.futures keeps ``workers + 1`` calls in its call queue).
_IN_FLIGHT_EXTRA = 1

_PAYLOAD: Any = None


def _install(payload: Any) -> None:
    """Pool initializer: keep the payload for the tasks; set worker signals."""
    global _PAYLOAD
    _PAYLOAD = payload
    worker_signals()


def _call(work: Work, units: Sequence[Any]) -> list[Any]:
    return work(_PAYLOAD, units)


def _context() -> mp.context.BaseContext:
    """Fork where the platform has it: workers inherit the imported modules
    and the payload (no start-up import or pickling cost), and a user's
    script is never re-run as ``__main__`` in the workers."""
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else methods[0])


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"its worker process was killed by {name} (out of memory?)"
    return f"its worker process died (exit code {exitcode})"


class _Pool:
    """A process pool whose workers never outlive it: leaving the block by an
    exception cancels queued tasks and terminates the workers it started."""

    def __init__(self, workers: int, payload: Any):
        self.workers = workers
        self.payload = payload
        self.procs: list[mp.process.BaseProcess] = []

    def __enter__(self) -> _Pool:
        self._before = set(mp.active_children())
        self.pool = ProcessPoolExecutor(self.workers, mp_context=_context(), initializer=_install,
                                        initargs=(self.payload,))
        return self

    def started(self) -> None:
        """Note the worker processes (call after the first submit).

        The executor's own table comes first: a worker that dies at once (a
        unit that kills its process) may already be reaped, and so missing
        from ``mp.active_children()``, by the time this runs, and then its
        exit code - the reason reported for the unit - would be lost. The
        table is private to ``concurrent.futures``, hence the fallback.
        """
        table = getattr(self.pool, "_processes", None) or {}
        own = list(table.values())
        self.procs = own + [p for p in mp.active_children() if p not in self._before and p not in own]

    def __exit__(self, typ: object, exc: object, tb: object) -> None:
        if typ is None:
            self.pool.shutdown(wait=True)
            return
        self.pool.shutdown(wait=False, cancel_futures=True)
        _stop({*self.procs, *(p for p in mp.active_children() if p not in self._before)})


def _stop(procs: set[Any]) -> None:
    """Terminate the processes, then kill those still alive after 3 s (each
    gets its SIGTERM before any is waited for)."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=3)
        if p.is_alive():
            p.kill()
            p.join(timeout=3)


def _isolated(work: Work, payload: Any, unit: Any, died: Died) -> list[Any]:
    """Run one unit in a process of its own; its death becomes ``died``."""
    with _Pool(1, payload) as pool:
        fut = pool.pool.submit(_call, work, [unit])
        pool.started()
        try:
            return fut.result()
        except BrokenProcessPool:
            # Let the executor finish with its dead worker first: its manager
            # thread reaps the process, and a join racing it can see the pid
            # gone before the exit code is stored (exit code None).
            pool.pool.shutdown(wait=True)
            proc = pool.procs[0] if pool.procs else None
            if proc is not None:
                proc.join(timeout=3)
            return [died(unit, _death(proc.exitcode if proc is not None else None))]


def _pool_run(work: Work, payload: Any, chunks: list[list[Any]], workers: int,
              died: Died) -> Iterator[tuple[list[Any], list[Any]]]:
    pending = list(range(len(chunks)))
    while pending:
        lost: list[int] = []
        yield from _pool_pass(work, payload, chunks, pending, workers, lost)
        lost.sort()
        # The first tasks still unfinished in submission order are the ones
        # the workers held; one of them killed its worker. The rest were queued.
        suspects, pending = lost[:workers + _IN_FLIGHT_EXTRA], lost[workers + _IN_FLIGHT_EXTRA:]
        for i in suspects:
            for unit in chunks[i]:
                yield [unit], _isolated(work, payload, unit, died)


def _pool_pass(work: Work, payload: Any, chunks: list[list[Any]], pending: list[int], workers: int,
               lost: list[int]) -> Iterator[tuple[list[Any], list[Any]]]:
    """One pool over the ``pending`` chunks: each chunk and its result as it
    finishes; the chunks a broken pool took down go to ``lost``."""
    with _Pool(min(workers, len(pending)), payload) as pool:
        futures = {pool.pool.submit(_call, work, chunks[i]): i for i in pending}
        pool.started()
        waiting = set(futures)
        while waiting:
            finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for fut in sorted(finished, key=futures.__getitem__):
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    lost.append(futures[fut])
                    continue
                yield chunks[futures[fut]], result


def chunked(units: Sequence[U], size: int) -> list[list[U]]:
    """``units`` cut into consecutive chunks of at most ``size``."""
    size = max(1, size)
    return [list(units[i:i + size]) for i in range(0, len(units), size)]


def execute(
    work: Work,
    payload: Any,
    units: Sequence[Any],
    *,
    workers: int = 1,
    chunk: int = 1,
    died: Died,
    dask: DaskConnection | None = None,
) -> Iterator[tuple[list[Any], list[Any]]]:
    """Run ``work(payload, chunk_of_units)`` over ``units``; yield
    ``(chunk, results)`` as chunks finish, in any order (callers order results
    by unit, so the executor never changes them).

    In process when ``workers <= 1`` and no ``dask``; a local process pool
    otherwise; or the Dask cluster of ``dask``.
    """
    chunks = chunked(units, chunk)
    if dask is not None:
        yield from dask.run(work, payload, chunks, died)
    elif workers <= 1 or len(chunks) <= 1:
        for c in chunks:
            yield c, work(payload, c)
    else:
        yield from _pool_run(work, payload, chunks, workers, died)


def _apply(fn: Callable[..., Any], units: Sequence[tuple[int, tuple[Any, ...]]]) -> list[tuple[int, Any]]:
    return [(i, fn(*task)) for i, task in units]


def _task_died(unit: tuple[int, tuple[Any, ...]], reason: str) -> Any:
    raise RuntimeError(f"task {unit[0]} failed: {reason}")


def map_tasks(fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], workers: int = 1,
              dask: DaskConnection | None = None) -> Iterator[tuple[int, Any]]:
    """``fn(*task)`` for each task on the same executors, yielding ``(task
    index, result)`` as they finish (callers order by index). For work with
    no failure row of its own (calibration's candidate batches): a task
    whose worker process dies raises."""
    units = list(enumerate(tasks))
    for _, results in execute(_apply, fn, units, workers=workers, chunk=1, died=_task_died, dask=dask):
        yield from results


def _dask_call(work: Work, payload: Any, units: Sequence[Any]) -> list[Any]:
    return work(payload, units)


class DaskConnection:
    """A connected Dask client (and the cluster, for ``local``).

    Connecting is the first thing a ``--dask`` sweep does, before anything
    is written: a bad address is bad input (exit 2), not an internal error.
    ``local`` starts a cluster on 127.0.0.1 with TLS and a throw-away
    certificate (``Security.temporary()``), so other users of the machine
    cannot submit work to its workers.
    """

    def __init__(self, address: str, workers: int):
        try:
            from distributed import Client, LocalCluster
            from distributed.security import Security
        except ImportError:
            raise ScenarioError("--dask", "", "needs dask.distributed: pip install 'resim[dask]'") from None
        self.cluster: Any = None
        if address == "local":
            sec = Security.temporary()
            self.cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                                        host="127.0.0.1", protocol="tls://", security=sec,
                                        dashboard_address=None)
            self.client = Client(self.cluster, security=sec)
            return
        try:
            self.client = Client(address, timeout=10)
        except Exception as e:  # noqa: BLE001 - any failure to connect is a bad address
            raise ScenarioError("--dask", "", f"cannot connect to a Dask scheduler there "
                                f"({type(e).__name__}: {e})", address) from None

    def run(self, work: Work, payload: Any, chunks: list[list[Any]],
            died: Died) -> Iterator[tuple[list[Any], list[Any]]]:
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        shared = self.client.scatter(payload, broadcast=True)
        futures = [self.client.submit(_dask_call, work, shared, c, pure=False) for c in chunks]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in as_completed(futures):
                i = index[fut.key]
                try:
                    result = fut.result()
                except KilledWorker as e:
                    result = [died(u, f"its Dask worker died ({e})") for u in chunks[i]]
                yield chunks[i], result
        finally:
            self.client.cancel(futures)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> DaskConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["DaskConnection", "chunked", "execute", "map_tasks"]
