"""Web tracking in Chromium: a merchant's page on another origin loads /t.js from the live
server and sends a page view, a custom event, an identify after a sign-up form and, as the
page is left, one more event by beacon. Each arrives exactly once, and the visitor's
anonymous id ends up on the same contact as the user id and phone given at sign-up."""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts import lifecycle
from siyu.contacts.models import Contact, ContactIdentity
from siyu.db.session import make_engine
from siyu.events import sources
from siyu.events.models import Event
from siyu.kit.actor import Actor
from tests.browser.conftest import Server, Shots

SHOP_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>茶叶小店</title>
<script src="{siyu}/t.js" data-write-key="{key}" async></script></head>
<body>
<h1>茶叶小店</h1>
<button id="cart" onclick="siyu.track('add_to_cart', {{sku: 'TEA-1', price: 99}})">
  加入购物车</button>
<form id="signup">
  <label>手机 <input name="phone" value="13800138123"></label>
  <button type="submit">注册</button>
</form>
<script>
document.getElementById("signup").addEventListener("submit", function (event) {{
  event.preventDefault();
  var phone = event.target.phone.value;
  siyu.identify("shop-user-7", {{phone: phone, name: "林小茶"}});
}});
</script>
</body></html>
"""


@pytest.fixture
def write_key(live_server: Server) -> str:
    engine = make_engine(live_server.database_url)
    with Session(engine) as session:
        _source, key = sources.create_source(session, name="官网", actor=Actor.system())
        session.commit()
    engine.dispose()
    return key


@pytest.fixture
def shop(tmp_path: Path, live_server: Server, write_key: str) -> Iterator[str]:
    """The merchant's own site: a static page on a second loopback server (another origin)."""
    (tmp_path / "index.html").write_text(
        SHOP_PAGE.format(siyu=live_server.url, key=write_key), encoding="utf-8"
    )
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _events(database_url: str, anonymous_id: str) -> list[Event]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        rows = list(
            session.execute(
                select(Event).where(Event.anonymous_id == anonymous_id).order_by(Event.id)
            ).scalars()
        )
    engine.dispose()
    return rows


def _wait_for(page: Page, database_url: str, anonymous_id: str, count: int) -> list[Event]:
    """Poll the database; waiting through Playwright lets it serve the page's routes meanwhile."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = _events(database_url, anonymous_id)
        if len(found) >= count:
            return found
        page.wait_for_timeout(200)
    return _events(database_url, anonymous_id)


def test_a_shop_page_tracks_a_visitor_through_sign_up(
    page: Page, shop: str, live_server: Server, shots: Shots, sign_in: Callable[..., Page]
) -> None:
    # The first batch meets a server error: the script must send it again, and only once.
    attempts: list[int] = []

    def fail_first(route: Route) -> None:
        if route.request.method == "POST":
            attempts.append(1)
            if len(attempts) == 1:
                route.fulfill(status=503, body="busy")
                return
        route.continue_()

    page.route(f"{live_server.url}/v1/batch", fail_first)
    page.goto(shop)
    page.wait_for_function("window.siyu && window.siyu.loaded")
    anonymous_id = page.evaluate("siyu.anonymousId()")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies["siyu_aid"] == anonymous_id  # first-party: the shop's own cookie
    assert page.evaluate("localStorage.getItem('siyu_aid')") == anonymous_id

    assert [e.type for e in _wait_for(page, live_server.database_url, anonymous_id, 1)] == ["page"]
    assert len(attempts) >= 2

    page.locator("#cart").click()
    page.get_by_role("button", name="注册").click()
    _wait_for(page, live_server.database_url, anonymous_id, 3)
    # Left at once: the queued event goes out by navigator.sendBeacon as the page hides.
    page.evaluate("siyu.track('checkout_started', {step: 1})")
    page.goto("about:blank")

    _wait_for(page, live_server.database_url, anonymous_id, 4)
    page.wait_for_timeout(1000)  # room for a duplicate to arrive, if the script sent one
    found = _events(live_server.database_url, anonymous_id)
    assert [(e.type, e.name) for e in found] == [
        ("page", None),
        ("track", "add_to_cart"),
        ("identify", None),
        ("track", "checkout_started"),
    ]
    assert len({e.message_id for e in found}) == 4
    page_view, cart, identify, checkout = found
    assert page_view.properties["title"] == "茶叶小店"
    assert page_view.properties["url"] == shop
    assert page_view.context["library"]["name"] == "siyu.js"
    assert cart.properties == {"sku": "TEA-1", "price": 99}
    assert cart.user_id is None and checkout.user_id == "shop-user-7"
    assert identify.properties["phone"] == "13800138123"
    # sentAt arrived, so the server corrected each time for the browser's clock.
    assert all(e.sent_at is not None for e in found)

    engine = make_engine(live_server.database_url)
    with Session(engine) as session:
        owners = dict(
            session.execute(
                select(ContactIdentity.kind, ContactIdentity.contact_id).where(
                    ContactIdentity.value.in_([anonymous_id, "shop-user-7", "+8613800138123"])
                )
            ).all()
        )
        assert set(owners) == {"anonymous_id", "external_id", "phone"}
        assert len(set(owners.values())) == 1, owners
        contact = session.get(Contact, owners["anonymous_id"])
        assert contact is not None
        assert lifecycle.stage(session, contact) == "lead"
        contact_id = contact.id
    engine.dispose()

    # The operator sees the visit on the customer's 360, with the stage it reached.
    sign_in(live_server.people.admin, next=f"/customers/{contact_id}")
    activity = page.locator("#activity")
    expect(activity).to_contain_text("add_to_cart")
    expect(activity).to_contain_text("checkout_started")
    expect(activity).to_contain_text("shop-user-7")
    expect(page.locator(".badge.stage")).to_have_text("Lead")


def test_the_funnel_page_draws_a_funnel(as_admin: Page, shots: Shots) -> None:
    page = as_admin
    page.get_by_role("link", name="Lead to deal").click()
    expect(page.get_by_role("heading", name="Lead to deal")).to_be_visible()
    expect(page.locator("[data-funnel] canvas")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Repeat order")
    shots.take("funnel")
