"""Request bodies of the reach API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(examples=["email"])
    name: str | None = None
    config: dict[str, Any] = Field(
        default_factory=dict,
        examples=[
            {
                "host": "smtp.example.com",
                "port": 587,
                "tls": "starttls",
                "user": "shop",
                "password_env": "SMTP_PASSWORD",
                "from_address": "shop@example.com",
            }
        ],
    )


class ChannelChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: dict[str, Any] | None = None
    enabled: bool | None = None


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    percent: int = 100
    subject: str | None = None
    body: str = ""
    template_code: str | None = None
    params: dict[str, str] = Field(default_factory=dict)
    defaults: dict[str, Any] = Field(default_factory=dict)


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    channel: str | int = Field(description="Channel id, name or kind.")
    segment: str | int | None = Field(None, description="A stored segment's id or name.")
    query: str | None = Field(None, description="Or a segment-language query.")
    category: Literal["marketing", "transactional"] = "marketing"
    variants: list[VariantIn] = Field(min_length=1)
    throttle_per_second: int | None = None
    scheduled_at: datetime | None = None
    conversion_days: int = 7
    start: bool = Field(False, description="Check and start at once.")


class TestSendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str
    contact: str | None = None
    variant: str | None = None
