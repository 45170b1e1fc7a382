"""What ``resim.sweep`` returns: a finished sweep's data with its figures and notebook view.

The data are the experiment layer's (``resim.experiment.sweeps.SweepData``);
this class adds what is drawn from them, as ``Results`` does for a run, so
nothing below the output layer imports matplotlib or the report.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ..experiment.sweeps import SweepData, load_sweep
from .prim_box import PrimBox


class SweepResults(SweepData):
    """A finished sweep: ``points``, ``results`` (tidy), per-point ``summary``,
    and for sobol and morris designs ``sensitivity``."""

    @classmethod
    def of(cls, data: SweepData) -> SweepResults:
        return cls(**{f.name: getattr(data, f.name) for f in fields(SweepData)})

    @classmethod
    def load(cls, out: str | Path) -> SweepResults:
        """Read a finished sweep folder back."""
        return cls.of(load_sweep(out))

    def __repr__(self) -> str:
        from .notebook import sweep_text

        return sweep_text(self)

    def _repr_html_(self) -> str:
        from .notebook import sweep_html

        return sweep_html(self)

    def plot_heatmap(self, x: str, y: str, metric: str = "vehicles_lost", automaker: str = "all") -> Figure:
        from .figures.sweep import sweep_heatmap

        return sweep_heatmap(self.summary, x, y, metric, automaker)

    def plot_lines(self, x: str, metric: str = "vehicles_lost", automaker: str = "all",
                   by: str | None = None) -> Figure:
        from .figures.sweep import sweep_lines

        return sweep_lines(self.summary, x, metric, automaker, by)

    def plot_scatter(self, metric: str = "vehicles_lost", automaker: str = "all") -> Figure:
        """Each point's mean against each swept key, with binned means (sampled designs)."""
        from .figures.scatter import sweep_scatter

        return sweep_scatter(self.summary, self.keys, metric, automaker)

    def discover(self, where: str, automaker: str = "all", min_coverage: float = 0.8,
                 max_quasi_p: float = 0.05) -> PrimBox:
        """PRIM over this sweep, as ``resim discover``: a PrimBox with
        ``show_tradeoff()``, ``inspect(i)`` and ``select(i)`` (EMA Workbench's names)."""
        from ..experiment.discovery import discover

        return PrimBox(discover(self.out, where, automaker, min_coverage, max_quasi_p))

    def plot_sensitivity(self, kpi: str = "vehicles_lost") -> Figure:
        """Sobol or Morris indices of ``kpi`` with their CIs (sobol and morris sweeps)."""
        from .figures.sensitivity import index_bars

        if self.sensitivity is None:
            raise ValueError(f"a {self.sampler} sweep has no sensitivity indices; use --sampler sobol or morris")
        return index_bars(self.sensitivity, kpi)


def write_report(data: SweepData) -> None:
    """report.html of a sweep whose swept keys are all numbers."""
    points = data.points
    if len(data.summary) and all(pd.api.types.is_numeric_dtype(points[k]) for k in data.keys):
        from .report import write_sweep_report

        write_sweep_report(data.out, data.summary, data.keys)


__all__ = ["SweepResults", "write_report"]
