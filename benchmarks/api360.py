"""Customer 360 over the REST API on a large pool: p50 and p99 of GET /api/v1/contacts/{id}.

The pool is filled with the bare insert (the read path does not care how rows arrived, and the
import is measured on its own): contacts with Taobao identities and orders from the benchmark
generator, plus tags, notes and consent on a share of them, so every part of the 360 has rows
to read. It is kept in benchmarks/data and reused while its generator version is unchanged.

The server is the real one: `siyu serve` in a subprocess on a free loopback port, driven by
one httpx client over a keep-alive connection, ids drawn at random.
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session

from benchmarks import bare, generate
from siyu.db import migrate
from siyu.db.session import make_engine
from siyu.kit.actor import Actor
from siyu.staff.service import create_api_key

GENERATOR_VERSION = 1
ORDERS_PER_CONTACT = 2
WARM_UP = 200
TAGS = [
    ("兴趣", "护肤"),
    ("兴趣", "补水"),
    ("兴趣", "修护"),
    ("人群", "白领"),
    ("人群", "学生党"),
    ("", "VIP"),
]


def database_path(folder: Path, contacts: int) -> Path:
    return folder / f"api360-{contacts}-v{GENERATOR_VERSION}.db"


def _fresh(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()


def build(path: Path, contacts: int, seed: int = 5) -> dict[str, Any]:
    """A pool of `contacts` people with orders, tags, notes and consent."""
    started = time.perf_counter()
    partial = path.with_suffix(".partial")
    _fresh(partial)
    rows = contacts * ORDERS_PER_CONTACT

    def stream() -> Any:
        return generate.orders(rows, seed, buyers=contacts)

    counts = bare.insert(partial, bare.prepare(stream(), stream()))
    rng = random.Random(seed)
    connection = bare.connect(partial)
    now = bare.stamp(datetime(2026, 11, 1))
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO contact_tag (id, tag_group, name, created_at) VALUES (?, ?, ?, ?)",
        [(i, g, n, now) for i, (g, n) in enumerate(TAGS, start=1)],
    )
    links, notes, consents = [], [], []
    for contact_id in range(1, counts["contacts"] + 1):
        if rng.random() < 0.4:
            for tag_id in rng.sample(range(1, len(TAGS) + 1), rng.randint(1, 3)):
                links.append((contact_id, tag_id, "import", "benchmark", now))
        if rng.random() < 0.05:
            notes.append((contact_id, "老客户，每季度回购精华油", "lina", now))
        if rng.random() < 0.3:
            consents.append((contact_id, "sms", rng.random() < 0.9, "import", "会员营销", now))
    connection.executemany(
        "INSERT INTO contact_tag_link (contact_id, tag_id, source, added_by, added_at) "
        "VALUES (?, ?, ?, ?, ?)",
        links,
    )
    connection.executemany(
        "INSERT INTO contact_note (contact_id, body, author, created_at) VALUES (?, ?, ?, ?)",
        notes,
    )
    connection.executemany(
        "INSERT INTO contact_consent (contact_id, channel, granted, source, purpose, "
        "recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
        consents,
    )
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.rename(path)
    return {**counts, "tag_links": len(links), "seconds": time.perf_counter() - started}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _api_key(url: str) -> str:
    engine = make_engine(url)
    with Session(engine) as session:
        _key, secret = create_api_key(
            session, name="benchmark", scopes=["read"], actor=Actor.system()
        )
        session.commit()
    engine.dispose()
    return secret


def upgraded(path: Path) -> str:
    """The kept pool's URL, its schema brought up to the code's (migrations added since)."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


@contextmanager
def serving(url: str, log_path: Path, **env: str) -> Iterator[str]:
    """`siyu serve` on a free loopback port for this database, up and answering; its base URL.
    Stopped on the way out, whatever happened."""
    port = _free_port()
    siyu = Path(sys.executable).with_name("siyu")
    environment = {**os.environ, "SIYU_DATABASE_URL": url, "SIYU_RUN_WORKER": "false", **env}
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(siyu), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=30) as probe:
                _wait_until_up(probe, server, log_path)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def measure(path: Path, contacts: int, requests: int, seed: int = 9) -> dict[str, Any]:
    url = upgraded(path)
    secret = _api_key(url)
    with (
        serving(url, path.with_suffix(".serve.log")) as base,
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=30
        ) as client,
    ):
        rng = random.Random(seed)
        ids = [rng.randint(1, contacts) for _ in range(WARM_UP + requests)]
        for contact_id in ids[:WARM_UP]:
            client.get(f"/api/v1/contacts/{contact_id}").raise_for_status()
        timings = []
        failures = 0
        orders_seen = 0
        for contact_id in ids[WARM_UP:]:
            started = time.perf_counter()
            response = client.get(f"/api/v1/contacts/{contact_id}")
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                failures += 1
            else:
                orders_seen += len(response.json().get("recent_orders", []))
    timings.sort()
    return {
        "requests": requests,
        "failures": failures,
        "p50_ms": statistics.median(timings),
        "p99_ms": timings[min(len(timings) - 1, round(0.99 * len(timings)) - 1)],
        "max_ms": timings[-1],
        "mean_orders_shown": orders_seen / max(1, requests - failures),
    }


def _wait_until_up(client: httpx.Client, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            error = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"siyu serve exited: {error}")
        try:
            if client.get("/api/v1/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("siyu serve did not come up within 60 s")
