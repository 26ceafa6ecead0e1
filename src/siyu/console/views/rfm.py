"""RFM: the recency × frequency grid as a heatmap, the named segments, and a refresh button."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response

from siyu.analytics import rfm
from siyu.console.page import SignedIn, toast
from siyu.console.views.customers import error_text
from siyu.errors import SiyuError
from siyu.exports.web import csv_response

router = APIRouter()


@router.get("/rfm")
def rfm_page(page: SignedIn, csv: str = "") -> Response:
    data = rfm.report(page.session, actor=page.actor)
    if csv == "grid":  # the heatmap's data
        return csv_response(
            "siyu-rfm.csv",
            ["recency_score", "frequency_score", "buyers", "average_monetary_fen"],
            [[c["r"], c["f"], c["contacts"], c["average_monetary"]] for c in data["grid"]],
        )
    cells = {(c["r"], c["f"]): c for c in data["grid"]}
    # ECharts heatmap: [F index, R index, contacts, average monetary in fen].
    chart = {
        "x": [f"F{f}" for f in range(1, 6)],
        "y": [f"R{r}" for r in range(1, 6)],
        "cells": [
            [f - 1, r - 1, cell["contacts"], cell["average_monetary"]]
            for (r, f), cell in sorted(cells.items())
        ],
        "max": max((c["contacts"] for c in data["grid"]), default=0),
        "labels": {
            "contacts": page.gettext("Customers"),
            "average": page.gettext("Average spend"),
        },
    }
    return page.render(
        "rfm/rfm.html",
        data=data,
        computed_at=datetime.fromisoformat(data["computed_at"]) if data["computed_at"] else None,
        cells=cells,
        grid_headers=[(f"F{f}", "num") for f in range(1, 6)],
        chart=chart,
    )


@router.post("/rfm/refresh")
def refresh(page: SignedIn) -> Response:
    """Score every buyer again; a toast with HTMX, a flash and a redirect without."""
    try:
        result = rfm.refresh_for(page.session, actor=page.actor)
    except SiyuError as failure:
        text = error_text(page, failure)
        if page.is_htmx:
            return toast(Response(status_code=204), text, "error")
        return page.redirect("/rfm", flash=text, level="error")
    count = page.formats.number(result["scored"])
    message = page.gettext("Scored %(count)s buyers again.", count=count)
    if page.is_htmx:  # the page again; the form's hx-select swaps in the report
        return toast(rfm_page(page), message)
    return page.redirect("/rfm", flash=message)
