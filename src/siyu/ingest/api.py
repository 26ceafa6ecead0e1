"""REST routes for imports: upload a file, follow the job's progress, fetch its error report."""

from __future__ import annotations

import csv
import io
import shutil
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, File, Form, Response, UploadFile
from sqlalchemy import select

from siyu.api.deps import DbSession, Id, Reader, Writer
from siyu.config import get_settings
from siyu.errors import Invalid, NotFound
from siyu.ingest.models import ImportRowError
from siyu.ingest.registry import ALIASES, importers
from siyu.ingest.tasks import IMPORT_JOB
from siyu.kit.timeutil import isoformat
from siyu.worker.models import Job
from siyu.worker.progress import in_memory
from siyu.worker.queue import enqueue, get_job

router = APIRouter(tags=["imports"])


def job_dict(job: Job) -> dict[str, Any]:
    done, total = in_memory(job.id) or (job.progress_done, job.progress_total)
    percent = round(100 * done / total, 1) if total else None
    if job.state == "done":
        # On SQLite progress lives only in the worker's memory, so a finished job may have no
        # total on its row; finished is 100% either way.
        done, percent = total or done, 100.0
    return {
        "id": job.id,
        "state": job.state,
        "file_name": job.payload.get("file_name"),
        "format": job.payload.get("format"),
        "progress": {
            "done": done,
            "total": total,
            "percent": percent,
        },
        "result": job.result,
        "error": job.error,
        "created_at": isoformat(job.created_at),
        "finished_at": isoformat(job.finished_at),
        "errors_url": f"/api/v1/imports/{job.id}/errors.csv",
    }


def check_format(fmt: str) -> None:
    """Refuse an unknown format now rather than in a failed job later."""
    known = {"auto", *ALIASES}
    for cls in importers().values():
        known.update(n for n in (cls.name, cls.platform) if n)
    if fmt.startswith("mapping:"):
        # A mapping names a file on the server: not something an API client may point at.
        raise Invalid("mapping formats are for the CLI; over the API use auto or a named format")
    if fmt not in known:
        raise Invalid(f"unknown format {fmt!r}; known: {', '.join(sorted(known))}")


@router.post("/imports", status_code=202, summary="Upload a shop export; imported by a job")
def upload(
    session: DbSession,
    actor: Writer,
    file: UploadFile = File(...),
    format: str = Form("auto", description="auto, taobao, jd, … or orders_csv"),
) -> dict[str, Any]:
    check_format(format)
    name = Path(file.filename or "upload").name
    if name in ("", ".", ".."):
        raise Invalid(f"{file.filename!r} is not a usable file name")
    folder = get_settings().upload_dir / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    with target.open("wb") as out:
        while block := file.file.read(1 << 20):
            out.write(block)
    if target.stat().st_size == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise Invalid(f"{name}: the file is empty")
    job = enqueue(
        session,
        kind=IMPORT_JOB,
        created_by=actor.label,
        payload={"path": str(target.resolve()), "file_name": name, "format": format},
    )
    return job_dict(job)


@router.get("/imports/{job_id}")
def status(job_id: Id, session: DbSession, _actor: Reader) -> dict[str, Any]:
    return job_dict(get_job(session, job_id, IMPORT_JOB))


@router.get(
    "/imports/{job_id}/errors.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def errors(job_id: Id, session: DbSession, _actor: Reader) -> Response:
    job = get_job(session, job_id, IMPORT_JOB)
    if job.state != "done" or not job.result:
        raise NotFound(f"import {job_id} has no error report (state: {job.state})")
    report = job.result.get("error_report")
    if report and Path(report).is_file():
        body = Path(report).read_text(encoding="utf-8-sig")
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["line", "reason"])
        writer.writerows(
            session.execute(
                select(ImportRowError.line, ImportRowError.reason)
                .where(ImportRowError.batch_id == job.result["batch_id"])
                .order_by(ImportRowError.line)
            ).all()
        )
        body = buffer.getvalue()
    return Response("\ufeff" + body, media_type="text/csv; charset=utf-8")
