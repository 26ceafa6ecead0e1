"""JD POP (京东商家后台) order export: one row per SKU, order amounts repeated on each.

The account that placed the order (下单帐号, the JD pin) is the buyer; 客户姓名 and 联系电话
are the receiver, and newer files mask that phone. The address is one string without spaces.
"""

from __future__ import annotations

from typing import ClassVar

from siyu.ingest.formats.base import (
    PlatformFormat,
    Row,
    address_region,
    first_text,
    one_line,
    phone_identity,
    receiver,
    receiver_identity,
)
from siyu.ingest.records import OrderRecord, RowError
from siyu.ingest.statuses import settle_refund


class JdOrders(PlatformFormat):
    name: ClassVar[str] = "jd"
    label: ClassVar[str] = "JD POP order export (京东)"
    platform: ClassVar[str] = "jd"
    signature = ("订单号", "订单状态")
    required_any = (
        ("下单帐号", "下单账号"),
        ("订单金额", "应付金额"),
    )
    columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "order_id": ("订单号",),
        "item_id": ("商品ID",),
        "title": ("商品名称",),
        "quantity": ("订购数量",),
        "payment_method": ("支付方式",),
        "placed_at": ("下单时间",),
        "unit_price": ("京东价",),
        "total": ("订单金额",),
        "settled": ("结算金额",),
        "balance": ("余额支付",),
        "payable": ("应付金额",),
        "status": ("订单状态",),
        "order_type": ("订单类型",),
        "pin": ("下单帐号", "下单账号"),
        "receiver": ("客户姓名",),
        "address": ("客户地址",),
        "phone": ("联系电话",),
        "remark": ("订单备注",),
        "seller_note": ("商家备注",),
        "freight": ("运费金额",),
        "paid_at": ("付款确认时间",),
        "article_no": ("货号",),
        "completed_at": ("订单完成时间",),
        "source": ("订单来源",),
        "channel": ("订单渠道",),
        "sku_id": ("商家SKUID",),
        "shop": ("店铺名称",),
        "email": ("邮箱地址",),
        "receivable": ("商家应收",),
    }
    line_amounts = "first"

    def parse(self, row: Row) -> OrderRecord:
        order_id = row.required("order_id", "订单号")
        placed_at = row.required_time("placed_at", label="下单时间")
        status = row.status("status")
        total = row.money("total")
        payable = row.money("payable")
        if total is None and payable is None:
            raise RowError("订单金额 is empty")
        # The buyer paid what was due plus what came from the JD balance.
        paid = (payable if payable is not None else total or 0) + (row.money("balance") or 0)
        total = total if total is not None else paid
        settled = row.money("settled")
        discount = max(total - settled, 0) if settled is not None else 0
        status = settle_refund(status, paid, None)
        if status == "pending":
            paid = 0

        name = row.text("receiver")
        address = row.text("address")
        phones, hint = phone_identity(row.text("phone"))
        identities: list[tuple[str, str]] = []
        pin = row.text("pin")
        if pin:
            identities.append(("jd_pin", pin))
        identities += phones
        if not identities and (name or hint):
            identities += receiver_identity("jd", name, hint, address)
        province, city = address_region(address)
        unit_price = row.money("unit_price")
        quantity = row.integer("quantity", 1) or 1
        return OrderRecord(
            line=row.line,
            platform="jd",
            platform_order_id=order_id,
            status=status,
            placed_at=placed_at,
            paid_at=row.time("paid_at"),
            completed_at=row.time("completed_at"),
            identities=identities,
            **receiver(name, hint, province, city),
            shop=row.text("shop") or "",
            total_amount=total,
            paid_amount=paid,
            shipping_fee=row.money("freight") or 0,
            discount_amount=discount,
            lines=one_line(
                row.text("title"),
                quantity,
                unit_price,
                unit_price * quantity if unit_price is not None else None,
                sku=first_text(row, "sku_id", "article_no", "item_id"),
            ),
        )
