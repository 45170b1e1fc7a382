"""Columnar record tables: what the model writes, and all it writes.

Actors only append rows (one Python list per column, so an append is a few
list appends and no pandas); every KPI is a pure function of these tables
(``kpis.py``). This is Ciw's ``DataRecord`` idea, kept columnar so a
replication's records cross a process boundary as a handful of lists.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


class Table:
    """An append-only table with fixed columns."""

    __slots__ = ("columns", "data")

    def __init__(self, columns: list[str] | tuple[str, ...]):
        self.columns = tuple(columns)
        self.data: dict[str, list[Any]] = {c: [] for c in self.columns}

    def col(self, name: str) -> list[Any]:
        """The list behind a column, for actors that append on a hot path."""
        return self.data[name]

    def append(self, *values: Any) -> None:
        for c, v in zip(self.columns, values, strict=True):
            self.data[c].append(v)

    def __len__(self) -> int:
        return len(self.data[self.columns[0]]) if self.columns else 0

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.data, columns=list(self.columns))

    def __getstate__(self) -> dict[str, Any]:
        return {"columns": self.columns, "data": self.data}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.columns = state["columns"]
        self.data = state["data"]
