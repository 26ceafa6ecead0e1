"""Sustained event ingestion through POST /v1/batch into SQLite: events/s and batch latency.

The server is the real one: `siyu serve --no-worker` in a subprocess on a free loopback port,
on a fresh database made by the migrations. Clients post Segment-shaped batches of 100 events
(80% track, 15% page, 5% identify) from a pool of visitors, a third of them signed in, so the
run exercises contact creation early and lookups of known people later, as a live site does.
Bodies are built before the clock starts; each client keeps one keep-alive connection.
"""

from __future__ import annotations

import base64
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from siyu.db import migrate
from siyu.db.session import make_engine, unit_of_work
from siyu.events.sources import create_source
from siyu.kit.actor import Actor

BATCH = 100
VISITORS = 5_000
WARM_UP = 20
TARGET_EVENTS_PER_SECOND = 10_000
TARGET_P99_MS = 100.0


def _fresh(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def _write_key(url: str) -> str:
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        _, key = create_source(session, name="benchmark", actor=Actor.system())
    engine.dispose()
    return key


def _event(rng: random.Random, now: str) -> dict[str, Any]:
    visitor = rng.randrange(VISITORS)
    ids: dict[str, Any] = {"anonymousId": f"anon-{visitor}"}
    if visitor % 3 == 0:
        ids["userId"] = f"user-{visitor}"
    roll = rng.random()
    common = {"messageId": str(uuid.uuid4()), "timestamp": now, **ids}
    if roll < 0.8:
        return {
            "type": "track",
            "event": rng.choice(["Product Viewed", "Product Added", "Order Completed"]),
            "properties": {"sku": f"SKU-{rng.randrange(500)}", "price": rng.randrange(1, 999)},
            **common,
        }
    if roll < 0.95:
        return {
            "type": "page",
            "name": rng.choice(["Home", "Product", "Cart"]),
            "properties": {"url": f"https://shop.example.cn/p/{rng.randrange(500)}"},
            **common,
        }
    return {
        "type": "identify",
        "traits": {"name": f"顾客{visitor}", "email": f"c{visitor}@example.cn"},
        **common,
    }


def _bodies(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    now = datetime.now(UTC).isoformat()
    context = {"library": {"name": "benchmark", "version": "1"}, "locale": "zh-CN"}
    return [
        json.dumps(
            {
                "batch": [_event(rng, now) for _ in range(BATCH)],
                "context": context,
                "sentAt": now,
            },
            ensure_ascii=False,
        ).encode()
        for _ in range(count)
    ]


def _serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    siyu = Path(sys.executable).with_name("siyu")
    env = {**os.environ, "SIYU_DATABASE_URL": url, "SIYU_RUN_WORKER": "false"}
    return subprocess.Popen(
        [str(siyu), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _wait_until_up(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"siyu serve exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("siyu serve did not start within 60 s")


def _client(
    base: str, key: str, bodies: list[bytes], timings: list[float], failures: list[int]
) -> None:
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for body in bodies:
            started = time.perf_counter()
            response = client.post("/v1/batch", content=body)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                failures.append(response.status_code)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(folder: Path, batches: int, clients: int = 2, seed: int = 11) -> dict[str, Any]:
    """Post `batches` batches of 100 events from `clients` concurrent connections."""
    from benchmarks.api360 import _free_port  # the 360 benchmark's helper; same need

    path = folder / "events.db"
    url = _fresh(path)
    key = _write_key(url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = path.with_suffix(".serve.log")
    server = _serve(url, port, log)
    try:
        _wait_until_up(base, server, log)
        warm: list[float] = []
        _client(base, key, _bodies(WARM_UP, seed + 1), warm, [])
        bodies = _bodies(batches, seed)
        timings: list[float] = []
        failures: list[int] = []
        threads = [
            threading.Thread(
                target=_client, args=(base, key, bodies[i::clients], timings, failures)
            )
            for i in range(clients)
        ]
        # The server's own CPU time tells its cost apart from the clients' on a shared machine.
        cpu_before = _cpu_seconds(server.pid)
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        cpu_after = _cpu_seconds(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    timings.sort()
    return {
        "batches": batches,
        "clients": clients,
        "events": batches * BATCH,
        "seconds": seconds,
        "failures": len(failures),
        "events_per_second": batches * BATCH / seconds,
        "p50_ms": statistics.median(timings),
        "p99_ms": timings[min(len(timings) - 1, round(0.99 * len(timings)) - 1)],
        "max_ms": timings[-1],
        "server_cpu_ms_per_batch": (
            (cpu_after - cpu_before) * 1000 / batches
            if cpu_before is not None and cpu_after is not None
            else None
        ),
    }


if __name__ == "__main__":
    folder = Path(__file__).resolve().parent / "data"
    folder.mkdir(exist_ok=True)
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    print(json.dumps(measure(folder, count), indent=2))
