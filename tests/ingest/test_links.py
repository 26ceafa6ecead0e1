"""Trackable links in the service: targets, UTM merging, clicks, counts, contacts and tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts import service as contacts_service
from siyu.contacts.models import Contact
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.events.models import Event
from siyu.events.timeline import recent_events
from siyu.ingest.inbound import links
from siyu.ingest.inbound.models_links import InboundLinkClick
from siyu.kit.actor import Actor

ADMIN = Actor("staff:li.na", role="admin")
OPERATOR = Actor("staff:wang", role="operator")


def contact(session: Session, *identities: str, name: str = "王小明") -> Contact:
    return contacts_service.create_contact(
        session, actor=ADMIN, identities=list(identities), name=name
    )


def make(session: Session, **values: object) -> links.InboundLink:
    values = {"name": "双十一短信", "target_url": "https://shop.example.cn/sale", **values}
    return links.create_link(session, actor=OPERATOR, **values)  # type: ignore[arg-type]


def query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def test_redirect_merges_utm_into_the_targets_own_query(session: Session) -> None:
    link = make(
        session,
        target_url="https://shop.example.cn/p/rose?sku=12&utm_source=old&empty=#reviews",
        campaign="双十一",
        utm={"utm_source": "sms", "utm_medium": "短信", "utm_content": "a"},
    )
    url = links.redirect_url(link)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == (
        "https",
        "shop.example.cn",
        "/p/rose",
        "reviews",
    )
    assert query(url) == [
        ("sku", "12"),
        ("empty", ""),
        ("utm_source", "sms"),
        ("utm_medium", "短信"),
        ("utm_content", "a"),
        ("utm_campaign", "双十一"),  # the campaign stands in for a missing utm_campaign
    ]


def test_a_link_without_utm_leads_to_its_target_unchanged(session: Session) -> None:
    link = make(session, target_url="http://shop.example.cn/a?b=1")
    assert links.redirect_url(link) == "http://shop.example.cn/a?b=1"


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example/x",
        "/relative/path",
        "ftp://files.example/x",
        "https://",
        "https://shop.example.cn/a b",
        "https://shop.example.cn/\x00",
        "",
        "https://x.example/" + "a" * 2000,
    ],
)
def test_only_absolute_http_targets_are_stored(session: Session, target: str) -> None:
    with pytest.raises(Invalid):
        make(session, target_url=target)


def test_codes_are_generated_or_chosen_and_unique(session: Session) -> None:
    generated = make(session)
    assert len(generated.code) == links.CODE_LENGTH
    assert set(generated.code) <= set(links.CODE_ALPHABET)
    chosen = make(session, code="d11-sms")
    assert chosen.code == "d11-sms"
    with pytest.raises(Conflict):
        make(session, code="d11-sms")
    for bad in ("a/b", "中文", "x" * 33, "a b"):
        with pytest.raises(Invalid):
            make(session, code=bad)
    with pytest.raises(Invalid):
        make(session, utm={"utm_nonsense": "x"})
    with pytest.raises(Invalid):
        make(session, name=" ")


def test_viewers_and_staff_may_not_create_links(session: Session) -> None:
    for role in ("viewer", "staff"):
        with pytest.raises(Forbidden):
            links.create_link(
                session, name="x", target_url="https://a.example", actor=Actor("x", role=role)
            )
    make(session)
    assert links.list_links(session, actor=Actor("v", role="viewer"))


def test_clicks_are_logged_and_counted_per_link_and_campaign(session: Session) -> None:
    sms = make(session, code="sms", campaign="双十一")
    poster = make(session, code="poster", campaign="双十一")
    other = make(session, code="other", campaign="年货节")
    quiet = make(session, code="quiet")
    visitor = links.Visitor(
        referrer="https://weibo.com/post/1",
        user_agent="Mozilla/5.0 MicroMessenger/8.0",
        ip="203.0.113.77",
    )
    for code in ("sms", "sms", "sms", "poster", "other"):
        links.record_click(session, code=code, visitor=visitor)
    click = session.execute(
        select(InboundLinkClick).where(InboundLinkClick.link_id == sms.id).limit(1)
    ).scalar_one()
    assert click.campaign == "双十一" and click.contact_id is None
    assert click.referrer == "https://weibo.com/post/1"
    assert click.user_agent == "Mozilla/5.0 MicroMessenger/8.0"
    assert click.ip_prefix == "203.0.113.0"
    assert click.clicked_at is not None

    counts = {row["code"]: row["clicks"] for row in links.list_links(session, actor=ADMIN)}
    assert counts == {"sms": 3, "poster": 1, "other": 1, "quiet": 0}
    totals = {row["campaign"]: row for row in links.campaign_totals(session, actor=ADMIN)}
    assert totals["双十一"] == {"campaign": "双十一", "links": 2, "clicks": 4, "contacts": 0}
    assert totals["年货节"]["clicks"] == 1
    assert totals[""] == {"campaign": "", "links": 1, "clicks": 0, "contacts": 0}
    assert [r["code"] for r in links.list_links(session, actor=ADMIN, campaign="年货节")] == [
        "other"
    ]
    assert links.click_count(session, poster.id) == 1
    assert other.id and quiet.id
    # Nobody known clicked: no events.
    assert session.execute(select(Event).where(Event.name == links.EVENT_NAME)).first() is None


def test_unknown_codes_are_not_found(session: Session) -> None:
    for code in ("nope", "../admin", ""):
        with pytest.raises(NotFound):
            links.record_click(session, code=code, visitor=links.Visitor())


def test_the_trackers_cookie_names_the_contact_and_fires_link_clicked(session: Session) -> None:
    person = contact(session, "anonymous_id:aid-42")
    link = make(session, code="vip", campaign="会员日", utm={"utm_source": "wecom"})
    _, click = links.record_click(
        session, code="vip", visitor=links.Visitor(anonymous_id="aid-42", ip="2001:db8:1:2::9")
    )
    assert (click.contact_id, click.identified_by) == (person.id, "cookie")
    assert click.anonymous_id == "aid-42" and click.ip_prefix == "2001:db8:1::"
    event = session.execute(select(Event).where(Event.name == "link_clicked")).scalar_one()
    assert (event.type, event.contact_id, event.anonymous_id) == ("track", person.id, "aid-42")
    assert event.properties["code"] == "vip" and event.properties["campaign"] == "会员日"
    assert event.properties["utm_source"] == "wecom"
    assert event.properties["url"] == links.redirect_url(link)
    assert event.message_id == f"link-click-{click.id}"
    # On the customer's timeline, as any event.
    assert recent_events(session, person.id)[0]["name"] == "link_clicked"
    # A second click reuses the links event source.
    links.record_click(session, code="vip", visitor=links.Visitor(anonymous_id="aid-42"))
    sources = session.execute(
        select(Event.source_id).where(Event.name == "link_clicked").distinct()
    ).all()
    assert len(sources) == 1


def test_a_user_id_cookie_wins_over_the_anonymous_one(session: Session) -> None:
    browser = contact(session, "anonymous_id:aid-1", name="访客")
    member = contact(session, "external_id:u-7", name="会员")
    make(session, code="x")
    _, click = links.record_click(
        session, code="x", visitor=links.Visitor(anonymous_id="aid-1", user_id="u-7")
    )
    assert click.contact_id == member.id != browser.id
    # t.js stores ids URI-encoded; an id nobody holds names nobody but is still kept.
    _, click = links.record_click(
        session, code="x", visitor=links.Visitor(anonymous_id="new%20visitor")
    )
    assert click.contact_id is None and click.anonymous_id == "new visitor"


def test_a_signed_token_names_the_contact_and_a_forged_one_nobody(session: Session) -> None:
    person = contact(session, "phone:13800138000")
    someone = contact(session, "phone:13900139000", name="李四")
    link = make(session, code="sale")
    other = make(session, code="other")
    personal = links.personal_link(
        session, link=link, contact_ref="phone:13800138000", actor=OPERATOR
    )
    token = dict(query(personal["path"]))["c"]
    assert personal["path"].startswith("/l/sale?c=") and personal["contact_id"] == person.id

    _, click = links.record_click(session, code="sale", visitor=links.Visitor(token=token))
    assert (click.contact_id, click.identified_by) == (person.id, "token")

    # The same id signed by someone else, a token changed by hand, one made for another link,
    # and garbage: all ignored, the click still counted.
    forged = links.URLSafeSerializer("not-our-key", salt=f"siyu.links.contact.{link.id}")
    changed = token.replace(token.split(".")[0], forged.dumps(someone.id).split(".")[0])
    for bad in (forged.dumps(someone.id), changed, links.contact_token(other, someone.id), "x"):
        _, click = links.record_click(session, code="sale", visitor=links.Visitor(token=bad))
        assert click.contact_id is None and click.identified_by is None
    assert links.click_count(session, link.id) == 5

    # The token wins over the cookie: it names whom the link was sent to.
    contact(session, "anonymous_id:aid-9", name="浏览器")
    _, click = links.record_click(
        session, code="sale", visitor=links.Visitor(token=token, anonymous_id="aid-9")
    )
    assert click.contact_id == person.id


def test_personal_links_need_a_customer_the_actor_may_see(session: Session) -> None:
    link = make(session)
    with pytest.raises(NotFound):
        links.personal_link(session, link=link, contact_ref="phone:13700000000", actor=OPERATOR)
    person = contact(session, "phone:13800138000")
    with pytest.raises(Forbidden):
        links.personal_link(
            session, link=link, contact_ref=str(person.id), actor=Actor("v", role="viewer")
        )


def test_daily_clicks_in_the_merchants_zone(session: Session) -> None:
    link = make(session, code="d")
    now = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    # 23:30 UTC on the 8th is 07:30 on the 9th in Shanghai.
    for when in (now, now - timedelta(hours=1), datetime(2026, 3, 8, 23, 30, tzinfo=UTC)):
        links.record_click(session, code="d", visitor=links.Visitor(), now=when)
    links.record_click(session, code="d", visitor=links.Visitor(), now=now - timedelta(days=40))
    days = links.daily_clicks(session, link.id, days=30, now=now)
    assert len(days) == 30 and days[-1] == ("2026-03-10", 2) and days[-2] == ("2026-03-09", 1)
    assert sum(count for _, count in days) == 3


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("::ffff:198.51.100.9", "198.51.100.0"),
        ("2001:db8:abcd:12:1::1", "2001:db8:abcd::"),
        ("testclient", None),
        (None, None),
    ],
)
def test_addresses_are_kept_truncated(given: str | None, kept: str | None) -> None:
    assert links.truncate_ip(given) == kept
