"""Honest comparisons (issue 16): n on every row, the first stockout censored
at the horizon (never dropping a pair), a paired difference in the
stockout probability with Bonett and Price's interval, and ``--out``/``--seed``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from resim.experiment.censoring import km_median
from resim.experiment.comparison import compare_kpis, paired_proportions
from resim.experiment.runfolder import check_complete
from resim.model.kpis import METRICS
from resim.scenario.tomlwriter import dumps

from chain_fixtures import small_chain
from scenario_helpers import cli

NAN = np.nan


def _table(first_days: list[float], lost: list[float]) -> pd.DataFrame:
    n = len(first_days)
    return pd.DataFrame({"replication": range(n), "automaker": ["EU"] * n, **{m: [1.0] * n for m in METRICS},
                         "error": [None] * n, "seed_entropy": [1] * n}).assign(first_stockout_day=first_days,
                                                                         vehicles_lost=lost)


def test_a_censored_comparison_on_a_hand_built_table() -> None:
    a = _table([10, 20, NAN, 30, NAN, 40], [5, 4, 0, 3, 0, 2])
    b = _table([NAN, 25, NAN, NAN, NAN, 45], [0, 1, 0, 0, 0, 1])
    out = compare_kpis(a, b, 100.0, 100.0).set_index("metric")
    assert (out["n"] == 6).all()  # no pair dropped for lack of a stockout
    first = out.loc["first_stockout_day"]
    assert first.mean_a == pytest.approx((10 + 20 + 100 + 30 + 100 + 40) / 6)  # no stockout = the horizon
    assert first.mean_b == pytest.approx((100 + 25 + 100 + 100 + 100 + 45) / 6)
    d = np.array([90, 5, 0, 70, 0, 5], dtype=float)
    half = stats.t.ppf(0.975, 5) * d.std(ddof=1) / np.sqrt(6)
    assert first["diff"] == pytest.approx(d.mean())
    assert (first.ci_low, first.ci_high) == pytest.approx((d.mean() - half, d.mean() + half))
    # Kaplan-Meier: A's survival falls to 1/2 at day 30; B's never does before the horizon
    assert first.median_a == 30.0 and np.isnan(first.median_b)
    p = out.loc["stockout_probability"]
    assert (p.mean_a, p.mean_b, p["diff"]) == pytest.approx((4 / 6, 2 / 6, -2 / 6))
    assert -1 <= p.ci_low < p["diff"] < p.ci_high <= 1 and p.method.startswith("paired proportions")
    lost = out.loc["vehicles_lost"]
    assert lost["diff"] == pytest.approx(np.mean([-5, -3, 0, -3, 0, -1]))


def test_km_median_reads_the_survival_curve() -> None:
    assert km_median(np.array([10.0, 20, 30, NAN]), 100)["median"] == 20.0
    assert km_median(np.array([NAN, NAN]), 100) == {"median": None, "ci_low": None, "ci_high": None}
    rng = np.random.default_rng(0)
    t = rng.exponential(100.0, 2000)
    t[t > 300] = NAN
    m = km_median(t, 300.0)
    assert m["ci_low"] < 100 * np.log(2) < m["ci_high"] and m["ci_low"] < m["median"] < m["ci_high"]


def test_the_paired_proportion_interval_covers_the_true_difference_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(3)
    # (the last case, few discordant pairs, is where the adjusted Wald interval errs on the wide side)
    for pa, pb, rho, n, most in ((0.9, 0.4, 0.5, 30, 0.985), (0.5, 0.45, 0.8, 60, 0.985),
                                 (0.2, 0.1, 0.6, 100, 0.985), (0.95, 0.9, 0.9, 20, 1.0)):
        cov = np.array([[1.0, rho], [rho, 1.0]])
        hits, ratios = 0, []
        for _ in range(400):
            z = rng.multivariate_normal([0.0, 0.0], cov, size=n)
            r = paired_proportions(z[:, 0] < stats.norm.ppf(pa), z[:, 1] < stats.norm.ppf(pb))
            hits += r["ci_low"] <= pb - pa <= r["ci_high"]
            ratios.append(r["width_ratio"])
        assert 0.92 <= hits / 400 <= most, (pa, pb, rho, hits)
        assert np.median(ratios) > 1.0  # positively correlated pairs: narrower than independent samples
    # no discordant pair (common random numbers, a change that does not touch this automaker): still a width
    same = paired_proportions(np.array([True] * 10 + [False] * 10), np.array([True] * 10 + [False] * 10))
    assert same["diff"] == 0 and same["ci_low"] < -0.05 and same["ci_high"] > 0.05


@pytest.mark.slow
def test_compare_writes_its_files_with_n_on_every_row(tmp_path: Path) -> None:
    src = tmp_path / "chain.toml"
    src.write_text(dumps(small_chain(**{"scenario.horizon": 120})))
    out = tmp_path / "cmp"
    r = cli("compare", str(src), "--b-set", "automakers[EU maker].initial_inventory_days=200", "-n", "8",
            "--seed", "11", "--workers", "1", "--out", str(out))
    assert r.code == 0, r.err
    text = " ".join(r.out.split())
    assert "P(stockout)" in text and "first stockout" in text and "(censored)" in text and "days" in text
    df = pd.read_parquet(out / "compare.parquet")
    assert df["n"].notna().all() and {"stockout_probability", "first_stockout_day"} <= set(df["metric"])
    undefined = df["mean_a"].isna()  # vehicles of the buyer given in tonnes: no pair has a value
    assert (df.loc[~undefined, "n"] == 8).all() and (df.loc[undefined, "n"] == 0).all()
    assert set(df.loc[undefined, "automaker"]) == {"CN buyer"}
    eu = df[df["automaker"] == "EU maker"].set_index("metric")
    assert eu.loc["stockout_probability", "diff"] < 0  # a 200-day stockpile removes stockouts
    assert eu.loc["first_stockout_day", "diff"] > 0 and eu.loc["first_stockout_day", "n"] == 8
    meta = json.loads((out / "compare.json").read_text())
    assert meta["seed"] == 11 and meta["replications"] == 8
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Paired differences" in html and "Kaplan-Meier" in html and "data:image/png;base64," in html
    check_complete(out)
    assert cli("report", str(out)).code == 0
    # the seed: another seed, other random numbers
    other = cli("compare", str(src), "--b-set", "automakers[EU maker].initial_inventory_days=200", "-n", "8",
                "--seed", "12", "--workers", "1", "--json")
    assert other.code == 0
    assert json.loads(other.out) != json.loads(df.to_json(orient="records"))
