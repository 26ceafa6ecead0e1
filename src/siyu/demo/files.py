"""Writing demo orders as each back office exports them, with the real headers and quirks.

Headers come from research into real exports (see docs and the importers): the Taobao classic
`ExportOrderList` CSV in GBK with `="…"` ids and padded header names, the JD POP 30-column CSV in
GBK (one row per item, order amounts repeated), the Douyin Shop 75-column export (one row per
sub-order), and Siyu's own canonical order and contact CSVs for the mini-program, the stores and
the member list. Every writer streams, so the benchmark can write a million rows in flat memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from siyu.demo.model import DemoOrder
from siyu.ingest.formats.base import receiver_identity
from siyu.ingest.formats.canonical import CONTACT_COLUMNS, ORDER_COLUMNS, format_items
from siyu.ingest.records import LineRecord
from siyu.kit.normalize import fen_to_yuan

# Taobao 订单报表 (ExportOrderList*.csv), the ~2018 layout: the 2017 columns, five 新零售 columns
# after 是否是O2O交易, then 确认收货时间 and two more at the end. Trailing spaces are real.
TAOBAO_HEADER = (
    "订单编号",
    "买家会员名",
    "买家支付宝账号",
    "买家应付货款",
    "买家应付邮费",
    "买家支付积分",
    "总金额",
    "返点积分",
    "买家实际支付金额",
    "买家实际支付积分",
    "订单状态",
    "买家留言",
    "收货人姓名",
    "收货地址 ",
    "运送方式",
    "联系电话 ",
    "联系手机",
    "订单创建时间",
    "订单付款时间 ",
    "宝贝标题 ",
    "宝贝种类 ",
    "物流单号 ",
    "物流公司",
    "订单备注",
    "宝贝总数量",
    "店铺Id",
    "店铺名称",
    "订单关闭原因",
    "卖家服务费",
    "买家服务费",
    "发票抬头",
    "是否手机订单",
    "分阶段订单信息",
    "特权订金订单id",
    "是否上传合同照片",
    "是否上传小票",
    "是否代付",
    "定金排名",
    "修改后的sku",
    "修改后的收货地址",
    "异常信息",
    "天猫卡券抵扣",
    "集分宝抵扣",
    "是否是O2O交易",
    "新零售交易类型",
    "新零售导购门店名称",
    "新零售导购门店id",
    "新零售发货门店名称",
    "新零售发货门店id",
    "退款金额",
    "预约门店",
    "确认收货时间",
    "打款商家金额",
    "含应开票给个人的个人红包",
)
TAOBAO_STATUS = {
    "pending": "等待买家付款",
    "paid": "买家已付款，等待卖家发货",
    "shipped": "卖家已发货，等待买家确认",
    "completed": "交易成功",
    "cancelled": "交易关闭",
    "refunded": "交易关闭",  # closed after a full refund; 退款金额 says how much went back
}

JD_HEADER = (
    "订单号",
    "商品ID",
    "商品名称",
    "订购数量",
    "支付方式",
    "下单时间",
    "京东价",
    "订单金额",
    "结算金额",
    "余额支付",
    "应付金额",
    "订单状态",
    "订单类型",
    "下单帐号",
    "客户姓名",
    "客户地址",
    "联系电话",
    "订单备注",
    "发票类型",
    "发票抬头",
    "发票内容",
    "商家备注",
    "商家备注等级（等级1-5为由高到低）",
    "运费金额",
    "付款确认时间",
    "增值税发票",
    "货号",
    "订单完成时间",
    "订单来源",
    "订单渠道",
)
# JD's order export knows no refunds (they live in the 服务单 export): a refunded order is one
# cancelled after payment.
JD_STATUS = {
    "pending": "等待付款",
    "paid": "等待出库",
    "shipped": "等待确认收货",
    "completed": "完成",
    "cancelled": "已取消",
    "refunded": "已取消",
}

DOUYIN_HEADER = (
    "主订单编号",
    "子订单编号",
    "支付方式",
    "选购商品",
    "货号",
    "商品ID",
    "商家编码",
    "商品数量",
    "商品金额",
    "订单提交时间",
    "支付完成时间",
    "订单完成时间",
    "承诺发货时间",
    "预约发货时间",
    "买家留言",
    "旗帜颜色",
    "商家备注",
    "APP渠道",
    "订单状态",
    "取消原因",
    "售后状态",
    "订单类型",
    "发货时间",
    "车型",
    "是否是以旧换新",
    "换新额外补贴",
    "换新额外补贴发放状态",
    "订单应付金额",
    "运费",
    "优惠总金额",
    "平台优惠",
    "商家优惠",
    "达人优惠",
    "商家改价",
    "支付优惠",
    "手续费",
    "红包抵扣",
    "降价类优惠",
    "平台实际承担优惠金额",
    "商家实际承担优惠金额",
    "达人实际承担优惠金额",
    "收件人",
    "收件人手机号",
    "省",
    "市",
    "区",
    "街道",
    "详细地址",
    "是否修改过地址",
    "快递信息",
    "序列号",
    "达人ID",
    "达人昵称",
    "拼团订单团编号",
    "商品单价是否含税",
    "税费",
    "鲁班落地页ID",
    "所属门店ID",
    "流量来源",
    "仓库ID",
    "仓库名称",
    "是否安心购",
    "广告渠道",
    "流量类型",
    "流量体裁",
    "流量渠道",
    "发货主体",
    "发货主体明细",
    "教育优惠",
    "预计送达时间",
    "是否平台仓自流转",
    "是否是渠道商品",
    "预约送达时间",
    "建议发货时间（起）",
    "建议发货时间（止）",
)
DOUYIN_STATUS = {
    "pending": "待支付",
    "paid": "备货中",
    "shipped": "已发货",
    "completed": "已完成",
    "cancelled": "已关闭",
    "refunded": "已关闭",
}
DOUYIN_REFUNDED = "同意退款,退款成功"


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _yuan(fen: int) -> str:
    return fen_to_yuan(fen)


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _excel_text(value: str) -> str:
    """Taobao's way of keeping Excel from turning long ids into 3.5E+16: ="…"."""
    return f'="{value}"'


def _taobao_row(order: DemoOrder) -> str:
    buyer = order.buyer
    paid = order.paid
    phone = buyer.phone or ""
    if phone.isdigit():
        phone = "'" + phone  # the real files put an apostrophe before a full number
    closed = order.status in ("cancelled", "refunded")
    if order.status == "refunded":
        reason = "退款"
    elif closed:
        reason = "买家不想买了" if order.paid_at is None else "其他原因"
    else:
        reason = "订单未关闭"
    titles = "，".join(line.title for line in order.lines)
    cells = [
        buyer.nick or "",
        "",  # 买家支付宝账号: hidden in today's exports
        _yuan(order.goods - order.discount),
        _yuan(order.shipping_fee),
        "0",
        _yuan(order.total),
        "0",
        _yuan(paid),
        "0",
        TAOBAO_STATUS[order.status],
        order.buyer_message,
        buyer.receiver_name,
        buyer.address,
        "快递",
        "",
        phone,
        _time(order.placed_at),
        _time(order.paid_at),
        titles,
        str(len(order.lines)),
        order.tracking_no,
        order.carrier,
        "",
        str(order.quantity),
        "0",
        order.shop,
        reason,
        "0",
        "0元",
        "",
        "手机订单",
        "",
    ]
    tail = [
        "否",
        "否",
        "否",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        _yuan(order.refunded),
        "",
        _time(order.completed_at),
        _yuan(paid - order.refunded) if order.completed_at else "0.00",
        "0.00",
    ]
    return (
        ",".join(
            [
                _excel_text(order.order_id),
                *map(_quoted, cells),
                _excel_text(""),  # 特权订金订单id, empty as ="" in the real files
                *map(_quoted, tail),
            ]
        )
        + "\r\n"
    )


def write_taobao_orders(path: Path, orders: Iterable[DemoOrder]) -> int:
    """A Taobao 订单报表 (ExportOrderList*.csv) as the seller centre exports it; returns rows."""
    count = 0
    with path.open("w", encoding="gbk", newline="") as handle:
        handle.write(",".join(map(_quoted, TAOBAO_HEADER)) + "\r\n")
        for order in orders:
            handle.write(_taobao_row(order))
            count += 1
    return count


def write_jd_orders(path: Path, orders: Iterable[DemoOrder]) -> int:
    """A JD POP order export (classic CSV, GBK): one row per item, order amounts repeated."""
    count = 0
    with path.open("w", encoding="gbk", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(JD_HEADER)
        for order in orders:
            buyer = order.buyer
            address = f"{buyer.province}{buyer.city}{buyer.district}{buyer.street}"
            for line in order.lines:
                writer.writerow(
                    [
                        order.order_id,
                        f"10{abs(hash_sku(line.sku)):09d}",
                        line.title,
                        line.quantity,
                        "在线支付",
                        _time(order.placed_at),
                        _yuan(line.unit_price),
                        _yuan(order.goods + order.shipping_fee),
                        _yuan(order.total),
                        "0.00",
                        _yuan(order.total),
                        JD_STATUS[order.status],
                        "销售订单",
                        buyer.nick or "",
                        buyer.receiver_name,
                        address,
                        buyer.phone or "",
                        order.buyer_message,
                        "电子发票" if order.paid_at else "",
                        "个人" if order.paid_at else "",
                        "明细" if order.paid_at else "",
                        "",
                        "",
                        _yuan(order.shipping_fee),
                        _time(order.paid_at),
                        "",
                        line.sku,
                        _time(order.completed_at),
                        "移动端订单",
                        "京东APP",
                    ]
                )
                count += 1
    return count


def hash_sku(sku: str) -> int:
    """A stable platform product id for a SKU (Python's hash() changes between processes)."""
    number = 0
    for char in sku:
        number = (number * 131 + ord(char)) % 1_000_000_000
    return number


def _shares(total: int, weights: Sequence[int]) -> list[int]:
    """Split an amount over lines in proportion to their value, to the fen."""
    whole = sum(weights) or 1
    shares = [total * w // whole for w in weights]
    shares[-1] += total - sum(shares)
    return shares


def write_douyin_orders(path: Path, orders: Iterable[DemoOrder]) -> int:
    """A Douyin Shop (抖店) order export: one row per sub-order, the buyer only a receiver."""
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(DOUYIN_HEADER)
        for order in orders:
            buyer = order.buyer
            amounts = [line.amount for line in order.lines]
            discounts = _shares(order.discount, amounts)
            refunds = _shares(order.refunded, amounts) if order.status == "refunded" else None
            for number, (line, discount) in enumerate(zip(order.lines, discounts, strict=True)):
                shipping = order.shipping_fee if number == 0 else 0
                sub_id = order.order_id if len(order.lines) == 1 else f"{order.order_id}{number}"
                line_refunded = bool(refunds) or (
                    order.refunded > 0 and number == len(order.lines) - 1
                )
                status = "refunded" if line_refunded else order.status
                row = {
                    "主订单编号": order.order_id,
                    "子订单编号": sub_id,
                    "支付方式": "微信" if number % 2 else "支付宝",
                    "选购商品": line.title,
                    "货号": line.sku,
                    "商品ID": f"36{hash_sku(line.sku):09d}",
                    "商家编码": line.sku,
                    "商品数量": str(line.quantity),
                    "商品金额": _yuan(line.unit_price),
                    "订单提交时间": _time(order.placed_at),
                    "支付完成时间": _time(order.paid_at),
                    "订单完成时间": _time(order.completed_at),
                    "买家留言": order.buyer_message,
                    "APP渠道": "抖音",
                    "订单状态": DOUYIN_STATUS[status],
                    "取消原因": "超时未支付"
                    if order.status == "cancelled"
                    else ("用户申请退款" if line_refunded else ""),
                    "售后状态": DOUYIN_REFUNDED if line_refunded else "-",
                    "订单类型": "普通订单",
                    "发货时间": _time(order.shipped_at),
                    "订单应付金额": _yuan(line.amount - discount + shipping),
                    "运费": _yuan(shipping),
                    "优惠总金额": _yuan(discount),
                    "商家优惠": _yuan(discount),
                    "收件人": buyer.receiver_name,
                    "收件人手机号": buyer.phone or "",
                    "省": buyer.province,
                    "市": buyer.city,
                    "区": buyer.district,
                    "街道": "",
                    "详细地址": buyer.street,
                    "是否修改过地址": "否",
                    "达人ID": "\t" + ("K1" if number % 3 == 0 else ""),
                    "流量来源": "精选联盟" if len(order.order_id) % 2 else "自然流量",
                    "流量体裁": "直播",
                    "是否安心购": "否",
                }
                writer.writerow([row.get(name, "") for name in DOUYIN_HEADER])
                count += 1
    return count


def canonical_customer(order: DemoOrder) -> str:
    """The identity reference a shop's order carries, as `kind:value`."""
    buyer = order.buyer
    if buyer.unionid:
        return f"wechat_unionid:{buyer.unionid}"
    if buyer.nick and order.platform in ("taobao", "jd"):
        return f"{'taobao_nick' if order.platform == 'taobao' else 'jd_pin'}:{buyer.nick}"
    if order.platform == "douyin" or not buyer.phone or not buyer.phone.isdigit():
        # A shop that hides the buyer: the receiver, keyed within that shop only.
        ((kind, value),) = receiver_identity(
            order.platform, buyer.receiver_name, buyer.phone, buyer.address
        )
        return f"{kind}:{value}"
    return f"phone:{buyer.phone}"


def write_canonical_orders(path: Path, orders: Iterable[DemoOrder]) -> int:
    """Siyu's own order CSV (UTF-8), used for the mini-program and the stores' till exports."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ORDER_COLUMNS)
        writer.writeheader()
        for order in orders:
            buyer = order.buyer
            lines = [
                LineRecord(
                    title=line.title,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    sku=line.sku,
                )
                for line in order.lines
            ]
            writer.writerow(
                {
                    "order_id": order.order_id,
                    "platform": order.platform,
                    "shop": order.shop,
                    "placed_at": _time(order.placed_at),
                    "paid_at": _time(order.paid_at),
                    "completed_at": _time(order.completed_at),
                    "status": order.status,
                    "total": _yuan(order.total),
                    "paid": _yuan(order.paid),
                    "refunded": _yuan(order.refunded),
                    "shipping_fee": _yuan(order.shipping_fee),
                    "discount": _yuan(order.discount),
                    "currency": "CNY",
                    "coupon_code": order.coupon_code or "",
                    "customer": canonical_customer(order),
                    "name": buyer.receiver_name,
                    "phone": buyer.phone or "",
                    "email": buyer.email or "",
                    "receiver_province": buyer.province,
                    "receiver_city": buyer.city,
                    "items": format_items(lines),
                }
            )
            count += 1
    return count


@dataclass
class MemberRow:
    """One line of the merchant's member list (会员表), in Siyu's contact CSV."""

    customer: str
    name: str
    phone: str = ""
    email: str = ""
    identities: dict[str, str] = field(default_factory=dict)  # column → value
    tags: list[str] = field(default_factory=list)
    owner: str = ""
    city: str = ""
    province: str = ""
    consents: dict[str, bool] = field(default_factory=dict)  # channel → granted
    consent_purpose: str = ""
    consent_at: datetime | None = None


def write_canonical_contacts(path: Path, rows: Iterable[MemberRow]) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, CONTACT_COLUMNS)
        writer.writeheader()
        for row in rows:
            values = {
                "customer": row.customer,
                "name": row.name,
                "phone": row.phone,
                "email": row.email,
                "tags": "|".join(row.tags),
                "owner": row.owner,
                "city": row.city,
                "province": row.province,
                "consent_purpose": row.consent_purpose if row.consents else "",
                "consent_at": _time(row.consent_at) if row.consents else "",
                **row.identities,
                **{
                    f"consent_{channel}": "yes" if granted else "no"
                    for channel, granted in row.consents.items()
                },
            }
            writer.writerow(values)
            count += 1
    return count
