"""Tags, grouped (兴趣 / 人群 …), linked to contacts with a source, an author and a time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, delete, insert, or_, select, tuple_
from sqlalchemy.orm import Session

from siyu.contacts.models import ContactTagLink, Tag
from siyu.db.types import utcnow
from siyu.errors import Invalid
from siyu.kit.chunks import chunked
from siyu.segments import pending


def parse_tag(text: str) -> tuple[str, str]:
    """'兴趣:护肤' → ('兴趣', '护肤'); 'VIP' → ('', 'VIP')."""
    group, sep, name = text.replace("：", ":").partition(":")
    group, name = (group.strip(), name.strip()) if sep else ("", group.strip())
    if not name:
        raise Invalid(f"tag {text!r} has no name; write name or group:name")
    if len(name) > 64 or len(group) > 64:
        raise Invalid(f"tag {text!r} is too long (64 characters per group and name)")
    return group, name


def tag_label(group: str, name: str) -> str:
    return f"{group}:{name}" if group else name


def ensure_tags(session: Session, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    wanted = set(pairs)
    ids: dict[tuple[str, str], int] = {}
    for batch in chunked(sorted(wanted), 500):
        rows = session.execute(
            select(Tag.tag_group, Tag.name, Tag.id).where(
                or_(*(and_(Tag.tag_group == g, Tag.name == n) for g, n in batch))
            )
        )
        ids.update(((g, n), i) for g, n, i in rows)
    missing = [pair for pair in sorted(wanted) if pair not in ids]
    if missing:
        table = Tag.__table__
        now = utcnow()
        rows = session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [{"tag_group": g, "name": n, "created_at": now} for g, n in missing],
        )
        ids.update(zip(missing, (row[0] for row in rows), strict=True))
    return ids


def link_tags(
    session: Session,
    links: Sequence[tuple[int, int]],
    *,
    source: str,
    actor: str,
    mark_changed: bool = True,
) -> int:
    """Link (contact_id, tag_id) pairs not linked yet; returns how many were new.

    `mark_changed=False` only for segments' own auto-tags (see segments.membership)."""
    wanted = set(links)
    if not wanted:
        return 0
    present: set[tuple[int, int]] = set()
    table = ContactTagLink.__table__
    for batch in chunked(sorted(wanted), 1000):
        rows = session.execute(
            select(table.c.contact_id, table.c.tag_id).where(
                tuple_(table.c.contact_id, table.c.tag_id).in_(batch)
            )
        )
        present.update((c, t) for c, t in rows)
    new = sorted(wanted - present)
    if new:
        now = utcnow()
        session.execute(
            insert(table),
            [
                {"contact_id": c, "tag_id": t, "source": source, "added_by": actor, "added_at": now}
                for c, t in new
            ],
        )
        if mark_changed:
            pending.mark(session, [c for c, _ in new])
    return len(new)


def unlink_tag(session: Session, *, contact_id: int, tag_id: int) -> bool:
    result = session.execute(
        delete(ContactTagLink).where(
            ContactTagLink.contact_id == contact_id, ContactTagLink.tag_id == tag_id
        )
    )
    if result.rowcount:  # type: ignore[attr-defined]
        pending.mark(session, [contact_id])
    return bool(result.rowcount)  # type: ignore[attr-defined]


def tags_of(session: Session, contact_ids: Sequence[int]) -> dict[int, list[dict[str, str]]]:
    out: dict[int, list[dict[str, str]]] = {cid: [] for cid in contact_ids}
    rows = session.execute(
        select(
            ContactTagLink.contact_id,
            Tag.tag_group,
            Tag.name,
            ContactTagLink.source,
            ContactTagLink.added_by,
            ContactTagLink.added_at,
        )
        .join(Tag, Tag.id == ContactTagLink.tag_id)
        .where(ContactTagLink.contact_id.in_(contact_ids))
        .order_by(Tag.tag_group, Tag.name)
    )
    for cid, group, name, source, added_by, added_at in rows:
        out[cid].append(
            {
                "group": group,
                "name": name,
                "label": tag_label(group, name),
                "source": source,
                "added_by": added_by,
                "added_at": added_at.isoformat(),
            }
        )
    return out


def list_tags(session: Session, *, limit: int = 500) -> list[dict[str, str]]:
    """The tags there are, by group and name, for pickers."""
    rows = session.execute(
        select(Tag.tag_group, Tag.name).order_by(Tag.tag_group, Tag.name).limit(limit)
    )
    return [{"group": g, "name": n, "label": tag_label(g, n)} for g, n in rows]


def find_tag(session: Session, label: str) -> int | None:
    """The id of the tag a `name` or `group:name` label names, if it exists."""
    try:
        group, name = parse_tag(label)
    except Invalid:
        return None
    return session.execute(
        select(Tag.id).where(Tag.tag_group == group, Tag.name == name)
    ).scalar_one_or_none()
