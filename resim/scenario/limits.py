"""Counts and sizes a scenario may have.

Some values are valid as numbers but not as work: a billion reviewers makes
the queueing estimate loop a billion times before anything runs, a grade
holding 1e-300 of an element makes the bill of materials divide by almost
nothing. Each limit here is far beyond any real scenario (China's review
office has hundreds of reviewers, a real grade holds at least parts per
million of an element), and each message states it exactly. The schema
bounds the rest (``firms`` at most 100000, ``scenario.replications`` at most
1000000, ``max_attempts`` at most 1000); how long a run would take is the
budget's to judge (``resim.experiment.budget``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from .errors import ScenarioError
from .keys import format_loc
from .messages import flag_or

#: Reviewers of one finite stage ("inf" is an infinite-server stage).
MAX_REVIEWERS = 1_000_000
#: Review stages.
MAX_STAGES = 100
#: Magnet grade tables.
MAX_GRADES = 1_000
#: Actor entries, all tables together.
MAX_ENTRIES = 10_000
#: Firms, all population entries together (each entry holds at most 100000).
MAX_FIRMS = 1_000_000
#: Policy changes.
MAX_POLICIES = 10_000
#: Replications per point of a [sweep].
MAX_SWEEP_REPLICATIONS = 1_000_000
#: The smallest element fraction of a grade or a mine's composition (a part
#: per billion): a tonne of magnet from 1e-300 t of an element is not a grade.
MIN_FRACTION = 1e-9


#: A problem: where (by index, for matching --set), where (as the user names
#: it), what is wrong, the value (... for none).
Problem = tuple[list[Any], list[Any], str, Any]


def _count(n: int, limit: int, what: str) -> str | None:
    return f"has {n} {what}; a scenario may have at most {limit}" if n > limit else None


def _counts(scn: Any) -> Iterator[Problem]:
    """(path, problem, value) for every count over its limit."""
    entries = list(scn.entries())
    firms = sum(getattr(cfg, "firms", 1) for _, _, cfg in entries)
    checks = ((["licensing", "stages"], len(scn.licensing.stages), MAX_STAGES, "review stages"),
              (["grades"], len(scn.grades), MAX_GRADES, "grade tables"),
              (["policy"], len(scn.policy), MAX_POLICIES, "policy entries"),
              ([], len(entries), MAX_ENTRIES, "actor entries"),
              ([], firms, MAX_FIRMS, "firms in all"))
    for loc, n, limit, what in checks:
        problem = _count(n, limit, what)
        if problem:
            yield loc, loc, problem, ...
    if scn.sweep.replications > MAX_SWEEP_REPLICATIONS:
        loc = ["sweep", "replications"]
        yield loc, loc, f"must be at most {MAX_SWEEP_REPLICATIONS}", scn.sweep.replications


def _reviewers(scn: Any) -> Iterator[Problem]:
    for i, stage in enumerate(scn.licensing.stages):
        if stage.reviewers != math.inf and stage.reviewers > MAX_REVIEWERS:
            yield (["licensing", "stages", i, "reviewers"], ["licensing", "stages", ("name", stage.name), "reviewers"],
                   f'must be at most {MAX_REVIEWERS} or "inf" (unlimited)', int(stage.reviewers))


def _fractions(scn: Any) -> Iterator[Problem]:
    tables = [(["grades", name, "content"], ["grades", name, "content"], g.content) for name, g in scn.grades.items()]
    tables += [(["mines", i, "composition"], ["mines", ("name", m.name), "composition"], m.composition)
               for i, m in enumerate(getattr(scn, "mines", ()))]
    for loc, shown, content in tables:
        for element, share in content.items():
            if share < MIN_FRACTION:
                yield ([*loc, element], [*shown, element], f"must be at least {MIN_FRACTION:g} (a part per "
                       "billion) or left out: a smaller fraction is no content", share)


def check_limits(scn: Any, label: str, set_locs: Mapping[str, str] | None = None) -> None:
    """Refuse a scenario over any limit, with the limit and the value;
    ``set_locs`` (where ``--set`` put values) names the flag as the source."""
    for check in (_counts, _reviewers, _fractions):
        for loc, shown, problem, value in check(scn):
            raise ScenarioError(flag_or(label, format_loc(loc), set_locs or {}), format_loc(shown), problem, value)


__all__ = ["MAX_ENTRIES", "MAX_FIRMS", "MAX_GRADES", "MAX_POLICIES", "MAX_REVIEWERS", "MAX_STAGES",
           "MAX_SWEEP_REPLICATIONS", "MIN_FRACTION", "check_limits"]
