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
        # a finished table may hold arrays (the model's daily rows): it takes no more rows
        self._appends = [getattr(self.data[c], "append", None) for c in self.columns]


@dataclass
class Records:
    """Everything one replication produced, and the one type that crosses
    the process boundary: the model fills the record tables (``run_one``); the
    worker adds the replication's KPIs and its monthly shipments, drops the
    tables nobody asked for (per-firm rows, daily stocks) and the raw flows,
    and sends the rest back (plain lists: cheap to pickle). A replication that
    failed is one of these with only ``error`` set."""

    replication: int
    timeseries: Table | None = None
    firms: Table | None = None
    stocks: Table | None = None
    costs: Table | None = None
    licences: Table | None = None
    flows: Table | None = None
    events: Table | None = None
    stages: Table | None = None
    prices: Table | None = None  # spot and contract prices, only with [markets] (markets.price_table)
    payments: Table | None = None  # what each delivery was paid, only with [markets] payments (markets.payments)
    ledger: dict[str, np.ndarray] = field(default_factory=dict)
    elements: list[str] = field(default_factory=list)
    sim_events: int = 0
    runtime_s: float = 0.0
    automakers: list[dict[str, Any]] = field(default_factory=list)
    kpis: pd.DataFrame | None = None  # per entry and "all" (kpis.replication_kpis), set by the worker
    monthly: pd.DataFrame | None = None  # tonnes shipped by departure month, set by the worker
    error: str | None = None
