"""Youzan: UTF-8 CSV with a BOM, the repeated 分销员 header, —— for empty cells."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from siyu.contacts import service
from siyu.ingest.service import import_file
from tests.ingest import exports as ex
from tests.ingest.exports import order, snapshot


def _file(tmp_path: Path, rows: list[ex.Row], name: str = "订单列表.csv") -> Path:
    return ex.write_csv(tmp_path / name, ex.YOUZAN, rows, encoding="utf-8-sig")


def test_youzan_export(session: Session, tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        [
            ex.youzan_row("E20240210120000012345", "13911112222"),
            ex.youzan_row(
                "E20240211120000012346",
                "13911112222",
                订单退款状态="退款成功（全额退款）",
                订单已退款金额="288.00",
                订单状态="交易关闭",
            ),
            ex.youzan_row(
                "E20240212120000012347",
                "186******05",
                买家昵称="隐身人",
                订单状态="待发货",
                订单已退款金额="——",
                **{"收货人手机号/提货人手机号": "139****1111"},
            ),
        ],
    )
    summary = import_file(session, path)
    assert (summary.format, summary.orders_created, summary.rows_rejected) == ("youzan", 3, 0)
    buyer = service.get_by_ref(session, "phone:13911112222")
    assert buyer.name == "茶茶"
    first = order(session, "youzan", "E20240210120000012345")
    assert first["contact_id"] == buyer.id
    assert first["status"] == "completed"
    assert (first["total_amount"], first["paid_amount"], first["shipping_fee"]) == (
        28800,
        28800,
        1000,
    )
    assert (first["discount_amount"], first["coupon_code"], first["shop"]) == (
        2000,
        "SPRING20",
        "有赞茶饮旗舰店",
    )
    assert (first["receiver_province"], first["receiver_city"]) == ("上海市", "上海市")
    assert first["completed_at"] == "2024-02-20T04:00:00Z"
    refunded = order(session, "youzan", "E20240211120000012346")
    assert (refunded["status"], refunded["refunded_amount"]) == ("refunded", 28800)
    # A masked buyer phone is a hint; the receiver then keys the contact within Youzan.
    hidden = service.profile(
        session,
        service.get_by_ref(
            session, order(session, "youzan", "E20240212120000012347")["contact_id"]
        ),
    )
    assert hidden["phone_hint"] == "186******05"
    assert hidden["name"] == "隐身人"
    assert "phone" not in {i["kind"] for i in hidden["identities"]}, hidden["identities"]
    assert hidden["id"] != buyer.id


def test_youzan_twice_newer_and_bad(session: Session, tmp_path: Path) -> None:
    path = _file(tmp_path, [ex.youzan_row("E1", "13911113333", 订单状态="已发货")])
    import_file(session, path)
    before = snapshot(session)
    again = import_file(session, path)
    assert (again.orders_created, again.orders_updated, again.contacts_created) == (0, 0, 0)
    assert snapshot(session) == before

    newer = _file(
        tmp_path,
        [
            ex.youzan_row(
                "E1", "13911113333", 订单退款状态="退款成功（部分退款）", 订单已退款金额="88.00"
            ),
            ex.youzan_row("E2", "13911114444", 订单实付金额="——"),
        ],
        name="订单列表2.csv",
    )
    summary = import_file(session, newer)
    assert (summary.orders_created, summary.orders_updated) == (0, 1)
    updated = order(session, "youzan", "E1")
    assert (updated["status"], updated["refunded_amount"]) == ("completed", 8800)
    assert summary.errors == [{"line": 3, "reason": "订单实付金额 is empty"}]
