"""The policy timeline: scenario values that change at a date.

Each ``[[policy]]`` entry was validated at load time by applying it to the
scenario (``loader.build_timeline``), so at run time a change is only a swap of
frozen scenario objects, a notice to whoever caches parameters, and a row in
the event log.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

from .loader import PolicyStep

if TYPE_CHECKING:
    from .model import Model


def policy_process(model: Model, timeline: Sequence[PolicyStep]) -> Generator[Any, Any, None]:
    """A SimPy process applying each step at its day."""
    env = model.env
    log = model.events
    for step in timeline:
        if step.day >= model.horizon:
            return
        if step.day > env.now:
            yield env.timeout(step.day - env.now)
        model.apply(step.scenario)
        for key, value in step.changes:
            log.append(env.now, "policy", key, json.dumps(value, default=str))
