"""Orders imported with a coupon code redeem Siyu's codes once; unknown codes are counted."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts.models import ContactIdentity
from siyu.growth.coupons import issuing
from siyu.growth.coupons.models import GrowthCoupon
from siyu.ingest.service import import_file
from tests.growth.conftest import CLI, NOW, define, person


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["order_id", "platform", "placed_at", "status", "total", "customer", "coupon"]
        )
        writer.writerows(rows)
    return path


def test_the_canonical_csvs_coupon_column_redeems_once(session: Session, tmp_path: Path) -> None:
    spring = define(session, minimum_spend=5000)
    ann = person(session, "Ann")
    phone = session.scalar(
        select(ContactIdentity.value).where(ContactIdentity.contact_id == ann.id)
    )
    code = issuing.issue_one(session, actor=CLI, coupon=spring, contact_id=ann.id, now=NOW)
    file = write(
        tmp_path / "orders.csv",
        [
            ["A1", "taobao", "2026-06-01 10:00", "paid", "120.00", f"phone:{phone}", code],
            ["A2", "taobao", "2026-06-02 10:00", "paid", "99.00", f"phone:{phone}", "SHOP10"],
        ],
    )
    summary = import_file(session, file, actor="cli", write_error_report=False)
    assert (summary.orders_created, summary.coupons_redeemed, summary.coupon_codes_unknown) == (
        2,
        1,
        1,
    )
    coupon = session.scalar(select(GrowthCoupon).where(GrowthCoupon.code == code))
    assert coupon is not None and coupon.order_ref == "taobao:A1"
    assert coupon.order_amount == 12000
    again = import_file(session, file, actor="cli", write_error_report=False)
    assert again.coupons_redeemed == 0
