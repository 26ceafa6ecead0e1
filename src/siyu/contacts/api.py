"""REST routes for contacts and orders; thin: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from siyu.api.deps import DbSession, Id, Reader, Writer
from siyu.contacts import consent, orders, search, service
from siyu.contacts.models import Contact
from siyu.contacts.schemas import (
    ConsentChangeIn,
    ConsentIn,
    ContactCreate,
    ContactUpdate,
    IdentityIn,
    NoteIn,
    PageOut,
    TagsIn,
)
from siyu.kit.actor import Actor

router = APIRouter(tags=["contacts"])
Ref = Annotated[
    str,
    Path(
        description="An id (old merged ids resolve to the survivor) or `kind:value`, "
        "e.g. `phone:13800138000`"
    ),
]


def contact_by_ref(session: Session, ref: str, actor: Actor) -> Contact:
    return service.get_by_ref(session, ref, actor)


@router.get("/contacts", response_model=PageOut)
def list_contacts(
    session: DbSession,
    actor: Reader,
    q: str | None = Query(None, description="Name, phone, e-mail or any identity value"),
    tag: str | None = Query(None, description="`name` or `group:name`"),
    identity: str | None = Query(None, description="`kind:value`"),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    page = search.list_contacts(
        session, text=q, tag=tag, identity=identity, limit=limit, cursor=cursor, actor=actor
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/contacts", status_code=201)
def create_contact(body: ContactCreate, session: DbSession, actor: Writer) -> dict[str, Any]:
    contact = service.create_contact(session, actor=actor, **body.model_dump())
    return service.profile(session, contact)


@router.get("/contacts/{ref}", summary="The customer 360")
def get_contact(ref: Ref, session: DbSession, actor: Reader) -> dict[str, Any]:
    return service.profile(session, contact_by_ref(session, ref, actor))


@router.patch("/contacts/{ref}")
def update_contact(
    ref: Ref, body: ContactUpdate, session: DbSession, actor: Writer
) -> dict[str, Any]:
    contact = contact_by_ref(session, ref, actor)
    service.update_contact(
        session, contact=contact, actor=actor, changes=body.model_dump(exclude_unset=True)
    )
    return service.profile(session, contact)


@router.post("/contacts/{ref}/identities")
def add_identity(ref: Ref, body: IdentityIn, session: DbSession, actor: Writer) -> dict[str, Any]:
    contact = service.add_identity(
        session, contact=contact_by_ref(session, ref, actor), ref=body.identity, actor=actor
    )
    return service.profile(session, contact)


@router.delete("/contacts/{ref}/identities/{identity}", status_code=204)
def remove_identity(ref: Ref, identity: str, session: DbSession, actor: Writer) -> Response:
    service.remove_identity(
        session, contact=contact_by_ref(session, ref, actor), ref=identity, actor=actor
    )
    return Response(status_code=204)


@router.post("/contacts/{ref}/tags")
def add_tags(ref: Ref, body: TagsIn, session: DbSession, actor: Writer) -> dict[str, Any]:
    contact = contact_by_ref(session, ref, actor)
    service.add_tags(session, contact=contact, tags=body.tags, actor=actor)
    return service.profile(session, contact)


@router.delete("/contacts/{ref}/tags/{tag}", status_code=204)
def remove_tag(ref: Ref, tag: str, session: DbSession, actor: Writer) -> Response:
    service.remove_tag(session, contact=contact_by_ref(session, ref, actor), tag=tag, actor=actor)
    return Response(status_code=204)


@router.get("/contacts/{ref}/notes")
def list_notes(ref: Ref, session: DbSession, actor: Reader) -> list[dict[str, Any]]:
    return service.profile(session, contact_by_ref(session, ref, actor), recent_orders=0)["notes"]


@router.post("/contacts/{ref}/notes", status_code=201)
def add_note(ref: Ref, body: NoteIn, session: DbSession, actor: Writer) -> dict[str, Any]:
    note = service.add_note(
        session, contact=contact_by_ref(session, ref, actor), body=body.body, actor=actor
    )
    return {"id": note.id, "body": note.body, "author": note.author}


@router.put("/contacts/{ref}/consents/{channel}")
def set_consent(
    ref: Ref, channel: str, body: ConsentIn, session: DbSession, actor: Writer
) -> list[dict[str, Any]]:
    contact = contact_by_ref(session, ref, actor)
    service.set_consent(
        session,
        contact=contact,
        channel=channel,
        granted=body.granted,
        purpose=body.purpose,
        source=body.source,
        actor=actor,
    )
    return service.profile(session, contact, recent_orders=0)["consents"]


def _consent_state(session: Session, contact: Contact) -> dict[str, Any]:
    return {
        "contact_id": contact.id,
        "current": consent.current(session, contact.id),
        "history": consent.history(session, contact.id),
    }


@router.get("/contacts/{ref}/consent", summary="Consent per channel and its ledger")
def get_consent(ref: Ref, session: DbSession, actor: Reader) -> dict[str, Any]:
    """The consent on record per channel, and every change of it, newest first."""
    return _consent_state(session, contact_by_ref(session, ref, actor))


@router.post("/contacts/{ref}/consent", summary="Grant or withdraw consent on one channel")
def change_consent(
    ref: Ref, body: ConsentChangeIn, session: DbSession, actor: Writer
) -> dict[str, Any]:
    """`changed` is false when the statement repeats what is on record: no ledger row then."""
    contact = contact_by_ref(session, ref, actor)
    changed = consent.change_consent(
        session,
        contact=contact,
        channel=body.channel,
        granted=body.granted,
        purpose=body.purpose,
        source="api",
        actor=actor,
    )
    return {"changed": changed, **_consent_state(session, contact)}


@router.get("/contacts/{ref}/orders", response_model=PageOut)
def contact_orders(
    ref: Ref,
    session: DbSession,
    actor: Reader,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    contact = contact_by_ref(session, ref, actor)
    page = orders.list_orders(session, contact_id=contact.id, limit=limit, cursor=cursor)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/orders", response_model=PageOut, tags=["orders"])
def list_orders(
    session: DbSession,
    actor: Reader,
    platform: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    page = orders.list_orders(session, platform=platform, limit=limit, cursor=cursor, actor=actor)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/orders/{order_id}", tags=["orders"])
def get_order(order_id: Id, session: DbSession, actor: Reader) -> dict[str, Any]:
    return orders.get_order(session, order_id, actor)
