"""`siyu suppression add|remove|list`: normalised addresses, JSON for scripts, exit code 1."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from siyu.cli.main import app

runner = CliRunner()


def siyu(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_add_list_remove(database_url: str) -> None:
    code, out, _ = siyu("suppression", "add", "Lin@Example.com", "--reason", "complained")
    assert code == 0 and "email lin@example.com suppressed" in out
    code, out, _ = siyu("suppression", "add", "lin@example.com")
    assert code == 0 and "already" in out
    code, out, _ = siyu("suppression", "add", "138 0013 8000", "--json")
    assert code == 0 and json.loads(out)["address"] == "+8613800138000"
    code, out, _ = siyu("suppression", "list", "--json")
    rows = json.loads(out)
    assert [(r["address"], r["source"]) for r in rows] == [
        ("+8613800138000", "cli"),
        ("lin@example.com", "cli"),
    ]
    code, out, _ = siyu("suppression", "list")
    assert code == 0 and "complained" in out
    code, out, _ = siyu("suppression", "remove", "13800138000")
    assert code == 0
    code, _, err = siyu("suppression", "remove", "13800138000")
    assert code == 1 and err.strip() == "error: phone +8613800138000 is not on the suppression list"
    code, _, err = siyu("suppression", "add", "nobody", "--kind", "email")
    assert code == 1 and "not an e-mail address" in err and "Traceback" not in err
    code, _, err = siyu("suppression", "list", "--kind", "fax")
    assert code == 1 and "unknown address kind" in err
