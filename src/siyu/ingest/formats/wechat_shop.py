"""WeChat Shop (微信小店 / 视频号小店) order export.

A multi-item order repeats 订单号 on each item row with the order amounts repeated; refunds
are per item (商品已退款金额). The buyer is hidden behind the receiver, except where the shop
is linked to WeCom and the file carries the buyer's WeCom external id, which joins the
customer the WeCom customer list already knows.
"""

from __future__ import annotations

from typing import ClassVar

from siyu.ingest.formats.base import (
    Header,
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

# Spellings of the WeCom external contact id column (企业微信加密id and its variants).
WECOM_ID_COLUMNS = (
    "企业微信加密id",
    "企业微信客户id",
    "企业微信外部联系人id",
    "企微客户id",
    "企微加密id",
    "external_userid",
    "外部联系人id",
)


class WechatShopOrders(PlatformFormat):
    name: ClassVar[str] = "wechat_shop"
    label: ClassVar[str] = "WeChat Shop order export (微信小店)"
    platform: ClassVar[str] = "wechat_shop"
    signature = ("订单号", "订单状态", "订单实际支付金额")
    required_any = (("下单时间", "订单下单时间"), ("收件人姓名", "收件人手机"))
    columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "order_id": ("订单号",),
        "placed_at": ("订单下单时间", "下单时间"),
        "status": ("订单状态",),
        "delivery": ("发货方式",),
        "receiver": ("收件人姓名",),
        "address": ("收件人地址",),
        "province": ("省",),
        "city": ("市",),
        "district": ("区",),
        "phone": ("收件人手机",),
        "buyer_note": ("买家备注",),
        "seller_note": ("商家备注",),
        "paid": ("订单实际支付金额",),
        "freight": ("订单运费",),
        "payment_method": ("支付方式",),
        "paid_at": ("支付时间",),
        "transaction_id": ("交易单号",),
        "carrier": ("物流公司",),
        "tracking": ("快递单号",),
        "promoter": ("带货人昵称", "带货账号昵称"),
        "title": ("商品名称",),
        "item_code": ("商品编码(平台)",),
        "own_code": ("商品编码(自定义)",),
        "sku": ("SKU编码(自定义)",),
        "properties": ("商品属性",),
        "unit_price": ("商品价格(单件)", "商品价格"),
        "line_amount": ("商品实际价格(总共)", "商品总价"),
        "quantity": ("商品数量",),
        "item_shipping": ("商品发货",),
        "item_after_sale": ("商品售后",),
        "item_refunded": ("商品已退款金额",),
        "item_discount": ("商品优惠",),
        "completed_at": ("订单确认收货时间",),
        "shipped_at": ("订单发货时间",),
        "wecom_id": WECOM_ID_COLUMNS,
        "unionid": ("unionid", "微信unionid"),
        "shop": ("店铺名称",),
    }
    # Order amounts are counted on an order's first row only (see parse), refunds on every row.
    line_amounts = "sum"

    def bind(self, header: Header) -> None:
        super().bind(header)
        self._last_order: str | None = None

    def parse(self, row: Row) -> OrderRecord:
        order_id = row.required("order_id", "订单号")
        placed_at = row.required_time("placed_at", label="下单时间")
        status = row.status("status")
        paid = row.money("paid")
        if paid is None:
            raise RowError("订单实际支付金额 is empty")
        freight = row.money("freight") or 0
        # Further rows of the order just read repeat the order amounts: count them once.
        repeat = order_id == self._last_order
        self._last_order = order_id
        if repeat:
            paid = freight = 0

        quantity = row.integer("quantity", 1) or 1
        unit_price = row.money("unit_price")
        line_amount = row.money("line_amount")
        if line_amount is None and unit_price is not None:
            line_amount = unit_price * quantity
        refunded: int | None = None
        if self.has("item_refunded"):
            refunded = row.money("item_refunded") or 0
        if refund_state(row.text("item_after_sale")) == "refunded" and not refunded:
            refunded = line_amount or paid
        status = settle_refund(status, paid, refunded)
        total = paid
        if status == "pending":
            paid = 0

        name = row.text("receiver")
        province, city = row.text("province"), row.text("city")
        address = row.text("address")
        if not province:
            province, city = address_region(address)
        full_address = join_address(province, city, row.text("district"), address)
        identities, hint = hidden_buyer("wechat_shop", name, row.text("phone"), full_address)
        wecom_id = row.text("wecom_id")
        if wecom_id:
            identities.insert(0, ("wecom_external_userid", wecom_id))
        unionid = row.text("unionid")
        if unionid:
            identities.insert(0, ("wechat_unionid", unionid))
        return OrderRecord(
            line=row.line,
            platform="wechat_shop",
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
            shipping_fee=freight,
            discount_amount=row.money("item_discount") or 0,
            lines=one_line(
                row.text("title"),
                quantity,
                unit_price,
                line_amount,
                sku=first_text(row, "sku", "own_code", "item_code", "properties"),
            ),
        )
