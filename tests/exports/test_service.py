"""Exports read back by other people's readers (csv, orjson, pyarrow): every value survives,
secrets never leave, filters and permissions decide the rows, and each export is audited."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import BigInteger, Column, ForeignKey, Integer, MetaData, String, Table, select
from sqlalchemy.orm import Session

from siyu.audit.models import AuditEvent
from siyu.db.models import Base
from siyu.db.types import UTCDateTime
from siyu.errors import Forbidden, Invalid, NotFound
from siyu.exports import formats, service
from siyu.exports.registry import EXCLUDED_COLUMNS, describe, registry
from siyu.kit.actor import Actor
from siyu.staff.models import ApiKey, StaffUser
from tests.exports.conftest import PLACED, Pool

CLI = Actor.cli()


def exported(session: Session, table: str, fmt: str, actor: Actor = CLI, **options: Any) -> bytes:
    bom = options.pop("bom", False)
    plan = service.plan_export(session, actor=actor, table=table, fmt=fmt, **options)
    out = io.BytesIO()
    service.write(session, actor=actor, plan=plan, out=out, bom=bom)
    return out.getvalue()


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def jsonl_rows(data: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in data.splitlines()]


def parquet_table(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


def test_csv_reads_back_with_the_csv_module(session: Session, pool: Pool) -> None:
    rows = csv_rows(exported(session, "contact_order", "csv"))
    assert [r["platform_order_id"] for r in rows] == ["T1001", "J2001", "J2002"]  # key order
    first = rows[0]
    assert first["id"] == str(pool.orders[0].id)
    assert (first["total_amount"], first["paid_amount"], first["currency"]) == (
        "129900",
        "128990",
        "CNY",
    )
    assert first["placed_at"] == "2024-03-01T02:30:15.123456Z"
    assert first["paid_at"] == ""  # NULL
    assert first["receiver_name"] == "王小明"
    (note,) = csv_rows(exported(session, "contact_note", "csv"))
    assert note["body"] == '喜欢清爽型，"不要"香味,\n换行'  # quotes, commas and newlines survive
    contacts = csv_rows(exported(session, "contact", "csv"))
    assert orjson.loads(contacts[0]["traits"]) == {"肤质": "干性", "vip": True, "points": 12}
    consent = csv_rows(exported(session, "contact_consent", "csv"))
    assert [c["granted"] for c in consent] == ["true", "false"]


def test_csv_starts_with_a_bom_only_when_asked(session: Session, pool: Pool) -> None:
    plain = exported(session, "contact", "csv")
    marked = exported(session, "contact", "csv", bom=True)
    assert not plain.startswith(b"\xef\xbb\xbf")
    assert marked == b"\xef\xbb\xbf" + plain
    # What Excel does with the mark: the whole file is UTF-8, the Chinese reads as Chinese.
    assert "王小明" in marked.decode("utf-8-sig")


def test_json_lines_read_back_with_orjson(session: Session, pool: Pool) -> None:
    rows = jsonl_rows(exported(session, "contact", "jsonl"))
    by_id = {row["id"]: row for row in rows}
    wang, zhang = by_id[pool.wang.id], by_id[pool.zhang.id]
    assert wang["name"] == "王小明" and wang["traits"] == {
        "肤质": "干性",
        "vip": True,
        "points": 12,
    }
    assert (wang["total_spent"], wang["currency"]) == (138_890, "CNY")
    assert wang["first_order_at"] == "2024-03-01T02:30:15.123456Z"
    assert zhang["name"] is None and zhang["city"] is None and zhang["first_order_at"] is None
    assert list(wang) == registry()["contact"].column_names


def test_parquet_reads_back_with_pyarrow(session: Session, pool: Pool) -> None:
    table = parquet_table(exported(session, "contact_order_line", "parquet"))
    schema = table.schema
    assert schema.field("amount").type == pa.int64()
    assert schema.field("title").type == pa.string()
    assert schema.field("amount").metadata[b"unit"].startswith(b"fen")
    rows = table.to_pylist()
    assert [r["title"] for r in rows] == ["玫瑰精华", "Toothbrush", "小样"]
    assert [r["unit_price"] for r in rows] == [49_950, None, 100]
    # Lines have no currency of their own: each gets its order's.
    assert [r["currency"] for r in rows] == ["CNY", "USD", "CNY"]

    contacts = parquet_table(exported(session, "contact", "parquet"))
    assert contacts.schema.field("first_order_at").type == pa.timestamp("us", tz="UTC")
    assert contacts.schema.field("traits").type == pa.string()  # JSON as text
    wang = next(r for r in contacts.to_pylist() if r["id"] == pool.wang.id)
    assert wang["first_order_at"] == PLACED
    assert orjson.loads(wang["traits"])["肤质"] == "干性"
    consent = parquet_table(exported(session, "contact_consent", "parquet"))
    assert consent.schema.field("granted").type == pa.bool_()
    assert consent.column("granted").to_pylist() == [True, False]


def test_parquet_writes_row_groups_of_whole_chunks(session: Session, pool: Pool) -> None:
    plan = service.plan_export(session, actor=CLI, table="contact_order", fmt="parquet")
    out = io.BytesIO()
    chunks = service.chunks(session, plan, size=1)
    rows = formats.write_parquet(plan.table.columns, chunks, out, row_group=2)
    parquet = pq.ParquetFile(io.BytesIO(out.getvalue()))
    assert rows == 3 and parquet.metadata.num_row_groups == 2
    empty = parquet_table(exported(session, "contact_merge", "parquet"))
    assert empty.num_rows == 0 and "survivor_id" in empty.column_names


def test_secrets_never_leave(session: Session, pool: Pool) -> None:
    password_hash = session.scalar(
        select(StaffUser.password_hash).where(StaffUser.login == "xiaomei")
    )
    key_hash = session.scalar(select(ApiKey.secret_hash))
    assert password_hash and key_hash
    for fmt in formats.FORMATS:
        for table in ("staff_user", "staff_api_key", "event_source", "engage_channel"):
            data = exported(session, table, fmt)
            assert password_hash.encode() not in data and key_hash.encode() not in data
            assert pool.api_key_secret.encode() not in data
    assert "password_hash" not in registry()["staff_user"].column_names
    assert "secret_hash" not in registry()["staff_api_key"].column_names
    assert "config" not in registry()["engage_channel"].column_names
    assert "login" in registry()["staff_user"].column_names


def test_no_column_that_looks_secret_is_exported_unreviewed() -> None:
    # A new column named like a secret must be excluded (with its reason) or renamed.
    looks_secret = re.compile(r"password|secret|token|hash")
    for table in registry().values():
        leaked = [name for name in table.column_names if looks_secret.search(name)]
        assert not leaked, (table.name, leaked)
    assert all(reason for reason in EXCLUDED_COLUMNS.values())


def test_every_table_is_exportable_and_new_ones_appear_by_themselves() -> None:
    assert set(registry()) == set(Base.metadata.tables)
    for name in (
        "contact",
        "contact_identity",
        "contact_order",
        "contact_order_line",
        "contact_tag",
        "contact_note",
        "contact_consent_change",
        "event",
        "segment_member",
        "engage_message",
        "engage_journey",
        "audit_event",
    ):
        assert name in registry()
    schema = MetaData()
    Base.metadata.tables["contact"].to_metadata(schema)
    later = Table(
        "loyalty_point",
        schema,
        Column("id", Integer, primary_key=True),
        Column("contact_id", BigInteger, ForeignKey("contact.id")),
        Column("points_value", BigInteger),
        Column("reason", String(64)),
        Column("created_at", UTCDateTime()),
    )
    described = describe(later)
    assert described.column_names == [
        "id",
        "contact_id",
        "points_value",
        "currency",
        "reason",
        "created_at",
    ]
    assert (described.time_column, described.contact_column) == ("created_at", "contact_id")


def test_since_and_until_filter_on_the_time_column(session: Session, pool: Pool) -> None:
    def ids(**bounds: str) -> list[str]:
        rows = jsonl_rows(exported(session, "contact_order", "jsonl", **bounds))
        return [r["platform_order_id"] for r in rows]

    # Dates are the merchant's days (Asia/Shanghai); until is exclusive.
    assert ids(since="2024-03-01", until="2024-04-03") == ["T1001", "J2001"]
    assert ids(since="2024-03-02") == ["J2001", "J2002"]
    assert ids(until="2024-04-02T20:00+08:00") == ["T1001"]  # 12:00 UTC, not included
    assert ids(since=datetime(2024, 5, 1, tzinfo=UTC)) == ["J2002"]


def test_a_segment_keeps_its_members_rows(session: Session, pool: Pool) -> None:
    contacts = jsonl_rows(exported(session, "contact", "jsonl", segment="复购客户"))
    assert [c["id"] for c in contacts] == [pool.wang.id]
    lines = jsonl_rows(exported(session, "contact_order_line", "jsonl", segment="复购客户"))
    assert [line["title"] for line in lines] == ["玫瑰精华", "Toothbrush"]
    with pytest.raises(Invalid, match="not kept per customer"):
        service.plan_export(session, actor=CLI, table="contact_tag", segment="复购客户")
    with pytest.raises(NotFound, match="no segment"):
        service.plan_export(session, actor=CLI, table="contact", segment="没有")


def test_staff_export_only_their_own_customers(session: Session, pool: Pool) -> None:
    xiaomei = Actor("staff:xiaomei", staff_id=pool.xiaomei.id, role="staff")
    contacts = jsonl_rows(exported(session, "contact", "jsonl", actor=xiaomei))
    assert [c["name"] for c in contacts] == ["王小明"]
    orders = jsonl_rows(exported(session, "contact_order", "jsonl", actor=xiaomei))
    assert [o["platform_order_id"] for o in orders] == ["T1001", "J2001"]
    lines = jsonl_rows(exported(session, "contact_order_line", "jsonl", actor=xiaomei))
    assert len(lines) == 2
    for table in ("contact_tag", "audit_event", "staff_user", "engage_campaign"):
        with pytest.raises(Forbidden):
            service.plan_export(session, actor=xiaomei, table=table)
    listed = {t["name"]: t["rows"] for t in service.list_tables(session, actor=xiaomei)}
    assert listed["contact"] == 1 and listed["contact_order"] == 2
    assert "audit_event" not in listed and "contact_tag" not in listed


def test_operators_export_the_pool_but_not_the_audit_log_or_accounts(
    session: Session, pool: Pool
) -> None:
    operator = Actor("staff:kan", staff_id=None, role="operator")
    assert len(jsonl_rows(exported(session, "contact", "jsonl", actor=operator))) == 3
    for table in ("audit_event", "staff_user", "staff_api_key", "event_source"):
        with pytest.raises(Forbidden):
            service.plan_export(session, actor=operator, table=table)
    listed = {t["name"] for t in service.list_tables(session, actor=operator)}
    assert "contact_tag" in listed and "audit_event" not in listed


def test_viewers_look_but_do_not_take_the_pool_away(session: Session, pool: Pool) -> None:
    viewer = Actor("staff:kan", staff_id=None, role="viewer")
    with pytest.raises(Forbidden, match="export"):
        service.plan_export(session, actor=viewer, table="contact")
    with pytest.raises(Forbidden, match="export"):
        service.list_tables(session, actor=viewer)


def test_each_export_is_in_the_audit_log(session: Session, pool: Pool) -> None:
    exported(session, "contact_order", "parquet", since="2024-03-02", segment="复购客户")
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.table").order_by(AuditEvent.id)
    ).one()
    assert (event.actor, event.subject_type, event.subject_id) == ("cli", "table", "contact_order")
    assert event.detail == {
        "format": "parquet",
        "rows": 1,
        "since": "2024-03-01T16:00:00Z",
        "segment": "复购客户",
    }


def test_a_stream_is_audited_when_it_ends_or_stops(session: Session, pool: Pool) -> None:
    plan = service.plan_export(session, actor=CLI, table="contact", fmt="csv")
    data = b"".join(service.stream(session, actor=CLI, plan=plan))
    assert len(csv_rows(data)) == 3
    stopped = service.stream(session, actor=CLI, plan=plan)
    next(stopped)  # the header only, then the reader goes away
    stopped.close()
    details = session.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "export.table").order_by(AuditEvent.id)
    ).all()
    assert details == [
        {"format": "csv", "rows": 3},
        {"format": "csv", "rows": 0, "complete": False},
    ]


def test_list_counts_every_table(session: Session, pool: Pool) -> None:
    listed = {t["name"]: t for t in service.list_tables(session, actor=CLI)}
    assert listed["contact"]["rows"] == 3 and listed["contact_order_line"]["rows"] == 3
    assert listed["contact_order"]["time_column"] == "placed_at"
    assert listed["contact_order_line"]["time_column"] is None


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"table": "contact_ordr"}, NotFound, "did you mean 'contact_order'"),
        ({"table": "nothing"}, NotFound, "no table 'nothing'"),
        ({"table": "contact", "fmt": "xlsx"}, Invalid, "choose one of csv, jsonl, parquet"),
        ({"table": "contact", "since": "2024-13-01"}, Invalid, "is not a date or time"),
        ({"table": "contact", "until": "yesterday"}, Invalid, "is not a date or time"),
        ({"table": "contact", "since": "2024-05-01", "until": "2024-04-01"}, Invalid, "after"),
        ({"table": "contact_order_line", "since": "2024-01-01"}, Invalid, "no time column"),
    ],
)
def test_bad_requests_say_what_is_wrong(
    session: Session, options: dict[str, str], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        service.plan_export(session, actor=CLI, **options)
