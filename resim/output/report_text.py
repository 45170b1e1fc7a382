"""The run report's words: a scenario and its licensing statistics as sentences and rows.

A reader of report.html should not need the scenario file, so the resolved
scenario (scenario.resolved.toml as a dict) is described here in plain
words: licence rules, the review office, the chain, the policy timeline.
Everything returned is plain text (lists of (term, sentence) pairs and table
rows); the templates add the markup and escape it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError

from ..scenario import registry, roles
from .formatting import MISSING
from .formatting import format_number as num

Facts = list[tuple[str, str]]
Rows = list[list[str]]


def days_text(days: float) -> str:
    """182.625 -> '182.625 days (6.0 months)'; 365.25 -> '365.25 days (1.0 years)'."""
    text = f"{days:g} days"
    if days >= 330:
        text += f" ({days / 365.25:.1f} years)"
    elif days >= 60:
        text += f" ({days / (365.25 / 12):.1f} months)"
    return text


def dist_text(d: Any, unit: str = "days") -> str:
    """A number or a distribution (as written in scenario.resolved.toml) in words:
    ``90`` -> '90 days'; ``{dist = "uniform", low = 5, high = 15}`` -> '5–15 days (uniform)'."""
    if isinstance(d, int | float):
        return f"{d:g} {unit}"
    if not isinstance(d, Mapping):
        return str(d)
    kind = d.get("dist", "constant")
    g = (lambda k: f"{float(d[k]):g}")  # noqa: E731
    if kind == "constant":
        return f"{g('value')} {unit}"
    if kind == "uniform":
        return f"{g('low')}–{g('high')} {unit} (uniform)"
    if kind == "triangular":
        return f"{g('low')}–{g('high')} {unit}, most likely {g('mode')} (triangular)"
    if kind == "normal":
        return f"mean {g('mean')} {unit}, sd {g('sd')} (normal, truncated at 0)"
    if kind == "lognormal":
        return f"mean {g('mean')} {unit}, cv {g('cv')} (lognormal)"
    if kind == "exponential":
        return f"mean {g('mean')} {unit} (exponential)"
    if kind == "gamma":
        parts = [f"{k} {g(k)}" for k in ("mean", "cv", "shape", "scale") if d.get(k) is not None]
        return f"{', '.join(parts)} ({unit}, gamma)"
    if kind == "empirical":
        vals = ", ".join(f"{float(v):g}" for v in d.get("values", []))
        return f"one of {vals} {unit} (empirical)"
    return json.dumps(d)


def pct(x: Any, digits: int = 0) -> str:
    """A share as a percentage: 0.667 -> '67%'."""
    return MISSING if x is None else f"{100 * float(x):.{digits}f}%"


def date_of(start: date, day: Any) -> str:
    """The calendar date of a simulation day (the day it falls in)."""
    if day is None:
        return MISSING
    return str(start + timedelta(days=int(math.floor(float(day)))))


# ---------------------------------------------------------------- the scenario
def controls_facts(sc: Mapping[str, Any]) -> Facts:
    """Which exports need a licence, and what a licence covers."""
    c = sc.get("controls", {})
    mode = c.get("licence_mode", "none")
    items = []
    elements = ", ".join(c.get("controlled_elements", []))
    items.append(("Export controls",
                  f"{c.get('jurisdiction', 'CN')} controls {elements}: a product needs a licence when "
                  f"it leaves {c.get('jurisdiction', 'CN')} for another jurisdiction and these "
                  f"elements make up more than {100 * float(c.get('de_minimis', 0)):g}% of its mass."))
    if mode == "none":
        items.append(("Licence mode", "none: no licence is needed (the reference case)."))
    elif mode == "per_shipment":
        items.append(("Licence mode",
                      "per shipment: every shipment needs its own licence, to be used within "
                      f"{days_text(float(c.get('shipment_validity_days', 90)))} of issue."))
    else:
        text = (f"general: one licence per exporter–customer pair covers every shipment for "
                f"{days_text(float(c.get('lifetime_days', 0)))}; a renewal is filed "
                f"{float(c.get('renewal_lead_days', 0)):g} days before expiry, and shipments stop "
                "if it is not approved by then.")
        if c.get("quantity_cap_t"):
            text += f" Each licence is capped at {float(c['quantity_cap_t']):g} t."
        items.append(("Licence mode", text))
    if c.get("annual_quota_t"):
        items.append(("Annual quota", f"{float(c['annual_quota_t']):,g} t licensed per calendar "
                                      "year; when spent, applications wait for January."))
    return items


def licensing_facts(sc: Mapping[str, Any]) -> Facts:
    """How the review office decides: approval rate, calendar, rejections, rework, load."""
    lic = sc.get("licensing", {})
    items = []
    rate = f"{100 * float(lic.get('approval_rate', 1.0)):g}% of decided applications approved"
    mult = []
    if lic.get("approval_by_destination"):
        mult.append("by destination " + ", ".join(
            f"{k} ×{float(v):g}" for k, v in lic["approval_by_destination"].items()))
    if lic.get("approval_by_end_use"):
        mult.append("by end use " + ", ".join(
            f"{k.replace('_', ' ')} ×{float(v):g}" for k, v in lic["approval_by_end_use"].items()))
    if mult:
        rate += ", multiplied " + "; ".join(mult)
    items.append(("Approval rate", rate + " (the rate in force on the day of the decision)."))
    if lic.get("working_days"):
        n_hol = len(lic.get("holidays", []))
        items.append(("Review calendar", f"working days (Monday to Friday, {n_hol} holidays "
                                         "excluded): review durations below are working days."))
    else:
        items.append(("Review calendar", "calendar days."))
    attempts = int(lic.get("max_attempts", 1))
    if attempts > 1:
        items.append(("Rejections", f"a rejected exporter refiles after "
                                    f"{dist_text(lic.get('resubmit_days', 20))}, "
                                    f"up to {attempts} attempts in all."))
    else:
        items.append(("Rejections", "final: no resubmission."))
    rw = lic.get("rework", {})
    if float(rw.get("probability", 0)) > 0:
        items.append(("Rework", f"{100 * float(rw['probability']):g}% of files are sent back at "
                                f"the {rw.get('stage', 'technical')} stage for missing documents; "
                                f"the exporter fixes them in {dist_text(rw.get('fix_days', 10))}."))
    bg = lic.get("background", {})
    if float(bg.get("applications_per_day", 0)) > 0:
        items.append(("Background load", f"{float(bg['applications_per_day']):g} applications per "
                                         "day from other exporters (Poisson) share the reviewers."))
    else:
        items.append(("Background load", "none: the office reviews only this chain's files."))
    return items


def automaker_rows(sc: Mapping[str, Any]) -> Rows:
    """One row per automaker: where, demand, stock at start, ordering, suppliers, lost or backlogged."""
    rows = []
    for a in sc.get("automakers", []):
        if a.get("vehicles_per_day") is not None:
            kg = float(a.get("magnet_kg_per_vehicle", 0))
            demand = (f"{num(a['vehicles_per_day'], 0)} vehicles/day × {kg:g} kg magnet "
                      f"= {float(a['vehicles_per_day']) * kg / 1000:.2f} t/day")
        else:
            demand = f"{float(a.get('demand_t_per_day', 0)):g} t magnet/day"
        sup = "; ".join(
            f"{s['name']} ({100 * float(s.get('share', 1)):g}%, transit "
            f"{dist_text(s.get('transit', 0))})" for s in a.get("suppliers", []))
        policy = (f"every {dist_text(a.get('review_days', 7))} up to "
                  f"{dist_text(a.get('target_days', 90))} of demand")
        lost = "backlogged" if a.get("backlog") else "lost"
        firms = int(a.get("firms", 1))
        name = a["name"] if firms == 1 else f"{a['name']} ({firms} firms)"
        rows.append([name, a.get("jurisdiction", ""), a.get("end_use", "civil"), demand,
                     dist_text(a.get("initial_inventory_days", 60)), policy, sup, lost])
    return rows


def upstream_rows(sc: Mapping[str, Any]) -> Rows:
    """One row per entry of every kind but automakers (which have their own
    table): name, kind, where, size and grades, suppliers - asked of each
    entry's roles, whatever its keys are called."""
    return [_upstream_row(kind, a) for kind in registry.kinds() if not kind.has_timeseries
            for a in sc.get(kind.table, [])]


def _upstream_row(kind: registry.ActorKind, entry: Mapping[str, Any]) -> list[str]:
    try:
        cfg = kind.schema.model_validate(entry)
    except ValidationError:  # not a valid entry of its kind today (an older run's file)
        return [str(entry.get("name", MISSING)), kind.label, str(entry.get("jurisdiction", "")), MISSING, MISSING]
    mix = roles.grades_of(cfg)
    grades = (", grade " + ", ".join(f"{g} {100 * x:g}%" if len(mix) > 1 else str(g) for g, x in mix.items())
              if mix else "")
    sup = ", ".join(s.name for s in roles.suppliers_of(cfg)) or MISSING
    return [cfg.name, kind.label, cfg.jurisdiction, _size(cfg) + grades, sup]


def _size(cfg: Any) -> str:
    """What the report says of an entry's size: a rate, or a stock held."""
    if isinstance(cfg, roles.Producer):
        return f"{cfg.daily_t():,g} t/day"
    if isinstance(cfg, roles.StockHolder):
        return f"{cfg.held_t():,g} t held"
    return MISSING


def policy_rows(sc: Mapping[str, Any], summary: Mapping[str, Any], start: date
                ) -> tuple[list[str], Rows] | None:
    """The policy timeline as (heading, rows): from the scenario, or else from the
    events in summary.json; None when nothing changes during the run."""
    pol = sc.get("policy", [])
    if pol:
        rows = []
        for p in pol:
            when = str(p["date"]) if p.get("date") is not None else date_of(start, p.get("day"))
            for key, value in p.get("set", {}).items():
                rows.append([when, key, json.dumps(value) if not isinstance(value, str) else value,
                             p.get("note", "")])
        return ["from", "scenario value", "becomes", "note"], rows
    events = summary.get("events", [])
    if not events:
        return None
    return ["from", "scenario value", "becomes"], [
        [e.get("date", ""), e.get("key", ""), json.dumps(e.get("value"))] for e in events]


# ---------------------------------------------------------------- licensing statistics
def licensing_rows(summary: Mapping[str, Any]) -> Rows:
    """Applications, approvals, decision times and pending files, as (what, value) rows."""
    lic = summary.get("licensing", {})
    apps = lic.get("applications", {})
    share = lic.get("approved_share", {})
    dd = lic.get("decision_days", {})
    reps = max(1, int(summary.get("replications", 1)) - len(summary.get("failed_replications", [])))
    apps_ci = (apps.get("ci95") or [None, None]) + [None, None]
    share_ci = (share.get("ci95") or [None, None]) + [None, None]
    rows = [
        ["applications filed per replication",
         f"{num(apps.get('mean'), 1)} [{num(apps_ci[0], 1)}, {num(apps_ci[1], 1)}]"],
        ["share approved (of decided): mean of the replications' shares",
         f"{pct(share.get('mean'))} [{pct(share_ci[0])}, {pct(share_ci[1])}]"
         if share.get("mean") is not None else MISSING],
        ["share approved (of decided): pooled over every decision", pooled_approval(lic)],
        ["days from filing to decision",
         f"mean {num(dd.get('mean'), 1)}, median {num(dd.get('p50'), 1)}, "
         f"p95 {num(dd.get('p95'), 1)} (calendar days, {dd.get('n', 0)} decisions)"],
        ["still pending at the horizon",
         f"{num(lic.get('pending_at_horizon', 0), 0)} in all "
         f"({lic.get('pending_at_horizon', 0) / reps:.1f} per replication)"],
    ]
    for kind, b in lic.get("by_kind", {}).items():
        rows.append([f"{kind} applications decided", f"{b.get('decided')} in all, "
                     f"{pct(b.get('approved_share'))} approved (pooled)"])
    return rows


def pooled_approval(licensing: Mapping[str, Any]) -> str:
    """The share of all decisions, over every replication, that approved: it
    weighs each decision alike, where the mean of per-replication shares
    weighs each replication alike (the two differ when replications with
    more refiled rejections decide more applications)."""
    kinds = licensing.get("by_kind", {}).values()
    decided = sum(int(b.get("decided") or 0) for b in kinds)
    if not decided:
        return MISSING
    approved = sum(int(b.get("decided") or 0) * float(b.get("approved_share") or 0.0) for b in kinds)
    return f"{pct(approved / decided)} of {decided:,} decisions"


def licence_record_scope(sc: Mapping[str, Any]) -> str:
    """Which applications licences.parquet lists (the ``output.licence_records`` rule)."""
    auto = sc.get("output", {}).get("licence_records", "auto")
    chain = any(sc.get(k) for k in ("mines", "separators", "magnet_makers", "automakers"))
    if auto == "all" or (auto == "auto" and not chain):
        return "every application, background included"
    return "this chain's exporters only (background files load the queues but are not listed)"


def stage_rows(sc: Mapping[str, Any], licensing: Mapping[str, Any]) -> Rows:
    """One row per review stage: reviewers, review time, wait, queue, utilisation."""
    stages = sc.get("licensing", {}).get("stages", [])
    if not stages:
        stages = [{"name": n} for n in licensing.get("stage_wait_days", {})]
    unit = "working days" if sc.get("licensing", {}).get("working_days") else "days"
    waits = licensing.get("stage_wait_days", {})
    queues = licensing.get("queue_length", {})
    utils = licensing.get("reviewer_utilisation", {})
    rows = []
    for st in stages:
        name = st.get("name", "?")
        reviewers = st.get("reviewers")
        if reviewers is None:
            rev = MISSING
        elif isinstance(reviewers, str) or math.isinf(float(reviewers)):
            rev = "unlimited"
        else:
            rev = f"{float(reviewers):g}"
        w = waits.get(name) or {}
        q = queues.get(name) or {}
        u = utils.get(name)
        wait = (f"{num(w.get('mean'), 1)} (median {num(w.get('p50'), 1)}, p95 "
                f"{num(w.get('p95'), 1)})") if w.get("mean") is not None else MISSING
        queue = (f"{num(q.get('mean'), 1)} [{num(q['ci95'][0], 1)}, {num(q['ci95'][1], 1)}]"
                 if q.get("mean") is not None else MISSING)
        util = (f"{pct(u.get('mean'), 1)} [{pct(u['ci95'][0], 1)}, {pct(u['ci95'][1], 1)}]"
                if u and u.get("mean") is not None else f"{MISSING} (unlimited reviewers)")
        dur = dist_text(st["duration"], unit) if "duration" in st else MISSING
        rows.append([name, rev, dur, wait, queue, util])
    return rows


def run_rows(summary: Mapping[str, Any], manifest: Mapping[str, Any]) -> Rows:
    """How the run was made: source, command, time, runtime, versions, files."""
    return [
        ["scenario file", str(manifest.get("source", MISSING))],
        ["command", " ".join(str(a) for a in manifest.get("command", [])) or MISSING],
        ["finished (UTC)", str(manifest.get("finished_utc", MISSING))],
        ["runtime", f"{summary.get('runtime_s', MISSING)} s on {manifest.get('workers', '?')} worker(s)"],
        ["versions", ", ".join(f"{k} {v}" for k, v in summary.get("versions", {}).items())],
        ["files", "summary.json, replications/totals/timeseries/licences/flows.parquet, "
                  "scenario.resolved.toml (runs again as is), manifest.json, plots/*.png"],
    ]


__all__ = ["automaker_rows", "controls_facts", "date_of", "days_text", "dist_text",
           "licence_record_scope", "licensing_facts", "licensing_rows", "pct", "policy_rows", "pooled_approval",
           "run_rows", "stage_rows", "upstream_rows"]
