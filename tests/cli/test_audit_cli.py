"""`siyu audit list`: the audit log for scripts (--json) and people."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from siyu.cli.main import app

runner = CliRunner()


def siyu(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_audit_list(database_url: str) -> None:
    assert siyu("staff", "create", "mei", "--role", "staff")[0] == 0
    assert siyu("staff", "disable", "mei")[0] == 0
    assert siyu("apikey", "create", "bi")[0] == 0
    code, out, _ = siyu("audit", "list", "--json")
    assert code == 0
    body = json.loads(out)
    assert [e["action"] for e in body["items"]] == [
        "apikey.create",
        "staff.disable",
        "staff.create",
    ]
    assert body["items"][1]["actor"] == "cli" and body["items"][1]["detail"] == {"login": "mei"}
    code, out, _ = siyu("audit", "list", "--json", "--action", "staff.*", "--limit", "1")
    page = json.loads(out)
    assert [e["action"] for e in page["items"]] == ["staff.disable"] and page["next_cursor"]
    code, out, _ = siyu(
        "audit", "list", "--json", "--action", "staff.*", "--cursor", page["next_cursor"]
    )
    assert [e["action"] for e in json.loads(out)["items"]] == ["staff.create"]
    code, out, _ = siyu("audit", "list", "--object-type", "staff")
    assert code == 0 and "staff.disable" in out and "apikey.create" not in out
    code, out, _ = siyu("audit", "list", "--since", "2999-01-01", "--json")
    assert json.loads(out)["items"] == []


def test_audit_list_errors_are_one_line(database_url: str) -> None:
    code, out, err = siyu("audit", "list", "--since", "yesterday")
    assert code == 1 and "not a date" in (out + err) and "Traceback" not in out + err
    code, out, err = siyu("audit", "list", "--object-id", "3")
    assert code == 1 and "object type" in (out + err)
