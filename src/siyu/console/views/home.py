"""Home: the pool at a glance, from siyu.analytics.overview, as figures, charts and tables."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_precision
from fastapi import APIRouter, Response

from siyu.analytics.overview import overview
from siyu.config import get_settings
from siyu.console.labels import PLATFORMS
from siyu.console.page import Page, SignedIn
from siyu.db.types import utcnow
from siyu.exports.web import csv_response

router = APIRouter()


# Each chart's data as CSV (`/?csv=growth`): the columns and the rows of the overview's figures.
CHART_DATA = {
    "growth": (
        ["month", "source", "new_contacts"],
        lambda f: [[r["month"], r["source"], r["new_contacts"]] for r in f["growth_by_source"]],
    ),
    "revenue": (
        ["platform", "orders", "revenue_fen"],
        lambda f: [
            [r["platform"], r["orders"], r["revenue"]] for r in f["revenue_30d_by_platform"]
        ],
    ),
    "buyers": (
        ["platform", "buyers"],
        lambda f: [[r["platform"], r["buyers"]] for r in f["buyers_by_platform"]],
    ),
}


@router.get("/")
def home(page: SignedIn, csv: str = "") -> Response:
    now = utcnow()
    figures = overview(page.session, actor=page.actor, now=now)
    if csv in CHART_DATA:
        columns, rows = CHART_DATA[csv]
        return csv_response(f"siyu-{csv}.csv", columns, rows(figures))
    months, sources, growth = _growth_table(figures["growth_by_source"])
    currency = get_settings().currency
    return page.render(
        "home.html",
        figures=figures,
        now=now,
        currency=currency,
        months=months,
        sources=sources,
        growth=growth,
        month_totals={m: sum(growth.get((m, s), 0) for s in sources) for m in months},
        growth_chart=_growth_chart(page, months, sources, growth),
        revenue_chart=_revenue_chart(page, figures["revenue_30d_by_platform"], currency),
        buyers_chart=_buyers_chart(page, figures["buyers_by_platform"]),
    )


def _growth_table(
    rows: list[dict[str, Any]],
) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    """New contacts per (month, source), with the months and sources that occur, sorted."""
    growth = {(row["month"], row["source"]): row["new_contacts"] for row in rows}
    months = sorted({month for month, _ in growth})
    sources = sorted({source for _, source in growth})
    return months, sources, growth


def _label(page: Page, code: str) -> str:
    text = PLATFORMS.get(code)
    return page.gettext(text) if text else code


def _growth_chart(
    page: Page, months: list[str], sources: list[str], growth: dict[tuple[str, str], int]
) -> dict[str, Any]:
    return {
        "type": "bar",
        "stack": True,
        "categories": months,
        "series": [
            {"name": _label(page, s), "data": [growth.get((m, s), 0) for m in months]}
            for s in sources
        ],
    }


def _revenue_chart(page: Page, rows: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    digits = get_currency_precision(currency)
    return {
        "type": "pie",
        "money": currency,
        "series": [
            {
                "name": page.gettext("Revenue"),
                "data": [
                    {
                        "name": _label(page, r["platform"]),
                        # Major units for the chart's axis; the page's table shows exact amounts.
                        "value": float(Decimal(r["revenue"]).scaleb(-digits)),
                    }
                    for r in rows
                ],
            }
        ],
    }


def _buyers_chart(page: Page, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "bar",
        "categories": [_label(page, r["platform"]) for r in rows],
        "series": [{"name": page.gettext("Buyers"), "data": [r["buyers"] for r in rows]}],
    }
