"""The session key: generated once when unset and kept, so a restart keeps everyone signed in."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from siyu.config import Settings
from siyu.console.secret import key_file, secret_key


def test_configured_key_wins(tmp_path: Path) -> None:
    settings = Settings(secret_key="from-env", database_url=f"sqlite:///{tmp_path}/siyu.db")
    assert secret_key(settings) == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_generated_once_beside_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SIYU_SECRET_KEY")
    settings = Settings(database_url=f"sqlite:///{tmp_path}/data/siyu.db")
    assert key_file(settings) == tmp_path / "data" / "secret_key"
    first = secret_key(settings)
    assert len(first) >= 32
    assert secret_key(settings) == first
    assert stat.S_IMODE((tmp_path / "data" / "secret_key").stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["secret_key"]


def test_other_databases_keep_it_in_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIYU_SECRET_KEY")
    settings = Settings(database_url="postgresql+psycopg://siyu@db.internal/siyu")
    assert key_file(settings) == Path("var") / "secret_key"
