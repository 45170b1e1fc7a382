"""``Results``: what ``resim.simulate`` returns - a run's tables, with its figures and report.

The data (tables, summary, data files) belong to the results layer
(:class:`~resim.output.tables.RunTables`); this class adds what is drawn
from them - the plot methods, the HTML report written next to the data
files, and what a notebook shows when a cell ends with the object (the KPI
table with its intervals). Presentation depends on results and never the
reverse: nothing in the results layer imports this module.

The plot methods return figures that display themselves in Jupyter (see
``figures.common.ShownFigure``): no ``%matplotlib inline`` and no pyplot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ..experiment.runfolder import RunFolder
from ..model.records import Records
from ..scenario import Loaded
from ..scenario.errors import ScenarioError
from ..scenario.keys import did_you_mean
from .branches import BRANCHES, fork_day
from .figures import (
    inventory_fan,
    licence_decisions,
    licence_pipeline,
    lines_stopped_fan,
    monthly_flows,
    vehicles_lost_distribution,
)
from .figures.branches import branch_fans
from .figures.observed import observed_fans_figure
from .figures.prices import price_fan
from .notebook import results_html, results_text
from .report import write_report
from .rundata import from_tables, load_run
from .tables import RunTables

#: How an observed-data file is measured against a run, set by the interface
#: layer (``resim.api``): the series grammar belongs to the calibration layer,
#: which this layer may not import. It returns the tables ``resim run
#: --observed`` adds (``observed_vs_model``, ``observed_fans``).
ObservedTables = Callable[["Results", "str | Path"], "dict[str, pd.DataFrame]"]
_measure_observed: ObservedTables | None = None


def set_observed_measure(measure: ObservedTables) -> None:
    """Called once by ``resim.api`` with its way of measuring observed rows."""
    global _measure_observed
    _measure_observed = measure


class Results(RunTables):
    """All replications of one scenario run (SPEC §3 ``resim.simulate``).

    ``replications`` has one row per replication and automaker (real
    automakers only), ``totals`` one per replication for every automaker
    together; ``summary()`` is summary.json; the ``plot_*`` methods draw the
    report's figures. A scenario with ``[[branch]]`` tables has every
    branch's ``Results`` (the default's is this one) in ``branches``, by
    name; else ``branches`` is empty."""

    def __init__(self, loaded: Loaded, outputs: Sequence[Records], runtime_s: float, workers: int) -> None:
        super().__init__(loaded, outputs, runtime_s, workers)
        self.branches: dict[str, Results] = {}

    def write(self, out: str | Path, argv: Sequence[str] = (), overwrite: bool = False) -> Path:
        """Write every SPEC §4 file into ``out`` as one run folder, the way
        ``resim run --out`` does: staged beside it, marked complete and swapped
        in whole, so ``resim report`` accepts it, a failure leaves ``out`` as it
        was, and a second writer is refused. A folder that holds something
        other than a run (a sweep, other files) is replaced only with
        ``overwrite=True``."""
        with RunFolder(out, "run", overwrite=overwrite) as folder:
            return self.commit(folder, argv)

    def commit(self, folder: RunFolder, argv: Sequence[str] = ()) -> Path:
        """Write the files into ``folder`` (held by the caller) and mark them
        complete, or partial when an interrupt cut the run short."""
        return folder.commit(lambda d: self.write_files(d, argv), "partial" if self.interrupted else "complete",
                             replications=len(self.outputs), asked=self.asked,
                             scenario=self.scenario.scenario.name)

    def write_files(self, out: str | Path, argv: Sequence[str] = ()) -> Path:
        """The files of a run, in an existing folder: the data files, then
        report.html and plots/ (``write`` calls it on its staging folder)."""
        out = Path(out)
        for name, branch in self.branches.items():  # first: the report compares them
            branch.write_one(out / BRANCHES / name, argv)
        return self.write_one(out, argv)

    def write_one(self, out: str | Path, argv: Sequence[str] = ()) -> Path:
        """This run's own files (data, report.html, plots/), without its branches."""
        out = super().write(out, argv)
        write_report(out)
        return out

    # ---------------------------------------------------------------- display
    def __repr__(self) -> str:
        return results_text(self)

    def _repr_html_(self) -> str:
        return results_html(self)

    # ---------------------------------------------------------------- figures
    @property
    def automakers(self) -> list[str]:
        """The scenario's automaker entries, in scenario order."""
        return [a.name for a in self.scenario.automakers]

    def _automaker(self, name: str) -> str:
        """``name`` if the scenario has that automaker; else a ``ScenarioError``
        naming the choices, with a "did you mean" for a near miss (wrong case)."""
        names = self.automakers
        if name in names:
            return name
        choices = ", ".join(f'"{n}"' for n in names) or "none"
        raise ScenarioError(self.loaded.source, "automaker", "no automaker of that name", name,
                            extra=f"{did_you_mean(name, names)}; the automakers are {choices}")

    def plot_inventory(self, automaker: str) -> Figure:
        """Inventory fan chart (median, 5-95% band) of one automaker."""
        return inventory_fan(self, self._automaker(automaker))

    def plot_lines_stopped(self, automaker: str) -> Figure:
        """Share of an automaker entry's firms (lines) stopped, day by day (median, 5-95% band)."""
        return lines_stopped_fan(self, self._automaker(automaker))

    def plot_vehicles_lost(self) -> Figure:
        """Distribution of vehicles lost per automaker, with mean and CI."""
        return vehicles_lost_distribution(self)

    def plot_licences(self) -> Figure:
        """Applications in review over time, by kind and stage."""
        return licence_pipeline(self)

    def plot_decisions(self) -> Figure:
        """Licence decisions per month by outcome."""
        return licence_decisions(self)

    def plot_branches(self, automaker: str) -> Figure:
        """A forked scenario: one automaker's inventory fan in each branch, the fork marked."""
        if not self.branches:
            raise ScenarioError(self.loaded.source, "branch", "this scenario has no [[branch]] tables")
        runs = {name: load_run(r) for name, r in self.branches.items()}
        return branch_fans(runs, self._automaker(automaker), fork_day(self.scenario.file_form(), self.start_date))

    def plot_prices(self) -> Figure:
        """Price fans per item: spot and contract prices outside China and in
        China's domestic market (median, 5-95% band over replications) in
        USD/kg, as the report draws them. A scenario without ``[markets]``
        has no prices: a ``ScenarioError`` says so (``res.prices`` is then empty)."""
        if not self.has_markets:
            raise ScenarioError(self.loaded.source, "markets", "this scenario has no [markets] table, so no prices",
                                extra="; add [markets] (docs/markets.md) or --set markets.speed_per_day=0.02")
        return price_fan(self)

    def plot_flows(self) -> Figure:
        """Monthly tonnes shipped by destination and product."""
        return monthly_flows(self)

    def plot_fans(self, observed: str | Path | None = None) -> Figure:
        """The model's monthly fans of each series an observed-data file
        names, with its rows drawn on them (inside or outside the 5-95% band).

        ``observed``: a CSV in the calibration's format; without it, the
        tables of ``resim.simulate(..., observed=FILE)`` are drawn. A bad row
        raises ``ScenarioError`` naming the file, row and value."""
        run = from_tables(self)
        if observed is not None:
            if _measure_observed is None:
                raise RuntimeError("import resim (resim.api) to measure observed rows")
            tables = _measure_observed(self, observed)
            run.observed_vs_model, run.observed_fans = tables["observed_vs_model"], tables["observed_fans"]
        elif not len(run.observed_fans):
            raise ScenarioError(self.loaded.source, "observed", "no observed rows were set beside this run",
                                "none", extra="; pass observed=FILE, or run with resim.simulate(..., observed=FILE)")
        return observed_fans_figure(run)


__all__ = ["Results", "set_observed_measure"]
