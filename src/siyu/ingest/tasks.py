"""The import job: a file uploaded over the API, imported by the worker with progress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from siyu.ingest.service import import_file
from siyu.worker.models import Job
from siyu.worker.progress import Reporter
from siyu.worker.runner import handler

IMPORT_JOB = "ingest.import_file"


@handler(IMPORT_JOB)
def run_import(session: Session, job: Job, engine: Engine) -> dict[str, Any]:
    reporter = Reporter(engine, job.id)
    try:
        summary = import_file(
            session,
            Path(job.payload["path"]),
            fmt=job.payload.get("format", "auto"),
            actor=job.created_by,
            display_name=job.payload.get("file_name"),
            progress=reporter.advance,
            on_start=reporter.start,
        )
    finally:
        reporter.finish()
    # Written with the import itself, so every process sees the final figures.
    job.progress_done, job.progress_total = reporter.done, reporter.total
    return summary.as_dict()
