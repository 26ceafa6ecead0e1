"""Douyin Shop (抖店) order export: one row per sub-order (子订单), each with its own amounts.

There is no buyer column (达人ID / 达人昵称 are the creator who sold it); the receiver and a
masked phone are all there is, so the contact is keyed within Douyin only.
"""

from __future__ import annotations

from typing import ClassVar

from siyu.ingest.formats.base import (
    PlatformFormat,
    Row,
    first_text,
    hidden_buyer,
    join_address,
    one_line,
    receiver,
)
from siyu.ingest.records import OrderRecord, RowError
from siyu.ingest.statuses import refund_state, settle_refund


class DouyinOrders(PlatformFormat):
    name: ClassVar[str] = "douyin"
    label: ClassVar[str] = "Douyin Shop order export (抖店)"
    platform: ClassVar[str] = "douyin"
    signature = ("主订单编号", "子订单编号", "订单状态")
    required_any = (("订单提交时间", "订单提交日期"), ("选购商品", "商品名称"))
    columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "order_id": ("主订单编号",),
        "sub_order_id": ("子订单编号",),
        "payment_method": ("支付方式",),
        "title": ("选购商品", "商品名称"),
        "article_no": ("货号",),
        "item_id": ("商品ID",),
        "seller_code": ("商家编码",),
        "quantity": ("商品数量",),
        "item_amount": ("商品金额",),
        "unit_price": ("商品单价",),
        "spec": ("商品规格",),
        "placed_at": ("订单提交时间", "订单提交日期"),
        "paid_at": ("支付完成时间",),
        "completed_at": ("订单完成时间",),
        "status": ("订单状态",),
        "cancel_reason": ("取消原因",),
        "after_sale": ("售后状态",),
        "payable": ("订单应付金额",),
        "freight": ("运费",),
        "discount": ("优惠总金额",),
        "receiver": ("收件人",),
        "phone": ("收件人手机号",),
        "province": ("省",),
        "city": ("市",),
        "district": ("区",),
        "street": ("街道",),
        "detail": ("详细地址",),
        "creator_id": ("达人ID",),
        "creator_name": ("达人昵称",),
        "traffic_source": ("流量来源",),
        "app_channel": ("APP渠道",),
        "shop": ("店铺名称",),
    }
    line_amounts = "sum"

    def parse(self, row: Row) -> OrderRecord:
        order_id = row.required("order_id", "主订单编号")
        placed_at = row.required_time("placed_at", label="订单提交时间")
        status = row.status("status")
        quantity = row.integer("quantity", 1) or 1
        # Older files have 商品单价 beside 商品金额; newer ones dropped it and 商品金额 is the
        # unit price.
        unit_price = row.money("unit_price")
        if unit_price is None:
            unit_price = row.money("item_amount")
        payable = row.money("payable")
        if payable is None:
            if unit_price is None:
                raise RowError("订单应付金额 is empty")
            payable = unit_price * quantity
        paid = payable
        refunded: int | None = None
        if self.has("after_sale"):
            refunded = paid if refund_state(row.text("after_sale")) == "refunded" else 0
        status = settle_refund(status, paid, refunded)
        if status == "pending":
            paid = 0

        name = row.text("receiver")
        province, city = row.text("province"), row.text("city")
        address = join_address(
            province, city, row.text("district"), row.text("street"), row.text("detail")
        )
        identities, hint = hidden_buyer("douyin", name, row.text("phone"), address)
        return OrderRecord(
            line=row.line,
            platform="douyin",
            platform_order_id=order_id,
            status=status,
            placed_at=placed_at,
            paid_at=row.time("paid_at"),
            completed_at=row.time("completed_at"),
            identities=identities,
            **receiver(name, hint, province, city),
            shop=row.text("shop") or "",
            total_amount=payable,
            paid_amount=paid,
            refunded_amount=refunded,
            shipping_fee=row.money("freight") or 0,
            discount_amount=row.money("discount") or 0,
            lines=one_line(
                row.text("title"),
                quantity,
                unit_price,
                payable,
                sku=first_text(row, "seller_code", "article_no", "spec", "item_id"),
            ),
        )
