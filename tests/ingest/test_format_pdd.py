"""Pinduoduo: GBK CSV with tab-prefixed values and full-width-comma statuses."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from siyu.contacts import service
from siyu.ingest.service import import_file
from tests.ingest import exports as ex
from tests.ingest.exports import order, snapshot


def _file(tmp_path: Path, rows: list[ex.Row], name: str = "orders_export.csv") -> Path:
    return ex.write_csv(tmp_path / name, ex.shuffled(ex.PDD, seed=11), rows)


def test_pdd_export(session: Session, tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        [
            ex.pdd_row("240302-101"),
            ex.pdd_row("240302-102", 订单状态="未发货，退款成功", 售后状态="退款成功"),
            ex.pdd_row("240302-103", 订单状态="已发货，待签收", 收货人="", 手机="", 支付时间="\t"),
            ex.pdd_row("240302-104", 订单状态="已收货", 收货人="李四", 手机="13912345678"),
        ],
    )
    summary = import_file(session, path)
    assert (summary.format, summary.orders_created, summary.rows_rejected) == ("pdd", 4, 0)
    done = order(session, "pdd", "240302-101")
    assert done["status"] == "completed"
    assert (done["total_amount"], done["paid_amount"], done["discount_amount"]) == (3990, 3490, 500)
    assert done["lines"][0]["sku"] == "APPLE-5" and done["lines"][0]["quantity"] == 1
    assert done["paid_at"] == "2024-03-02T01:10:00Z"
    assert (done["receiver_province"], done["receiver_city"]) == ("广东省", "深圳市")
    refunded = order(session, "pdd", "240302-102")
    assert (refunded["status"], refunded["refunded_amount"]) == ("refunded", 3490)
    # Both rows share receiver, masked phone and address: one contact, never a phone identity.
    assert refunded["contact_id"] == done["contact_id"]
    buyer = service.profile(session, service.get_by_ref(session, done["contact_id"]))
    assert buyer["phone_hint"] == "13800138000-1234"
    assert [i["kind"] for i in buyer["identities"]] == ["receiver"]
    assert buyer["refunded_amount"] == 3490
    # Only 省市区街道 (current files): no key, so this buyer is nobody else.
    anonymous = order(session, "pdd", "240302-103")
    assert anonymous["contact_id"] != done["contact_id"]
    assert anonymous["paid_at"] is None and anonymous["status"] == "shipped"
    # An old file's real phone links like any phone.
    assert (
        service.get_by_ref(session, "phone:13912345678").id
        == order(session, "pdd", "240302-104")["contact_id"]
    )


def test_pdd_twice_newer_and_bad(session: Session, tmp_path: Path) -> None:
    path = _file(tmp_path, [ex.pdd_row("1", 订单状态="待发货", 确认收货时间=""), ex.pdd_row("2")])
    import_file(session, path)
    before = snapshot(session)
    again = import_file(session, path)
    assert (again.orders_created, again.orders_updated, again.contacts_created) == (0, 0, 0)
    assert snapshot(session) == before

    newer = _file(
        tmp_path,
        [
            ex.pdd_row("1", 订单状态="已签收，退款成功"),
            ex.pdd_row("3", **{"用户实付金额(元)": "abc12"}),
            ex.pdd_row("4", 订单状态=""),
        ],
        name="orders_export_2.csv",
    )
    summary = import_file(session, newer)
    assert (summary.orders_created, summary.orders_updated) == (0, 1)
    first = order(session, "pdd", "1")
    assert (first["status"], first["refunded_amount"]) == ("refunded", 3490)
    reasons = {e["line"]: e["reason"] for e in summary.errors}
    assert set(reasons) == {3, 4}
    assert "用户实付金额(元)" in reasons[3]
    assert "订单状态" in reasons[4]
