"""Forms, landing pages and channel codes, built through the console and used by a visitor."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts.identity import Claim, resolve
from siyu.contacts.models import (
    Contact,
    ContactConsent,
    ContactConsentChange,
    ContactIdentity,
    ContactTagLink,
    Tag,
)
from siyu.events.models import Event
from siyu.ingest.inbound import service
from siyu.ingest.inbound.models import ChannelCode, InboundForm, InboundPage, InboundSubmission
from tests.console.conftest import Browser, make_staff

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def build(
    browser: Browser, session: Session, *, slug: str = "spring"
) -> tuple[InboundForm, InboundPage]:
    browser.get("/inbound/forms/new")
    response = browser.post(
        "/inbound/forms/new",
        {
            "name": "春季新品",
            "field_name": "ask",
            "field_phone": "require",
            "field_email": "ask",
            "field_wechat_id": "ask",
            "custom": "肤质*\n城市",
            "consent_channel": "sms",
            "consent_purpose": "同意通过短信接收新品和优惠信息",
            "consent_required": "yes",
            "tags": "来源:表单",
        },
    )
    assert response.status_code == 303, response.text
    form = session.execute(select(InboundForm).where(InboundForm.name == "春季新品")).scalar_one()
    browser.get("/inbound/pages/new")
    response = browser.post(
        "/inbound/pages/new",
        {
            "title": "春季新品试用",
            "slug": slug,
            "body": "# 免费试用\n\n**限量** 100 份 <script>alert(1)</script>",
            "form_id": str(form.id),
            "published": "yes",
        },
        files={"image": ("hero.png", PNG, "image/png")},
    )
    assert response.status_code == 303, response.text
    page = session.execute(select(InboundPage).where(InboundPage.slug == slug)).scalar_one()
    return form, page


VALID = {"name": "王小美", "phone": "138 0013 8000", "email": "", "肤质": "干性", "consent": "yes"}


def test_landing_page_is_public_safe_and_shows_the_form(
    signed_in: Browser, session: Session, client_factory
) -> None:
    build(signed_in, session)
    visitor: TestClient = client_factory()
    response = visitor.get("/p/spring", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 200
    html = response.text
    assert "<h1>免费试用</h1>" in html and "<strong>限量</strong>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html  # shown as text, never run
    assert 'name="website"' in html  # the honeypot
    assert "同意通过短信接收新品和优惠信息" in html and "手机号" in html
    assert "<script" not in html.split("</title>")[1]  # no JavaScript needed
    image = html.split('class="hero" src="')[1].split('"')[0]
    served = visitor.get(image)
    assert served.status_code == 200 and served.content == PNG
    assert visitor.get("/p/media/../../etc/passwd").status_code == 404
    english = visitor.get("/p/spring", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Mobile number" in english.text
    assert visitor.get("/p/nope").status_code == 404


def test_submission_merges_with_a_shop_buyer_and_records_everything(
    signed_in: Browser, session: Session, client_factory
) -> None:
    form, _page = build(signed_in, session)
    buyer = resolve(
        session,
        [Claim(identities=[("phone", "+8613800138000")], profile={"name": "王小美"})],
        source="taobao",
    ).contact_ids[0]
    visitor: TestClient = client_factory()
    response = visitor.post(
        "/p/spring",
        data={
            **VALID,
            "email": "Xiaomei@Example.com",
            "wechat_id": "xiaomei88",
            "utm_source": "douyin",
            "utm_medium": "video",
            "utm_campaign": "spring",
        },
        headers={"Accept-Language": "zh-CN"},
    )
    assert response.status_code == 200, response.text
    assert "感谢" in response.text or "谢谢" in response.text
    submission = session.execute(select(InboundSubmission)).scalar_one()
    assert submission.contact_id == buyer
    assert submission.utm_source == "douyin" and submission.utm_campaign == "spring"
    assert submission.ip == "testclient" and submission.consent_given
    contact = session.get(Contact, buyer)
    session.refresh(contact)
    assert contact.traits["utm_source"] == "douyin" and contact.traits["wechat_id"] == "xiaomei88"
    assert contact.traits["肤质"] == "干性"
    emails = (
        session.execute(
            select(ContactIdentity.value).where(
                ContactIdentity.contact_id == buyer, ContactIdentity.kind == "email"
            )
        )
        .scalars()
        .all()
    )
    assert emails == ["xiaomei@example.com"]
    consent = session.execute(
        select(ContactConsent).where(ContactConsent.contact_id == buyer)
    ).scalar_one()
    assert consent.channel == "sms" and consent.granted
    assert consent.purpose == "同意通过短信接收新品和优惠信息"
    assert consent.source == "form" and consent.recorded_at is not None
    (change,) = session.execute(
        select(ContactConsentChange).where(ContactConsentChange.contact_id == buyer)
    ).scalars()
    assert (change.channel, change.granted, change.source) == ("sms", True, "form")
    assert change.actor == f"form:{form.id}" and change.purpose == consent.purpose
    assert change.ip is None  # the test client's address is no IP address
    event = session.execute(select(Event).where(Event.name == "form_submitted")).scalar_one()
    assert event.contact_id == buyer and event.properties["page"] == "spring"
    assert event.context["campaign"]["source"] == "douyin"
    tags = session.execute(
        select(Tag.tag_group, Tag.name)
        .join(ContactTagLink)
        .where(ContactTagLink.contact_id == buyer)
    ).all()
    assert ("来源", "表单") in tags


def test_a_new_visitor_becomes_a_lead(signed_in: Browser, session: Session, client_factory) -> None:
    build(signed_in, session)
    visitor: TestClient = client_factory()
    assert visitor.post("/p/spring", data={**VALID, "phone": "13900001111"}).status_code == 200
    contact_id = session.execute(select(InboundSubmission.contact_id)).scalar_one()
    contact = session.get(Contact, contact_id)
    assert contact.source == "form" and contact.name == "王小美"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({**VALID, "phone": "12345"}, "phone", "请输入有效的手机号。"),
        ({**VALID, "phone": ""}, "phone", "此项必填。"),
        ({**VALID, "email": "not-an-address"}, "email", "请输入有效的邮箱地址。"),
        ({**VALID, "肤质": ""}, "肤质", "此项必填。"),
    ],
)
def test_invalid_fields_are_shown_next_to_the_field(
    signed_in: Browser, session: Session, client_factory, data, field, message
) -> None:
    build(signed_in, session)
    visitor: TestClient = client_factory()
    response = visitor.post("/p/spring", data=data, headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 422
    assert f'<p class="error" id="e-{field}">{message}</p>' in response.text
    assert 'value="王小美"' in response.text  # what was typed stays
    assert session.execute(select(InboundSubmission)).first() is None


def test_required_consent_must_be_ticked(
    signed_in: Browser, session: Session, client_factory
) -> None:
    build(signed_in, session)
    visitor: TestClient = client_factory()
    data = {k: v for k, v in VALID.items() if k != "consent"}
    response = visitor.post("/p/spring", data=data, headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 422 and "请勾选同意" in response.text
    assert session.execute(select(ContactConsent)).first() is None


def test_honeypot_and_rate_limit_stop_bots_kindly(
    signed_in: Browser, session: Session, client_factory
) -> None:
    build(signed_in, session)
    visitor: TestClient = client_factory()
    bot = visitor.post("/p/spring", data={**VALID, "website": "http://spam.example"})
    assert bot.status_code == 200
    assert session.execute(select(InboundSubmission)).first() is None
    for n in range(service.RATE_LIMIT):
        ok = visitor.post("/p/spring", data={**VALID, "phone": f"1390000{n:04d}"})
        assert ok.status_code == 200
    limited = visitor.post(
        "/p/spring", data={**VALID, "phone": "13911112222"}, headers={"Accept-Language": "zh-CN"}
    )
    assert limited.status_code == 429 and "请稍候" in limited.text
    assert len(session.execute(select(InboundSubmission)).all()) == service.RATE_LIMIT


def test_submissions_list_and_csv_export(
    signed_in: Browser, session: Session, client_factory
) -> None:
    form, _page = build(signed_in, session)
    visitor: TestClient = client_factory()
    visitor.post("/p/spring?x=1", data={**VALID, "utm_source": "wechat"})
    listing = signed_in.get(f"/inbound/forms/{form.id}/submissions")
    assert listing.status_code == 200 and "王小美" in listing.text and "wechat" in listing.text
    exported = signed_in.get(f"/inbound/forms/{form.id}/submissions.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert len(rows) == 1
    assert rows[0]["phone"] == "138 0013 8000" and rows[0]["肤质"] == "干性"
    assert rows[0]["utm_source"] == "wechat" and rows[0]["consent"] == "yes"


def test_channel_code_qr_scan_and_attributed_sign_up(
    signed_in: Browser, session: Session, client_factory
) -> None:
    _form, page = build(signed_in, session)
    owner = make_staff(session, "zhang.wei", "staff", name="张伟")
    signed_in.get("/inbound/codes/new")
    response = signed_in.post(
        "/inbound/codes/new",
        {
            "name": "包裹卡",
            "page_ref": str(page.id),
            "tags": "渠道:包裹卡, 新客",
            "owner_id": str(owner.id),
        },
    )
    assert response.status_code == 303, response.text
    code = session.execute(select(ChannelCode)).scalar_one()
    png = signed_in.get(f"/inbound/codes/{code.id}/qr.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    svg = signed_in.get(f"/inbound/codes/{code.id}/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content

    visitor: TestClient = client_factory()
    scan = visitor.get(f"/c/{code.code}", follow_redirects=False)
    assert scan.status_code == 302 and scan.headers["location"] == f"/p/spring?ch={code.code}"
    visitor.get(f"/c/{code.code}", follow_redirects=False)
    landing = visitor.get(scan.headers["location"])
    assert f'name="ch" value="{code.code}"' in landing.text
    assert visitor.post("/p/spring", data={**VALID, "ch": code.code}).status_code == 200
    # Without the hidden field, the cookie set at the scan still attributes the sign-up.
    assert visitor.post("/p/spring", data={**VALID, "phone": "13700137000"}).status_code == 200

    for contact_id in session.execute(select(InboundSubmission.contact_id)).scalars():
        contact = session.get(Contact, contact_id)
        session.refresh(contact)
        assert contact.owner_id == owner.id
        labels = set(
            session.execute(
                select(Tag.tag_group, Tag.name)
                .join(ContactTagLink)
                .where(ContactTagLink.contact_id == contact_id)
            ).all()
        )
        assert {("渠道", "包裹卡"), ("", "新客")} <= labels
    stats = service.list_codes(session)[0]
    assert (stats.scans, stats.signups) == (2, 2)
    overview = signed_in.get("/inbound")
    assert overview.status_code == 200 and "包裹卡" in overview.text
    assert visitor.get("/c/unknown", follow_redirects=False).status_code == 404


def test_a_code_may_point_at_any_address(
    signed_in: Browser, session: Session, client_factory
) -> None:
    signed_in.get("/inbound/codes/new")
    response = signed_in.post(
        "/inbound/codes/new", {"name": "抖音主页", "target_url": "https://shop.example.cn/a?b=1"}
    )
    assert response.status_code == 303
    code = session.execute(select(ChannelCode)).scalar_one()
    scan = client_factory().get(f"/c/{code.code}", follow_redirects=False)
    assert scan.headers["location"] == f"https://shop.example.cn/a?b=1&ch={code.code}"
    bad = signed_in.post("/inbound/codes/new", {"name": "x", "target_url": "javascript:alert(1)"})
    assert bad.status_code == 422


def test_a_form_without_phone_or_email_is_refused(signed_in: Browser) -> None:
    signed_in.get("/inbound/forms/new")
    response = signed_in.post(
        "/inbound/forms/new", {"name": "x", "field_name": "ask", "field_phone": ""}
    )
    assert response.status_code == 422


def test_an_upload_that_is_not_an_image_is_refused(signed_in: Browser, session: Session) -> None:
    signed_in.get("/inbound/pages/new")
    response = signed_in.post(
        "/inbound/pages/new",
        {"title": "t", "slug": "t", "published": "yes"},
        files={"image": ("x.png", b"<svg onload=alert(1)>", "image/png")},
    )
    assert response.status_code == 422
    assert session.execute(select(InboundPage)).first() is None


@pytest.mark.parametrize("role", ["viewer", "staff"])
def test_viewers_and_staff_cannot_build(
    role: str, browser: Browser, session: Session, admin
) -> None:
    make_staff(session, "someone", role)
    assert browser.sign_in("someone").status_code == 303
    browser.get("/")
    assert browser.get("/inbound").status_code == 200
    assert browser.get("/inbound/forms/new").status_code == 403
    response = browser.post("/inbound/forms/new", {"name": "x", "field_phone": "require"})
    assert response.status_code == 403
    assert (
        browser.post("/inbound/codes/new", {"name": "x", "target_url": "https://a.cn"}).status_code
        == 403
    )
    assert session.execute(select(InboundForm)).first() is None
