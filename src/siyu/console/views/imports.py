"""Imports: upload a shop export, look at it, confirm, watch the job, read its summary.

Uploading stages the file (siyu.ingest.jobs, the same service the API's upload uses); the
preview reads its start (siyu.ingest.preview); confirming queues the import job the worker runs.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, Response, UploadFile

from siyu.api.deps import MAX_ID
from siyu.console.labels import N_
from siyu.console.page import Page, SignedIn, toast
from siyu.errors import Invalid, NotFound
from siyu.ingest import jobs
from siyu.ingest.preview import preview_file
from siyu.ingest.registry import importers

router = APIRouter()
JobId = Annotated[int, Path(ge=1, le=MAX_ID)]
# Uploads this browser staged and may preview, confirm or cancel (newest last).
UPLOADS = "import_uploads"
KEEP_UPLOADS = 10
ERRORS_SHOWN = 10

STATES = {
    "queued": N_("Waiting to start"),
    "running": N_("Importing"),
    "done": N_("Finished"),
    "failed": N_("Failed"),
}
# The built-in importers' descriptions (ImportFormat.label), translated by their exact text.
FORMAT_LABELS = (
    N_("Siyu order CSV"),
    N_("Siyu contact CSV"),
    N_("Taobao/Tmall order report (订单报表, 千牛)"),
    N_("Taobao/Tmall item report (宝贝报表, ExportOrderDetailList)"),
    N_("JD POP order export (京东)"),
    N_("Douyin Shop order export (抖店)"),
    N_("Pinduoduo order export (拼多多)"),
    N_("Youzan order export (有赞, 订单维度)"),
    N_("Kuaishou Shop order export (快手小店)"),
    N_("WeChat Shop order export (微信小店)"),
    N_("WeCom customer list (企业微信客户列表)"),
)
SERVICE_MESSAGES = (
    N_("the viewer role may not import files"),
    N_("the staff role may not import files"),
    N_("this upload is gone: it was imported, cancelled or never existed"),
    N_("the staff role sees only its own customers, not whole import files"),
)


@router.get("/imports")
def imports(page: SignedIn, before: JobId | None = None, after: JobId | None = None) -> Response:
    return _imports_page(page, before=before, after=after)


@router.post("/imports")
def upload(
    page: SignedIn,
    file: Annotated[UploadFile | None, File()] = None,
    format: Annotated[str, Form()] = "auto",
) -> Response:
    if not jobs.may_import(page.actor):
        return _refused(page)
    if file is None or not file.filename:
        return _imports_page(page, error=page.gettext("Choose a file to upload."), status=422)
    try:
        jobs.check_format(format)
        path = jobs.stage_upload(file.file, file.filename, actor=page.actor)
    except Invalid as error:
        message = page.gettext("The file could not be used: %(reason)s", reason=error.message)
        return _imports_page(page, error=message, status=422)
    token = jobs.token_of(path)
    page.request.session[UPLOADS] = [*_uploads(page), token][-KEEP_UPLOADS:]
    return page.redirect(f"/imports/preview/{token}?format={quote(format)}")


@router.get("/imports/preview/{token}")
def preview(page: SignedIn, token: str, format: str = "auto") -> Response:
    if not jobs.may_import(page.actor):
        return _refused(page)
    path = _staged(page, token)
    try:
        jobs.check_format(format)
    except Invalid:
        format = "auto"
    seen = preview_file(path, fmt=format, display_name=path.name)
    problem = None
    if seen.unrecognised:
        shown = ", ".join(name for name in seen.header[:6] if name.strip())
        problem = page.gettext(
            "This file is not an export Siyu recognises. Its first columns are: %(columns)s. "
            "Export the order report from your shop's back office, or use Siyu's order CSV.",
            columns=shown or "—",
        )
    elif seen.problem:
        problem = page.gettext("This file cannot be read: %(reason)s", reason=seen.problem)
    return page.render(
        "imports/preview.html",
        status=200 if seen.importable else 422,
        token=token,
        preview=seen,
        problem=problem,
        format=format,
        format_label=_format_label(page, seen.format),
        size=_size(page, seen.size),
        formats=_format_choices(page),
    )


@router.post("/imports/preview/{token}/confirm")
def confirm(page: SignedIn, token: str, format: Annotated[str, Form()] = "auto") -> Response:
    path = _staged(page, token)
    job = jobs.queue_import(page.session, path=path, fmt=format, actor=page.actor)
    _forget(page, token)
    return page.redirect(
        f"/imports/{job.id}", flash=page.gettext("The import has started."), level="info"
    )


@router.post("/imports/preview/{token}/cancel")
def cancel(page: SignedIn, token: str) -> Response:
    _staged(page, token)
    jobs.discard_upload(token, actor=page.actor)
    _forget(page, token)
    return page.redirect(
        "/imports", flash=page.gettext("Cancelled. The uploaded file was deleted.")
    )


@router.get("/imports/{job_id}")
def job_page(page: SignedIn, job_id: JobId) -> Response:
    job = jobs.get_import(page.session, job_id, actor=page.actor)
    return page.render("imports/job.html", **_job_context(page, job))


@router.get("/imports/{job_id}/progress")
def job_progress(page: SignedIn, job_id: JobId) -> Response:
    """The status block alone, polled by the job page while the import runs."""
    job = jobs.get_import(page.session, job_id, actor=page.actor)
    response = page.render("imports/_status.html", **_job_context(page, job))
    if job.state == "done":
        toast(response, page.gettext("The import has finished."))
    elif job.state == "failed":
        toast(response, page.gettext("The import failed."), "error")
    return response


@router.get("/imports/{job_id}/errors.csv")
def error_report(page: SignedIn, job_id: JobId) -> Response:
    job = jobs.get_import(page.session, job_id, actor=page.actor)
    body, name = jobs.error_report(page.session, job, actor=page.actor)
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )


def _imports_page(
    page: Page,
    *,
    before: int | None = None,
    after: int | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    history = jobs.list_imports(page.session, actor=page.actor, before=before, after=after)
    return page.render(
        "imports/list.html",
        status=status,
        history=history,
        rows=[_history_row(page, job) for job in history.jobs],
        may_import=jobs.may_import(page.actor),
        formats=_format_choices(page),
        error=error,
        previous_url=f"/imports?after={history.newer}" if history.newer else None,
        next_url=f"/imports?before={history.older}" if history.older else None,
        first_page=before is None and after is None,
    )


def _refused(page: Page) -> Response:
    message = page.gettext("Only administrators and operators can import files. Ask one of them.")
    return page.render("imports/refused.html", status=403, message=message)


def _uploads(page: Page) -> list[str]:
    value = page.request.session.get(UPLOADS, [])
    return [token for token in value if isinstance(token, str)] if isinstance(value, list) else []


def _forget(page: Page, token: str) -> None:
    page.request.session[UPLOADS] = [t for t in _uploads(page) if t != token]


def _staged(page: Page, token: str) -> FilePath:
    """The file this browser staged under `token`; another browser's upload is not found."""
    if token not in _uploads(page):
        raise NotFound("this upload is gone: it was imported, cancelled or never existed")
    try:
        return jobs.staged_file(token)
    except NotFound:
        _forget(page, token)
        raise


def _job_context(page: Page, job: Any) -> dict[str, Any]:
    result = job.result or {}
    return {
        "job": job,
        "state_label": page.gettext(STATES.get(job.state, job.state)),
        "finished": job.state in jobs.FINISHED,
        "progress": jobs.progress_of(job),
        "result": result,
        "errors": (result.get("errors") or [])[:ERRORS_SHOWN],
        "format_label": _format_label(page, result.get("format") or job.payload.get("format")),
        "may_download": job.state == "done" and bool(result.get("rows_rejected")),
        "error": page.gettext(job.error) if job.error else None,
    }


def _history_row(page: Page, job: Any) -> dict[str, Any]:
    result = job.result or {}
    return {
        "job": job,
        "state_label": page.gettext(STATES.get(job.state, job.state)),
        "format_label": _format_label(page, result.get("format") or job.payload.get("format")),
        "by": job.created_by.removeprefix("staff:"),
    }


def _format_label(page: Page, name: str | None) -> str:
    if not name or name == "auto":
        return page.gettext("Detected automatically")
    cls = importers().get(name)
    if cls is None:
        for candidate in importers().values():
            if name == candidate.platform:
                cls = candidate
                break
    return page.gettext(cls.label) if cls is not None else name


def _format_choices(page: Page) -> list[tuple[str, str]]:
    named = sorted(
        ((name, page.gettext(cls.label)) for name, cls in importers().items()),
        key=lambda choice: choice[1],
    )
    return [("auto", page.gettext("Detect automatically")), *named]


def _size(page: Page, size: int) -> str:
    if size >= 1 << 20:
        return f"{page.formats.number(round(size / (1 << 20), 1))} MB"
    if size >= 1 << 10:
        return f"{page.formats.number(round(size / (1 << 10), 1))} KB"
    return page.gettext("%(count)s bytes", count=page.formats.number(size))
