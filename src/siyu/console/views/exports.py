"""Exports: every table the signed-in person may export, with its rows, as a download.

The permission check, the reading and the audit row live in siyu.exports, shared with
GET /api/v1/exports and `siyu export`. CSV downloads carry a byte-order mark by default: the
operators who click them open them in Excel, which reads a CSV without one in the Windows code
page (GBK) and shows the Chinese as mojibake.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Response

from siyu.console.labels import N_
from siyu.console.page import SignedIn
from siyu.errors import Invalid
from siyu.exports import service
from siyu.exports.formats import FORMATS
from siyu.exports.web import export_response
from siyu.kit.timeutil import local_zone

router = APIRouter()

FORMAT_LABELS = {
    "csv": N_("CSV (opens in Excel)"),
    "jsonl": N_("JSON Lines"),
    "parquet": N_("Parquet (for data tools)"),
}


def _day(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{text!r} is not a date like 2024-03-01") from None


def _bounds(since: str, until: str) -> tuple[datetime | None, datetime | None]:
    """The merchant's days: from the start of `since` to the end of `until`, both included."""
    start, end = _day(since), _day(until)
    zone = local_zone()
    return (
        datetime.combine(start, time(), tzinfo=zone) if start else None,
        datetime.combine(end + timedelta(days=1), time(), tzinfo=zone) if end else None,
    )


@router.get("/exports")
def exports_page(page: SignedIn, format: str = "csv", since: str = "", until: str = "") -> Response:
    chosen = format if format in FORMATS else "csv"
    errors: dict[str, str] = {}
    for name, value in (("since", since), ("until", until)):
        try:
            _day(value)
        except Invalid:
            errors[name] = page.gettext("Enter a date like 2024-03-01.")
    start, end = (None, None) if errors else (_day(since), _day(until))
    if start and end and end < start:
        errors["until"] = page.gettext("The end date is before the start date.")
    dated = {"since": since.strip(), "until": until.strip()} if not errors else {}
    tables = []
    for table in service.list_tables(page.session, actor=page.actor):
        query = {"format": chosen}
        if table["time_column"]:
            query |= {key: value for key, value in dated.items() if value}
        tables.append({**table, "url": f"/exports/{table['name']}/download?{urlencode(query)}"})
    return page.render(
        "exports/index.html",
        tables=tables,
        formats=[(code, page.gettext(label)) for code, label in FORMAT_LABELS.items()],
        chosen=chosen,
        since=since,
        until=until,
        errors=errors,
        dated=any(dated.values()),
    )


@router.get("/exports/{table}/download")
def download(
    table: str,
    page: SignedIn,
    format: str = "csv",
    since: str = "",
    until: str = "",
    bom: bool = True,
) -> Response:
    start, end = _bounds(since, until)
    plan = service.plan_export(
        page.session, actor=page.actor, table=table, fmt=format, since=start, until=end
    )
    return export_response(page.session, actor=page.actor, plan=plan, bom=bom)
