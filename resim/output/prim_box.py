"""PRIM in a notebook, as EMA Workbench users know it.

``box = res.discover("vehicles_lost > 100k")`` on a sweep's results gives a
``PrimBox`` over PRIM's peeling trajectory (``resim.experiment.discovery``):

* ``box.show_tradeoff()``: coverage against density of every box of the
  trajectory, coloured by the number of keys restricted (a figure);
* ``box.inspect(i)``: box ``i``'s coverage, density and mass, and per key it
  restricts its limits and quasi-p-value (a binomial test of the box's
  density against the box without that restriction, as EMA defines it);
* ``box.select(i)``: box ``i`` becomes the answer (its words, its limits).

It starts at the box ``resim discover`` picks: the densest keeping
``min_coverage`` of the hits, with restrictions whose quasi-p-value is above
``max_quasi_p`` dropped.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..experiment.discovery import Discovery
from ..experiment.prim import Box
from .figures.common import PALETTE, new_figure
from .figures.sensitivity import trajectory_points


class PrimBox:
    """PRIM's trajectory over a sweep, with the box chosen so far (``found``)."""

    def __init__(self, found: Discovery):
        self.found = found

    @property
    def peeling_trajectory(self) -> pd.DataFrame:
        """One row per box of the trajectory: coverage, density, mass, res_dim (EMA's columns)."""
        return pd.DataFrame([{"id": i, "coverage": b.coverage, "density": b.density, "mass": b.mass,
                              "res_dim": len(b.restricted)} for i, b in enumerate(self.found.trajectory.boxes)])

    def _box(self, i: int | None) -> tuple[int | None, Box]:
        if i is None:
            return self.found.chosen if not self.found.freed else None, self.found.box
        return i, self.found.select(i).box

    def inspect(self, i: int | None = None) -> pd.DataFrame:
        """Box ``i`` of the trajectory (default: the chosen one): prints its
        statistics and returns its limits, one row per restricted key (min,
        max, quasi-p-value; the sweep's range where the box leaves a side open)."""
        which, box = self._box(i)
        name = "chosen box" if which is None else f"box {which}"
        print(f"{name}: coverage {box.coverage:.3f}, density {box.density:.3f}, mass {box.mass:.3f}, "
              f"{len(box.restricted)} key(s) restricted")
        rows = [{"key": lim["key"], "min": lim["range"][0] if lim["low"] is None else lim["low"],
                 "max": lim["range"][1] if lim["high"] is None else lim["high"], "qp value": lim["quasi_p"]}
                for lim in self.found.limits(box)]
        return pd.DataFrame(rows, columns=["key", "min", "max", "qp value"]).set_index("key")

    def select(self, i: int) -> PrimBox:
        """Box ``i`` of the trajectory becomes the answer, with all its restrictions."""
        self.found = self.found.select(i)
        return self

    def show_tradeoff(self) -> Figure:
        """Coverage against density along the peeling trajectory, coloured by
        the keys each box restricts; the selected box marked."""
        t = self.found.trajectory
        fig = new_figure(6.4, 4.8)
        ax = fig.add_subplot()
        sc, top = trajectory_points(ax, t.boxes)
        b = self.found.box
        ax.scatter([b.coverage], [b.density], marker="*", s=200, color=PALETTE[3], zorder=4,
                   label="selected" if not self.found.freed else "chosen (insignificant restrictions dropped)")
        ax.set_xlabel("coverage")
        ax.set_ylabel("density")
        fig.colorbar(sc, ax=ax, label="nr. of restricted dimensions", ticks=range(top + 1))
        ax.legend(fontsize=8, loc="lower left")
        ax.grid(alpha=0.3)
        ax.set_title(" and ".join(str(c) for c in self.found.where), fontsize=10)
        return fig

    def words(self) -> str:
        return self.found.words()

    def __repr__(self) -> str:
        return self.found.words()

    def _repr_html_(self) -> str:
        from markupsafe import escape

        return f"<p>{escape(self.found.words())}</p>"

    def __getattr__(self, name: str) -> Any:  # the Discovery's data (keys, trajectory, box, ...)
        if name == "found":
            raise AttributeError(name)
        return getattr(self.found, name)


__all__ = ["PrimBox"]
