"""The segments pages: list, builder rows and text, live count, save, members, roles."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from siyu.console.i18n import LANG_COOKIE
from siyu.contacts import service as contacts
from siyu.kit.actor import Actor
from siyu.segments import service
from tests.console.conftest import Browser, make_staff

CLI = Actor.cli()


def people(session: Session) -> None:
    for number, (name, city) in enumerate([("王芳", "杭州"), ("李伟", "上海"), ("赵敏", "杭州")]):
        contacts.create_contact(
            session, actor=CLI, identities=[f"phone:1380013800{number}"], name=name, city=city,
            tags=["VIP"] if number else [],
        )  # fmt: skip


@pytest.fixture(autouse=True)
def english(client: object) -> None:
    client.cookies.set(LANG_COOKIE, "en")  # type: ignore[attr-defined]


def rows(**values: str | list[str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {"name": "杭州客户", "mode": "builder", "join": "all"}
    return {**form, **values}


def test_an_empty_list_says_what_to_do(signed_in: Browser) -> None:
    page = signed_in.get("/segments")
    assert page.status_code == 200
    assert "No segments yet" in page.text and 'href="/segments/new"' in page.text


def test_rows_count_live_and_save(signed_in: Browser, session: Session) -> None:
    people(session)
    page = signed_in.get("/segments/new")
    assert page.status_code == 200 and 'name="kind"' in page.text
    form = rows(
        kind=["city", "tag"], op=["=", ""], value=["杭州", "VIP"], days=["", ""], event=["", ""]
    )
    preview = signed_in.post("/segments/preview", form)
    assert preview.status_code == 200
    assert "<strong>1</strong>" in preview.text and "赵敏" in preview.text
    assert "city = &#34;杭州&#34; and tag(&#34;VIP&#34;)" in preview.text
    # A row with a wrong value is named, not a 500.
    bad = signed_in.post(
        "/segments/preview",
        rows(kind=["total_spent"], op=[">="], value=["lots"], days=[""], event=[""]),
    )
    assert "condition 1" in bad.text and "not an amount" in bad.text
    added = signed_in.post("/segments/new", {**form, "action": "add"})
    assert added.text.count('name="kind"') == 3
    saved = signed_in.post("/segments/new", {**form, "action": "save"})
    assert saved.status_code == 303
    detail = signed_in.get(saved.headers["location"])
    assert "杭州客户" in detail.text and "赵敏" in detail.text and "王芳" not in detail.text


def test_text_mode_and_back(signed_in: Browser, session: Session) -> None:
    people(session)
    form = rows(kind=["city"], op=["="], value=["杭州"], days=[""], event=[""])
    as_text = signed_in.post("/segments/new", {**form, "action": "to_text"})
    assert "<textarea" in as_text.text and "city = &#34;杭州&#34;" in as_text.text
    text_form = {"name": "x", "mode": "text", "query": 'city in ("杭州", "上海")'}
    back = signed_in.post("/segments/new", {**text_form, "action": "to_builder"})
    assert "cannot show" in back.text and "<textarea" in back.text
    wrong = signed_in.post("/segments/preview", {**text_form, "query": "cty = 1"})
    assert "Line 1, column 1" in wrong.text and "did you mean &#39;city&#39;" in wrong.text
    saved = signed_in.post("/segments/new", {**text_form, "action": "save"})
    assert saved.status_code == 303


def test_zh_cn(signed_in: Browser, session: Session) -> None:
    people(session)
    segment = service.create_segment(session, actor=CLI, name="杭州", query='city = "杭州"')
    signed_in.client.cookies.set(LANG_COOKIE, "zh_CN")
    page = signed_in.get(f"/segments/{segment.id}")
    assert "成员" in page.text and "进出记录" in page.text
    listed = signed_in.get("/segments")
    assert "实时更新" in listed.text and "分群" in listed.text
    editor = signed_in.get(f"/segments/{segment.id}/edit")
    assert "以下全部条件" in editor.text and "位客户符合条件" in editor.text


def test_refresh_export_and_delete(signed_in: Browser, session: Session) -> None:
    people(session)
    segment = service.create_segment(session, actor=CLI, name="杭州", query='city = "杭州"')
    signed_in.get(f"/segments/{segment.id}")
    assert signed_in.post(f"/segments/{segment.id}/refresh").status_code == 303
    export = signed_in.get(f"/segments/{segment.id}/export.csv")
    assert export.status_code == 200 and export.text.count("\n") == 3
    asked = signed_in.post(f"/segments/{segment.id}/delete")
    assert asked.status_code == 200 and "its history?" in asked.text
    gone = signed_in.post(f"/segments/{segment.id}/delete", {"confirmed": "1"})
    assert gone.status_code == 303
    assert signed_in.get(f"/segments/{segment.id}").status_code == 404


def test_a_viewer_reads_but_does_not_edit(browser: Browser, session: Session) -> None:
    people(session)
    segment = service.create_segment(session, actor=CLI, name="杭州", query='city = "杭州"')
    make_staff(session, "kan", "viewer")
    assert browser.sign_in("kan").status_code == 303
    page = browser.get(f"/segments/{segment.id}")
    assert page.status_code == 200 and "/edit" not in page.text
    assert browser.get("/segments/new").status_code == 403
    assert browser.get(f"/segments/{segment.id}/export.csv").status_code == 403
    browser.get("/segments")
    refused = browser.post(
        "/segments/new", {"name": "x", "mode": "text", "query": "order_count > 1", "action": "save"}
    )
    assert refused.status_code == 403
