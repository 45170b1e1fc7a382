"""What ``resim.compare`` returns: its table, shown in a notebook as B - A with intervals.

The statistics are ``resim.experiment.comparison``'s; this class only gives the table a
face. It stays a DataFrame (filter it, join it, ``to_parquet`` it), names A
and B in ``attrs`` and, ending a notebook cell, shows a table of both means
and the paired difference with its 95% CI rather than raw floats. The view
is drawn by ``resim.output.notebook``, imported only when asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd


class Comparison(pd.DataFrame):
    """``compare()``'s table, with A and B named in ``attrs["a"]`` and
    ``attrs["b"]``. Anything derived from it (a filter, a merge) is a plain
    DataFrame."""

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def __repr__(self) -> str:
        from .notebook import comparison_text

        return comparison_text(self)

    def _repr_html_(self) -> str:  # type: ignore[override]
        from .notebook import comparison_html

        return comparison_html(self)


def scenario_label(source: Any, changes: Iterable[str] | Mapping[str, Any] = ()) -> str:
    """A scenario and its changes as a reader names them:
    ``six_month_licences.toml with licensing.approval_rate=0.3``."""
    name = str(source) if isinstance(source, str | Path) else _scenario_name(source)
    sets = [f"{k}={v}" for k, v in changes.items()] if isinstance(changes, Mapping) else list(changes)
    return f"{name} with {' '.join(sets)}" if sets else name


def _scenario_name(source: Any) -> str:
    """The name of a loaded scenario or a scenario dict ("scenario" without one)."""
    meta = getattr(getattr(source, "scenario", None), "scenario", None)
    if getattr(meta, "name", None):
        return meta.name
    return (source.get("scenario", {}).get("name") if isinstance(source, Mapping) else None) or "scenario"


__all__ = ["Comparison", "scenario_label"]
