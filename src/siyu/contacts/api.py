"""REST routes for contacts and orders; thin: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from siyu.api.deps import DbSession, Reader, Writer
from siyu.contacts import service
from siyu.contacts.schemas import (
    ConsentIn,
    ContactCreate,
    ContactUpdate,
    IdentityIn,
    NoteIn,
    PageOut,
    TagsIn,
)

router = APIRouter(tags=["contacts"])
REF = "An id (old merged ids resolve to the survivor) or `kind:value`, e.g. `phone:13800138000`"


@router.get("/contacts", response_model=PageOut)
def list_contacts(
    session: DbSession,
    _actor: Reader,
    q: str | None = Query(None, description="Name, phone, e-mail or any identity value"),
    tag: str | None = Query(None, description="`name` or `group:name`"),
    identity: str | None = Query(None, description="`kind:value`"),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    page = service.list_contacts(
        session, text=q, tag=tag, identity=identity, limit=limit, cursor=cursor
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/contacts", status_code=201)
def create_contact(body: ContactCreate, session: DbSession, actor: Writer) -> dict[str, Any]:
    contact = service.create_contact(session, actor=actor, **body.model_dump())
    return service.profile(session, contact)


@router.get("/contacts/{ref}", summary="The customer 360")
def get_contact(ref: str, session: DbSession, _actor: Reader) -> dict[str, Any]:
    return service.profile(session, service.get_by_ref(session, ref))


@router.patch("/contacts/{ref}")
def update_contact(
    ref: str, body: ContactUpdate, session: DbSession, actor: Writer
) -> dict[str, Any]:
    contact = service.get_by_ref(session, ref)
    service.update_contact(
        session, contact=contact, actor=actor, changes=body.model_dump(exclude_unset=True)
    )
    return service.profile(session, contact)


@router.post("/contacts/{ref}/identities")
def add_identity(ref: str, body: IdentityIn, session: DbSession, actor: Writer) -> dict[str, Any]:
    contact = service.add_identity(
        session, contact=service.get_by_ref(session, ref), ref=body.identity, actor=actor
    )
    return service.profile(session, contact)


@router.delete("/contacts/{ref}/identities/{identity}", status_code=204)
def remove_identity(ref: str, identity: str, session: DbSession, actor: Writer) -> Response:
    service.remove_identity(
        session, contact=service.get_by_ref(session, ref), ref=identity, actor=actor
    )
    return Response(status_code=204)


@router.post("/contacts/{ref}/tags")
def add_tags(ref: str, body: TagsIn, session: DbSession, actor: Writer) -> dict[str, Any]:
    contact = service.get_by_ref(session, ref)
    service.add_tags(session, contact=contact, tags=body.tags, actor=actor)
    return service.profile(session, contact)


@router.delete("/contacts/{ref}/tags/{tag}", status_code=204)
def remove_tag(ref: str, tag: str, session: DbSession, actor: Writer) -> Response:
    service.remove_tag(session, contact=service.get_by_ref(session, ref), tag=tag, actor=actor)
    return Response(status_code=204)


@router.get("/contacts/{ref}/notes")
def list_notes(ref: str, session: DbSession, _actor: Reader) -> list[dict[str, Any]]:
    return service.profile(session, service.get_by_ref(session, ref), recent_orders=0)["notes"]


@router.post("/contacts/{ref}/notes", status_code=201)
def add_note(ref: str, body: NoteIn, session: DbSession, actor: Writer) -> dict[str, Any]:
    note = service.add_note(
        session, contact=service.get_by_ref(session, ref), body=body.body, actor=actor
    )
    return {"id": note.id, "body": note.body, "author": note.author}


@router.put("/contacts/{ref}/consents/{channel}")
def set_consent(
    ref: str, channel: str, body: ConsentIn, session: DbSession, actor: Writer
) -> list[dict[str, Any]]:
    contact = service.get_by_ref(session, ref)
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


@router.get("/contacts/{ref}/orders", response_model=PageOut)
def contact_orders(
    ref: str,
    session: DbSession,
    _actor: Reader,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    contact = service.get_by_ref(session, ref)
    page = service.list_orders(session, contact_id=contact.id, limit=limit, cursor=cursor)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/orders", response_model=PageOut, tags=["orders"])
def list_orders(
    session: DbSession,
    _actor: Reader,
    platform: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    page = service.list_orders(session, platform=platform, limit=limit, cursor=cursor)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/orders/{order_id}", tags=["orders"])
def get_order(order_id: int, session: DbSession, _actor: Reader) -> dict[str, Any]:
    return service.get_order(session, order_id)
