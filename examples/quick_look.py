"""A quick look at the reference scenario, as one would in a notebook.

Run from the repository root:  python examples/quick_look.py [OUT_DIR]

Loads scenarios/six_month_licences.toml, simulates 20 replications, prints the
EU automaker's vehicles lost (mean and 95% confidence interval) and writes the
result files and figures to OUT_DIR (a temporary directory by default).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import resim
from resim.output.figures import save_run_plots

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "six_month_licences.toml"


def main(out: Path) -> None:
    scenario = resim.load_scenario(SCENARIO)
    res = resim.simulate(scenario, replications=20)

    lost = res.summary()["kpis"]["EU automaker"]["vehicles_lost"]
    lo, hi = lost["ci95"]
    print(f"{scenario.scenario.scenario.name}, {len(res.outputs)} replications")
    print(f"EU automaker, vehicles lost in {res.scenario.scenario.horizon:g} days: "
          f"{lost['mean']:,.0f} (95% CI {lo:,.0f} to {hi:,.0f})")

    # Per-replication values are a DataFrame, ready for pandas:
    eu = res.replications[res.replications["automaker"] == "EU automaker"]
    print(f"replications with a stockout: {eu['first_stockout_day'].notna().mean():.0%}")

    res.write(out)
    for path in save_run_plots(res, out):
        print("figure:", path)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
        print(f"HTML report of these files: python -m resim report {sys.argv[1]}")
    else:
        with tempfile.TemporaryDirectory(prefix="resim-quick-look-") as tmp:
            main(Path(tmp))
