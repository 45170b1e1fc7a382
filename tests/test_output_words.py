"""How KPIs, distributions and swept keys read in tables, reports and figures.

Headings, units, decimals and scales come from the KPI declaration; these
tests check the rules that turn it into text, on hand-made values."""

from __future__ import annotations

import pytest

from resim.model.kpis import BY_NAME, READING_ORDER
from resim.output.console import KPI_DROP_ORDER, run_kpis
from resim.output.figures.sweep import key_label
from resim.output.formatting import (
    HEADLINE_KPIS,
    MISSING,
    RESTRICTED,
    TERMINAL_KPIS,
    compared_label,
    kpi_value,
    metric_label,
    two_lines,
)
from resim.output.report_text import controls_facts, dist_text, stage_rows


def test_a_heading_over_two_lines_keeps_its_words_in_order() -> None:
    for k in TERMINAL_KPIS:
        top, bottom = two_lines(k.heading).split("\n")
        assert " ".join(filter(None, (top, bottom))) == k.heading
        assert bottom  # the last word is never left on the top line alone
    assert two_lines("fill rate %") == "fill\nrate %"


def test_report_values_are_in_the_unit_of_their_heading() -> None:
    assert kpi_value("fill_rate", 0.8125) == "81.2"  # a share shown in %, one decimal as declared
    assert kpi_value("stockout_probability", 0.25) == "0.25"
    assert kpi_value("stockout_days", 3.4) == "3.4"  # a mean of whole days keeps a decimal below 1,000
    assert kpi_value("vehicles_lost", 123456.7) == "123,500"
    assert kpi_value("vehicles_lost", None) == kpi_value("vehicles_lost", float("nan")) == MISSING


def test_comparisons_name_a_first_event_by_its_restricted_mean_and_a_share_in_percent() -> None:
    assert compared_label("first_stockout_day") == f"first stockout ({RESTRICTED})"
    assert compared_label("fill_rate", "% points") == "fill rate (% points)"
    assert compared_label("vehicles_lost") == metric_label("vehicles_lost") == "vehicles lost (vehicles)"
    assert metric_label("not_a_kpi") == "not a kpi"


def test_every_kpi_has_words_and_a_unit_and_every_drop_is_a_terminal_column() -> None:
    assert all(k.label and k.unit and k.heading for k in READING_ORDER)
    assert set(KPI_DROP_ORDER) <= {k.name for k in TERMINAL_KPIS}
    assert all(not k.population for k in HEADLINE_KPIS)


def _summary(vehicles: float | None, firms: int = 1) -> dict:
    block = {k.name: {"mean": 1.0} for k in READING_ORDER}
    block["vehicles_lost"] = {"mean": vehicles}
    return {"kpis": {"A": block, "all": block}, "firms": {"A": firms}}


def test_the_run_table_shows_a_stand_in_and_population_kpis_only_where_they_mean_something() -> None:
    names = [k.name for k in run_kpis(_summary(5.0))]
    assert "vehicles_lost" in names and "peak_share_stopped" not in names
    tonnes = [k.name for k in run_kpis(_summary(None, firms=40))]
    assert BY_NAME["vehicles_lost"].stand_in in tonnes and "vehicles_lost" not in tonnes
    assert "peak_share_stopped" in tonnes


@pytest.mark.parametrize(("dist", "text"), [
    (90, "90 days"),
    ({"dist": "constant", "value": 3}, "3 days"),
    ({"dist": "uniform", "low": 5, "high": 15}, "5–15 days (uniform)"),
    ({"dist": "triangular", "low": 1, "mode": 2, "high": 4}, "1–4 days, most likely 2 (triangular)"),
    ({"dist": "normal", "mean": 10, "sd": 2}, "mean 10 days, sd 2 (normal, truncated at 0)"),
    ({"dist": "lognormal", "mean": 10, "cv": 0.5}, "mean 10 days, cv 0.5 (lognormal)"),
    ({"dist": "exponential", "mean": 7}, "mean 7 days (exponential)"),
    ({"dist": "gamma", "shape": 2, "scale": 3}, "shape 2, scale 3 (days, gamma)"),
    ({"dist": "empirical", "values": [1, 2.5]}, "one of 1, 2.5 days (empirical)"),
    ({"dist": "weird", "a": 1}, '{"dist": "weird", "a": 1}'),
])
def test_a_distribution_reads_in_words(dist: object, text: str) -> None:
    assert dist_text(dist) == text


def test_a_swept_key_gets_the_unit_its_name_gives() -> None:
    assert key_label("automakers[EU].demand_t_per_day") == "automakers[EU].demand_t_per_day (t/day)"
    assert key_label("controls.lifetime_days") == "controls.lifetime_days (days)"
    assert key_label("scenario.horizon") == "scenario.horizon (days)"
    assert key_label("licensing.approval_rate") == "licensing.approval_rate (share)"
    assert key_label("licensing.stages[0].reviewers") == "licensing.stages[0].reviewers (reviewers)"
    assert key_label("automakers[EU].backlog") == "automakers[EU].backlog"


def test_licence_modes_and_stages_read_in_words() -> None:
    modes = {m: dict(controls_facts({"controls": {"licence_mode": m}}))["Licence mode"]
             for m in ("none", "per_shipment", "general")}
    assert modes["none"].startswith("none") and modes["per_shipment"].startswith("per shipment")
    assert modes["general"].startswith("general")
    rows = stage_rows({"licensing": {"stages": [{"name": "a", "reviewers": "inf", "duration": 3}]}},
                      {"stage_wait_days": {"a": {"mean": 2.0, "p50": 1.0, "p95": 5.0}},
                       "queue_length": {"a": {"mean": 1.5, "ci95": [1.0, 2.0]}}, "reviewer_utilisation": {"a": None}})
    assert rows == [["a", "unlimited", "3 days", "2.0 (median 1.0, p95 5.0)", "1.5 [1.0, 2.0]",
                     f"{MISSING} (unlimited reviewers)"]]
