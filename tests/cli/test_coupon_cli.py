"""`siyu coupon …` as scripts use it: JSON out, one-line errors with exit code 1."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.contacts import service as contacts
from siyu.db.session import unit_of_work
from siyu.kit.actor import Actor

runner = CliRunner()


def siyu(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_create_issue_redeem_stats(database_url: str) -> None:
    assert siyu("init")[0] == 0
    code, out, _ = siyu("coupon", "create", "SPRING", "--amount", "20", "--minimum", "100",
                        "--prefix", "SP", "--days", "30", "--stock", "5", "--json")  # fmt: skip
    assert code == 0, out
    assert json.loads(out)["terms"] == "¥20 off over ¥100"
    with unit_of_work() as session:
        contacts.create_contact(session, actor=Actor.cli(), identities=["phone:13800138000"])
    code, out, err = siyu("coupon", "issue", "SPRING", "--contact", "phone:13800138000", "--json")
    assert code == 0, err
    issued = json.loads(out)
    (coupon_code,) = issued["codes"].values()
    code, _, err = siyu("coupon", "redeem", coupon_code, "--amount", "50")
    assert code == 1 and "below the minimum spend of ¥100" in err and "Traceback" not in err
    code, out, err = siyu("coupon", "redeem", coupon_code, "--amount", "120", "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == "redeemed"
    code, _, err = siyu("coupon", "redeem", coupon_code, "--amount", "120")
    assert code == 1 and "already redeemed" in err
    code, out, _ = siyu("coupon", "stats", "SPRING", "--json")
    figures = json.loads(out)
    assert (figures["issued"], figures["redeemed"], figures["redemption_rate"]) == (1, 1, 1.0)
    code, out, _ = siyu("coupon", "list", "--json")
    assert [c["name"] for c in json.loads(out)] == ["SPRING"]
    code, out, _ = siyu("coupon", "show", "SPRING")
    assert code == 0 and "issued 1, redeemed 1" in out
    code, out, _ = siyu("coupon", "state", "SPRING", "paused", "--json")
    assert code == 0 and json.loads(out)["state"] == "paused"
    code, _, err = siyu("coupon", "issue", "SPRING", "--contact", "phone:13800138000")
    assert code == 1 and "SPRING is paused" in err


def test_errors_are_one_line(database_url: str) -> None:
    assert siyu("init")[0] == 0
    code, _, err = siyu("coupon", "show", "WINTER")
    assert code == 1 and "there is no coupon 'WINTER'" in err
    code, _, err = siyu("coupon", "create", "X", "--amount", "abc")
    assert code == 1 and "not an amount" in err
    code, _, err = siyu("coupon", "redeem", "NOPE")
    assert code == 1 and "no coupon with the code" in err
