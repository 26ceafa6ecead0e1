"""Enrolling contacts and walking them through the steps, a batch at a time.

`advance` claims the due enrolments (FOR UPDATE SKIP LOCKED on PostgreSQL, so any number of
workers share the table; SQLite has one writer), and walks each batch step by step together:
every contact at the same step is handled by one statement where it can be (a branch is one
query, a tag one insert), until each one waits, finishes or reaches the goal. Everything a
pass does is in the caller's transaction, so a crash leaves nothing half done; the message key
journey:{journey}:{step}:{contact}:{run} means a pass run again never sends twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.contacts.lifecycle import usual_gap_days
from siyu.contacts.models import Contact, ContactTagLink
from siyu.contacts.tags import ensure_tags, find_tag, link_tags, parse_tag
from siyu.engage.journeys import conditions
from siyu.engage.journeys.definition import (
    AssignOwnerStep,
    BranchStep,
    Definition,
    ExitStep,
    IssueCouponStep,
    Plan,
    SendStep,
    TagStep,
    WaitStep,
    WaitUntilStep,
    WebhookStep,
    next_at_time,
    parse_duration,
    plan,
    read,
)
from siyu.engage.journeys.models import (
    LIVE_STATES,
    EngageJourney,
    EngageJourneyCursor,
    EngageJourneyEnrolment,
    EngageJourneyStepLog,
)
from siyu.engage.messages import create_message, journey_key
from siyu.engage.models import EngageContent, EngageMessage
from siyu.errors import Conflict, NotFound
from siyu.growth.coupons import issuing
from siyu.growth.coupons import service as coupons
from siyu.kit.actor import Actor
from siyu.kit.chunks import chunked
from siyu.kit.timeutil import parse_time
from siyu.segments import pending
from siyu.staff.models import StaffUser

ENROLMENT = EngageJourneyEnrolment.__table__
LOG = EngageJourneyStepLog.__table__
# Enrolments claimed per pass: large enough for tens of thousands a minute, small enough that
# one pass is a short transaction.
BATCH = 1000
# Steps one enrolment may take in a pass; a definition has no loops, so this only bounds a
# very long list of instant steps (the rest go on in the next pass).
MAX_STEPS_PER_PASS = 100


@dataclass
class Walk:
    """One claimed enrolment, as the pass moves it."""

    id: int
    contact_id: int
    run: int
    state: str
    step: str | None
    entered_at: datetime
    wake_at: datetime | None = None
    finished_at: datetime | None = None
    exit_reason: str | None = None


# ---------------------------------------------------------------- enrolling


def enrol(
    session: Session, *, journey: EngageJourney, contact_ids: Iterable[int], now: datetime
) -> int:
    """Start the journey for these contacts as its re-entry rule allows; returns how many.

    A contact walks a journey once at a time. One still walking whose goal now holds (a new
    order, for a reorder reminder) is finished first, so the same order can start the next run.
    """
    definition = read(journey.definition)
    steps = plan(definition)
    entered = 0
    for batch in chunked(sorted(set(contact_ids)), 1000):
        present = set(session.scalars(select(Contact.id).where(Contact.id.in_(batch))))
        if not present:
            continue
        history = _history(session, journey.id, sorted(present))
        live = [row["live_id"] for row in history.values() if row["live_id"] is not None]
        reached = conditions.goal_reached(
            session,
            goal=definition.goal,
            new_order=definition.goal_new_order,
            enrolment_ids=live,
            now=now,
        )
        if reached:
            _finish_reached(session, journey.id, sorted(reached), now)
        rows = []
        for contact_id in sorted(present):
            past = history.get(contact_id)
            if past is not None and not _may_enter(definition, past, reached, now):
                continue
            rows.append(
                {
                    "journey_id": journey.id,
                    "contact_id": contact_id,
                    "run": (past["runs"] if past else 0) + 1,
                    "state": "active",
                    "step": steps.first,
                    "wake_at": now,
                    "version": journey.version,
                    "entered_at": now,
                }
            )
        if rows:
            session.execute(insert(ENROLMENT), rows)
            entered += len(rows)
    return entered


def _history(
    session: Session, journey_id: int, contact_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    e = EngageJourneyEnrolment
    live = func.max(case((e.state.in_(LIVE_STATES), e.id), else_=None))
    rows = session.execute(
        select(e.contact_id, func.max(e.run), func.max(e.entered_at), live)
        .where(e.journey_id == journey_id, e.contact_id.in_(contact_ids))
        .group_by(e.contact_id)
    )
    return {
        contact_id: {"runs": runs, "last_entered_at": last, "live_id": live_id}
        for contact_id, runs, last, live_id in rows
    }


def _may_enter(
    definition: Definition, past: dict[str, Any], reached: set[int], now: datetime
) -> bool:
    if past["live_id"] is not None and past["live_id"] not in reached:
        return False
    rule = definition.re_entry
    if rule.mode == "never":
        return False
    if rule.mode == "after":
        last = past["last_entered_at"]
        return last is None or last <= now - timedelta(days=rule.days or 0)
    return True


def _finish_reached(
    session: Session, journey_id: int, enrolment_ids: list[int], now: datetime
) -> None:
    steps = dict(
        session.execute(
            select(EngageJourneyEnrolment.id, EngageJourneyEnrolment.step).where(
                EngageJourneyEnrolment.id.in_(enrolment_ids)
            )
        ).all()
    )
    session.execute(
        update(EngageJourneyEnrolment)
        .where(EngageJourneyEnrolment.id.in_(enrolment_ids))
        .values(state="goal_reached", finished_at=now, wake_at=None)
    )
    session.execute(
        insert(LOG),
        [
            {
                "enrolment_id": i,
                "journey_id": journey_id,
                "step": steps.get(i) or "",
                "outcome": "goal_reached",
                "at": now,
            }
            for i in enrolment_ids
        ],
    )


def sweep_goals(session: Session, *, journey: EngageJourney, now: datetime) -> int:
    """End the waiting enrolments whose goal holds now, so a goal reached during a long wait
    shows at once rather than when the wait is over; returns how many."""
    definition = read(journey.definition)
    if not definition.goal and not definition.goal_new_order:
        return 0
    done = 0
    last_id = 0
    while True:
        ids = list(
            session.scalars(
                select(EngageJourneyEnrolment.id)
                .where(
                    EngageJourneyEnrolment.journey_id == journey.id,
                    EngageJourneyEnrolment.state == "waiting",
                    EngageJourneyEnrolment.id > last_id,
                )
                .order_by(EngageJourneyEnrolment.id)
                .limit(5000)
            )
        )
        if not ids:
            return done
        last_id = ids[-1]
        reached = conditions.goal_reached(
            session,
            goal=definition.goal,
            new_order=definition.goal_new_order,
            enrolment_ids=ids,
            now=now,
        )
        if reached:
            _finish_reached(session, journey.id, sorted(reached), now)
            done += len(reached)


# ---------------------------------------------------------------- advancing


def claim(session: Session, *, now: datetime, limit: int = BATCH) -> list[Any]:
    e = EngageJourneyEnrolment
    query = (
        select(e.id, e.journey_id, e.contact_id, e.run, e.state, e.step, e.entered_at)
        .join(EngageJourney, EngageJourney.id == e.journey_id)
        .where(e.state.in_(LIVE_STATES), e.wake_at <= now, EngageJourney.state == "active")
        .order_by(e.wake_at, e.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=e.__table__, skip_locked=True)
    return list(session.execute(query).all())


def advance(session: Session, *, now: datetime, limit: int = BATCH) -> int:
    """Walk the due enrolments as far as they go now; returns how many were looked at."""
    rows = claim(session, now=now, limit=limit)
    if not rows:
        return 0
    groups: dict[int, list[Walk]] = defaultdict(list)
    for row in rows:
        groups[row.journey_id].append(
            Walk(row.id, row.contact_id, row.run, row.state, row.step, row.entered_at)
        )
    for journey_id, walks in groups.items():
        journey = session.get_one(EngageJourney, journey_id)
        _Pass(session, journey, now).walk(walks)
    return len(rows)


class _Pass:
    def __init__(self, session: Session, journey: EngageJourney, now: datetime) -> None:
        self.session = session
        self.journey = journey
        self.now = now
        self.definition = read(journey.definition)
        self.plan: Plan = plan(self.definition)
        self.logs: list[dict[str, Any]] = []
        self._contents: dict[str, int] | None = None

    def log(self, walks: Iterable[Walk], step: str, outcome: str) -> None:
        self.logs.extend(
            {
                "enrolment_id": w.id,
                "journey_id": self.journey.id,
                "step": step,
                "outcome": outcome,
                "at": self.now,
            }
            for w in walks
        )

    def finish(self, walk: Walk, state: str, reason: str | None = None) -> None:
        walk.state, walk.finished_at, walk.wake_at, walk.exit_reason = state, self.now, None, reason

    def walk(self, walks: list[Walk]) -> None:
        for w in walks:
            if w.step is not None and w.step not in self.plan.steps:
                self.log([w], w.step, "exited")
                self.finish(w, "exited", f"step {w.step} was removed from the journey")
            elif w.state == "waiting":
                # The wait is over: it counts as done, and the next step is due.
                self.log([w], w.step or "", "waited")
                w.state, w.step = "active", self.plan.following.get(w.step or "")
        for _ in range(MAX_STEPS_PER_PASS):
            moving = [w for w in walks if w.state == "active"]
            if not moving:
                break
            for w in moving:
                if w.step is None:
                    self.finish(w, "completed")
            moving = [w for w in moving if w.state == "active"]
            reached = conditions.goal_reached(
                self.session,
                goal=self.definition.goal,
                new_order=self.definition.goal_new_order,
                enrolment_ids=[w.id for w in moving],
                now=self.now,
            )
            by_step: dict[str, list[Walk]] = defaultdict(list)
            for w in moving:
                if w.id in reached:
                    self.log([w], w.step or "", "goal_reached")
                    self.finish(w, "goal_reached")
                else:
                    by_step[w.step or ""].append(w)
            for step_id, group in by_step.items():
                self.log(group, step_id, "entered")
                try:
                    self.run(self.plan.steps[step_id], group)
                except _StepFailed as failure:
                    self.log(group, step_id, "failed")
                    for w in group:
                        self.finish(w, "failed", str(failure))
        for w in walks:
            if w.state == "active":
                w.wake_at = self.now  # the rest of a long list of steps: next pass
        self.save(walks)

    def save(self, walks: list[Walk]) -> None:
        table = ENROLMENT
        self.session.execute(
            update(table)
            .where(table.c.id == bindparam("walk_id"))
            .values(
                state=bindparam("state"),
                step=bindparam("step"),
                wake_at=bindparam("wake_at"),
                finished_at=bindparam("finished_at"),
                exit_reason=bindparam("exit_reason"),
                version=bindparam("version"),
            )
            .execution_options(synchronize_session=False),
            [
                {
                    "walk_id": w.id,
                    "state": w.state,
                    "step": w.step,
                    "wake_at": w.wake_at,
                    "finished_at": w.finished_at,
                    "exit_reason": w.exit_reason,
                    "version": self.journey.version,
                }
                for w in walks
            ],
        )
        for batch in chunked(self.logs, 5000):
            self.session.execute(insert(LOG), batch)

    def next(self, walks: Iterable[Walk], step_id: str) -> None:
        following = self.plan.following[step_id]
        for w in walks:
            w.step = following

    # ------------------------------------------------------------ steps

    def run(self, step: Any, walks: list[Walk]) -> None:
        if isinstance(step, SendStep):
            self.message(step.id, walks, channel_id=step.channel_id, category=step.category)
            return self.next(walks, step.id)
        if isinstance(step, WebhookStep):
            self.message(step.id, walks, channel_id=step.channel_id, category="transactional")
            return self.next(walks, step.id)
        if isinstance(step, WaitStep):
            wake = self.now + parse_duration(step.duration)
            for w in walks:
                w.state, w.wake_at = "waiting", wake
            return None
        if isinstance(step, WaitUntilStep):
            return self.wait_until(step, walks)
        if isinstance(step, BranchStep):
            yes = conditions.matching(
                self.session, step.condition, [w.contact_id for w in walks], now=self.now
            )
            after = self.plan.following[step.id]
            for w in walks:
                taken = step.yes if w.contact_id in yes else step.no
                w.step = self.plan.first_of(taken, after)
            self.log([w for w in walks if w.contact_id in yes], step.id, "branch_yes")
            self.log([w for w in walks if w.contact_id not in yes], step.id, "branch_no")
            return None
        if isinstance(step, TagStep):
            self.tag(step, walks)
            return self.next(walks, step.id)
        if isinstance(step, AssignOwnerStep):
            self.assign(step, walks)
            return self.next(walks, step.id)
        if isinstance(step, IssueCouponStep):
            self.issue_coupon(step, walks)
            return self.next(walks, step.id)
        if isinstance(step, ExitStep):
            self.log(walks, step.id, "exited")
            for w in walks:
                self.finish(w, "exited", step.reason or "exit step")
            return None
        raise _StepFailed(f"unknown step type {type(step).__name__}")

    def content_id(self, step_id: str) -> int:
        if self._contents is None:
            self._contents = dict(
                self.session.execute(
                    select(EngageContent.step, EngageContent.id).where(
                        EngageContent.journey_id == self.journey.id
                    )
                ).all()
            )
        found = self._contents.get(step_id)
        if found is None:
            raise _StepFailed(f"step {step_id} has no message content; switch the journey on again")
        return found

    def message(self, step_id: str, walks: list[Walk], *, channel_id: int, category: str) -> None:
        content_id = self.content_id(step_id)
        keys = {w.id: journey_key(self.journey.id, step_id, w.contact_id, w.run) for w in walks}
        # Keys queued by an earlier pass (one that crashed after sending its messages' rows to
        # the dispatcher, or a version of the journey before an edit) are looked up together.
        queued = set(
            self.session.scalars(
                select(EngageMessage.key).where(EngageMessage.key.in_(list(keys.values())))
            )
        )
        sent, again = [], []
        for w in walks:
            key = keys[w.id]
            made = None
            if key not in queued:
                made = create_message(
                    self.session,
                    key=key,
                    contact_id=w.contact_id,
                    channel_id=channel_id,
                    content_id=content_id,
                    category=category,
                    journey_id=self.journey.id,
                    send_after=self.now,
                )
            (sent if made is not None else again).append(w)
        self.log(sent, step_id, "sent")
        self.log(again, step_id, "already_sent")

    def wait_until(self, step: WaitUntilStep, walks: list[Walk]) -> None:
        zone = get_settings().zone
        contacts = {}
        if step.field is not None:
            rows = self.session.execute(
                select(
                    Contact.id,
                    Contact.last_order_at,
                    Contact.first_order_at,
                    Contact.created_at,
                    Contact.order_count,
                    Contact.traits,
                ).where(Contact.id.in_([w.contact_id for w in walks]))
            )
            contacts = {row.id: row for row in rows}
        offset = parse_duration(step.offset, signed=True) if step.offset else timedelta(0)
        done = []
        for w in walks:
            target = self.target(step, contacts.get(w.contact_id), offset, zone)
            if target is None or target <= self.now:
                done.append(w)
            else:
                w.state, w.wake_at = "waiting", target
        # A time already past (or a contact without the date) goes on at once.
        self.log(done, step.id, "waited")
        self.next(done, step.id)

    def target(
        self, step: WaitUntilStep, contact: Any, offset: timedelta, zone: Any
    ) -> datetime | None:
        if step.at is not None:
            base: datetime | None = step.at
        elif step.field is not None:
            if contact is None:
                return None
            base = _date_of(contact, step.field)
            if base is None:
                return None
            if step.plus_usual_gap:
                gap = usual_gap_days(
                    contact.order_count, contact.first_order_at, contact.last_order_at
                )
                base += timedelta(days=gap)
            base += offset
        else:
            base = self.now
        if step.time is not None:
            moved = next_at_time(base, step.time, zone)
            if step.at is None and step.field is None and moved <= self.now:
                moved = next_at_time(base + timedelta(days=1), step.time, zone)
            return moved
        return base

    def tag(self, step: TagStep, walks: list[Walk]) -> None:
        ids = sorted({w.contact_id for w in walks})
        actor = f"journey:{self.journey.name}"[:64]
        if step.type == "tag_add":
            pair = parse_tag(step.tag)
            tag_id = ensure_tags(self.session, [pair])[pair]
            link_tags(self.session, [(c, tag_id) for c in ids], source="rule", actor=actor)
            self.log(walks, step.id, "tagged")
            return
        found = find_tag(self.session, step.tag)
        if found is not None:
            for batch in chunked(ids, 1000):
                self.session.execute(
                    delete(ContactTagLink).where(
                        ContactTagLink.tag_id == found, ContactTagLink.contact_id.in_(batch)
                    )
                )
            pending.mark(self.session, ids)
        self.log(walks, step.id, "untagged")

    def issue_coupon(self, step: IssueCouponStep, walks: list[Walk]) -> None:
        """A code per walk: the step's reference holds the run, so a pass run again (or a
        crash before saving) finds the code it gave. No stock or a contact at its limit lets
        the walk go on without one; the log says so."""
        try:
            coupon = coupons.get_definition(self.session, step.coupon)
        except NotFound as error:
            raise _StepFailed(error.message) from None
        actor = Actor(f"journey:{self.journey.name}"[:64])
        runs: dict[int, list[Walk]] = defaultdict(list)
        for w in walks:
            runs[w.run].append(w)
        for run, group in runs.items():
            try:
                result = issuing.issue(
                    self.session,
                    actor=actor,
                    coupon=coupon,
                    contact_ids=[w.contact_id for w in group],
                    source="journey",
                    source_ref=f"journey:{self.journey.id}:{step.id}:{run}",
                    now=self.now,
                )
            except Conflict:  # paused, archived or past its dates
                self.log(group, step.id, "coupon_not_issued")
                continue
            self.log([w for w in group if w.contact_id in result.codes], step.id, "coupon_issued")
            self.log(
                [w for w in group if w.contact_id in result.already],
                step.id,
                "coupon_already_issued",
            )
            left = set(result.at_limit) | set(result.out_of_stock)
            self.log([w for w in group if w.contact_id in left], step.id, "coupon_not_issued")

    def assign(self, step: AssignOwnerStep, walks: list[Walk]) -> None:
        staff = self.session.execute(
            select(StaffUser.id, StaffUser.login, StaffUser.role)
            .where(StaffUser.disabled_at.is_(None))
            .order_by(StaffUser.id)
        ).all()
        if step.owner != "round_robin":
            chosen = [row.id for row in staff if row.login == step.owner]
            if not chosen:
                raise _StepFailed(f"{step.owner} is no active staff login")
            owners = {w.contact_id: chosen[0] for w in walks}
        else:
            # Sales staff take turns; with none, anyone active does. The turn is kept in a
            # cursor row so batches and workers carry on where the last one stopped.
            people = [row.id for row in staff if row.role == "staff"] or [row.id for row in staff]
            if not people:
                raise _StepFailed("there is no active staff member to assign customers to")
            turn = _take_turns(
                self.session, f"round_robin:{self.journey.id}:{step.id}", len(walks), self.now
            )
            owners = {w.contact_id: people[(turn + n) % len(people)] for n, w in enumerate(walks)}
        table = Contact.__table__
        self.session.execute(
            update(table)
            .where(table.c.id == bindparam("contact"))
            .values(owner_id=bindparam("owner"))
            .execution_options(synchronize_session=False),
            [{"contact": c, "owner": o} for c, o in owners.items()],
        )
        pending.mark(self.session, list(owners))
        self.log(walks, step.id, "assigned")


class _StepFailed(Exception):
    pass


def _date_of(contact: Any, field: str) -> datetime | None:
    if field.startswith("traits."):
        value = (contact.traits or {}).get(field.removeprefix("traits."))
        if not isinstance(value, str):
            return None
        try:
            return parse_time(value)
        except ValueError:
            return None
    return getattr(contact, field)  # type: ignore[no-any-return]


def _take_turns(session: Session, name: str, count: int, now: datetime) -> int:
    """The cursor's position before moving it on by `count`."""
    row = session.get(EngageJourneyCursor, name, with_for_update=True)
    if row is None:
        row = EngageJourneyCursor(name=name, position=0, updated_at=now)
        session.add(row)
    position = int(row.position or 0)
    row.position, row.updated_at = position + count, now
    session.flush()
    return position
