"""Columnar record tables: what the model writes, and all it writes.

Actors only append rows (one Python list per column, so an append is a few
list appends and no pandas); every KPI is a pure function of these tables
(``kpis.py``). This is Ciw's ``DataRecord`` idea, kept columnar so a
replication's records cross a process boundary as a handful of lists.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from operator import call
from typing import Any

import numpy as np
import pandas as pd

_drain = deque(maxlen=0).extend


class Table:
    """An append-only table with fixed columns."""

    __slots__ = ("columns", "data", "_appends")

    def __init__(self, columns: list[str] | tuple[str, ...]):
        self.columns = tuple(columns)
        self.data: dict[str, list[Any]] = {c: [] for c in self.columns}
        self._appends = [self.data[c].append for c in self.columns]

    def append(self, *values: Any) -> None:
        """One row (a value per column, in order): one list append per column,
        looped in C."""
        if len(values) != len(self._appends):
            raise ValueError(f"{len(values)} values for {len(self._appends)} columns")
        _drain(map(call, self._appends, values))

    def __len__(self) -> int:
        return len(self.data[self.columns[0]]) if self.columns else 0

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.data, columns=list(self.columns))

    def __getstate__(self) -> dict[str, Any]:
        return {"columns": self.columns, "data": self.data}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.columns = state["columns"]
        self.data = state["data"]
        self._appends = [self.data[c].append for c in self.columns]


@dataclass
class Records:
    """Everything one replication produced (plain lists; cheap to pickle)."""

    replication: int
    timeseries: Table
    firms: Table
    stocks: Table
    costs: Table
    licences: Table
    flows: Table
    events: Table
    stages: Table
    ledger: dict[str, np.ndarray]
    elements: list[str]
    sim_events: int
    runtime_s: float
    automakers: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
