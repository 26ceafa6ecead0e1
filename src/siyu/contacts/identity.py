"""Identity resolution: each person recognised once, whatever order the records arrive in.

Rule: records that share any identity (or the same shop order) are one person. A record carrying
identities of two existing contacts merges them; the oldest contact (lowest id) survives, so the
resulting partition depends only on the records, never on their order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

from siyu.contacts import lifecycle, rollups
from siyu.contacts.models import (
    IDENTITY_KINDS,
    Contact,
    ContactAlias,
    ContactConsent,
    ContactConsentChange,
    ContactIdentity,
    ContactMerge,
    ContactNote,
    ContactOrder,
    ContactTagLink,
)
from siyu.db.bulk import INDEXED_ROWS_PER_STATEMENT, insert_tuples, time_storage, update_rows
from siyu.db.ids import allocate_ids
from siyu.db.sql import one_of
from siyu.db.types import utcnow
from siyu.errors import Invalid
from siyu.growth.coupons.models import GrowthCoupon
from siyu.kit.chunks import chunked
from siyu.kit.normalize import normalise_email, normalise_phone
from siyu.segments import pending

# Profile fields a record may fill in on a contact that has none yet.
PROFILE_FIELDS = ("name", "phone_hint", "city", "province")


@dataclass
class Claim:
    """What one incoming record says about a person."""

    identities: list[tuple[str, str]]
    profile: dict[str, Any] = field(default_factory=dict)
    # Contact already holding an order this record describes: the same order is the same buyer.
    known_contact_id: int | None = None
    # Where this record came from (a platform), when it differs from the whole batch's source.
    source: str | None = None


class ImportMemory:
    """What one import has learnt about the pool, so later chunks need not read it again.

    - Which contact holds each identity the import has resolved: a buyer's repeat orders
      need no lookup. Bounded (IDENTITY_LIMIT): past it, identities are looked up as usual.
    - Which profile fields of which contacts are known to be set: contacts with nothing to fill
      in are not read back.

    It only ever errs towards reading again. Merges made by the import are followed, and the
    whole import is one transaction, so what it remembers cannot be undone under it.
    """

    IDENTITY_LIMIT = 500_000

    def __init__(self) -> None:
        self._bits: dict[int, int] = {}
        self._holder: dict[tuple[str, str], int] = {}
        self._merged_into: dict[int, int] = {}

    def missing(self, contact_id: int, profile: dict[str, Any]) -> bool:
        """Whether this profile may fill a field of the contact not known to be set."""
        return bool(_bits(profile) & ~self._bits.get(contact_id, 0))

    def learn(self, contact_id: int, profile: dict[str, Any]) -> None:
        self._bits[contact_id] = self._bits.get(contact_id, 0) | _bits(profile)

    def holder(self, identity: tuple[str, str]) -> int | None:
        contact_id = self._holder.get(identity)
        while contact_id in self._merged_into:
            contact_id = self._merged_into[contact_id]
        return contact_id

    def hold(self, identity: tuple[str, str], contact_id: int) -> None:
        if len(self._holder) < self.IDENTITY_LIMIT or identity in self._holder:
            self._holder[identity] = contact_id

    def merged(self, absorbed: int, survivor: int) -> None:
        self._merged_into[absorbed] = survivor

    def settle(self, claims: Sequence[Claim]) -> dict[int, int]:
        """Claims (by index) whose contact is known already: every identity held by one
        contact, no other order holder, and no profile field it may fill in."""
        settled: dict[int, int] = {}
        holders, merged_into, bits = self._holder, self._merged_into, self._bits
        for index, claim in enumerate(claims):
            contact_id = None
            for identity in claim.identities:
                held = holders.get(identity)
                while held in merged_into:
                    held = merged_into[held]
                if held is None or (contact_id is not None and held != contact_id):
                    break
                contact_id = held
            else:
                if contact_id is None:
                    continue
                known = claim.known_contact_id
                if known is not None and known != contact_id:
                    continue
                if claim.profile and _bits(claim.profile) & ~bits.get(contact_id, 0):
                    continue
                settled[index] = contact_id
        return settled


def _bits(profile: dict[str, Any]) -> int:
    bits = 0
    for key, value in profile.items():
        if value:
            bits |= _PROFILE_BIT.get(key, 0)
    return bits


_PROFILE_BIT = {key: 1 << n for n, key in enumerate(PROFILE_FIELDS)}


@dataclass
class Resolution:
    contact_ids: list[int]
    created: int = 0
    merged: int = 0
    touched: set[int] = field(default_factory=set)


def normalise_identity(kind: str, value: str) -> tuple[str, str] | None:
    """The canonical form of an identity, or None when the value cannot link anybody."""
    kind = kind.strip().lower()
    if kind not in IDENTITY_KINDS:
        raise Invalid(f"unknown identity kind {kind!r}; known: {', '.join(IDENTITY_KINDS)}")
    value = value.strip()
    if not value:
        return None
    if kind == "phone":
        e164 = normalise_phone(value).e164
        return (kind, e164) if e164 else None
    if kind == "email":
        email = normalise_email(value)
        return (kind, email) if email else None
    if len(value) > 255:
        raise Invalid(f"{kind} {value[:20]}… is longer than 255 characters")
    return kind, value


def parse_ref(ref: str) -> tuple[str, str]:
    """`kind:value` → (kind, value); raises Invalid with what was wrong."""
    kind, sep, value = ref.partition(":")
    if not sep or not value.strip():
        raise Invalid(
            f"identity reference {ref!r} must look like kind:value, e.g. phone:13800138000"
        )
    normalised = normalise_identity(kind, value)
    if normalised is None:
        raise Invalid(f"{value!r} is not a usable {kind.strip()}")
    return normalised


def lookup_identities(
    session: Session,
    identities: Sequence[tuple[str, str]],
    memory: ImportMemory | None = None,
) -> dict[tuple[str, str], int]:
    """Which contact holds each identity, one query per kind (uses the (kind, value) index)."""
    by_kind: dict[str, set[str]] = defaultdict(set)
    found: dict[tuple[str, str], int] = {}
    for identity in identities:
        held = memory.holder(identity) if memory is not None else None
        if held is None:
            by_kind[identity[0]].add(identity[1])
        else:
            found[identity] = held
    if not by_kind:
        return found
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = _LOOKUP_POSTGRES if postgres else _LOOKUP_SQLITE
    for kind, values in by_kind.items():
        for batch in chunked(values, 2000):
            # .all() fetches in one call; iterating a result fetches row by row.
            rows = session.execute(
                statement, {"kind": kind, "values": batch if postgres else json.dumps(batch)}
            ).all()
            found.update(((kind, value), contact_id) for value, contact_id in rows)
    return found


# Plain SQL: every import chunk and event request runs it, and building the equivalent select
# (see siyu.db.sql.one_of for why the values travel as one parameter) cost more than running it.
_LOOKUP_SQLITE = text(
    "SELECT value, contact_id FROM contact_identity "
    "WHERE kind = :kind AND value IN (SELECT value FROM json_each(:values))"
)
_LOOKUP_POSTGRES = text(
    "SELECT value, contact_id FROM contact_identity "
    "WHERE kind = :kind AND value IN (SELECT unnest(CAST(:values AS text[])))"
)


def resolve(
    session: Session,
    claims: Sequence[Claim],
    *,
    source: str,
    actor: str = "system",
    reason: str = "shared identity",
    memory: ImportMemory | None = None,
    refresh_stages: bool = True,
) -> Resolution:
    """Find or create the contact of every claim, merging contacts the claims prove are one.

    `memory`: what earlier chunks of the same import learnt (see ImportMemory). A claim it
    settles whole (every identity held by one contact with nothing to fill in: a repeat buyer)
    needs none of the work below, unless another claim of the batch reaches the same contact.
    `refresh_stages`: work out the lifecycle stage of the contacts created or given a reachable
    identity; an order import leaves it to the rollups it recomputes when it ends.
    """
    settled = memory.settle(claims) if memory is not None else {}
    if not settled:
        return _resolve_all(session, claims, source, actor, reason, memory, refresh_stages)
    unsettled = [index for index in range(len(claims)) if index not in settled]
    existing = lookup_identities(
        session, [i for index in unsettled for i in claims[index].identities], memory
    )
    # A contact other claims reach may be merged or filled in: its settled claims join them,
    # so what happens to it is exactly what would have happened with no claim settled.
    reached = set(existing.values())
    reached.update(claims[index].known_contact_id for index in unsettled)
    back = [index for index, contact_id in settled.items() if contact_id in reached]
    if back:
        for index in back:
            contact_id = settled.pop(index)
            for identity in claims[index].identities:
                existing[identity] = contact_id
        unsettled = sorted([*unsettled, *back])
    result = Resolution(contact_ids=[0] * len(claims))
    if unsettled:
        rest = _resolve_all(
            session,
            [claims[index] for index in unsettled],
            source,
            actor,
            reason,
            memory,
            refresh_stages,
            existing,
        )
        for index, contact_id in zip(unsettled, rest.contact_ids, strict=True):
            result.contact_ids[index] = contact_id
        result.created, result.merged, result.touched = rest.created, rest.merged, rest.touched
    for index, contact_id in settled.items():
        result.contact_ids[index] = contact_id
    result.touched.update(settled.values())
    return result


def _resolve_all(
    session: Session,
    claims: Sequence[Claim],
    source: str,
    actor: str,
    reason: str,
    memory: ImportMemory | None,
    refresh_stages: bool,
    existing: dict[tuple[str, str], int] | None = None,
) -> Resolution:
    if existing is None:
        existing = lookup_identities(session, [i for c in claims for i in c.identities], memory)
    components, contacts_in = _components(claims, existing)

    result = Resolution(contact_ids=[0] * len(claims))
    new_roots = [root for root in components if not contacts_in.get(root)]
    profiles = {
        root: _merged_profile([claims[i].profile for i in components[root]]) for root in components
    }
    new_ids = _create_contacts(
        session, [(claims[components[r][0]].source, profiles[r]) for r in new_roots], source
    )
    result.created = len(new_ids)
    root_contact: dict[int, int] = dict(zip(new_roots, new_ids, strict=True))
    if memory is not None:
        for root, contact_id in root_contact.items():
            memory.learn(contact_id, profiles[root])

    fills: dict[int, dict[str, Any]] = {}
    for root, indexes in components.items():
        ids = sorted(contacts_in.get(root, ()))
        if ids:
            survivor = ids[0]
            for absorbed in ids[1:]:
                evidence = sorted(
                    f"{k}:{v}"
                    for i in indexes
                    for (k, v) in claims[i].identities
                    if existing.get((k, v)) in (absorbed, survivor)
                )
                merge(
                    session,
                    survivor=survivor,
                    absorbed=absorbed,
                    reason=reason,
                    actor=actor,
                    evidence={"identities": evidence},
                )
                if memory is not None:
                    memory.merged(absorbed, survivor)
                result.merged += 1
            root_contact[root] = survivor
            if profiles[root] and (memory is None or memory.missing(survivor, profiles[root])):
                fills[survivor] = profiles[root]
        contact_id = root_contact[root]
        for index in indexes:
            result.contact_ids[index] = contact_id
    result.touched.update(root_contact.values())

    reachable = _add_identities(session, claims, result.contact_ids, existing, source)
    _fill_profiles(session, fills, memory)
    if refresh_stages:
        lifecycle.refresh(session, contact_ids={*new_ids, *reachable}, reason="identity")
    pending.mark(session, result.touched)
    if memory is not None:
        for claim, contact_id in zip(claims, result.contact_ids, strict=True):
            for identity in claim.identities:
                memory.hold(identity, contact_id)
    return result


def _components(
    claims: Sequence[Claim], existing: dict[tuple[str, str], int]
) -> tuple[dict[int, list[int]], dict[int, set[int]]]:
    """Group claims into people: union-find over claim indexes, joined by shared keys.

    A key is an existing contact's id (int) or a not-yet-known identity (tuple), so the two
    kinds never collide. Returns root → claim indexes, and root → existing contact ids.
    """
    parent = list(range(len(claims)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[object, int] = {}
    found: dict[int, set[int]] = {}
    for index, claim in enumerate(claims):
        keys: list[object] = [existing.get(i, i) for i in claim.identities]
        if claim.known_contact_id:
            keys.append(claim.known_contact_id)
        for key in keys:
            if isinstance(key, int):
                found.setdefault(index, set()).add(key)
            other = first_with.setdefault(key, index)
            if other != index:
                a, b = find(index), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    components: dict[int, list[int]] = defaultdict(list)
    contacts_in: dict[int, set[int]] = {}
    for index in range(len(claims)):
        root = find(index)
        components[root].append(index)
        if index in found:
            contacts_in.setdefault(root, set()).update(found[index])
    return components, contacts_in


def _merged_profile(profiles: list[dict[str, Any]]) -> dict[str, Any]:
    if len(profiles) == 1:  # most people appear once in a chunk
        profile = profiles[0]
        return {key: profile[key] for key in PROFILE_FIELDS if profile.get(key)}
    merged: dict[str, Any] = {}
    for profile in profiles:
        for key in PROFILE_FIELDS:
            if profile.get(key) and key not in merged:
                merged[key] = profile[key]
    return merged


_CONTACT_COLUMNS = (
    "id",
    "name",
    "phone_hint",
    "city",
    "province",
    "source",
    "traits",
    "created_at",
    "updated_at",
    "order_count",
    "total_spent",
    "refunded_amount",
    "average_order_value",
    "platforms",
)


def _create_contacts(
    session: Session, people: list[tuple[str | None, dict[str, Any]]], source: str
) -> list[int]:
    if not people:
        return []
    table = Contact.__table__
    ids = allocate_ids(session, table, len(people))
    now = time_storage(session)(utcnow())
    # Rollups start at zero; traits as JSON text, which both databases accept for an empty map.
    insert_tuples(
        session,
        table,
        _CONTACT_COLUMNS,
        [
            (
                contact_id,
                profile.get("name"),
                profile.get("phone_hint"),
                profile.get("city"),
                profile.get("province"),
                own_source or source,
                "{}",
                now,
                now,
                0,
                0,
                0,
                0,
                "",
            )
            for contact_id, (own_source, profile) in zip(ids, people, strict=True)
        ],
        rows_per_statement=INDEXED_ROWS_PER_STATEMENT,
    )
    return ids


def _add_identities(
    session: Session,
    claims: Sequence[Claim],
    contact_ids: list[int],
    existing: dict[tuple[str, str], int],
    source: str,
) -> set[int]:
    """Store the identities not held yet; returns the contacts given one that reaches a person."""
    now = time_storage(session)(utcnow())
    seen = set(existing)
    rows = []
    reachable: set[int] = set()
    for claim, contact_id in zip(claims, contact_ids, strict=True):
        for identity in claim.identities:
            if identity not in seen:
                seen.add(identity)
                rows.append((contact_id, identity[0], identity[1], claim.source or source, now))
                if identity[0] != "anonymous_id":
                    reachable.add(contact_id)
    insert_tuples(
        session,
        ContactIdentity.__table__,
        ("contact_id", "kind", "value", "source", "created_at"),
        rows,
    )
    return reachable


def _fill_profiles(
    session: Session, fills: dict[int, dict[str, Any]], memory: ImportMemory | None
) -> None:
    """Fill empty profile fields only: what a person typed in the console wins over imports."""
    table = Contact.__table__
    empty: dict[int, set[str]] = {}
    for batch in chunked(sorted(fills), 2000):
        for contact_id, *values in session.execute(
            select(table.c.id, *(table.c[key] for key in PROFILE_FIELDS)).where(
                one_of(session, table.c.id, batch)
            )
        ).all():
            stored = dict(zip(PROFILE_FIELDS, values, strict=True))
            if memory is not None:
                memory.learn(contact_id, stored)
                memory.learn(contact_id, fills[contact_id])  # set below if it was empty
            if None in values:
                empty[contact_id] = {key for key, value in stored.items() if value is None}
    for key in PROFILE_FIELDS:
        rows = [
            {key: profile[key], "id": cid}
            for cid, profile in fills.items()
            if profile.get(key) and key in empty.get(cid, ())
        ]
        update_rows(session, table, rows, where=f" AND {key} IS NULL")


def merge(
    session: Session,
    *,
    survivor: int,
    absorbed: int,
    reason: str,
    actor: str = "system",
    evidence: dict[str, Any] | None = None,
) -> None:
    """Make `absorbed` part of `survivor`, moving everything it had; its id keeps resolving."""
    if survivor == absorbed:
        return
    contact = Contact.__table__
    winner = session.execute(select(contact).where(contact.c.id == survivor)).one()
    loser = session.execute(select(contact).where(contact.c.id == absorbed)).one()
    identities = session.execute(
        select(ContactIdentity.kind, ContactIdentity.value).where(
            ContactIdentity.contact_id == absorbed
        )
    ).all()

    # The consent ledger moves too: it is the evidence of what the absorbed contact agreed to.
    for model in (ContactIdentity, ContactOrder, ContactNote, ContactConsentChange):
        session.execute(
            update(model).where(model.contact_id == absorbed).values(contact_id=survivor)
        )
    _move_tags(session, survivor, absorbed)
    _move_consents(session, survivor, absorbed)
    # Coupon codes are the person's, like their orders.
    coupons = GrowthCoupon.__table__
    session.execute(
        update(coupons).where(coupons.c.contact_id == absorbed).values(contact_id=survivor)
    )

    fill = {
        key: loser._mapping[key]
        for key in (*PROFILE_FIELDS, "owner_id")
        if winner._mapping[key] is None and loser._mapping[key] is not None
    }
    traits = {**(loser.traits or {}), **(winner.traits or {})}
    session.execute(update(contact).where(contact.c.id == survivor).values(traits=traits, **fill))

    session.execute(
        update(ContactAlias).where(ContactAlias.contact_id == absorbed).values(contact_id=survivor)
    )
    session.execute(insert(ContactAlias.__table__).values(old_id=absorbed, contact_id=survivor))
    session.add(
        ContactMerge(
            survivor_id=survivor,
            absorbed_id=absorbed,
            reason=reason,
            actor=actor,
            evidence={
                **(evidence or {}),
                "absorbed": {
                    "name": loser.name,
                    "source": loser.source,
                    "identities": [f"{k}:{v}" for k, v in identities],
                },
            },
        )
    )
    session.flush()
    session.execute(delete(contact).where(contact.c.id == absorbed))
    rollups.recompute(session, [survivor])
    pending.mark(session, [survivor, absorbed])


def _move_tags(session: Session, survivor: int, absorbed: int) -> None:
    link = ContactTagLink.__table__
    theirs = select(link.c.tag_id).where(link.c.contact_id == survivor)
    session.execute(
        update(link)
        .where(link.c.contact_id == absorbed, link.c.tag_id.not_in(theirs))
        .values(contact_id=survivor)
    )
    session.execute(delete(link).where(link.c.contact_id == absorbed))


def _move_consents(session: Session, survivor: int, absorbed: int) -> None:
    """Per channel the most recent statement wins, whichever contact it was recorded on."""
    consent = ContactConsent.__table__
    mine = {
        row.channel: row
        for row in session.execute(select(consent).where(consent.c.contact_id == survivor))
    }
    for row in session.execute(select(consent).where(consent.c.contact_id == absorbed)).all():
        current = mine.get(row.channel)
        if current is None:
            session.execute(
                update(consent).where(consent.c.id == row.id).values(contact_id=survivor)
            )
            continue
        if row.recorded_at > current.recorded_at:
            session.execute(
                update(consent)
                .where(consent.c.id == current.id)
                .values(
                    granted=row.granted,
                    source=row.source,
                    purpose=row.purpose,
                    recorded_at=row.recorded_at,
                )
            )
        session.execute(delete(consent).where(consent.c.id == row.id))
