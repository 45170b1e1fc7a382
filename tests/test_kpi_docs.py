"""The KPI lists in the documentation are the declared KPIs.

Every KPI is declared once (``resim.model.kpis.KPIS``); the README's KPI
table is that declaration rendered (a failure prints the table to paste),
and its column table of replications.parquet names exactly the declared
columns, in order. The declaration itself is checked against the
computation: a ``sum`` KPI's ``all`` row is the sum of the entries', a
share is bounded by 0 and 1, a censored KPI is NaN without its event.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from resim.experiment.point_outcomes import OUTCOMES
from resim.model.kpis import (
    ALL,
    BY_NAME,
    FIRST_DAYS,
    KPIS,
    METRICS,
    READING_ORDER,
    STOCKOUT_PROBABILITY,
    SUM,
    Kpi,
    replication_kpis,
)

from chain_fixtures import ROOT

README = ROOT / "README.md"


def _range(k: Kpi) -> str:
    lo, hi = k.bounds
    return {(0.0, None): "≥ 0", (0.0, 1.0): "0–1", (None, None): "any"}[(lo, hi)]


def kpi_table() -> str:
    """The README's KPI table, from the declaration."""
    rows = ["| KPI | unit | better | `all` | range | meaning |", "|---|---|---|---|---|---|"]
    for k in READING_ORDER:
        if k.occurrence_of:
            continue
        rows.append(f"| `{k.name}` | {k.unit} | {k.better} | {k.aggregation} | {_range(k)} | {k.meaning}"
                    f"{' (first-event day)' if k.censored else ''} |")
    s = STOCKOUT_PROBABILITY
    rows.append(f"| `{s.name}` | {s.unit} | {s.better} | {s.aggregation} | {_range(s)} | {s.meaning} "
                "(across replications: summary.json, sweeps, comparisons) |")
    return "\n".join(rows) + "\n"


def test_the_readme_kpi_table_is_the_declaration() -> None:
    want = kpi_table()
    assert want in README.read_text(encoding="utf-8"), f"README's KPI table should read:\n{want}"


def test_the_readme_column_table_lists_every_kpi_column_in_order() -> None:
    text = README.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `vehicles_lost`, "))
    assert tuple(re.findall(r"`(\w+)`", row.split("|")[1])) == METRICS


def test_every_outcome_is_declared_once_and_in_reading_order() -> None:
    names = [k.name for k in READING_ORDER]
    assert len(names) == len(set(names)) == len(OUTCOMES)
    assert set(names) == set(OUTCOMES) == set(BY_NAME)
    # a share of replications follows the day it counts
    assert names.index(STOCKOUT_PROBABILITY.name) == names.index(STOCKOUT_PROBABILITY.occurrence_of) + 1
    assert FIRST_DAYS == tuple(k.name for k in KPIS if k.censored)
    assert all(k.better in ("lower", "higher") and k.aggregation in ("sum", "pooled") for k in READING_ORDER)


def _day_rows(who: str, short: list[float], firms: int = 1) -> pd.DataFrame:
    n = len(short)
    demand = np.full(n, 2.0)
    return pd.DataFrame({"automaker": who, "day": np.arange(n), "demand_t": demand,
                         "consumed_t": demand - np.asarray(short), "shortfall_t": short,
                         "t_per_vehicle": 0.002, "firms": firms,
                         "firms_stopped": [firms * (s > 0) for s in short]})


def test_the_declared_aggregation_is_how_the_all_row_is_formed() -> None:
    ts = pd.concat([_day_rows("A", [0, 1, 1, 0]), _day_rows("B", [0, 0, 2, 2], firms=3)], ignore_index=True)
    costs = pd.DataFrame({"automaker": ["A", "B", "B"], "usd": [10.0, 5.0, 2.5]})
    kpis = replication_kpis(ts, costs).set_index("automaker")
    for k in KPIS:
        if k.aggregation == SUM:
            assert kpis.loc[ALL, k.name] == kpis.loc[["A", "B"], k.name].sum(), k.name
    # pooled: a day is short when any entry is (days 1, 2, 3), the first on day 1, met demand over all demand
    assert kpis.loc[ALL, "stockout_days"] == 3 and kpis.loc[ALL, "first_stockout_day"] == 1
    assert kpis.loc[ALL, "fill_rate"] == 1 - 6 / 16


def test_declared_bounds_hold_and_censored_kpis_are_nan_without_the_event() -> None:
    kpis = replication_kpis(pd.concat([_day_rows("A", [0, 0, 0]), _day_rows("B", [0, 2, 0])], ignore_index=True))
    for k in KPIS:
        lo, hi = k.bounds
        x = kpis[k.name].dropna()
        assert (lo is None or (x >= lo).all()) and (hi is None or (x <= hi).all()), k.name
    a = kpis.set_index("automaker").loc["A"]
    assert all(math.isnan(a[name]) for name in FIRST_DAYS)
