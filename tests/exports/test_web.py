"""csv_response, the helper chart views use to offer their figures as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import unquote

from fastapi import FastAPI
from fastapi.testclient import TestClient

from siyu.exports.web import csv_response


def test_rows_become_a_streamed_excel_ready_download() -> None:
    produced: list[int] = []

    def rows() -> Iterator[tuple[object, ...]]:
        for month in range(1, 4):
            produced.append(month)
            yield (f"2024-{month:02d}", 0.25 * month, None, datetime(2024, month, 1, tzinfo=UTC))

    app = FastAPI()

    @app.get("/chart.csv")
    def chart() -> object:
        return csv_response("复购率 2024.csv", ["月份", "复购率", "备注", "as_of"], rows())

    assert produced == []  # nothing is read before the response is sent
    with TestClient(app) as client:
        response = client.get("/chart.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="___ 2024.csv"')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "复购率 2024.csv"
    assert response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table == [
        ["月份", "复购率", "备注", "as_of"],
        ["2024-01", "0.25", "", "2024-01-01T00:00:00Z"],
        ["2024-02", "0.5", "", "2024-02-01T00:00:00Z"],
        ["2024-03", "0.75", "", "2024-03-01T00:00:00Z"],
    ]
