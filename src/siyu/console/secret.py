"""The key that signs session cookies: SIYU_SECRET_KEY, else one generated once and kept on disk.

A key made afresh at each start would sign everyone out at every restart, so an unset key is
generated the first time and stored beside the SQLite database (or in var/ for other databases).
Several processes may start together: the key is written to a draft and linked into place, so
one wins and the others read its key, never a half-written one.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from sqlalchemy import make_url

from siyu.config import Settings

log = logging.getLogger(__name__)
FILE_NAME = "secret_key"


def key_file(settings: Settings) -> Path:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent / FILE_NAME
    return Path("var") / FILE_NAME


def secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = key_file(settings)
    if not path.exists():
        _create(path)
        if make_url(settings.database_url).get_backend_name() != "sqlite":
            log.warning(
                "using the session key in %s; set SIYU_SECRET_KEY so that every server "
                "process signs sessions with the same key",
                path,
            )
    return path.read_text().strip()


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    # Readable by the owner only: whoever holds the key can forge a session.
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        # A hard link appears complete or not at all, and fails if another process won.
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
