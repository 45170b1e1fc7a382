"""The licence pipeline: applications in review by kind and stage, and decisions per month.

The stage split is rebuilt from the licence table's recorded waits and
services (the model records no daily occupancy), so it lives here, next to
the figure that draws it, and is tested against a hand-worked table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..rundata import RunData, RunSource, load_run
from .common import (
    APPROVED,
    PALETTE,
    REJECTED,
    STAGE_PALETTE,
    date_axis,
    empty_figure,
    headroom,
    legend_right,
    mark_events,
    month_bars,
    month_coverage,
    new_figure,
    note_partial_months,
    per_whole_month,
)

REWORK = "with exporter (rework)"


def day_grid(run: RunData) -> np.ndarray:
    """Whole days 0, 1, ... before the horizon."""
    return np.arange(0, int(math.ceil(run.horizon_days)))


def occupancy(rep_idx: np.ndarray, start: np.ndarray, end: np.ndarray, n_reps: int,
              n_days: int) -> np.ndarray:
    """Count of intervals [start, end) covering each whole day t, per replication.

    Returns an (n_reps, n_days) array: entry [r, t] is the number of intervals
    of replication r with start <= t < end.
    """
    keep = end > start
    width = n_days + 1
    a = np.clip(np.ceil(start[keep]), 0, n_days).astype(np.int64)
    b = np.clip(np.ceil(end[keep]), 0, n_days).astype(np.int64)
    base = rep_idx[keep].astype(np.int64) * width
    size = n_reps * width
    delta = np.bincount(base + a, minlength=size) - np.bincount(base + b, minlength=size)
    out = delta.reshape(n_reps, width)
    return np.cumsum(out, axis=1)[:, :n_days]


@dataclass(frozen=True)
class _Spans:
    """The applications' time in review: replication index, submission and
    end (decision, or the horizon) of each, on a grid of whole days."""

    ridx: np.ndarray
    start: np.ndarray
    end: np.ndarray
    n_reps: int
    n_days: int

    def occupy(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Mean count over replications, per day, of the intervals [a, b) (cut at the end of review)."""
        return occupancy(self.ridx, np.minimum(a, self.end), np.minimum(b, self.end), self.n_reps,
                         self.n_days).mean(axis=0)


def _recorded(run: RunData) -> tuple[list[int], pd.DataFrame]:
    """The replications, and the licence rows of those replications."""
    reps = run.replications or sorted(set(run.licences.get("replication", [])))
    lic = run.licences[run.licences["replication"].isin(reps)] if len(run.licences) else run.licences
    return reps, lic


def _by_kind(lic: pd.DataFrame, sp: _Spans) -> dict[str, np.ndarray]:
    """In-review count per kind of application [replications x days]."""
    kinds = lic["kind"].astype(str).to_numpy()
    return {kind: occupancy(sp.ridx[kinds == kind], sp.start[kinds == kind], sp.end[kinds == kind], sp.n_reps,
                            sp.n_days) for kind in dict.fromkeys(kinds)}


def _rework_stage(run: RunData) -> str | None:
    """The stage that sends files back for rework (the last stage when the scenario does not say)."""
    stages = run.stage_names
    at = run.scenario.get("licensing", {}).get("rework", {}).get("stage")
    return at if at in stages else (stages[-1] if stages else None)


def _by_stage(run: RunData, lic: pd.DataFrame, sp: _Spans) -> dict[str, np.ndarray]:
    """Mean count per review stage [days], the stages laid end to end from
    submission; the time in no stage is the exporter fixing a file, placed
    after the first visit to the rework stage."""
    stages = run.stage_names
    durations = {s: np.nan_to_num(lic[f"wait_{s}"].to_numpy(dtype=float))
                 + np.nan_to_num(lic[f"service_{s}"].to_numpy(dtype=float)) for s in stages}
    fixing = np.maximum(sp.end - sp.start - sum(durations.values(), np.zeros(len(lic))), 0.0)
    rework_at = _rework_stage(run)
    out: dict[str, np.ndarray] = {}
    t = sp.start.copy()
    for s in stages:
        dur = durations[s]
        if s != rework_at:
            out[s] = sp.occupy(t, t + dur)
            t = t + dur
            continue
        # the first visit, the fixes, then the later visits (visits share the time evenly)
        col = f"visits_{s}"
        first = dur / (np.maximum(lic[col].to_numpy(dtype=float), 1.0) if col in lic.columns else 1.0)
        out[s] = sp.occupy(t, t + first) + sp.occupy(t + first + fixing, t + dur + fixing)
        out[REWORK] = sp.occupy(t + first, t + first + fixing)
        t = t + dur + fixing
    return out


def pipeline(run: RunData) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(days, in-review count per kind [reps x days], mean count per stage [days])."""
    days = day_grid(run)
    reps, lic = _recorded(run)
    if not len(lic) or not reps:
        return days, {}, {}
    index = {r: i for i, r in enumerate(reps)}
    decided = lic["decided_day"].to_numpy(dtype=float)
    horizon = run.horizon_days
    sp = _Spans(lic["replication"].map(index).to_numpy(dtype=np.int64), lic["submitted_day"].to_numpy(dtype=float),
                np.minimum(np.where(np.isnan(decided), horizon, decided), horizon), len(reps), days.size)
    return days, _by_kind(lic, sp), _by_stage(run, lic, sp)


def licence_pipeline(source: RunSource) -> Figure:
    """Licence applications under review over time.

    Top panel: applications in review (submitted and not yet decided, or
    pending at the horizon) on each day, by kind: median over replications
    and 5–95% band. Bottom panel: the mean number of applications in each
    review stage (queue plus service), stacked.

    Approximation: the stage split is rebuilt from each application's
    recorded waits and services (per stage, summed over visits), laid end to
    end from its submission in stage order. The time not spent in any stage
    is the exporter fixing a file sent back for rework ("with exporter
    (rework)"); it is placed after the first visit to the rework stage, the
    stage's recorded time being shared evenly between its visits. Only
    applications in ``licences.parquet`` are
    counted: in a chain scenario that is the chain's own exporters, not the
    background load (which shows in the queue lengths of summary.json).
    """
    run = load_run(source)
    days, by_kind, by_stage = pipeline(run)
    if not by_kind:
        return empty_figure("Licence applications in review", "no licence applications recorded")
    when = run.day_to_datetime(days)
    fig = new_figure(9.5, 6.4)
    ax, ax2 = fig.subplots(2, 1, sharex=True)
    _kinds_panel(ax, run, when, by_kind)
    _stages_panel(ax2, run, when, by_stage)
    return fig


def _kinds_panel(ax: Any, run: RunData, when: Any, by_kind: dict[str, np.ndarray]) -> None:
    """Applications in review per kind: median over replications and 5–95% band."""
    for i, (kind, counts) in enumerate(by_kind.items()):
        lo, med, hi = np.percentile(counts, [5, 50, 95], axis=0)
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(when, lo, hi, color=colour, alpha=0.2, step="post",
                        label=f"{kind}: 5–95%")
        ax.step(when, med, where="post", color=colour, linewidth=1.8, label=f"{kind}: median")
    mark_events(ax, run)
    ax.set_ylabel("applications in review\n(count)")
    ax.set_ylim(bottom=0)
    headroom(ax, 0.12)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Licence applications in review, {len(run.replications)} replications")
    legend_right(ax)
    ax.grid(alpha=0.3)


def _stages_panel(ax2: Any, run: RunData, when: Any, by_stage: dict[str, np.ndarray]) -> None:
    """Mean applications per review stage, stacked (rework in grey, when there is any)."""
    labels = [k for k in by_stage if k != REWORK or by_stage[k].any()]
    stage_colours = iter(STAGE_PALETTE * (1 + len(labels) // len(STAGE_PALETTE)))
    colours = ["0.78" if k == REWORK else next(stage_colours) for k in labels]
    ax2.stackplot(when, *[by_stage[k] for k in labels], labels=labels, colors=colours,
                  alpha=0.85, step="post")
    mark_events(ax2, run, label=False)
    ax2.set_ylabel("mean applications\nper stage (count)")
    ax2.set_xlabel("date")
    ax2.set_ylim(bottom=0)
    headroom(ax2, 0.12)
    legend_right(ax2, title="review stage\n(approximate split)", title_fontsize=8)
    ax2.grid(alpha=0.3)
    date_axis(ax2)


def licence_decisions(source: RunSource) -> Figure:
    """Approvals and rejections per calendar month (by decision date).

    Bars are the mean number of decisions per replication in the month
    (every replication counts, with 0 for a month without decisions);
    applications still pending at the horizon are not counted. Months the
    run covers only in part are scaled to a whole month and hatched (less
    than half a month: left out and named), not drawn as a collapse.
    """
    run = load_run(source)
    lic = run.licences
    if not len(lic) or not run.replications:
        return empty_figure("Licence decisions per month", "no licence applications recorded")
    dec = lic[lic["outcome"].isin(["approved", "rejected"]) & lic["replication"].isin(run.replications)]
    if not len(dec):
        return empty_figure("Licence decisions per month", "no licence decided within the horizon")
    month = pd.DatetimeIndex(run.day_to_datetime(dec["decided_day"].to_numpy())).to_period("M")
    counts = (dec.assign(month=month).groupby(["replication", "month", "outcome"]).size()
              .unstack(["outcome"], fill_value=0))
    months = pd.period_range(month.min(), month.max(), freq="M")
    full = pd.MultiIndex.from_product([run.replications, months], names=["replication", "month"])
    counts = counts.reindex(full, fill_value=0)
    fig = new_figure(9.5, 4.6)
    ax = fig.add_subplot()
    x = months.to_timestamp().to_numpy().astype("datetime64[D]")
    coverage = month_coverage(run, months)
    for outcome, colour, shift in (("approved", APPROVED, 9), ("rejected", REJECTED, 20)):
        if outcome not in counts.columns:
            continue
        per = counts[outcome].unstack("month").reindex(columns=months, fill_value=0)
        month_bars(ax, x + np.timedelta64(shift, "D"), per_whole_month(per.mean(axis=0).to_numpy(), coverage),
                   coverage, outcome, width=11, color=colour, alpha=0.85)
    note_partial_months(ax, months, coverage)
    mark_events(ax, run)
    ax.set_ylabel("decisions per replication (count)")
    ax.set_xlabel("month of decision")
    ax.set_ylim(bottom=0)
    headroom(ax, 0.15)
    ax.set_title(f"Licence decisions per month, mean over {len(run.replications)} replications")
    legend_right(ax)
    ax.grid(axis="y", alpha=0.3)
    date_axis(ax)
    return fig


__all__ = ["REWORK", "licence_decisions", "licence_pipeline", "occupancy", "pipeline"]
