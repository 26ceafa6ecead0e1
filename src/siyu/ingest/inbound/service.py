"""Forms, landing pages and channel codes: building them, and what a sign-up does.

A submission goes through the importers' identity resolution (`resolve`), so a visitor who
signs up with the phone a shop export already holds becomes that buyer, not a second person.
Services never commit; the request does.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.config import get_settings
from siyu.contacts.consent import record_consent
from siyu.contacts.identity import Claim, resolve
from siyu.contacts.models import CONSENT_CHANNELS, Contact
from siyu.contacts.tags import ensure_tags, link_tags, parse_tag
from siyu.db.types import utcnow
from siyu.errors import Forbidden, Invalid, NotFound
from siyu.events import internal
from siyu.events.models import Event
from siyu.ingest.inbound.models import (
    STANDARD_FIELDS,
    UTM_KEYS,
    ChannelCode,
    ChannelCodeScan,
    InboundForm,
    InboundPage,
    InboundSubmission,
)
from siyu.kit.actor import Actor
from siyu.kit.normalize import normalise_email, normalise_phone
from siyu.segments import pending
from siyu.staff.models import StaffUser

# Contact.source of people who first arrive through a form.
CONTACT_SOURCE = "form"
# Accepted submissions of one IP address to one form within RATE_WINDOW, counted in the database
# so that every server process shares the limit.
RATE_LIMIT = 5
RATE_WINDOW = timedelta(minutes=1)
# The hidden field people never see and bots fill in.
HONEYPOT = "website"
# Where a channel code's visitor is remembered between the scan and the sign-up.
CHANNEL_COOKIE = "siyu_ch"
CHANNEL_PARAM = "ch"
# The event source form_submitted events are stored under; no write key exists for it.
EVENT_SOURCE_PREFIX = "sywk_inbound"
IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": ".png", b"\xff\xd8\xff": ".jpg", b"GIF8": ".gif"}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_VALUE_LENGTH = 500
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_KEY = re.compile(r"\W+")
BUILDER_ROLES = ("admin", "operator")


@dataclass
class Field:
    key: str
    label: str
    kind: str  # a STANDARD_FIELDS name, or "text"
    required: bool = False


@dataclass
class Outcome:
    """What a visitor's post came to: accepted, refused with per-field errors, or dropped."""

    errors: dict[str, str] = field(default_factory=dict)
    submission: InboundSubmission | None = None
    # "limited" (too many posts) or "honeypot" (a bot): answered kindly, nothing stored.
    dropped: str | None = None


def may_build(actor: Actor) -> bool:
    return actor.role in BUILDER_ROLES


def check_builder(actor: Actor) -> None:
    if not may_build(actor):
        raise Forbidden(f"the {actor.role} role may not build forms, pages or channel codes")


# ---- forms ----------------------------------------------------------------------------------


def form_fields(form: InboundForm) -> list[Field]:
    return [Field(**item) for item in form.fields or []]


def build_fields(standard: dict[str, str], custom_lines: str) -> list[dict[str, Any]]:
    """Fields from the builder: `standard` maps a built-in field to "ask" or "require"; each line
    of `custom_lines` is a custom field's label, ending in `*` when it is required."""
    fields: list[dict[str, Any]] = []
    for kind in STANDARD_FIELDS:
        choice = standard.get(kind, "")
        if choice in ("ask", "require"):
            fields.append({"key": kind, "label": "", "kind": kind, "required": choice == "require"})
    seen = set(STANDARD_FIELDS) | {HONEYPOT, "consent", CHANNEL_PARAM, *UTM_KEYS}
    for line in custom_lines.splitlines():
        label = line.strip()
        required = label.endswith("*")
        label = label.rstrip("*").strip()[:80]
        if not label:
            continue
        key = _KEY.sub("_", label.lower()).strip("_") or f"field_{len(fields) + 1}"
        base, n = key[:40], 2
        while key in seen:
            key, n = f"{base}_{n}", n + 1
        seen.add(key)
        fields.append({"key": key, "label": label, "kind": "text", "required": required})
    if not fields:
        raise Invalid("a form needs at least one field")
    if not any(f["kind"] in ("phone", "email") for f in fields):
        raise Invalid("a form needs a phone or an e-mail field, or nobody can be recognised")
    return fields


def save_form(
    session: Session,
    *,
    actor: Actor,
    name: str,
    fields: list[dict[str, Any]],
    consent_channel: str | None,
    consent_purpose: str,
    consent_required: bool,
    success_message: str = "",
    tags: Sequence[str] = (),
    form: InboundForm | None = None,
) -> InboundForm:
    check_builder(actor)
    name = name.strip()
    if not name or len(name) > 120:
        raise Invalid("a form needs a name of 1 to 120 characters")
    if consent_channel and consent_channel not in CONSENT_CHANNELS:
        raise Invalid(f"unknown consent channel {consent_channel!r}")
    purpose = consent_purpose.strip()[:200]
    if consent_channel and not purpose:
        raise Invalid("say what the consent is for: the visitor reads it next to the box")
    labels = [_tag_label(t) for t in tags if t.strip()]
    if form is None:
        form = InboundForm(created_by=actor.label[:64])
        session.add(form)
    form.name = name
    form.fields = fields
    form.consent_channel = consent_channel or None
    form.consent_purpose = purpose if consent_channel else ""
    form.consent_required = bool(consent_channel) and consent_required
    form.success_message = success_message.strip()[:500]
    form.tags = labels
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="inbound.form.save",
        subject_type="inbound_form",
        subject_id=form.id,
        name=name,
    )
    return form


def _tag_label(text: str) -> str:
    group, name = parse_tag(text)
    return f"{group}:{name}" if group else name


def get_form(session: Session, form_id: int) -> InboundForm:
    form = session.get(InboundForm, form_id)
    if form is None:
        raise NotFound(f"form {form_id} not found")
    return form


def list_forms(session: Session) -> list[tuple[InboundForm, int]]:
    """Every form with its number of submissions, in one query."""
    counts = (
        select(InboundSubmission.form_id, func.count().label("n"))
        .group_by(InboundSubmission.form_id)
        .subquery()
    )
    rows = session.execute(
        select(InboundForm, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.form_id == InboundForm.id)
        .order_by(InboundForm.id.desc())
    )
    return [(form, int(n)) for form, n in rows]


# ---- landing pages --------------------------------------------------------------------------


def save_page(
    session: Session,
    *,
    actor: Actor,
    slug: str,
    title: str,
    body_markdown: str,
    form_id: int | None,
    published: bool = True,
    image: bytes | None = None,
    page: InboundPage | None = None,
) -> InboundPage:
    check_builder(actor)
    slug = slug.strip().lower()
    if not _SLUG.match(slug):
        raise Invalid("the address may hold lower-case letters, digits and hyphens (up to 64)")
    title = title.strip()
    if not title or len(title) > 200:
        raise Invalid("a page needs a title of 1 to 200 characters")
    taken = session.execute(select(InboundPage.id).where(InboundPage.slug == slug)).scalar()
    if taken is not None and (page is None or taken != page.id):
        raise Invalid(f"the address /p/{slug} is taken by another page")
    if form_id is not None:
        get_form(session, form_id)
    # Everything is checked before anything changes: a refused save leaves nothing half-done.
    image_name = store_image(image) if image else None
    if page is None:
        page = InboundPage(created_by=actor.label[:64])
        session.add(page)
    page.slug, page.title = slug, title
    page.body_markdown = body_markdown[:50_000]
    page.form_id = form_id
    page.published = published
    if image_name:
        page.image_name = image_name
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="inbound.page.save",
        subject_type="inbound_page",
        subject_id=page.id,
        slug=slug,
    )
    return page


def image_dir() -> Path:
    return get_settings().upload_dir / "inbound"


def store_image(data: bytes) -> str:
    """Keep an uploaded image under the upload directory; the type is read from its first
    bytes (never from the name the browser sent), so only PNG, JPEG and GIF are stored."""
    if len(data) > MAX_IMAGE_BYTES:
        raise Invalid("the image is larger than 5 MB")
    suffix = next((ext for magic, ext in IMAGE_TYPES.items() if data.startswith(magic)), None)
    if suffix is None:
        raise Invalid("the image must be a PNG, JPEG or GIF file")
    folder = image_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(12) + suffix
    (folder / name).write_bytes(data)
    return name


def image_path(name: str) -> Path:
    """An uploaded image's file; names are ours (hex + suffix), anything else is not found."""
    if not re.fullmatch(r"[0-9a-f]{24}\.(png|jpg|gif)", name):
        raise NotFound("no such image")
    path = image_dir() / name
    if not path.is_file():
        raise NotFound("no such image")
    return path


def get_page(session: Session, page_id: int) -> InboundPage:
    page = session.get(InboundPage, page_id)
    if page is None:
        raise NotFound(f"landing page {page_id} not found")
    return page


def published_page(session: Session, slug: str) -> InboundPage:
    page = session.execute(
        select(InboundPage).where(InboundPage.slug == slug.lower(), InboundPage.published)
    ).scalar_one_or_none()
    if page is None:
        raise NotFound(f"no page at /p/{slug}")
    return page


def list_pages(session: Session) -> list[InboundPage]:
    return list(session.execute(select(InboundPage).order_by(InboundPage.id.desc())).scalars())


# ---- submissions ----------------------------------------------------------------------------


def submit(
    session: Session,
    *,
    form: InboundForm,
    values: dict[str, str],
    consent: bool,
    ip: str,
    user_agent: str = "",
    utm: dict[str, str] | None = None,
    referrer: str | None = None,
    page: InboundPage | None = None,
    channel_code: str | None = None,
) -> Outcome:
    """A visitor's post: checked field by field; when valid, the contact is found or created as
    a lead, consent, attribution, tags and owner applied, and `form_submitted` recorded."""
    if (values.get(HONEYPOT) or "").strip():
        return Outcome(dropped="honeypot")
    fields = form_fields(form)
    cleaned = {f.key: (values.get(f.key) or "").strip()[:MAX_VALUE_LENGTH] for f in fields}
    errors: dict[str, str] = {}
    phone = email = None
    for f in fields:
        value = cleaned[f.key]
        if not value:
            if f.required:
                errors[f.key] = "This field is required."
            continue
        if f.kind == "phone":
            phone = normalise_phone(value).e164
            if phone is None:
                errors[f.key] = "Enter a valid mobile number."
        elif f.kind == "email":
            email = normalise_email(value)
            if email is None:
                errors[f.key] = "Enter a valid e-mail address."
    if not errors and phone is None and email is None:
        key = next(f.key for f in fields if f.kind in ("phone", "email"))
        errors[key] = "Leave a phone number or an e-mail address so we can reach you."
    if form.consent_required and not consent:
        errors["consent"] = "Tick the box to agree, or we cannot contact you."
    if errors:
        return Outcome(errors=errors)
    now = utcnow()
    recent = session.execute(
        select(func.count())
        .select_from(InboundSubmission)
        .where(
            InboundSubmission.form_id == form.id,
            InboundSubmission.ip == ip,
            InboundSubmission.submitted_at > now - RATE_WINDOW,
        )
    ).scalar_one()
    if recent >= RATE_LIMIT:
        return Outcome(dropped="limited")

    code = find_code(session, channel_code) if channel_code else None
    identities = [("phone", phone)] if phone else []
    identities += [("email", email)] if email else []
    profile = {"name": cleaned["name"][:200]} if cleaned.get("name") else {}
    resolution = resolve(
        session,
        [Claim(identities=identities, profile=profile)],
        source=CONTACT_SOURCE,
        actor=f"form:{form.id}",
        reason="form sign-up",
    )
    contact_id = resolution.contact_ids[0]
    utm = {k: v.strip()[:200] for k, v in (utm or {}).items() if k in UTM_KEYS and v.strip()}
    _add_traits(session, contact_id, form, fields, cleaned, utm, code)
    if form.consent_channel and consent:
        record_consent(
            session,
            contact_id=contact_id,
            channel=form.consent_channel,
            granted=True,
            source="form",
            purpose=form.consent_purpose,
            recorded_at=now,
            # The ledger keeps the form and the visitor's address, truncated; the submission
            # row keeps it in full.
            actor=f"form:{form.id}",
            ip=ip,
        )
    _apply_tags_and_owner(session, contact_id, form, code)
    submission = InboundSubmission(
        form_id=form.id,
        page_id=page.id if page else None,
        channel_code_id=code.id if code else None,
        contact_id=contact_id,
        data={k: v for k, v in cleaned.items() if v},
        consent_given=bool(consent and form.consent_channel),
        referrer=(referrer or None) and referrer[:500],
        ip=ip[:64],
        user_agent=user_agent[:300],
        submitted_at=now,
        **utm,
    )
    session.add(submission)
    session.flush()
    _record_event(session, submission, form, page, code, utm)
    return Outcome(submission=submission)


def _add_traits(
    session: Session,
    contact_id: int,
    form: InboundForm,
    fields: list[Field],
    cleaned: dict[str, str],
    utm: dict[str, str],
    code: ChannelCode | None,
) -> None:
    """Custom answers, the WeChat id, the form and UTM attribution join the contact's traits."""
    traits: dict[str, Any] = {
        f.key: cleaned[f.key] for f in fields if cleaned[f.key] and f.kind in ("text", "wechat_id")
    }
    traits.update(utm)
    traits["signup_form"] = form.name
    if code is not None:
        traits["channel_code"] = code.code
    current = session.execute(select(Contact.traits).where(Contact.id == contact_id)).scalar()
    session.execute(
        update(Contact)
        .where(Contact.id == contact_id)
        .values(traits={**(current or {}), **traits}, updated_at=utcnow())
    )
    pending.mark(session, [contact_id])


def _apply_tags_and_owner(
    session: Session, contact_id: int, form: InboundForm, code: ChannelCode | None
) -> None:
    labels = [*(form.tags or []), *(code.tags if code else [])]
    if labels:
        ids = ensure_tags(session, [parse_tag(label) for label in labels])
        link_tags(session, [(contact_id, i) for i in ids.values()], source="rule", actor="form")
    if code is not None and code.owner_id is not None:
        # A code's owner takes the sign-ups it brings, never someone else's customer.
        session.execute(
            update(Contact)
            .where(Contact.id == contact_id, Contact.owner_id.is_(None))
            .values(owner_id=code.owner_id)
        )
        pending.mark(session, [contact_id])


def _event_source_id(session: Session) -> int:
    return internal.source_id(session, prefix=EVENT_SOURCE_PREFIX, name="forms")


def _record_event(
    session: Session,
    submission: InboundSubmission,
    form: InboundForm,
    page: InboundPage | None,
    code: ChannelCode | None,
    utm: dict[str, str],
) -> None:
    properties: dict[str, Any] = {"form_id": form.id, "form": form.name}
    if page is not None:
        properties["page"] = page.slug
    if code is not None:
        properties["channel_code"] = code.code
    context: dict[str, Any] = {"ip": submission.ip, "userAgent": submission.user_agent}
    if utm:
        context["campaign"] = {k.removeprefix("utm_"): v for k, v in utm.items()}
    if submission.referrer:
        context["page"] = {"referrer": submission.referrer}
    session.add(
        Event(
            source_id=_event_source_id(session),
            contact_id=submission.contact_id,
            type="track",
            name="form_submitted",
            message_id=f"inbound-submission-{submission.id}",
            properties=properties,
            context=context,
            timestamp=submission.submitted_at,
            received_at=submission.submitted_at,
        )
    )
    session.flush()


def list_submissions(
    session: Session, *, actor: Actor, form_id: int, before: int | None = None, limit: int = 50
) -> list[InboundSubmission]:
    """Newest first, a page at a time: `before` is the last id of the previous page."""
    check_builder(actor)
    query = select(InboundSubmission).where(InboundSubmission.form_id == form_id)
    if before:
        query = query.where(InboundSubmission.id < before)
    return list(session.execute(query.order_by(InboundSubmission.id.desc()).limit(limit)).scalars())


def export_csv(session: Session, *, actor: Actor, form: InboundForm) -> Iterator[str]:
    """Every submission of a form as CSV text chunks (UTF-8 with BOM, so Excel reads Chinese)."""
    check_builder(actor)
    fields = form_fields(form)
    codes = {i: c for i, c in session.execute(select(ChannelCode.id, ChannelCode.code))}
    header = [
        "submitted_at",
        "contact_id",
        *(f.key for f in fields),
        "consent",
        *UTM_KEYS,
        "channel_code",
        "referrer",
        "ip",
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    rows = session.execute(
        select(InboundSubmission)
        .where(InboundSubmission.form_id == form.id)
        .order_by(InboundSubmission.id)
        .execution_options(yield_per=1000)
    ).scalars()
    for n, s in enumerate(rows, 1):
        writer.writerow(
            [
                s.submitted_at.isoformat(),
                s.contact_id,
                *(s.data.get(f.key, "") for f in fields),
                "yes" if s.consent_given else "no",
                *(getattr(s, k) or "" for k in UTM_KEYS),
                codes.get(s.channel_code_id, "") if s.channel_code_id else "",
                s.referrer or "",
                s.ip,
            ]
        )
        if n % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# ---- channel codes --------------------------------------------------------------------------


def save_code(
    session: Session,
    *,
    actor: Actor,
    name: str,
    page_id: int | None,
    target_url: str | None,
    tags: Sequence[str] = (),
    owner_id: int | None = None,
    code: ChannelCode | None = None,
) -> ChannelCode:
    check_builder(actor)
    name = name.strip()
    if not name or len(name) > 120:
        raise Invalid("a channel code needs a name of 1 to 120 characters")
    url = (target_url or "").strip() or None
    if page_id is not None:
        get_page(session, page_id)
        url = None
    elif url is None:
        raise Invalid("choose a landing page or enter the address a scan should open")
    elif urlsplit(url).scheme not in ("http", "https") or len(url) > 2000:
        raise Invalid("the address must start with http:// or https://")
    if owner_id is not None and session.get(StaffUser, owner_id) is None:
        raise Invalid(f"no staff member {owner_id}")
    if code is None:
        code = ChannelCode(code=secrets.token_urlsafe(6).replace("_", "x").replace("-", "y"))
        code.created_by = actor.label[:64]
        session.add(code)
    code.name, code.page_id, code.target_url = name, page_id, url
    code.tags = [_tag_label(t) for t in tags if t.strip()]
    code.owner_id = owner_id
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="inbound.code.save",
        subject_type="channel_code",
        subject_id=code.id,
        name=name,
    )
    return code


def find_code(session: Session, code: str) -> ChannelCode | None:
    return session.execute(
        select(ChannelCode).where(ChannelCode.code == code[:32])
    ).scalar_one_or_none()


def get_code(session: Session, code_id: int) -> ChannelCode:
    found = session.get(ChannelCode, code_id)
    if found is None:
        raise NotFound(f"channel code {code_id} not found")
    return found


def scan(session: Session, *, code: str, ip: str, user_agent: str = "") -> tuple[ChannelCode, str]:
    """Log a scan; returns the code and where to send the visitor, carrying `?ch=`."""
    found = find_code(session, code)
    if found is None:
        raise NotFound(f"no channel code {code}")
    session.add(ChannelCodeScan(code_id=found.id, ip=ip[:64], user_agent=user_agent[:300]))
    session.flush()
    return found, target_of(session, found)


def target_of(session: Session, code: ChannelCode) -> str:
    if code.page_id is not None:
        slug = session.execute(select(InboundPage.slug).where(InboundPage.id == code.page_id))
        base = f"/p/{slug.scalar_one()}"
    else:
        base = code.target_url or "/"
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "ch"]
    query.append((CHANNEL_PARAM, code.code))
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass
class CodeStats:
    code: ChannelCode
    scans: int
    signups: int
    owner: str | None
    page_slug: str | None


def list_codes(session: Session) -> list[CodeStats]:
    """Every code with its scans and sign-ups (distinct contacts), counted in the database."""
    scans = (
        select(ChannelCodeScan.code_id, func.count().label("n"))
        .group_by(ChannelCodeScan.code_id)
        .subquery()
    )
    signups = (
        select(
            InboundSubmission.channel_code_id.label("code_id"),
            func.count(func.distinct(InboundSubmission.contact_id)).label("n"),
        )
        .where(InboundSubmission.channel_code_id.is_not(None))
        .group_by(InboundSubmission.channel_code_id)
        .subquery()
    )
    rows = session.execute(
        select(
            ChannelCode,
            func.coalesce(scans.c.n, 0),
            func.coalesce(signups.c.n, 0),
            StaffUser.login,
            InboundPage.slug,
        )
        .outerjoin(scans, scans.c.code_id == ChannelCode.id)
        .outerjoin(signups, signups.c.code_id == ChannelCode.id)
        .outerjoin(StaffUser, StaffUser.id == ChannelCode.owner_id)
        .outerjoin(InboundPage, InboundPage.id == ChannelCode.page_id)
        .order_by(ChannelCode.id.desc())
    )
    return [CodeStats(c, int(s), int(u), login, slug) for c, s, u, login, slug in rows]


def qr_image(url: str, kind: str) -> bytes:
    """The code's QR image as PNG or SVG (segno; error correction M survives a worn print)."""
    import segno

    qr = segno.make(url, error="m")
    out = io.BytesIO()
    if kind == "png":
        qr.save(out, kind="png", scale=10, border=4)
    elif kind == "svg":
        qr.save(out, kind="svg", scale=10, border=4, xmldecl=True)
    else:
        raise NotFound(f"no {kind} image; png or svg")
    return out.getvalue()
