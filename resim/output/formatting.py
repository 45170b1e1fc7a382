"""Numbers and KPI names as people read them, the same in every output.

The terminal tables, the HTML report and the figures all write numbers
through :func:`format_number`, so a value reads alike wherever it appears:
thousands separated (255,100), large values shortened where space is tight
(285k, 1.66M), no "-0.0", and one mark for a missing value. KPI names,
units, decimals and scales come from their one declaration
(:data:`resim.model.kpis.KPIS`); this module turns them into headings and
labels, and says which KPIs each kind of table shows.
"""

from __future__ import annotations

import math
import re

from ..model.kpis import BY_NAME, READING_ORDER, REPORT, TERMINAL, Kpi

#: Metric -> (label, unit) for axis labels and table headings.
METRIC_LABELS: dict[str, tuple[str, str]] = {k.name: (k.label, k.unit) for k in READING_ORDER}
#: The KPIs of the terminal tables, in reading order (population ones only for populations).
TERMINAL_KPIS = tuple(k for k in READING_ORDER if k.shown == TERMINAL)
#: The KPIs of the run report and the notebook's run table.
REPORT_KPIS = tuple(k for k in READING_ORDER if k.shown in (TERMINAL, REPORT))
#: The KPIs of every automaker entry that comparisons print and draw.
HEADLINE_KPIS = tuple(k for k in TERMINAL_KPIS if not k.population)

MISSING = "–"
#: How a censored KPI reads where each replication counts, the horizon for a run without the event.
RESTRICTED = "restricted mean, days"
_TRAILING_ZEROS = re.compile(r"\.?0+(?=[kM]?$)")


def format_number(x: float | None, digits: int | None = 0, *, short_from: float | None = None,
                  trim: bool = False, missing: str = MISSING) -> str:
    """One number as text.

    ``digits`` is the number of decimals (none by default); ``None`` chooses
    by size (none from 100, one from 10, else two). Whole numbers from 1,000 are rounded to four
    significant figures (255,100 rather than 255,100.000000004 from a sum of
    floats). From ``short_from`` on (at least 10,000), thousands are written
    with three significant figures (12.3k, 285k) and millions with at least
    two decimals (1.66M), for narrow table cells and figure labels. ``trim``
    drops trailing zeros after the point (axis ticks: 1.5M, 0.5). ``None``,
    NaN and infinities are ``missing``.
    """
    if x is None or not math.isfinite(float(x)):
        return missing
    x = float(x)
    text = _shortened(x, digits, short_from) or _plain(x, digits)
    if trim and "." in text:
        text = _TRAILING_ZEROS.sub("", text)
    if text.startswith("-") and not text.strip("-0.,kM"):  # no "-0.0"
        text = text[1:]
    return text


def _shortened(x: float, digits: int | None, short_from: float | None) -> str:
    """12.3k, 285k, 1.66M from ``short_from`` (at least 10,000) on; else empty."""
    a = abs(x)
    if short_from is None or a < max(short_from, 1e4):
        return ""
    thousands = f"{x / 1e3:.3g}"
    if a < 1e6 and "e" not in thousands:  # 999,999 would be "1e+03k"
        return f"{thousands}k"
    return f"{x / 1e6:.{max(2, digits or 0)}f}M"


def _plain(x: float, digits: int | None) -> str:
    a = abs(x)
    if digits is None:
        digits = 0 if a >= 100 else 1 if a >= 10 else 2
    if digits == 0 and a >= 1000:
        x = float(f"{x:.4g}")
    return f"{x:,.{digits}f}"


def compact(x: float | None, missing: str = MISSING) -> str:
    """A short number for a narrow cell or a figure label: 1.23M, 255k, 85.0, 0.77."""
    return format_number(x, None, short_from=1e4, missing=missing)


def kpi_of(metric: str) -> Kpi | None:
    """The declared KPI of that name, or None for a name that is none."""
    return BY_NAME.get(metric)


def metric_label(metric: str) -> str:
    """``vehicles_lost`` -> ``vehicles lost (vehicles)``: words and the unit of the stored value."""
    label, unit = METRIC_LABELS.get(metric, (metric.replace("_", " "), ""))
    return f"{label} ({unit})" if unit else label


def heading(kpi: Kpi, censored: str = "") -> str:
    """The tables' heading of ``kpi``; a censored KPI's says how it is read (``censored``)."""
    return f"{kpi.heading} ({censored})" if censored and kpi.censored else kpi.heading


def two_lines(text: str) -> str:
    """A heading over two lines, split between its words (``fill\\nrate %``), for stacked tables."""
    words = text.split(" ")
    half = len(words) // 2
    return " ".join(words[:half]) + "\n" + " ".join(words[half:])


def compared_label(metric: str, percent: str = "%") -> str:
    """A KPI as comparisons name it: a first-event day as the restricted
    mean it is compared by, a share in % (``percent``: "% points" for a
    difference), else its words and unit."""
    kpi = BY_NAME.get(metric)
    if kpi is not None and kpi.censored:
        return heading(kpi, RESTRICTED)
    if kpi is not None and kpi.scale != 1.0:
        return f"{kpi.label} ({percent})"
    return metric_label(metric)


def ratio_text(x: float | None, missing: str = MISSING) -> str:
    """A CI width ratio (independent / paired): ``2.5x``, ``inf`` where the
    paired interval has no width, ``missing`` where there is none."""
    if x is None or x != x:
        return missing
    return "inf" if math.isinf(x) else f"{x:.1f}x"


def kpi_value(metric: str, x: float | None) -> str:
    """A KPI value as the reports write it, in the unit of its heading: shares
    in % or to two places as declared; whole units to one decimal below
    1,000 (a mean of 3.4 stockout days is not 3), whole above."""
    kpi = BY_NAME.get(metric)
    if x is None or not math.isfinite(float(x)):
        return MISSING
    if kpi is not None and (kpi.digits or kpi.scale != 1.0):
        return format_number(float(x) * kpi.scale, kpi.digits)
    return format_number(x, 0 if abs(float(x)) >= 1000 else 1)


__all__ = ["HEADLINE_KPIS", "METRIC_LABELS", "MISSING", "REPORT_KPIS", "RESTRICTED", "TERMINAL_KPIS", "compact",
           "compared_label", "format_number", "heading", "kpi_of", "kpi_value", "metric_label", "ratio_text",
           "two_lines"]
