"""Revenue credited to owned channels, campaign and journey return, spend and cost per
customer, on the hand-worked pool of test_reports with messages sent before some orders."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.orm import Session

from siyu.analytics import reports, returns, spend
from siyu.analytics.scope import parse_scope
from siyu.contacts import service as contacts
from siyu.engage.models import EngageCampaign, EngageChannel, EngageContent, EngageMessage
from siyu.errors import Forbidden, Invalid
from siyu.kit.actor import Actor
from siyu.kit.timeutil import as_utc
from tests.analytics.test_reports import pool  # noqa: F401  (the fixture)

ADMIN = Actor.cli()


def local(text: str) -> datetime:
    return as_utc(datetime.fromisoformat(text))


@pytest.fixture
def sent(pool: Session) -> dict[str, int]:  # noqa: F811
    """An SMS campaign to a and c on 01-18 (a buys on 01-20, c not within 7 days) and an
    email to a on 03-08, two days before a's 03-10 order: that order goes to the email."""
    sms = EngageChannel(name="短信", kind="aliyun_sms")
    mail = EngageChannel(name="邮件", kind="email")
    pool.add_all([sms, mail])
    pool.flush()
    spring = EngageCampaign(name="spring", channel_id=sms.id, state="finished", conversion_days=7)
    march = EngageCampaign(name="march", channel_id=mail.id, state="finished", conversion_days=7)
    pool.add_all([spring, march])
    pool.flush()
    contents = [EngageContent(campaign_id=c.id, body="hi") for c in (spring, march)]
    pool.add_all(contents)
    pool.flush()
    a = contacts.get_by_ref(pool, "taobao_nick:a").id
    c = contacts.get_by_ref(pool, "jd_pin:c").id
    for campaign, content, channel, person, when in [
        (spring, contents[0], sms, a, "2025-01-18 10:00"),
        (spring, contents[0], sms, c, "2025-01-18 10:00"),
        (march, contents[1], mail, a, "2025-03-08 10:00"),
    ]:
        pool.add(
            EngageMessage(
                key=f"{campaign.id}-{person}", campaign_id=campaign.id, content_id=content.id,
                channel_id=channel.id, contact_id=person, state="sent", sent_at=local(when),
            )
        )  # fmt: skip
    pool.flush()
    return {"spring": spring.id, "march": march.id}


def test_each_purchase_goes_to_the_last_message_before_it(
    pool: Session,  # noqa: F811
    sent: dict[str, int],
) -> None:
    by_channel = returns.revenue_by_channel(pool, actor=ADMIN, scope=parse_scope(pool))
    assert by_channel == [
        {"kind": "aliyun_sms", "channel": "短信", "orders": 1, "revenue": 5000},
        {"kind": "email", "channel": "邮件", "orders": 1, "revenue": 8000},
    ]


def test_campaign_return_counts_messages_at_their_price_and_extra_spend(
    pool: Session,  # noqa: F811
    sent: dict[str, int],
) -> None:
    spend.set_spend(pool, actor=ADMIN, month="2025-01", channel=f"campaign:{sent['spring']}",
                    amount=1000)  # fmt: skip
    rows = {
        r["name"]: r for r in returns.campaign_returns(pool, actor=ADMIN, scope=parse_scope(pool))
    }
    spring = rows["spring"]
    # Two SMS at ¥0.045 (9 fen, rounded) plus ¥10 of spend; ¥50 back.
    assert (spring["sent"], spring["converted"], spring["revenue"], spring["cost"]) == (
        2,
        1,
        5000,
        1009,
    )
    assert spring["return"] == pytest.approx((5000 - 1009) / 1009)
    assert rows["march"]["cost"] == 0 and rows["march"]["return"] is None  # email is free
    sale = reports.acquisition(pool, actor=ADMIN, scope=parse_scope(pool))["repeat_sale"]
    assert (sale["owned_sales"], sale["owned_cost"], sale["owned_cost_per_sale"]) == (2, 1009, 504)
    assert (sale["platform_cost_per_customer"], sale["platform_cost_basis"]) == (30000, "setting")


def test_cost_per_customer_per_channel_and_month(pool: Session) -> None:  # noqa: F811
    spend.set_spend(pool, actor=ADMIN, month="2025-01", channel="taobao", amount=20000)
    spend.set_spend(pool, actor=ADMIN, month="2025-01", channel="taobao", amount=30000)  # replaces
    data = reports.acquisition(pool, actor=ADMIN, scope=parse_scope(pool, since="2025-01-01"))
    january = next(
        r for r in data["by_month"] if (r["month"], r["channel"]) == ("2025-01", "taobao")
    )
    assert (january["spend"], january["customers"], january["cost_per_customer"]) == (
        30000,
        2,
        15000,
    )
    sale = data["repeat_sale"]
    # Over the whole range taobao brought a, b and e for the ¥300: ¥100 each.
    assert (sale["platform_cost_per_customer"], sale["platform_cost_basis"]) == (10000, "spend")
    assert len(spend.list_spend(pool, actor=ADMIN)) == 1


def test_spend_csv_keeps_the_good_lines_and_names_the_bad(pool: Session) -> None:  # noqa: F811
    result = spend.import_csv(
        pool, actor=ADMIN, where="spend.csv",
        text="\ufeffmonth,channel,amount,note\n2025-01,douyin,\"¥1,200.50\",直播\n"
             "2025-1,douyin,5\n2025-02,抖音,5\n2025-02,douyin,lots\n2025-02,douyin\n",
    )  # fmt: skip
    assert result.saved == 1
    assert result.problems == [
        "spend.csv line 3, month: '2025-1' is not a month like 2026-11",
        "spend.csv line 4, channel: '抖音' is not a channel name (letters, digits and _ . : - "
        "only, e.g. douyin or code:SPRING)",
        "spend.csv line 5, amount: not an amount: 'lots'",
        "spend.csv line 6: expected month,channel,amount[,note]",
    ]
    [entry] = spend.list_spend(pool, actor=ADMIN)
    assert (entry["amount"], entry["note"]) == (120050, "直播")


def test_who_may_enter_spend(pool: Session) -> None:  # noqa: F811
    with pytest.raises(Forbidden):
        spend.set_spend(
            pool, actor=Actor("v", role="viewer"), month="2025-01", channel="jd", amount=1
        )
    with pytest.raises(Invalid, match="negative"):
        spend.set_spend(pool, actor=ADMIN, month="2025-01", channel="jd", amount=-1)


def test_message_prices_come_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from siyu.config import get_settings

    monkeypatch.setenv("SIYU_MESSAGE_COSTS", "wecom=0.01, email=0")
    get_settings.cache_clear()
    assert {k: float(v) for k, v in returns.message_costs().items()} == {"wecom": 1.0, "email": 0.0}
    monkeypatch.setenv("SIYU_MESSAGE_COSTS", "wecom=cheap")
    get_settings.cache_clear()
    with pytest.raises(Invalid, match="SIYU_MESSAGE_COSTS"):
        returns.message_costs()
