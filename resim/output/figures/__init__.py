"""Figures of a run or a sweep (matplotlib, Agg, no pyplot), one module per subject.

``common`` (figure factory, colours, axis helpers, saving), ``inventory``,
``kpis``, ``licences``, ``flows``, ``sweep``. This module lists the figures
of a run, in report order, with their captions. Each figure has a title, axis
labels with units, dates on time axes and a legend where there are several
series. Run figures accept a ``Results`` object, a finished run directory
(the files of SPEC §4) or a ``RunData``; sweep figures take a sweep summary.
"""

from __future__ import annotations

from pathlib import Path

from ..rundata import RunData, RunSource, load_run
from .common import Plot, save_figure, save_plots, slug, unique_stems
from .flows import monthly_flows
from .inventory import inventory_fan
from .kpis import vehicles_lost_distribution
from .licences import licence_decisions, licence_pipeline
from .observed import observed_fans_figure
from .populations import lines_stopped_fan
from .prices import price_fan
from .sweep import sweep_heatmap, sweep_lines

#: The run figures' files, so that a run's stale figures can be told from a user's own files.
RUN_PLOT_FILES = ("inventory_*.png", "lines_stopped_*.png", "vehicles_lost.png", "licence_pipeline.png",
                  "licence_decisions.png", "flows.png", "prices.png", "observed.png")


def _fans(run: RunData) -> list[Plot]:
    """An inventory fan per automaker, and a lines-stopped fan per population
    of firms, each with a file name of its own."""
    fans = run.automakers if len(run.timeseries) else []
    return _inventory_fans(run, fans) + _lines_stopped_fans(run, fans)


def _inventory_fans(run: RunData, fans: list[str]) -> list[Plot]:
    return [Plot(stem,
                 f"{name}: magnets on hand (t) day by day. The line is the median over replications, "
                 "the band holds 90% of them; grey days are days when at least half the replications "
                 "cannot build every vehicle. The lower panel gives the share of replications short "
                 "on each day. Dashed lines mark policy changes.",
                 inventory_fan(run, name))
            for name, stem in zip(fans, unique_stems(f"inventory_{slug(n)}" for n in fans), strict=True)]


def _lines_stopped_fans(run: RunData, fans: list[str]) -> list[Plot]:
    """Only for entries that are populations of firms (a single firm is short or not)."""
    firms = run.summary.get("firms", {})
    crowds = [n for n in fans if firms.get(n, 1) > 1]
    return [Plot(stem,
                 f"{name} ({firms[name]} firms): share of its firms short of magnets on each day. The line "
                 "is the median over replications, the band holds 90% of them; the dotted line is the "
                 "share of the entry's demand those firms carry. Dashed lines mark policy changes.",
                 lines_stopped_fan(run, name))
            for name, stem in zip(crowds, unique_stems(f"lines_stopped_{slug(n)}" for n in crowds), strict=True)]


def _vehicles_lost(run: RunData) -> list[Plot]:
    if not (len(run.kpis) and run.automakers):
        return []
    return [Plot("vehicles_lost",
                 "Vehicles lost per replication for each automaker: the box holds the middle half of "
                 "the replications, dots are single replications, the black diamond and bar are the "
                 "mean and its 95% confidence interval. Above a pile of dots at 0: the share of "
                 "replications that lost nothing.",
                 vehicles_lost_distribution(run))]


def _licences(run: RunData) -> list[Plot]:
    if not len(run.licences):
        return []
    return [Plot("licence_pipeline",
                 "Licence applications in review (filed, not yet decided) on each day: median and "
                 "5–95% band over replications by kind (top); mean number in each review stage, an "
                 "approximate split rebuilt from recorded waits and services (bottom).",
                 licence_pipeline(run)),
            Plot("licence_decisions",
                 "Licence decisions per month by outcome (mean number per replication, by month of "
                 "decision); applications still pending at the horizon are not counted. Hatched bars: "
                 "months the run covers only in part, scaled to a whole month.",
                 licence_decisions(run))]


def _flows(run: RunData) -> list[Plot]:
    if not len(run.flows):
        return []
    return [Plot("flows",
                 "Tonnes shipped per month by destination jurisdiction, one panel per product "
                 "(mean over replications, by month of departure). Hatched bars: the first or last "
                 "month, which the run covers only in part, scaled to a whole month (a month with "
                 "fewer than half its days simulated is not drawn; the legend names it).",
                 monthly_flows(run))]


def _observed(run: RunData) -> list[Plot]:
    if not len(run.observed_fans):
        return []
    return [Plot("observed",
                 "Observed rows (resim run --observed) on the model's monthly fans: band 5–95% and "
                 "25–75% of the replications, line the median; a dot is an observation inside the "
                 "5–95% band, a red cross one outside it (observed_vs_model.parquet has the numbers). "
                 "Dashed lines mark policy changes.",
                 observed_fans_figure(run))]


def _prices(run: RunData) -> list[Plot]:
    if not len(run.prices):
        return []
    return [Plot("prices",
                 "Prices per item in US dollars per kg (log scale): spot prices (solid: median over "
                 "replications, band: 5–95%) and contract prices (dashed: median, fainter band: 5–95%) "
                 "outside China and "
                 "in China's domestic market. Dashed grey lines mark policy changes.",
                 price_fan(run))]


def run_figures(source: RunSource) -> list[Plot]:
    """Every figure of a run, with captions: inventory fans per automaker,
    vehicles lost, licence pipeline and decisions, monthly flows. A scenario
    without automakers (the review office alone) gets the licence figures.
    Each automaker's fan has a file name of its own, even when two names
    slug alike (the second gets ``_2``)."""
    run = load_run(source)
    return [*_fans(run), *_vehicles_lost(run), *_licences(run), *_flows(run), *_prices(run), *_observed(run)]


def save_run_figures(plots: list[Plot], out_dir: str | Path) -> list[tuple[Path, Plot]]:
    """Write run figures into ``out_dir/plots/``, removing an earlier run's figures
    that these do not replace (say, of an automaker that is gone)."""
    return save_plots(plots, Path(out_dir), own=RUN_PLOT_FILES)


def save_run_plots(source: RunSource, out_dir: str | Path) -> list[Path]:
    """Write every run figure as ``out_dir/plots/<name>.png``; return the paths.

    Plots of an earlier run in the same directory that this run does not
    produce are removed, so ``plots/`` always matches the files next to it.
    """
    return [p for p, _ in save_run_figures(run_figures(source), out_dir)]


__all__ = [
    "RUN_PLOT_FILES", "Plot", "inventory_fan", "licence_decisions", "licence_pipeline", "lines_stopped_fan",
    "monthly_flows", "run_figures", "save_figure", "save_run_figures", "save_run_plots",
    "sweep_heatmap", "sweep_lines", "vehicles_lost_distribution",
]
