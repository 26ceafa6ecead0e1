"""Request bodies of the coupon API; amounts in fen."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field


class CouponCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64, examples=["SPRING"])
    kind: Literal["fixed", "percent", "free_shipping"]
    amount_off: int = Field(0, ge=0, description="fixed: fen off")
    percent_off: int = Field(0, ge=0, le=100, description="percent: percent off")
    minimum_spend: int = Field(0, ge=0, description="In fen; 0 for none")
    code_prefix: str = Field("", max_length=12)
    description: str = Field("", max_length=2000)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    valid_days: int | None = Field(None, description="Days each code lasts after its issue")
    limit_per_contact: int = 1
    stock: int | None = Field(None, description="Codes that may be issued; none for no limit")


class CouponState(BaseModel):
    state: Literal["active", "paused", "archived"]


class CouponIssue(BaseModel):
    """Give `contacts` (ids or kind:value references), or `segment` (id or name)."""

    contacts: list[str] = Field(default_factory=list, max_length=10_000)
    segment: str | None = None
    source: Literal["manual", "journey", "form", "referral", "task", "groupbuy"] = "manual"
    source_ref: str | None = Field(None, max_length=200)


class CouponRedeem(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    order_ref: str | None = Field(
        None, max_length=64, description="A stored order's id (or platform:id), or the till's"
    )
    amount: int | None = Field(None, ge=0, description="The order's amount in fen")
