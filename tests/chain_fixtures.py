"""Paths and a small, fast supply-chain scenario shared by the tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"

SMALL_CHAIN: dict[str, Any] = {
    "scenario": {"name": "small chain", "start_date": "2025-04-04", "horizon": 240, "replications": 4, "seed": 7},
    "controls": {"licence_mode": "general", "lifetime_days": 120, "renewal_lead_days": 40},
    "licensing": {
        "approval_rate": 0.6,
        "max_attempts": 2,
        "resubmit_days": {"dist": "uniform", "low": 5, "high": 15},
        "stages": [
            {"name": "technical", "reviewers": "inf", "duration": {"dist": "uniform", "low": 15, "high": 20}},
            {"name": "security", "reviewers": "inf", "duration": {"dist": "uniform", "low": 10, "high": 15}},
        ],
    },
    "grades": {"N42SH": {"content": {"Nd": 0.235, "Pr": 0.06, "Dy": 0.025, "Tb": 0.005}}},
    "mines": [{"name": "mine", "jurisdiction": "CN", "output_t_per_day": 100,
               "composition": {"Nd": 0.17, "Pr": 0.05, "Dy": 0.004, "Tb": 0.001, "La": 0.3}}],
    "separators": [{"name": "sep", "jurisdiction": "CN", "capacity_t_per_day": 90, "recovery": 0.95,
                    "suppliers": [{"name": "mine", "transit": "3d"}], "target_days": 21}],
    "magnet_makers": [
        {"name": "cn maker", "jurisdiction": "CN", "grade": "N42SH", "capacity_t_per_day": 10,
         "suppliers": [{"name": "sep", "transit": "5d"}]},
        {"name": "jp maker", "jurisdiction": "JP", "grade": "N42SH", "capacity_t_per_day": 3,
         "initial_inventory_days": 60, "target_days": 90,
         "suppliers": [{"name": "sep", "transit": {"dist": "uniform", "low": 7, "high": 14}}]},
    ],
    "automakers": [
        {"name": "EU maker", "jurisdiction": "DE", "vehicles_per_day": 1000, "magnet_kg_per_vehicle": 1.6,
         "initial_inventory_days": 60, "target_days": 90,
         "suppliers": [{"name": "cn maker", "transit": {"dist": "uniform", "low": 28, "high": 42}}]},
        {"name": "JP maker", "jurisdiction": "JP", "vehicles_per_day": 800, "magnet_kg_per_vehicle": 1.6,
         "initial_inventory_days": 75, "target_days": 90,
         "suppliers": [{"name": "jp maker", "share": 0.5, "transit": "3d"},
                       {"name": "cn maker", "share": 0.5, "transit": "10d"}]},
        {"name": "CN buyer", "jurisdiction": "CN", "demand_t_per_day": 0.5, "initial_inventory_days": 30,
         "suppliers": [{"name": "cn maker", "transit": "2d"}]},
    ],
}


def small_chain(**changes: Any) -> dict[str, Any]:
    """A copy of SMALL_CHAIN with dotted-key changes applied."""
    from resim.scenario import set_key

    d = copy.deepcopy(SMALL_CHAIN)
    for k, v in changes.items():
        set_key(d, k.replace("__", "."), v)
    return d


def with_second_source(d: dict[str, Any], share: float = 0.3, qualification_days: float = 0.0,
                       premium: float = 0.2, air: bool = False, capacity: float = 3.0) -> dict[str, Any]:
    """Add a non-Chinese chain (US mine -> separator -> magnet maker) and give
    the EU automaker ``share`` of its orders from it."""
    d = copy.deepcopy(d)
    d["mines"].append({"name": "us mine", "jurisdiction": "US", "output_t_per_day": 40,
                       "composition": {"Nd": 0.17, "Pr": 0.05, "Dy": 0.01, "Tb": 0.002}})
    d["separators"].append({"name": "us sep", "jurisdiction": "US", "capacity_t_per_day": 30,
                            "suppliers": [{"name": "us mine", "transit": "2d"}]})
    d["magnet_makers"].append({"name": "us maker", "jurisdiction": "US", "grade": "N42SH",
                               "capacity_t_per_day": capacity, "price_usd_per_kg": 60.0,
                               "suppliers": [{"name": "us sep", "transit": "3d"}]})
    for mm in d["magnet_makers"]:
        mm.setdefault("price_usd_per_kg", 50.0)
    eu = next(a for a in d["automakers"] if a["name"] == "EU maker")
    link: dict[str, Any] = {"name": "us maker", "share": share, "transit": {"dist": "uniform", "low": 20, "high": 30},
                            "qualification_days": qualification_days, "premium": premium}
    if air:
        link["air_freight"] = {"transit": {"dist": "uniform", "low": 2, "high": 4}, "cost_usd_per_kg": 25.0}
    eu["suppliers"] = [{**eu["suppliers"][0], "share": 1.0 - share}, link]
    return d
