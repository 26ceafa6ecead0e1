"""Settings read from the environment (prefix ``SIYU_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIYU_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/siyu.db",
        description="SQLAlchemy URL; SQLite file by default, postgresql+psycopg://… in production.",
    )
    timezone: str = Field(
        default="Asia/Shanghai",
        description="Zone of the naive times that Chinese platforms write in their exports.",
    )
    currency: str = Field(default="CNY", description="The merchant's base currency.")
    default_region: str = Field(default="CN", description="Region for phone numbers without +.")
    secret_key: str | None = Field(
        default=None,
        description=(
            "Signs the console's session cookies. Unset: one is generated once and kept in "
            "`secret_key` beside the SQLite database (var/ otherwise), so restarts keep sessions."
        ),
    )
    secure_cookies: bool = Field(
        default=False, description="Send the console's cookies over HTTPS only (behind TLS)."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    upload_dir: Path = Field(default=Path("var/uploads"), description="Where uploaded files wait.")
    run_worker: bool = Field(default=True, description="Run the job worker inside `siyu serve`.")

    report_max_age_seconds: int = Field(
        default=600,
        ge=0,
        description="Reports reuse a read of the orders for this long; each says how old it is.",
    )
    platform_acquisition_cost: int = Field(
        default=30000,
        ge=0,
        description=(
            "What buying a customer again on a platform costs, in fen, until spend is entered "
            "for platform channels (¥300: what Alibaba and JD are quoted to cost)."
        ),
    )
    attribution_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="A purchase this many days after a message is credited to that message.",
    )
    message_costs: str = Field(
        default="aliyun_sms=0.045,tencent_sms=0.045",
        description="What one message costs per channel kind, in yuan (kind=amount, …).",
    )
    rfm_window_days: int = Field(
        default=365, ge=1, description="RFM scores read the orders of this many days back."
    )
    clv_horizon_days: int = Field(
        default=90, ge=1, description="Lifetime value: expected purchases over this many days."
    )
    clv_months: int = Field(
        default=12, ge=1, le=120, description="Lifetime value: CLV sums this many months ahead."
    )
    clv_monthly_discount: float = Field(
        default=0.01, ge=0, lt=1, description="Lifetime value: monthly discount rate of CLV."
    )
    clv_unit: str = Field(
        default="week",
        pattern="^(day|week)$",
        description="Lifetime value: the time unit of the fit (day or week).",
    )
    lifecycle_loyal_orders: int = Field(
        default=4, ge=2, description="Paid orders that make a buyer loyal (two make a repeat)."
    )
    lifecycle_at_risk_gaps: float = Field(
        default=2.0, gt=0, description="At risk after this many of the buyer's usual gaps."
    )
    lifecycle_churned_gaps: float = Field(
        default=4.0, gt=0, description="Churned after this many of the buyer's usual gaps."
    )
    lifecycle_default_gap_days: float = Field(
        default=90.0, gt=0, description="The usual gap assumed for a buyer of one order."
    )
    lifecycle_min_gap_days: float = Field(
        default=7.0, ge=0, description="Usual gaps shorter than this count as this long."
    )
    lifecycle_churn_horizon_days: int = Field(
        default=730, ge=1, description="Churned after this many days without an order, always."
    )

    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The address customers reach Siyu at, for the links messages carry.",
    )
    frequency_cap: str = Field(
        default="2/7d",
        description="Marketing messages a contact may get across all channels: COUNT/DAYSd.",
    )
    frequency_cap_per_channel: dict[str, str] = Field(
        default_factory=dict,
        description='Caps per channel kind, e.g. {"sms": "1/7d"}; the global cap applies too.',
    )
    quiet_hours: str = Field(
        default="21:00-09:00",
        description="Marketing waits until these hours end in the contact's timezone; '' for none.",
    )
    send_connections: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Connections per channel a worker sends through at once (SMTP, HTTP).",
    )
    worker_dead_after_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A worker silent this long is dead: what it was sending becomes `unknown`.",
    )
    sms_reply_token: str | None = Field(
        default=None,
        description=(
            "Shared secret the SMS reply and bounce hooks (/hooks/...) want as ?token=; "
            "unset: the hooks answer 404."
        ),
    )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@lru_cache
def get_settings() -> Settings:
    return Settings()
