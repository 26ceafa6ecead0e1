"""`siyu import` retries a collision with another writer (a unique row written at the same
moment): the file's transaction was rolled back whole, so running it again is safe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from siyu.cli.main import app

CSV = (
    "order_id,platform,placed_at,status,total,currency,customer\n"
    "R1,offline,2024-01-05,completed,10,CNY,phone:13800138000\n"
)


def collide_first(times: int, real: Any) -> Any:
    calls = {"n": 0}

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            raise IntegrityError("INSERT …", {}, Exception("duplicate key"))
        return real(*args, **kwargs)

    return wrapped


def test_cli_import_retries_a_collision(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import siyu.ingest.cli as cli

    path = tmp_path / "orders.csv"
    path.write_text(CSV, encoding="utf-8")
    monkeypatch.setattr(cli, "import_file", collide_first(1, cli.import_file))
    result = CliRunner().invoke(app, ["import", str(path), "--json"])
    assert result.exit_code == 0 and '"orders_created": 1' in result.stdout
    monkeypatch.setattr(cli, "import_file", collide_first(99, cli.import_file))
    result = CliRunner().invoke(app, ["import", str(path)])
    assert result.exit_code == 1 and "run this one again" in result.stderr
