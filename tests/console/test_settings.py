"""Settings: staff accounts, API keys and the read-only timezone and currency, for administrators;
every change recorded in the audit log; other roles see only what is theirs."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit.models import AuditEvent
from siyu.config import get_settings
from siyu.staff.models import ApiKey, StaffUser
from tests.console.conftest import PASSWORD, Browser, make_staff

NEW_PASSWORD = "another long secret"


def events(session: Session, action: str) -> list[AuditEvent]:
    session.flush()
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(session.execute(query).scalars())


def staff_named(session: Session, login: str) -> StaffUser:
    session.expire_all()
    return session.execute(select(StaffUser).where(StaffUser.login == login)).scalar_one()


@pytest.fixture
def other(client_factory: Callable[[], TestClient]) -> Callable[[], Browser]:
    return lambda: Browser(client_factory())


def test_settings_opens_on_staff_with_the_sections(signed_in: Browser, admin: StaffUser) -> None:
    response = signed_in.get("/settings", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/settings/staff"
    text = signed_in.get("/settings/staff").text
    for href in ("/settings/staff", "/settings/api-keys", "/settings/locale", "/account/password"):
        assert f'href="{href}"' in text
    # Alone, the page says what to do next and opens the form.
    assert (
        "目前只有您一人" in text
        and '<details class="card settings-form" id="new-staff" open>' in text
    )
    assert f'href="/settings/staff/{admin.id}">李娜</a>' in text


def test_create_staff_who_can_then_sign_in(
    signed_in: Browser, session: Session, other: Callable[[], Browser]
) -> None:
    response = signed_in.post(
        "/settings/staff",
        {
            "login": "wang.fang",
            "name": "王芳",
            "email": "Wang.Fang@Example.com",
            "phone": "138 0013 8000",
            "role": "staff",
            "password": "first password",
        },
    )
    assert response.status_code == 303, response.text
    text = signed_in.get("/settings/staff").text
    assert "wang.fang 现在可以登录了" in text
    assert "王芳" in text and "导购" in text and "从未" in text  # role and "never signed in"
    created = staff_named(session, "wang.fang")
    assert created.email == "wang.fang@example.com" and created.phone == "+8613800138000"
    (event,) = [e for e in events(session, "staff.create") if e.subject_id == str(created.id)]
    assert event.actor == "staff:li.na" and event.detail["role"] == "staff"
    assert other().sign_in("13800138000", "first password").status_code == 303


def test_create_staff_errors_are_shown_next_to_the_fields(
    signed_in: Browser, session: Session
) -> None:
    make_staff(session, "taken", "staff", email="taken@example.com")
    cases = [
        ({"login": "taken", "password": PASSWORD}, "此登录名已被使用"),
        ({"login": "", "password": PASSWORD}, "请输入登录名"),
        ({"login": "x1", "email": "not-mail", "password": PASSWORD}, "这不是有效的电子邮箱"),
        ({"login": "x2", "email": "taken@example.com", "password": PASSWORD}, "其他员工已使用"),
        ({"login": "x3", "phone": "12", "password": PASSWORD}, "这不是有效的手机号"),
        ({"login": "x4", "password": "short"}, "至少 8 个字符"),
        ({"login": "x5", "password": ""}, "请输入至少 8 个字符的初始密码"),
        ({"login": "x6", "role": "owner", "password": PASSWORD}, "请选择一个角色"),
    ]
    for form, message in cases:
        response = signed_in.post("/settings/staff", {"role": "staff", **form})
        assert response.status_code == 422, form
        assert message in response.text, (form, message)
        assert 'class="error"' in response.text
        # What was typed stays, except the password.
        if form.get("login"):
            assert f'value="{form["login"]}"' in response.text
    assert not session.execute(select(StaffUser).where(StaffUser.login.like("x%"))).first()


def test_change_role(signed_in: Browser, session: Session, admin: StaffUser) -> None:
    member = make_staff(session, "ops", "operator", name="小运")
    response = signed_in.post(f"/settings/staff/{member.id}/role", {"role": "viewer"})
    assert response.status_code == 303
    assert "小运 现在的角色：只读" in signed_in.get(f"/settings/staff/{member.id}").text
    assert staff_named(session, "ops").role == "viewer"
    (event,) = events(session, "staff.role")
    assert event.detail == {"login": "ops", "before": "operator", "after": "viewer"}
    assert event.actor == "staff:li.na"
    # Nobody demotes themselves: the page says so and offers no form.
    page = signed_in.get(f"/settings/staff/{admin.id}")
    assert "这是您本人" in page.text and f"/settings/staff/{admin.id}/role" not in page.text
    response = signed_in.post(f"/settings/staff/{admin.id}/role", {"role": "viewer"})
    assert response.status_code == 303
    assert "不能更改自己的角色" in signed_in.get(f"/settings/staff/{admin.id}").text
    assert staff_named(session, "li.na").role == "admin"


def test_disable_asks_first_ends_the_session_and_enable_undoes_it(
    signed_in: Browser, session: Session, other: Callable[[], Browser]
) -> None:
    member = make_staff(session, "mei", "staff", name="小美")
    theirs = other()
    assert theirs.sign_in("mei").status_code == 303
    assert theirs.get("/").status_code == 200
    page = signed_in.get(f"/settings/staff/{member.id}")
    assert 'hx-confirm="确定停用 小美 吗？' in page.text
    # Without JavaScript the first post asks on a page of its own.
    asked = signed_in.post(f"/settings/staff/{member.id}/disable")
    assert asked.status_code == 200 and "请确认" in asked.text
    assert staff_named(session, "mei").disabled_at is None
    done = signed_in.post(f"/settings/staff/{member.id}/disable", {"confirmed": "1"})
    assert done.status_code == 303
    assert staff_named(session, "mei").disabled_at is not None
    assert "已停用" in signed_in.get("/settings/staff").text
    # Their session ends at their next request.
    ended = theirs.get("/settings/locale", follow_redirects=False)
    assert ended.status_code == 303 and "ended=1" in ended.headers["location"]
    assert theirs.sign_in("mei").status_code == 401
    assert len(events(session, "staff.disable")) == 1
    # Enabled again, they sign in again.
    assert signed_in.post(f"/settings/staff/{member.id}/enable").status_code == 303
    assert staff_named(session, "mei").disabled_at is None
    assert theirs.sign_in("mei").status_code == 303
    (event,) = events(session, "staff.enable")
    assert event.actor == "staff:li.na" and event.subject_id == str(member.id)


def test_nobody_disables_themselves(signed_in: Browser, session: Session, admin: StaffUser) -> None:
    response = signed_in.post(f"/settings/staff/{admin.id}/disable", {"confirmed": "1"})
    assert response.status_code == 303
    assert "不能停用自己的账号" in signed_in.get(f"/settings/staff/{admin.id}").text
    assert staff_named(session, "li.na").disabled_at is None


def test_reset_password(signed_in: Browser, session: Session, other: Callable[[], Browser]) -> None:
    member = make_staff(session, "mei", "staff", name="小美")
    theirs = other()
    theirs.sign_in("mei")
    url = f"/settings/staff/{member.id}/password"
    mismatch = signed_in.post(url, {"password": NEW_PASSWORD, "repeat": "something else"})
    assert mismatch.status_code == 422 and "两次输入的密码不一致" in mismatch.text
    short = signed_in.post(url, {"password": "short", "repeat": "short"})
    assert short.status_code == 422 and "至少 8 个字符" in short.text
    assert (
        signed_in.post(url, {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD}).status_code == 303
    )
    assert "密码已设置" in signed_in.get(f"/settings/staff/{member.id}").text
    # Their old session ends; the new password works, the old one does not.
    assert theirs.get("/", follow_redirects=False).status_code == 303
    assert theirs.sign_in("mei", PASSWORD).status_code == 401
    assert theirs.sign_in("mei", NEW_PASSWORD).status_code == 303
    (event,) = events(session, "staff.password_set")
    assert event.actor == "staff:li.na" and event.subject_id == str(member.id)


def test_an_api_key_is_shown_once_works_and_can_be_revoked(
    signed_in: Browser, session: Session, client: TestClient
) -> None:
    assert "还没有 API 密钥" in signed_in.get("/settings/api-keys").text
    created = signed_in.post("/settings/api-keys", {"name": "BI 导出", "scope": "read"})
    assert created.status_code == 201
    secret = re.search(
        r'id="new-key" class="secret" type="text" readonly value="([^"]+)"', created.text
    )
    assert secret, created.text
    key = secret.group(1)
    assert "只显示这一次" in created.text
    # Never again: not on the list, not in the session cookie.
    listed = signed_in.get("/settings/api-keys").text
    assert key not in listed and "BI 导出" in listed and "只读" in listed
    assert all(key not in value for value in signed_in.client.cookies.values())
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200
    assert client.post("/api/v1/contacts", headers=headers, json={}).status_code == 403
    (event,) = events(session, "apikey.create")
    assert event.actor == "staff:li.na" and event.detail == {"name": "BI 导出", "scopes": "read"}
    stored = session.execute(select(ApiKey).where(ApiKey.name == "BI 导出")).scalar_one()
    revoke = f"/settings/api-keys/{stored.id}/revoke"
    assert f'hx-post="{revoke}"' in listed
    asked = signed_in.post(revoke)
    assert asked.status_code == 200 and "确定吊销这个 API 密钥吗" in asked.text
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200
    assert signed_in.post(revoke, {"confirmed": "1"}).status_code == 303
    assert "密钥 BI 导出 已吊销" in signed_in.get("/settings/api-keys").text
    assert client.get("/api/v1/contacts", headers=headers).status_code == 401
    assert len(events(session, "apikey.revoke")) == 1


def test_a_key_needs_a_name_and_a_known_scope(signed_in: Browser, session: Session) -> None:
    signed_in.get("/settings/api-keys")
    response = signed_in.post("/settings/api-keys", {"name": " ", "scope": "read"})
    assert response.status_code == 422 and "请写明密钥用途" in response.text
    response = signed_in.post("/settings/api-keys", {"name": "k", "scope": "root"})
    assert response.status_code == 422 and "请选择密钥的权限" in response.text
    assert not events(session, "apikey.create")


def test_an_admin_key_from_the_console_acts_as_admin(
    signed_in: Browser, client: TestClient
) -> None:
    created = signed_in.post("/settings/api-keys", {"name": "ops", "scope": "admin"})
    key = re.search(r'readonly value="([^"]+)"', created.text).group(1)  # type: ignore[union-attr]
    response = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.json()["items"][0]["action"] == "apikey.create"


@pytest.mark.parametrize("role", ["operator", "staff", "viewer"])
def test_other_roles_see_only_the_read_only_settings(
    role: str, session: Session, other: Callable[[], Browser], admin: StaffUser
) -> None:
    make_staff(session, "someone", role)
    browser = other()
    browser.sign_in("someone")
    response = browser.get("/settings", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/settings/locale"
    page = browser.get("/settings/locale")
    assert page.status_code == 200 and "员工账号和 API 密钥由管理员管理" in page.text
    assert 'href="/settings/staff"' not in page.text and 'href="/account/password"' in page.text
    for url in ("/settings/staff", f"/settings/staff/{admin.id}", "/settings/api-keys"):
        refused = browser.get(url)
        assert refused.status_code == 403, url
        assert "只有管理员可以管理员工账号和 API 密钥" in refused.text
    posts = {
        "/settings/staff": {"login": "sneaky", "password": PASSWORD},
        f"/settings/staff/{admin.id}/role": {"role": "viewer"},
        f"/settings/staff/{admin.id}/disable": {"confirmed": "1"},
        f"/settings/staff/{admin.id}/password": {"password": PASSWORD, "repeat": PASSWORD},
        "/settings/api-keys": {"name": "mine", "scope": "admin"},
        "/settings/api-keys/1/revoke": {},
    }
    for url, form in posts.items():
        assert browser.post(url, form).status_code == 403, url
    assert staff_named(session, "li.na").role == "admin"
    assert staff_named(session, "li.na").disabled_at is None
    assert not session.execute(select(ApiKey)).first()


def test_forms_without_the_csrf_token_are_refused(signed_in: Browser, session: Session) -> None:
    response = signed_in.post(
        "/settings/staff", {"login": "forged", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403 and "表单已过期" in response.text
    assert not session.execute(select(StaffUser).where(StaffUser.login == "forged")).first()


def test_timezone_and_currency_are_shown_with_how_to_change_them(
    signed_in: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIYU_TIMEZONE", "Asia/Urumqi")
    get_settings.cache_clear()
    text = signed_in.get("/settings/locale").text
    assert "<code>Asia/Urumqi</code>" in text and "UTC+06:00" in text
    assert "<code>CNY</code> · 人民币" in text and "¥1,234.50" in text
    assert "SIYU_TIMEZONE=Asia/Urumqi" in text and "环境变量" in text and ".env" in text
    assert "<form" not in text.split('<main id="main"')[1]  # nothing to edit here
    signed_in.get("/lang/en")
    english = signed_in.get("/settings/locale").text
    assert "How to change them" in english and "environment variables" in english
