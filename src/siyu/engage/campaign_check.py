"""Checking a campaign before anything is sent: every error blocks its start, and each
variable a template reads is counted among the recipients who lack it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.contacts.models import Contact, ContactIdentity
from siyu.db.types import utcnow
from siyu.engage import templates
from siyu.engage.audience import recipients_of, variants_of
from siyu.engage.channels import registry
from siyu.engage.models import EngageCampaign, EngageChannel
from siyu.errors import Invalid

_COLUMNS = {
    "name": Contact.name,
    "city": Contact.city,
    "province": Contact.province,
    "first_order_at": Contact.first_order_at,
    "last_order_at": Contact.last_order_at,
    "stage": Contact.lifecycle_stage,
}


def _lacks(session: Session, path: str) -> Any | None:
    """A condition true for contacts without the value at `path`; None: never missing."""
    root, _, rest = path.partition(".")
    field, _, trait = rest.partition(".")
    if root == "owner":
        return Contact.owner_id.is_(None)
    if field in _COLUMNS:
        column = _COLUMNS[field]
        if field in ("name", "city", "province"):
            return column.is_(None) | (column == "")
        return column.is_(None)
    if field in ("email", "phone"):
        return ~(
            select(ContactIdentity.id)
            .where(ContactIdentity.contact_id == Contact.id, ContactIdentity.kind == field)
            .exists()
        )
    if field == "traits" and trait:
        return Contact.traits[trait].as_string().is_(None)
    return None


def check(
    session: Session, campaign: EngageCampaign, *, now: datetime | None = None, sample: int = 5
) -> dict[str, Any]:
    """Everything that would go wrong, before anything is sent: errors block the start.

    Each variable a template reads without a default is counted among the recipients who
    lack it, with a few of them named, so the operator adds a default or fixes the data."""
    now = now or utcnow()
    errors: list[str] = []
    warnings: list[str] = []
    missing: list[dict[str, Any]] = []
    channel = session.get_one(EngageChannel, campaign.channel_id)
    try:
        caps = registry.channel_class(channel.kind).capabilities
    except Invalid as error:
        return {
            "ok": False,
            "errors": [error.message],
            "warnings": [],
            "missing": [],
            "recipients": 0,
        }
    if not channel.enabled:
        errors.append(f"the channel {channel.name!r} is switched off")
    try:
        audience, member, params = recipients_of(session, campaign, now)
        recipients = int(
            session.scalar(select(func.count()).select_from(audience.subquery()), params) or 0
        )
    except Invalid as error:
        return {
            "ok": False,
            "errors": [error.message],
            "warnings": [],
            "missing": [],
            "recipients": 0,
        }
    if recipients == 0:
        warnings.append("nobody is in the audience now")
    for variant in variants_of(session, campaign):
        where = f"variant {variant.name}"
        sources = {"body": variant.body or ""}
        if caps.subject:
            sources["subject"] = variant.subject or ""
            if not (variant.subject or "").strip():
                errors.append(f"{where}: an email needs a subject")
        for name, value in (variant.params or {}).items():
            sources[f"parameter {name}"] = str(value)
        if caps.provider_templates and not variant.template_code:
            errors.append(
                f"{where}: {channel.kind} sends provider-approved templates; give the template code"
            )
        if not caps.provider_templates and not (variant.body or "").strip():
            errors.append(f"{where}: the body is empty")
        if (
            caps.unsubscribe_link
            and campaign.category == "marketing"
            and not templates.reads_unsubscribe(variant.body or "")
        ):
            errors.append(
                f"{where}: a marketing email must carry an unsubscribe link: "
                "add {{ unsubscribe_url }} to the body"
            )
        if caps.max_length and len(variant.body or "") > caps.max_length:
            warnings.append(f"{where}: the body is longer than {caps.max_length} characters")
        for part, source in sources.items():
            try:
                found = templates.variables(source, f"{where}, {part}")
            except Invalid as error:
                errors.append(error.message)
                continue
            for path in templates.unknown_variables(found):
                errors.append(f"{where}, {part}: {{{{ {path} }}}} is nothing a contact has")
            for item in found:
                if item.guarded or item.path in (variant.defaults or {}):
                    continue
                lacks = _lacks(session, item.path)
                if lacks is None:
                    continue
                who = select(Contact.id, Contact.name).where(member.in_(audience), lacks)
                count = int(
                    session.scalar(select(func.count()).select_from(who.subquery()), params) or 0
                )
                if count:
                    rows = session.execute(who.order_by(Contact.id).limit(sample), params).all()
                    missing.append(
                        {
                            "variant": variant.name,
                            "part": part,
                            "variable": item.path,
                            "contacts": count,
                            "sample": [{"id": r.id, "name": r.name} for r in rows],
                        }
                    )
    for item in missing:
        errors.append(
            f"variant {item['variant']}, {item['part']}: {item['contacts']} recipients have no "
            f"{item['variable']}; give a default (e.g. {{{{ {item['variable']} | default('…') }}}}"
            " or the variant's defaults) or fix their data"
        )
    return {
        "ok": not errors,
        "errors": errors,
        "warnings": warnings,
        "missing": missing,
        "recipients": recipients,
    }
