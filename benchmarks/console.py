"""The console's customers list on the 1,000,000-contact pool: every sort, filter and search,
page after page through the cursor links, as a signed-in operator's browser asks for them.

Same database and server as the customer 360 benchmark (`api360.py`): `siyu serve` in a
subprocess on a loopback port, a real sign-in through /login with its CSRF token.
"""

from __future__ import annotations

import html
import re
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from benchmarks.api360 import serving, upgraded
from siyu.contacts.models import ContactIdentity
from siyu.db.session import make_engine
from siyu.kit.actor import Actor
from siyu.staff.models import StaffUser
from siyu.staff.service import create_staff, set_password

LOGIN = "bench.operator"
PASSWORD = "benchmark-password-1"
PAGES_DEEP = 10  # pages followed through "Next" for each list
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_NEXT = re.compile(r'<a class="button" href="([^"]+)" rel="next">')

# (label, first URL): what operators ask the list for. Searches take real values from the pool.
LISTS = (
    ("newest first", "/customers"),
    ("latest order first", "/customers?sort=last_order"),
    ("biggest spenders first", "/customers?sort=total_spent"),
    ("most orders first", "/customers?sort=order_count"),
    ("tag VIP", "/customers?tag=VIP"),
    ("2+ orders", "/customers?min_orders=2"),
    ("SMS consent", "/customers?consent=sms"),
    ("search a phone", "/customers?q={phone}"),
    ("search a Taobao nick", "/customers?q={nick}"),
    ("search a name that matches nobody", "/customers?q=无此人"),
    ("search two characters that match nobody", "/customers?q=无此"),
)


def _searched(url: str) -> dict[str, str]:
    """A phone (as people type it, without +86) and a nick of customers in the pool."""
    engine = make_engine(url)
    with Session(engine) as session:
        phone, nick = (
            session.execute(
                select(ContactIdentity.value)
                .where(ContactIdentity.kind == kind)
                .order_by(ContactIdentity.id)
                .offset(1000)
                .limit(1)
            ).scalar_one()
            for kind in ("phone", "taobao_nick")
        )
    engine.dispose()
    return {"phone": phone.removeprefix("+86"), "nick": quote(nick)}


def _operator(url: str) -> None:
    engine = make_engine(url)
    with Session(engine) as session:
        exists = session.execute(select(StaffUser.id).where(StaffUser.login == LOGIN)).first()
        if exists:
            set_password(session, login=LOGIN, password=PASSWORD, actor=Actor.system())
        else:
            create_staff(
                session,
                login=LOGIN,
                name="Benchmark",
                role="operator",
                password=PASSWORD,
                actor=Actor.system(),
            )
        session.commit()
    engine.dispose()


def rebuild_name_index(path: Path) -> float:
    """Seconds to build the name search index (migration 0007) over the whole pool again: what
    the migration's backfill costs on an existing database. The bare insert that fills the
    pool keeps it current through the triggers, as every writer does."""
    connection = sqlite3.connect(path)
    started = time.perf_counter()
    with connection:
        connection.execute(
            "INSERT INTO contact_name_search (contact_name_search) VALUES ('rebuild')"
        )
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def measure(path: Path) -> dict[str, Any]:
    url = upgraded(path)
    index_seconds = rebuild_name_index(path)
    _operator(url)
    values = _searched(url)
    results: list[dict[str, Any]] = []
    with (
        serving(url, path.with_suffix(".console.log"), SIYU_SECRET_KEY="benchmark-only") as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        _sign_in(client)
        for label, template in LISTS:
            first = template.format(**values)
            _follow(client, first)  # warm: the first pass reads pages from disk
            results.append({"list": label, **_follow(client, first)})
    every = sorted(t for r in results for t in r.pop("timings"))
    return {
        "lists": results,
        "pages": len(every),
        "p50_ms": statistics.median(every),
        "p99_ms": every[min(len(every) - 1, round(0.99 * len(every)) - 1)],
        "max_ms": every[-1],
        "name_index_seconds": index_seconds,
    }


def _sign_in(client: httpx.Client) -> None:
    page = client.get("/login")
    token = _CSRF.search(page.text)
    if token is None:
        raise RuntimeError("the sign-in page has no CSRF token")
    response = client.post(
        "/login",
        data={"csrf_token": token.group(1), "identifier": LOGIN, "password": PASSWORD},
    )
    if response.status_code not in (200, 303) or "/login" in str(response.headers.get("location")):
        raise RuntimeError(f"sign-in failed ({response.status_code})")


def _follow(client: httpx.Client, first: str) -> dict[str, Any]:
    """The list's first page, then `PAGES_DEEP` more through its Next links."""
    timings: list[float] = []
    target: str | None = first
    while target and len(timings) <= PAGES_DEEP:
        started = time.perf_counter()
        response = client.get(target)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {target} answered {response.status_code}")
        found = _NEXT.search(response.text)
        target = html.unescape(found.group(1)) if found else None
    return {"timings": timings, "pages": len(timings), "max_ms": max(timings)}
