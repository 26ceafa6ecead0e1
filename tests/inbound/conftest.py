"""Inbound tests reuse the console's fixtures (app, browser, signed_in) and keep uploads in tmp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from siyu.config import get_settings
from tests.console.conftest import (  # noqa: F401 - fixtures
    admin,
    app,
    browser,
    client,
    client_factory,
    signed_in,
)


@pytest.fixture(autouse=True)
def _uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SIYU_UPLOAD_DIR", str(tmp_path / "uploads"))
    get_settings.cache_clear()
    yield tmp_path / "uploads"
    get_settings.cache_clear()
