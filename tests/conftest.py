"""Shared fixtures, and the xdist group of the ``processes`` tests."""

from __future__ import annotations

import os
from typing import Any

import pytest

from chain_fixtures import small_chain

#: The xdist group every test marked ``processes`` joins: with ``--dist
#: loadgroup`` (pyproject's addopts) one worker runs them one after another,
#: so no two of them send signals, kill workers or count processes at once.
PROCESSES_GROUP = "processes"


def _module_fixture_user(item: pytest.Item) -> bool:
    """True if the test uses a module-scoped fixture (a run shared by the
    module's tests)."""
    info = getattr(item, "_fixtureinfo", None)
    return info is not None and any(d.scope == "module" for defs in info.name2fixturedefs.values() for d in defs)


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the groups (it does in this same hook)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("processes") is not None:
            item.add_marker(pytest.mark.xdist_group(PROCESSES_GROUP))
        elif _module_fixture_user(item):
            # one worker runs the tests that share a module's fixture, so the
            # fixture (often a multi-replication run) is made once, not once per worker
            item.add_marker(pytest.mark.xdist_group(f"module:{item.module.__name__}"))  # type: ignore[attr-defined]
    # The long tests first: xdist hands tests to whichever worker is free, so
    # the short ones then fill in at the end, instead of one long test running
    # alone on one core while the other has finished. (A stable sort: each
    # module's tests keep their order, and every worker collects the same.)
    items[:] = sorted(items, key=lambda item: item.get_closest_marker("slow") is None)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: a worker per core plus one. Many tests wait on child
    processes, files and locks, so a worker per core leaves cores idle: on 2
    cores the whole suite took 577 s with 2 workers and 464 s with 3 (the
    suite's CPU time, 885 s, is then nearly all the cores give)."""
    return (os.cpu_count() or 1) + 1


#: Set on a worker whose grouped tests lost their group (see below).
_LOST_GROUPS: list[str] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    """Find out whether xdist lost the groups: pytest-xdist tags a grouped
    test by a suffix of its node id (``...@processes``), which some pytest
    versions silently drop (pytest-dev/pytest-xdist#1386). The ``processes``
    tests would then run side by side and flake under load."""
    if getattr(session.config.option, "loadgroup", False):
        _LOST_GROUPS.extend(i.nodeid for i in session.items
                            if i.get_closest_marker("xdist_group") and "@" not in i.nodeid)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Every test fails, saying why, on a worker that lost the groups."""
    if _LOST_GROUPS:
        pytest.fail(f"pytest-xdist did not group {_LOST_GROUPS[0]} (and {len(_LOST_GROUPS) - 1} more): this "
                    "pytest breaks --dist loadgroup; install the [test] extra's pytest (<9.2)", pytrace=False)


@pytest.fixture
def chain() -> dict[str, Any]:
    return small_chain()
