"""JD POP order export: GBK CSV, one row per SKU, the buyer's JD pin."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from siyu.contacts import service
from siyu.errors import NotFound
from siyu.ingest.service import import_file
from tests.ingest import exports as ex
from tests.ingest.exports import order, snapshot


def _file(tmp_path: Path, rows: list[ex.Row], name: str = "订单导出.csv") -> Path:
    return ex.write_csv(tmp_path / name, ex.shuffled([*ex.JD, *ex.JD_LATER]), rows)


def test_jd_export(session: Session, tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        [
            ex.jd_row("11729384072", "rds3199358"),
            # The same order's second SKU repeats the order amounts.
            ex.jd_row(
                "11729384072", "rds3199358", 商品名称="玫瑰面霜 50g", 京东价="339.00", 货号="HM-50"
            ),
            ex.jd_row(
                "11729384099",
                "jd_masked",
                订单状态="完成",
                联系电话="1******6198",
                客户地址="北京朝阳区望京街道1号",
                订单完成时间="2016-01-05 10:00:00",
            ),
            ex.jd_row(
                "11729384100", "jd_unpaid", 订单状态="等待付款", 联系电话="", 付款确认时间=""
            ),
        ],
    )
    summary = import_file(session, path)
    assert (summary.format, summary.orders_created, summary.rows_rejected) == ("jd", 3, 0)
    buyer = service.get_by_ref(session, "jd_pin:rds3199358")
    assert service.get_by_ref(session, "phone:13767111772").id == buyer.id
    first = order(session, "jd", "11729384072")
    assert first["contact_id"] == buyer.id
    assert first["status"] == "paid"  # (删除)等待出库
    assert (first["total_amount"], first["paid_amount"], first["discount_amount"]) == (
        109700,
        93245,
        16455,
    )
    assert [(li["title"], li["unit_price"], li["sku"]) for li in first["lines"]] == [
        ("韩秘美 玫瑰精华水 120ml", 75800, "HM-120"),
        ("玫瑰面霜 50g", 33900, "HM-50"),
    ]
    assert (first["receiver_province"], first["receiver_city"]) == ("江西省", "南昌市")
    assert first["receiver_name"] == "王冬阳"

    masked = service.get_by_ref(session, "jd_pin:jd_masked")
    assert masked.phone_hint == "1******6198"
    assert {i["kind"] for i in service.identities_of(session, masked.id)} == {"jd_pin"}
    done = order(session, "jd", "11729384099")
    assert done["status"] == "completed" and done["completed_at"] == "2016-01-05T02:00:00Z"
    assert (done["receiver_province"], done["receiver_city"]) == ("北京市", "北京市")
    unpaid = order(session, "jd", "11729384100")
    assert (unpaid["status"], unpaid["paid_amount"]) == ("pending", 0)
    assert service.get_by_ref(session, "jd_pin:rds3199358").total_spent == 93245


def test_jd_twice_and_newer(session: Session, tmp_path: Path) -> None:
    path = _file(tmp_path, [ex.jd_row("2001", "pin_a"), ex.jd_row("2002", "pin_b", 联系电话="")])
    import_file(session, path)
    before = snapshot(session)
    again = import_file(session, path)
    assert (again.orders_created, again.orders_updated, again.contacts_created) == (0, 0, 0)
    assert snapshot(session) == before

    newer = _file(
        tmp_path,
        [
            ex.jd_row("2001", "pin_a", 订单状态="已取消"),
            ex.jd_row("2002", "pin_b", 订单状态="完成", 联系电话=""),
        ],
        name="订单导出-2.csv",
    )
    summary = import_file(session, newer)
    assert (summary.orders_created, summary.orders_updated) == (0, 2)
    assert order(session, "jd", "2001")["status"] == "cancelled"
    assert order(session, "jd", "2002")["status"] == "completed"


def test_jd_bad_rows(session: Session, tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        [
            ex.jd_row("3001", "good"),
            ex.jd_row("3002", "bad_status", 订单状态="飞走了"),
            ex.jd_row("3003", "bad_time", 下单时间="2015-13-45 99:00"),
            ex.jd_row("3004", "bad_qty", 订购数量="两件"),
        ],
    )
    summary = import_file(session, path)
    assert summary.orders_created == 1
    reasons = {e["line"]: e["reason"] for e in summary.errors}
    assert set(reasons) == {3, 4, 5}
    assert "订单状态" in reasons[3] and "飞走了" in reasons[3]
    assert "下单时间" in reasons[4]
    assert "订购数量" in reasons[5]
    with pytest.raises(NotFound):
        service.get_by_ref(session, "jd_pin:bad_status")
