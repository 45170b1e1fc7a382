"""Observed data: the tidy CSV a calibration is fitted to.

Columns ``series,period,value`` and optional ``sd`` and ``unit`` (the
series grammar checks a unit against its series and converts yuan to
dollars) and ``kind`` (rows of kind ``input`` are inputs the scenario cites,
such as quotas, and are skipped); any other column (``source``) documents
the row and is ignored. ``period`` is a year (``2025``), a month
(``2025-08``) or a date (``2025-08-15``). Every problem is reported as one line naming the file, the
row (the line number a spreadsheet shows, header = 1) and the value, before
any simulation starts: a calibration that runs for an hour and then trips on
row 12 wastes the hour.
"""

from __future__ import annotations

import calendar
import csv
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ..scenario.errors import ScenarioError
from ..scenario.files import read_text

REQUIRED = ("series", "period", "value")
OPTIONAL = ("sd", "unit", "kind")
#: Rows whose ``kind`` is this are inputs a scenario cites (the 2010 quotas in
#: ``observed_2010.csv``), not outcomes to fit: read past, not compared.
INPUT_KIND = "input"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_PERIOD_FORMS = "must be a year like 2025, a month like 2025-08 or a date like 2025-08-15"


@dataclass(frozen=True)
class Period:
    """A year, a month or a single day, as calendar dates (``last`` included)."""

    text: str
    first: date
    last: date

    @property
    def is_month(self) -> bool:
        return self.first != self.last and (self.first.year, self.first.month) == (self.last.year, self.last.month)

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2025`` (the whole year), ``2025-08`` (the whole month) or
        ``2025-08-15`` (that day).

        Raises ``ValueError`` with the message the caller puts in its error.
        """
        text = text.strip()
        y = _YEAR.match(text)
        if y:
            return cls(text, date(int(text), 1, 1), date(int(text), 12, 31))
        m = _MONTH.match(text)
        if m:
            year, month = int(m.group(1)), int(m.group(2))
            if not 1 <= month <= 12:
                raise ValueError(_PERIOD_FORMS)
            last = calendar.monthrange(year, month)[1]
            return cls(text, date(year, month, 1), date(year, month, last))
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(_PERIOD_FORMS) from None
        return cls(day.isoformat(), day, day)


@dataclass(frozen=True)
class Observation:
    """One row of the observed file."""

    row: int
    series: str
    period: Period
    value: float
    sd: float | None
    #: The ``unit`` column's text ("" without the column).
    unit: str = ""

    @property
    def label(self) -> str:
        """A unique name for the row: the summary statistic's key."""
        return f"{self.series}@{self.period.text}"


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def read_observed(path: str | Path) -> list[Observation]:
    """Read and check an observed-data CSV; raise ``ScenarioError`` on the
    first bad row. Returns the rows in file order."""
    label = str(path)
    text = read_text(Path(path), label, "CSV file")
    reader = csv.reader(text.splitlines())
    col = _columns(label, reader)
    rows: list[Observation] = []
    seen: dict[str, int] = {}
    try:
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue  # a blank line
            if "kind" in col and len(fields) > col["kind"] and fields[col["kind"]].strip() == INPUT_KIND:
                continue  # an input, not an outcome
            rows.append(_row(label, line, fields, col, seen))
    except csv.Error as e:
        raise ScenarioError(label, f"row {reader.line_num}", f"cannot read the row: {e}") from None
    if not rows:
        raise ScenarioError(label, "", "has a header but no rows")
    return rows


def _columns(label: str, reader: Any) -> dict[str, int]:
    """The position of each column the reader needs, from the header row."""
    header = _header(label, reader)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ScenarioError(label, "row 1", f"header needs the columns {', '.join(REQUIRED)} (missing {', '.join(missing)})",
                            ",".join(header))
    known = (*REQUIRED, *OPTIONAL)
    dupes = _twice(header, known)
    if dupes:
        raise ScenarioError(label, "row 1", f"column {dupes[0]} appears twice", ",".join(header))
    return {name: header.index(name) for name in known if name in header}


def _twice(header: list[str], known: tuple[str, ...]) -> list[str]:
    """The known columns the header names more than once, sorted."""
    return sorted({h for h in header if h in known and header.count(h) > 1})


def _header(label: str, reader: Any) -> list[str]:
    """The header row's names, stripped; an empty or unreadable file is an error naming row 1."""
    try:
        return [h.strip() for h in next(reader)]
    except StopIteration:
        raise ScenarioError(label, "", "is empty; it needs a header series,period,value[,sd]") from None
    except csv.Error as e:
        raise ScenarioError(label, "row 1", f"cannot read the header: {e}") from None


def _row(label: str, line: int, fields: list[str], col: dict[str, int], seen: dict[str, int]) -> Observation:
    where = f"row {line}"
    if len(fields) <= max(col.values()):
        raise ScenarioError(label, where, f"has {len(fields)} fields; the header has more", ",".join(fields))

    def get(name: str) -> str:
        return fields[col[name]].strip()

    series = get("series")
    if not series:
        raise ScenarioError(label, f"{where}: series", "must not be empty")
    period = _period(label, where, get("period"))
    value = _value(label, where, get("value"))
    sd = _sd(label, where, get("sd")) if "sd" in col else None
    obs = Observation(line, series, period, value, sd, get("unit") if "unit" in col else "")
    if obs.label in seen:
        raise ScenarioError(label, f"{where}: period",
                            f"{series} already has a value for this period (row {seen[obs.label]})",
                            obs.period.text)
    seen[obs.label] = line
    return obs


def _period(label: str, where: str, text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as e:
        raise ScenarioError(label, f"{where}: period", str(e), text) from None


def _value(label: str, where: str, text: str) -> float:
    value = _number(text)
    if not math.isfinite(value):
        raise ScenarioError(label, f"{where}: value", "must be a finite number", text)
    return value


def _sd(label: str, where: str, text: str) -> float | None:
    """The row's standard deviation; an empty cell means none was given."""
    if not text:
        return None
    sd = _number(text)
    if not (math.isfinite(sd) and sd > 0):
        raise ScenarioError(label, f"{where}: sd", "must be a positive number or empty", text)
    return sd
