"""Shared fixtures."""

from __future__ import annotations

from typing import Any

import pytest

from chain_fixtures import small_chain


@pytest.fixture
def chain() -> dict[str, Any]:
    return small_chain()
