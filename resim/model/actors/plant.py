"""Processing plants (separators, magnet makers): each day they work their
input into output; they review their own orders every ``review_days`` and
ship to their customers every ``dispatch_days``, after that day's work."""

from __future__ import annotations

from abc import abstractmethod

from .trade import Buyer, Supplier


class Plant(Buyer, Supplier):
    """A buyer of inputs and a supplier of outputs with a daily capacity."""

    def next_duty(self, first: int) -> int:
        return min(self.next_multiple(first, "review_days"), self.next_multiple(first, "dispatch_days"))

    def duty(self, day: int) -> None:
        self.advance(day + 1)
        self.read_prices(day)
        if day % self.period("review_days") == 0:
            self.review()
        if day % self.period("dispatch_days") == 0:
            self.dispatch()

    def work_days(self, first: int, end: int) -> None:
        self.work(end - first)

    @abstractmethod
    def work(self, days: int) -> None:
        """``days`` days of processing with nothing arriving or leaving: the
        daily limits add up, so they are worked as one."""
