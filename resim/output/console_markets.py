"""Terminal tables of a run with ``[markets]``: prices and costs.

Printed after the automakers' KPI table, and only when summary.json has a
``markets`` block, so a scenario without ``[markets]`` prints exactly what
it printed before. Each cell is a mean over replications with its 95%
confidence interval, laid out for the width like the KPI table
(``console.FittedTable``). The columns come from the KPI declarations
(``model.price_kpis``: the series KPIs shown in the terminal, per tier;
``model.kpis``: every automaker KPI in US dollars), so a KPI declared there
appears here without another edit.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from ..model.kpis import KPIS, PRICE_PREMIUM, TERMINAL, Kpi
from ..model.price_kpis import SERIES_KPIS
from .console import Cell, Column, FittedTable, _ci

#: The tiers in the order the table shows them: what most volume pays, then the marginal tonne.
TIERS = ("contract", "spot")
#: The series KPIs in the price table (one column per tier each).
PRICE_COLUMNS: tuple[Kpi, ...] = tuple(k for k in SERIES_KPIS if k.shown == TERMINAL)
#: What the cost table's figures are (and are not) counted against.
COST_CAPTION = ("Extra cost: paid above the automaker's reference magnet price (price_usd_per_kg of its "
                "suppliers) plus air freight.")
#: Automaker KPIs in US dollars (extra cost; procurement cost once declared).
COST_KPIS: tuple[Kpi, ...] = tuple(k for k in KPIS if k.unit == "USD")


def _series_rows(series: list[dict[str, Any]]) -> list[dict[str, Cell]]:
    """One row per item and market, each price KPI of each tier a cell."""
    rows: dict[tuple[str, str], dict[str, Cell]] = {}
    for block in series:
        key = (str(block["item"]), str(block["market"]))
        row = rows.setdefault(key, {"item": Cell(escape(key[0])), "market": Cell(escape(key[1]))})
        for k in PRICE_COLUMNS:
            row[f"{block['tier']} {k.name}"] = _ci(block[k.name], k.digits, k.scale)
    return list(rows.values())


def _price_columns() -> list[Column]:
    """Item, market, then each terminal price KPI of each tier."""
    return [Column("item", "item", "item", "left"), Column("market", "market", "market", "left"),
            *(Column(f"{tier} {k.name}", f"{tier} {k.heading}", f"{tier}\n{k.heading}")
              for tier in TIERS for k in PRICE_COLUMNS)]


def price_table(summary: dict[str, Any]) -> FittedTable | None:
    """Per item and market: the mean price and the peak over base of the
    contract and spot prices, each with its 95% CI; None without markets.
    Too narrow a screen leaves out the mean spot price first."""
    series = (summary.get("markets") or {}).get("series") or []
    if not series:
        return None
    return FittedTable("Prices, mean [95% CI]", _price_columns(), _series_rows(series),
                       drop=[f"spot {PRICE_COLUMNS[0].name}"])


def _cost_rows(kpis: dict[str, Any]) -> list[dict[str, Cell]]:
    """One row per automaker entry (and ``all``): its KPIs in US dollars."""
    return [{"automaker": Cell(escape(str(name))),
             **{k.name: _ci(block[k.name], k.digits, k.scale) for k in COST_KPIS if k.name in block}}
            for name, block in kpis.items()]


def cost_table(summary: dict[str, Any]) -> FittedTable | None:
    """Per automaker (and all together) the KPIs in US dollars with their
    95% CI; None without markets or automakers."""
    if not (summary.get("markets") and summary.get("kpis")):
        return None
    columns = [Column("automaker", "automaker", "automaker", "left"),
               *(Column(k.name, k.heading, k.heading.replace(" (", "\n(")) for k in COST_KPIS)]
    names = list(summary["kpis"])
    return FittedTable("Costs, mean [95% CI]", columns, _cost_rows(summary["kpis"]),
                       section_before=names.index("all") if "all" in names else None)


def market_lines(summary: dict[str, Any]) -> list[str]:
    """One line on the premium outside China (none without markets)."""
    d = (summary.get("markets") or {}).get(PRICE_PREMIUM.name)
    if not d or d.get("mean") is None:
        return []
    cell = _ci(d, PRICE_PREMIUM.digits, PRICE_PREMIUM.scale)
    return [f"{PRICE_PREMIUM.label}: {cell.main}% {cell.ci} (contract prices, mean over observation days and items)"]


def market_renderables(summary: dict[str, Any]) -> list[Any]:
    """What a run with markets prints after its KPI table: the price table,
    the premium line and the cost table; nothing without markets."""
    prices, costs = price_table(summary), cost_table(summary)
    out: list[Any] = [] if prices is None else [prices]
    return [*out, *market_lines(summary), *([] if costs is None else [costs, COST_CAPTION])]


__all__ = ["COST_KPIS", "PRICE_COLUMNS", "cost_table", "market_lines", "market_renderables", "price_table"]
