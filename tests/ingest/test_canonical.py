"""Siyu's own order and contact CSVs, the mapping importer, and the import guarantees."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.contacts import service
from siyu.contacts.models import Contact, ContactOrder, ContactOrderLine
from siyu.errors import Invalid
from siyu.ingest import export
from siyu.ingest.formats.canonical import CONTACT_COLUMNS, ORDER_COLUMNS
from siyu.ingest.models import ImportBatch, ImportRowError
from siyu.ingest.service import import_file
from siyu.kit.actor import Actor
from siyu.staff.service import create_staff

HEADER = "order_id,platform,placed_at,status,total,currency,customer,name,phone,email,items\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def count(session: Session, model: type) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_orders_land_with_amounts_identities_and_lines(session: Session, tmp_path: Path) -> None:
    path = write(
        tmp_path / "orders.csv",
        HEADER + 'A1,taobao,2024-01-05 10:00:00,交易成功,"¥1,299.00",CNY,taobao_nick:小王,王小明,'
        "13800138000,,面霜 ×2 @599.50 | 小样\n"
        "A2,jd,2024/2/5 9:30,完成,99.00元,CNY,jd_pin:wang_jd,,+86 138 0013 8000,"
        "Wang@Example.com,\n",
    )
    summary = import_file(session, path)
    assert (summary.format, summary.rows_read, summary.orders_created) == ("orders_csv", 2, 2)
    assert summary.contacts_created == 1 and summary.rows_rejected == 0
    contact = service.get_by_ref(session, "taobao_nick:小王")
    assert service.get_by_ref(session, "email:wang@example.com").id == contact.id
    assert contact.total_spent == 129900 + 9900
    assert contact.platforms == "jd,taobao"
    # Naive platform times are Asia/Shanghai: 10:00 there is 02:00 UTC.
    assert contact.first_order_at.isoformat() == "2024-01-05T02:00:00+00:00"
    lines = session.execute(select(ContactOrderLine).order_by(ContactOrderLine.line_no)).scalars()
    assert [(li.title, li.quantity, li.unit_price) for li in lines] == [
        ("面霜", 2, 59950),
        ("小样", 1, None),
    ]


def test_bad_rows_are_reported_and_valid_rows_land(session: Session, tmp_path: Path) -> None:
    path = write(
        tmp_path / "orders.csv",
        HEADER
        + "A1,taobao,2024-01-05,交易成功,10,CNY,taobao_nick:a,,,,\n"
        + "A2,taobao,2024-01-05,交易成功,ten,CNY,taobao_nick:b,,,,\n"
        + "A3,taobao,not a date,交易成功,10,CNY,taobao_nick:c,,,,\n"
        + "A4,taobao,2024-01-05,快乐,10,CNY,taobao_nick:d,,,,\n"
        + "A5,taobao,2024-01-05,交易成功,10,CNY,nokind,,,,\n"
        + "A6,taobao,2024-01-05,交易成功,10,CNY,,,,,\n",
    )
    summary = import_file(session, path)
    assert summary.orders_created == 1
    assert summary.rows_rejected == 5
    reasons = {e["line"]: e["reason"] for e in summary.errors}
    assert "ten" in reasons[3] and "total" in reasons[3]
    assert "not a date" in reasons[4]
    assert "快乐" in reasons[5]
    assert "kind:value" in reasons[6]
    assert "no customer" in reasons[7]
    report = Path(summary.error_report or "")
    assert report.name == "orders.errors.csv"
    text = report.read_text(encoding="utf-8-sig").splitlines()
    assert text[0].startswith("line,reason,order_id")
    assert text[1].startswith("3,") and "A2" in text[1]
    assert count(session, ImportRowError) == 5


def test_not_an_export_changes_nothing(session: Session, tmp_path: Path) -> None:
    path = write(tmp_path / "notes.csv", "姓名,爱好\n张三,跑步\n")
    with pytest.raises(Invalid, match="not a recognised order or customer export"):
        import_file(session, path)
    assert count(session, ImportBatch) == 0 and count(session, Contact) == 0


def test_same_file_twice_changes_nothing_and_newer_export_updates(
    session: Session, tmp_path: Path
) -> None:
    rows = (
        "A1,taobao,2024-01-05,买家已付款，等待卖家发货,100,CNY,taobao_nick:a,,,,\n"
        "A2,taobao,2024-01-06,交易成功,50,CNY,taobao_nick:a,,,,\n"
    )
    path = write(tmp_path / "orders.csv", HEADER + rows)
    import_file(session, path)
    before = export_state(session)
    again = import_file(session, path)
    assert (again.orders_created, again.orders_updated, again.contacts_created) == (0, 0, 0)
    assert export_state(session) == before
    newer = write(
        tmp_path / "newer.csv",
        "order_id,platform,placed_at,status,total,currency,customer,refunded\n"
        "A1,taobao,2024-01-05,交易关闭,100,CNY,taobao_nick:a,100\n"
        "A2,taobao,2024-01-06,交易成功,50,CNY,taobao_nick:a,\n",
    )
    updated = import_file(session, newer)
    assert (updated.orders_created, updated.orders_updated) == (0, 1)
    contact = service.get_by_ref(session, "taobao_nick:a")
    session.refresh(contact)
    assert contact.refunded_amount == 10000
    assert contact.total_spent == 5000
    statuses = dict(
        session.execute(select(ContactOrder.platform_order_id, ContactOrder.status)).all()
    )
    assert statuses == {"A1": "refunded", "A2": "completed"}


def export_state(session: Session) -> tuple[list[dict], list[dict]]:
    return list(export.order_rows(session)), list(export.contact_rows(session))


def test_gbk_file_with_quirks(session: Session, tmp_path: Path) -> None:
    text = (
        HEADER.replace("status", "status ")  # a header with a trailing space
        + '="9001",taobao,2024-03-01 08:00:00,交易成功,"￥1,299.00",CNY,taobao_nick:老李,李四,'
        "'13900139000,-,——\n"
    )
    path = write(tmp_path / "gbk.csv", text, encoding="gbk")
    summary = import_file(session, path)
    assert summary.orders_created == 1, summary.errors
    order = session.execute(select(ContactOrder)).scalar_one()
    assert order.platform_order_id == "9001" and order.paid_amount == 129900
    contact = service.get_by_ref(session, "phone:13900139000")
    assert contact.name == "李四"


def test_bom_and_masked_phone_is_a_hint_only(session: Session, tmp_path: Path) -> None:
    path = write(
        tmp_path / "bom.csv",
        "\ufeff"
        + HEADER
        + "B1,douyin,2024-03-01,已完成,10,CNY,receiver:douyin:x1,张,138****1234,,\n"
        + "B2,pdd,2024-03-01,已签收,10,CNY,receiver:pdd:x2,张,138****1234,,\n"
        + "B3,pdd,2024-03-01,已签收,10,CNY,receiver:pdd:x3,张,13800138000-1234,,\n",
    )
    summary = import_file(session, path)
    assert summary.orders_created == 3 and summary.contacts_created == 3
    hints = {c.phone_hint for c in session.execute(select(Contact)).scalars()}
    assert hints == {"138****1234", "13800138000-1234"}


def test_round_trip_of_the_order_export_changes_nothing(session: Session, tmp_path: Path) -> None:
    path = write(
        tmp_path / "orders.csv",
        HEADER + "A1,taobao,2024-01-05 10:00,交易成功,12.5,CNY,taobao_nick:a,甲,13800138000,,"
        "茶 ×3 @4.10\n"
        + "A2,offline,2024-01-06,pending,3,CNY,external_id:m-1,,,,\n"
        + "A3,jd,2024-01-07,已取消,3,CNY,jd_pin:j,,,x@y.cn,\n",
    )
    import_file(session, path)
    exported = tmp_path / "export.csv"
    with exported.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ORDER_COLUMNS)
        writer.writeheader()
        writer.writerows(export.order_rows(session))
    before = export_state(session)
    summary = import_file(session, exported)
    assert summary.format == "orders_csv"
    assert (
        summary.orders_created,
        summary.orders_updated,
        summary.contacts_created,
        summary.contacts_merged,
        summary.rows_rejected,
    ) == (0, 0, 0, 0, 0)
    assert export_state(session) == before


def test_contact_csv_with_tags_owner_consent(session: Session, tmp_path: Path) -> None:
    create_staff(session, login="xiaomei", actor=Actor.cli())
    path = write(
        tmp_path / "members.csv",
        "customer,name,phone,wechat_unionid,tags,owner,city,consent_email,consent_sms,"
        "consent_purpose,consent_at\n"
        "external_id:M1,周,13700137000,oU1,兴趣:护肤|VIP,xiaomei,上海,yes,no,会员通知,"
        "2024-05-01 12:00\n"
        "external_id:M2,吴,,,,nobody,,,,,\n"
        "external_id:M3,郑,,,,,,maybe,,,\n",
    )
    summary = import_file(session, path)
    assert summary.format == "contacts_csv"
    assert summary.contacts_created == 1
    reasons = {e["line"]: e["reason"] for e in summary.errors}
    assert "nobody" in reasons[3] and "maybe" in reasons[4]
    profile = service.profile(session, service.get_by_ref(session, "wechat_unionid:oU1"))
    assert profile["tags"] == ["VIP", "兴趣:护肤"]
    assert profile["owner"] == "xiaomei" and profile["city"] == "上海"
    consents = {c["channel"]: (c["granted"], c["purpose"]) for c in profile["consents"]}
    assert consents == {"email": (True, "会员通知"), "sms": (False, "会员通知")}
    again = import_file(session, path)
    assert (again.contacts_created, again.contacts_updated) == (0, 0)


def test_mapping_file(session: Session, tmp_path: Path) -> None:
    mapping = write(
        tmp_path / "pos.toml",
        """
kind = "orders"
platform = "offline"
[columns]
order_id = "单号"
placed_at = "日期"
status = "状态"
total = "金额"
phone = "会员手机"
name = "会员"
[statuses]
"已结账" = "completed"
""",
    )
    path = write(
        tmp_path / "pos.csv",
        "日期,单号,会员,会员手机,金额,状态,收银员\n"
        "2024-06-01 15:00,P1,钱七,13600136000,88.00,已结账,小刘\n"
        "2024-06-02 15:00,P2,钱七,13600136000,12.00,作废,小刘\n",
    )
    summary = import_file(session, path, fmt=f"mapping:{mapping}")
    assert summary.orders_created == 1
    assert summary.errors == [{"line": 3, "reason": "unknown order status '作废'"}]
    contact = service.get_by_ref(session, "phone:+8613600136000")
    assert contact.platforms == "offline" and contact.total_spent == 8800


def test_mapping_file_errors_are_clear(tmp_path: Path, session: Session) -> None:
    data = write(tmp_path / "pos.csv", "日期,单号\n2024-01-01,P1\n")
    bad = write(
        tmp_path / "bad.toml", "kind = 'orders'\nplatform='x'\n[columns]\nwhatever = '单号'\n"
    )
    with pytest.raises(Invalid, match="unknown Siyu column"):
        import_file(session, data, fmt=f"mapping:{bad}")
    missing = write(
        tmp_path / "m.toml", "kind='orders'\nplatform='x'\n[columns]\norder_id='编号'\n"
    )
    with pytest.raises(Invalid, match="lacks: 编号"):
        import_file(session, data, fmt=f"mapping:{missing}")
    with pytest.raises(Invalid, match="no such mapping file"):
        import_file(session, data, fmt=f"mapping:{tmp_path / 'nope.toml'}")


def test_later_chunks_fill_what_earlier_ones_left_empty(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("siyu.ingest.chunking.CHUNK_ROWS", 1)
    body = (
        "A1,taobao,2024-01-01,交易成功,10,CNY,taobao_nick:u1,,,,\n"
        "A2,taobao,2024-01-02,交易成功,10,CNY,taobao_nick:u1,小王,,,\n"
        "A3,taobao,2024-01-03,交易成功,10,CNY,taobao_nick:u1,老王,,,\n"
        "A4,taobao,2024-01-04,交易成功,10,CNY,taobao_nick:u2,小李,,,\n"
        "A5,taobao,2024-01-05,交易成功,10,CNY,taobao_nick:u2,,,,\n"
    )
    import_file(session, write(tmp_path / "fill.csv", HEADER + body))
    # Filled by the first chunk that knows a name; never overwritten by a later one.
    assert service.get_by_ref(session, "taobao_nick:u1").name == "小王"
    assert service.get_by_ref(session, "taobao_nick:u2").name == "小李"


def test_rows_of_one_order_in_many_lines_and_chunks(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("siyu.ingest.chunking.CHUNK_ROWS", 2)
    body = "".join(
        f"O{n // 3},taobao,2024-01-0{1 + n // 3},交易成功,10,CNY,taobao_nick:u{n % 2},,,,item{n}\n"
        for n in range(9)
    )
    summary = import_file(session, write(tmp_path / "lines.csv", HEADER + body))
    assert summary.orders_created == 3
    lines = session.execute(select(func.count()).select_from(ContactOrderLine)).scalar_one()
    assert lines == 9
    # Rows of one order name two buyers (u0 and u1): the same order proves they are one person.
    assert count(session, Contact) == 1


def test_round_trip_of_the_contact_export_changes_nothing(session: Session, tmp_path: Path) -> None:
    create_staff(session, login="xiaomei", actor=Actor.cli())
    import_file(
        session,
        write(
            tmp_path / "members.csv",
            "customer,name,phone,email,wechat_unionid,tags,owner,city,consent_email,"
            "consent_sms,consent_purpose,consent_at\n"
            "external_id:M1,周,13700137000|13700137001,z@x.cn,oU1,兴趣:护肤|VIP,xiaomei,上海,"
            "yes,no,会员通知,2024-05-01 12:00\n"
            "phone:13600136000,吴,,,,,,,,,,\n",
        ),
    )
    import_file(
        session,
        write(
            tmp_path / "orders.csv",
            HEADER + "A1,douyin,2024-01-05,已完成,10,CNY,receiver:douyin:k1,王,,,\n",
        ),
    )
    exported = tmp_path / "contacts.csv"
    with exported.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CONTACT_COLUMNS)
        writer.writeheader()
        writer.writerows(export.contact_rows(session))
    before = export_state(session)
    summary = import_file(session, exported)
    assert summary.format == "contacts_csv"
    assert (
        summary.contacts_created,
        summary.contacts_updated,
        summary.contacts_merged,
        summary.rows_rejected,
    ) == (0, 0, 0, 0), summary.errors
    assert export_state(session) == before


@pytest.mark.parametrize("streaming", [False, True], ids=["calamine", "openpyxl-streaming"])
def test_xlsx_with_blank_rows_above_reports_excel_row_numbers(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, streaming: bool
) -> None:
    if streaming:  # large workbooks are streamed; force it for a small one
        monkeypatch.setattr("siyu.ingest.reader.STREAM_XLSX_FROM_BYTES", 0)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])
    sheet.append([None, "订单导出 (note above the header)"])
    sheet.append([])
    for row in (
        HEADER.strip().split(","),
        ["X1", "offline", "2024-01-05 10:00", "completed", "10", "CNY", "phone:13800138000"],
        ["X2", "offline", "2024-01-05 10:00", "completed", "ten", "CNY", "phone:13800138000"],
    ):
        sheet.append(row)
    path = tmp_path / "orders.xlsx"
    book.save(path)
    with pytest.raises(Invalid, match="not a recognised"):
        # The first non-empty row is a note, not the header: refused, as with any other file.
        import_file(session, path)
    sheet.delete_rows(2)
    book.save(path)
    summary = import_file(session, path)
    assert summary.orders_created == 1
    assert [e["line"] for e in summary.errors] == [5]


def test_rollups_stay_right_when_an_import_merges_and_updates(
    session: Session, tmp_path: Path
) -> None:
    import_file(
        session,
        write(
            tmp_path / "a.csv",
            HEADER + "T1,taobao,2024-01-05,交易成功,100,CNY,taobao_nick:t,,13800138000,,\n",
        ),
    )
    import_file(
        session, write(tmp_path / "b.csv", HEADER + "J1,jd,2024-01-06,完成,200,CNY,jd_pin:j,,,,\n")
    )
    # A newer export of J1: a new amount, and the phone that proves both buyers are one.
    summary = import_file(
        session,
        write(
            tmp_path / "c.csv", HEADER + "J1,jd,2024-01-06,完成,500,CNY,jd_pin:j,,13800138000,,\n"
        ),
    )
    assert (summary.contacts_merged, summary.orders_updated) == (1, 1)
    contact = service.get_by_ref(session, "jd_pin:j")
    session.refresh(contact)
    assert (contact.order_count, contact.total_spent) == (2, 60000)


@pytest.mark.parametrize(
    "rows", [("no", "2024-06-01", "yes", "2024-01-01"), ("yes", "2024-01-01", "no", "2024-06-01")]
)
def test_newest_consent_wins_whatever_the_row_order(
    session: Session, tmp_path: Path, rows: tuple[str, str, str, str]
) -> None:
    first, first_at, second, second_at = rows
    import_file(
        session,
        write(
            tmp_path / "members.csv",
            "customer,consent_sms,consent_at\n"
            f"external_id:M1,{first},{first_at}\n"
            f"external_id:M1,{second},{second_at}\n",
        ),
    )
    profile = service.profile(session, service.get_by_ref(session, "external_id:M1"))
    assert [(c["channel"], c["granted"]) for c in profile["consents"]] == [("sms", False)]
    # An older "yes" in a later file does not bring a withdrawn consent back either.
    import_file(
        session,
        write(
            tmp_path / "old.csv", "customer,consent_sms,consent_at\nexternal_id:M1,yes,2023-01-01\n"
        ),
    )
    profile = service.profile(session, service.get_by_ref(session, "external_id:M1"))
    assert [(c["channel"], c["granted"]) for c in profile["consents"]] == [("sms", False)]


def test_out_of_range_and_overlong_cells_are_rejected_rows_not_crashes(
    session: Session, tmp_path: Path
) -> None:
    long_id = "X" * 70
    path = write(
        tmp_path / "orders.csv",
        HEADER
        + "G1,taobao,2024-01-05,交易成功,10,CNY,taobao_nick:g,,,,\n"
        + "G2,taobao,2024-01-05,交易成功,99999999999999999999,CNY,taobao_nick:g,,,,\n"
        + "G3,taobao,2024-01-05,交易成功,10,CNY,taobao_nick:g,,,,foo ×99999999999999999999\n"
        + "G4,taobao,0001-01-01 00:00:00,交易成功,10,CNY,taobao_nick:g,,,,\n"
        + f"{long_id},taobao,2024-01-05,交易成功,10,CNY,taobao_nick:g,,,,\n"
        + "G6,taobao,2024-01-05,交易成功,10,yuan,taobao_nick:g,,,,\n"
        + f"G7,taobao,2024-01-05,交易成功,10,CNY,taobao_nick:{'n' * 300},,,,\n",
    )
    summary = import_file(session, path)
    assert summary.orders_created == 1
    reasons = {e["line"]: e["reason"] for e in summary.errors}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8]
    assert "out of range" in reasons[3] and "out of range" in reasons[5]
    assert "longer than 64" in reasons[6] and "three-letter" in reasons[7]
    assert "longer than 255" in reasons[8]
    members = write(
        tmp_path / "members.csv", f"customer,tags\nexternal_id:m1,{'长' * 70}\nexternal_id:m2,VIP\n"
    )
    summary = import_file(session, members)
    assert summary.contacts_created == 1 and "too long" in summary.errors[0]["reason"]


def test_xlsx_time_and_date_cells(session: Session, tmp_path: Path) -> None:
    from datetime import date, datetime, time

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([*HEADER.strip().split(","), "发货时间"])
    sheet.append(
        [
            "T1",
            "offline",
            datetime(2024, 1, 5, 10, 0),
            "completed",
            10,
            "CNY",
            "phone:13800138000",
            "",
            "",
            "",
            "",
            time(9, 30),
        ]
    )
    sheet.append(
        [
            "T2",
            "offline",
            date(2024, 1, 6),
            "completed",
            10,
            "CNY",
            "phone:13800138000",
            "",
            "",
            "",
            "",
            None,
        ]
    )
    path = tmp_path / "orders.xlsx"
    book.save(path)
    summary = import_file(session, path)
    assert (summary.orders_created, summary.rows_rejected) == (2, 0), summary.errors


def test_malformed_mapping_files_are_clear_errors(session: Session, tmp_path: Path) -> None:
    data = write(tmp_path / "pos.csv", "日期,单号\n2024-01-01,P1\n")
    cases = {
        "number.toml": ("kind='orders'\nplatform='x'\n[columns]\norder_id=5\n", "in quotes"),
        "statuses.toml": (
            "kind='orders'\nplatform='x'\nstatuses=3\n[columns]\norder_id='单号'\n",
            "[statuses] must be a table",
        ),
    }
    for name, (text, message) in cases.items():
        with pytest.raises(Invalid, match=re.escape(message)):
            import_file(session, data, fmt=f"mapping:{write(tmp_path / name, text)}")
    with pytest.raises(Invalid, match="cannot read the mapping file"):
        import_file(session, data, fmt=f"mapping:{tmp_path}")
