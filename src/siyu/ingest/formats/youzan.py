"""Youzan (有赞) order export, order dimension (订单维度): one row per order.

Youzan names the buyer: 买家手机号 (a phone identity when unmasked) and 买家昵称. The header
repeats 分销员 (the order's distributor, then again in the distributor block); the second one
is read as 分销员#2. Empty cells are written as ——.
"""

from __future__ import annotations

from typing import ClassVar

from siyu.ingest.formats.base import (
    PlatformFormat,
    Row,
    hidden_buyer,
    join_address,
    one_line,
    phone_identity,
)
from siyu.ingest.records import OrderRecord, RowError
from siyu.ingest.statuses import refund_state, settle_refund


class YouzanOrders(PlatformFormat):
    name: ClassVar[str] = "youzan"
    label: ClassVar[str] = "Youzan order export (有赞, 订单维度)"
    platform: ClassVar[str] = "youzan"
    signature = ("订单号", "订单状态", "订单实付金额")
    required_any = (("收货人手机号/提货人手机号", "买家手机号", "买家昵称"),)
    columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "order_id": ("订单号",),
        "channel": ("销售渠道",),
        "shop": ("归属店铺",),
        "order_type": ("订单类型",),
        "status": ("订单状态",),
        "source": ("订单来源",),
        "placed_at": ("订单创建时间",),
        "paid_at": ("买家付款时间",),
        "completed_at": ("交易成功时间",),
        "goods": ("商品金额合计",),
        "freight": ("运费",),
        "shop_discount": ("店铺优惠合计",),
        "receivable": ("应收订单金额",),
        "paid": ("订单实付金额",),
        "pay_discount": ("支付优惠合计",),
        "received": ("订单实收金额",),
        "discount_way": ("店铺优惠方式",),
        "coupon": ("优惠券码名称", "优惠码", "优惠券码"),
        "titles": ("全部商品名称",),
        "kinds": ("商品种类数",),
        "province": ("收货人省份",),
        "city": ("收货人城市",),
        "district": ("收货人地区",),
        "detail": ("详细收货地址/提货地址",),
        "receiver": ("收货人/提货人",),
        "receiver_phone": ("收货人手机号/提货人手机号",),
        "buyer_note": ("买家备注",),
        "nickname": ("买家昵称",),
        "member": ("买家是否会员",),
        "buyer_phone": ("买家手机号",),
        "buyer_id": ("买家ID", "买家id", "客户ID", "用户ID"),
        "distributor": ("分销员",),
        "distributor_phone": ("分销员手机号",),
        "refund_status": ("订单退款状态",),
        "refunded": ("订单已退款金额",),
        "seller_note": ("商家订单备注",),
    }
    line_amounts = "first"

    def parse(self, row: Row) -> OrderRecord:
        order_id = row.required("order_id", "订单号")
        placed_at = row.required_time("placed_at", label="订单创建时间")
        status = row.status("status")
        paid = row.money("paid")
        if paid is None:
            raise RowError("订单实付金额 is empty")
        freight = row.money("freight") or 0
        total = row.money("receivable")
        if total is None:
            goods = row.money("goods")
            total = goods + freight if goods is not None else paid
        refunded = row.money("refunded")
        state = refund_state(row.text("refund_status"))
        if refunded is None and (self.has("refunded") or self.has("refund_status")):
            refunded = paid if state == "refunded" else 0
        status = settle_refund(status, paid, refunded)
        if state == "refunded" and refunded and refunded >= paid:
            status = "refunded"
        if status == "pending":
            paid = 0

        identities: list[tuple[str, str]] = []
        buyer_id = row.text("buyer_id")
        if buyer_id:
            identities.append(("youzan_buyer_id", buyer_id))
        phones, hint = phone_identity(row.text("buyer_phone"))
        identities += phones
        receiver = row.text("receiver")
        province, city = row.text("province"), row.text("city")
        if not identities:
            # No usable buyer: fall back to the receiver, keyed within Youzan.
            address = join_address(province, city, row.text("district"), row.text("detail"))
            receiver_ids, receiver_hint = hidden_buyer(
                "youzan", receiver, row.text("receiver_phone"), address
            )
            identities += receiver_ids
            hint = hint or receiver_hint
        discount = (row.money("shop_discount") or 0) + (row.money("pay_discount") or 0)
        return OrderRecord(
            line=row.line,
            platform="youzan",
            platform_order_id=order_id,
            status=status,
            placed_at=placed_at,
            paid_at=row.time("paid_at"),
            completed_at=row.time("completed_at"),
            identities=identities,
            profile={
                "name": row.text("nickname") or receiver,
                "phone_hint": hint,
                "province": province,
                "city": city,
            },
            shop=row.text("shop") or "",
            total_amount=total,
            paid_amount=paid,
            refunded_amount=refunded,
            shipping_fee=freight,
            discount_amount=discount,
            coupon_code=(row.text("coupon") or "")[:64] or None,
            receiver_name=receiver,
            receiver_province=province,
            receiver_city=city,
            lines=one_line(row.text("titles"), 1, amount=row.money("goods")),
        )
