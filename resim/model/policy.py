"""The policy timeline at run time: scenario values that change at a date.

Each ``[[policy]]`` entry was validated at load time by applying it to the
scenario (``scenario/timeline.py``), so at run time a change is only a swap of
frozen scenario objects, one ``on_policy`` call to whoever holds parameters,
and a row in the event log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..scenario import PolicyStep
    from .kernel import Clock
    from .records import Table


def policy_process(clock: Clock, log: Table, timeline: Sequence[PolicyStep],
                   apply: Callable[[PolicyStep], None]) -> Generator[Any, Any, None]:
    """A SimPy process applying each step at its day."""
    for step in timeline:
        if step.day >= clock.horizon:
            return
        if step.day > clock.now:
            yield clock.timeout(step.day - clock.now)
        apply(step)
        for key, value in step.changes:
            log.append(clock.now, "policy", key, json.dumps(value, default=str))


def announcement_process(clock: Clock, log: Table, timeline: Sequence[PolicyStep],
                         announce: Callable[[PolicyStep], None]) -> Generator[Any, Any, None]:
    """A SimPy process telling everyone of each announced policy on the day
    it is announced (before it takes effect), and logging it."""
    for step in sorted((s for s in timeline if s.announced is not None), key=lambda s: (s.announced, s.index)):
        when = step.announced
        if when >= clock.horizon:
            return
        if when > clock.now:
            yield clock.timeout(when - clock.now)
        announce(step)
        for key, value in step.changes:
            log.append(clock.now, "announcement", key, json.dumps(value, default=str))
