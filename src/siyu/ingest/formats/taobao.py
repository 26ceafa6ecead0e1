"""Taobao / Tmall: the classic order report (ExportOrderList*.csv), the newer 千牛 xlsx order
export, and the item report (ExportOrderDetailList / 宝贝报表, one row per sub-order).

The classic header grew between 2016 and 2020 (columns inserted and appended, some names padded
with a trailing space); 千牛 lets the merchant pick columns and renamed a few
(买家实际支付金额 → 买家实付金额, 宝贝标题 → 商品标题). The buyer is 买家会员名 when the file
still has it; newer files hide the buyer and mask the address.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import ClassVar

from siyu.errors import Invalid
from siyu.ingest.formats.base import (
    Header,
    PlatformFormat,
    Row,
    address_region,
    email_identity,
    first_text,
    one_line,
    phone_identity,
    receiver_identity,
)
from siyu.ingest.records import LineRecord, OrderRecord, RowError
from siyu.ingest.statuses import map_status, refund_state, settle_refund
from siyu.kit.normalize import EMPTY_MARKERS, clean_cell
from siyu.kit.timeutil import time_parser

# 订单关闭原因 of an open order; any other reason with 退款 in it means the money went back.
_NOT_CLOSED = frozenset({"订单未关闭", "未关闭"})
# Columns only the item report has.
_ITEM_REPORT = ("购买数量", "子订单编号")


def _combined_receiver(address: str) -> tuple[str | None, str | None, str]:
    """Tmall may write '周强，86-13900000004，江苏省 扬州市 …' into 收货地址."""
    parts = address.replace(",", "，").split("，")
    if len(parts) >= 3 and any(ch.isdigit() for ch in parts[1]):
        phone = parts[1].strip()
        if phone.startswith("86-"):
            phone = phone[3:]
        return parts[0].strip() or None, phone or None, "，".join(parts[2:]).strip()
    return None, None, address


class TaobaoOrders(PlatformFormat):
    name: ClassVar[str] = "taobao"
    label: ClassVar[str] = "Taobao/Tmall order report (订单报表, 千牛)"
    platform: ClassVar[str] = "taobao"
    signature = ("订单编号",)
    required_any = (
        ("买家实际支付金额", "买家实付金额", "总金额"),
        ("订单创建时间", "订单付款时间"),
    )
    excludes = _ITEM_REPORT
    columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "order_id": ("订单编号",),
        "main_order_id": ("主订单编号",),
        "nick": ("买家会员名", "买家昵称"),
        "alipay": ("买家支付宝账号",),
        "goods": ("买家应付货款",),
        "postage": ("买家应付邮费",),
        "total": ("总金额",),
        "paid": ("买家实际支付金额", "买家实付金额"),
        "status": ("订单状态",),
        "close_reason": ("订单关闭原因",),
        "receiver": ("收货人姓名",),
        "address": ("收货地址",),
        "changed_address": ("修改后的收货地址",),
        "mobile": ("联系手机",),
        "telephone": ("联系电话",),
        "buyer_name": ("买家姓名",),
        "buyer_mobile": ("买家手机号",),
        "placed_at": ("订单创建时间",),
        "paid_at": ("订单付款时间",),
        "completed_at": ("确认收货时间", "交易成功时间"),
        "title": ("宝贝标题", "商品标题"),
        "kinds": ("宝贝种类",),
        "quantity": ("宝贝总数量",),
        "sku": ("修改后的sku", "商品属性SKU"),
        "shop": ("店铺名称",),
        "refund": ("退款金额",),
        "tmall_coupon": ("天猫卡券抵扣",),
        "jifenbao": ("集分宝抵扣",),
        "red_packet": ("满返红包金额",),
        "shipping": ("运送方式",),
        "tracking": ("物流单号",),
        "carrier": ("物流公司",),
        "buyer_message": ("买家留言",),
        "seller_note": ("订单备注", "商家备注"),
        "payment_id": ("支付单号",),
        "mobile_order": ("是否手机订单", "手机订单"),
        "shop_id": ("店铺Id",),
    }
    line_amounts = "first"

    def bind(self, header: Header) -> None:
        super().bind(header)
        # Statuses repeat endlessly in a million-row file: fold each spelling once.
        self._statuses: dict[str | None, str] = {}
        self._parse_time = time_parser()
        self._has_status = self.has("status")
        self._has_refund = self.has("refund")
        self._discount_fields = [
            f for f in ("tmall_coupon", "jifenbao", "red_packet") if self.has(f)
        ]

    def _status(self, text: str | None) -> str:
        status = self._statuses.get(text)
        if status is None:
            status = self._statuses[text] = map_status(text)
        return status

    def parse(self, row: Row) -> OrderRecord:
        # Kept lean: this runs a million times for a large shop; each cell is read once.
        cells = row.cells
        count = len(cells)
        where = self.positions

        def text(field: str) -> str | None:
            position = where.get(field)
            if position is None or position >= count:
                return None
            value = cells[position]
            if not value:
                return None
            # Most cells need no cleaning; only wrapped or padded ones go through clean_cell.
            if value[0] in _WRAPPERS or value[-1] in _PADDING:
                return clean_cell(value)
            return None if value in EMPTY_MARKERS else value

        parse_time = self._parse_time

        def when(field: str) -> datetime | None:
            value = text(field)
            if value is None:
                return None
            try:
                return parse_time(value)
            except ValueError as error:
                raise RowError(f"{self.labels.get(field, field)}: {error}") from None

        order_id = text("order_id") or text("main_order_id")
        if order_id is None:
            raise RowError("订单编号 is empty")
        paid_at = when("paid_at")
        placed_at = when("placed_at") or paid_at
        if placed_at is None:
            raise RowError("订单创建时间 is empty")

        def fen(field: str) -> int | None:
            position = where.get(field)
            raw = cells[position] if position is not None and position < count else None
            if not raw:
                return None
            amount = _plain_fen(raw)
            return row.money(field) if amount == _NOT_PLAIN else amount

        paid = fen("paid")
        total = fen("total")
        goods = fen("goods")
        postage = fen("postage") or 0
        if total is None:
            total = (goods + postage) if goods is not None else (paid or 0)
        if paid is None:
            paid = total
        if self._has_status:
            status = self._status(text("status"))
        else:
            # Some 千牛 column selections leave the status out: a paid order is at least paid.
            status = "paid" if paid_at else "pending"

        refunded: int | None = None
        if self._has_refund:
            refunded = fen("refund") or 0
        if status == "cancelled":
            reason = text("close_reason")
            if reason and reason not in _NOT_CLOSED and "退款" in reason:
                refunded = refunded or paid
        if refunded or status == "cancelled":
            status = settle_refund(status, paid, refunded)
        if status == "pending":
            paid = 0

        identities: list[tuple[str, str]] = []
        nick = text("nick")
        if nick:
            identities.append(("taobao_nick", nick))
        alipay = text("alipay")
        if alipay and "@" in alipay:
            identities += _email(alipay)
        name = text("receiver")
        address = text("changed_address") or text("address")
        phone_text = text("mobile") or text("telephone")
        if address and "，" in address:
            combined_name, combined_phone, address = _combined_receiver(address)
            name = name or combined_name
            phone_text = phone_text or combined_phone
        phones, hint = phone_identity(phone_text)
        identities += phones
        buyer_phone = text("buyer_mobile")
        if buyer_phone:
            buyer_phones, buyer_hint = phone_identity(buyer_phone)
            identities += buyer_phones
            hint = hint or buyer_hint
        if not nick and (name or hint):
            # 千牛 hides the buyer: the receiver is the best key there is, within Taobao only.
            identities += receiver_identity("taobao", name, hint, address)
        province, city = address_region(address)

        discount = 0
        for field in self._discount_fields:
            discount += fen(field) or 0
        quantity = text("quantity")
        return OrderRecord(
            line=row.line,
            platform="taobao",
            platform_order_id=order_id,
            status=status,
            placed_at=placed_at,
            paid_at=paid_at,
            completed_at=when("completed_at"),
            identities=identities,
            profile={
                "name": text("buyer_name") or name,
                "phone_hint": hint,
                "province": province,
                "city": city,
            },
            shop=text("shop") or "",
            total_amount=total,
            paid_amount=paid,
            refunded_amount=refunded,
            shipping_fee=postage,
            discount_amount=discount,
            receiver_name=name,
            receiver_province=province,
            receiver_city=city,
            lines=one_line(
                text("title"),
                int(quantity) if quantity and quantity.isdigit() else row.integer("quantity", 1),
                amount=goods,
                sku=text("sku"),
            ),
        )


_WRAPPERS = frozenset("='\t \u3000")
_PADDING = frozenset("\t \u3000")
# What 退款金额 says on every order without a refund.
_NO_REFUND = frozenset({"无退款申请", "0", "0.00", "-"})
# At most 13 digits of yuan (the ¥10-trillion bound of parse_money); longer goes the slow way.
_PLAIN_AMOUNT = re.compile(r"^(\d{1,13})(?:\.(\d{1,2}))?$")
_PLAIN_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


_NOT_PLAIN = -1  # no plain amount is negative


# Prices and totals repeat endlessly across a shop's orders: each spelling is parsed once.
@lru_cache(maxsize=65536)
def _plain_fen(raw: str) -> int | None:
    if raw in _NO_REFUND:
        return None
    match = _PLAIN_AMOUNT.match(raw)
    if match is None:
        return _NOT_PLAIN
    cents = match[2] or "0"
    return int(match[1]) * 100 + int(cents) * (10 if len(cents) == 1 else 1)


def _email(text: str) -> list[tuple[str, str]]:
    # A plain ASCII address normalises to itself lower-cased; only others need the validator.
    if _PLAIN_EMAIL.match(text):
        return [("email", text.lower())]
    return email_identity(text)


class TaobaoOrderDetails(PlatformFormat):
    """One row per sub-order: the items of each order and what was refunded on each."""

    name: ClassVar[str] = "taobao_detail"
    label: ClassVar[str] = "Taobao/Tmall item report (宝贝报表, ExportOrderDetailList)"
    platform: ClassVar[str] = "taobao"
    signature = ("购买数量",)
    required_any = (
        ("主订单编号", "订单编号"),
        ("标题", "商品标题"),
        ("价格", "商品价格"),
    )
    columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "order_id": ("主订单编号", "订单编号"),
        "sub_order_id": ("子订单编号",),
        "title": ("标题", "商品标题"),
        "price": ("价格", "商品价格"),
        "quantity": ("购买数量",),
        "external_code": ("外部系统编号",),
        "properties": ("商品属性",),
        "package": ("套餐信息",),
        "status": ("订单状态",),
        "seller_code": ("商家编码",),
        "payable": ("买家应付货款",),
        "paid": ("买家实际支付金额", "买家实付金额"),
        "refund_status": ("退款状态",),
        "refund": ("退款金额",),
        "placed_at": ("订单创建时间",),
        "paid_at": ("订单付款时间",),
        "shop": ("店铺名称",),
        "item_id": ("商品ID", "商品 ID"),
    }
    line_amounts = "sum"

    def bind(self, header: Header) -> None:
        super().bind(header)
        if not self.has("placed_at") and not self.has("paid_at"):
            raise Invalid(
                "this Taobao item report has no 订单创建时间 column, so its orders cannot be "
                "dated; export the 宝贝报表 with order times, or import the order report"
            )

    def parse(self, row: Row) -> OrderRecord:
        order_id = row.required("order_id", "主订单编号")
        placed_at = row.required_time("placed_at", "paid_at", label="订单创建时间")
        title = row.required("title", "标题")
        quantity = row.integer("quantity", 1) or 1
        price = row.money("price")
        payable = row.money("payable")
        if payable is None:
            payable = price * quantity if price is not None else 0
        paid = row.money("paid")
        if paid is None:
            paid = payable
        status = row.status("status")

        refunded: int | None = None
        state = refund_state(row.text("refund_status"))
        amount = row.money("refund")
        if state in ("refunded", "partial"):
            refunded = amount if amount else paid
        elif self.has("refund_status") or self.has("refund"):
            # An open request has not moved money yet; the report says so for every line.
            refunded = amount if amount and not self.has("refund_status") else 0
        status = settle_refund(status, paid, refunded)
        if status == "pending":
            paid = 0
        return OrderRecord(
            line=row.line,
            platform="taobao",
            platform_order_id=order_id,
            status=status,
            placed_at=placed_at,
            paid_at=row.time("paid_at"),
            identities=[],
            shop=row.text("shop") or "",
            total_amount=payable,
            paid_amount=paid,
            refunded_amount=refunded,
            items_only=True,
            lines=[
                LineRecord(
                    title=title[:500],
                    quantity=quantity,
                    unit_price=price,
                    amount=payable,
                    sku=first_text(row, "seller_code", "properties", "external_code"),
                )
            ],
        )
