"""Taobao / Tmall: the classic order report, the 千牛 xlsx and the item report."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from siyu.contacts import service
from siyu.errors import Invalid, NotFound
from siyu.ingest.service import import_file
from tests.ingest import exports as ex
from tests.ingest.exports import order, snapshot


def _classic(tmp_path: Path, rows: list[ex.Row], header: list[str] | None = None) -> Path:
    path = tmp_path / "ExportOrderList201707081200.csv"
    return ex.write_csv(path, ex.shuffled(header or ex.TAOBAO_2017), rows, encoding="gbk")


def test_classic_report_is_detected_and_read(session: Session, tmp_path: Path) -> None:
    path = _classic(
        tmp_path,
        [
            ex.taobao_row("35153131473293579", "tb6125470"),
            ex.taobao_row(
                "35153131473293580",
                "小王",
                订单状态="交易成功",
                买家支付宝账号="",
                联系手机="",
                **{"联系电话 ": "", "收货地址 ": "北京 北京市 朝阳区 望京街道 1号(100102)"},
                买家应付货款="1,299.00",
                买家应付邮费="10.00",
                总金额="1,309.00",
                买家实际支付金额="1,209.00",
                天猫卡券抵扣="100.00",
            ),
        ],
    )
    summary = import_file(session, path)
    assert summary.format == "taobao"
    assert (summary.orders_created, summary.contacts_created, summary.rows_rejected) == (2, 2, 0)

    buyer = service.get_by_ref(session, "taobao_nick:tb6125470")
    # The real phone in 联系手机 ('139… with an apostrophe) and the Alipay e-mail both link.
    assert service.get_by_ref(session, "phone:13925130165").id == buyer.id
    assert service.get_by_ref(session, "email:1432480331@qq.com").id == buyer.id
    first = order(session, "taobao", "35153131473293579")
    assert first["status"] == "paid"
    assert first["total_amount"] == first["paid_amount"] == 20112
    assert first["refunded_amount"] == 0  # 无退款申请
    assert first["shop"] == "勤驿达海外生活"
    assert (first["receiver_province"], first["receiver_city"]) == ("广东省", "广州市")
    assert first["receiver_name"] == "薛先生langer"
    assert [line["title"] for line in first["lines"]] == ["【顺丰包邮】澳洲进口 羊毛被 冬季加厚"]

    second = order(session, "taobao", "35153131473293580")
    assert second["status"] == "completed"
    assert (second["total_amount"], second["paid_amount"]) == (130900, 120900)
    assert (second["shipping_fee"], second["discount_amount"]) == (1000, 10000)
    assert (second["receiver_province"], second["receiver_city"]) == ("北京", "北京市")
    profile = service.profile(session, service.get_by_ref(session, "taobao_nick:小王"))
    assert profile["total_spent"] == 120900
    assert profile["platforms"] == ["taobao"]
    assert profile["city"] == "北京市"


def test_later_header_versions_and_refunds(session: Session, tmp_path: Path) -> None:
    path = _classic(
        tmp_path,
        [
            ex.taobao_row(
                "1001",
                "buyer_a",
                订单状态="交易成功",
                退款金额="50.12",
                确认收货时间="2020-03-01 10:00:00",
                主订单编号='="1001"',
            ),
            ex.taobao_row(
                "1002", "buyer_b", 订单状态="交易关闭", 订单关闭原因="买家申请退款", 退款金额=""
            ),
            ex.taobao_row(
                "1003",
                "buyer_c",
                订单状态="等待买家付款",
                买家实际支付金额="0.00",
                **{"订单付款时间 ": ""},
            ),
            ex.taobao_row("1004", "buyer_d", 订单状态="交易关闭", 订单关闭原因="买家不想买了"),
        ],
        header=ex.TAOBAO_2019,
    )
    summary = import_file(session, path)
    assert (summary.format, summary.orders_created, summary.rows_rejected) == ("taobao", 4, 0)
    partial = order(session, "taobao", "1001")
    assert (partial["status"], partial["refunded_amount"]) == ("completed", 5012)
    assert partial["completed_at"] == "2020-03-01T02:00:00Z"  # Asia/Shanghai → UTC
    closed = order(session, "taobao", "1002")
    assert (closed["status"], closed["refunded_amount"]) == ("refunded", 20112)
    pending = order(session, "taobao", "1003")
    assert (pending["status"], pending["paid_amount"], pending["paid_at"]) == ("pending", 0, None)
    assert order(session, "taobao", "1004")["status"] == "cancelled"


def test_qianniu_xlsx(session: Session, tmp_path: Path) -> None:
    path = ex.write_xlsx(
        tmp_path / "订单报表.xlsx",
        ex.shuffled(ex.QIANNIU_ORDERS),
        [
            ex.qianniu_row("3901234567890123456"),
            # Tmall writes receiver name and phone into 收货地址.
            ex.qianniu_row(
                "3901234567890123457",
                收货地址="周强，86-13900000004，江苏省 扬州市 广陵区 示例地址 ",
                订单状态="交易成功",
                退款金额="1,199.00",
            ),
        ],
    )
    summary = import_file(session, path)
    assert (summary.format, summary.orders_created, summary.rows_rejected) == ("taobao", 2, 0)
    hidden = order(session, "taobao", "3901234567890123456")
    assert hidden["status"] == "paid"
    assert (hidden["total_amount"], hidden["paid_amount"]) == (129900, 119900)
    assert (hidden["receiver_province"], hidden["receiver_city"]) == ("江苏省", "南京市")
    assert hidden["lines"][0]["sku"] == "颜色分类：砂白色2.0米岩板餐桌"
    tmall = order(session, "taobao", "3901234567890123457")
    assert (tmall["status"], tmall["refunded_amount"]) == ("refunded", 119900)
    assert tmall["receiver_city"] == "扬州市"
    buyer = service.get_by_ref(session, "phone:13900000004")
    assert buyer.id == tmall["contact_id"] and buyer.name == "周强"


def test_same_file_twice_changes_nothing(session: Session, tmp_path: Path) -> None:
    rows = [
        ex.taobao_row(
            str(5000 + i), f"nick{i % 3}", 联系手机=f"'1392513{i % 3:04d}", 买家支付宝账号=""
        )
        for i in range(6)
    ]
    path = _classic(tmp_path, rows)
    first = import_file(session, path)
    assert (first.orders_created, first.contacts_created) == (6, 3)
    before = snapshot(session)
    again = import_file(session, path)
    assert (again.orders_created, again.orders_updated) == (0, 0)
    assert (again.contacts_created, again.contacts_updated, again.contacts_merged) == (0, 0, 0)
    assert snapshot(session) == before


def test_newer_export_updates_status_and_refund(session: Session, tmp_path: Path) -> None:
    import_file(session, _classic(tmp_path, [ex.taobao_row("7001", "late")]))
    newer = ex.write_csv(
        tmp_path / "ExportOrderList202001.csv",
        ex.shuffled(ex.TAOBAO_2019, seed=3),
        [ex.taobao_row("7001", "late", 订单状态="交易成功", 退款金额="201.12")],
    )
    summary = import_file(session, newer)
    assert (summary.orders_created, summary.orders_updated) == (0, 1)
    updated = order(session, "taobao", "7001")
    assert (updated["status"], updated["refunded_amount"]) == ("refunded", 20112)
    contact = service.get_by_ref(session, "taobao_nick:late")
    assert contact.refunded_amount == 20112


def test_bad_rows_are_reported_and_good_rows_land(session: Session, tmp_path: Path) -> None:
    path = _classic(
        tmp_path,
        [
            ex.taobao_row("8001", "ok1"),
            ex.taobao_row("8002", "bad1", 订单状态="火星状态"),
            ex.taobao_row("8003", "bad2", 买家实际支付金额="2O1.12"),
            ex.taobao_row("", "bad3", 订单编号=""),
            ex.taobao_row("8005", "bad4", 订单创建时间="昨天"),
            ex.taobao_row("8006", "ok2"),
        ],
    )
    summary = import_file(session, path)
    assert summary.orders_created == 2
    reasons = {e["line"]: e["reason"] for e in summary.errors}
    assert sorted(reasons) == [3, 4, 5, 6]
    assert "火星状态" in reasons[3]
    assert "买家实际支付金额" in reasons[4]
    assert "订单编号" in reasons[5]
    assert "订单创建时间" in reasons[6] or "昨天" in reasons[6]
    assert Path(summary.error_report or "").exists()
    with pytest.raises(NotFound):
        service.get_by_ref(session, "taobao_nick:bad1")


def test_a_file_that_is_no_export_changes_nothing(session: Session, tmp_path: Path) -> None:
    before = snapshot(session)
    path = ex.write_csv(
        tmp_path / "月度预算.csv", ["项目", "金额", "备注"], [{"项目": "房租", "金额": "5000"}]
    )
    with pytest.raises(Invalid, match="not a recognised"):
        import_file(session, path)
    assert snapshot(session) == before


def test_item_report_adds_lines_and_item_refunds(session: Session, tmp_path: Path) -> None:
    detail = ex.write_csv(
        tmp_path / "ExportOrderDetailList202406.csv",
        ex.shuffled(ex.TAOBAO_DETAIL),
        [
            ex.taobao_detail_row(
                "9001",
                "90011",
                标题="岩板餐桌",
                价格="1,000.00",
                买家应付货款="1,000.00",
                买家实际支付金额="900.00",
            ),
            ex.taobao_detail_row(
                "9001",
                "90012",
                标题="餐椅 4把",
                价格="50.00",
                购买数量="4",
                买家应付货款="200.00",
                买家实际支付金额="200.00",
                退款状态="退款成功",
                退款金额="200.00",
                订单状态="交易关闭",
            ),
            ex.taobao_detail_row(
                "9002", "90021", 订单状态="交易关闭", 退款状态="退款成功", 退款金额="100.00"
            ),
        ],
    )
    summary = import_file(session, detail)
    assert (summary.format, summary.orders_created, summary.rows_rejected) == (
        "taobao_detail",
        2,
        0,
    )
    both = order(session, "taobao", "9001")
    assert [(li["title"], li["quantity"], li["unit_price"]) for li in both["lines"]] == [
        ("岩板餐桌", 1, 100000),
        ("餐椅 4把", 4, 5000),
    ]
    # One item refunded, the other kept: the order stays completed with the item's refund.
    assert (both["status"], both["paid_amount"], both["refunded_amount"]) == (
        "completed",
        110000,
        20000,
    )
    assert order(session, "taobao", "9002")["status"] == "refunded"

    # The order report then names the buyer of those orders.
    report = _classic(tmp_path, [ex.taobao_row("9001", "table_buyer", 订单状态="交易成功")])
    import_file(session, report)
    buyer = service.get_by_ref(session, "taobao_nick:table_buyer")
    assert order(session, "taobao", "9001")["contact_id"] == buyer.id
    assert len(order(session, "taobao", "9001")["lines"]) == 2


def test_item_report_without_times_is_refused(session: Session, tmp_path: Path) -> None:
    path = ex.write_csv(
        tmp_path / "ExportOrderDetailList2016.csv",
        ex.TAOBAO_DETAIL_CLASSIC,
        [
            {
                "订单编号": '="1"',
                "标题": "x",
                "价格": "1.00",
                "购买数量": "1",
                "订单状态": "交易成功",
            }
        ],
    )
    before = snapshot(session)
    with pytest.raises(Invalid, match="订单创建时间"):
        import_file(session, path)
    assert snapshot(session) == before


def test_item_report_after_the_order_report_adds_items_and_refunds_only(
    session: Session, tmp_path: Path
) -> None:
    report = _classic(
        tmp_path,
        [
            ex.taobao_row(
                "9101",
                "sofa_buyer",
                订单状态="交易成功",
                买家实际支付金额="1,210.00",
                买家应付邮费="10.00",
                **{"宝贝标题 ": "沙发 餐椅"},
            )
        ],
    )
    import_file(session, report)
    before = order(session, "taobao", "9101")
    assert [li["title"] for li in before["lines"]] == ["沙发 餐椅"]
    detail = ex.write_csv(
        tmp_path / "ExportOrderDetailList202406.csv",
        ex.shuffled(ex.TAOBAO_DETAIL),
        [
            ex.taobao_detail_row(
                "9101",
                "91011",
                标题="沙发",
                价格="1,000.00",
                买家应付货款="1,000.00",
                买家实际支付金额="1,000.00",
                订单状态="交易成功",
            ),
            ex.taobao_detail_row(
                "9101",
                "91012",
                标题="餐椅",
                价格="50.00",
                购买数量="4",
                买家应付货款="200.00",
                买家实际支付金额="200.00",
                退款状态="退款成功",
                退款金额="200.00",
                订单状态="交易成功",
            ),
        ],
    )
    summary = import_file(session, detail)
    assert (summary.orders_created, summary.orders_updated) == (0, 1)
    after = order(session, "taobao", "9101")
    assert [(li["title"], li["quantity"]) for li in after["lines"]] == [("沙发", 1), ("餐椅", 4)]
    # The order's own totals (with postage) stay; the item refund is applied.
    assert (after["paid_amount"], after["refunded_amount"]) == (before["paid_amount"], 20000)
    assert after["contact_id"] == before["contact_id"]
    again = import_file(session, detail)
    assert (again.orders_created, again.orders_updated) == (0, 0)
