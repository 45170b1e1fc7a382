"""How replication time grows with the number of firms in a population.

One scenario, the reference chain of scenarios/six_month_licences.toml with
its EU automaker entry a population of 10, 100 and 1,000 firms (same total
demand, per-firm inventories drawn from 45-105 days), run replication by
replication in this process, all sizes in the same run. Replication time
should grow at most linearly with the number of firms (SPEC §6): the goal is
``growth_100_to_1000 <= 10`` (the time ratio of 1,000 to 100 firms), and
``ms_per_firm_year`` (the marginal cost of a firm simulated for a year,
from the 100- and 1,000-firm sizes) is reported against an aim of 2 ms.

    python benchmarks/population_scaling.py            # full size
    python benchmarks/population_scaling.py --fast     # CI size
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from resim.experiment.replications import simulate_replication
from resim.scenario import load

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10, 100, 1000)


def seconds_per_replication(firms: int, reps: int) -> tuple[float, float]:
    loaded = load(ROOT / "scenarios" / "six_month_licences.toml", {
        "automakers[EU automaker].firms": firms,
        "automakers[EU automaker].initial_inventory_days": {"dist": "uniform", "low": 45, "high": 105},
    })
    simulate_replication(loaded, 0)  # warm caches
    t0 = time.perf_counter()
    for r in range(reps):
        out = simulate_replication(loaded, r)
        assert out.error is None, out.error
    return (time.perf_counter() - t0) / reps, float(loaded.scenario.scenario.horizon)


def main() -> None:
    fast = "--fast" in sys.argv or os.environ.get("RESIM_BENCH_FAST") == "1"
    reps = {10: 2, 100: 1, 1000: 1} if fast else {10: 10, 100: 6, 1000: 3}
    times = {}
    horizon = 365.0
    for n in SIZES:
        times[n], horizon = seconds_per_replication(n, reps[n])
    years = horizon / 365.25
    marginal = (times[1000] - times[100]) / (900 * years)
    result = {
        "firms": list(SIZES),
        "replications_per_s": [round(1.0 / times[n], 3) for n in SIZES],
        "ms_per_firm_year": round(1000 * marginal, 3),
        "growth_100_to_1000": round(times[1000] / times[100], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
