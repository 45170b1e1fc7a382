"""``Results``: what ``resim.simulate`` returns - a run's tables, with its figures and report.

The data (tables, summary, data files) belong to the results layer
(:class:`~resim.output.tables.RunTables`); this class adds what is drawn
from them - the plot methods and the HTML report written next to the data
files. Presentation depends on results and never the reverse: nothing in the
results layer imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from .figures import inventory_fan, licence_pipeline, monthly_flows, vehicles_lost_distribution
from .report import write_report
from .tables import RunTables


class Results(RunTables):
    """All replications of one scenario run (SPEC §3 ``resim.simulate``)."""

    def write(self, out: str | Path, argv: Sequence[str] = ()) -> Path:
        """Write every SPEC §4 file into ``out``: the data files, then report.html and plots/."""
        out = super().write(out, argv)
        write_report(out)
        return out

    def plot_inventory(self, automaker: str) -> Figure:
        """Inventory fan chart (median, 5-95% band) of one automaker."""
        return inventory_fan(self, automaker)

    def plot_vehicles_lost(self) -> Figure:
        """Distribution of vehicles lost per automaker, with mean and CI."""
        return vehicles_lost_distribution(self)

    def plot_licences(self) -> Figure:
        """Applications in review over time, by kind and stage."""
        return licence_pipeline(self)

    def plot_flows(self) -> Figure:
        """Monthly tonnes shipped by destination and product."""
        return monthly_flows(self)


__all__ = ["Results"]
