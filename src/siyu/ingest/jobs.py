"""Import jobs: staging an uploaded file, queueing it for the worker, following it, its report.

The API (/api/v1/imports) and the console (/imports) both call these, so they check the same
role, accept the same formats and keep files in the same place.

An upload waits in a folder of its own under SIYU_UPLOAD_DIR, named by a random token. The
console stages it first and queues it once the preview is confirmed; a `.pending` marker says
it is not queued yet, so a staged file nobody confirmed can be cleared away later.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.errors import Forbidden, Invalid, NotFound
from siyu.ingest.models import ImportRowError
from siyu.ingest.registry import ALIASES, importers
from siyu.ingest.tasks import IMPORT_JOB
from siyu.kit.actor import Actor
from siyu.staff.permissions import allow, owns_only
from siyu.worker.models import Job
from siyu.worker.progress import in_memory
from siyu.worker.queue import enqueue, get_job

PENDING = ".pending"
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
# A staged upload nobody confirmed or cancelled is removed after this long.
STALE_PENDING_SECONDS = 24 * 3600
FINISHED = ("done", "failed")


def may_import(actor: Actor) -> bool:
    try:
        allow(actor, "import")
    except Forbidden:
        return False
    return True


def check_format(fmt: str) -> None:
    """Refuse an unknown format now rather than in a failed job later."""
    known = {"auto", *ALIASES}
    for cls in importers().values():
        known.update(n for n in (cls.name, cls.platform) if n)
    if fmt.startswith("mapping:"):
        # A mapping names a file on the server: not something a client may point at.
        raise Invalid("mapping formats are for the CLI; over the API use auto or a named format")
    if fmt not in known:
        raise Invalid(f"unknown format {fmt!r}; known: {', '.join(sorted(known))}")


def upload_root() -> Path:
    return get_settings().upload_dir.resolve()


def stage_upload(source: BinaryIO, file_name: str | None, *, actor: Actor) -> Path:
    """Write an uploaded file into a folder of its own; returns its path. Not queued yet."""
    allow(actor, "import")
    name = Path(file_name or "upload").name
    if name in ("", ".", "..") or name == PENDING:
        raise Invalid(f"{file_name!r} is not a usable file name")
    _clear_stale(upload_root())
    folder = upload_root() / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    (folder / PENDING).touch()
    target = folder / name
    with target.open("wb") as out:
        while block := source.read(1 << 20):
            out.write(block)
    if target.stat().st_size == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise Invalid(f"{name}: the file is empty")
    return target


def staged_file(token: str) -> Path:
    """The file staged under `token` and not queued yet; NotFound for anything else."""
    folder = _folder(token)
    if folder is None or not (folder / PENDING).is_file():
        raise NotFound("this upload is gone: it was imported, cancelled or never existed")
    files = [p for p in folder.iterdir() if p.is_file() and p.name != PENDING]
    if len(files) != 1:
        raise NotFound("this upload is gone: it was imported, cancelled or never existed")
    return files[0]


def token_of(path: Path) -> str:
    return path.parent.name


def discard_upload(token: str, *, actor: Actor) -> None:
    """Delete a staged upload (cancelled before import). A queued one is left to its job."""
    allow(actor, "import")
    staged_file(token)
    folder = _folder(token)
    assert folder is not None
    shutil.rmtree(folder, ignore_errors=True)


def queue_import(session: Session, *, path: Path, fmt: str, actor: Actor) -> Job:
    """Queue the import of a staged upload (in the caller's transaction: outbox)."""
    allow(actor, "import")
    check_format(fmt)
    path = path.resolve()
    if not path.is_file() or not path.is_relative_to(upload_root()):
        raise NotFound("this upload is gone: it was imported, cancelled or never existed")
    job = enqueue(
        session,
        kind=IMPORT_JOB,
        created_by=actor.label,
        payload={"path": str(path), "file_name": path.name, "format": fmt},
    )
    (path.parent / PENDING).unlink(missing_ok=True)
    return job


def get_import(session: Session, job_id: int, *, actor: Actor) -> Job:
    allow(actor, "read")
    return get_job(session, job_id, IMPORT_JOB)


@dataclass
class Progress:
    done: int
    total: int | None
    percent: float | None


def progress_of(job: Job) -> Progress:
    done, total = in_memory(job.id) or (job.progress_done, job.progress_total)
    percent = round(100 * done / total, 1) if total else None
    if job.state == "done":
        # On SQLite progress lives only in the worker's memory, so a finished job may have no
        # total on its row; finished is 100% either way.
        done, percent = total or done, 100.0
    return Progress(done, total, percent)


@dataclass
class ImportHistory:
    jobs: list[Job]
    newer: int | None  # `after` for the page before (newer jobs), None on the first page
    older: int | None  # `before` for the next page (older jobs)


def list_imports(
    session: Session,
    *,
    actor: Actor,
    before: int | None = None,
    after: int | None = None,
    limit: int = 20,
) -> ImportHistory:
    """Import jobs, newest first, a page at a time keyed on the id."""
    allow(actor, "read")
    limit = max(1, min(limit, 100))
    query = select(Job).where(Job.kind == IMPORT_JOB)
    if after is not None:
        # The page of newer jobs just above `after`, read upwards and shown newest first.
        rows = list(
            session.execute(query.where(Job.id > after).order_by(Job.id).limit(limit + 1)).scalars()
        )
        more_newer = len(rows) > limit
        jobs = list(reversed(rows[:limit]))
        older = jobs[-1].id if jobs else None
        return ImportHistory(jobs, jobs[0].id if more_newer and jobs else None, older)
    if before is not None:
        query = query.where(Job.id < before)
    rows = list(session.execute(query.order_by(Job.id.desc()).limit(limit + 1)).scalars())
    jobs = rows[:limit]
    newer = jobs[0].id if before is not None and jobs and _has_newer(session, jobs[0].id) else None
    return ImportHistory(jobs, newer, jobs[-1].id if len(rows) > limit else None)


def _has_newer(session: Session, job_id: int) -> bool:
    return bool(
        session.execute(
            select(func.count()).where(Job.kind == IMPORT_JOB, Job.id > job_id)
        ).scalar_one()
    )


def error_report(session: Session, job: Job, *, actor: Actor) -> tuple[str, str]:
    """The finished job's rejected rows as CSV text (with a BOM for Excel) and a file name.

    The report written beside the upload has the whole rows; without it (another server wrote
    it, or it is gone) the lines and reasons come from the database.
    """
    allow(actor, "read")
    if owns_only(actor):
        # The rows are anyone's customers, not only the staff member's own.
        raise Forbidden("the staff role sees only its own customers, not whole import files")
    if job.state != "done" or not job.result:
        raise NotFound(f"import {job.id} has no error report (state: {job.state})")
    stem = Path(str(job.payload.get("file_name") or "import")).stem
    report = _inside_uploads(job.result.get("error_report"))
    if report is not None:
        body = report.read_text(encoding="utf-8-sig")
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
    return "\ufeff" + body, f"{stem}.errors.csv"


def _inside_uploads(value: Any) -> Path | None:
    """A report path from a job's result, only if it is a file inside the upload folder."""
    if not isinstance(value, str) or not value:
        return None
    path = Path(value).resolve()
    if not path.is_relative_to(upload_root()) or not path.is_file():
        return None
    return path


def _folder(token: str) -> Path | None:
    if not _TOKEN.match(token):
        return None
    folder = upload_root() / token
    return folder if folder.is_dir() else None


def _clear_stale(root: Path) -> None:
    """Remove staged uploads older than a day that were never confirmed or cancelled."""
    if not root.is_dir():
        return
    cutoff = time.time() - STALE_PENDING_SECONDS
    for marker in root.glob(f"*/{PENDING}"):
        try:
            if marker.stat().st_mtime < cutoff and _TOKEN.match(marker.parent.name):
                shutil.rmtree(marker.parent, ignore_errors=True)
        except OSError:
            continue
