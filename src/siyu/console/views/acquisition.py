"""Acquisition cost and campaign return: marketing spend entered by hand or from a CSV, the
cost per customer per channel, a repeat sale through owned channels against buying the customer
again on a platform, and what each campaign and journey earned against its cost."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from siyu.analytics import reports, spend
from siyu.config import get_settings
from siyu.console.page import SignedIn
from siyu.console.views.customers import error_text
from siyu.console.views.reports import TABS, choices, read_filters
from siyu.errors import Invalid, SiyuError
from siyu.exports.web import csv_response
from siyu.ingest.reader import detect_encoding
from siyu.kit.normalize import parse_money

router = APIRouter()
MAX_CSV_BYTES = 2 * 1024 * 1024


@router.get("/reports/acquisition")
def acquisition_page(
    page: SignedIn,
    since: str = "",
    until: str = "",
    segment: str = "",
    format: str = "",
) -> Response:
    filters, scope, problem = read_filters(page, since, until, [], segment)
    data = reports.acquisition(page.session, actor=page.actor, scope=scope)
    if format == "csv":
        return csv_response(
            "siyu-acquisition.csv",
            ["month", "channel", "spend_fen", "customers", "cost_per_customer_fen"],
            [
                [r["month"], r["channel"], r["spend"], r["customers"], r["cost_per_customer"]]
                for r in data["by_month"]
            ],
        )
    entries = spend.list_spend(page.session, actor=page.actor)
    return page.render(
        "reports/acquisition.html",
        tabs=TABS,
        here="/reports/acquisition",
        filters=filters,
        problem=problem,
        data=data,
        entries=entries,
        show_platforms=False,
        currency=get_settings().currency,
        **choices(page),
    )


def _back(page: SignedIn, message: str, level: str = "success") -> Response:
    return page.redirect("/reports/acquisition#spend", flash=message, level=level)


@router.post("/reports/spend")
def enter_spend(
    page: SignedIn,
    month: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        try:
            fen = parse_money(amount)
        except ValueError:
            raise Invalid(f"amount: {amount!r} is not an amount in yuan") from None
        if fen is None:
            raise Invalid("amount: give an amount in yuan")
        entry = spend.set_spend(
            page.session, actor=page.actor, month=month, channel=channel, amount=fen, note=note
        )
    except SiyuError as error:
        return _back(page, error_text(page, error), "error")
    return _back(
        page,
        page.gettext(
            "Saved %(amount)s for %(channel)s in %(month)s.",
            amount=page.formats.money(entry.amount, entry.currency),
            channel=entry.channel,
            month=entry.month,
        ),
    )


@router.post("/reports/spend/import")
async def import_spend(
    page: SignedIn, file: Annotated[UploadFile | None, File()] = None
) -> Response:
    if file is None or not file.filename:
        return _back(page, page.gettext("Choose a CSV file first."), "error")
    raw = await file.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        return _back(page, page.gettext("The file is larger than 2 MB."), "error")
    text = raw.decode(detect_encoding(raw[:65536]), errors="replace")
    try:
        result = spend.import_csv(page.session, actor=page.actor, text=text, where=file.filename)
    except SiyuError as error:
        return _back(page, error_text(page, error), "error")
    message = page.gettext(
        "%(saved)s entries saved, %(left)s lines left out.",
        saved=page.formats.number(result.saved),
        left=page.formats.number(len(result.problems)),
    )
    if result.problems:
        message += " " + " · ".join(result.problems[:5])
    return _back(page, message, "error" if result.problems else "success")


@router.post("/reports/spend/{spend_id}/delete")
def delete_spend(page: SignedIn, spend_id: int) -> Response:
    try:
        spend.delete_spend(page.session, actor=page.actor, spend_id=spend_id)
    except SiyuError as error:
        return _back(page, error_text(page, error), "error")
    return _back(page, page.gettext("Spend entry removed."))


@router.get("/reports/returns")
def returns_page(
    page: SignedIn,
    since: str = "",
    until: str = "",
    segment: str = "",
    platform: list[str] = Query([]),
    format: str = "",
) -> Response:
    filters, scope, problem = read_filters(page, since, until, [], segment)
    data = reports.returns_report(page.session, actor=page.actor, scope=scope)
    if format == "csv":
        rows: list[list[Any]] = [
            [
                kind[:-1],
                r["id"],
                r["name"],
                r["sent"],
                r["converted"],
                r["revenue"],
                r["cost"],
                r["return"],
            ]
            for kind in ("campaigns", "journeys")
            for r in data[kind]
        ]
        return csv_response(
            "siyu-returns.csv",
            ["kind", "id", "name", "sent", "sales", "revenue_fen", "cost_fen", "return"],
            rows,
        )
    return page.render(
        "reports/returns.html",
        tabs=TABS,
        here="/reports/returns",
        filters=filters,
        problem=problem,
        data=data,
        show_platforms=False,
        currency=get_settings().currency,
        **choices(page),
    )
