"""Large files are parsed in a process of their own; what lands must not depend on that."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from siyu.errors import Invalid
from siyu.ingest import chunking
from siyu.ingest.service import import_file
from tests.ingest import exports as ex
from tests.ingest.exports import snapshot


def _report(tmp_path: Path, rows: int = 60) -> Path:
    """A Taobao report with repeat buyers, one buyer linked by phone, refunds and bad rows."""
    body = []
    for n in range(rows):
        over: dict[str, Any] = {
            "订单创建时间": f"2024-03-{1 + n % 28:02d} 1{n % 10}:00:00",
            # Two nicks share an Alipay address: one person, merged across chunks.
            "买家支付宝账号": f"buyer{n % 17 // 2}@example.com",
            "联系手机": f"'1392513{n % 17:04d}",
        }
        if n % 7 == 3:
            over.update(订单状态="交易关闭", 订单关闭原因="退款", 退款金额="201.12")
        if n % 11 == 5:
            over["订单创建时间"] = "not a time"  # rejected with its line number
        if n % 13 == 0:
            over["买家应付货款"] = "￥1,299.00"
        body.append(ex.taobao_row(f"9{n:05d}", f"nick{n % 17}", **over))
    return ex.write_csv(tmp_path / "ExportOrderList-big.csv", ex.TAOBAO_2017, body, encoding="gbk")


def _import(session: Session, path: Path, background: bool) -> tuple[dict[str, Any], dict]:
    progressed: list[int] = []
    savepoint = session.begin_nested()
    summary = import_file(
        session, path, background=background, progress=progressed.append, display_name="big.csv"
    ).as_dict()
    state = snapshot(session)
    savepoint.rollback()
    summary.pop("batch_id")
    summary["progress"] = sum(progressed)
    return summary, _renumbered(state)


def _renumbered(state: dict[str, Any]) -> dict[str, Any]:
    """Ids by rank: PostgreSQL sequences move on when a savepoint rolls back; the import time
    differs between runs. Everything else must be identical."""
    contact = {cid: rank for rank, cid in enumerate(sorted(r[0] for r in state["contacts"]))}
    order = {oid: rank for rank, oid in enumerate(sorted({r[0] for r in state["lines"]}))}
    return {
        "contacts": [(contact[r[0]], *r[1:]) for r in state["contacts"]],
        "identities": [(contact[r[0]], *r[1:]) for r in state["identities"]],
        "orders": [(*r[:2], contact[r[2]], *r[3:-1]) for r in state["orders"]],
        "lines": [(order[r[0]], *r[1:]) for r in state["lines"]],
    }


def test_background_parsing_lands_exactly_what_parsing_here_does(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunking, "CHUNK_ROWS", 8)  # many chunks, orders split across them
    path = _report(tmp_path)
    here_summary, here = _import(session, path, background=False)
    there_summary, there = _import(session, path, background=True)
    assert there_summary == here_summary
    assert there == here
    assert here_summary["rows_read"] == 60
    assert here_summary["rows_rejected"] == 5
    assert [e["line"] for e in here_summary["errors"]] == [7, 18, 29, 40, 51]
    assert here_summary["progress"] == path.stat().st_size
    assert here_summary["error_report"] and Path(here_summary["error_report"]).exists()


@pytest.mark.parametrize("background", [False, True])
def test_a_file_broken_half_way_fails_with_its_message(
    session: Session, tmp_path: Path, background: bool
) -> None:
    path = _report(tmp_path, rows=10)
    with path.open("ab") as handle:
        handle.write(b'"' + b"x" * 200_000 + b'",1\r\n')  # past the CSV reader's field limit
    with pytest.raises(Invalid, match=r"line 12: broken CSV"):
        import_file(session, path, background=background)


def test_a_file_gone_before_parsing_is_a_clear_error(session: Session, tmp_path: Path) -> None:
    from siyu.ingest.background import chunks_in_background

    with pytest.raises(Invalid, match="no such file"):
        list(chunks_in_background(tmp_path / "gone.csv", "taobao", "gone.csv"))
