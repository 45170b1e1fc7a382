"""Sweep scaling: the same sweep with 1 and 2 worker processes.

Reports the speed-up of 2 workers over 1 (SPEC §6: >= 1.8 on 2 cores) as the
median of ``--repeat`` alternating pairs of runs (default 3; shared machines
are noisy), and the 2-worker throughput in replications per second. The
parent process's own CPU time is reported too: it should stay a small
fraction of the wall time (the workers store their parts; the design points
reach each worker once). The sweep's report.html is not drawn here: it is the
same serial cost for any number of workers. Both runs write to fresh
temporary stores and produce identical rows (checked).

    python benchmarks/sweep_scaling.py            # full size, median of 3
    python benchmarks/sweep_scaling.py --fast     # CI size, one pair
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from resim.api import sweep

ROOT = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    fast = "--fast" in sys.argv or os.environ.get("RESIM_BENCH_FAST") == "1"
    repeat = 1 if fast else 3
    if "--repeat" in sys.argv:
        repeat = int(sys.argv[sys.argv.index("--repeat") + 1])
    scenario = ROOT / "scenarios" / "six_month_licences.toml"
    grid = {"licensing.approval_rate": [0.4, 0.8], "controls.lifetime_days": [90, 365]}
    reps = 4 if fast else 40
    times: dict[int, list[float]] = {1: [], 2: []}
    parent_cpu = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            rows = {}
            for workers in (1, 2):
                t0, c0 = time.perf_counter(), _cpu()
                res = sweep(scenario, grid=grid, replications=reps, workers=workers,
                            out=Path(tmp) / f"w{workers}-{i}", report=False)  # executors, not plotting
                times[workers].append(time.perf_counter() - t0)
                if workers == 2:
                    parent_cpu.append(_cpu() - c0)
                rows[workers] = res.results
            assert rows[1].equals(rows[2]), "1 and 2 workers gave different rows"
    units = len(grid["licensing.approval_rate"]) * len(grid["controls.lifetime_days"]) * reps
    speedups = [a / b for a, b in zip(times[1], times[2], strict=True)]
    t2 = statistics.median(times[2])
    print(json.dumps({
        "units": units,
        "runs": repeat,
        "seconds_1_worker": round(statistics.median(times[1]), 2),
        "seconds_2_workers": round(t2, 2),
        "parent_cpu_s_2_workers": round(statistics.median(parent_cpu), 2),
        "speedups": [round(s, 2) for s in speedups],
        "speedup_2_workers": round(statistics.median(speedups), 2),
        "replications_per_s": round(units / t2, 2),
    }))


if __name__ == "__main__":
    main()
