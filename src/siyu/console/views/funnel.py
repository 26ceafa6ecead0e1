"""Lead to deal: the funnel from siyu.analytics.funnel as a chart and tables, per source."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response

from siyu.analytics.funnel import funnel
from siyu.console.labels import N_
from siyu.console.page import SignedIn
from siyu.db.types import utcnow
from siyu.exports.web import csv_response

router = APIRouter()

STEP_NAMES = {
    "visitors": N_("Visitors"),
    "leads": N_("Leads"),
    "first_order": N_("First order"),
    "repeat_order": N_("Repeat order"),
}
# Days back from today; 0 is the whole pool.
PERIODS = (0, 30, 90, 365)


@router.get("/funnel")
def funnel_page(page: SignedIn, days: int = 0, csv: str = "") -> Response:
    days = days if days in PERIODS else 0
    since = utcnow() - timedelta(days=days) if days else None
    data = funnel(page.session, actor=page.actor, since=since)
    if csv:  # the chart's and the table's data
        rows = [[r["source"], *(r[s] for s in data["steps"])] for r in data["by_source"]]
        total = data["total"]
        rows.append(["(all)", *(total[s] for s in data["steps"])])
        return csv_response("siyu-funnel.csv", ["source", *data["steps"]], rows)
    names = {step: page.gettext(text) for step, text in STEP_NAMES.items()}
    chart = {"steps": [{"name": names[s], "value": data["total"][s]} for s in data["steps"]]}
    return page.render(
        "funnel/funnel.html",
        data=data,
        names=names,
        step_headers=[(names[s], "num") for s in data["steps"]],
        chart=chart,
        days=days,
        periods=PERIODS,
    )
