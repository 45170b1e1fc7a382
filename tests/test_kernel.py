"""The kernel shim: the SimPy internals resim relies on are still there.

resim/kernel.py is the only module that touches SimPy's private attributes
(``_now``, ``_eid``, ``_ok``, ``_value``) and its event queue layout. If a
SimPy release changes them, these tests fail here, with the name of what
changed, instead of a simulation going wrong somewhere else.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import simpy
from packaging.specifiers import SpecifierSet

from resim.model import kernel

ROOT = Path(__file__).resolve().parent.parent


def test_the_installed_simpy_is_in_the_range_the_shim_was_checked_against() -> None:
    assert metadata.version("simpy") in SpecifierSet(kernel.SIMPY_VERSIONS)
    pyproject = (ROOT / "pyproject.toml").read_text()
    pinned = re.search(r'"simpy([^"]*)"', pyproject)
    assert pinned and SpecifierSet(pinned.group(1)) == SpecifierSet(kernel.SIMPY_VERSIONS)


def test_environment_internals() -> None:
    env = simpy.Environment(initial_time=2.5)
    assert env._now == 2.5 == env.now
    first = next(env._eid)
    assert next(env._eid) == first + 1
    env.timeout(1.0)
    when, priority, eid, event = env._queue[0]  # (time, priority, id, event)
    assert (when, priority) == (3.5, simpy.core.NORMAL) and isinstance(event, simpy.Timeout)


def test_a_triggered_event_is_rescheduled_with_its_value() -> None:
    env = simpy.Environment()
    seen: list[tuple[float, object]] = []
    ev = kernel.triggered(env, "payload")
    assert ev.ok and ev.value == "payload" and kernel.value_of(ev) == "payload"

    def again(event: simpy.Event) -> None:
        seen.append((env.now, kernel.value_of(event)))
        if len(seen) < 3:
            event.callbacks = [again]
            env.schedule(event, kernel.NORMAL, 2.0)

    ev.callbacks = [again]
    env.schedule(ev, kernel.NORMAL, 1.0)
    env.run()
    assert seen == [(1.0, "payload"), (3.0, "payload"), (5.0, "payload")]


def test_day_duties_run_after_ordinary_events_of_their_time_upstream_first() -> None:
    clock = kernel.Clock(10.0)
    order: list[str] = []
    clock.day_duty(3, 1, lambda _e: order.append("downstream duty"))
    clock.day_duty(3, 0, lambda _e: order.append("upstream duty"))
    clock.after(3.0, lambda _e: order.append("arrival at 3"))
    clock.after(2.999, lambda _e: order.append("arrival before 3"))
    clock.run()
    assert order == ["arrival before 3", "arrival at 3", "upstream duty", "downstream duty"]
    assert clock.now == 10.0 and clock.days == 10 and clock.events_scheduled() >= 4


def test_no_other_module_touches_simpy_internals() -> None:
    private = re.compile(r"\._(now|eid|ok|value|queue)\b")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "resim").rglob("*.py")
                 if p.name != "kernel.py" and private.search(p.read_text())]
    assert offenders == []


def test_a_self_event_is_scheduled_as_itself() -> None:
    class Job(kernel.SelfEvent):
        __slots__ = ("name",)

        def __init__(self, name: str):
            super().__init__()
            self.name = name

    env = simpy.Environment()
    seen: list[tuple[float, str]] = []
    job = Job("a")

    def again(obj: Job) -> None:
        seen.append((env.now, obj.name))
        if len(seen) < 2:
            obj.callbacks = [again]
            env.schedule(obj, kernel.NORMAL, 4.0)

    job.callbacks = [again]
    env.schedule(job, kernel.NORMAL, 1.5)
    env.run()
    assert seen == [(1.5, "a"), (5.5, "a")] and job.callbacks is None  # SimPy consumed them


def _sources() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in sorted((ROOT / "resim").rglob("*.py"))}


def offenders(pattern: str, allowed: str, sources: dict[str, str]) -> list[str]:
    """The modules but ``allowed`` whose text matches ``pattern``."""
    rx = re.compile(pattern)
    return [path for path, text in sources.items() if path != allowed and rx.search(text)]


ENV = r"\.env\b|\bimport simpy\b|\bfrom simpy\b"


def test_only_the_kernel_holds_the_simpy_environment() -> None:
    # Everything else schedules through the Clock (after, day_duty, process,
    # timeout, triggered, scheduler), so the kernel's contract is its methods.
    assert offenders(ENV, "resim/model/kernel.py", _sources()) == []


def test_a_module_reaching_for_the_environment_is_caught() -> None:
    sources = {"resim/model/kernel.py": "self.env = simpy.Environment()",
               "resim/model/licensing/x.py": "        self.env.timeout(3).callbacks.append(f)",
               "resim/model/licensing/y.py": "        self.clock.after(3, f)  # environmental"}
    assert offenders(ENV, "resim/model/kernel.py", sources) == ["resim/model/licensing/x.py"]
