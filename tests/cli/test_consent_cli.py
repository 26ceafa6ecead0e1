"""`siyu consent grant|withdraw|history`: the ledger from the command line, JSON for scripts,
one-line errors and exit code 1 for unknown channels and contacts."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.contacts import service as contacts_service
from siyu.db.session import unit_of_work
from siyu.kit.actor import Actor

runner = CliRunner()


def siyu(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def make_contact() -> int:
    with unit_of_work() as session:
        contact = contacts_service.create_contact(
            session, actor=Actor.cli(), identities=["phone:13800138000"]
        )
        return contact.id


def test_grant_withdraw_history(database_url: str) -> None:
    cid = make_contact()
    code, out, _ = siyu("consent", "grant", "phone:13800138000", "sms", "--purpose", "新品")
    assert code == 0 and f"contact {cid}: sms consent granted" in out
    code, out, _ = siyu("consent", "grant", str(cid), "sms", "--purpose", "新品")
    assert code == 0 and "nothing changed" in out
    code, out, _ = siyu("consent", "withdraw", str(cid), "sms", "--json")
    assert code == 0
    answer = json.loads(out)
    assert answer["changed"] is True and answer["contact_id"] == cid
    assert [(c["channel"], c["granted"]) for c in answer["current"]] == [("sms", False)]
    code, out, _ = siyu("consent", "history", str(cid), "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["channel"], r["granted"], r["purpose"], r["source"], r["actor"]) for r in rows] == [
        ("sms", False, "", "cli", "cli"),
        ("sms", True, "新品", "cli", "cli"),
    ]
    code, out, _ = siyu("consent", "history", str(cid))
    assert code == 0 and "新品" in out and "cli" in out


def test_errors_are_one_line_with_exit_1(database_url: str) -> None:
    cid = make_contact()
    code, _, err = siyu("consent", "grant", str(cid), "fax")
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines() == [
        "error: unknown consent channel 'fax'; known: email, sms, wecom, wechat_oa"
    ]
    code, _, err = siyu("consent", "withdraw", "phone:13900000000", "sms")
    assert code == 1 and err.strip() == "error: no contact with phone +8613900000000"
    code, _, err = siyu("consent", "history", "424242")
    assert code == 1 and "no contact with id 424242" in err
    code, _, _ = siyu("consent", "grant", str(cid))
    assert code == 2  # a missing argument is a usage error
    code, out, _ = siyu("consent", "history", str(cid))
    assert code == 0 and "no consent on record" in out
