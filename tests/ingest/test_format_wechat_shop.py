"""WeChat Shop orders and the WeCom customer list: the WeCom id joins the two."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from siyu.contacts import service
from siyu.errors import Invalid
from siyu.ingest.service import import_file
from tests.ingest import exports as ex
from tests.ingest.exports import order, snapshot


def _orders(tmp_path: Path, rows: list[ex.Row], name: str = "微信小店订单.xlsx") -> Path:
    return ex.write_xlsx(tmp_path / name, ex.shuffled(ex.WECHAT_SHOP, seed=9), rows)


def _customers(tmp_path: Path, rows: list[ex.Row], name: str = "客户列表.xlsx") -> Path:
    return ex.write_xlsx(tmp_path / name, ex.shuffled(ex.WECOM, seed=2, extras=()), rows)


def test_wecom_customer_list(session: Session, tmp_path: Path) -> None:
    path = _customers(
        tmp_path,
        [
            ex.wecom_row("林小姐", external_userid="wmAbCdEf0123456789", 手机="13812345678"),
            ex.wecom_row("无号客户", **{"标签组1(学员等级)": "", "描述": ""}),
            ex.wecom_row("", 添加人="", 添加人账号="", 描述=""),
        ],
    )
    summary = import_file(session, path)
    assert (summary.format, summary.contacts_created, summary.rows_rejected) == ("wecom", 2, 1)
    assert summary.errors[0]["line"] == 4 and "客户名称" in summary.errors[0]["reason"]
    lin = service.get_by_ref(session, "wecom_external_userid:wmAbCdEf0123456789")
    assert service.get_by_ref(session, "phone:13812345678").id == lin.id
    profile = service.profile(session, lin)
    assert profile["name"] == "林小姐"
    assert sorted(profile["tags"]) == ["学员等级:VIP", "学员等级:高价值", "来源:门店"]
    assert [n["body"] for n in profile["notes"]] == ["老客户，喜欢香薰"]
    assert profile["owner"] is None
    assert profile["traits"]["wecom_added_by"] == "王导购"
    assert profile["traits"]["wecom_added_by_account"] == "WangDaoGou"
    assert profile["traits"]["wecom_added_at"] == "2024-01-15T06:30:00Z"
    assert profile["traits"]["wecom_source"] == "扫描二维码"

    before = snapshot(session)
    again = import_file(session, path)
    assert (again.contacts_created, again.contacts_updated, again.contacts_merged) == (0, 0, 0)
    assert snapshot(session) == before


def test_wechat_shop_order_joins_wecom_contact(session: Session, tmp_path: Path) -> None:
    import_file(
        session,
        _customers(tmp_path, [ex.wecom_row("林小姐", external_userid="wmAbCdEf0123456789")]),
    )
    customer = service.get_by_ref(session, "wecom_external_userid:wmAbCdEf0123456789")
    path = _orders(
        tmp_path,
        [
            ex.wechat_shop_row("3700000000000001", 企业微信加密id="wmAbCdEf0123456789"),
            # A second item of the same order: amounts repeat, its refund is its own.
            ex.wechat_shop_row(
                "3700000000000001",
                企业微信加密id="wmAbCdEf0123456789",
                商品名称="火柴",
                商品价格="9.90",
                商品售后="退款成功",
                商品已退款金额="9.90",
            ),
            ex.wechat_shop_row("3700000000000002", 订单状态="待发货", 订单确认收货时间=""),
        ],
    )
    summary = import_file(session, path)
    assert (summary.format, summary.orders_created, summary.rows_rejected) == (
        "wechat_shop",
        2,
        0,
    )
    joined = order(session, "wechat_shop", "3700000000000001")
    assert joined["contact_id"] == customer.id
    assert (joined["status"], joined["paid_amount"], joined["refunded_amount"]) == (
        "completed",
        109900,
        990,
    )
    assert [li["title"] for li in joined["lines"]] == ["香薰蜡烛礼盒", "火柴"]
    assert (joined["receiver_province"], joined["receiver_city"]) == ("北京市", "北京市")
    session.expire_all()  # the contact was loaded before the import changed it in SQL
    profile = service.profile(session, service.get_by_ref(session, customer.id))
    assert profile["name"] == "林小姐" and profile["phone_hint"] == "13800138000-5678"
    assert profile["platforms"] == ["wechat_shop"]
    # Without the WeCom id the same receiver stays a WeChat Shop contact of its own... unless
    # the receiver key already belongs to the joined contact, as here.
    other = order(session, "wechat_shop", "3700000000000002")
    assert other["status"] == "paid"
    assert other["contact_id"] == customer.id

    before = snapshot(session)
    again = import_file(session, path)
    assert (again.orders_created, again.orders_updated, again.contacts_created) == (0, 0, 0)
    assert snapshot(session) == before

    newer = _orders(
        tmp_path,
        [
            ex.wechat_shop_row(
                "3700000000000002",
                订单状态="已完成",
                商品售后="退款成功",
                商品已退款金额="1,099.00",
            )
        ],
        name="微信小店订单-2.xlsx",
    )
    summary = import_file(session, newer)
    assert (summary.orders_created, summary.orders_updated) == (0, 1)
    assert order(session, "wechat_shop", "3700000000000002")["status"] == "refunded"


def test_wechat_shop_bad_rows_and_foreign_file(session: Session, tmp_path: Path) -> None:
    path = _orders(
        tmp_path,
        [
            ex.wechat_shop_row("1"),
            ex.wechat_shop_row("2", 订单实际支付金额="免费"),
            ex.wechat_shop_row("3", 订单下单时间="not a time"),
        ],
    )
    summary = import_file(session, path)
    assert summary.orders_created == 1
    reasons = {e["line"]: e["reason"] for e in summary.errors}
    assert set(reasons) == {3, 4}
    assert "订单实际支付金额" in reasons[3] and "订单下单时间" in reasons[4]
    before = snapshot(session)
    with pytest.raises(Invalid):
        import_file(
            session, ex.write_csv(tmp_path / "a.csv", ["订单号", "备注"], [{"订单号": "1"}])
        )
    assert snapshot(session) == before
