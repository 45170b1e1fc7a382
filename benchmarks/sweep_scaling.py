"""Sweep scaling: the same sweep with 1 and 2 worker processes, in one run.

Reports the speed-up of 2 workers over 1 (goal >= 1.7 on 2 cores) and the
2-worker throughput in replications per second. The sweep's report.html is
not drawn here: it is the same serial cost for any number of workers. Both runs write to fresh
temporary stores and produce identical rows (checked).

    python benchmarks/sweep_scaling.py            # full size
    python benchmarks/sweep_scaling.py --fast     # CI size
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from resim.sweeps import sweep

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    fast = "--fast" in sys.argv or os.environ.get("RESIM_BENCH_FAST") == "1"
    scenario = ROOT / "scenarios" / "six_month_licences.toml"
    grid = {"licensing.approval_rate": [0.4, 0.8], "controls.lifetime_days": [90, 365]}
    reps = 4 if fast else 40
    times = {}
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            t0 = time.perf_counter()
            res = sweep(scenario, grid=grid, replications=reps, workers=workers, out=Path(tmp) / f"w{workers}",
                        report=False)  # time the executors, not the (serial) plotting
            times[workers] = time.perf_counter() - t0
            rows[workers] = res.results
    assert rows[1].equals(rows[2]), "1 and 2 workers gave different rows"
    units = len(grid["licensing.approval_rate"]) * len(grid["controls.lifetime_days"]) * reps
    print(json.dumps({
        "units": units,
        "seconds_1_worker": round(times[1], 2),
        "seconds_2_workers": round(times[2], 2),
        "speedup_2_workers": round(times[1] / times[2], 2),
        "replications_per_s": round(units / times[2], 2),
    }))


if __name__ == "__main__":
    main()
