"""Write the reference data of commit 608c727 for every shipped scenario.

Runs whatever ``resim`` is importable (for the reference: commit 608c727,
extracted with ``git archive 608c727 resim`` and put first on PYTHONPATH)
through the public API only, ``resim.simulate(path, replications=N,
workers=1, progress=False)``, on each ``tests/data/scenarios_608c727/*.toml``
(the scenarios as of 608c727, seeds as in the files), and writes next to this
script:

* ``record_hashes.json``: 2 replications per scenario, a SHA-256 of each
  record table (``tests/reference.py: table_hashes``); each scenario is run
  twice and its hashes must agree (determinism) before they are stored;
* ``kpi_reference.json``: ``N_REPLICATIONS[file]`` replications per scenario,
  per automaker and ``all``, each KPI's count, mean, sd and NaN count
  (``tests/reference.py: kpi_stats``), with the seed, N and the wall time per
  replication.

    git -C /work/main archive 608c727 resim | tar -x -C /tmp/old608
    PYTHONPATH=/tmp/old608 python tests/data/reference_608c727/make_reference.py

Optional arguments: scenario file names to redo only those (the other
entries of the JSON files are kept).
"""

from __future__ import annotations

import json
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent.parent
SCENARIOS = TESTS / "data" / "scenarios_608c727"
COMMIT = "608c727"

sys.path.insert(0, str(TESTS))

from reference import KPIS, TABLES, kpi_stats, table_hashes  # noqa: E402

import resim  # noqa: E402

#: Replications of the KPI reference, chosen from a pilot run of 608c727 on the
#: 2-core shared machine so each scenario takes about 2.5 minutes on one worker
#: at most (capped at 500: the tests' own runs, not these, limit the tests'
#: power beyond that).
N_REPLICATIONS = {
    "april_2025_controls.toml": 70,  # ~2.0 s a replication
    "eu_supplier_population.toml": 160,  # ~0.9 s
    "one_year_general_licences.toml": 400,  # ~0.35 s
    "quota_cut_2010.toml": 450,  # ~0.31 s, 6-year horizon
    "october_2025_expansion.toml": 500,
    "stockpile_policy.toml": 500,
    "december_2025_general_licences.toml": 500,
    "per_shipment_licences.toml": 500,
    "six_month_licences.toml": 500,
    "baseline.toml": 500,
}
HASH_REPLICATIONS = 2
SLOW_S = 60.0  # a 2-replication run longer than this is marked slow
TARGET_S = 150.0  # for a scenario not in N_REPLICATIONS


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(path: Path, n: int) -> tuple[Any, float]:
    t0 = time.perf_counter()
    res = resim.simulate(path, replications=n, workers=1, progress=False)
    return res, time.perf_counter() - t0


def _load(path: Path, key: str) -> dict[str, Any]:
    if path.exists():
        return json.loads(path.read_text())[key]
    return {}


def _write(path: Path, header: dict[str, Any], key: str, entries: dict[str, Any]) -> None:
    doc = {**header, key: dict(sorted(entries.items()))}
    text = json.dumps(doc, indent=1, allow_nan=False)
    # innermost objects (a KPI's statistics, a table's hashes) on one line each
    text = re.sub(r"\{\n\s*([^{}\[\]]*?)\n\s*\}",
                  lambda m: "{" + " ".join(x.strip() for x in m.group(1).split("\n")) + "}", text)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text + "\n")
    tmp.replace(path)


def main(argv: list[str]) -> int:
    files = sorted(SCENARIOS.glob("*.toml"))
    if argv:
        wanted = set(argv)
        files = [f for f in files if f.name in wanted]
        unknown = wanted - {f.name for f in files}
        if unknown:
            print(f"no such scenario in {SCENARIOS}: {sorted(unknown)}", file=sys.stderr)
            return 2
    print(f"resim {resim.__version__} from {resim.__file__}", file=sys.stderr)
    header = {
        "commit": COMMIT,
        "command": "PYTHONPATH=/tmp/old608 python tests/data/reference_608c727/make_reference.py",
        "api": "resim.simulate(path, replications=N, workers=1, progress=False)",
        "resim_file": resim.__file__,
    }
    hashes_path, kpi_path = HERE / "record_hashes.json", HERE / "kpi_reference.json"
    hashes = _load(hashes_path, "scenarios")
    kpis = _load(kpi_path, "scenarios")
    ok = True
    for path in files:
        name = path.name
        res, dt = _run(path, HASH_REPLICATIONS)
        first = table_hashes(res)
        again, dt2 = _run(path, HASH_REPLICATIONS)
        second = table_hashes(again)
        summary = res.summary()
        if first != second:
            ok = False
            differ = [t for t in TABLES if first[t] != second[t]]
            print(f"{name}: NOT DETERMINISTIC, tables {differ} differ between two runs; "
                  "hashes not stored", file=sys.stderr)
            hashes.pop(name, None)
        else:
            hashes[name] = {
                "seed": summary["seed"],
                "replications": HASH_REPLICATIONS,
                "seconds": round(min(dt, dt2), 3),
                "slow": min(dt, dt2) > SLOW_S,
                "rows": {t: len(getattr(res, t)) for t in TABLES},
                "sha256": first,
            }
            print(f"{name}: hashes ok ({dt:.2f} s, {dt2:.2f} s for {HASH_REPLICATIONS} "
                  "replications)", file=sys.stderr)
        _write(hashes_path, {**header, "versions": summary["versions"],
                             "hashing": "tests/reference.py: table_hashes"}, "scenarios", hashes)
        del res, again

        per_rep = min(dt, dt2) / HASH_REPLICATIONS
        n = N_REPLICATIONS.get(name) or max(10, min(500, int(TARGET_S / per_rep)))
        res, dt = _run(path, n)
        summary = res.summary()
        failed = int(summary["failed_replications"] or 0)
        if failed:
            ok = False
            print(f"{name}: {failed} of {n} replications failed", file=sys.stderr)
        kpis[name] = {
            "seed": summary["seed"],
            "replications": n,
            "failed_replications": failed,
            "wall_s": round(dt, 3),
            "wall_s_per_replication": round(dt / n, 4),
            "kpis": kpi_stats(res.replications, res.totals, KPIS),
        }
        print(f"{name}: {n} replications in {dt:.1f} s ({dt / n:.3f} s each), "
              f"peak RSS {_peak_rss_mib():.0f} MiB", file=sys.stderr)
        _write(kpi_path, {**header, "versions": summary["versions"], "kpi_columns": list(KPIS),
                          "statistics": "tests/reference.py: kpi_stats"}, "scenarios", kpis)
        del res
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
