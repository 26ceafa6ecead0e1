"""Lifetime value: the last fit's estimates and figures, a fit button (queues the job), and
the calibration/holdout chart with its data as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from fastapi import APIRouter, Response

from siyu.analytics.clv import service
from siyu.analytics.clv.holdout import default_until, holdout
from siyu.console.page import Page, SignedIn, toast
from siyu.console.views.customers import error_text
from siyu.errors import Invalid, SiyuError

router = APIRouter()
CSV_COLUMNS = ("frequency", "customers", "actual", "predicted")


def _check(page: Page, until: str) -> tuple[dict | None, str | None]:
    """The holdout check (None and why not, when it cannot be made)."""
    try:
        end = date.fromisoformat(until) if until else None
    except ValueError:
        return None, error_text(page, Invalid(f"{until!r} is not a date (YYYY-MM-DD)"))
    try:
        return holdout(page.session, actor=page.actor, until=end), None
    except SiyuError as failure:
        return None, error_text(page, failure)


def _csv(data: dict) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in data["rows"]:
        writer.writerow(["" if row[key] is None else row[key] for key in CSV_COLUMNS])
    name = f"clv-holdout-{data['calibration_end']}-{data['holdout_end']}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/clv")
def clv_page(page: SignedIn, until: str = "", format: str = "") -> Response:
    last = service.last_fit(page.session, actor=page.actor)
    # The check refits on the calibration part (seconds on a million buyers): only on request.
    check, problem = _check(page, until) if until or format else (None, None)
    if format == "csv":
        if check is None:
            return page.render("error.html", status=400, code=400, title=page.gettext(
                "No holdout check"), message=problem or "")  # fmt: skip
        return _csv(check)
    chart = None
    if check:
        chart = {
            "x": [row["frequency"] for row in check["rows"]],
            "actual": [row["actual"] for row in check["rows"]],
            "predicted": [row["predicted"] for row in check["rows"]],
            "labels": {
                "actual": page.gettext("Actual"),
                "predicted": page.gettext("Predicted"),
                "x": page.gettext("Repeat purchases before the calibration end"),
                "y": page.gettext("Purchases per customer in the holdout"),
            },
        }
    return page.render(
        "clv/clv.html",
        fit=last,
        finished_at=datetime.fromisoformat(last["finished_at"]) if last else None,
        check=check,
        problem=problem,
        chart=chart,
        until=until or _suggested(page),
    )


def _suggested(page: Page) -> str:
    """Halfway through the order history, as the default calibration end of the check."""
    found = default_until(page.session, service.today())
    return found.isoformat() if found else ""


@router.post("/clv/fit")
def fit_now(page: SignedIn) -> Response:
    """Queue a fit; a toast with HTMX, a flash and a redirect without."""
    try:
        service.request_fit(page.session, actor=page.actor)
    except SiyuError as failure:
        text = error_text(page, failure)
        if page.is_htmx:
            return toast(Response(status_code=204), text, "error")
        return page.redirect("/clv", flash=text, level="error")
    message = page.gettext("A fit was queued; the figures change when it has run.")
    if page.is_htmx:
        return toast(Response(status_code=204), message)
    return page.redirect("/clv", flash=message)
