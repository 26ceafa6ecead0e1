"""Consent over the API: grant and withdraw one channel, read the current state and the ledger;
repeats change nothing, unknown channels and contacts are problems, never a 500."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.contacts.models import ContactConsentChange
from tests.api.conftest import Api, assert_problem

URL = "/api/v1/contacts"


def ledger_rows(session: Session) -> int:
    return session.execute(select(func.count()).select_from(ContactConsentChange)).scalar_one()


def test_grant_withdraw_and_history(api: Api, session: Session) -> None:
    cid = api.ok("POST", URL, 201, json={"identities": ["phone:13800138000"]}, scope="write")["id"]
    key = f"apikey:{api.keys.ids['write']}"
    body = {"channel": "sms", "granted": True, "purpose": "新品通知"}
    answer = api.ok("POST", f"{URL}/{cid}/consent", json=body, scope="write")
    assert answer["changed"] is True and answer["contact_id"] == cid
    assert [(c["channel"], c["granted"], c["purpose"]) for c in answer["current"]] == [
        ("sms", True, "新品通知")
    ]
    again = api.ok("POST", f"{URL}/{cid}/consent", json=body, scope="write")
    assert again["changed"] is False and len(again["history"]) == 1
    api.ok(
        "POST",
        f"{URL}/{cid}/consent",
        json={"channel": "sms", "granted": False},
        scope="write",
    )
    # By identity reference too, with a read key.
    state = api.ok("GET", f"{URL}/phone:13800138000/consent", scope="read")
    assert [(h["granted"], h["source"], h["actor"]) for h in state["history"]] == [
        (False, "api", key),
        (True, "api", key),
    ]
    assert state["current"][0]["granted"] is False
    assert ledger_rows(session) == 2


def test_unknown_channel_is_a_422_naming_the_known_ones(api: Api, session: Session) -> None:
    cid = api.ok("POST", URL, 201, json={"identities": ["external_id:9"]}, scope="write")["id"]
    response = api.post(
        f"{URL}/{cid}/consent", json={"channel": "fax", "granted": True}, scope="write"
    )
    assert_problem(response, 422, "fax", "email", "sms", "wecom", "wechat_oa")
    assert ledger_rows(session) == 0


def test_unknown_contact_is_a_404(api: Api) -> None:
    body = {"channel": "sms", "granted": True}
    assert_problem(api.post(f"{URL}/999999/consent", json=body, scope="write"), 404, "999999")
    assert_problem(api.get(f"{URL}/phone:13900000000/consent", scope="read"), 404, "phone")


def test_a_read_key_may_not_change_consent(api: Api) -> None:
    cid = api.ok("POST", URL, 201, json={"identities": ["external_id:7"]}, scope="write")["id"]
    response = api.post(
        f"{URL}/{cid}/consent", json={"channel": "sms", "granted": True}, scope="read"
    )
    assert_problem(response, 403)


def test_bad_bodies_are_422(api: Api) -> None:
    cid = api.ok("POST", URL, 201, json={"identities": ["external_id:8"]}, scope="write")["id"]
    for body in ({"channel": "sms"}, {"channel": "sms", "granted": "maybe"}, {"granted": True}):
        assert_problem(api.post(f"{URL}/{cid}/consent", json=body, scope="write"), 422)
