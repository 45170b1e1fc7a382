"""Calibration speed: the whole public call on the April 2025 scenario, against 608c727.

Calibrating ``scenarios/april_2025_controls.toml`` (``resim calibrate``) runs
its simulations thousands of times, so the simulation itself has to get much
faster: the goal is 10 times commit 608c727 (the code before the speed work).
This benchmark times exactly what a user calls,
``resim.simulate(FILE, replications=3, workers=1, progress=False)``, after one
warm-up call (1 replication) in the same interpreter, for

* the current code: the repository this file sits in, and
* commit 608c727, extracted with ``git archive 608c727 resim`` into a temporary
  folder (removed at the end),

each in its own interpreter with its copy first on PYTHONPATH (the child
reports ``resim.__file__``, checked here, and its timing as JSON). Both run the
scenario as of 608c727 (``tests/data/scenarios_608c727/``), so the work is the
same. Rounds alternate (old, new, old, new, ...); the ratio of a round is the
old time over the new; the figure is the median ratio, with the new version's
simulations per core-second (replications over the CPU time of the call). The
same figures for ``eu_supplier_population.toml`` (one population of 200
firms) are reported; the verdict is on the April scenario.

The last line is the verdict, e.g. ``calibration_speed: ratio 1.75 (gate
1.3; goal 10 not reached) ok``; the script exits 1 when the ratio is below
``GATE``, or when git or commit 608c727 is not available (a copy without
history: CI clones with full history).

``GATE`` is the ratio the code has reached, less room for noise, so later work
cannot erode a gain unnoticed. Issue 24 asks for a gate of 8 once its goal of
10 (``GOAL``) is reached; that is far off. Measured on 2026-12-05 (branch
speed24b): 1.75 at full size (3 rounds of 3 replications: 1.92, 1.75, 1.72),
1.56-1.87 in fast mode (one round of one replication: noisier), against 1.10
before it. ``GATE`` (1.3) is about 80% of the fast-mode figures (0.74 of the
full-size one): raise it with every gain, up to 8.

    python benchmarks/calibration_speed.py            # 3 rounds, 3 replications, April and EU
    python benchmarks/calibration_speed.py --fast     # CI size: 1 round, 1 replication, April
"""

from __future__ import annotations

import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASE = "608c727"
SCENARIOS = ROOT / "tests" / "data" / "scenarios_608c727"
#: Issue 24's goal for the ratio (its CI gate is 8 once reached).
GOAL = 10.0
#: The ratio below which the fast mode fails: what is reached, less noise.
GATE = 1.3
NAME = "calibration_speed"

# Runs in a fresh interpreter with one copy of resim first on PYTHONPATH.
CHILD = r"""
import json, resource, sys, time
import resim

def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

path, reps = sys.argv[1], int(sys.argv[2])
resim.simulate(path, replications=1, workers=1, progress=False)  # warm-up
c0, t0 = cpu(), time.perf_counter()
res = resim.simulate(path, replications=reps, workers=1, progress=False)
seconds, cpu_s = time.perf_counter() - t0, cpu() - c0
print(json.dumps({"resim_file": resim.__file__, "seconds": seconds, "cpu_s": cpu_s,
                  "replications": len(res.totals),
                  "failed": res.summary()["failed_replications"]}))
"""


class BenchError(Exception):
    pass


def extract_base(dest: Path) -> None:
    """``git archive BASE resim`` of this repository, unpacked into ``dest``."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", BASE, "resim"],
                             capture_output=True, check=False)
    except FileNotFoundError as e:
        raise BenchError(f"git is not installed, so commit {BASE} cannot be extracted "
                         "(run from a git clone with full history)") from e
    if out.returncode != 0:
        why = out.stderr.decode(errors="replace").strip().splitlines()
        raise BenchError(f"commit {BASE} is not available in {ROOT} "
                         f"(git: {why[-1] if why else out.returncode}); "
                         "run from a git clone with full history")
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # Python < 3.11.4
            tar.extractall(dest)


def run_child(code_root: Path, scenario: Path, reps: int, cwd: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(code_root),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(scenario), str(reps)],
                         cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-5:])
        raise BenchError(f"the run of {scenario.name} with {code_root} failed:\n{tail}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    expected = (code_root / "resim" / "__init__.py").resolve()
    if Path(result["resim_file"]).resolve() != expected:
        raise BenchError(f"the child imported {result['resim_file']}, not {expected}")
    if result["failed"] or result["replications"] != reps:
        raise BenchError(f"{scenario.name} with {code_root}: {result['failed']} failed "
                         f"replications, {result['replications']} of {reps} finished")
    return result


def compare(old_root: Path, scenario: Path, reps: int, rounds: int, cwd: Path) -> dict[str, Any]:
    old, new = [], []
    for _ in range(rounds):
        old.append(run_child(old_root, scenario, reps, cwd))
        new.append(run_child(ROOT, scenario, reps, cwd))
    ratios = [o["seconds"] / n["seconds"] for o, n in zip(old, new, strict=True)]
    return {
        "scenario": scenario.stem,
        "replications": reps,
        "rounds": rounds,
        "old_s": [round(o["seconds"], 3) for o in old],
        "new_s": [round(n["seconds"], 3) for n in new],
        "ratios": [round(r, 3) for r in ratios],
        "ratio": round(statistics.median(ratios), 3),
        "cpu_ratio": round(statistics.median(o["cpu_s"] / n["cpu_s"] for o, n in zip(old, new, strict=True)), 3),
        "new_simulations_per_core_s": round(statistics.median(reps / n["cpu_s"] for n in new), 3),
        "old_simulations_per_core_s": round(statistics.median(reps / o["cpu_s"] for o in old), 3),
    }


def main() -> int:
    fast = "--fast" in sys.argv or os.environ.get("RESIM_BENCH_FAST") == "1"
    rounds, reps = (1, 1) if fast else (3, 3)
    names = ["april_2025_controls.toml"] if fast else [
        "april_2025_controls.toml", "eu_supplier_population.toml"]
    tmp = Path(tempfile.mkdtemp(prefix="resim-bench-"))
    try:
        for name in names:
            if not (SCENARIOS / name).is_file():
                raise BenchError(f"{SCENARIOS / name} is missing (the scenarios as of {BASE})")
        old_root, cwd = tmp / BASE, tmp / "cwd"
        old_root.mkdir()
        cwd.mkdir()
        extract_base(old_root)
        results = [compare(old_root, SCENARIOS / name, reps, rounds, cwd) for name in names]
    except BenchError as e:
        first, *rest = str(e).splitlines()
        for line in rest:
            print(line)
        print(f"{NAME}: {first} FAIL")  # last line: the reason, for CI's tail -n 1
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    head = results[0]
    print(json.dumps({"baseline": BASE, "fast": fast, "gate": GATE, "goal": GOAL,
                      "ratio": head["ratio"],
                      "new_simulations_per_core_s": head["new_simulations_per_core_s"],
                      "scenarios": results}))
    ok = head["ratio"] >= GATE
    goal = "reached" if head["ratio"] >= GOAL else "not reached"
    print(f"{NAME}: ratio {head['ratio']:.2f} (gate {GATE:g}; goal {GOAL:g} {goal}) {'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
