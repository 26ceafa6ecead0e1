"""Campaigns in the console: the list, the composer, and a campaign's page with its preview,
its check, the buttons that start, pause, resume, cancel and resend it, and live statistics.

Everything goes through engage.campaigns, as the REST API does. The composer posts its whole
form; with HTMX, changing the channel redraws it in place (subject, template fields and the SMS
counter follow the channel's capabilities), and the audience count follows typing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from siyu.config import get_settings
from siyu.console.labels import N_
from siyu.console.page import Page, SignedIn
from siyu.console.views import campaign_form, reach_labels
from siyu.console.views.campaign_form import Composer
from siyu.console.views.channels import may_reach
from siyu.contacts import service as contacts_service
from siyu.engage import campaigns, channel_service
from siyu.engage.channels import registry
from siyu.engage.channels.base import Capabilities
from siyu.engage.models import EngageCampaign, EngageChannel
from siyu.errors import Conflict, Forbidden, Invalid, NotFound, SiyuError
from siyu.segments import service as segments_service
from siyu.segments.models import Segment

router = APIRouter()

POLL_SECONDS = 3
LIVE_STATES = ("scheduled", "running")
# Service messages about one field of the composer (translated by their exact text).
FIELD_MESSAGES = {
    "a campaign's name is 1 to 200 characters": "name",
    "throttle: at least 1 message per second, or none": "throttle",
    "conversion days: 0 to 365": "conversion_days",
    "a campaign goes to a segment or to a query, one of them": "audience",
}
_MESSAGES = (
    N_("a campaign's name is 1 to 200 characters"),
    N_("throttle: at least 1 message per second, or none"),
    N_("conversion days: 0 to 365"),
    N_("a campaign goes to a segment or to a query, one of them"),
)


def _find(page: Page, campaign_id: int) -> EngageCampaign:
    try:
        return campaigns.get_campaign(page.session, campaign_id)
    except NotFound:
        raise NotFound(page.gettext("There is no such campaign.")) from None


def _capabilities(channel: EngageChannel | None) -> Capabilities | None:
    cls = registry.channels().get(channel.kind) if channel else None
    return cls.capabilities if cls else None


def _is_sms(caps: Capabilities | None) -> bool:
    return caps is not None and caps.address_kind == "phone"


def _labels(page: Page) -> dict[str, Any]:
    return {
        "states": reach_labels.STATES,
        "state_badges": reach_labels.STATE_BADGES,
        "categories": reach_labels.CATEGORIES,
    }


# ---------------------------------------------------------------- the list


@router.get("/campaigns")
def list_page(page: SignedIn) -> Response:
    chosen = campaigns.list_campaigns(page.session)
    totals = campaigns.summaries(page.session, chosen)
    channels = {c.id: c for c in channel_service.list_channels(page.session)}
    rows = [
        {
            "campaign": campaign,
            "channel": channels.get(campaign.channel_id),
            **totals[campaign.id],
        }
        for campaign in chosen
    ]
    return page.render(
        "campaigns/list.html",
        rows=rows,
        may_reach=may_reach(page),
        has_channels=bool(channels),
        **_labels(page),
    )


# ---------------------------------------------------------------- the composer


def _render_composer(page: Page, composer: Composer, *, status: int = 200) -> Response:
    channels = channel_service.list_channels(page.session)
    chosen = next((c for c in channels if str(c.id) == composer.channel), None)
    if chosen is None and channels:
        chosen = next((c for c in channels if c.enabled), channels[0])
        composer.channel = str(chosen.id)
    caps = _capabilities(chosen)
    segments = segments_service.list_segments(page.session, actor=page.actor)
    signature = campaign_form.signature_of(chosen.config or {}) if chosen else ""
    return page.render(
        "campaigns/new.html",
        status=status,
        composer=composer,
        channels=channels,
        channel=chosen,
        caps=caps,
        sms=_is_sms(caps),
        sms_a=campaign_form.sms_length(composer.a.body, signature),
        sms_b=campaign_form.sms_length(composer.b.body, signature),
        segments=segments,
        preview=_audience_preview(page, composer),
        zone=get_settings().timezone,
        categories=reach_labels.CATEGORIES,
    )


def _audience_preview(page: Page, composer: Composer) -> dict[str, Any]:
    """The count segments/_preview.html shows, for the query typed so far."""
    if not composer.query.strip():
        return {"incomplete": True}
    try:
        return segments_service.count(
            page.session, actor=page.actor, query=composer.query, sample=5
        )
    except SiyuError as error:
        return {"error": error.message}


@router.get("/campaigns/new")
def new_page(page: SignedIn, copy: int | None = None) -> Response:
    if not may_reach(page):
        raise Forbidden(page.gettext("Your role may not send campaigns."))
    composer = Composer()
    if copy is not None:
        composer = Composer.copied(campaigns.campaign_dict(page.session, _find(page, copy)))
        composer.name = page.gettext("%(name)s (copy)", name=composer.name)
    return _render_composer(page, composer)


@router.post("/campaigns/new")
async def new_post(page: SignedIn, request: Request) -> Response:
    form = await request.form()
    composer = Composer.posted(form)
    if form.get("action") != "save":
        return _render_composer(page, composer)  # the channel changed: redraw
    return _save(page, composer)


def _save(page: Page, composer: Composer) -> Response:
    variants = composer.variants()
    throttle = composer.throttle_per_second()
    days = composer.conversion()
    scheduled_at = composer.schedule()
    channel = page.session.get(EngageChannel, int(composer.channel or 0) or 0)
    if channel is None:
        composer.errors["channel"] = N_("Choose a channel.")
    audience: dict[str, Any] = {"query": composer.query.strip()}
    if composer.audience == "segment":
        segment = page.session.get(Segment, int(composer.segment or 0) or 0)
        audience = {"segment": segment}
        if segment is None:
            composer.errors["segment"] = N_("Choose a segment.")
    elif not audience["query"]:
        composer.errors["query"] = N_("Say who receives it: a query, or choose a segment.")
    if composer.errors or channel is None:
        return _refused(page, composer)
    try:
        # A savepoint: a refused draft's row (flushed before its variants failed) is not kept.
        with page.session.begin_nested():
            campaign = campaigns.create_campaign(
                page.session,
                actor=page.actor,
                name=composer.name,
                channel=channel,
                variants=variants,
                category=composer.category,
                throttle_per_second=throttle,
                scheduled_at=scheduled_at,
                conversion_days=days,
                **audience,
            )
    except Invalid as error:
        composer.errors[_field_of(error, composer)] = error.message
        return _refused(page, composer)
    return page.redirect(
        f"/campaigns/{campaign.id}",
        flash=page.gettext("Draft saved. Check it, preview it, then start it."),
    )


def _field_of(error: Invalid, composer: Composer) -> str:
    message = error.message
    if message in FIELD_MESSAGES:
        return FIELD_MESSAGES[message]
    if "percentages" in message:
        return "b_percent"
    for prefix, field in (("variant A, ", ""), ("variant B, ", "b_")):
        if message.startswith(prefix):
            part = message.removeprefix(prefix).split(",")[0].split(":")[0]
            return field + ("subject" if part == "subject" else "body")
    if composer.audience == "query":
        return "query"  # the segment language's errors say line and column
    return "form"


def _refused(page: Page, composer: Composer) -> Response:
    composer.errors = {key: page.gettext(text) for key, text in composer.errors.items()}
    composer.error = composer.errors.pop("form", None)
    return _render_composer(page, composer, status=422)


@router.post("/campaigns/sms-length")
async def sms_length(page: SignedIn, request: Request) -> Response:
    """The live SMS counter under a body, as the operator types."""
    form = await request.form()
    variant = "b" if form.get("variant") == "b" else "a"
    body = str(form.get("b_body" if variant == "b" else "body") or "")
    channel_id = str(form.get("channel") or "")
    channel = page.session.get(EngageChannel, int(channel_id)) if channel_id.isdigit() else None
    signature = campaign_form.signature_of(channel.config or {}) if channel else ""
    return page.render(
        "campaigns/_sms_length.html",
        variant=variant,
        counted=campaign_form.sms_length(body, signature),
    )


# ---------------------------------------------------------------- one campaign


def _preview(page: Page, campaign: EngageCampaign, contact: str, variant: str) -> dict[str, Any]:
    """A variant written for one customer (the first recipient unless one is named)."""
    variants = campaigns.variants_of(page.session, campaign)
    chosen = next((v for v in variants if v.name == variant), variants[0])
    shown: dict[str, Any] = {"variant": chosen.name, "contact": contact, "names": []}
    shown["names"] = [v.name for v in variants]
    try:
        if contact.strip():
            person = contacts_service.get_by_ref(page.session, contact.strip(), page.actor)
            contact_id: int | None = person.id
        else:
            contact_id = campaigns.first_recipient(page.session, campaign)
        rendered = campaigns.preview_content(page.session, chosen, contact_id=contact_id)
    except NotFound:
        shown["error"] = page.gettext("No customer matches %(ref)s.", ref=contact.strip())
        return shown
    except (Invalid, Forbidden) as error:
        shown["error"] = page.gettext(error.message)
        return shown
    shown.update(rendered)
    shown["customer"] = (
        contacts_service.get_by_ref(page.session, contact_id) if contact_id else None
    )
    return shown


def _stats(page: Page, campaign: EngageCampaign) -> dict[str, Any]:
    stats = campaigns.stats(page.session, campaign)
    stats["rules"] = [
        (reach_labels.rule(code, page.gettext), count)
        for code, count in sorted(stats["suppressed_by_rule"].items())
    ]
    return stats


@router.get("/campaigns/{campaign_id}")
def detail_page(page: SignedIn, campaign_id: int, contact: str = "", variant: str = "") -> Response:
    campaign = _find(page, campaign_id)
    data = campaigns.campaign_dict(page.session, campaign)
    channel = page.session.get(EngageChannel, campaign.channel_id)
    caps = _capabilities(channel)
    report = None
    if campaign.state == "draft":
        report = campaigns.check(page.session, campaign)
        report["said_errors"] = reach_labels.findings(report["errors"], page.gettext)
        report["said_warnings"] = reach_labels.findings(report["warnings"], page.gettext)
    preview = _preview(page, campaign, contact, variant)
    signature = campaign_form.signature_of(channel.config or {}) if channel else ""
    return page.render(
        "campaigns/detail.html",
        campaign=campaign,
        data=data,
        channel=channel,
        caps=caps,
        sms=_is_sms(caps),
        sms_counted=campaign_form.sms_length(preview.get("body") or "", signature),
        report=report,
        preview=preview,
        stats=_stats(page, campaign),
        live=campaign.state in LIVE_STATES,
        poll_seconds=POLL_SECONDS,
        may_reach=may_reach(page),
        part=lambda name: reach_labels.part(name, page.gettext),
        **_labels(page),
    )


@router.get("/campaigns/{campaign_id}/preview")
def preview_partial(
    page: SignedIn, campaign_id: int, contact: str = "", variant: str = ""
) -> Response:
    campaign = _find(page, campaign_id)
    channel = page.session.get(EngageChannel, campaign.channel_id)
    caps = _capabilities(channel)
    preview = _preview(page, campaign, contact, variant)
    signature = campaign_form.signature_of(channel.config or {}) if channel else ""
    return page.render(
        "campaigns/_preview.html",
        campaign=campaign,
        caps=caps,
        sms=_is_sms(caps),
        sms_counted=campaign_form.sms_length(preview.get("body") or "", signature),
        preview=preview,
    )


@router.get("/campaigns/{campaign_id}/stats")
def stats_partial(page: SignedIn, campaign_id: int) -> Response:
    """The figures, polled by HTMX while the campaign sends; polling stops with it."""
    campaign = _find(page, campaign_id)
    response = page.render(
        "campaigns/_stats.html",
        campaign=campaign,
        stats=_stats(page, campaign),
        live=campaign.state in LIVE_STATES,
        poll_seconds=POLL_SECONDS,
        **_labels(page),
    )
    if page.request.headers.get("x-campaign-state", campaign.state) != campaign.state:
        # The state changed under the page (the send finished): its buttons are out of date.
        response.headers["HX-Refresh"] = "true"
    return response


def _after(page: Page, campaign: EngageCampaign, message: str, level: str = "success") -> Response:
    return page.redirect(f"/campaigns/{campaign.id}", flash=message, level=level)


@router.post("/campaigns/{campaign_id}/start")
def start(page: SignedIn, campaign_id: int) -> Response:
    campaign = _find(page, campaign_id)
    try:
        report = campaigns.start(page.session, actor=page.actor, campaign=campaign)
    except (Invalid, Conflict) as error:
        return _after(page, campaign, page.gettext(error.message), "error")
    at = page.formats.datetime(report.get("scheduled_at"))
    return _after(page, campaign, page.gettext("Started: it sends from %(at)s.", at=at))


@router.post("/campaigns/{campaign_id}/pause")
def pause(page: SignedIn, campaign_id: int) -> Response:
    campaign = _find(page, campaign_id)
    try:
        campaigns.pause(page.session, actor=page.actor, campaign=campaign)
    except Conflict as error:
        return _after(page, campaign, page.gettext(error.message), "error")
    return _after(page, campaign, page.gettext("Paused. Nothing more is sent until you resume."))


@router.post("/campaigns/{campaign_id}/resume")
def resume(page: SignedIn, campaign_id: int) -> Response:
    campaign = _find(page, campaign_id)
    try:
        campaigns.resume(page.session, actor=page.actor, campaign=campaign)
    except Conflict as error:
        return _after(page, campaign, page.gettext(error.message), "error")
    return _after(page, campaign, page.gettext("Resumed."))


@router.post("/campaigns/{campaign_id}/cancel")
async def cancel(page: SignedIn, request: Request, campaign_id: int) -> Response:
    campaign = _find(page, campaign_id)
    if (await request.form()).get("confirmed") != "1":
        return page.confirm(
            page.gettext("Cancel the campaign %(name)s? What is not sent yet never will be.",
                         name=campaign.name),
            action=f"/campaigns/{campaign.id}/cancel",
            cancel=f"/campaigns/{campaign.id}",
        )  # fmt: skip
    try:
        cancelled = campaigns.cancel(page.session, actor=page.actor, campaign=campaign)
    except Conflict as error:
        return _after(page, campaign, page.gettext(error.message), "error")
    return _after(
        page,
        campaign,
        page.gettext("Cancelled; %(count)s messages were not sent.", count=cancelled),
    )


@router.post("/campaigns/{campaign_id}/resend-unknown")
async def resend_unknown(page: SignedIn, request: Request, campaign_id: int) -> Response:
    campaign = _find(page, campaign_id)
    if (await request.form()).get("confirmed") != "1":
        return page.confirm(
            page.gettext(RESEND_QUESTION),
            action=f"/campaigns/{campaign.id}/resend-unknown",
            cancel=f"/campaigns/{campaign.id}",
        )
    queued = campaigns.resend_unknown(page.session, actor=page.actor, campaign=campaign)
    return _after(page, campaign, page.gettext("%(count)s messages queued again.", count=queued))


RESEND_QUESTION = N_(
    "Send the messages whose fate is unknown again? A worker stopped while sending them: some "
    "may have arrived, and those customers will get the message twice."
)


@router.post("/campaigns/{campaign_id}/test")
async def test_send(page: SignedIn, request: Request, campaign_id: int) -> Response:
    campaign = _find(page, campaign_id)
    form = await request.form()
    address = str(form.get("address") or "").strip()
    if not address:
        return _after(
            page, campaign, page.gettext("Type the address to send the test to."), "error"
        )
    try:
        result = campaigns.test_send(
            page.session,
            actor=page.actor,
            campaign=campaign,
            address=address,
            contact_ref=str(form.get("contact") or "").strip() or None,
            variant=str(form.get("variant") or "") or None,
        )
    except (Invalid, NotFound) as error:
        return _after(page, campaign, page.gettext(error.message), "error")
    if result["status"] == "sent":
        return _after(page, campaign, page.gettext("Test sent to %(address)s.", address=address))
    return _after(
        page,
        campaign,
        page.gettext(
            "The test to %(address)s was not sent: %(reason)s",
            address=address,
            reason=result.get("reason") or result["status"],
        ),
        "error",
    )
