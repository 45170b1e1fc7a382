"""Self-contained HTML reports of a finished run or sweep.

``write_report(DIR)`` reads only the files of a finished run directory
(summary.json, the parquet tables, scenario.resolved.toml, manifest.json), so
``resim report DIR`` rebuilds the report without running anything again. The
page is one file: figures are PNG data URIs, styles and the one small script
are inline, and a Content-Security-Policy forbids the browser to fetch
anything else. Every piece of text goes through ``html.escape``.
"""

from __future__ import annotations

import base64
import html
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from . import plots
from .store import write_text

REPORT = "report.html"
SWEEP_DESIGN = "sweep.json"  # written by resim.sweeps, with summary.parquet
SWEEP_SUMMARY = "summary.parquet"

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:0 auto;max-width:1080px;padding:1.5em;color:#1d1d1f;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;
margin-top:1.8em}h3{margin-bottom:.3em}
.lede{color:#444;margin-top:0}.howto{background:#f3f6fa;border-left:4px solid #1f77b4;
padding:.6em 1em}.note{color:#555;font-size:.92em}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.93em}
th,td{border:1px solid #d6d6d6;padding:.3em .6em;vertical-align:top}
th{background:#f4f4f4;text-align:left}td.num{text-align:right;white-space:nowrap}
.ci{color:#666;font-size:.85em}tr.total td{font-weight:600;background:#fafafa}
figure{margin:1.2em 0 2em}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.92em;margin-top:.3em}
dl{display:grid;grid-template-columns:max-content auto;gap:.25em 1em}dt{font-weight:600}
dd{margin:0}code{background:#f4f4f4;padding:0 .2em}
"""

# Counts the figures the browser could decode once the page has loaded (for
# tests and for anyone checking a report in a browser's console).
_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; }
  }
  document.body.dataset.imagesLoaded = String(ok);
  document.body.dataset.imagesTotal = String(imgs.length);
});
"""

_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")

_e = html.escape


# ---------------------------------------------------------------- formatting
def _num(x: Any, digits: int = 0) -> str:
    """Thousands-separated number; '–' for missing."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    x = float(x)
    if digits == 0 and abs(x) >= 1000:
        x = float(f"{x:.4g}")  # four significant figures: 255,100 not 255,100.000000004
    text = f"{x:,.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text  # no "-0.0"


def _days_text(days: float) -> str:
    """182.625 -> '182.6 days (6.0 months)'; 365.25 -> '365.25 days (1.0 years)'."""
    text = f"{days:g} days"
    if days >= 330:
        text += f" ({days / 365.25:.1f} years)"
    elif days >= 60:
        text += f" ({days / (365.25 / 12):.1f} months)"
    return text


def _dist_text(d: Any, unit: str = "days") -> str:
    """A distribution (as written in scenario.resolved.toml) in words."""
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


def _pct(x: Any, digits: int = 0) -> str:
    return "–" if x is None else f"{100 * float(x):.{digits}f}%"


def _date_of(start: date, day: Any) -> str:
    if day is None:
        return "–"
    return str(start + timedelta(days=int(math.floor(float(day)))))


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], raw: bool = False) -> str:
    """An HTML table; cells are escaped unless ``raw`` (then they are already HTML)."""
    cell = (lambda c: c) if raw else _e
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n"
        f"<body>\n{body}\n<script>{_SCRIPT}</script>\n</body></html>\n"
    )


def _figures_html(items: Sequence[tuple[Path, str]]) -> str:
    out = []
    for i, (path, caption) in enumerate(items, 1):
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        out.append(
            f"<figure id=\"fig-{_e(path.stem)}\"><img src=\"data:image/png;base64,{data}\" "
            f"alt=\"{_e(caption.split('. ')[0])}\"><figcaption><strong>Figure {i}.</strong> {_e(caption)} "
            f"<span class=\"note\">(also <code>plots/{_e(path.name)}</code>)</span>"
            "</figcaption></figure>"
        )
    return "\n".join(out)


# ---------------------------------------------------------------- run report
_KPI_COLUMNS = (
    ("vehicles_lost", "vehicles lost"),
    ("shortfall_t", "magnet shortfall (t)"),
    ("stockout_days", "stockout days"),
    ("first_stockout_day", "first stockout (runs with one)"),
    ("longest_stoppage_days", "longest stoppage (days)"),
    ("fill_rate", "fill rate (% of demand)"),
    ("stockout_probability", "P(stockout)"),
)


def _kpi_value(metric: str, x: Any) -> str:
    if x is None:
        return "–"
    if metric == "fill_rate":
        return f"{100 * float(x):.1f}"
    if metric == "stockout_probability":
        return f"{float(x):.2f}"
    if metric == "first_stockout_day":
        return _num(x)
    if metric in ("stockout_days", "longest_stoppage_days") or abs(float(x)) < 1000:
        return _num(x, 1)
    return _num(x)


def _kpi_cell(name: str, metric: str, block: Mapping[str, Any] | None, start: date) -> str:
    if not block or block.get("mean") is None:
        return f"<td class=\"num\" data-automaker=\"{_e(name)}\" data-metric=\"{metric}\">–</td>"
    mean = block["mean"]
    lo, hi = (block.get("ci95") or [None, None])[:2]
    main = _kpi_value(metric, mean)
    ci = f"[{_kpi_value(metric, lo)}, {_kpi_value(metric, hi)}]"
    if metric == "first_stockout_day":
        main = f"{_date_of(start, mean)}</span><br><span class=\"ci\">day {main}"
        ci = f"{ci}, n={block.get('n', '?')}"
    return (f"<td class=\"num\" data-automaker=\"{_e(name)}\" data-metric=\"{metric}\" "
            f"data-mean=\"{float(mean)!r}\"><span class=\"mean\">{main}</span><br>"
            f"<span class=\"ci\">{_e(ci)}</span></td>")


def _kpi_table(summary: Mapping[str, Any], start: date) -> str:
    kpis = summary.get("kpis", {})
    if not kpis:
        return "<p>This scenario has no automakers, so there are no shortfall figures.</p>"
    head = "".join(f"<th>{_e(label)}</th>" for _, label in _KPI_COLUMNS)
    rows = []
    for name, block in kpis.items():
        cls = " class=\"total\"" if name == "all" else ""
        label = "all automakers" if name == "all" else name
        cells = "".join(_kpi_cell(name, m, block.get(m), start) for m, _ in _KPI_COLUMNS)
        rows.append(f"<tr{cls}><th>{_e(label)}</th>{cells}</tr>")
    return ("<table class=\"kpis\"><thead><tr><th>automaker</th>" + head + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>"
            "<p class=\"note\">Each cell: mean over replications, and below it the 95% confidence "
            "interval of that mean (a t-interval; Wilson for P(stockout)). <em>First stockout</em> "
            "averages only the replications that had one (n of them). <em>All automakers</em> adds "
            "the vehicles and tonnes lost; a day counts as a stockout day when any automaker is "
            "short.</p>")


def _controls_text(sc: Mapping[str, Any]) -> list[tuple[str, str]]:
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
                      f"{_days_text(float(c.get('shipment_validity_days', 90)))} of issue."))
    else:
        text = (f"general: one licence per exporter–customer pair covers every shipment for "
                f"{_days_text(float(c.get('lifetime_days', 0)))}; a renewal is filed "
                f"{float(c.get('renewal_lead_days', 0)):g} days before expiry, and shipments stop "
                "if it is not approved by then.")
        if c.get("quantity_cap_t"):
            text += f" Each licence is capped at {float(c['quantity_cap_t']):g} t."
        items.append(("Licence mode", text))
    if c.get("annual_quota_t"):
        items.append(("Annual quota", f"{float(c['annual_quota_t']):,g} t licensed per calendar "
                                      "year; when spent, applications wait for January."))
    return items


def _licensing_text(sc: Mapping[str, Any]) -> list[tuple[str, str]]:
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
                                    f"{_dist_text(lic.get('resubmit_days', 20))}, "
                                    f"up to {attempts} attempts in all."))
    else:
        items.append(("Rejections", "final: no resubmission."))
    rw = lic.get("rework", {})
    if float(rw.get("probability", 0)) > 0:
        items.append(("Rework", f"{100 * float(rw['probability']):g}% of files are sent back at "
                                f"the {rw.get('stage', 'technical')} stage for missing documents; "
                                f"the exporter fixes them in {_dist_text(rw.get('fix_days', 10))}."))
    bg = lic.get("background", {})
    if float(bg.get("applications_per_day", 0)) > 0:
        items.append(("Background load", f"{float(bg['applications_per_day']):g} applications per "
                                         "day from other exporters (Poisson) share the reviewers."))
    else:
        items.append(("Background load", "none: the office reviews only this chain's files."))
    return items


def _stage_table(sc: Mapping[str, Any], licensing: Mapping[str, Any]) -> str:
    stages = sc.get("licensing", {}).get("stages", [])
    if not stages:
        names = list(licensing.get("stage_wait_days", {}))
        stages = [{"name": n} for n in names]
    unit = "working days" if sc.get("licensing", {}).get("working_days") else "days"
    waits = licensing.get("stage_wait_days", {})
    queues = licensing.get("queue_length", {})
    utils = licensing.get("reviewer_utilisation", {})
    rows = []
    for st in stages:
        name = st.get("name", "?")
        reviewers = st.get("reviewers")
        if reviewers is None:
            rev = "–"
        elif isinstance(reviewers, str) or math.isinf(float(reviewers)):
            rev = "unlimited"
        else:
            rev = f"{float(reviewers):g}"
        w = waits.get(name) or {}
        q = queues.get(name) or {}
        u = utils.get(name)
        wait = (f"{_num(w.get('mean'), 1)} (median {_num(w.get('p50'), 1)}, p95 "
                f"{_num(w.get('p95'), 1)})") if w.get("mean") is not None else "–"
        queue = (f"{_num(q.get('mean'), 1)} [{_num(q['ci95'][0], 1)}, {_num(q['ci95'][1], 1)}]"
                 if q.get("mean") is not None else "–")
        util = (f"{_pct(u.get('mean'), 1)} [{_pct(u['ci95'][0], 1)}, {_pct(u['ci95'][1], 1)}]"
                if u and u.get("mean") is not None else "– (unlimited reviewers)")
        dur = _dist_text(st["duration"], unit) if "duration" in st else "–"
        rows.append([name, rev, dur, wait, queue, util])
    return _table(["stage", "reviewers", "review time per file", "wait in queue per visit (days)",
                   "files waiting (time average) [95% CI]", "reviewer utilisation [95% CI]"], rows)


def _chain_html(sc: Mapping[str, Any]) -> str:
    autos = sc.get("automakers", [])
    out = []
    if autos:
        rows = []
        for a in autos:
            if a.get("vehicles_per_day") is not None:
                demand = (f"{_num(a['vehicles_per_day'])} vehicles/day × "
                          f"{float(a.get('magnet_kg_per_vehicle', 0)):g} kg magnet "
                          f"= {float(a['vehicles_per_day']) * float(a.get('magnet_kg_per_vehicle', 0)) / 1000:.2f} t/day")
            else:
                demand = f"{float(a.get('demand_t_per_day', 0)):g} t magnet/day"
            sup = "; ".join(
                f"{s['name']} ({100 * float(s.get('share', 1)):g}%, transit "
                f"{_dist_text(s.get('transit', 0))})" for s in a.get("suppliers", []))
            policy = (f"every {float(a.get('review_days', 7)):g} days up to "
                      f"{_dist_text(a.get('target_days', 90))} of demand")
            lost = "backlogged" if a.get("backlog") else "lost"
            firms = int(a.get("firms", 1))
            name = a["name"] if firms == 1 else f"{a['name']} ({firms} firms)"
            rows.append([name, a.get("jurisdiction", ""), a.get("end_use", "civil"), demand,
                         _dist_text(a.get("initial_inventory_days", 60)), policy, sup, lost])
        out.append("<h3>Automakers</h3>" + _table(
            ["automaker", "in", "end use", "demand", "magnets on hand at start", "orders",
             "suppliers (share, transit)", "unbuilt vehicles"], rows))
    upstream = []
    for key, label, cap in (("mines", "mine", "output_t_per_day"),
                            ("separators", "separator", "capacity_t_per_day"),
                            ("magnet_makers", "magnet maker", "capacity_t_per_day")):
        for a in sc.get(key, []):
            sup = ", ".join(s["name"] for s in a.get("suppliers", [])) or "–"
            mix = a.get("grades") or ({a["grade"]: 1.0} if a.get("grade") else {})
            extra = (", grade " + ", ".join(f"{g} {100 * float(x):g}%" if len(mix) > 1 else g
                                            for g, x in mix.items())) if mix else ""
            upstream.append([a["name"], label, a.get("jurisdiction", ""),
                             f"{float(a.get(cap, 0)):,g} t/day{extra}", sup])
    if upstream:
        out.append("<h3>Upstream</h3>" + _table(
            ["name", "kind", "in", "capacity", "supplied by"], upstream))
    return "\n".join(out)


def _policy_html(sc: Mapping[str, Any], summary: Mapping[str, Any], start: date) -> str:
    pol = sc.get("policy", [])
    if pol:
        rows = []
        for p in pol:
            when = str(p["date"]) if p.get("date") is not None else _date_of(start, p.get("day"))
            for key, value in p.get("set", {}).items():
                rows.append([when, key, json.dumps(value) if not isinstance(value, str) else value,
                             p.get("note", "")])
        return _table(["from", "scenario value", "becomes", "note"], rows)
    events = summary.get("events", [])
    if events:
        return _table(["from", "scenario value", "becomes"],
                      [[e.get("date", ""), e.get("key", ""), json.dumps(e.get("value"))]
                       for e in events])
    return "<p>None: the scenario's values hold for the whole run.</p>"


def _licensing_stats(summary: Mapping[str, Any], sc: Mapping[str, Any]) -> str:
    lic = summary.get("licensing", {})
    if not lic:
        return "<p>No licensing statistics in summary.json.</p>"
    apps = lic.get("applications", {})
    share = lic.get("approved_share", {})
    dd = lic.get("decision_days", {})
    reps = max(1, int(summary.get("replications", 1)) - len(summary.get("failed_replications", [])))
    rows = [
        ["applications filed per replication",
         f"{_num(apps.get('mean'), 1)} [{_num((apps.get('ci95') or [None])[0], 1)}, "
         f"{_num((apps.get('ci95') or [None, None])[1], 1)}]"],
        ["share approved (of decided)",
         f"{_pct(share.get('mean'))} [{_pct((share.get('ci95') or [None])[0])}, "
         f"{_pct((share.get('ci95') or [None, None])[1])}]" if share.get("mean") is not None else "–"],
        ["days from filing to decision",
         f"mean {_num(dd.get('mean'), 1)}, median {_num(dd.get('p50'), 1)}, "
         f"p95 {_num(dd.get('p95'), 1)} (calendar days, {dd.get('n', 0)} decisions)"],
        ["still pending at the horizon",
         f"{_num(lic.get('pending_at_horizon', 0))} in all ({lic.get('pending_at_horizon', 0) / reps:.1f} "
         "per replication)"],
    ]
    for kind, b in lic.get("by_kind", {}).items():
        rows.append([f"{kind} applications decided", f"{b.get('decided')} in all, "
                     f"{_pct(b.get('approved_share'))} approved"])
    auto = sc.get("output", {}).get("licence_records", "auto")
    chain = any(sc.get(k) for k in ("mines", "separators", "magnet_makers", "automakers"))
    scope = ("every application, background included" if auto == "all" or (auto == "auto" and not chain)
             else "this chain's exporters only (background files load the queues but are not listed)")
    return (_table(["", "mean [95% CI] or distribution"], rows)
            + f"<p class=\"note\">Applications counted: {_e(scope)}. Waits are per visit to a stage "
              "(a file sent back for rework waits again); queue lengths and utilisation are time "
              "averages over the run and include background files.</p>"
            + "<h3>Review stages</h3>" + _stage_table(sc, lic))


def _load_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_report(out_dir: Path, title: str | None = None) -> Path:
    """Build ``out_dir/report.html`` (and ``out_dir/plots/*.png``) from a finished run directory.

    Reads summary.json, the parquet tables, scenario.resolved.toml and
    manifest.json; runs nothing. Raises ``FileNotFoundError`` when there is
    no summary.json. Returns the report's path.
    """
    out_dir = Path(out_dir)
    run = plots.load_run(out_dir)
    summary, sc = run.summary, run.scenario
    manifest = _load_json(out_dir / "manifest.json")
    start = run.start_date
    title = title or f"{run.title}: resim report"
    meta = sc.get("scenario", {})
    n_ok = len(run.replications)
    end = start + timedelta(days=run.horizon_days)
    saved = plots._save_plots(plots.run_figures(run), out_dir)

    parts = [f"<h1>{_e(title)}</h1>"]
    lede = meta.get("description") or ""
    parts.append(f"<p class=\"lede\">{_e(lede)}</p>" if lede else "")
    parts.append(
        f"<p class=\"lede\">Simulated {_e(_days_text(run.horizon_days))} from {start} to {end}, "
        f"{n_ok} replication{'s' if n_ok != 1 else ''} (seed {_e(str(summary.get('seed')))}).</p>")
    failed = summary.get("failed_replications", [])
    if failed:
        parts.append(f"<p class=\"note\"><strong>{len(failed)} replication(s) failed</strong> and are "
                     "left out of every figure: " + _e("; ".join(
                         f"#{f['replication']}: {f['error']}" for f in failed[:5])) + "</p>")
    parts.append(
        "<p class=\"howto\"><strong>How to read this.</strong> resim ran the scenario many times "
        "with different random draws (review times, rejections, transit, outages). Every result is "
        "the mean over those replications with its 95% confidence interval in brackets: the range "
        "that holds the true mean of this model 19 times out of 20. Fan charts show the spread of "
        "single replications (the band holds 90% of them), which is wider than the interval of "
        "the mean. Tonnes (t) are tonnes of magnet unless a figure says concentrate or oxide.</p>")

    parts.append("<h2>Key results</h2>")
    parts.append(_kpi_table(summary, start))

    parts.append("<h2>Scenario</h2>")
    facts = [("Start date", str(start)), ("Horizon", f"{_days_text(run.horizon_days)} (to {end})"),
             ("Replications", f"{summary.get('replications')} (seed {summary.get('seed')})")]
    facts += _controls_text(sc) + _licensing_text(sc)
    parts.append("<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts) + "</dl>")
    parts.append(_chain_html(sc))
    parts.append("<h3>Policy changes</h3>" + _policy_html(sc, summary, start))

    parts.append("<h2>Licensing</h2>")
    parts.append(_licensing_stats(summary, sc))

    parts.append("<h2>Figures</h2>")
    if saved:
        parts.append(_figures_html([(p, plot.caption) for p, plot in saved]))
    else:
        parts.append("<p>No figures: the run recorded no daily series, licences or shipments.</p>")

    parts.append("<h2>Run</h2>")
    run_rows = [
        ["scenario file", str(manifest.get("source", "–"))],
        ["command", " ".join(str(a) for a in manifest.get("command", [])) or "–"],
        ["finished (UTC)", str(manifest.get("finished_utc", "–"))],
        ["runtime", f"{summary.get('runtime_s', '–')} s on {manifest.get('workers', '?')} worker(s)"],
        ["versions", ", ".join(f"{k} {v}" for k, v in summary.get("versions", {}).items())],
        ["files", "summary.json, replications/timeseries/licences/flows.parquet, "
                  "scenario.resolved.toml (runs again as is), manifest.json, plots/*.png"],
    ]
    parts.append(_table(["", ""], run_rows))

    path = out_dir / REPORT
    write_text(path, _page(title, "\n".join(p for p in parts if p)))
    return path


# ---------------------------------------------------------------- sweep report
_MAX_PANELS = 12


def _sweep_figures(summary: pd.DataFrame, keys: Sequence[str], metric: str
                   ) -> list[plots.Plot]:
    summary = summary.copy()
    for k in keys:  # list- or table-valued keys (a suppliers list) become labels
        if k in summary.columns and not pd.api.types.is_numeric_dtype(summary[k]):
            summary[k] = summary[k].map(lambda v: v if isinstance(v, str) else str(getattr(v, "tolist", lambda: v)()))
    automakers = (list(dict.fromkeys(summary["automaker"].astype(str)))
                  if "automaker" in summary.columns else ["all"])
    automakers = sorted(automakers, key=lambda a: a != "all")[:_MAX_PANELS]
    label = plots.metric_label(metric)
    out: list[plots.Plot] = []
    if len(keys) == 1:
        x = keys[0]
        for a in automakers:
            out.append(plots.Plot(
                f"sweep_{plots._slug(a)}",
                f"{a}: mean {label} against {x}, with its 95% confidence band.",
                plots.sweep_lines(summary, x, metric, automaker=a)))
        if len(automakers) > 1 and "automaker" in summary.columns:
            out.append(plots.Plot("sweep_by_automaker",
                                  f"Mean {label} against {x}, one line per automaker.",
                                  plots.sweep_lines(summary, x, metric, by="automaker")))
        return out
    x, y, rest = keys[0], keys[1], list(keys[2:])
    combos: list[dict[str, Any]] = [{}]
    if rest:
        combos = summary[rest].drop_duplicates().to_dict("records")[:_MAX_PANELS]
    for combo in combos:
        sub = summary
        for k, v in combo.items():
            sub = sub[sub[k] == v]
        suffix = ", ".join(f"{k} = {v}" for k, v in combo.items())
        tag = "_".join(plots._slug(f"{k}_{v}") for k, v in combo.items())
        for a in automakers if not rest else ["all" if "all" in automakers else automakers[0]]:
            out.append(plots.Plot(
                f"sweep_{plots._slug(a)}{'_' + tag if tag else ''}",
                f"{a}: mean {label} [95% CI] for each combination of {x} and {y}"
                + (f" ({suffix})" if suffix else "") + ".",
                plots.sweep_heatmap(sub, x, y, metric, automaker=a)))
        if not rest:
            out.append(plots.Plot(
                "sweep_lines_all" if "all" in automakers else f"sweep_lines_{plots._slug(automakers[0])}",
                f"Mean {label} against {x}, one line per value of {y}, with 95% confidence bands.",
                plots.sweep_lines(sub, x, metric, automaker="all" if "all" in automakers
                                  else automakers[0], by=y)))
    return out


def _sweep_value(metric: str, x: Any) -> str:
    if x is None or not math.isfinite(float(x)):
        return "–"
    if metric in ("fill_rate", "stockout_probability"):
        return _num(x, 3)
    return _num(x) if abs(float(x)) >= 1000 else _num(x, 1)


def _sweep_table(summary: pd.DataFrame, keys: Sequence[str], metric: str) -> str:
    summary = plots.with_mean(summary, metric)
    cols = [*keys, "automaker"] if "automaker" in summary.columns else list(keys)
    rows = []
    for _, r in summary.sort_values(cols).iterrows():
        mean = r.get(f"{metric}_mean")
        cell = "–"
        if mean is not None and math.isfinite(float(mean)):
            lo = _sweep_value(metric, r.get(f"{metric}_ci_low"))
            hi = _sweep_value(metric, r.get(f"{metric}_ci_high"))
            cell = (f"<span data-mean=\"{float(mean)!r}\">{_sweep_value(metric, mean)}</span> "
                    f"<span class=\"ci\">[{lo}, {hi}]</span>")
        rows.append([_e(str(r[c])) for c in cols] + [cell])
    return _table([*cols, f"mean {plots.metric_label(metric)} [95% CI]"], rows, raw=True)


def write_sweep_report(out_dir: Path, summary: pd.DataFrame, keys: list[str],
                       metric: str = "vehicles_lost", title: str | None = None) -> Path:
    """Build ``out_dir/report.html`` for a sweep from its per-point summary.

    ``summary`` has one row per design point x automaker, a column per swept
    key in ``keys``, ``automaker`` and ``{metric}_mean``, ``{metric}_ci_low``,
    ``{metric}_ci_high`` (other metrics' columns are welcome and ignored).
    With one key the figures are lines with confidence bands; with two, a
    heatmap per automaker plus lines; with more, heatmaps of the first two
    keys for each combination of the others (at most 12). If ``out_dir``
    holds the sweep's ``sweep.json``, its scenario name, replications and
    failures are shown too.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not keys:
        raise ValueError("a sweep report needs at least one swept key")
    missing = [k for k in keys if k not in summary.columns]
    if missing:
        raise ValueError(f"summary has no column for swept key(s) {missing}")
    doc = _load_json(out_dir / SWEEP_DESIGN)
    name = doc.get("scenario", {}).get("scenario", {}).get("name")
    title = title or (f"{name}: resim sweep" if name else "resim sweep")
    table = summary.reset_index(drop=True)
    figs = _sweep_figures(table, keys, metric)
    saved = plots._save_plots(figs, out_dir)
    points = table[list(keys)].drop_duplicates()
    design = "".join(
        f"<dt>{_e(k)}</dt><dd>{_e(', '.join(plots._tick(v) for v in plots._sorted_values(points[k])))}"
        "</dd>" for k in keys)
    body = [
        f"<h1>{_e(title)}</h1>",
        f"<p class=\"lede\">{len(points)} design point(s) over {len(keys)} swept key(s)"
        + (f", {_e(str(doc['replications']))} replications each" if doc.get("replications") else "")
        + (f" ({_e(str(doc['sampler']))} design)" if doc.get("sampler") else "")
        + f"; metric: {_e(plots.metric_label(metric))}.</p>",
        (f"<p class=\"note\"><strong>{len(doc['failures'])} replication(s) failed</strong> and are "
         "left out of the means.</p>") if doc.get("failures") else "",
        "<p class=\"howto\"><strong>How to read this.</strong> Each design point is a variant of "
        "the scenario run for several replications with common random numbers; a value is the "
        "mean over replications with its 95% confidence interval in brackets. Differences "
        "between neighbouring points are measured more precisely than the intervals suggest, "
        "because the points share their random draws.</p>",
        "<h2>Design</h2>", f"<dl>{design}</dl>",
        "<h2>Figures</h2>", _figures_html([(p, plot.caption) for p, plot in saved]),
        "<h2>Results by design point</h2>", _sweep_table(table, keys, metric),
    ]
    path = out_dir / REPORT
    write_text(path, _page(title, "\n".join(b for b in body if b)))
    return path


# ---------------------------------------------------------------- command
def report_command(directory: str) -> int:
    """``resim report DIR``: rebuild DIR/report.html of a finished run or sweep.

    Prints the report's path and returns 0; returns 2 with a one-line message
    on stderr when DIR is neither a finished run (summary.json) nor a
    finished sweep (sweep.json and summary.parquet).
    """
    out = Path(directory)
    if (out / "summary.json").is_file():
        path = write_report(out)
    elif (out / SWEEP_DESIGN).is_file() and (out / SWEEP_SUMMARY).is_file():
        keys = _load_json(out / SWEEP_DESIGN).get("keys") or []
        path = write_sweep_report(out, pd.read_parquet(out / SWEEP_SUMMARY), list(keys))
    else:
        what = ("does not exist" if not out.exists()
                else "is not a finished run or sweep directory (no summary.json)")
        print(f"resim report: {directory} {what}", file=sys.stderr)
        return 2
    print(path)
    return 0


__all__ = ["report_command", "write_report", "write_sweep_report"]
