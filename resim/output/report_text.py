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


#: How each kind of distribution reads, over its parameters (each written as ``{x:g}``).
_DIST_WORDS = {
    "constant": "{value} {unit}",
    "uniform": "{low}–{high} {unit} (uniform)",
    "triangular": "{low}–{high} {unit}, most likely {mode} (triangular)",
    "normal": "mean {mean} {unit}, sd {sd} (normal, truncated at 0)",
    "lognormal": "mean {mean} {unit}, cv {cv} (lognormal)",
    "exponential": "mean {mean} {unit} (exponential)",
}


class _Numbers(dict):
    """A distribution's parameters as ``str.format_map`` reads them: numbers as ``{x:g}``."""

    def __getitem__(self, key: str) -> str:
        value = super().__getitem__(key)
        return value if key == "unit" else f"{float(value):g}"


def _gamma_text(d: Mapping[str, Any], unit: str) -> str:
    parts = [f"{k} {float(d[k]):g}" for k in ("mean", "cv", "shape", "scale") if d.get(k) is not None]
    return f"{', '.join(parts)} ({unit}, gamma)"


def _empirical_text(d: Mapping[str, Any], unit: str) -> str:
    return f"one of {', '.join(f'{float(v):g}' for v in d.get('values', []))} {unit} (empirical)"


def dist_text(d: Any, unit: str = "days") -> str:
    """A number or a distribution (as written in scenario.resolved.toml) in words:
    ``90`` -> '90 days'; ``{dist = "uniform", low = 5, high = 15}`` -> '5–15 days (uniform)'."""
    if isinstance(d, int | float):
        return f"{d:g} {unit}"
    if not isinstance(d, Mapping):
        return str(d)
    kind = d.get("dist", "constant")
    if kind in _DIST_WORDS:
        return _DIST_WORDS[kind].format_map(_Numbers(d, unit=unit))
    special = {"gamma": _gamma_text, "empirical": _empirical_text}.get(kind)
    return special(d, unit) if special else json.dumps(d)


def pct(x: Any, digits: int = 0) -> str:
    """A share as a percentage: 0.667 -> '67%'."""
    return MISSING if x is None else f"{100 * float(x):.{digits}f}%"


def date_of(start: date, day: Any) -> str:
    """The calendar date of a simulation day (the day it falls in)."""
    if day is None:
        return MISSING
    return str(start + timedelta(days=int(math.floor(float(day)))))


# ---------------------------------------------------------------- the scenario
def _general_licence(c: Mapping[str, Any]) -> str:
    text = (f"general: one licence per exporter–customer pair covers every shipment for "
            f"{days_text(float(c.get('lifetime_days', 0)))}; a renewal is filed "
            f"{float(c.get('renewal_lead_days', 0)):g} days before expiry, and shipments stop "
            "if it is not approved by then.")
    return text + (f" Each licence is capped at {float(c['quantity_cap_t']):g} t." if c.get("quantity_cap_t") else "")


#: What each licence mode means, from the ``controls`` table (``general`` for any other).
_LICENCE_MODES = {
    "none": lambda c: "none: no licence is needed (the reference case).",
    "per_shipment": lambda c: ("per shipment: every shipment needs its own licence, to be used within "
                               f"{days_text(float(c.get('shipment_validity_days', 90)))} of issue."),
}


def controls_facts(sc: Mapping[str, Any]) -> Facts:
    """Which exports need a licence, and what a licence covers."""
    c = sc.get("controls", {})
    where = c.get("jurisdiction", "CN")
    items = [("Export controls",
              f"{where} controls {', '.join(c.get('controlled_elements', []))}: a product needs a licence when "
              f"it leaves {where} for another jurisdiction and these "
              f"elements make up more than {100 * float(c.get('de_minimis', 0)):g}% of its mass."),
             ("Licence mode", _LICENCE_MODES.get(c.get("licence_mode", "none"), _general_licence)(c))]
    if c.get("annual_quota_t"):
        items.append(("Annual quota", f"{float(c['annual_quota_t']):,g} t licensed per calendar "
                                      "year; when spent, applications wait for January."))
    return items


def _approval_fact(lic: Mapping[str, Any]) -> str:
    rate = f"{100 * float(lic.get('approval_rate', 1.0)):g}% of decided applications approved"
    mult = []
    if lic.get("approval_by_destination"):
        mult.append("by destination " + ", ".join(
            f"{k} ×{float(v):g}" for k, v in lic["approval_by_destination"].items()))
    if lic.get("approval_by_end_use"):
        mult.append("by end use " + ", ".join(
            f"{k.replace('_', ' ')} ×{float(v):g}" for k, v in lic["approval_by_end_use"].items()))
    mult += _pairs_fact(lic)
    if mult:
        rate += ", multiplied " + "; ".join(mult)
    return rate + _stall_fact(lic) + " (the rate in force on the day of the decision)."


def _pairs_fact(lic: Mapping[str, Any]) -> list[str]:
    """Approval paths by destination and end use, as words (none: empty)."""
    pairs = [f"{d} {u.replace('_', ' ')} ×{float(v):g}"
             for d, uses in lic.get("approval_by_destination_and_end_use", {}).items() for u, v in uses.items()]
    return ["by destination and end use " + ", ".join(pairs) + " (in place of the two above)"] if pairs else []


def _stall_fact(lic: Mapping[str, Any]) -> str:
    stalled = lic.get("stalled_destinations")
    return "; no decisions for " + ", ".join(stalled) + " (reviews stalled)" if stalled else ""


def _calendar_fact(lic: Mapping[str, Any]) -> str:
    if not lic.get("working_days"):
        return "calendar days."
    return (f"working days (Monday to Friday, {len(lic.get('holidays', []))} holidays "
            "excluded): review durations below are working days.")


def _rejections_fact(lic: Mapping[str, Any]) -> str:
    attempts = int(lic.get("max_attempts", 1))
    if attempts <= 1:
        return "final: no resubmission."
    return f"a rejected exporter refiles after {dist_text(lic.get('resubmit_days', 20))}, up to {attempts} attempts in all."


def _background_fact(lic: Mapping[str, Any]) -> str:
    bg = lic.get("background", {})
    if float(bg.get("applications_per_day", 0)) <= 0:
        return "none: the office reviews only this chain's files."
    return f"{float(bg['applications_per_day']):g} applications per day from other exporters (Poisson) share the reviewers."


def licensing_facts(sc: Mapping[str, Any]) -> Facts:
    """How the review office decides: approval rate, calendar, rejections, rework, load."""
    lic = sc.get("licensing", {})
    rw = lic.get("rework", {})
    rework = ([("Rework", f"{100 * float(rw['probability']):g}% of files are sent back at "
                          f"the {rw.get('stage', 'technical')} stage for missing documents; "
                          f"the exporter fixes them in {dist_text(rw.get('fix_days', 10))}.")]
              if float(rw.get("probability", 0)) > 0 else [])
    return [("Approval rate", _approval_fact(lic)), ("Review calendar", _calendar_fact(lic)),
            ("Rejections", _rejections_fact(lic)), *rework, ("Background load", _background_fact(lic))]


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
    sup = ", ".join(s.name for s in roles.suppliers_of(cfg)) or MISSING
    return [cfg.name, kind.label, cfg.jurisdiction, _size(cfg) + _grades_text(roles.grades_of(cfg)), sup]


def _grades_text(mix: Mapping[str, float]) -> str:
    """", grade X" for one grade, ", grade X 60%, Y 40%" for a mix; nothing without grades."""
    if not mix:
        return ""
    return ", grade " + ", ".join(f"{g} {100 * x:g}%" if len(mix) > 1 else str(g) for g, x in mix.items())


def _size(cfg: Any) -> str:
    """What the report says of an entry's size: a rate, or a stock held."""
    if isinstance(cfg, roles.Producer):
        return f"{cfg.daily_t():,g} t/day"
    if isinstance(cfg, roles.StockHolder):
        return f"{cfg.held_t():,g} t held"
    return MISSING


def _policy_change(p: Mapping[str, Any], start: date) -> Rows:
    """One row per key a policy change sets: from when, the key, its new value, the note."""
    when = str(p["date"]) if p.get("date") is not None else date_of(start, p.get("day"))
    return [[when, key, value if isinstance(value, str) else json.dumps(value), p.get("note", "")]
            for key, value in p.get("set", {}).items()]


def in_force(sc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The policy entries a run applies: the file's, then its default branch's."""
    chosen = sc.get("scenario", {}).get("default_branch")
    own = [b.get("policy", []) for b in sc.get("branch", []) if b.get("name") == chosen]
    return [*sc.get("policy", []), *(p for entries in own for p in entries)]


def change_rows(p: Mapping[str, Any], start: date) -> Rows:
    """One row per key a policy entry sets: from when, the key, its new value, the note."""
    return _policy_change(p, start)


def policy_rows(sc: Mapping[str, Any], summary: Mapping[str, Any], start: date
                ) -> tuple[list[str], Rows] | None:
    """The policy timeline as (heading, rows): from the scenario, or else from the
    events in summary.json; None when nothing changes during the run."""
    pol = in_force(sc)
    if pol:
        return ["from", "scenario value", "becomes", "note"], [row for p in pol for row in _policy_change(p, start)]
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


def _reviewers_text(reviewers: Any) -> str:
    if reviewers is None:
        return MISSING
    if isinstance(reviewers, str) or math.isinf(float(reviewers)):
        return "unlimited"
    return f"{float(reviewers):g}"


def _wait_text(w: Mapping[str, Any]) -> str:
    if w.get("mean") is None:
        return MISSING
    return f"{num(w.get('mean'), 1)} (median {num(w.get('p50'), 1)}, p95 {num(w.get('p95'), 1)})"


def _queue_text(q: Mapping[str, Any]) -> str:
    if q.get("mean") is None:
        return MISSING
    return f"{num(q.get('mean'), 1)} [{num(q['ci95'][0], 1)}, {num(q['ci95'][1], 1)}]"


def _utilisation_text(u: Mapping[str, Any] | None) -> str:
    if not u or u.get("mean") is None:
        return f"{MISSING} (unlimited reviewers)"
    return f"{pct(u.get('mean'), 1)} [{pct(u['ci95'][0], 1)}, {pct(u['ci95'][1], 1)}]"


def _stage_row(st: Mapping[str, Any], unit: str, licensing: Mapping[str, Any]) -> list[str]:
    name = st.get("name", "?")
    return [name, _reviewers_text(st.get("reviewers")), dist_text(st["duration"], unit) if "duration" in st else MISSING,
            _wait_text(licensing.get("stage_wait_days", {}).get(name) or {}),
            _queue_text(licensing.get("queue_length", {}).get(name) or {}),
            _utilisation_text(licensing.get("reviewer_utilisation", {}).get(name))]


def stage_rows(sc: Mapping[str, Any], licensing: Mapping[str, Any]) -> Rows:
    """One row per review stage: reviewers, review time, wait, queue, utilisation."""
    stages = sc.get("licensing", {}).get("stages", []) or [{"name": n} for n in licensing.get("stage_wait_days", {})]
    unit = "working days" if sc.get("licensing", {}).get("working_days") else "days"
    return [_stage_row(st, unit, licensing) for st in stages]


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
