"""Kuaishou Shop: XLSX with ¥-prefixed amounts and -, --, —, / for empty cells."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from siyu.contacts import service
from siyu.ingest.service import import_file
from tests.ingest import exports as ex
from tests.ingest.exports import order, snapshot


def _file(tmp_path: Path, rows: list[ex.Row], name: str = "快手订单.xlsx") -> Path:
    return ex.write_xlsx(tmp_path / name, ex.shuffled([*ex.KUAISHOU, "退货退款"], seed=5), rows)


def test_kuaishou_export(session: Session, tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        [
            ex.kuaishou_row("2412345678901"),
            ex.kuaishou_row("2412345678902", 订单状态="交易关闭", 售后状态="退款成功"),
            ex.kuaishou_row(
                "2412345678903", 订单状态="待发货", 收货人姓名="钱**", 收货人电话="135****0000"
            ),
        ],
    )
    summary = import_file(session, path)
    assert (summary.format, summary.orders_created, summary.rows_rejected) == ("kuaishou", 3, 0)
    received = order(session, "kuaishou", "2412345678901")
    assert received["status"] == "completed"  # 已收货
    assert (received["paid_amount"], received["discount_amount"], received["total_amount"]) == (
        129990,
        7000,
        136990,
    )
    assert received["lines"][0]["unit_price"] == 136990
    assert received["lines"][0]["sku"] == "YRF-L-BLK"
    assert (received["receiver_province"], received["receiver_city"]) == ("四川省", "成都市")
    refunded = order(session, "kuaishou", "2412345678902")
    assert (refunded["status"], refunded["refunded_amount"]) == ("refunded", 129990)
    buyer = service.profile(session, service.get_by_ref(session, received["contact_id"]))
    assert buyer["phone_hint"] == "137****5678"
    assert [i["value"][:9] for i in buyer["identities"]] == ["kuaishou:"]
    assert refunded["contact_id"] == received["contact_id"]
    assert order(session, "kuaishou", "2412345678903")["contact_id"] != received["contact_id"]


def test_kuaishou_twice_newer_and_bad(session: Session, tmp_path: Path) -> None:
    path = _file(tmp_path, [ex.kuaishou_row("1", 订单状态="已发货")])
    import_file(session, path)
    before = snapshot(session)
    again = import_file(session, path)
    assert (again.orders_created, again.orders_updated, again.contacts_created) == (0, 0, 0)
    assert snapshot(session) == before
    newer = _file(
        tmp_path,
        [
            ex.kuaishou_row("1", 订单状态="交易成功", 售后状态="", 退货退款="退款成功"),
            ex.kuaishou_row("2", 实付款="¥一千"),
        ],
        name="快手订单-2.xlsx",
    )
    summary = import_file(session, newer)
    assert (summary.orders_created, summary.orders_updated) == (0, 1)
    assert order(session, "kuaishou", "1")["status"] == "refunded"
    assert [e["line"] for e in summary.errors] == [3]
    assert "实付款" in summary.errors[0]["reason"]
