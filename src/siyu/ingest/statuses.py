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
    "卖家部分发货": "shipped",
    "付款确认中": "pending",
    "买家未付款": "pending",
    "0元购合约中": "paid",
    "交易关闭(退款)": "refunded",
    # JD
    "等待付款": "pending",
    "等待付款确认": "pending",
    "暂停": "paid",
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
    # Kuaishou: 待发货 → 已发货 → 已收货 → 交易成功; received goods count as a completed sale.
    "已收货": "completed",
    # Pinduoduo spells a refunded order by where the goods were when the money went back.
    "未发货,退款成功": "refunded",
    "已发货,退款成功": "refunded",
    "已签收,退款成功": "refunded",
    "已收货,退款成功": "refunded",
    "待成团": "paid",
    # Youzan
    "待接单": "paid",
    "已接单": "paid",
    "待自提": "shipped",
    "交易成功(部分退款)": "completed",
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


# JD flags an order it deleted from the buyer's list or locked for review by a prefix; the
# rest of the text is still the order's state.
_FLAG_PREFIXES = ("(删除)", "(锁定)")


def map_status(text: str | None, extra: dict[str, str] | None = None) -> str:
    if not text:
        raise RowError("order status is empty")
    folded = _fold(text)
    if extra and folded in extra:
        return extra[folded]
    status = FOLDED.get(folded)
    if status is None:
        for prefix in _FLAG_PREFIXES:
            if folded.startswith(prefix) and folded != prefix:
                return map_status(folded.removeprefix(prefix), extra)
        raise RowError(f"unknown order status {text!r}")
    return status


# After-sale and refund-status columns (售后状态, 退款状态, 订单退款状态, 退货退款, 商品售后).
# "refunded": the money went back in full; "partial": some of it; "open": a request is under
# way; "none": nothing happened or the request was withdrawn.
_REFUND_STATES = {
    "退款成功": "refunded",
    "同意退款,退款成功": "refunded",
    "退款成功(全额退款)": "refunded",
    "全额退款": "refunded",
    "已退款": "refunded",
    "售后完成": "refunded",
    "退货退款成功": "refunded",
    "退款完成": "refunded",
    "退款成功(部分退款)": "partial",
    "部分退款": "partial",
    "退款中": "open",
    "售后中": "open",
    "售后处理中": "open",
    "同意退款,退款中": "open",
    "买家已经申请退款,等待卖家同意": "open",
    "卖家已经同意退款,等待买家退货": "open",
    "买家已经退货,等待卖家确认收货": "open",
    "待商家处理": "open",
    "待买家退货": "open",
    "没有申请退款": "none",
    "无退款申请": "none",
    "无售后或售后取消": "none",
    "无售后": "none",
    "售后关闭": "none",
    "售后取消": "none",
    "用户取消申请": "none",
    "退款关闭": "none",
    "卖家拒绝退款": "none",
    "同意退款,退款失败": "none",
    "退款失败": "none",
    "无": "none",
}
REFUND_STATES = {_fold(key): value for key, value in _REFUND_STATES.items()}


def refund_state(text: str | None) -> str:
    """What an after-sale column says about the money; unknown wording counts as open."""
    if not text:
        return "none"
    return REFUND_STATES.get(_fold(text), "open")


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
