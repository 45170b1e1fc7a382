"""Numbers and metric names as people read them, the same in every output.

The terminal tables, the HTML report and the figures all write numbers
through :func:`format_number`, so a value reads alike wherever it appears:
thousands separated (255,100), large values shortened where space is tight
(285k, 1.66M), no "-0.0", and one mark for a missing value. Pure Python: the
results layer and each presentation (rich, Jinja2, matplotlib) can import it.
"""

from __future__ import annotations

import math
import re

#: Metric -> (label, unit) for axis labels and table headings.
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "vehicles_lost": ("vehicles lost", "vehicles"),
    "shortfall_t": ("magnet shortfall", "t"),
    "stockout_days": ("stockout days", "days"),
    "first_stockout_day": ("first stockout", "day of run"),
    "longest_stoppage_days": ("longest stoppage", "days"),
    "fill_rate": ("fill rate", "share of demand"),
    "stockout_probability": ("stockout probability", "share of replications"),
}

MISSING = "–"
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
    if x is None:
        return missing
    x = float(x)
    if not math.isfinite(x):
        return missing
    a = abs(x)
    text = ""
    if short_from is not None and a >= max(short_from, 1e4):
        thousands = f"{x / 1e3:.3g}"
        if a < 1e6 and "e" not in thousands:  # 999,999 would be "1e+03k"
            text = f"{thousands}k"
        else:
            text = f"{x / 1e6:.{max(2, digits or 0)}f}M"
    if not text:
        if digits is None:
            digits = 0 if a >= 100 else 1 if a >= 10 else 2
        if digits == 0 and a >= 1000:
            x = float(f"{x:.4g}")
        text = f"{x:,.{digits}f}"
    if trim and "." in text:
        text = _TRAILING_ZEROS.sub("", text)
    if text.startswith("-") and not text.strip("-0.,kM"):  # no "-0.0"
        text = text[1:]
    return text


def compact(x: float | None, missing: str = MISSING) -> str:
    """A short number for a narrow cell or a figure label: 1.23M, 255k, 85.0, 0.77."""
    return format_number(x, None, short_from=1e4, missing=missing)


def metric_label(metric: str) -> str:
    """``vehicles_lost`` -> ``vehicles lost (vehicles)``."""
    label, unit = METRIC_LABELS.get(metric, (metric.replace("_", " "), ""))
    return f"{label} ({unit})" if unit else label


__all__ = ["METRIC_LABELS", "MISSING", "compact", "format_number", "metric_label"]
