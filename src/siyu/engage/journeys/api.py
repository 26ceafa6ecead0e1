"""REST routes for journeys; thin: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import Field

from siyu.api.deps import DbSession, Reader, Writer
from siyu.api.schemas import Body
from siyu.engage.journeys import ready, service
from siyu.engage.journeys.models import ENROLMENT_STATES
from siyu.errors import Invalid
from siyu.staff.permissions import allow

router = APIRouter(tags=["journeys"])
DEFINITION_HELP = "The journey as JSON: trigger, re_entry, goal, steps (see docs/journeys.md)"


class JourneyCreate(Body):
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    definition: dict[str, Any] = Field(description=DEFINITION_HELP)


class JourneyUpdate(Body):
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    definition: dict[str, Any] | None = Field(default=None, description=DEFINITION_HELP)


class DefinitionIn(Body):
    definition: dict[str, Any] = Field(description=DEFINITION_HELP)


class ReadyIn(Body):
    channel_id: int
    name: str | None = Field(default=None, max_length=200)


@router.get("/journeys")
def list_journeys(session: DbSession, actor: Reader) -> list[dict[str, Any]]:
    return [service.describe(session, j) for j in service.list_journeys(session, actor=actor)]


@router.post("/journeys", status_code=201)
def create_journey(body: JourneyCreate, session: DbSession, actor: Writer) -> dict[str, Any]:
    journey = service.create_journey(session, actor=actor, **body.model_dump())
    return service.describe(session, journey)


@router.post("/journeys/validate", summary="Check a definition without saving it")
def validate(body: DefinitionIn, session: DbSession, actor: Reader) -> dict[str, Any]:
    _definition, problems = service.validate(session, body.definition)
    return {"valid": not problems, "problems": [p.as_dict() for p in problems]}


@router.get("/journeys/ready", summary="The ready-made journeys one can start from")
def ready_list(actor: Reader) -> list[dict[str, str]]:
    return [
        {"key": r.key, "name": r.name, "description": r.description} for r in ready.READY.values()
    ]


@router.post("/journeys/ready/{key}", status_code=201, summary="Make a ready journey as a draft")
def ready_create(key: str, body: ReadyIn, session: DbSession, actor: Writer) -> dict[str, Any]:
    journey = ready.create_ready(
        session, actor=actor, key=key, channel_id=body.channel_id, name=body.name
    )
    return service.describe(session, journey)


@router.get("/journeys/{ref}")
def get_journey(ref: str, session: DbSession, actor: Reader) -> dict[str, Any]:
    allow(actor, "read")
    return service.describe(session, service.get_journey(session, ref))


@router.patch("/journeys/{ref}")
def update_journey(
    ref: str, body: JourneyUpdate, session: DbSession, actor: Writer
) -> dict[str, Any]:
    journey = service.get_journey(session, ref)
    service.update_journey(
        session, actor=actor, journey=journey, **body.model_dump(exclude_unset=True)
    )
    return service.describe(session, journey)


@router.delete("/journeys/{ref}", status_code=204)
def delete_journey(ref: str, session: DbSession, actor: Writer) -> Response:
    service.delete_journey(session, actor=actor, journey=service.get_journey(session, ref))
    return Response(status_code=204)


@router.post("/journeys/{ref}/validate", summary="Check a saved journey")
def validate_saved(ref: str, session: DbSession, actor: Reader) -> dict[str, Any]:
    journey = service.get_journey(session, ref)
    _definition, problems = service.validate(session, journey.definition)
    return {"valid": not problems, "problems": [p.as_dict() for p in problems]}


@router.post("/journeys/{ref}/activate", summary="Switch on (only a valid journey)")
def activate(ref: str, session: DbSession, actor: Writer) -> dict[str, Any]:
    journey = service.activate(session, actor=actor, journey=service.get_journey(session, ref))
    return service.describe(session, journey)


@router.post("/journeys/{ref}/pause", summary="Stop enrolling and advancing")
def pause(ref: str, session: DbSession, actor: Writer) -> dict[str, Any]:
    journey = service.pause(session, actor=actor, journey=service.get_journey(session, ref))
    return service.describe(session, journey)


@router.post("/journeys/{ref}/archive", summary="End it; whoever is in leaves")
def archive(ref: str, session: DbSession, actor: Writer) -> dict[str, Any]:
    journey = service.archive(session, actor=actor, journey=service.get_journey(session, ref))
    return service.describe(session, journey)


@router.get("/journeys/{ref}/stats", summary="Per step: entered, completed, waiting, sent …")
def stats(ref: str, session: DbSession, actor: Reader) -> dict[str, Any]:
    allow(actor, "read")
    return service.stats(session, service.get_journey(session, ref))


@router.get("/journeys/{ref}/enrolments", summary="Who is or was in it, newest first")
def enrolments(
    ref: str,
    session: DbSession,
    actor: Reader,
    state: str | None = Query(default=None),
    before: int | None = Query(default=None, description="The last id of the previous page"),
    limit: int = Query(default=50, ge=1, le=500),
) -> list[dict[str, Any]]:
    allow(actor, "read")
    if state is not None and state not in ENROLMENT_STATES:
        raise Invalid(f"state must be one of {', '.join(ENROLMENT_STATES)}")
    journey = service.get_journey(session, ref)
    return service.enrolments(session, journey=journey, state=state, before=before, limit=limit)
