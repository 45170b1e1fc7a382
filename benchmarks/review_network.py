"""Benchmark: resim's review office against idiomatic SimPy (SPEC §6 speed bar).

The network is the anchor of ``anchors_tandem.py``: Poisson applications at
LAM = 10 a day through three exponential FIFO stages, (mean days, reviewers) =
(17.5, 220), (12.5, 160), (7.5, 95), approval 1. Both models run in this
process on the same number of applications:

* resim: a licensing-only scenario driven through ``resim.model.replication.run_one`` (the
  scenario is loaded and validated before the clock starts; the timed part is
  building the model, simulating and building the record tables, with every
  application's record kept);
* idiomatic SimPy: a process and a ``simpy.Resource`` request per application
  and stage (``run_simpy`` of ``anchors_tandem.py``).

The speed bar is ``ratio = apps_per_s / idiomatic_simpy_apps_per_s >= 3``.
Each side is timed ``--repeat`` times and the best run is kept (the usual way
to time code on a shared machine). Both process every application to its
decision: resim's background load stops (by a policy) after ``n / LAM`` days
and the office drains before the horizon.

    python benchmarks/review_network.py            # 50 000 applications
    python benchmarks/review_network.py --fast     # ~5 000 (CI); or RESIM_BENCH_FAST=1
    python benchmarks/review_network.py --profile  # cProfile of resim's run

The last line printed is one JSON object: apps_per_s,
idiomatic_simpy_apps_per_s, ratio, mean_time_in_review (resim, first 10% of
applications discarded as warm-up, averaged over the repeats), theory
(Jackson / Erlang C, ``resim.model.queueing.jackson_tandem``), and details (the
idiomatic model's mean, applications decided and pending, resim's path).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import sys
import time
from pathlib import Path
from typing import Any

LAM = 10.0  # applications per day
STAGES = [("technical", 17.5, 220), ("security", 12.5, 160), ("issuance", 7.5, 95)]
FULL_N = 50_000
FAST_N = 5_000


DRAIN_DAYS = 600.0  # after the last arrival: P(time in review > 600 days) is nil


def scenario(n: int, seed: int) -> dict[str, Any]:
    """A licensing-only scenario with about ``n`` background applications
    (Poisson for ``n / LAM`` days, then a policy stops them and the office
    drains, as the idiomatic model runs until its queue is empty)."""
    return {
        "scenario": {
            "name": "review network benchmark",
            "horizon": n / LAM + DRAIN_DAYS,
            "replications": 1,
            "seed": seed,
        },
        "policy": [{"day": n / LAM, "set": {"licensing.background.applications_per_day": 0.0}}],
        "licensing": {
            "approval_rate": 1.0,
            "resubmit_days": 20.0,
            "rework": {"probability": 0.0, "stage": "technical", "fix_days": 10.0},
            "background": {"applications_per_day": LAM},
            "stages": [
                {"name": name, "reviewers": c, "duration": {"dist": "exponential", "mean": m}}
                for name, m, c in STAGES
            ],
        },
        "output": {"licence_records": "all"},
    }


def run_resim(n: int, seed: int, profile: bool = False) -> tuple[float, int, int, float, str]:
    """Time resim on about ``n`` applications: (seconds, decided, pending at
    the horizon, mean time in review after warm-up, profile text)."""
    from resim.model.replication import run_one
    from resim.scenario import load

    loaded = load(scenario(n, seed))
    prof = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    rec = run_one(loaded, 0)
    if prof:
        prof.disable()
    dt = time.perf_counter() - t0
    data = rec.licences.data
    sub, dec = data["submitted_day"], data["decided_day"]
    decided = [(s, d) for s, d, o in zip(sub, dec, data["outcome"], strict=True) if o != "pending"]
    decided.sort()
    warm = decided[len(decided) // 10:]
    mean = sum(d - s for s, d in warm) / len(warm)
    text = ""
    if prof:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(20)
        text = out.getvalue()
    return dt, len(decided), len(sub) - len(decided), mean, text


def run_simpy(n: int, seed: int) -> list[float]:
    """Idiomatic SimPy: a process and a Resource request per application."""
    import simpy

    rng = random.Random(seed)
    env = simpy.Environment()
    res = [simpy.Resource(env, capacity=c) for _, _, c in STAGES]
    soj: list[float] = []

    def app(env: simpy.Environment):  # type: ignore[no-untyped-def]
        t0 = env.now
        for (_, m, _), r in zip(STAGES, res, strict=True):
            with r.request() as req:
                yield req
                yield env.timeout(rng.expovariate(1 / m))
        soj.append(env.now - t0)

    def source(env: simpy.Environment):  # type: ignore[no-untyped-def]
        for _ in range(n):
            yield env.timeout(rng.expovariate(LAM))
            env.process(app(env))

    env.process(source(env))
    env.run()
    return soj


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--applications", type=int, default=None)
    ap.add_argument("--fast", action="store_true", help=f"{FAST_N} applications (CI)")
    ap.add_argument("--repeat", type=int, default=None,
                    help="timed runs per model, the best counts (default 5, --fast 3)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="print cProfile of resim's run")
    args = ap.parse_args(argv)
    fast = args.fast or os.environ.get("RESIM_BENCH_FAST", "") not in ("", "0")
    n = args.applications or (FAST_N if fast else FULL_N)
    repeat = max(1, args.repeat or (3 if fast else 5))

    import resim
    from resim.model.queueing import jackson_tandem

    theory = jackson_tandem(LAM, [(m, c) for _, m, c in STAGES]).total

    best_resim = best_simpy = float("inf")
    decided = pending = 0
    means: list[float] = []
    simpy_means: list[float] = []
    for k in range(repeat):  # alternate the two models, new seeds each round
        dt, decided, pending, mean, _ = run_resim(n, args.seed + k)
        best_resim = min(best_resim, dt / decided)
        means.append(mean)
        t0 = time.perf_counter()
        soj = run_simpy(n, args.seed + k)
        best_simpy = min(best_simpy, (time.perf_counter() - t0) / len(soj))
        warm = soj[len(soj) // 10:]
        simpy_means.append(sum(warm) / len(warm))
    if args.profile:
        print(run_resim(n, args.seed, profile=True)[4])
    result = {
        "apps_per_s": round(1.0 / best_resim, 1),
        "idiomatic_simpy_apps_per_s": round(1.0 / best_simpy, 1),
        "ratio": round(best_simpy / best_resim, 3),
        "mean_time_in_review": round(sum(means) / len(means), 4),
        "theory": round(theory, 4),
        "idiomatic_mean_time_in_review": round(sum(simpy_means) / len(simpy_means), 4),
        "applications": n,
        "decided": decided,
        "pending": pending,
        "resim": str(Path(resim.__file__).parent),
        "repeat": repeat,
        "python": sys.version.split()[0],
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
