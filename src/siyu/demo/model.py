"""What the demo generator produces before it is written out in each shop's own format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

PLATFORMS = ("taobao", "jd", "douyin", "wechat_mini", "offline")


@dataclass
class DemoLine:
    title: str
    sku: str
    quantity: int
    unit_price: int  # fen

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price


@dataclass
class Buyer:
    """The buyer as one shop sees them; each platform reveals a different part of the person."""

    receiver_name: str
    province: str
    city: str
    district: str
    street: str
    postcode: str
    # As written in the file: a real mobile, a masked one (138****1234) or None.
    phone: str | None = None
    nick: str | None = None  # Taobao 买家会员名 or JD 下单帐号
    unionid: str | None = None  # WeChat mini-program
    email: str | None = None

    @property
    def address(self) -> str:
        """Taobao's spelling: parts separated by spaces, postcode in brackets."""
        return f"{self.province} {self.city} {self.district} {self.street}({self.postcode})"


@dataclass
class DemoOrder:
    platform: str
    order_id: str
    shop: str
    # Naive Asia/Shanghai times, as the back offices write them.
    placed_at: datetime
    status: str  # Siyu's vocabulary: pending, paid, shipped, completed, cancelled, refunded
    buyer: Buyer
    lines: list[DemoLine] = field(default_factory=list)
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    completed_at: datetime | None = None
    shipping_fee: int = 0
    discount: int = 0
    refunded: int = 0
    coupon_code: str | None = None
    buyer_message: str = ""
    carrier: str = ""
    tracking_no: str = ""

    @property
    def goods(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def total(self) -> int:
        return self.goods + self.shipping_fee - self.discount

    @property
    def paid(self) -> int:
        return 0 if self.paid_at is None else self.total

    @property
    def quantity(self) -> int:
        return sum(line.quantity for line in self.lines)
