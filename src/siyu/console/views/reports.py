"""What the pool earns: the dashboard and the cohort heatmap, from siyu.analytics.reports.

Every figure takes the same filters (dates, platforms, a segment) from the query string, and
every chart offers its data as CSV at /reports/data/{chart}.csv with the same filters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from siyu.analytics import reports
from siyu.analytics.scope import Scope, parse_scope
from siyu.config import get_settings
from siyu.console.labels import N_, PLATFORMS
from siyu.console.page import Page, SignedIn, toast
from siyu.console.views.customers import error_text
from siyu.contacts.models import ContactOrder
from siyu.errors import NotFound, SiyuError
from siyu.exports.web import csv_response
from siyu.segments.models import Segment

router = APIRouter()

TABS = (
    ("/reports", N_("Dashboard")),
    ("/reports/cohorts", N_("Cohorts")),
    ("/reports/acquisition", N_("Acquisition cost")),
    ("/reports/returns", N_("Campaign return")),
)


@dataclass
class Filters:
    since: str = ""
    until: str = ""
    platform: list[str] = field(default_factory=list)
    segment: str = ""

    def query(self, **more: str) -> str:
        pairs: list[tuple[str, str]] = [
            (k, v)
            for k, v in (("since", self.since), ("until", self.until), ("segment", self.segment))
            if v
        ]
        pairs += [("platform", p) for p in self.platform]
        pairs += list(more.items())
        return urlencode(pairs)


def read_filters(
    page: Page, since: str, until: str, platform: list[str], segment: str
) -> tuple[Filters, Scope, str | None]:
    """The filters as typed, the scope they make, and what was wrong with them (the page
    then shows the whole pool and says so, keeping what was typed)."""
    filters = Filters(since.strip(), until.strip(), [p for p in platform if p], segment.strip())
    try:
        scope = parse_scope(
            page.session,
            since=filters.since,
            until=filters.until,
            platforms=filters.platform,
            segment=filters.segment,
        )
    except SiyuError as error:
        return filters, Scope(), error_text(page, error)
    return filters, scope, None


def choices(page: Page) -> dict[str, Any]:
    platforms = sorted(
        p for p in page.session.scalars(select(ContactOrder.platform).distinct()) if p
    )
    return {
        "platforms": [(p, page.gettext(PLATFORMS[p]) if p in PLATFORMS else p) for p in platforms],
        "segments": list(page.session.scalars(select(Segment.name).order_by(Segment.name))),
    }


def _platform(page: Page, code: str) -> str:
    return page.gettext(PLATFORMS[code]) if code in PLATFORMS else code


def _yuan(fen: float) -> float:
    return round(fen / 100, 2)


def dashboard_charts(page: Page, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    currency = get_settings().currency
    platforms = data["by_platform"]
    months = data["new_and_returning"][-24:]
    revenue = data["revenue_by_month"]
    revenue_months = sorted({r["month"] for r in revenue})[-24:]
    cells = {(r["month"], r["platform"]): r["revenue"] for r in revenue}
    names = sorted({r["platform"] for r in revenue})
    growth = data["growth"]["by_source"]
    growth_months = sorted({r["month"] for r in growth})[-24:]
    growth_cells = {(r["month"], r["source"]): r["contacts"] for r in growth}
    sources = sorted({r["source"] for r in growth})
    return {
        "repurchase": {
            "type": "bar",
            "categories": [_platform(page, r["platform"]) for r in platforms],
            "series": [
                {
                    "name": page.gettext("Repurchase rate (%)"),
                    "data": [round((r["repurchase_rate"] or 0) * 100, 1) for r in platforms],
                }
            ],
        },
        "within": {
            "type": "bar",
            "categories": [
                page.gettext("%(days)s days", days=r["days"]) for r in data["repurchase_within"]
            ],
            "series": [
                {
                    "name": page.gettext("Bought again (%)"),
                    "data": [round((r["rate"] or 0) * 100, 1) for r in data["repurchase_within"]],
                }
            ],
        },
        "gaps": {
            "type": "bar",
            "categories": [r["days"] for r in data["days_between_orders"]["buckets"]],
            "series": [
                {
                    "name": page.gettext("Gaps"),
                    "data": [r["gaps"] for r in data["days_between_orders"]["buckets"]],
                }
            ],
        },
        "new_returning": {
            "type": "bar",
            "stack": True,
            "money": currency,
            "categories": [r["month"] for r in months],
            "series": [
                {
                    "name": page.gettext("New customers' revenue"),
                    "data": [_yuan(r["new_revenue"]) for r in months],
                },
                {
                    "name": page.gettext("Returning customers' revenue"),
                    "data": [_yuan(r["returning_revenue"]) for r in months],
                },
            ],
        },
        "revenue": {
            "type": "bar",
            "stack": True,
            "money": currency,
            "categories": revenue_months,
            "series": [
                {
                    "name": _platform(page, name),
                    "data": [_yuan(cells.get((m, name), 0)) for m in revenue_months],
                }
                for name in names
            ],
        },
        "growth": {
            "type": "bar",
            "stack": True,
            "categories": growth_months,
            "series": [
                {
                    "name": _platform(page, s) if s else page.gettext("Unknown"),
                    "data": [growth_cells.get((m, s), 0) for m in growth_months],
                }
                for s in sources
            ],
        },
    }


@router.get("/reports")
def dashboard_page(
    page: SignedIn,
    since: str = "",
    until: str = "",
    platform: list[str] = Query([]),
    segment: str = "",
) -> Response:
    filters, scope, problem = read_filters(page, since, until, platform, segment)
    data = reports.dashboard(page.session, actor=page.actor, scope=scope)
    return page.render(
        "reports/dashboard.html",
        tabs=TABS,
        here="/reports",
        show_platforms=True,
        filters=filters,
        problem=problem,
        data=data,
        as_of=datetime.fromisoformat(data["as_of"]),
        charts=dashboard_charts(page, data),
        currency=get_settings().currency,
        **choices(page),
    )


@router.get("/reports/cohorts")
def cohorts_page(
    page: SignedIn,
    since: str = "",
    until: str = "",
    platform: list[str] = Query([]),
    segment: str = "",
    show: str = "retention",
) -> Response:
    filters, scope, problem = read_filters(page, since, until, platform, segment)
    data = reports.cohorts(page.session, actor=page.actor, scope=scope)
    show = show if show in ("retention", "revenue") else "retention"
    rows = data["cohorts"]
    chart = {
        "x": [f"M{m}" for m in data["months"]],
        "y": [row["cohort"] for row in rows],
        # [month offset, cohort index, value]: percent for retention, yuan for revenue.
        "cells": [
            [k, i, round(v * 100, 1) if show == "retention" else _yuan(v)]
            for i, row in enumerate(rows)
            for k, v in enumerate(
                row["retention"] if show == "retention" else row["revenue_per_customer"]
            )
            if v is not None
        ],
        "show": show,
        "money": get_settings().currency if show == "revenue" else None,
        "label": page.gettext("Bought in the month (%)")
        if show == "retention"
        else page.gettext("Revenue per customer so far"),
    }
    chart["max"] = max((c[2] for c in chart["cells"] if c[0] > 0 or show == "revenue"), default=0)
    return page.render(
        "reports/cohorts.html",
        tabs=TABS,
        here="/reports/cohorts",
        show_platforms=True,
        filters=filters,
        problem=problem,
        data=data,
        show=show,
        chart=chart,
        month_headers=[(f"M{m}", "num") for m in data["months"]],
        as_of=datetime.fromisoformat(data["as_of"]),
        currency=get_settings().currency,
        **choices(page),
    )


@router.post("/reports/refresh")
def refresh(page: SignedIn, back: str = "/reports") -> Response:
    """Read the orders again now rather than when the kept read grows old."""
    reports.forget()
    back = back if back.startswith("/reports") else "/reports"
    message = page.gettext("The orders will be read again for the figures.")
    if page.is_htmx:
        response = Response(status_code=204, headers={"HX-Redirect": back})
        return toast(response, message)
    return page.redirect(back, flash=message)


# --- every chart's data as CSV -------------------------------------------------------------

Table = tuple[list[str], list[list[Any]]]


def _dashboard_tables(data: dict[str, Any]) -> dict[str, Callable[[], Table]]:
    return {
        "repurchase": lambda: (
            [
                "platform",
                "buyers",
                "repeat_buyers",
                "repurchase_rate",
                "orders",
                "revenue_fen",
                "purchase_frequency",
                "average_order_value_fen",
            ],
            [
                [
                    r["platform"],
                    r["buyers"],
                    r["repeat_buyers"],
                    r["repurchase_rate"],
                    r["orders"],
                    r["revenue"],
                    r["purchase_frequency"],
                    r["average_order_value"],
                ]
                for r in [{"platform": "all", **data["summary"]}, *data["by_platform"]]
            ],
        ),
        "within": lambda: (
            ["days", "new_customers", "bought_again", "rate"],
            [
                [r["days"], r["customers"], r["repurchased"], r["rate"]]
                for r in data["repurchase_within"]
            ],
        ),
        "gaps": lambda: (
            ["days_between_orders", "gaps"],
            [[r["days"], r["gaps"]] for r in data["days_between_orders"]["buckets"]],
        ),
        "new_returning": lambda: (
            ["month", "new_revenue_fen", "returning_revenue_fen", "new_customers"],
            [
                [r["month"], r["new_revenue"], r["returning_revenue"], r["new_customers"]]
                for r in data["new_and_returning"]
            ],
        ),
        "revenue": lambda: (
            ["month", "platform", "orders", "revenue_fen"],
            [
                [r["month"], r["platform"], r["orders"], r["revenue"]]
                for r in data["revenue_by_month"]
            ],
        ),
        "channels": lambda: (
            ["kind", "channel", "orders", "revenue_fen"],
            [
                [r["kind"], r["channel"], r["orders"], r["revenue"]]
                for r in data["revenue_by_channel"]
            ],
        ),
        "growth": lambda: (
            ["month", "source", "contacts"],
            [[r["month"], r["source"], r["contacts"]] for r in data["growth"]["by_source"]],
        ),
        "codes": lambda: (
            ["month", "code", "name", "contacts"],
            [
                [r["month"], r["code"], r["name"], r["contacts"]]
                for r in data["growth"]["by_channel_code"]
            ],
        ),
    }


def _cohort_table(data: dict[str, Any]) -> Table:
    columns = ["cohort", "customers", "month", "active", "retention", "revenue_per_customer_fen"]
    rows = [
        [
            row["cohort"],
            row["customers"],
            k,
            row["active"][k],
            row["retention"][k],
            row["revenue_per_customer"][k],
        ]
        for row in data["cohorts"]
        for k in range(len(row["retention"]))
    ]
    return columns, rows


@router.get("/reports/data/{chart}.csv")
def chart_data(
    page: SignedIn,
    chart: str,
    since: str = "",
    until: str = "",
    platform: list[str] = Query([]),
    segment: str = "",
) -> Response:
    filters, scope, problem = read_filters(page, since, until, platform, segment)
    if problem:
        return page.redirect(f"/reports?{filters.query()}", flash=problem, level="error")
    if chart == "cohorts":
        columns, rows = _cohort_table(reports.cohorts(page.session, actor=page.actor, scope=scope))
    else:
        tables = _dashboard_tables(reports.dashboard(page.session, actor=page.actor, scope=scope))
        if chart not in tables:
            raise NotFound(f"no chart {chart!r}")
        columns, rows = tables[chart]()
    return csv_response(f"siyu-{chart}.csv", columns, rows)
