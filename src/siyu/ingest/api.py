"""REST routes for imports: upload a file, follow the job's progress, fetch its error report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, Response, UploadFile

from siyu.api.deps import DbSession, Id, Reader, Writer
from siyu.ingest import jobs
from siyu.kit.timeutil import isoformat
from siyu.worker.models import Job

router = APIRouter(tags=["imports"])


def job_dict(job: Job) -> dict[str, Any]:
    progress = jobs.progress_of(job)
    return {
        "id": job.id,
        "state": job.state,
        "file_name": job.payload.get("file_name"),
        "format": job.payload.get("format"),
        "progress": {
            "done": progress.done,
            "total": progress.total,
            "percent": progress.percent,
        },
        "result": job.result,
        "error": job.error,
        "created_at": isoformat(job.created_at),
        "finished_at": isoformat(job.finished_at),
        "errors_url": f"/api/v1/imports/{job.id}/errors.csv",
    }


@router.post("/imports", status_code=202, summary="Upload a shop export; imported by a job")
def upload(
    session: DbSession,
    actor: Writer,
    file: UploadFile = File(...),
    format: str = Form("auto", description="auto, taobao, jd, … or orders_csv"),
) -> dict[str, Any]:
    # The same service path as the console's import page: role, formats, upload folder.
    jobs.check_format(format)
    path = jobs.stage_upload(file.file, file.filename, actor=actor)
    job = jobs.queue_import(session, path=path, fmt=format, actor=actor)
    return job_dict(job)


@router.get("/imports/{job_id}")
def status(job_id: Id, session: DbSession, actor: Reader) -> dict[str, Any]:
    return job_dict(jobs.get_import(session, job_id, actor=actor))


@router.get(
    "/imports/{job_id}/errors.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def errors(job_id: Id, session: DbSession, actor: Reader) -> Response:
    job = jobs.get_import(session, job_id, actor=actor)
    body, _name = jobs.error_report(session, job, actor=actor)
    return Response(body, media_type="text/csv; charset=utf-8")
