"""Working-day clock: review durations are counted in working days.

MOFCOM's statutory 45-day review is 45 *working* days (facts.md §1), about nine
calendar weeks. A duration of d working days starting at calendar time t ends
where the working-time clock (which stands still on weekends and holidays) has
advanced by d. The clock is a piecewise-linear map built once per replication;
conversions are a list look-up, cheap enough for the review office's hot path.

China moves working days around its long holidays: a weekend day before or
after Spring Festival or National Day is worked instead ("make-up working
days"). Those dates are ``extra_working_days``: they count although they fall
on a Saturday or Sunday.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


class WorkCalendar:
    """Maps calendar days (float, day 0 = ``start``) to working time and back."""

    def __init__(self, start: date, holidays: Iterable[date] = (), days: int = 3 * 366,
                 extra_working_days: Iterable[date] = ()):
        self.start = start
        self.holidays = frozenset(holidays)
        self.extra = frozenset(extra_working_days)
        self._work: list[bool] = []
        self._cum: list[int] = [0]
        self._wd: list[int] = []
        self._extend(days)

    def _extend(self, days: int) -> None:
        for k in range(len(self._work), days):
            d = self.start + timedelta(days=k)
            ok = (d.weekday() < 5 and d not in self.holidays) or d in self.extra
            self._work.append(ok)
            self._cum.append(self._cum[-1] + ok)
            if ok:
                self._wd.append(k)

    def to_work(self, t: float) -> float:
        """Working days elapsed from day 0 to calendar time ``t``."""
        k = int(t)
        if k + 1 >= len(self._work):
            self._extend(k + 366)
        x = float(self._cum[k])
        if self._work[k]:
            x += t - k
        return x

    def from_work(self, x: float) -> float:
        """Earliest calendar time at which ``x`` working days have elapsed."""
        j = int(x)
        f = x - j
        while j >= len(self._wd):
            self._extend(len(self._work) + 366)
        if f == 0.0 and j > 0:
            return self._wd[j - 1] + 1.0
        return self._wd[j] + f

    def end(self, t: float, working_days: float) -> float:
        """Calendar time when ``working_days`` of work started at ``t`` finish
        (``from_work(to_work(t) + working_days)``, inlined: it runs for every
        service in the review office)."""
        k = int(t)
        work = self._work
        if k + 1 >= len(work):
            return self.from_work(self.to_work(t) + working_days)
        x = self._cum[k] + working_days
        if work[k]:
            x += t - k
        j = int(x)
        wd = self._wd
        if j >= len(wd):
            return self.from_work(x)
        f = x - j
        if f == 0.0 and j > 0:
            return wd[j - 1] + 1.0
        return wd[j] + f
