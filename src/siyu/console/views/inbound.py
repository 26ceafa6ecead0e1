"""Inbound: sign-up forms, landing pages (/p/{slug}) and channel QR codes (/c/{code}).

Everyone signed in sees the lists and counts; administrators and operators build, and read
submissions (they hold personal data). The public pages are in siyu.ingest.inbound.public.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile
from fastapi.responses import StreamingResponse

from siyu.console.labels import N_
from siyu.console.page import Page, SignedIn
from siyu.contacts.models import CONSENT_CHANNELS
from siyu.errors import Invalid
from siyu.ingest.inbound import service
from siyu.ingest.inbound.models import STANDARD_FIELDS, InboundForm, InboundPage
from siyu.staff.models import StaffUser

router = APIRouter()

FIELD_LABELS = {
    "name": N_("Name"),
    "phone": N_("Mobile number"),
    "email": N_("E-mail"),
    "wechat_id": N_("WeChat ID"),
}
CHANNEL_LABELS = {
    "": N_("No consent box"),
    "sms": N_("SMS"),
    "email": N_("E-mail"),
    "wecom": N_("WeCom"),
    "wechat_oa": N_("WeChat official account"),
}
# Messages of the inbound service shown to operators and visitors, translated by their text.
SERVICE_MESSAGES = (
    N_("This field is required."),
    N_("Enter a valid mobile number."),
    N_("Enter a valid e-mail address."),
    N_("Leave a phone number or an e-mail address so we can reach you."),
    N_("Tick the box to agree, or we cannot contact you."),
    N_("a form needs at least one field"),
    N_("a form needs a phone or an e-mail field, or nobody can be recognised"),
    N_("a form needs a name of 1 to 120 characters"),
    N_("say what the consent is for: the visitor reads it next to the box"),
    N_("the address may hold lower-case letters, digits and hyphens (up to 64)"),
    N_("a page needs a title of 1 to 200 characters"),
    N_("the image is larger than 5 MB"),
    N_("the image must be a PNG, JPEG or GIF file"),
    N_("a channel code needs a name of 1 to 120 characters"),
    N_("choose a landing page or enter the address a scan should open"),
    N_("the address must start with http:// or https://"),
)
Text = Annotated[str, Form()]


def _split_tags(text: str) -> list[str]:
    return [t.strip() for t in text.replace("，", ",").split(",") if t.strip()]


def _choices(page: Page) -> dict[str, object]:
    return {
        "field_labels": {k: page.gettext(v) for k, v in FIELD_LABELS.items()},
        "channel_labels": {k: page.gettext(CHANNEL_LABELS[k]) for k in ("", *CONSENT_CHANNELS)},
        "standard_fields": STANDARD_FIELDS,
    }


@router.get("/inbound")
def overview(page: SignedIn) -> Response:
    page.actor  # noqa: B018 - signed in is enough to look
    return page.render(
        "inbound/index.html",
        forms=service.list_forms(page.session),
        pages=service.list_pages(page.session),
        codes=service.list_codes(page.session),
        may_build=service.may_build(page.actor),
        base_url=str(page.request.base_url).rstrip("/"),
    )


# ---- forms ----------------------------------------------------------------------------------


def _form_screen(
    page: Page, form: InboundForm | None, error: str = "", **values: object
) -> Response:
    service.check_builder(page.actor)
    if form is not None and not values:
        fields = service.form_fields(form)
        values = {
            "name": form.name,
            "standard": {
                f.kind: "require" if f.required else "ask" for f in fields if f.kind != "text"
            },
            "custom": "\n".join(
                f.label + ("*" if f.required else "") for f in fields if f.kind == "text"
            ),
            "consent_channel": form.consent_channel or "",
            "consent_purpose": form.consent_purpose,
            "consent_required": form.consent_required,
            "success_message": form.success_message,
            "tags": ", ".join(form.tags or []),
        }
    values.setdefault("standard", {"name": "ask", "phone": "require"})
    return page.render(
        "inbound/form_edit.html",
        status=422 if error else 200,
        form=form,
        error=error,
        v=values,
        **_choices(page),
    )


@router.get("/inbound/forms/new")
def new_form(page: SignedIn) -> Response:
    return _form_screen(page, None)


@router.get("/inbound/forms/{form_id}")
def edit_form(page: SignedIn, form_id: int) -> Response:
    return _form_screen(page, service.get_form(page.session, form_id))


@router.post("/inbound/forms/{form_id}")
@router.post("/inbound/forms/new")  # registered first: "new" is no id
def save_form(
    page: SignedIn,
    name: Text = "",
    field_name: Text = "",
    field_phone: Text = "",
    field_email: Text = "",
    field_wechat_id: Text = "",
    custom: Text = "",
    consent_channel: Text = "",
    consent_purpose: Text = "",
    consent_required: Text = "",
    success_message: Text = "",
    tags: Text = "",
    form_id: int | None = None,
) -> Response:
    form = service.get_form(page.session, form_id) if form_id else None
    standard = {
        "name": field_name,
        "phone": field_phone,
        "email": field_email,
        "wechat_id": field_wechat_id,
    }
    try:
        saved = service.save_form(
            page.session,
            actor=page.actor,
            name=name,
            fields=service.build_fields(standard, custom),
            consent_channel=consent_channel or None,
            consent_purpose=consent_purpose,
            consent_required=consent_required == "yes",
            success_message=success_message,
            tags=_split_tags(tags),
            form=form,
        )
    except Invalid as error:
        return _form_screen(
            page,
            form,
            page.gettext(error.message),
            name=name,
            standard=standard,
            custom=custom,
            consent_channel=consent_channel,
            consent_purpose=consent_purpose,
            consent_required=consent_required == "yes",
            success_message=success_message,
            tags=tags,
        )
    return page.redirect("/inbound", flash=page.gettext("Form %(name)s saved.", name=saved.name))


@router.get("/inbound/forms/{form_id}/submissions")
def submissions(page: SignedIn, form_id: int, before: int | None = None) -> Response:
    form = service.get_form(page.session, form_id)
    rows = service.list_submissions(page.session, actor=page.actor, form_id=form_id, before=before)
    next_url = (
        f"/inbound/forms/{form_id}/submissions?before={rows[-1].id}" if len(rows) == 50 else None
    )
    return page.render(
        "inbound/submissions.html",
        form=form,
        fields=service.form_fields(form),
        rows=rows,
        next_url=next_url,
        **_choices(page),
    )


@router.get("/inbound/forms/{form_id}/submissions.csv")
def export(page: SignedIn, form_id: int) -> Response:
    form = service.get_form(page.session, form_id)
    chunks = list(service.export_csv(page.session, actor=page.actor, form=form))
    return StreamingResponse(
        iter(chunks),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="form-{form.id}-submissions.csv"'},
    )


# ---- landing pages --------------------------------------------------------------------------


def _page_screen(
    page: Page, landing: InboundPage | None, error: str = "", **values: object
) -> Response:
    service.check_builder(page.actor)
    if landing is not None and not values:
        values = {
            "slug": landing.slug,
            "title": landing.title,
            "body": landing.body_markdown,
            "form_id": landing.form_id,
            "published": landing.published,
        }
    values.setdefault("published", True)
    return page.render(
        "inbound/page_edit.html",
        status=422 if error else 200,
        landing=landing,
        error=error,
        v=values,
        forms=service.list_forms(page.session),
    )


@router.get("/inbound/pages/new")
def new_page(page: SignedIn) -> Response:
    return _page_screen(page, None)


@router.get("/inbound/pages/{page_id}")
def edit_page(page: SignedIn, page_id: int) -> Response:
    return _page_screen(page, service.get_page(page.session, page_id))


@router.post("/inbound/pages/{page_id}")
@router.post("/inbound/pages/new")  # registered first: "new" is no id
async def save_page(
    page: SignedIn,
    slug: Text = "",
    title: Text = "",
    body: Text = "",
    form_id: Text = "",
    published: Text = "",
    image: Annotated[UploadFile | None, File()] = None,
    page_id: int | None = None,
) -> Response:
    landing = service.get_page(page.session, page_id) if page_id else None
    data = await image.read(service.MAX_IMAGE_BYTES + 1) if image is not None else b""
    try:
        saved = service.save_page(
            page.session,
            actor=page.actor,
            slug=slug,
            title=title,
            body_markdown=body,
            form_id=int(form_id) if form_id.isdigit() else None,
            published=published == "yes",
            image=data or None,
            page=landing,
        )
    except Invalid as error:
        return _page_screen(
            page,
            landing,
            page.gettext(error.message),
            slug=slug,
            title=title,
            body=body,
            form_id=int(form_id) if form_id.isdigit() else None,
            published=published == "yes",
        )
    return page.redirect("/inbound", flash=page.gettext("Page /p/%(slug)s saved.", slug=saved.slug))


# ---- channel codes --------------------------------------------------------------------------


def _code_screen(page: Page, code_id: int | None, error: str = "", **values: object) -> Response:
    service.check_builder(page.actor)
    code = service.get_code(page.session, code_id) if code_id else None
    if code is not None and not values:
        values = {
            "name": code.name,
            "page_id": code.page_id,
            "target_url": code.target_url or "",
            "tags": ", ".join(code.tags or []),
            "owner_id": code.owner_id,
        }
    staff = (
        page.session.query(StaffUser)
        .filter(StaffUser.disabled_at.is_(None))
        .order_by(StaffUser.login)
    )
    return page.render(
        "inbound/code_edit.html",
        status=422 if error else 200,
        code=code,
        error=error,
        v=values,
        pages=service.list_pages(page.session),
        members=list(staff),
    )


@router.get("/inbound/codes/new")
def new_code(page: SignedIn) -> Response:
    return _code_screen(page, None)


@router.get("/inbound/codes/{code_id}")
def edit_code(page: SignedIn, code_id: int) -> Response:
    return _code_screen(page, code_id)


@router.post("/inbound/codes/{code_id}")
@router.post("/inbound/codes/new")  # registered first: "new" is no id
def save_code(
    page: SignedIn,
    name: Text = "",
    page_ref: Text = "",
    target_url: Text = "",
    tags: Text = "",
    owner_id: Text = "",
    code_id: int | None = None,
) -> Response:
    code = service.get_code(page.session, code_id) if code_id else None
    try:
        saved = service.save_code(
            page.session,
            actor=page.actor,
            name=name,
            page_id=int(page_ref) if page_ref.isdigit() else None,
            target_url=target_url,
            tags=_split_tags(tags),
            owner_id=int(owner_id) if owner_id.isdigit() else None,
            code=code,
        )
    except Invalid as error:
        return _code_screen(
            page,
            code_id,
            page.gettext(error.message),
            name=name,
            page_id=int(page_ref) if page_ref.isdigit() else None,
            target_url=target_url,
            tags=tags,
            owner_id=int(owner_id) if owner_id.isdigit() else None,
        )
    return page.redirect(
        "/inbound", flash=page.gettext("Channel code %(name)s saved.", name=saved.name)
    )


@router.get("/inbound/codes/{code_id}/qr.{kind}")
def qr(page: SignedIn, code_id: int, kind: str) -> Response:
    code = service.get_code(page.session, code_id)
    url = f"{str(page.request.base_url).rstrip('/')}/c/{code.code}"
    media = {"png": "image/png", "svg": "image/svg+xml"}.get(kind, "application/octet-stream")
    return Response(
        service.qr_image(url, kind),
        media_type=media,
        headers={"Content-Disposition": f'inline; filename="channel-{code.code}.{kind}"'},
    )
