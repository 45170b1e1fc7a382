"""Speed of the whole model on the reference scenario, calibrated in the same run.

Runs scenarios/six_month_licences.toml (its own horizon) replication by
replication in this process and reports replications per second and
simulated SimPy events per second. As a same-run calibration it times the bare
SimPy kernel on 1M timeouts chained by callbacks; ``kernel_fraction`` is the
model's event rate as a share of that ceiling (machines here are shared and
noisy, so only same-run ratios are comparable across runs).

    python benchmarks/scenario_speed.py            # full size
    python benchmarks/scenario_speed.py --fast     # CI size
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import simpy

from resim.experiment.replications import simulate_replication
from resim.scenario import load

ROOT = Path(__file__).resolve().parent.parent


def kernel_events_per_s(n: int) -> float:
    env = simpy.Environment()
    count = 0

    def step(_event: object) -> None:
        nonlocal count
        count += 1
        if count < n:
            env.timeout(1.0).callbacks.append(step)

    env.timeout(1.0).callbacks.append(step)
    t0 = time.perf_counter()
    env.run()
    return n / (time.perf_counter() - t0)


def main() -> None:
    fast = "--fast" in sys.argv or os.environ.get("RESIM_BENCH_FAST") == "1"
    reps = 6 if fast else 60
    loaded = load(ROOT / "scenarios" / "six_month_licences.toml")
    simulate_replication(loaded, 0)  # warm caches and imports
    t0 = time.perf_counter()
    events = 0
    for r in range(reps):
        out = simulate_replication(loaded, r)
        assert out.error is None, out.error
        events += out.sim_events
    dt = time.perf_counter() - t0
    kernel = kernel_events_per_s(100_000 if fast else 1_000_000)
    result = {
        "scenario": "six_month_licences",
        "replications": reps,
        "replications_per_s": round(reps / dt, 2),
        "events_per_s": round(events / dt),
        "kernel_events_per_s": round(kernel),
        "kernel_fraction": round(events / dt / kernel, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
