"""Every platform's order statuses mapped to one vocabulary."""

from __future__ import annotations

import re

from siyu.ingest.records import RowError

# Lower-cased, with full-width punctuation and spaces folded (see _fold).
_STATUSES = {
    # Taobao / Tmall
    "等待买家付款": "pending",
    "买家已付款,等待卖家发货": "paid",
    "等待卖家发货": "paid",
    "等待卖家发货,即:买家已付款": "paid",
    "卖家已发货,等待买家确认": "shipped",
    "等待买家确认收货": "shipped",
    "买家已签收": "shipped",
    "交易成功": "completed",
    "交易关闭": "cancelled",
    "交易被淘宝关闭": "cancelled",
    "付款以前,卖家或买家主动关闭交易": "cancelled",
    "未发货退款成功": "refunded",
    "已发货退款成功": "refunded",
    "退款成功": "refunded",
    # JD
    "等待付款": "pending",
    "等待出库": "paid",
    "等待发货": "paid",
    "等待打印": "paid",
    "等待确认收货": "shipped",
    "完成": "completed",
    "已完成": "completed",
    "(删除)锁定": "cancelled",
    "锁定": "cancelled",
    "已取消": "cancelled",
    "取消": "cancelled",
    # Douyin, Kuaishou, WeChat Shop, Youzan, Pinduoduo
    "待支付": "pending",
    "待付款": "pending",
    "未付款": "pending",
    "待确认": "pending",
    "备货中": "paid",
    "待发货": "paid",
    "已支付": "paid",
    "已付款": "paid",
    "部分发货": "paid",
    "已发货": "shipped",
    "待收货": "shipped",
    "已发货,待收货": "shipped",
    "已发货,待签收": "shipped",
    "待签收": "shipped",
    "已签收": "completed",
    "交易完成": "completed",
    "已关闭": "cancelled",
    "交易取消": "cancelled",
    "订单取消": "cancelled",
    "已退款": "refunded",
    "全额退款": "refunded",
    "售后完成": "completed",
    "已成团,待发货": "paid",
    "拼团中": "paid",
    "未成团": "cancelled",
    # Siyu's own vocabulary passes through.
    "pending": "pending",
    "paid": "paid",
    "shipped": "shipped",
    "completed": "completed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "refunded": "refunded",
}

_FOLD = str.maketrans({"，": ",", "：": ":", "（": "(", "）": ")", "、": ","})
_SPACE = re.compile(r"\s+")


def _fold(text: str) -> str:
    return _SPACE.sub("", text.translate(_FOLD)).lower()


FOLDED = {_fold(key): value for key, value in _STATUSES.items()}


def map_status(text: str | None, extra: dict[str, str] | None = None) -> str:
    if not text:
        raise RowError("order status is empty")
    folded = _fold(text)
    if extra and folded in extra:
        return extra[folded]
    status = FOLDED.get(folded)
    if status is None:
        raise RowError(f"unknown order status {text!r}")
    return status


def fold_status_map(mapping: dict[str, str]) -> dict[str, str]:
    """A mapping file's own statuses, folded the same way as the built-in ones."""
    allowed = set(FOLDED.values())
    folded = {}
    for key, value in mapping.items():
        if value not in allowed:
            raise ValueError(f"status {key!r} maps to {value!r}; use one of {sorted(allowed)}")
        folded[_fold(key)] = value
    return folded


def settle_refund(status: str, paid: int, refunded: int | None) -> str:
    """A closed or completed order whose money went back is a refunded order."""
    if refunded and paid and refunded >= paid and status in ("cancelled", "completed", "shipped"):
        return "refunded"
    if refunded and status == "cancelled":
        return "refunded"
    return status
