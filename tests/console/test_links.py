"""/l/{code} redirects and logs, and the console's links pages: list, totals, detail, roles."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts import service as contacts_service
from siyu.events.models import Event
from siyu.ingest.inbound import links
from siyu.ingest.inbound.models_links import InboundLink, InboundLinkClick
from siyu.kit.actor import Actor
from tests.console.conftest import Browser, make_staff

ADMIN = Actor("staff:li.na", role="admin")


def make(session: Session, **values: object) -> InboundLink:
    values = {"name": "双十一短信", "target_url": "https://shop.example.cn/sale?sku=1", **values}
    link = links.create_link(session, actor=ADMIN, **values)  # type: ignore[arg-type]
    session.flush()
    return link


def clicks(session: Session, link: InboundLink) -> list[InboundLinkClick]:
    return list(
        session.execute(
            select(InboundLinkClick).where(InboundLinkClick.link_id == link.id)
        ).scalars()
    )


def test_redirect_with_utm_and_the_click_logged(client: TestClient, session: Session) -> None:
    link = make(session, code="d11", campaign="双十一", utm={"utm_source": "sms"})
    response = client.get(
        "/l/d11",
        follow_redirects=False,
        headers={"Referer": "https://weibo.com/p/1", "User-Agent": "MicroMessenger/8.0"},
    )
    assert response.status_code == 302
    assert response.headers["cache-control"] == "no-store"
    location = response.headers["location"]
    assert location.startswith("https://shop.example.cn/sale?")
    assert parse_qsl(urlsplit(location).query) == [
        ("sku", "1"),
        ("utm_source", "sms"),
        ("utm_campaign", "双十一"),
    ]
    (click,) = clicks(session, link)
    assert (click.referrer, click.user_agent, click.campaign) == (
        "https://weibo.com/p/1",
        "MicroMessenger/8.0",
        "双十一",
    )
    assert click.contact_id is None
    # Query parameters the visitor adds are not passed on: only the stored target is used.
    response = client.get("/l/d11?next=https://evil.example", follow_redirects=False)
    assert "evil" not in response.headers["location"]


def test_the_cookie_names_the_contact(client: TestClient, session: Session) -> None:
    person = contacts_service.create_contact(
        session, actor=ADMIN, identities=["anonymous_id:aid-42"], name="王小明"
    )
    link = make(session, code="vip")
    client.cookies.set(links.ANONYMOUS_COOKIE, "aid-42")
    assert client.get("/l/vip", follow_redirects=False).status_code == 302
    (click,) = clicks(session, link)
    assert (click.contact_id, click.identified_by) == (person.id, "cookie")
    event = session.execute(select(Event).where(Event.name == "link_clicked")).scalar_one()
    assert event.contact_id == person.id and event.properties["code"] == "vip"


def test_a_personalised_link_names_the_contact_and_a_forged_one_does_not(
    client: TestClient, session: Session
) -> None:
    person = contacts_service.create_contact(
        session, actor=ADMIN, identities=["phone:13800138000"], name="王小明"
    )
    link = make(session, code="p")
    path = links.personal_link(session, link=link, contact_ref=str(person.id), actor=ADMIN)["path"]
    assert client.get(path, follow_redirects=False).status_code == 302
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert client.get(forged, follow_redirects=False).status_code == 302
    first, second = sorted(clicks(session, link), key=lambda c: c.id)
    assert (first.contact_id, first.identified_by) == (person.id, "token")
    assert second.contact_id is None
    assert len(session.execute(select(Event).where(Event.name == "link_clicked")).all()) == 1


def test_an_unknown_code_is_a_friendly_404(client: TestClient) -> None:
    for path in ("/l/nope", "/l/%3Cscript%3E"):
        response = client.get(path, follow_redirects=False, headers={"Accept-Language": "en"})
        assert response.status_code == 404
        assert "text/html" in response.headers["content-type"]
        assert "This link does not work" in response.text
        assert "<script>" not in response.text
    response = client.get("/l/nope", headers={"Accept-Language": "zh-CN"})
    assert "这个链接无法打开" in response.text


def test_the_list_shows_links_counts_and_campaign_totals(
    signed_in: Browser, session: Session
) -> None:
    make(session, code="a", campaign="双十一", name="短信")
    make(session, code="b", campaign="双十一", name="海报")
    for code in ("a", "a", "b"):
        links.record_click(session, code=code, visitor=links.Visitor())
    page = signed_in.get("/links")
    assert page.status_code == 200
    assert "http://testserver/l/a" in page.text and "海报" in page.text
    campaigns = re.search(r'id="campaign-list">(.*?)</table>', page.text, re.S)
    assert campaigns and "双十一" in campaigns.group(1)
    assert re.search(r'<td class="num">3</td>', campaigns.group(1))
    assert 'href="/links"' in page.text  # in the navigation
    assert 'id="new-link"' in page.text


def test_creating_a_link_in_the_console(signed_in: Browser, session: Session) -> None:
    response = signed_in.post(
        "/links",
        {
            "name": "会员日",
            "target_url": "https://shop.example.cn/vip",
            "campaign": "会员日",
            "code": "",
            "utm_source": "wecom",
        },
    )
    assert response.status_code == 303, response.text
    link = session.execute(select(InboundLink).where(InboundLink.name == "会员日")).scalar_one()
    assert response.headers["location"] == f"/links/{link.id}"
    assert link.utm_source == "wecom" and link.utm_medium is None
    detail = signed_in.get(f"/links/{link.id}")
    assert f"/l/{link.code}" in detail.text and "utm_source=wecom" in detail.text


def test_bad_input_is_shown_next_to_the_field(signed_in: Browser, session: Session) -> None:
    response = signed_in.post("/links", {"name": "x", "target_url": "javascript:alert(1)"})
    assert response.status_code == 422
    assert re.search(r'id="error-target_url">[^<]*http', response.text)
    make(session, code="taken")
    response = signed_in.post(
        "/links", {"name": "x", "target_url": "https://a.example", "code": "taken"}
    )
    assert response.status_code == 422 and 'id="error-code"' in response.text
    assert session.execute(select(InboundLink).where(InboundLink.name == "x")).first() is None


def test_the_detail_page_with_chart_recent_clicks_and_a_personalised_link(
    signed_in: Browser, session: Session
) -> None:
    person = contacts_service.create_contact(
        session, actor=ADMIN, identities=["phone:13800138000"], name="王小明"
    )
    link = make(session, code="d")
    links.record_click(
        session,
        code="d",
        visitor=links.Visitor(token=links.contact_token(link, person.id), ip="203.0.113.9"),
    )
    page = signed_in.get(f"/links/{link.id}")
    assert page.status_code == 200
    assert 'data-chart="chart-link-clicks"' in page.text
    recent = re.search(r'id="click-list">(.*?)</table>', page.text, re.S)
    assert recent and "王小明" in recent.group(1) and "203.0.113.0" in recent.group(1)
    made = signed_in.post(f"/links/{link.id}/personal", {"contact": "phone:13800138000"})
    assert made.status_code == 200
    url = re.search(r'value="(http://testserver/l/d\?c=[^"]+)"', made.text)
    assert url
    token = dict(parse_qsl(urlsplit(url.group(1)).query))["c"]
    assert links.contact_from_token(session, link, token) == person.id
    missing = signed_in.post(f"/links/{link.id}/personal", {"contact": "phone:13700000000"})
    assert missing.status_code == 422 and "13700000000" in missing.text
    assert signed_in.get("/links/999999").status_code == 404


def test_viewers_see_links_but_may_not_create_them(browser: Browser, session: Session) -> None:
    make_staff(session, "kan", "viewer")
    link = make(session, code="v")
    assert browser.sign_in("kan").status_code == 303
    page = browser.get("/links")
    assert page.status_code == 200 and 'id="new-link"' not in page.text
    detail = browser.get(f"/links/{link.id}")
    assert detail.status_code == 200 and 'id="personal"' not in detail.text
    response = browser.post("/links", {"name": "x", "target_url": "https://a.example"})
    assert response.status_code == 403
    response = browser.post(f"/links/{link.id}/personal", {"contact": "1"})
    assert response.status_code == 403
    assert session.execute(select(InboundLink).where(InboundLink.name == "x")).first() is None


def test_staff_may_not_create_links(browser: Browser, session: Session) -> None:
    make_staff(session, "mei", "staff")
    assert browser.sign_in("mei").status_code == 303
    browser.get("/links")
    response = browser.post("/links", {"name": "x", "target_url": "https://a.example"})
    assert response.status_code == 403


def test_the_console_needs_a_sign_in_but_links_do_not(client: TestClient, session: Session) -> None:
    make(session, code="open")
    assert client.get("/links", follow_redirects=False).status_code in (302, 303)
    assert client.get("/l/open", follow_redirects=False).status_code == 302
