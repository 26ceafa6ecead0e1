"""Kuaishou Shop (快手小店) order export: one row per order, amounts written as ¥1,299.90.

The buyer is hidden behind the receiver and a masked phone. There is no refund amount: an
after-sale that ended in 退款成功 gave back what was paid (older files call the column 退货退款).
"""

from __future__ import annotations

from typing import ClassVar

from siyu.ingest.formats.base import (
    PlatformFormat,
    Row,
    address_region,
    first_text,
    hidden_buyer,
    join_address,
    one_line,
    receiver,
)
from siyu.ingest.records import OrderRecord, RowError
from siyu.ingest.statuses import refund_state, settle_refund

_DISCOUNTS = ("shop_discount", "platform_subsidy", "streamer_subsidy", "mixed_discount", "pay_off")


class KuaishouOrders(PlatformFormat):
    name: ClassVar[str] = "kuaishou"
    label: ClassVar[str] = "Kuaishou Shop order export (快手小店)"
    platform: ClassVar[str] = "kuaishou"
    signature = ("订单号", "订单状态", "实付款", "成交数量")
    required_any = (("订单创建时间",),)
    columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "order_id": ("订单号",),
        "placed_at": ("订单创建时间",),
        "paid_at": ("订单支付时间",),
        "status": ("订单状态",),
        "paid": ("实付款",),
        "freight": ("快递费",),
        "shop_discount": ("店铺优惠",),
        "platform_subsidy": ("平台补贴",),
        "streamer_subsidy": ("主播补贴",),
        "mixed_discount": ("混资活动优惠",),
        "pay_off": ("支付优惠",),
        "payment_method": ("支付方式",),
        "quantity": ("成交数量",),
        "buyer_message": ("买家留言",),
        "note": ("订单备注",),
        "after_sale": ("售后状态",),
        "returns": ("退货退款",),
        "title": ("商品名称",),
        "item_id": ("商品ID",),
        "spec": ("商品规格",),
        "sku": ("SKU编码",),
        "unit_price": ("商品单价",),
        "channel": ("渠道",),
        "creator_id": ("CPS达人ID",),
        "receiver": ("收货人姓名",),
        "phone": ("收货人电话",),
        "province": ("收货地址-省",),
        "city": ("收货地址-市",),
        "district": ("收货地址-区",),
        "street": ("收货地址-街道",),
        "address": ("收货地址",),
        "shipped_at": ("发货时间",),
        "carrier": ("快递公司",),
        "tracking": ("快递单号",),
        "shop": ("店铺名称", "订单销售主体"),
    }
    line_amounts = "sum"

    def parse(self, row: Row) -> OrderRecord:
        order_id = row.required("order_id", "订单号")
        placed_at = row.required_time("placed_at", label="订单创建时间")
        status = row.status("status")
        paid = row.money("paid")
        if paid is None:
            raise RowError("实付款 is empty")
        discount = sum(row.money(f) or 0 for f in _DISCOUNTS)
        refunded: int | None = None
        if self.has("after_sale") or self.has("returns"):
            states = {refund_state(row.text("after_sale")), refund_state(row.text("returns"))}
            refunded = paid if "refunded" in states else 0
        status = settle_refund(status, paid, refunded)
        total = paid + discount
        if status == "pending":
            paid = 0

        name = row.text("receiver")
        province, city = row.text("province"), row.text("city")
        address = row.text("address")
        if not province:
            province, city = address_region(address)
        address = join_address(province, city, row.text("district"), row.text("street"), address)
        identities, hint = hidden_buyer("kuaishou", name, row.text("phone"), address)
        quantity = row.integer("quantity", 1) or 1
        unit_price = row.money("unit_price")
        return OrderRecord(
            line=row.line,
            platform="kuaishou",
            platform_order_id=order_id,
            status=status,
            placed_at=placed_at,
            paid_at=row.time("paid_at"),
            identities=identities,
            **receiver(name, hint, province, city),
            shop=row.text("shop") or "",
            total_amount=total,
            paid_amount=paid,
            refunded_amount=refunded,
            shipping_fee=row.money("freight") or 0,
            discount_amount=discount,
            lines=one_line(
                row.text("title"),
                quantity,
                unit_price,
                unit_price * quantity if unit_price is not None else None,
                sku=first_text(row, "sku", "spec", "item_id"),
            ),
        )
