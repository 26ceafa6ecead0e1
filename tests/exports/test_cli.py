"""`siyu export` as people and scripts use it: files, stdout, every table at once, one-line
errors, and an audit row for each export the command committed."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from siyu.audit.models import AuditEvent
from siyu.cli.main import app
from siyu.db.session import unit_of_work
from siyu.exports.registry import registry
from tests.exports.conftest import make_pool

runner = CliRunner()


def siyu(*args: str) -> tuple[int, bytes, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout_bytes, result.stderr


@pytest.fixture
def filled(database_url: str) -> str:
    with unit_of_work() as session:
        make_pool(session)
    return database_url


def audit_details() -> list[tuple[str, dict]]:
    with unit_of_work() as session:
        rows = session.execute(
            select(AuditEvent.subject_id, AuditEvent.detail)
            .where(AuditEvent.action == "export.table")
            .order_by(AuditEvent.id)
        ).all()
    return [(subject or "", detail) for subject, detail in rows]


def test_list_names_every_table_with_its_rows(filled: str) -> None:
    code, out, _ = siyu("export", "list", "--json")
    assert code == 0
    listed = {t["name"]: t for t in json.loads(out)}
    assert set(listed) == set(registry())
    assert listed["contact"]["rows"] == 3 and listed["contact_order"]["time_column"] == "placed_at"
    code, out, _ = siyu("export", "list")
    assert code == 0 and b"contact_order_line" in out


def test_a_table_to_a_file_and_to_stdout(filled: str, tmp_path: Path) -> None:
    target = tmp_path / "orders.parquet"  # the suffix chooses the format
    code, _, err = siyu("export", "contact_order", "--out", str(target), "--since", "2024-03-02")
    assert code == 0, err
    assert "2 row(s) of contact_order written to" in err
    assert pq.read_table(target).column("platform_order_id").to_pylist() == ["J2001", "J2002"]
    assert not list(tmp_path.glob(".*.part"))  # the draft was moved into place

    code, out, _ = siyu("export", "contact", "--bom", "--segment", "复购客户")
    assert code == 0 and out.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(out.decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == ["王小明"]
    code, out, _ = siyu("export", "contact_identity", "--format", "jsonl", "--out", "-")
    assert code == 0 and len(out.splitlines()) == 2
    assert audit_details() == [
        ("contact_order", {"format": "parquet", "rows": 2, "since": "2024-03-01T16:00:00Z"}),
        ("contact", {"format": "csv", "rows": 1, "segment": "复购客户"}),
        ("contact_identity", {"format": "jsonl", "rows": 2}),
    ]


def test_all_writes_one_file_per_table(filled: str, tmp_path: Path) -> None:
    folder = tmp_path / "dump"
    code, _, err = siyu("export", "all", "--out", str(folder))
    assert code == 0, err
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(f"{name}.parquet" for name in registry())
    assert pq.read_table(folder / "contact_order_line.parquet").num_rows == 3
    assert "password_hash" not in pq.read_table(folder / "staff_user.parquet").column_names
    assert len(audit_details()) == len(registry())
    code, _, err = siyu("export", "all", "--format", "jsonl", "--out", str(folder))
    assert code == 0 and (folder / "contact.jsonl").read_text().count("\n") == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["contact_ordr"], "no table 'contact_ordr' to export; did you mean 'contact_order'?"),
        (["contact", "--format", "xlsx"], "no export format 'xlsx'"),
        (["contact", "--since", "2024-02-30"], "--since '2024-02-30' is not a date or time"),
        (["contact", "--out", "/nonexistent/folder/c.csv"], "no folder /nonexistent/folder"),
        (["contact", "--out", "."], "it is a folder"),
        (["all"], "give --out FOLDER"),
        (["contact", "--segment", "没有这个"], "no segment '没有这个'"),
        (["orders", "--since", "2024-01-01"], "apply to tables, not to orders"),
    ],
)
def test_mistakes_are_one_line_errors(filled: str, args: list[str], message: str) -> None:
    code, _, err = siyu("export", *args)
    assert code == 1
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert audit_details() == []


def test_an_unwritable_file_is_an_error(filled: str) -> None:
    # /proc takes no new files, whoever asks (the tests may run as root, whom modes do not stop).
    code, _, err = siyu("export", "contact", "--out", "/proc/contact.csv")
    assert code == 1 and "cannot write /proc/contact.csv" in err
