"""Signing in and out of the console, CSRF, password change, sessions that end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.kit.actor import Actor
from siyu.staff import service as staff_service
from siyu.staff.models import StaffUser
from tests.console.conftest import PASSWORD, Browser, make_staff


@pytest.mark.parametrize("identifier", ["li.na", "LI.NA@example.com", "139 0013 9000"])
def test_sign_in_with_login_email_or_phone(
    browser: Browser, admin: StaffUser, identifier: str
) -> None:
    response = browser.sign_in(identifier)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    set_cookie = response.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    home = browser.get("/")
    assert home.status_code == 200
    assert "李娜" in home.text and "我的客户池" in home.text


def test_wrong_password_is_refused_and_counted(
    browser: Browser, admin: StaffUser, session: Session
) -> None:
    response = browser.sign_in("li.na", "not the password")
    assert response.status_code == 401
    assert "登录名或密码错误" in response.text
    # The identifier stays in the form; the password does not.
    assert 'value="li.na"' in response.text
    assert "not the password" not in response.text
    session.refresh(admin)
    assert admin.failed_logins == 1


def test_unknown_login_gets_the_same_answer(browser: Browser, admin: StaffUser) -> None:
    response = browser.sign_in("nobody", "whatever1")
    assert response.status_code == 401
    assert "登录名或密码错误。" in response.text


def test_repeated_failures_ask_to_wait_then_lock(
    browser: Browser, admin: StaffUser, session: Session
) -> None:
    for _ in range(3):
        response = browser.sign_in("li.na", "wrong password")
    assert "请等待 1 秒后再试" in response.text
    response = browser.sign_in("li.na", PASSWORD)
    assert response.status_code == 401
    assert "登录失败次数过多" in response.text
    # A locked account: the right password does not help until the lock ends.
    admin.failed_logins, admin.locked_until = 10, utcnow() + timedelta(minutes=15)
    session.flush()
    response = browser.sign_in("li.na", PASSWORD)
    assert "登录失败次数过多，请 15 分钟后再试。" in response.text


def test_disabled_account_cannot_sign_in(
    browser: Browser, admin: StaffUser, session: Session
) -> None:
    staff_service.disable_staff(session, login="li.na", actor=Actor.system())
    response = browser.sign_in("li.na")
    assert response.status_code == 401
    assert "该账号已停用" in response.text


def test_page_redirects_to_login_and_back(browser: Browser, admin: StaffUser) -> None:
    response = browser.get("/account/password?tab=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account/password%3Ftab%3D1"
    login = browser.get(response.headers["location"])
    assert 'name="next" value="/account/password?tab=1"' in login.text
    response = browser.sign_in("li.na", next="/account/password?tab=1")
    assert response.headers["location"] == "/account/password?tab=1"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "/login",
    ],
)
def test_next_never_leaves_the_site(browser: Browser, admin: StaffUser, target: str) -> None:
    response = browser.sign_in("li.na", next=target)
    assert response.headers["location"] == "/"


def test_htmx_request_without_session_is_sent_to_login(browser: Browser) -> None:
    response = browser.get(
        "/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/customers?q=1"},
        follow_redirects=False,
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/login?next=/customers%3Fq%3D1"


def test_post_without_csrf_token_is_refused(signed_in: Browser) -> None:
    response = signed_in.post("/logout", {"csrf_token": ""})
    assert response.status_code == 403
    assert "表单已过期或并非来自本站" in response.text
    response = signed_in.post("/logout", {"csrf_token": "forged"})
    assert response.status_code == 403
    # Still signed in: the forged request did nothing.
    assert signed_in.get("/").status_code == 200


def test_login_form_needs_its_token_too(browser: Browser, admin: StaffUser) -> None:
    response = browser.client.post(
        "/login", data={"identifier": "li.na", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403


def test_htmx_sends_the_token_in_a_header(signed_in: Browser) -> None:
    response = signed_in.client.post(
        "/logout", headers={"X-CSRF-Token": signed_in.csrf, "HX-Request": "true"}
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/login"
    refused = signed_in.client.post("/logout", headers={"HX-Request": "true"})
    assert refused.status_code == 403
    assert "siyu:toast" in refused.headers["HX-Trigger"]


def test_logout_ends_the_session(signed_in: Browser) -> None:
    signed_in.get("/")
    response = signed_in.post("/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert signed_in.get("/", follow_redirects=False).status_code == 303


def test_password_change(
    signed_in: Browser, admin: StaffUser, client_factory: Callable[[], TestClient]
) -> None:
    other = Browser(client_factory())
    assert other.sign_in("li.na").status_code == 303
    signed_in.get("/account/password")
    response = signed_in.post(
        "/account/password", {"current": "wrong one", "new": "n3w-secret", "repeat": "n3w-secret"}
    )
    assert response.status_code == 422
    assert "当前密码不正确" in response.text
    response = signed_in.post(
        "/account/password", {"current": PASSWORD, "new": "short", "repeat": "short"}
    )
    assert "密码至少需要 8 个字符" in response.text
    response = signed_in.post(
        "/account/password", {"current": PASSWORD, "new": "n3w-secret", "repeat": "other"}
    )
    assert "两次输入的新密码不一致" in response.text
    response = signed_in.post(
        "/account/password", {"current": PASSWORD, "new": "n3w-secret", "repeat": "n3w-secret"}
    )
    assert response.status_code == 303
    # This session goes on, with a flash message; the other one has ended.
    home = signed_in.get("/")
    assert home.status_code == 200 and "密码已修改" in home.text
    ended = other.get("/", follow_redirects=False)
    assert ended.headers["location"] == "/login?ended=1"
    assert "登录已失效" in other.get("/login?ended=1").text
    assert Browser(client_factory()).sign_in("li.na", "n3w-secret").status_code == 303


def test_disabled_staff_is_signed_out(
    signed_in: Browser, admin: StaffUser, session: Session
) -> None:
    assert signed_in.get("/").status_code == 200
    staff_service.disable_staff(session, login="li.na", actor=Actor.system())
    session.flush()
    response = signed_in.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?ended=1"


def test_viewer_sees_home(browser: Browser, session: Session) -> None:
    make_staff(session, "kan.kan", "viewer", name="看看")
    assert browser.sign_in("kan.kan").status_code == 303
    response = browser.get("/")
    assert response.status_code == 200
    assert "只读" in response.text


def test_staff_role_sees_home(browser: Browser, session: Session) -> None:
    make_staff(session, "dao.gou", "staff")
    assert browser.sign_in("dao.gou").status_code == 303
    assert browser.get("/").status_code == 200
