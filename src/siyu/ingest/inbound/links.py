"""Trackable links: /l/{code} redirects to a stored target with UTM parameters and logs the click.

Only stored targets are ever redirected to, and only http(s) ones are stored, so a link cannot
become an open redirect. A click's contact is known from a personalised link's signed token
(`?c=`), else from the web tracker's cookies mapped through the contact's identities. Clicks by
known contacts also become `link_clicked` events on the contact's timeline.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.config import get_settings
from siyu.console.secret import secret_key
from siyu.contacts import service as contacts_service
from siyu.contacts.identity import lookup_identities
from siyu.contacts.models import Contact
from siyu.db.types import utcnow
from siyu.errors import Conflict, Invalid, NotFound
from siyu.events import internal
from siyu.events.models import Event
from siyu.ingest.inbound.models_links import InboundLink, InboundLinkClick
from siyu.kit.actor import Actor
from siyu.kit.network import truncate_ip
from siyu.kit.timeutil import local_zone
from siyu.staff.permissions import allow, check_contact

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# The web tracker's cookies (static/t.js): its anonymous id and, after identify, the user id.
ANONYMOUS_COOKIE = "siyu_aid"
USER_COOKIE = "siyu_uid"
TOKEN_PARAM = "c"
EVENT_NAME = "link_clicked"
# The event source that link_clicked events are stored under. Its prefix is not a write key
# (keys start sywk_), so nothing can ever send events as it.
EVENT_SOURCE_NAME = "links"
EVENT_SOURCE_PREFIX = "siyu_links"

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# No 0/O, 1/l/I: codes are read aloud and typed from printed cards.
CODE_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 7
MAX_URL = 2000
RECENT_CLICKS = 50
CHART_DAYS = 30


@dataclass(frozen=True)
class Visitor:
    """What a click request tells about who clicked, as the edge read it."""

    token: str | None = None
    anonymous_id: str | None = None
    user_id: str | None = None
    referrer: str | None = None
    user_agent: str | None = None
    ip: str | None = None


# --- creating and reading links ---------------------------------------------------------------


def check_target(url: str) -> str:
    """The target as stored, or Invalid: absolute http(s) URLs only (no javascript:, data:, //)."""
    text = (url or "").strip()
    if not text:
        raise Invalid("a link needs a target URL")
    if len(text) > MAX_URL:
        raise Invalid(f"the target URL is longer than {MAX_URL} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise Invalid("the target URL must not contain spaces or control characters")
    try:
        parts = urlsplit(text)
    except ValueError:
        raise Invalid("the target URL is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise Invalid("the target URL must start with http:// or https://")
    if not parts.hostname:
        raise Invalid("the target URL has no host name")
    return text


def _clean(value: str | None, limit: int, label: str) -> str | None:
    text = (value or "").strip()
    if "\x00" in text:
        raise Invalid(f"{label} must not contain NUL characters")
    if len(text) > limit:
        raise Invalid(f"{label} is longer than {limit} characters")
    return text or None


def _new_code(session: Session) -> str:
    for _ in range(10):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not _code_taken(session, code):
            return code
    raise Conflict("could not find a free short code; try again")  # 57⁷ codes: never in practice


def _code_taken(session: Session, code: str) -> bool:
    return (
        session.execute(select(InboundLink.id).where(InboundLink.code == code)).first() is not None
    )


def create_link(
    session: Session,
    *,
    name: str,
    target_url: str,
    actor: Actor,
    campaign: str = "",
    code: str | None = None,
    utm: dict[str, str | None] | None = None,
) -> InboundLink:
    """A new link. Without `code`, a random 7-character one; utm_campaign defaults to campaign."""
    allow(actor, "create")
    name = _clean(name, 120, "the name") or ""
    if not name:
        raise Invalid("a link needs a name of 1 to 120 characters")
    target = check_target(target_url)
    campaign = _clean(campaign, 120, "the campaign") or ""
    utm = utm or {}
    unknown = set(utm) - set(UTM_KEYS)
    if unknown:
        raise Invalid(f"unknown UTM parameters: {', '.join(sorted(unknown))}")
    values = {key: _clean(utm.get(key), 200, key) for key in UTM_KEYS}
    code = (code or "").strip()
    if code:
        if not CODE_PATTERN.match(code):
            raise Invalid("a short code is 1 to 32 letters, digits, - or _")
        if _code_taken(session, code):
            raise Conflict(f"the short code {code!r} is taken")
    else:
        code = _new_code(session)
    link = InboundLink(
        code=code,
        name=name,
        target_url=target,
        campaign=campaign,
        created_by=actor.label[:64],
        **values,
    )
    session.add(link)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # another request took the code between the check and the insert
        raise Conflict(f"the short code {code!r} is taken") from None
    audit.record(
        session,
        actor=actor.label,
        action="link.create",
        subject_type="inbound_link",
        subject_id=link.id,
        code=code,
        name=name,
    )
    return link


def get_link(session: Session, ref: str | int, *, actor: Actor | None = None) -> InboundLink:
    """A link by id or short code."""
    if actor is not None:
        allow(actor, "read")
    text = str(ref).strip()
    link = None
    if text.isascii() and text.isdigit() and int(text) < 2**63:
        link = session.get(InboundLink, int(text))
    if link is None and CODE_PATTERN.match(text):
        link = session.execute(
            select(InboundLink).where(InboundLink.code == text)
        ).scalar_one_or_none()
    if link is None:
        raise NotFound(f"no link {text!r}")
    return link


def list_links(
    session: Session, *, actor: Actor, campaign: str | None = None
) -> list[dict[str, Any]]:
    """Every link with its click count, known contacts and last click, newest link first."""
    allow(actor, "read")
    counts = (
        select(
            InboundLinkClick.link_id,
            func.count().label("clicks"),
            func.count(func.distinct(InboundLinkClick.contact_id)).label("contacts"),
            func.max(InboundLinkClick.clicked_at).label("last_clicked_at"),
        )
        .group_by(InboundLinkClick.link_id)
        .subquery()
    )
    query = (
        select(
            InboundLink,
            func.coalesce(counts.c.clicks, 0),
            func.coalesce(counts.c.contacts, 0),
            counts.c.last_clicked_at,
        )
        .outerjoin(counts, counts.c.link_id == InboundLink.id)
        .order_by(InboundLink.id.desc())
    )
    if campaign is not None:
        query = query.where(InboundLink.campaign == campaign)
    rows = session.execute(query).all()
    return [
        link_dict(link, clicks=clicks, contacts=contacts, last_clicked_at=last)
        for link, clicks, contacts, last in rows
    ]


def campaign_totals(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    """Clicks, known contacts and links per campaign, most clicked first."""
    allow(actor, "read")
    clicks = dict(
        session.execute(
            select(InboundLinkClick.campaign, func.count()).group_by(InboundLinkClick.campaign)
        ).all()
    )
    contacts = dict(
        session.execute(
            select(
                InboundLinkClick.campaign, func.count(func.distinct(InboundLinkClick.contact_id))
            ).group_by(InboundLinkClick.campaign)
        ).all()
    )
    links = dict(
        session.execute(
            select(InboundLink.campaign, func.count()).group_by(InboundLink.campaign)
        ).all()
    )
    names = set(clicks) | set(links)
    totals = [
        {
            "campaign": name,
            "links": links.get(name, 0),
            "clicks": clicks.get(name, 0),
            "contacts": contacts.get(name, 0),
        }
        for name in names
    ]
    return sorted(totals, key=lambda row: (-row["clicks"], row["campaign"]))


def click_count(session: Session, link_id: int) -> int:
    return session.execute(
        select(func.count()).where(InboundLinkClick.link_id == link_id)
    ).scalar_one()


def recent_clicks(
    session: Session, link_id: int, *, limit: int = RECENT_CLICKS
) -> list[dict[str, Any]]:
    """The link's latest clicks, newest first, with the contact's name when known."""
    rows = session.execute(
        select(InboundLinkClick, Contact.name)
        .outerjoin(Contact, Contact.id == InboundLinkClick.contact_id)
        .where(InboundLinkClick.link_id == link_id)
        .order_by(InboundLinkClick.clicked_at.desc(), InboundLinkClick.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "clicked_at": click.clicked_at,
            "contact_id": click.contact_id,
            "contact_name": contact_name,
            "identified_by": click.identified_by,
            "referrer": click.referrer,
            "user_agent": click.user_agent,
            "ip_prefix": click.ip_prefix,
        }
        for click, contact_name in rows
    ]


def _day(session: Session, column: Any) -> ColumnElement[str]:
    """`YYYY-MM-DD` of a stored UTC time in the merchant's zone (SIYU_TIMEZONE)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(local_zone().key, column), "YYYY-MM-DD")
    offset = utcnow().astimezone(local_zone()).utcoffset() or timedelta()
    return func.strftime("%Y-%m-%d", column, f"{int(offset.total_seconds()) // 60:+d} minutes")


def daily_clicks(
    session: Session, link_id: int, *, days: int = CHART_DAYS, now: datetime | None = None
) -> list[tuple[str, int]]:
    """Clicks per local day over the last `days` days, every day listed (zero when quiet)."""
    now = now or utcnow()
    today = now.astimezone(local_zone()).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=local_zone()).astimezone(UTC)
    day = _day(session, InboundLinkClick.clicked_at).label("day")
    counted = dict(
        session.execute(
            select(day, func.count())
            .where(InboundLinkClick.link_id == link_id, InboundLinkClick.clicked_at >= start)
            .group_by(day)
        ).all()
    )
    dates = [(first + timedelta(days=n)).isoformat() for n in range(days)]
    return [(d, int(counted.get(d, 0))) for d in dates]


def link_dict(
    link: InboundLink,
    *,
    clicks: int | None = None,
    contacts: int | None = None,
    last_clicked_at: datetime | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": link.id,
        "code": link.code,
        "path": f"/l/{link.code}",
        "name": link.name,
        "target_url": link.target_url,
        "campaign": link.campaign,
        "utm": {key: getattr(link, key) for key in UTM_KEYS if getattr(link, key)},
        "redirect_url": redirect_url(link),
        "created_by": link.created_by,
        "created_at": link.created_at,
    }
    if clicks is not None:
        data["clicks"] = clicks
        data["contacts"] = contacts or 0
        data["last_clicked_at"] = last_clicked_at
    return data


def as_json(row: dict[str, Any]) -> dict[str, Any]:
    """A link_dict with its times as ISO 8601 text, for the API and --json."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


# --- redirecting -----------------------------------------------------------------------------


def utm_values(link: InboundLink) -> dict[str, str]:
    values = {key: getattr(link, key) for key in UTM_KEYS if getattr(link, key)}
    if "utm_campaign" not in values and link.campaign:
        values["utm_campaign"] = link.campaign
    return values


def redirect_url(link: InboundLink) -> str:
    """The target with the link's UTM parameters: the target's other parameters are kept in
    order, and a UTM parameter the target already has is replaced by the link's."""
    parts = urlsplit(link.target_url)
    utm = utm_values(link)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in utm]
    query.extend(utm.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- personalised links ----------------------------------------------------------------------


def _signer(link_id: int) -> URLSafeSerializer:
    # The link's id in the salt: a token made for one link opens no contact on another.
    return URLSafeSerializer(secret_key(get_settings()), salt=f"siyu.links.contact.{link_id}")


def contact_token(link: InboundLink, contact_id: int) -> str:
    return _signer(link.id).dumps(contact_id)


def personal_link(
    session: Session, *, link: InboundLink, contact_ref: str | int, actor: Actor
) -> dict[str, Any]:
    """The link's path for one customer: `/l/{code}?c=<signed contact id>`."""
    allow(actor, "create")
    contact = contacts_service.get_by_ref(session, contact_ref)
    check_contact(actor, contact, "read")
    token = contact_token(link, contact.id)
    return {
        "contact_id": contact.id,
        "contact_name": contact.name,
        "path": f"/l/{link.code}?{urlencode({TOKEN_PARAM: token})}",
    }


def contact_from_token(session: Session, link: InboundLink, token: str) -> int | None:
    """The live contact a token names, or None for a forged, foreign or stale token."""
    try:
        contact_id = _signer(link.id).loads(token)
    except BadSignature:
        return None
    if not isinstance(contact_id, int) or isinstance(contact_id, bool) or contact_id < 1:
        return None
    return contacts_service.resolve_id(session, contact_id)


# --- clicks ------------------------------------------------------------------------------------


def _cookie_id(value: str | None) -> str | None:
    if not value:
        return None
    text = unquote(value).strip().strip('"')
    return text[:255] or None


def _contact_from_cookies(session: Session, visitor: Visitor) -> int | None:
    claims = []
    if user_id := _cookie_id(visitor.user_id):
        claims.append(("external_id", user_id))
    if anonymous_id := _cookie_id(visitor.anonymous_id):
        claims.append(("anonymous_id", anonymous_id))
    if not claims:
        return None
    found = lookup_identities(session, claims)
    for claim in claims:  # the user id first: it names a person, the anonymous id a browser
        if claim in found:
            return int(found[claim])
    return None


def record_click(
    session: Session, *, code: str, visitor: Visitor, now: datetime | None = None
) -> tuple[InboundLink, InboundLinkClick]:
    """Log a click on the link `code` (NotFound if there is none) and fire link_clicked when
    the clicker is known. The signed token wins over cookies: it names whom the link was for."""
    if not CODE_PATTERN.match(code or ""):
        raise NotFound(f"no link {code!r}")
    link = session.execute(select(InboundLink).where(InboundLink.code == code)).scalar_one_or_none()
    if link is None:
        raise NotFound(f"no link {code!r}")
    now = now or utcnow()
    contact_id, identified_by = None, None
    if visitor.token:
        contact_id = contact_from_token(session, link, visitor.token)
        identified_by = "token" if contact_id else None
    if contact_id is None:
        contact_id = _contact_from_cookies(session, visitor)
        identified_by = "cookie" if contact_id else None
    click = InboundLinkClick(
        link_id=link.id,
        clicked_at=now,
        campaign=link.campaign,
        contact_id=contact_id,
        identified_by=identified_by,
        anonymous_id=_cookie_id(visitor.anonymous_id),
        referrer=(visitor.referrer or None) and visitor.referrer[:1000],
        user_agent=(visitor.user_agent or None) and visitor.user_agent[:500],
        ip_prefix=truncate_ip(visitor.ip),
    )
    session.add(click)
    session.flush()
    if contact_id is not None:
        _fire_event(session, link, click, now)
    return link, click


def _event_source_id(session: Session) -> int:
    """The `links` event source, made the first time a known contact clicks."""
    return internal.source_id(session, prefix=EVENT_SOURCE_PREFIX, name=EVENT_SOURCE_NAME)


def _fire_event(
    session: Session, link: InboundLink, click: InboundLinkClick, now: datetime
) -> None:
    properties = {
        "link_id": link.id,
        "code": link.code,
        "name": link.name,
        "campaign": link.campaign,
        "url": redirect_url(link),
        "identified_by": click.identified_by,
        **utm_values(link),
    }
    context: dict[str, Any] = {"ip": click.ip_prefix, "userAgent": click.user_agent}
    if click.referrer:
        context["page"] = {"referrer": click.referrer}
    session.add(
        Event(
            source_id=_event_source_id(session),
            contact_id=click.contact_id,
            type="track",
            name=EVENT_NAME,
            message_id=f"link-click-{click.id}",
            anonymous_id=click.anonymous_id,
            properties=properties,
            context={k: v for k, v in context.items() if v is not None},
            timestamp=now,
            received_at=now,
        )
    )
    session.flush()
