"""What a segment query can ask about: fields, functions and their arguments, with types.

One catalogue serves the parser (unknown names, nearest suggestions), the checker (which
operators and values fit which field), the compiler and the console builder (labels).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from siyu.contacts.models import CONSENT_CHANNELS, IDENTITY_KINDS

# Value types. `time` takes a date (2026-01-01) or a relative time (30d ago); `money` a ¥
# amount; `list` is a set of words (the platforms a contact bought on).
TEXT, NUMBER, MONEY, TIME, LIST, ANY = "text", "number", "money", "time", "list", "any"

OPERATORS: dict[str, tuple[str, ...]] = {
    TEXT: ("=", "!=", "in", "not_in", "contains", "is_set", "is_not_set"),
    NUMBER: ("=", "!=", "<", "<=", ">", ">=", "between", "in", "not_in"),
    MONEY: ("=", "!=", "<", "<=", ">", ">=", "between"),
    TIME: ("<", "<=", ">", ">=", "between", "is_set", "is_not_set"),
    LIST: ("contains", "is_set", "is_not_set"),
    ANY: (
        "=", "!=", "<", "<=", ">", ">=", "between", "in", "not_in", "contains",
        "is_set", "is_not_set",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label_en: str
    label_zh: str


# Plain fields of a contact: its columns and rollups (kept current by contacts.rollups).
FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("name", TEXT, "name", "姓名"),
        Field("city", TEXT, "city", "城市"),
        Field("province", TEXT, "province", "省份"),
        Field("source", TEXT, "first source", "首次来源"),
        Field("channel_code", TEXT, "channel code", "渠道活码"),
        Field("owner", TEXT, "owner (staff login)", "负责人"),
        Field("created_at", TIME, "joined the pool", "入池时间"),
        Field("order_count", NUMBER, "orders", "订单数"),
        Field("total_spent", MONEY, "total spent", "累计消费"),
        Field("refunded_amount", MONEY, "refunded", "退款金额"),
        Field("average_order_value", MONEY, "average order value", "客单价"),
        Field("first_order_at", TIME, "first order", "首单时间"),
        Field("last_order_at", TIME, "last order", "最近下单"),
        Field("platforms", LIST, "bought on", "购买平台"),
        # Stored by contacts.lifecycle: visitor, lead, new_customer, repeat, loyal, at_risk,
        # churned.
        Field("stage", TEXT, "lifecycle stage", "生命周期阶段"),
        # From analytics.rfm's last refresh; a contact never scored has none.
        Field("rfm.segment", TEXT, "RFM segment", "RFM 分层"),
        Field("rfm.score", NUMBER, "RFM score (100R+10F+M)", "RFM 总分"),
        Field("rfm.r", NUMBER, "RFM recency score", "R 分"),
        Field("rfm.f", NUMBER, "RFM frequency score", "F 分"),
        Field("rfm.m", NUMBER, "RFM monetary score", "M 分"),
        # From analytics.clv's last fit; a contact that was no buyer then has none.
        Field("clv.p_alive", NUMBER, "probability still a customer (0–1)", "仍活跃概率"),
        Field("clv.expected_purchases", NUMBER, "expected purchases", "预计购买次数"),
        Field("clv.expected_spend", MONEY, "expected spend per purchase", "预计每单消费"),
        Field("clv.value", MONEY, "lifetime value (CLV)", "客户终生价值"),
    )
}
# Where the rfm.* fields are read.
RFM_COLUMNS = {
    "rfm.segment": "segment",
    "rfm.score": "score",
    "rfm.r": "recency_score",
    "rfm.f": "frequency_score",
    "rfm.m": "monetary_score",
}
# Where the clv.* fields are read (analytics_clv_prediction).
CLV_COLUMNS = {
    "clv.p_alive": "p_alive",
    "clv.expected_purchases": "expected_purchases",
    "clv.expected_spend": "expected_spend",
    "clv.value": "clv",
}
# traits.<key>: anything a shop export, form or identify call stored on the contact.
TRAITS_PREFIX = "traits."

# `has(...)` accepts every identity kind and these friendlier groups of kinds.
IDENTITY_GROUPS: dict[str, tuple[str, ...]] = {
    "wechat": ("wechat_unionid", "wechat_openid"),
    "wecom": ("wecom_external_userid",),
    **{kind: (kind,) for kind in IDENTITY_KINDS},
}


@dataclass(frozen=True)
class Argument:
    name: str
    type: str  # TEXT, NUMBER, "duration", "identifier"
    choices: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class Function:
    name: str
    label_en: str
    label_zh: str
    # Positional arguments are given these names, in order.
    positional: tuple[str, ...] = ()
    arguments: tuple[Argument, ...] = ()
    # Aggregates are measured (orders(...).count >= 2); the others are true or false.
    measures: dict[str, str] = field(default_factory=dict)
    # events(...) takes property filters: url contains "/pricing".
    filters: bool = False
    # States that are true or false on their own after a dot: coupon("SPRING").redeemed.
    flags: tuple[str, ...] = ()

    def argument(self, name: str) -> Argument | None:
        return next((a for a in self.arguments if a.name == name), None)


WITHIN = Argument("within", "duration")
COUPON_FLAGS = ("issued", "redeemed", "expired", "live")
FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function(
            "tag",
            "has tag",
            "带标签",
            positional=("name",),
            arguments=(Argument("name", TEXT, required=True),),
        ),
        Function(
            "has",
            "has identity",
            "有身份",
            positional=("kind",),
            arguments=(Argument("kind", "identifier", tuple(IDENTITY_GROUPS), required=True),),
        ),
        Function(
            "consent",
            "consented to",
            "已授权",
            positional=("channel",),
            arguments=(Argument("channel", "identifier", CONSENT_CHANNELS, required=True),),
        ),
        Function(
            "in_segment",
            "in segment",
            "属于分群",
            positional=("name",),
            arguments=(Argument("name", TEXT, required=True),),
        ),
        Function(
            "orders",
            "orders",
            "订单",
            arguments=(
                WITHIN,
                Argument("platform", TEXT),
                Argument("shop", TEXT),
                Argument("product", TEXT),
                Argument("sku", TEXT),
                Argument("coupon", TEXT),
            ),
            measures={"count": NUMBER, "sum": MONEY},
        ),
        Function(
            "events",
            "events",
            "行为事件",
            positional=("name",),
            arguments=(Argument("name", TEXT, required=True), WITHIN),
            measures={"count": NUMBER},
            filters=True,
        ),
        # Codes of a coupon the contact was issued, has redeemed, let expire (as marked by the
        # hourly sweep) or still holds unused.
        Function(
            "coupon",
            "coupon",
            "优惠券",
            positional=("name",),
            arguments=(Argument("name", TEXT, required=True),),
            flags=COUPON_FLAGS,
        ),
    )
}
DURATION_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400}


def known_names() -> list[str]:
    """Every name a condition can start with, for "did you mean" suggestions."""
    return [*FIELDS, *FUNCTIONS, "traits", "rfm", "clv"]
