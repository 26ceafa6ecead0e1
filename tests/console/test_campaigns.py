"""The campaign pages: composing a draft, its check with the missing-variable table, a preview
for a customer, start, pause, resume, cancel and resend, the live figures, roles and Chinese."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.console.views.campaign_form import sms_length
from siyu.contacts import service as contacts_service
from siyu.contacts.models import Contact
from siyu.engage import campaigns, channel_service
from siyu.engage.channels import registry
from siyu.engage.channels.base import Capabilities, Channel, ChannelConfig
from siyu.engage.models import EngageCampaign, EngageContent, EngageMessage
from siyu.kit.actor import Actor
from tests.console.conftest import Browser, make_staff
from tests.engage.keeping import Keeping, keeping

__all__ = ["keeping"]  # the fixture, used by name

ADMIN = Actor("staff:li.na", role="admin")
BODY = "{{ name | default('您好') }}，上新了 {{ unsubscribe_url }}"


class TextConfig(ChannelConfig):
    sign_name: str = Field(description="The approved signature.")
    access_key_env: str = "SMS_KEY"


class Text(Channel):
    kind = "text"
    label = "Text messages (tests)"
    Config = TextConfig
    capabilities = Capabilities(
        address_kind="phone", consent_channel="sms", provider_templates=True, max_length=500
    )


@pytest.fixture
def text(keeping: type[Keeping], monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Text]]:
    known = dict(registry.channels())
    monkeypatch.setattr(registry, "channels", lambda: {**known, "text": Text})
    yield Text


@pytest.fixture(autouse=True)
def english(client: TestClient) -> None:
    """The pages in English, where the tests read their words (the last test reads Chinese)."""
    client.cookies.set("lang", "en")


@pytest.fixture
def people(session: Session) -> list[Contact]:
    """Four customers tagged 上新; only the first has a city."""
    found = []
    for number, city in enumerate(["杭州", None, None, None]):
        found.append(
            contacts_service.create_contact(
                session,
                actor=ADMIN,
                identities=[f"email:c{number}@example.cn"],
                name=f"顾客{number}",
                city=city,
                tags=["上新"],
            )
        )
    session.flush()
    return found


def _channel(session: Session, kind: str = "keeping", **config: Any) -> int:
    channel = channel_service.add_channel(session, actor=ADMIN, kind=kind, name=kind, config=config)
    session.flush()
    return channel.id


def _compose(browser: Browser, channel: int, **values: str) -> Any:
    browser.get("/campaigns/new")
    form = {
        "action": "save",
        "name": "双十一",
        "channel": str(channel),
        "audience": "query",
        "query": 'tag("上新")',
        "category": "marketing",
        "subject": "上新",
        "body": BODY,
        "conversion_days": "7",
        **values,
    }
    return browser.post("/campaigns/new", form)


def _draft(session: Session, channel: int, body: str = BODY, **options: Any) -> EngageCampaign:
    campaign = campaigns.create_campaign(
        session,
        actor=ADMIN,
        name="上新",
        channel=channel_service.get_channel(session, channel),
        query='tag("上新")',
        variants=options.pop("variants", [{"subject": "上新", "body": body}]),
        **options,
    )
    session.flush()
    return campaign


def test_compose_a_draft_with_a_b_variant_and_a_schedule(
    signed_in: Browser, keeping: Any, people: Any, session: Session
) -> None:
    channel = _channel(session)
    page = signed_in.get("/campaigns/new")
    assert page.status_code == 200
    assert 'name="subject"' in page.text  # the keeping channel's messages have subjects
    assert 'name="template_code"' not in page.text
    assert "{{ unsubscribe_url }}" in page.text  # the cheat-sheet
    assert " required" not in page.text.split("<form", 2)[2]  # htmx halts on required fields
    response = _compose(
        signed_in, channel, ab="1", b_percent="30", b_subject="B", b_body=BODY,
        scheduled_at="2026-12-03T10:00", throttle="5", defaults="city = 您所在的城市",
    )  # fmt: skip
    assert response.status_code == 303, response.text
    campaign = session.scalars(select(EngageCampaign)).one()
    assert response.headers["location"] == f"/campaigns/{campaign.id}"
    assert campaign.state == "draft" and campaign.throttle_per_second == 5
    # 10:00 in Shanghai is 02:00 UTC.
    assert campaign.scheduled_at == datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    a, b = campaigns.variants_of(session, campaign)
    assert (a.name, a.percent, b.name, b.percent) == ("A", 70, "B", 30)
    assert a.defaults == {"contact.city": "您所在的城市"}

    listed = signed_in.get("/campaigns").text
    assert f'href="/campaigns/{campaign.id}"' in listed and "Draft" in listed


def test_composer_mistakes_are_shown_beside_their_fields(
    signed_in: Browser, keeping: Any, people: Any, session: Session
) -> None:
    channel = _channel(session)
    bad_query = _compose(signed_in, channel, query='tag("上新") and cty = "杭州"')
    assert bad_query.status_code == 422
    assert "unknown field" in bad_query.text.split('id="error-query"', 1)[1].split("</p>")[0]
    assert "cty" in bad_query.text  # what was typed stays
    bad_body = _compose(signed_in, channel, body="{% if %}")
    assert bad_body.status_code == 422 and 'id="error-body"' in bad_body.text
    bad_share = _compose(signed_in, channel, ab="1", b_percent="100", b_body=BODY)
    assert bad_share.status_code == 422 and 'id="error-b_percent"' in bad_share.text
    bad_number = _compose(signed_in, channel, throttle="fast", scheduled_at="soon")
    assert 'id="error-throttle"' in bad_number.text
    assert 'id="error-scheduled_at"' in bad_number.text
    assert session.scalars(select(EngageCampaign)).first() is None  # nothing half-made is kept


def test_the_check_counts_missing_variables_and_blocks_the_start(
    signed_in: Browser, keeping: Any, people: list[Contact], session: Session
) -> None:
    campaign = _draft(session, _channel(session), body="{{ contact.city }}见 {{ unsubscribe_url }}")
    page = signed_in.get(f"/campaigns/{campaign.id}").text
    table = page.split('id="missing-variables"', 1)[1].split("</table>", 1)[0]
    assert "contact.city" in table and ">3<" in table
    for person in people[1:]:
        assert f'href="/customers/{person.id}"' in table
    assert f'href="/customers/{people[0].id}"' not in table  # the one with a city
    assert re.search(r'<button type="submit" class="button primary" disabled', page)
    assert "Start is blocked" in page
    # Start is refused by the service as well, and said as a message, not a 500.
    refused = signed_in.post(f"/campaigns/{campaign.id}/start")
    assert refused.status_code == 303
    session.refresh(campaign)
    assert campaign.state == "draft"
    assert "cannot start" in signed_in.get(f"/campaigns/{campaign.id}").text


def test_the_preview_is_written_for_a_customer(
    signed_in: Browser, keeping: Any, people: list[Contact], session: Session
) -> None:
    body = "{{ name }}，{{ owner.name | default('客服') }}问好"
    campaign = _draft(session, _channel(session), body=body)
    page = signed_in.get(f"/campaigns/{campaign.id}").text
    assert "顾客0，客服问好" in page  # the first recipient by default
    shown = signed_in.get(f"/campaigns/{campaign.id}/preview?contact={people[2].id}").text
    assert "顾客2，客服问好" in shown and f'href="/customers/{people[2].id}"' in shown
    by_identity = signed_in.get(f"/campaigns/{campaign.id}/preview?contact=email:c1@example.cn")
    assert "顾客1，客服问好" in by_identity.text
    unknown = signed_in.get(f"/campaigns/{campaign.id}/preview?contact=999999")
    assert unknown.status_code == 200 and "No customer matches 999999" in unknown.text


def test_start_pause_resume_cancel_and_the_stats(
    signed_in: Browser, keeping: Any, people: list[Contact], session: Session
) -> None:
    campaign = _draft(session, _channel(session))
    page = signed_in.get(f"/campaigns/{campaign.id}").text
    assert "Ready to start: 4 recipients now." in page
    assert signed_in.post(f"/campaigns/{campaign.id}/start").status_code == 303
    session.refresh(campaign)
    assert campaign.state == "scheduled"
    campaigns.materialize(session, campaign)
    session.refresh(campaign)
    assert campaign.state == "running"

    stats = signed_in.get(f"/campaigns/{campaign.id}/stats").text
    assert 'hx-trigger="every 3s"' in stats  # polled while it sends
    assert re.search(r"Recipients</div>\s*<div class=\"figure-value\">4<", stats)

    signed_in.get(f"/campaigns/{campaign.id}")
    signed_in.post(f"/campaigns/{campaign.id}/pause")
    session.refresh(campaign)
    assert campaign.state == "paused"
    assert "Resume" in signed_in.get(f"/campaigns/{campaign.id}").text
    signed_in.post(f"/campaigns/{campaign.id}/resume")
    session.refresh(campaign)
    assert campaign.state == "running"

    # Resending unknown messages asks first, because some may have arrived.
    session.execute(
        update(EngageMessage)
        .where(EngageMessage.contact_id == people[0].id)
        .values(state="unknown")
    )
    session.flush()
    page = signed_in.get(f"/campaigns/{campaign.id}").text
    assert "get the message twice" in page
    asked = signed_in.post(f"/campaigns/{campaign.id}/resend-unknown")
    assert asked.status_code == 200 and "Please confirm" in asked.text
    signed_in.post(f"/campaigns/{campaign.id}/resend-unknown", {"confirmed": "1"})
    message = session.scalars(
        select(EngageMessage).where(EngageMessage.contact_id == people[0].id)
    ).one()
    session.refresh(message)
    assert message.state == "queued"

    asked = signed_in.post(f"/campaigns/{campaign.id}/cancel")
    assert "Please confirm" in asked.text
    session.refresh(campaign)
    assert campaign.state == "running"
    done = signed_in.post(f"/campaigns/{campaign.id}/cancel", {"confirmed": "1"})
    assert done.status_code == 303
    session.refresh(campaign)
    assert campaign.state == "cancelled"
    stats = signed_in.get(f"/campaigns/{campaign.id}/stats").text
    assert "hx-trigger" not in stats  # no more polling
    again = signed_in.post(f"/campaigns/{campaign.id}/cancel", {"confirmed": "1"})
    assert again.status_code == 303  # a conflict is a message on the page, not an error page
    assert "cancelled already" in signed_in.get(f"/campaigns/{campaign.id}").text


def test_a_test_send_goes_to_the_typed_address(
    signed_in: Browser, keeping: Any, people: list[Contact], session: Session
) -> None:
    campaign = _draft(session, _channel(session))
    signed_in.get(f"/campaigns/{campaign.id}")
    empty = signed_in.post(f"/campaigns/{campaign.id}/test", {"address": ""})
    assert empty.status_code == 303 and not Keeping.kept
    sent = signed_in.post(
        f"/campaigns/{campaign.id}/test", {"address": "me@example.cn", "contact": ""}
    )
    assert sent.status_code == 303
    (message,) = Keeping.kept
    assert message.address == "me@example.cn" and message.subject == "[TEST] 上新"
    assert "Test sent to me@example.cn" in signed_in.get(f"/campaigns/{campaign.id}").text


def test_a_viewer_reads_but_cannot_start(
    browser: Browser, keeping: Any, people: Any, session: Session
) -> None:
    campaign = _draft(session, _channel(session))
    make_staff(session, "kan.kan", "viewer")
    browser.sign_in("kan.kan")
    page = browser.get(f"/campaigns/{campaign.id}")
    assert page.status_code == 200 and f"/campaigns/{campaign.id}/start" not in page.text
    refused = browser.post(f"/campaigns/{campaign.id}/start")
    assert refused.status_code == 403 and "Traceback" not in refused.text
    session.refresh(campaign)
    assert campaign.state == "draft"
    assert browser.get("/campaigns/new").status_code == 403


def test_sms_channels_take_a_template_and_count_length(
    signed_in: Browser, text: Any, people: Any, session: Session
) -> None:
    channel = _channel(session, "text", sign_name="小店")
    page = signed_in.get("/campaigns/new").text
    assert 'name="template_code"' in page and 'name="params"' in page
    assert 'name="subject"' not in page
    counted = signed_in.post(
        "/campaigns/sms-length", {"channel": str(channel), "body": "好" * 66, "variant": "a"}
    )
    assert "70 characters with the signature, sent as 1 SMS" in counted.text
    counted = signed_in.post(
        "/campaigns/sms-length", {"channel": str(channel), "body": "好" * 67, "variant": "a"}
    )
    assert "71 characters with the signature, sent as 2 SMS" in counted.text
    response = _compose(
        signed_in, channel, subject="", body="【小店】{{ name }}，上新",
        template_code="SMS_1", params="name = {{ name | default('顾客') }}\nshop = 小店",
    )  # fmt: skip
    assert response.status_code == 303, response.text
    content = session.scalars(select(EngageContent)).one()
    assert content.template_code == "SMS_1"
    assert content.params == {"name": "{{ name | default('顾客') }}", "shop": "小店"}
    bad = _compose(signed_in, channel, template_code="SMS_1", params="just words")
    assert bad.status_code == 422 and 'id="error-params"' in bad.text


def test_sms_length() -> None:
    assert sms_length("") == {"length": 0, "parts": 0, "signature": 0}
    assert sms_length("好" * 70)["parts"] == 1
    assert sms_length("好" * 71)["parts"] == 2
    assert sms_length("好" * 134)["parts"] == 2
    assert sms_length("好" * 135)["parts"] == 3
    assert sms_length("好" * 66, "小店") == {"length": 70, "parts": 1, "signature": 4}
    assert sms_length("好", "【小店】")["length"] == 5


def test_campaign_pages_in_chinese(
    signed_in: Browser, keeping: Any, people: Any, session: Session
) -> None:
    campaign = _draft(session, _channel(session), body="{{ contact.city }} {{ unsubscribe_url }}")
    signed_in.client.cookies.set("lang", "zh_CN")
    page = signed_in.get(f"/campaigns/{campaign.id}").text
    assert "营销活动" in page and "缺失变量" in page and "草稿" in page
    assert "统计" in page and "开始" in page
    assert "营销活动" in signed_in.get("/campaigns").text
    composer = signed_in.get("/campaigns/new").text
    assert "新建营销活动" in composer and "退订" in composer
