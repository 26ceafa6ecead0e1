"""Douyin Shop: XLSX, one row per sub-order, receiver-keyed buyers within Douyin only."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.contacts import service
from siyu.contacts.models import ContactIdentity
from siyu.errors import Invalid
from siyu.ingest.service import import_file
from tests.ingest import exports as ex
from tests.ingest.exports import order, snapshot


def _file(tmp_path: Path, rows: list[ex.Row], name: str = "抖店订单.xlsx") -> Path:
    return ex.write_xlsx(tmp_path / name, ex.shuffled(ex.DOUYIN), rows)


def _contact_of(session: Session, platform: str, order_id: str) -> dict:
    found = order(session, platform, order_id)
    return service.profile(session, service.get_by_ref(session, found["contact_id"]))


def test_douyin_export(session: Session, tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        [
            ex.douyin_row("6920000000000000001", "6920000000000000011"),
            ex.douyin_row(
                "6920000000000000001",
                "6920000000000000012",
                选购商品="真丝发圈",
                商品金额="99.00",
                商品数量=2,
                订单应付金额="198.00",
                优惠总金额="0",
                售后状态="同意退款,退款成功",
            ),
            ex.douyin_row(
                "6920000000000000002",
                "6920000000000000021",
                订单状态="已关闭",
                售后状态="同意退款，退款成功",
            ),
            ex.douyin_row(
                "6920000000000000003", "6920000000000000031", 订单状态="待支付", 支付完成时间=""
            ),
        ],
    )
    summary = import_file(session, path)
    assert (summary.format, summary.orders_created, summary.rows_rejected) == ("douyin", 3, 0)
    # Same receiver, masked phone and address: one contact within Douyin.
    assert summary.contacts_created == 1
    two = order(session, "douyin", "6920000000000000001")
    assert two["status"] == "completed"
    assert (two["total_amount"], two["paid_amount"], two["refunded_amount"]) == (
        149700,
        149700,
        19800,
    )
    assert [(li["title"], li["quantity"], li["unit_price"]) for li in two["lines"]] == [
        ("国风真丝围巾 桑蚕丝", 1, 129900),
        ("真丝发圈", 2, 9900),
    ]
    assert (two["receiver_province"], two["receiver_city"]) == ("浙江省", "杭州市")
    closed = order(session, "douyin", "6920000000000000002")
    assert (closed["status"], closed["refunded_amount"]) == ("refunded", 129900)
    assert order(session, "douyin", "6920000000000000003")["status"] == "pending"

    buyer = _contact_of(session, "douyin", "6920000000000000001")
    assert buyer["phone_hint"] == "138****1234"
    assert [i["kind"] for i in buyer["identities"]] == ["receiver"]
    assert buyer["identities"][0]["value"].startswith("douyin:")
    assert session.scalar(select(func.count()).where(ContactIdentity.kind == "phone")) == 0


def test_douyin_and_pdd_receivers_stay_apart(session: Session, tmp_path: Path) -> None:
    """The same name, masked phone and address on two platforms is no proof of one person."""
    import_file(
        session,
        _file(
            tmp_path,
            [
                ex.douyin_row(
                    "1",
                    "11",
                    收件人="张**",
                    收件人手机号="13800138000-1234",
                    省="广东省",
                    市="深圳市",
                    区="南山区",
                    街道="粤海街道",
                    详细地址="科技园****",
                )
            ],
        ),
    )
    import_file(
        session, ex.write_csv(tmp_path / "pdd.csv", ex.shuffled(ex.PDD), [ex.pdd_row("240302-1")])
    )
    douyin = _contact_of(session, "douyin", "1")
    pdd = _contact_of(session, "pdd", "240302-1")
    assert douyin["id"] != pdd["id"]
    assert douyin["phone_hint"] == pdd["phone_hint"] == "13800138000-1234"
    assert douyin["merged_ids"] == pdd["merged_ids"] == []


def test_douyin_twice_newer_bad_and_foreign(session: Session, tmp_path: Path) -> None:
    path = _file(tmp_path, [ex.douyin_row("9", "91", 订单状态="已发货")])
    import_file(session, path)
    before = snapshot(session)
    again = import_file(session, path)
    assert (again.orders_created, again.orders_updated, again.contacts_created) == (0, 0, 0)
    assert snapshot(session) == before

    newer = _file(
        tmp_path,
        [
            ex.douyin_row("9", "91", 订单状态="已完成", 售后状态="退款成功"),
            ex.douyin_row("10", "101", 订单应付金额="1O.00"),
            ex.douyin_row("11", "111", 订单提交时间=""),
        ],
        name="抖店订单-新.xlsx",
    )
    summary = import_file(session, newer)
    assert (summary.orders_created, summary.orders_updated) == (0, 1)
    assert order(session, "douyin", "9")["status"] == "refunded"
    reasons = {e["line"]: e["reason"] for e in summary.errors}
    assert set(reasons) == {3, 4}
    assert "订单应付金额" in reasons[3] and "订单提交时间" in reasons[4]

    before = snapshot(session)
    with pytest.raises(Invalid):
        import_file(session, ex.write_xlsx(tmp_path / "x.xlsx", ["姓名", "年龄"], [{"姓名": "a"}]))
    assert snapshot(session) == before
