"""Figures of a run or a sweep (matplotlib, Agg, no pyplot).

Every function builds a ``matplotlib.figure.Figure`` on its own Agg canvas and
returns it, so nothing touches pyplot's global state: figures can be made in a
notebook, a worker process or a test without a display and without leaking
open figures. Each figure has a title, axis labels with units, dates on time
axes and a legend where there are several series.

Run figures accept a ``Results`` object, a finished run directory (the files
of SPEC §4) or a ``RunData`` (what :func:`load_run` returns). Sweep figures
take a summary DataFrame with one row per design point x automaker.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from .store import atomic_write

if TYPE_CHECKING:
    from .results import Results

DPI = 110
# boxplot(vert=False) became boxplot(orientation="horizontal") in matplotlib 3.10
_HORIZONTAL: dict[str, Any] = (
    {"orientation": "horizontal"}
    if tuple(int(p) for p in re.findall(r"\d+", matplotlib.__version__)[:2]) >= (3, 10)
    else {"vert": False}
)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
APPROVED, REJECTED = "#2ca02c", "#d62728"
POLICY_COLOUR = "#6a3d9a"
REWORK = "with exporter (rework)"
STAGE_PALETTE = ("#9467bd", "#e377c2", "#17becf", "#bcbd22", "#8c564b", "#1f77b4")

#: Metric -> (label, unit) for axis labels and tables.
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "vehicles_lost": ("vehicles lost", "vehicles"),
    "shortfall_t": ("magnet shortfall", "t"),
    "stockout_days": ("stockout days", "days"),
    "first_stockout_day": ("first stockout", "day of run"),
    "longest_stoppage_days": ("longest stoppage", "days"),
    "fill_rate": ("fill rate", "share of demand"),
    "stockout_probability": ("stockout probability", "share of replications"),
}


# ---------------------------------------------------------------- run data
@dataclass
class RunData:
    """The tables of one finished run, from memory or from its directory."""

    title: str
    start_date: date
    horizon_days: float
    replications: list[int]
    kpis: pd.DataFrame
    timeseries: pd.DataFrame
    licences: pd.DataFrame
    flows: pd.DataFrame
    summary: dict[str, Any]
    events: list[tuple[float, str]] = field(default_factory=list)
    scenario: dict[str, Any] = field(default_factory=dict)

    @property
    def automakers(self) -> list[str]:
        """Automaker names in scenario order (without the ``all`` aggregate)."""
        names = [str(n) for n in self.summary.get("kpis", {}) if n != "all"]
        if not names and len(self.timeseries):
            names = [str(n) for n in dict.fromkeys(self.timeseries["automaker"])]
        return names

    @property
    def stage_names(self) -> list[str]:
        """Review stages in order (from the licence table's ``wait_<stage>`` columns)."""
        cols = [c[5:] for c in self.licences.columns if c.startswith("wait_")]
        if cols:
            return cols
        return list(self.summary.get("licensing", {}).get("stage_wait_days", {}))

    def day_to_datetime(self, day: Any) -> np.ndarray:
        """Simulation days (floats) as numpy datetimes (for date axes)."""
        d = np.asarray(day, dtype=float)
        minutes = np.round(d * 1440.0).astype("int64").astype("timedelta64[m]")
        return np.datetime64(self.start_date, "m") + minutes


def policy_label(key: str, value: Any) -> str:
    """``licensing.approval_rate``, 0.6 -> ``approval rate → 0.6``."""
    last = re.sub(r"\[.*?\]", "", key).split(".")[-1].replace("_", " ")
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{last} → {value}"


def _events_from_rows(rows: Iterable[tuple[float, str, str, Any]]) -> list[tuple[float, str]]:
    by_day: dict[float, list[str]] = {}
    for day, kind, key, value in rows:
        if kind != "policy":
            continue
        by_day.setdefault(float(day), []).append(policy_label(str(key), value))
    return sorted((d, "; ".join(labels)) for d, labels in by_day.items())


def _ok_replications(summary: dict[str, Any]) -> list[int]:
    failed = {f["replication"] for f in summary.get("failed_replications", [])}
    return [r for r in range(int(summary.get("replications", 0))) if r not in failed]


def _read_parquet(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()


def load_run(source: Results | RunData | str | Path) -> RunData:
    """Collect a run's tables from a ``Results`` object or a run directory."""
    if isinstance(source, RunData):
        return source
    if isinstance(source, str | Path):
        return _load_dir(Path(source))
    res = source
    summary = res.summary()
    ev = res.events
    rows = [(r.day, r.kind, r.key, json.loads(r.value)) for r in ev.itertuples()] if len(ev) else []
    scenario = res.scenario.model_dump(by_alias=True, exclude_none=True)
    return RunData(
        title=res.scenario.scenario.name, start_date=res.start_date,
        horizon_days=float(res.scenario.scenario.horizon), replications=_ok_replications(summary),
        kpis=res.replications, timeseries=res.timeseries, licences=res.licences, flows=res.flows,
        summary=summary, events=_events_from_rows(rows), scenario=scenario,
    )


def _load_dir(out: Path) -> RunData:
    summary_path = out / "summary.json"
    if not summary_path.is_file():
        raise FileNotFoundError(f"{out} is not a finished run directory (no summary.json)")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    scenario: dict[str, Any] = {}
    resolved = out / "scenario.resolved.toml"
    if resolved.is_file():
        scenario = tomllib.loads(resolved.read_text(encoding="utf-8"))
    rows = [(e["day"], e.get("kind", "policy"), e["key"], e["value"]) for e in summary.get("events", [])]
    return RunData(
        title=str(summary.get("scenario", out.name)),
        start_date=date.fromisoformat(summary["start_date"]),
        horizon_days=float(summary["horizon_days"]),
        replications=_ok_replications(summary),
        kpis=_read_parquet(out / "replications.parquet"),
        timeseries=_read_parquet(out / "timeseries.parquet"),
        licences=_read_parquet(out / "licences.parquet"),
        flows=_read_parquet(out / "flows.parquet"),
        summary=summary, events=_events_from_rows(rows), scenario=scenario,
    )


# ---------------------------------------------------------------- helpers
def new_figure(width: float = 9.0, height: float = 5.0) -> Figure:
    """A Figure with its own Agg canvas and constrained layout (no pyplot)."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def compact(x: float | None) -> str:
    """A short human number: 1.23M, 255k, 85.0, 0.77; '–' for missing."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    a = abs(x)
    if a >= 1e6:
        return f"{x / 1e6:.2f}M"
    if a >= 1e4:
        return f"{x / 1e3:.3g}k"
    if a >= 100:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


_THOUSANDS = FuncFormatter(lambda v, _pos: f"{v:,.0f}" if abs(v) < 1e6 else f"{v / 1e6:g}M")


def _date_label(value: float, pos: int | None) -> str:
    d = mdates.num2date(value)
    if pos == 0 or d.month == 1 and d.day == 1:
        return d.strftime("%b\n%Y") if d.day == 1 else d.strftime("%d %b\n%Y")
    return d.strftime("%b") if d.day == 1 else d.strftime("%d %b")


def _date_axis(ax: Any) -> None:
    """Month ticks on a time axis, with the year on the first tick and on January."""
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=10))
    ax.xaxis.set_major_formatter(FuncFormatter(_date_label))


def _mark_events(ax: Any, run: RunData, label: bool = True) -> None:
    """Dashed vertical lines at policy changes; labelled at the top of the axis."""
    for i, (day, text) in enumerate(run.events):
        when = run.day_to_datetime(day)
        ax.axvline(when, color=POLICY_COLOUR, linestyle="--", linewidth=1.2,
                   label="policy change" if i == 0 else None)
        if label:
            ax.annotate(text, xy=(when, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3, -3 - 11 * (i % 3)), textcoords="offset points",
                        fontsize=8, color=POLICY_COLOUR, va="top", ha="left",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})


def _legend_right(ax: Any, **kwargs: Any) -> None:
    """A legend outside the axes on the right, so it hides neither data nor policy labels."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8,
              framealpha=0.9, **kwargs)


def _headroom(ax: Any, frac: float = 0.3) -> None:
    """Raise the top of the y axis so an upper legend does not cover the data."""
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + frac * (hi - lo))


def _slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()
    return s or "automaker"


def _day_grid(run: RunData) -> np.ndarray:
    """Whole days 0, 1, ... before the horizon."""
    return np.arange(0, int(math.ceil(run.horizon_days)))


def _occupancy(rep_idx: np.ndarray, start: np.ndarray, end: np.ndarray, n_reps: int,
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


def _empty_figure(title: str, message: str) -> Figure:
    fig = new_figure(8, 3)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=11)
    return fig


# ---------------------------------------------------------------- run figures
def inventory_fan(source: Results | RunData | str | Path, automaker: str) -> Figure:
    """Magnet inventory of one automaker over calendar time, across replications.

    Top panel: the median (line) and the 5–95% band of ``inventory_t`` over
    replications, day by day, in tonnes; a line at 0 t (stockout) and grey
    shading on the days when at least half the replications are short (the
    median replication cannot build every vehicle). Bottom panel: the share of
    replications short on each day. Policy changes are dashed vertical lines
    labelled with what changed.
    """
    run = load_run(source)
    ts = run.timeseries
    g = ts[ts["automaker"] == automaker] if len(ts) else ts
    if not len(g):
        return _empty_figure(f"{automaker}: magnet inventory", "no daily records for this automaker")
    q = g.groupby("day")["inventory_t"].quantile([0.05, 0.5, 0.95]).unstack()
    short = (g["shortfall_t"] > 0).groupby(g["day"]).mean() * 100.0
    when = run.day_to_datetime(q.index.to_numpy())
    fig = new_figure(9.5, 5.6)
    ax, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    ax.fill_between(when, q[0.05], q[0.95], color=PALETTE[0], alpha=0.25,
                    label="5–95% of replications")
    ax.plot(when, q[0.5], color=PALETTE[0], linewidth=2, label="median")
    ax.axhline(0.0, color="black", linewidth=1.0, label="stockout (0 t)")
    majority_short = short.reindex(q.index).to_numpy() >= 50.0
    if majority_short.any():
        ax.fill_between(when, 0, 1, where=majority_short, transform=ax.get_xaxis_transform(),
                        color="0.5", alpha=0.18, step="mid", linewidth=0,
                        label="median replication short")
    _mark_events(ax, run)
    ax.set_ylabel("magnet inventory (t)")
    ax.set_ylim(bottom=min(0.0, float(q[0.05].min())) - 0.03 * max(float(q[0.95].max()), 1.0))
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_title(f"{automaker}: magnet inventory, {len(run.replications)} replications")
    _legend_right(ax)
    ax.grid(alpha=0.3)
    ax2.fill_between(run.day_to_datetime(short.index.to_numpy()), 0, short.to_numpy(),
                     step="mid", color=PALETTE[3], alpha=0.5, linewidth=0)
    _mark_events(ax2, run, label=False)
    ax2.set_ylim(0, 100)
    ax2.yaxis.set_major_formatter(PercentFormatter(100))
    ax2.set_ylabel("replications\nshort (%)")
    ax2.set_xlabel("date")
    ax2.grid(alpha=0.3)
    _date_axis(ax2)
    return fig


def vehicles_lost_distribution(source: Results | RunData | str | Path) -> Figure:
    """Distribution over replications of each automaker's vehicles lost.

    One horizontal box (quartiles, dotted whiskers to 1.5 IQR) per automaker with
    every replication as a dot, and the mean with its 95% confidence interval
    (from summary.json) as a black diamond and bar. Automakers described by
    tonnes rather than vehicles (``demand_t_per_day``) have no vehicle count;
    if none has one, the figure shows the magnet shortfall in tonnes instead.
    """
    run = load_run(source)
    df = run.kpis
    if len(df) and "error" in df.columns:
        df = df[df["error"].isna()]
    names = [n for n in run.automakers if len(df) and (df["automaker"] == n).any()]
    if not names:
        return _empty_figure("Vehicles lost", "no automakers in this scenario")
    metric = "vehicles_lost"
    if not df[df["automaker"].isin(names)][metric].notna().any():
        metric = "shortfall_t"
    names = [n for n in names if df.loc[df["automaker"] == n, metric].notna().any()]
    label, unit = METRIC_LABELS[metric]
    data = [df.loc[df["automaker"] == n, metric].dropna().to_numpy(dtype=float) for n in names]
    fig = new_figure(9.0, 1.6 + 0.9 * len(names))
    ax = fig.add_subplot()
    pos = np.arange(len(names))[::-1]
    ax.boxplot(data, positions=pos, widths=0.5, showfliers=False, **_HORIZONTAL,
               patch_artist=True, boxprops={"facecolor": "#dbe7f3", "edgecolor": PALETTE[0]},
               whiskerprops={"color": PALETTE[0], "linestyle": ":"},
               capprops={"color": PALETTE[0]}, medianprops={"color": PALETTE[0], "linewidth": 2})
    rng = np.random.default_rng(0)  # jitter only; fixed so the figure is reproducible
    for i, (p, x) in enumerate(zip(pos, data, strict=True)):
        ax.scatter(x, p + rng.uniform(-0.18, 0.18, x.size), s=12, alpha=0.55,
                   color=PALETTE[i % len(PALETTE)], zorder=3,
                   label="one replication" if i == 0 else None)
        block = run.summary.get("kpis", {}).get(names[i], {}).get(metric, {})
        mean, ci = block.get("mean"), block.get("ci95") or [None, None]
        if mean is not None:
            lo = mean - ci[0] if ci[0] is not None else 0.0
            hi = ci[1] - mean if ci[1] is not None else 0.0
            ax.errorbar([mean], [p], xerr=[[lo], [hi]], fmt="D", color="black", markersize=6,
                        elinewidth=2.2, capsize=5, capthick=2.2, zorder=4, label="mean and 95% CI" if i == 0 else None)
    ax.set_yticks(pos, names)
    ax.set_ylabel("automaker")
    ax.xaxis.set_major_formatter(_THOUSANDS)
    ax.set_xlabel(f"{label} per replication ({unit})")
    ax.set_xlim(left=min(0.0, min((float(x.min()) for x in data if x.size), default=0.0)))
    ax.set_title(f"{label.capitalize()} over {len(run.replications)} replications "
                 f"({run.horizon_days:g} days from {run.start_date})")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    return fig


def _pipeline(run: RunData) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(days, in-review count per kind [reps x days], mean count per stage [days])."""
    days = _day_grid(run)
    n_days = days.size
    reps = run.replications or sorted(set(run.licences.get("replication", [])))
    index = {r: i for i, r in enumerate(reps)}
    lic = run.licences[run.licences["replication"].isin(index)] if len(run.licences) else run.licences
    by_kind: dict[str, np.ndarray] = {}
    by_stage: dict[str, np.ndarray] = {}
    if not len(lic) or not reps:
        return days, by_kind, by_stage
    horizon = run.horizon_days
    start = lic["submitted_day"].to_numpy(dtype=float)
    decided = lic["decided_day"].to_numpy(dtype=float)
    end = np.minimum(np.where(np.isnan(decided), horizon, decided), horizon)
    ridx = lic["replication"].map(index).to_numpy(dtype=np.int64)
    n_reps = len(reps)
    kinds = lic["kind"].astype(str).to_numpy()
    for kind in dict.fromkeys(kinds):
        m = kinds == kind
        by_kind[kind] = _occupancy(ridx[m], start[m], end[m], n_reps, n_days)
    stages = run.stage_names
    durations = {s: np.nan_to_num(lic[f"wait_{s}"].to_numpy(dtype=float))
                 + np.nan_to_num(lic[f"service_{s}"].to_numpy(dtype=float)) for s in stages}
    # Time not spent in any stage is the exporter fixing a file sent back for rework.
    fixing = np.maximum(end - start - sum(durations.values(), np.zeros(len(lic))), 0.0)
    rework_at = run.scenario.get("licensing", {}).get("rework", {}).get("stage")
    if rework_at not in stages:
        rework_at = stages[-1] if stages else None
    rework = REWORK

    def occupy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return _occupancy(ridx, np.minimum(a, end), np.minimum(b, end), n_reps, n_days).mean(axis=0)

    t = start.copy()
    for s in stages:
        dur = durations[s]
        if s != rework_at:
            by_stage[s] = occupy(t, t + dur)
            t = t + dur
            continue
        # the first visit, the fixes, then the later visits (visits share the time evenly)
        col = f"visits_{s}"
        visits = np.maximum(lic[col].to_numpy(dtype=float), 1.0) if col in lic.columns else 1.0
        first = dur / visits
        by_stage[s] = occupy(t, t + first) + occupy(t + first + fixing, t + dur + fixing)
        by_stage[rework] = occupy(t + first, t + first + fixing)
        t = t + dur + fixing
    return days, by_kind, by_stage


def licence_pipeline(source: Results | RunData | str | Path) -> Figure:
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
    days, by_kind, by_stage = _pipeline(run)
    if not by_kind:
        return _empty_figure("Licence applications in review", "no licence applications recorded")
    when = run.day_to_datetime(days)
    fig = new_figure(9.5, 6.4)
    ax, ax2 = fig.subplots(2, 1, sharex=True)
    for i, (kind, counts) in enumerate(by_kind.items()):
        lo, med, hi = np.percentile(counts, [5, 50, 95], axis=0)
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(when, lo, hi, color=colour, alpha=0.2, step="post",
                        label=f"{kind}: 5–95%")
        ax.step(when, med, where="post", color=colour, linewidth=1.8, label=f"{kind}: median")
    _mark_events(ax, run)
    ax.set_ylabel("applications in review\n(count)")
    ax.set_ylim(bottom=0)
    _headroom(ax, 0.12)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Licence applications in review, {len(run.replications)} replications")
    _legend_right(ax)
    ax.grid(alpha=0.3)
    labels = [k for k in by_stage if k != REWORK or by_stage[k].any()]
    stage_colours = iter(STAGE_PALETTE * (1 + len(labels) // len(STAGE_PALETTE)))
    colours = ["0.78" if k == REWORK else next(stage_colours) for k in labels]
    ax2.stackplot(when, *[by_stage[k] for k in labels], labels=labels, colors=colours,
                  alpha=0.85, step="post")
    _mark_events(ax2, run, label=False)
    ax2.set_ylabel("mean applications\nper stage (count)")
    ax2.set_xlabel("date")
    ax2.set_ylim(bottom=0)
    _headroom(ax2, 0.12)
    _legend_right(ax2, title="review stage\n(approximate split)", title_fontsize=8)
    ax2.grid(alpha=0.3)
    _date_axis(ax2)
    return fig


def licence_decisions(source: Results | RunData | str | Path) -> Figure:
    """Approvals and rejections per calendar month (by decision date).

    Bars are the mean number of decisions per replication in the month
    (every replication counts, with 0 for a month without decisions);
    applications still pending at the horizon are not counted.
    """
    run = load_run(source)
    lic = run.licences
    if not len(lic) or not run.replications:
        return _empty_figure("Licence decisions per month", "no licence applications recorded")
    dec = lic[lic["outcome"].isin(["approved", "rejected"]) & lic["replication"].isin(run.replications)]
    if not len(dec):
        return _empty_figure("Licence decisions per month", "no licence decided within the horizon")
    month = pd.DatetimeIndex(run.day_to_datetime(dec["decided_day"].to_numpy())).to_period("M")
    counts = (dec.assign(month=month).groupby(["replication", "month", "outcome"]).size()
              .unstack(["outcome"], fill_value=0))
    months = pd.period_range(month.min(), month.max(), freq="M")
    full = pd.MultiIndex.from_product([run.replications, months], names=["replication", "month"])
    counts = counts.reindex(full, fill_value=0)
    fig = new_figure(9.5, 4.6)
    ax = fig.add_subplot()
    x = months.to_timestamp().to_numpy().astype("datetime64[D]")
    for outcome, colour, shift in (("approved", APPROVED, 9), ("rejected", REJECTED, 20)):
        if outcome not in counts.columns:
            continue
        per = counts[outcome].unstack("month").reindex(columns=months, fill_value=0)
        ax.bar(x + np.timedelta64(shift, "D"), per.mean(axis=0).to_numpy(), width=11,
               color=colour, alpha=0.85, label=outcome)
    _mark_events(ax, run)
    ax.set_ylabel("decisions per replication (count)")
    ax.set_xlabel("month of decision")
    ax.set_ylim(bottom=0)
    _headroom(ax, 0.15)
    ax.set_title(f"Licence decisions per month, mean over {len(run.replications)} replications")
    _legend_right(ax)
    ax.grid(axis="y", alpha=0.3)
    _date_axis(ax)
    return fig


PRODUCTS = ("concentrate", "oxide", "magnet")


def monthly_flows(source: Results | RunData | str | Path) -> Figure:
    """Tonnes shipped per month (by departure) by destination, one panel per product.

    Stacked bars of the mean over replications (a month with no shipment in
    a replication counts as 0 t); colours are destination jurisdictions, the
    same in every panel.
    """
    run = load_run(source)
    fl = run.flows
    if not len(fl) or not run.replications:
        return _empty_figure("Monthly shipments", "no shipments recorded")
    fl = fl[fl["replication"].isin(run.replications)]
    tot = fl.groupby(["product", "month", "destination"])["tonnes"].sum() / len(run.replications)
    products = [p for p in PRODUCTS if p in tot.index.get_level_values(0)]
    products += sorted(set(tot.index.get_level_values(0)) - set(products))
    dests = sorted(set(fl["destination"].astype(str)))
    colour = {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(dests)}
    months = pd.period_range(min(fl["month"]), max(fl["month"]), freq="M")
    x = months.to_timestamp().to_numpy().astype("datetime64[D]") + np.timedelta64(15, "D")
    fig = new_figure(9.5, 1.2 + 2.3 * len(products))
    axes = np.atleast_1d(fig.subplots(len(products), 1, sharex=True, squeeze=False)[:, 0])
    for ax, product in zip(axes, products, strict=True):
        table = tot.loc[product].unstack("destination", fill_value=0.0)
        table.index = pd.PeriodIndex(table.index, freq="M")
        table = table.reindex(months, fill_value=0.0)
        bottom = np.zeros(len(months))
        for d in dests:
            if d not in table.columns or not table[d].any():
                continue
            ax.bar(x, table[d].to_numpy(), bottom=bottom, width=24, color=colour[d],
                   label=f"to {d}")
            bottom += table[d].to_numpy()
        ax.set_ylabel(f"{product}\n(t per month)")
        _headroom(ax, 0.12)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: compact(v) if v else "0"))
        _legend_right(ax, title="destination", title_fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        _mark_events(ax, run, label=ax is axes[0])
    axes[0].set_title(f"Monthly shipments by destination and product, mean over "
                      f"{len(run.replications)} replications")
    axes[-1].set_xlabel("month of departure")
    _date_axis(axes[-1])
    return fig


# ---------------------------------------------------------------- all run figures
@dataclass(frozen=True)
class Plot:
    """A rendered run figure: file stem, caption, and the Figure."""

    name: str
    caption: str
    figure: Figure


def run_figures(source: Results | RunData | str | Path) -> list[Plot]:
    """Every figure of a run, with captions: inventory fans per automaker,
    vehicles lost, licence pipeline and decisions, monthly flows. A scenario
    without automakers (the review office alone) gets the licence figures."""
    run = load_run(source)
    out: list[Plot] = []
    has_ts = len(run.timeseries) > 0
    for name in run.automakers if has_ts else []:
        out.append(Plot(
            f"inventory_{_slug(name)}",
            f"{name}: magnets on hand (t) day by day. The line is the median over replications, "
            "the band holds 90% of them; grey days are days when at least half the replications "
            "cannot build every vehicle. The lower panel gives the share of replications short "
            "on each day. Dashed lines mark policy changes.",
            inventory_fan(run, name)))
    if len(run.kpis) and run.automakers:
        out.append(Plot(
            "vehicles_lost",
            "Vehicles lost per replication for each automaker: the box holds the middle half of "
            "the replications, dots are single replications, the black diamond and bar are the "
            "mean and its 95% confidence interval.",
            vehicles_lost_distribution(run)))
    if len(run.licences):
        out.append(Plot(
            "licence_pipeline",
            "Licence applications in review (filed, not yet decided) on each day: median and "
            "5–95% band over replications by kind (top); mean number in each review stage, an "
            "approximate split rebuilt from recorded waits and services (bottom).",
            licence_pipeline(run)))
        out.append(Plot(
            "licence_decisions",
            "Licence decisions per month by outcome (mean number per replication, by month of "
            "decision); applications still pending at the horizon are not counted.",
            licence_decisions(run)))
    if len(run.flows):
        out.append(Plot(
            "flows",
            "Tonnes shipped per month by destination jurisdiction, one panel per product "
            "(mean over replications, by month of departure).",
            monthly_flows(run)))
    return out


_OWN_PLOTS = ("inventory_*.png", "vehicles_lost.png", "licence_pipeline.png",
              "licence_decisions.png", "flows.png")


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write a figure as PNG (atomically) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI))
    return path


def save_run_plots(source: Results | RunData | str | Path, out_dir: str | Path) -> list[Path]:
    """Write every run figure as ``out_dir/plots/<name>.png``; return the paths.

    Plots of an earlier run in the same directory that this run does not
    produce (say, an automaker that is gone) are removed, so ``plots/``
    always matches the files next to it.
    """
    return [p for p, _ in _save_plots(run_figures(source), Path(out_dir))]


def _save_plots(plots: Sequence[Plot], out_dir: Path) -> list[tuple[Path, Plot]]:
    plot_dir = out_dir / "plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    written = [(save_figure(p.figure, plot_dir / f"{p.name}.png"), p) for p in plots]
    keep = {path for path, _ in written}
    for pattern in _OWN_PLOTS:
        for old in plot_dir.glob(pattern):
            if old not in keep:
                old.unlink()
    return written


# ---------------------------------------------------------------- sweeps
def key_label(key: str) -> str:
    """An axis label for a scenario key, with its unit when the name gives one."""
    last = key.split(".")[-1]
    if last.endswith("_t_per_day"):
        unit = "t/day"
    elif last.endswith(("_days", "_day")) or last in ("horizon", "duration"):
        unit = "days"
    elif last.endswith("_t"):
        unit = "t"
    elif last.endswith(("rate", "probability", "share", "_fraction")) or last == "de_minimis":
        unit = "share"
    elif last.endswith("_per_day"):
        unit = "per day"
    elif last == "reviewers":
        unit = "reviewers"
    else:
        return key
    return f"{key} ({unit})"


def metric_label(metric: str) -> str:
    """``vehicles_lost`` -> ``vehicles lost (vehicles)``."""
    label, unit = METRIC_LABELS.get(metric, (metric.replace("_", " "), ""))
    return f"{label} ({unit})" if unit else label


def with_mean(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``summary`` with a ``{metric}_mean`` column: a sweep summary gives a proportion
    such as ``stockout_probability`` under its bare name."""
    if f"{metric}_mean" not in summary.columns and metric in summary.columns:
        return summary.assign(**{f"{metric}_mean": summary[metric]})
    return summary


def _check_metric(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    summary = with_mean(summary, metric)
    if f"{metric}_mean" not in summary.columns:
        raise ValueError(f"summary has no column {metric + '_mean'!r} (metrics: "
                         f"{sorted(c[:-5] for c in summary.columns if c.endswith('_mean'))})")
    return summary


def _select(summary: pd.DataFrame, metric: str, automaker: str) -> pd.DataFrame:
    """The rows of one automaker, with a ``{metric}_mean`` column."""
    summary = _check_metric(summary, metric)
    if "automaker" in summary.columns:
        if automaker not in set(summary["automaker"].astype(str)):
            raise ValueError(f"no rows for automaker {automaker!r} (have: "
                             f"{sorted(set(summary['automaker'].astype(str)))})")
        summary = summary[summary["automaker"].astype(str) == automaker]
    return summary


def _sorted_values(values: Iterable[Any]) -> list[Any]:
    vals = list(dict.fromkeys(values))
    try:
        return sorted(vals)
    except TypeError:
        return vals


def _who(automaker: str) -> str:
    return "All automakers" if automaker == "all" else automaker


def _tick(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def sweep_heatmap(summary: pd.DataFrame, x: str, y: str, metric: str,
                  automaker: str = "all") -> Figure:
    """Mean of ``metric`` over a grid of two swept keys, one cell per design point.

    ``summary`` has one row per design point x automaker with a column per
    swept key, ``automaker``, and ``{metric}_mean``, ``{metric}_ci_low``,
    ``{metric}_ci_high``. Each cell is annotated with the mean and, below it,
    the 95% confidence interval. Raises ``ValueError`` if a cell has several
    rows (filter the other swept keys first).
    """
    df = _select(summary, metric, automaker)
    dup = df.duplicated([x, y])
    if dup.any():
        raise ValueError(f"several rows per ({x}, {y}) cell: filter the other swept keys first")
    xs, ys = _sorted_values(df[x]), _sorted_values(df[y])
    grid = np.full((len(ys), len(xs)), np.nan)
    lo = np.full_like(grid, np.nan)
    hi = np.full_like(grid, np.nan)
    for _, row in df.iterrows():
        i, j = ys.index(row[y]), xs.index(row[x])
        grid[i, j] = row[f"{metric}_mean"]
        lo[i, j] = row.get(f"{metric}_ci_low", np.nan)
        hi[i, j] = row.get(f"{metric}_ci_high", np.nan)
    fig = new_figure(max(6.5, 2.6 + 1.25 * len(xs)), 1.8 + 0.75 * len(ys))
    ax = fig.add_subplot()
    masked = np.ma.masked_invalid(grid)
    im = ax.imshow(masked, cmap="viridis_r" if metric != "fill_rate" else "viridis",
                   aspect="auto", origin="lower")
    finite = grid[np.isfinite(grid)]
    mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
    for i in range(len(ys)):
        for j in range(len(xs)):
            v = grid[i, j]
            if not np.isfinite(v):
                ax.text(j, i, "–", ha="center", va="center", fontsize=9, color="0.4")
                continue
            dark = (v > mid) if metric != "fill_rate" else (v < mid)
            colour = "white" if dark else "black"
            ax.text(j, i + 0.08, compact(float(v)), ha="center", va="center", fontsize=10.5,
                    color=colour)
            if np.isfinite(lo[i, j]) and np.isfinite(hi[i, j]):
                ax.text(j, i - 0.22, f"[{compact(float(lo[i, j]))}, {compact(float(hi[i, j]))}]",
                        ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(len(xs)), [_tick(v) for v in xs])
    ax.set_yticks(range(len(ys)), [_tick(v) for v in ys])
    ax.set_xlabel(key_label(x))
    ax.set_ylabel(key_label(y))
    cbar = fig.colorbar(im, ax=ax)
    label, unit = METRIC_LABELS.get(metric, (metric.replace("_", " "), ""))
    cbar.set_label(f"mean {label}" + (f"\n({unit})" if unit else ""))
    if finite.size and np.nanmax(np.abs(finite)) >= 1000:
        cbar.ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_title(f"{_who(automaker)}: mean {label} [95% CI]\nby design point")
    return fig


def sweep_lines(summary: pd.DataFrame, x: str, metric: str, automaker: str = "all",
                by: str | None = None) -> Figure:
    """Mean of ``metric`` against one swept key, with its 95% confidence band.

    With ``by``, one line (and band) per value of that second swept key;
    ``by="automaker"`` compares automakers instead (the ``automaker`` filter
    is then ignored). Non-numeric values of ``x`` are spaced evenly.
    """
    df = _check_metric(summary, metric) if by == "automaker" else _select(summary, metric, automaker)
    groups: list[tuple[Any, pd.DataFrame]] = (
        [(v, df[df[by] == v]) for v in _sorted_values(df[by])] if by else [(None, df)]
    )
    if any(g.duplicated([x]).any() for _, g in groups):
        raise ValueError(f"several rows per value of {x}: pass by= or filter the other swept keys")
    xs = _sorted_values(df[x])
    numeric = all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
                  for v in xs)
    pos = {v: (float(v) if numeric else float(i)) for i, v in enumerate(xs)}
    fig = new_figure(8.5, 4.8)
    ax = fig.add_subplot()
    for i, (value, g) in enumerate(groups):
        g = g.assign(_x=g[x].map(pos)).sort_values("_x")
        colour = PALETTE[i % len(PALETTE)]
        name = (str(value) if by == "automaker" else f"{by} = {_tick(value)}") if by else "mean"
        ax.plot(g["_x"], g[f"{metric}_mean"], marker="o", color=colour, label=name)
        if f"{metric}_ci_low" in g.columns and f"{metric}_ci_high" in g.columns:
            ax.fill_between(g["_x"], g[f"{metric}_ci_low"].astype(float),
                            g[f"{metric}_ci_high"].astype(float), color=colour,
                            alpha=0.2 if len(groups) == 1 else 0.1,
                            label="95% CI" if i == 0 else None)
    if not numeric:
        ax.set_xticks(list(pos.values()), [_tick(v) for v in xs])
    ax.set_xlabel(key_label(x))
    ax.set_ylabel(f"mean {metric_label(metric)}")
    if abs(np.nanmax(np.abs(df[f"{metric}_mean"].to_numpy(dtype=float)), initial=0.0)) >= 1000:
        ax.yaxis.set_major_formatter(_THOUSANDS)
    who = "By automaker" if by == "automaker" else _who(automaker)
    ax.set_title(f"{who}: mean {METRIC_LABELS.get(metric, (metric,))[0]} and 95% CI "
                 f"against {x.split('.')[-1]}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, framealpha=0.9)
    return fig


__all__ = [
    "Plot", "RunData", "compact", "inventory_fan", "key_label", "licence_decisions",
    "licence_pipeline", "load_run", "metric_label", "monthly_flows", "new_figure", "run_figures",
    "save_figure", "save_run_plots", "sweep_heatmap", "sweep_lines", "vehicles_lost_distribution",
]
