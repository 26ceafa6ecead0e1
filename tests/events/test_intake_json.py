"""Reading and writing event JSON: the fast reader accepts what json does and loses nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from siyu.events.intake import BadRequest, decode_body, dump_json, parse_json, read_request
from tests.events.conftest import Source, basic, events


def test_long_integers_keep_every_digit() -> None:
    # orjson would read these as floats; 19 digits or more go to json instead.
    body = b'{"userId": 123456789012345678901234567890, "n": -9223372036854775809, "s": 7}'
    assert parse_json(body) == {
        "userId": 123456789012345678901234567890,
        "n": -9223372036854775809,
        "s": 7,
    }


def test_nan_and_infinity_are_read_as_null() -> None:
    assert parse_json(b'{"a": NaN, "b": -Infinity, "c": 1e400, "d": 1.5}') == {
        "a": None,
        "b": None,
        "c": None,
        "d": 1.5,
    }


def test_what_json_reads_is_still_read() -> None:
    # UTF-16 and a lone surrogate: orjson refuses both, json reads them.
    assert parse_json('{"a": "中"}'.encode("utf-16")) == {"a": "中"}
    assert parse_json(b'{"a": "\\ud800"}') == {"a": "\ud800"}
    with pytest.raises(BadRequest) as refused:
        decode_body(b'{"a": ', encoding=None, limit=1000)
    assert refused.value.code == "invalid_json"


@pytest.mark.parametrize(
    "value",
    [
        {"name": "王小明", "price": 99.5, "big": 1e16, "tiny": 1e-7, "nested": [1, None, True]},
        {"n": 2**64 - 1, "m": -(2**63), "huge": 10**30},
        {"escapes": 'quote " backslash \\ tab \t newline \n nul \x00 del \x7f', "e": "é😀"},
    ],
)
def test_written_json_is_what_json_writes(value: dict) -> None:
    compact = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    written = dump_json(value)
    # The same text, except that orjson may spell a float shorter (1e-7 for 1e-07).
    assert json.loads(written) == value and len(written) <= len(compact)
    if "tiny" not in value:
        assert written == compact


def test_a_lone_surrogate_is_refused_not_a_server_error() -> None:
    call = {"type": "track", "userId": "u\ud800", "event": "e"}
    for kind, body in (("batch", {"batch": [call]}), ("track", call)):
        with pytest.raises(BadRequest) as refused:
            read_request(body, kind=kind, received_at=datetime.now(UTC))
        assert refused.value.code == "invalid_event"


def test_shared_batch_context_and_times(client: TestClient, source: Source) -> None:
    sent = "2024-05-01T12:00:10Z"
    body = {
        "batch": [
            {
                "type": "track",
                "userId": "u",
                "event": "a",
                "messageId": "m1",
                "timestamp": "2024-05-01T12:00:00Z",
            },
            {
                "type": "track",
                "userId": "u",
                "event": "b",
                "messageId": "m2",
                "timestamp": "2024-05-01T12:00:00Z",
                "context": {"locale": "en-US", "ip": "1.2.3.4"},
            },
            {
                "type": "track",
                "userId": "u",
                "event": "c",
                "messageId": "m3",
                "timestamp": "2024-05-01T12:00:05Z",
                "sentAt": "2024-05-01T12:00:06Z",
            },
        ],
        "context": {"locale": "zh-CN", "library": {"name": "x"}},
        "sentAt": sent,
        "big": 12345678901234567890123,
    }
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **basic(source.key)}
    assert client.post("/v1/batch", content=raw, headers=headers).json() == {"success": True}
    a, b, c = events()
    assert a.context == {"locale": "zh-CN", "library": {"name": "x"}}
    assert b.context == {"locale": "en-US", "library": {"name": "x"}, "ip": "1.2.3.4"}
    assert c.context == a.context
    assert (a.received_at - a.timestamp).total_seconds() == pytest.approx(10, abs=1e-6)
    assert (c.received_at - c.timestamp).total_seconds() == pytest.approx(1, abs=1e-6)
    assert a.sent_at == b.sent_at == datetime(2024, 5, 1, 12, 0, 10, tzinfo=UTC)


def test_a_long_numeric_user_id_is_stored_exactly(client: TestClient, source: Source) -> None:
    raw = b'{"userId": 123456789012345678901234567890, "event": "e", "messageId": "m"}'
    headers = {"Content-Type": "application/json", **basic(source.key)}
    assert client.post("/v1/track", content=raw, headers=headers).status_code == 200
    assert [e.user_id for e in events()] == ["123456789012345678901234567890"]


def test_nul_in_stored_json_is_refused_whole(client: TestClient, source: Source) -> None:
    # PostgreSQL's JSON cannot hold NUL, so no database may store it.
    headers = {"Content-Type": "application/json", **basic(source.key)}
    ok = {"type": "track", "userId": "u", "event": "a", "messageId": "ok"}
    for body in (
        {"batch": [ok, {**ok, "messageId": "bad", "properties": {"note": "a\x00b"}}]},
        {"batch": [ok], "context": {"page": {"title": "\x00"}}},
    ):
        response = client.post("/v1/batch", content=json.dumps(body).encode(), headers=headers)
        assert response.status_code == 400 and response.json()["code"] == "invalid_event"
    assert events() == []
