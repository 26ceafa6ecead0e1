"""Pinduoduo (拼多多商家后台) order export: one row per order, one SKU each.

Current files have no receiver name or phone (only 省/市/区/街道/镇); older ones had 收货人 and
手机. Values may carry a leading tab, and an empty time may be a lone tab.
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


class PddOrders(PlatformFormat):
    name: ClassVar[str] = "pdd"
    label: ClassVar[str] = "Pinduoduo order export (拼多多)"
    platform: ClassVar[str] = "pdd"
    signature = ("订单号", "订单状态", "商品数量(件)")
    required_any = (("用户实付金额(元)", "商家实收金额(元)", "商品总价(元)"),)
    columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "title": ("商品",),
        "order_id": ("订单号",),
        "status": ("订单状态",),
        "quantity": ("商品数量(件)",),
        "paid_at": ("支付时间",),
        "shipped_at": ("发货时间",),
        "completed_at": ("确认收货时间",),
        "item_id": ("商品id",),
        "spec": ("商品规格",),
        "sku_code": ("商家编码-规格维度", "商家编码-SKU维度"),
        "goods_code": ("商家编码-商品维度",),
        "seller_note": ("商家备注",),
        "buyer_message": ("买家留言",),
        "after_sale": ("售后状态",),
        "placed_at": ("订单成交时间", "下单时间", "拼单成功时间"),
        "goods": ("商品总价(元)",),
        "postage": ("邮费(元)",),
        "shop_discount": ("店铺优惠折扣(元)",),
        "platform_discount": ("平台优惠折扣(元)",),
        "pay_discount": ("多多支付立减金额(元)",),
        "paid": ("用户实付金额(元)",),
        "received": ("商家实收金额(元)",),
        "receiver": ("收货人",),
        "phone": ("手机", "收货人手机号"),
        "province": ("省",),
        "city": ("市",),
        "district": ("区",),
        "street": ("街道/镇", "街道"),
        "detail": ("详细地址",),
        "tracking": ("快递单号",),
        "carrier": ("快递公司",),
        "shop": ("店铺名称",),
        "group_id": ("团ID",),
    }
    line_amounts = "sum"

    def parse(self, row: Row) -> OrderRecord:
        order_id = row.required("order_id", "订单号")
        placed_at = row.required_time("placed_at", "paid_at", label="订单成交时间")
        status = row.status("status")
        postage = row.money("postage") or 0
        goods = row.money("goods")
        paid = row.money("paid")
        if paid is None:
            paid = row.money("received")
        if paid is None:
            if goods is None:
                raise RowError("用户实付金额(元) is empty")
            paid = goods + postage
        total = goods + postage if goods is not None else paid
        discount = sum(
            row.money(f) or 0 for f in ("shop_discount", "platform_discount", "pay_discount")
        )
        # No refund amount in the file: a refunded order or after-sale gave back what was paid.
        refunded: int | None = None
        if status == "refunded":
            refunded = paid
        elif self.has("after_sale"):
            refunded = paid if refund_state(row.text("after_sale")) == "refunded" else 0
        status = settle_refund(status, paid, refunded)
        if status == "pending":
            paid = 0

        name = row.text("receiver")
        province, city = row.text("province"), row.text("city")
        address = join_address(
            province, city, row.text("district"), row.text("street"), row.text("detail")
        )
        identities, hint = hidden_buyer("pdd", name, row.text("phone"), address)
        quantity = row.integer("quantity", 1) or 1
        return OrderRecord(
            line=row.line,
            platform="pdd",
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
            refunded_amount=refunded,
            shipping_fee=postage,
            discount_amount=discount,
            lines=one_line(
                row.text("title"),
                quantity,
                goods // quantity if goods is not None else None,
                goods,
                sku=first_text(row, "sku_code", "goods_code", "spec"),
            ),
        )
