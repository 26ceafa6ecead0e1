"""Segments in the console: the list, the builder (rows that read like sentences, or the raw
text), a live count with a sample of members, and each segment's members and history.

The builder posts its whole form for every structural change (add or remove a row, switch to
text and back), so it works without JavaScript; with HTMX, changing a row's kind redraws the
editor in place and the count follows typing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from siyu.analytics.rfm import SEGMENT_NAMES
from siyu.console.labels import N_
from siyu.console.page import Page, SignedIn, toast
from siyu.contacts.models import CONSENT_CHANNELS, LIFECYCLE_STAGES
from siyu.errors import Conflict, Forbidden, Invalid, NotFound, SiyuError
from siyu.segments import builder, service
from siyu.segments import export as exporting
from siyu.segments.fields import IDENTITY_GROUPS
from siyu.segments.language import QueryError, parse, to_text
from siyu.segments.models import Segment
from siyu.staff.permissions import ACTIONS

router = APIRouter()

KINDS = {
    "total_spent": N_("Total spent (¥)"),
    "order_count": N_("Number of orders"),
    "average_order_value": N_("Average order value (¥)"),
    "refunded_amount": N_("Refunded (¥)"),
    "last_order_at": N_("Last order"),
    "first_order_at": N_("First order"),
    "orders.count": N_("Orders in a period"),
    "orders.sum": N_("Spent in a period (¥)"),
    "events.count": N_("Times an event happened"),
    "tag": N_("Has tag"),
    "has": N_("Has identity"),
    "consent": N_("Consented to"),
    "in_segment": N_("In segment"),
    "stage": N_("Lifecycle stage"),
    "rfm.segment": N_("RFM segment"),
    "rfm.score": N_("RFM score"),
    "clv.p_alive": N_("Probability still a customer (0–1)"),
    "clv.expected_purchases": N_("Expected purchases"),
    "clv.expected_spend": N_("Expected spend per purchase (¥)"),
    "clv.value": N_("Lifetime value (¥)"),
    "platforms": N_("Bought on"),
    "city": N_("City"),
    "province": N_("Province"),
    "name": N_("Name"),
    "source": N_("First source"),
    "channel_code": N_("Channel code"),
    "owner": N_("Owner (staff login)"),
    "created_at": N_("Joined the pool"),
}
OPERATORS = {
    "=": N_("is"),
    "!=": N_("is not"),
    "contains": N_("contains"),
    "is_set": N_("is filled in"),
    "is_not_set": N_("is empty"),
    ">=": N_("at least"),
    ">": N_("more than"),
    "<=": N_("at most"),
    "<": N_("less than"),
    "within_days": N_("within the last (days)"),
    "before_days": N_("more than … days ago"),
}
CHANNELS = {
    "email": N_("E-mail"),
    "sms": N_("SMS"),
    "wecom": N_("WeCom"),
    "wechat_oa": N_("WeChat Official Account"),
}
KIND_NAMES = {"static": N_("Static list"), "dynamic": N_("Kept current")}
EXIT_REASONS = {
    "left": N_("No longer matched"),
    "merged": N_("Merged into another customer"),
    "removed": N_("Taken off the list"),
    "segment_changed": N_("The segment was redefined"),
}


def _may_edit(page: Page) -> bool:
    return "segment" in ACTIONS.get(page.actor.role, frozenset())


def _find(page: Page, segment_id: int) -> Segment:
    segment = page.session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(page.gettext("There is no such segment."))
    return segment


@router.get("/segments")
def list_page(page: SignedIn) -> Response:
    segments = service.list_segments(page.session, actor=page.actor)
    return page.render(
        "segments/list.html",
        segments=segments,
        kind_names=KIND_NAMES,
        may_edit=_may_edit(page),
    )


# ---------------------------------------------------------------- the editor


class Editor:
    """What the builder form holds, read from a post or from a stored segment."""

    def __init__(self) -> None:
        self.name = self.description = self.tag = ""
        self.mode = "builder"
        self.join = "all"
        self.rows: list[builder.Row] = [builder.Row()]
        self.query = ""
        self.error: str | None = None

    @classmethod
    async def posted(cls, request: Request) -> Editor:
        form = await request.form()
        editor = cls()
        text = {key: str(form.get(key) or "") for key in ("name", "description", "tag", "query")}
        editor.name, editor.description = text["name"], text["description"]
        editor.tag, editor.query = text["tag"], text["query"]
        editor.mode = "text" if form.get("mode") == "text" else "builder"
        editor.join = "any" if form.get("join") == "any" else "all"
        negated = {str(v) for v in form.getlist("negate")}
        kinds = [str(v) for v in form.getlist("kind")]
        columns = {
            key: [str(v) for v in form.getlist(key)] for key in ("op", "value", "days", "event")
        }
        editor.rows = []
        for index, kind in enumerate(kinds):

            def at(key: str, index: int = index) -> str:
                values = columns[key]
                return values[index] if index < len(values) else ""

            row = builder.Row(kind, at("op"), at("value"), at("days"), at("event"))
            row.negate = str(index) in negated
            allowed = builder.operators(kind) or ("",)
            if row.op not in allowed:
                # The row changed kind: start its comparison and value afresh.
                row.op, row.value = allowed[0], ""
            editor.rows.append(row)
        return editor

    @classmethod
    def stored(cls, segment: Segment, tag: str | None) -> Editor:
        editor = cls()
        editor.name, editor.description = segment.name, segment.description or ""
        editor.tag = tag or ""
        editor.query = segment.query or ""
        shown = builder.rows_from(segment.definition) if segment.definition else None
        if shown is None:
            editor.mode = "text"
        else:
            editor.join, editor.rows = shown
        return editor

    def definition(self) -> dict[str, Any]:
        if self.mode == "text":
            return parse(self.query)
        return builder.node_from(self.join, self.rows)


def _choices(page: Page) -> dict[str, list[tuple[str, str]]]:
    names = list(page.session.scalars(select(Segment.name).order_by(Segment.name)))
    platforms = ("taobao", "jd", "douyin", "pdd", "youzan", "kuaishou", "wechat_shop", "offline")
    return {
        "has": [(kind, kind) for kind in IDENTITY_GROUPS],
        "consent": [(c, page.gettext(CHANNELS[c])) for c in CONSENT_CHANNELS],
        "in_segment": [(n, n) for n in names],
        "platforms": [(p, p) for p in platforms],
        "stage": [(s, s) for s in LIFECYCLE_STAGES],
        "rfm.segment": [
            (code, zh if page.locale.startswith("zh") else en)
            for code, (en, zh) in SEGMENT_NAMES.items()
        ],
    }


def _render_editor(
    page: Page, editor: Editor, segment: Segment | None, status: int = 200
) -> Response:
    preview = _preview(page, editor)
    return page.render(
        "segments/editor.html",
        status=status,
        editor=editor,
        segment=segment,
        action=f"/segments/{segment.id}/edit" if segment else "/segments/new",
        kinds=KINDS,
        operators=OPERATORS,
        row_type=builder.row_type,
        row_operators=builder.operators,
        choices=_choices(page),
        preview=preview,
        example='tag("VIP") and orders(within: 90d).count >= 2 and total_spent >= ¥500',
    )


def _preview(page: Page, editor: Editor) -> dict[str, Any]:
    if editor.mode == "builder" and any(
        not row.value.strip()
        and row.op not in builder.NO_VALUE
        and row.kind not in ("has", "consent")
        for row in editor.rows
    ):
        return {"incomplete": True}
    try:
        node = editor.definition()
        counted = service.count(page.session, actor=page.actor, definition=node, sample=8)
    except QueryError as error:
        return {"error": _query_error(page, error)}
    except SiyuError as error:
        return {"error": error.message}
    return counted


def _query_error(page: Page, error: QueryError) -> str:
    # The reason stays as the parser wrote it; where it is, is said in the page's language.
    if error.line is not None:
        reason = error.message.split(": ", 1)[1]
        return page.gettext(
            "Line %(line)s, column %(column)s: %(reason)s",
            line=error.line,
            column=error.column,
            reason=reason,
        )
    return error.message


@router.get("/segments/new")
def new_page(page: SignedIn, query: str = "") -> Response:
    if not _may_edit(page):
        raise Forbidden(page.gettext("Your role may not create segments."))
    editor = Editor()
    if query:
        editor.mode, editor.query = "text", query
    return _render_editor(page, editor, None)


@router.get("/segments/{segment_id}/edit")
def edit_page(page: SignedIn, segment_id: int) -> Response:
    segment = _find(page, segment_id)
    tag = service.describe(page.session, segment)["tag"]
    return _render_editor(page, Editor.stored(segment, tag), segment)


@router.post("/segments/new")
async def new_post(page: SignedIn, request: Request) -> Response:
    return await _editor_post(page, request, None)


@router.post("/segments/{segment_id}/edit")
async def edit_post(page: SignedIn, request: Request, segment_id: int) -> Response:
    return await _editor_post(page, request, _find(page, segment_id))


async def _editor_post(page: Page, request: Request, segment: Segment | None) -> Response:
    editor = await Editor.posted(request)
    action = str((await request.form()).get("action") or "preview")
    if action == "add":
        editor.rows.append(builder.Row())
    elif action.startswith("remove:"):
        index = int(action.split(":", 1)[1]) if action[7:].isdigit() else -1
        if 0 <= index < len(editor.rows):
            del editor.rows[index]
        if not editor.rows:
            editor.rows = [builder.Row()]
    elif action == "to_text":
        try:
            editor.query = to_text(editor.definition())
        except QueryError as error:
            editor.error = _query_error(page, error)
        editor.mode = "text"
    elif action == "to_builder":
        try:
            shown = builder.rows_from(parse(editor.query))
        except QueryError as error:
            editor.error = _query_error(page, error)
            shown = None
        if shown is None and editor.error is None:
            editor.error = page.gettext(
                "This query has parts the rows cannot show (brackets, lists, dates or event "
                "properties); keep editing it as text."
            )
        if shown is not None:
            editor.join, editor.rows = shown
            editor.mode = "builder"
    elif action == "save":
        return _save(page, editor, segment)
    return _render_editor(page, editor, segment)


def _save(page: Page, editor: Editor, segment: Segment | None) -> Response:
    try:
        node = editor.definition()
        if segment is None:
            segment = service.create_segment(
                page.session,
                actor=page.actor,
                name=editor.name,
                definition=node,
                description=editor.description,
                tag=editor.tag or None,
            )
            message = page.gettext(
                "Segment created with %(count)s members.", count=segment.member_count
            )
        else:
            service.update_segment(
                page.session,
                actor=page.actor,
                segment=segment,
                name=editor.name,
                definition=node,
                description=editor.description,
                tag=editor.tag,  # empty: no auto-tag any more
            )
            message = page.gettext("Segment saved: %(count)s members.", count=segment.member_count)
    except (Invalid, Conflict) as error:
        # Nothing of a refused save is kept (the request would otherwise commit a rename).
        page.session.rollback()
        editor.error = _query_error(page, error) if isinstance(error, QueryError) else error.message
        return _render_editor(page, editor, segment, status=422)
    return page.redirect(f"/segments/{segment.id}", flash=message)


@router.post("/segments/preview")
async def preview(page: SignedIn, request: Request) -> Response:
    """The live count and sample, for HTMX as the operator types."""
    editor = await Editor.posted(request)
    return page.render("segments/_preview.html", preview=_preview(page, editor))


# ---------------------------------------------------------------- one segment


@router.get("/segments/{segment_id}")
def detail_page(page: SignedIn, segment_id: int, cursor: str | None = None) -> Response:
    segment = _find(page, segment_id)
    members, following = service.members_page(
        page.session, actor=page.actor, segment=segment, cursor=cursor, limit=50
    )
    stays = service.history(page.session, actor=page.actor, segment=segment, limit=20)
    return page.render(
        "segments/detail.html",
        segment=service.describe(page.session, segment),
        members=members,
        next_url=f"/segments/{segment_id}?cursor={following}" if following else None,
        first_url=f"/segments/{segment_id}" if cursor else None,
        stays=stays,
        kind_names=KIND_NAMES,
        exit_reasons=EXIT_REASONS,
        may_edit=_may_edit(page),
    )


@router.post("/segments/{segment_id}/refresh")
def refresh(page: SignedIn, segment_id: int) -> Response:
    segment = _find(page, segment_id)
    change = service.refresh_now(page.session, actor=page.actor, segment=segment)
    message = page.gettext(
        "Refreshed: %(entered)s joined, %(exited)s left.",
        entered=len(change.entered),
        exited=len(change.exited),
    )
    if page.is_htmx:
        return toast(Response(status_code=204, headers={"HX-Refresh": "true"}), message)
    return page.redirect(f"/segments/{segment_id}", flash=message)


@router.post("/segments/{segment_id}/delete")
async def delete(page: SignedIn, request: Request, segment_id: int) -> Response:
    segment = _find(page, segment_id)
    form = await request.form()
    if form.get("confirmed") != "1":
        return page.confirm(
            page.gettext("Delete the segment %(name)s and its history?", name=segment.name),
            action=f"/segments/{segment_id}/delete",
            fields={"confirmed": "1"},
            cancel=f"/segments/{segment_id}",
        )
    name = segment.name
    try:
        service.delete_segment(page.session, actor=page.actor, segment=segment)
    except Conflict as error:
        return page.redirect(f"/segments/{segment_id}", flash=error.message, level="error")
    return page.redirect(
        "/segments", flash=page.gettext("Deleted the segment %(name)s.", name=name)
    )


@router.get("/segments/{segment_id}/export.csv")
def export_csv(page: SignedIn, segment_id: int) -> Response:
    segment = _find(page, segment_id)
    if "edit" not in ACTIONS.get(page.actor.role, frozenset()):
        raise Forbidden(page.gettext("Your role may not export customers."))
    spool = exporting.spooled(page.session, segment, "csv")
    return StreamingResponse(
        exporting.chunks(spool),
        media_type=exporting.MEDIA_TYPES["csv"],
        headers={"Content-Disposition": f'attachment; filename="segment-{segment.id}.csv"'},
    )
