"""The `siyu` command as scripts use it: JSON shapes, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.contacts.models import ContactOrder
from siyu.db.session import make_engine
from siyu.ingest.models import ImportBatch

runner = CliRunner()
HEADER = "order_id,platform,placed_at,status,total,currency,customer,name,phone,email,items\n"
ORDERS = (
    HEADER + "A1,taobao,2024-01-05 10:00:00,交易成功,1299.00,CNY,taobao_nick:小王,王小明,"
    "13800138000,,面霜\n"
    + "A2,jd,2024-02-05 10:00:00,完成,99,CNY,jd_pin:wang_jd,,,wang@example.com,\n"
    + "A3,jd,2024-02-06 10:00:00,完成,abc,CNY,jd_pin:wang_jd,,,,\n"
)


def siyu(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def orders_file(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    return path


def test_import_json_shape_and_contact_show(database_url: str, orders_file: Path) -> None:
    code, out, _ = siyu("import", str(orders_file), "--json")
    assert code == 0
    summary = json.loads(out)
    assert {
        "format",
        "rows_read",
        "orders_created",
        "orders_updated",
        "contacts_created",
        "contacts_merged",
        "rows_rejected",
        "errors",
    } <= set(summary)
    assert summary["format"] == "orders_csv"
    assert (summary["rows_read"], summary["orders_created"], summary["rows_rejected"]) == (3, 2, 1)
    assert summary["errors"] == [{"line": 4, "reason": "total: not an amount: 'abc'"}]
    # Two buyers so far; linking the JD account to the Taobao buyer merges them.
    code, out, _ = siyu("contacts", "show", "jd_pin:wang_jd", "--json")
    jd_id = json.loads(out)["id"]
    link = orders_file.with_name("link.csv")
    link.write_text(HEADER + "A9,jd,2024-03-01,完成,1,CNY,jd_pin:wang_jd,,13800138000,,\n")
    code, out, _ = siyu("import", str(link), "--json")
    assert json.loads(out)["contacts_merged"] == 1
    code, out, _ = siyu("contacts", "show", "phone:138 0013 8000", "--json")
    assert code == 0
    shown = json.loads(out)
    assert {
        "id",
        "name",
        "identities",
        "tags",
        "order_count",
        "total_spent",
        "first_order_at",
        "last_order_at",
        "platforms",
        "merged_ids",
    } <= set(shown)
    assert shown["name"] == "王小明"
    assert {"kind": "taobao_nick", "value": "小王"} in shown["identities"]
    assert shown["order_count"] == 3 and shown["total_spent"] == 129900 + 9900 + 100
    assert shown["platforms"] == ["jd", "taobao"]
    assert shown["merged_ids"] == [jd_id] and shown["id"] != jd_id
    # The absorbed id still resolves to the merged contact.
    code, out, _ = siyu("contacts", "show", str(jd_id), "--json")
    assert json.loads(out)["id"] == shown["id"]


def test_user_errors_are_one_line_with_exit_1(database_url: str, tmp_path: Path) -> None:
    code, _out, err = siyu("contacts", "show", "phone:13900000000")
    assert code == 1
    assert err.strip().splitlines() == ["error: no contact with phone +8613900000000"]
    code, _, err = siyu("contacts", "show", "phone:abc")
    assert code == 1 and "not a usable phone" in err and "Traceback" not in err
    not_export = tmp_path / "x.csv"
    not_export.write_text("a,b\n1,2\n")
    code, _, err = siyu("import", str(not_export))
    assert code == 1 and "not a recognised order or customer export" in err
    code, _, err = siyu("import", str(tmp_path / "missing.csv"))
    assert code == 1 and "no such file" in err
    code, _, _ = siyu("import")
    assert code == 2
    code, _, err = siyu("export", "nothing")
    assert code == 1 and "no table 'nothing' to export" in err


def test_search_tags_notes(database_url: str, orders_file: Path) -> None:
    siyu("import", str(orders_file))
    assert siyu("tag", "add", "taobao_nick:小王", "兴趣:护肤", "VIP")[0] == 0
    assert siyu("note", "add", "taobao_nick:小王", "喜欢清爽型")[0] == 0
    shown = json.loads(siyu("contacts", "show", "taobao_nick:小王", "--json")[1])
    assert shown["tags"] == ["VIP", "兴趣:护肤"]
    assert [n["body"] for n in shown["notes"]] == ["喜欢清爽型"]
    assert siyu("tag", "remove", "taobao_nick:小王", "VIP")[0] == 0
    code, _, err = siyu("tag", "remove", "taobao_nick:小王", "VIP")
    assert code == 1 and "has no tag VIP" in err
    found = json.loads(siyu("contacts", "search", "13800138000", "--json")[1])
    assert [c["id"] for c in found] == [shown["id"]]
    assert json.loads(siyu("contacts", "search", "王小", "--json")[1])[0]["name"] == "王小明"


def test_api_keys_and_staff(database_url: str) -> None:
    code, out, _ = siyu(
        "apikey", "create", "crm sync", "--scope", "read", "--scope", "write", "--json"
    )
    assert code == 0
    created = json.loads(out)
    assert created["key"].startswith("sy_") and created["scopes"] == ["read", "write"]
    listed = json.loads(siyu("apikey", "list", "--json")[1])
    assert [k["prefix"] for k in listed] == [created["prefix"]]
    assert "key" not in listed[0] and created["key"] not in json.dumps(listed)
    assert siyu("apikey", "revoke", created["prefix"])[0] == 0
    assert json.loads(siyu("apikey", "list", "--json")[1])[0]["revoked_at"]
    assert siyu("apikey", "create", "x", "--scope", "everything")[0] == 1
    assert siyu("staff", "create", "xiaomei", "--role", "staff", "--name", "小美")[0] == 0
    assert siyu("staff", "create", "xiaomei")[0] == 1
    assert siyu("staff", "create", "boss", "--role", "emperor")[0] == 1
    assert siyu("staff", "disable", "xiaomei")[0] == 0
    staff = json.loads(siyu("staff", "list", "--json")[1])
    assert [(s["login"], bool(s["disabled_at"])) for s in staff] == [("xiaomei", True)]


def test_exports_in_every_format(database_url: str, orders_file: Path, tmp_path: Path) -> None:
    siyu("import", str(orders_file))
    code, out, _ = siyu("export", "orders", "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("order_id,platform,shop,placed_at")
    assert len(out.splitlines()) == 3
    lines = siyu("export", "contacts", "--format", "jsonl")[1].splitlines()
    assert sorted(json.loads(line)["customer"] for line in lines) == [
        "email:wang@example.com",
        "phone:+8613800138000",
    ]
    target = tmp_path / "orders.parquet"
    assert siyu("export", "orders", "--format", "parquet", "-o", str(target))[0] == 0
    table = pq.read_table(target)
    assert table.num_rows == 2 and "customer" in table.column_names
    assert siyu("export", "orders", "--format", "parquet")[0] == 1
    # The CSV export imports back without changing anything.
    exported = tmp_path / "export.csv"
    siyu("export", "orders", "-o", str(exported))
    again = json.loads(siyu("import", str(exported), "--json")[1])
    assert (again["orders_created"], again["orders_updated"], again["contacts_created"]) == (
        0,
        0,
        0,
    )


def test_init_creates_schema_and_first_admin_once(database_url: str) -> None:
    code, out, _ = siyu("init", "--no-demo")
    assert code == 0 and "login:    admin" in out
    code, out, _ = siyu("init", "--no-demo")
    assert code == 0 and "password" not in out


def test_killed_import_leaves_nothing_and_can_run_again(database_url: str, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8") as handle:
        handle.write(HEADER)
        for n in range(150_000):
            handle.write(
                f"K{n},taobao,2024-01-05 10:00:00,交易成功,10,CNY,taobao_nick:u{n % 5000},,,,\n"
            )
    env = {**os.environ, "SIYU_DATABASE_URL": database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "siyu.cli.main", "import", str(big)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    engine = make_engine(database_url)
    try:
        # Kill it while it is writing: once its import batch row is flushed (not committed).
        time.sleep(2.5)
        assert process.poll() is None, "the import finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(ImportBatch)).scalar() == 0
            assert connection.execute(select(func.count()).select_from(ContactOrder)).scalar() == 0
        code, out, _ = siyu("import", str(big), "--json")
        assert code == 0 and json.loads(out)["orders_created"] == 150_000
    finally:
        engine.dispose()


def test_staff_handover(database_url: str, tmp_path: Path) -> None:
    assert siyu("staff", "create", "mei")[0] == 0
    assert siyu("staff", "create", "lan")[0] == 0
    members = tmp_path / "members.csv"
    members.write_text(
        "customer,name,owner\nexternal_id:a,甲,mei\nexternal_id:b,乙,mei\n", encoding="utf-8"
    )
    assert siyu("import", str(members))[0] == 0
    code, out, _ = siyu("staff", "handover", "mei", "lan", "--dry-run")
    assert code == 0 and "2 customer(s) would move from mei to lan" in out
    assert json.loads(siyu("contacts", "show", "external_id:a", "--json")[1])["owner"] == "mei"
    code, out, _ = siyu("staff", "handover", "mei", "lan")
    assert code == 0 and "2 customer(s) moved" in out
    assert json.loads(siyu("contacts", "show", "external_id:b", "--json")[1])["owner"] == "lan"
    code, _, err = siyu("staff", "handover", "mei", "nobody")
    assert code == 1 and "nobody" in err


def test_staff_password(database_url: str) -> None:
    from siyu.db.session import unit_of_work
    from siyu.staff.auth import sign_in

    assert siyu("staff", "create", "mei", "--password", "first pass")[0] == 0
    result = runner.invoke(app, ["staff", "password", "mei"], input="second pass\nsecond pass\n")
    assert result.exit_code == 0 and "password of mei set" in result.stdout
    with unit_of_work() as session:
        assert sign_in(session, identifier="mei", password="second pass").ok
        assert not sign_in(session, identifier="mei", password="first pass").ok
    assert siyu("staff", "password", "mei", "--password", "short")[0] == 1
