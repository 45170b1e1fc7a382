"""Shared fixtures, and the xdist group of the ``processes`` tests."""

from __future__ import annotations

from typing import Any

import pytest

from chain_fixtures import small_chain

#: The xdist group every test marked ``processes`` joins: with ``--dist
#: loadgroup`` (pyproject's addopts) one worker runs them one after another,
#: so no two of them send signals, kill workers or count processes at once.
PROCESSES_GROUP = "processes"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("processes") is not None:
            item.add_marker(pytest.mark.xdist_group(PROCESSES_GROUP))
    # The long tests first: xdist hands tests to whichever worker is free, so
    # the short ones then fill in at the end, instead of one long test running
    # alone on one core while the other has finished. (A stable sort: each
    # module's tests keep their order, and every worker collects the same.)
    items[:] = sorted(items, key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def chain() -> dict[str, Any]:
    return small_chain()
