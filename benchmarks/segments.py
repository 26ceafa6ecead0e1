"""Segments at scale: counting a five-condition segment over 1,000,000 contacts, 10,000,000
orders and 20,000,000 events in SQLite, against DuckDB answering the same question over the
same rows in the same run; and re-evaluating one changed contact against 100 segments.

The rows are generated once, column by column with numpy, and written to both databases:
to SQLite through `executemany` into the tables Siyu's migrations made, and to DuckDB as Arrow
tables. DuckDB is only the reference here; Siyu does not use it.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bare import connect

QUERY = (
    'tag("VIP") and orders(within: 90d).count >= 2 and total_spent >= ¥500 '
    'and events("page_viewed", within: 7d).count >= 1 and consent(sms)'
)
TARGET_COUNT_SECONDS = 1.0
TARGET_DUCKDB_RATIO = 3.0
TARGET_REEVALUATE_MS = 20.0
SEGMENTS = 100
NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
CHUNK = 500_000
EVENT_NAMES = ("added_to_cart", "signed_up", "link_clicked", "form_submitted", "searched")
PLATFORMS = ("taobao", "jd", "douyin")
STATUSES = ("completed", "completed", "completed", "paid", "shipped", "refunded", "cancelled")
PURCHASES = ("paid", "shipped", "completed", "refunded")


def _text_times(seconds_back: np.ndarray) -> list[str]:
    """Times `seconds_back` before NOW as SQLite stores them (UTC, microseconds)."""
    base = np.datetime64(NOW.replace(tzinfo=None), "us")
    stamps = base - seconds_back.astype("timedelta64[s]").astype("timedelta64[us]")
    return [s.replace("T", " ") for s in np.datetime_as_string(stamps, unit="us").tolist()]


def _times(seconds_back: np.ndarray) -> np.ndarray:
    base = np.datetime64(NOW.replace(tzinfo=None), "us")
    return base - seconds_back.astype("timedelta64[s]").astype("timedelta64[us]")


def build(path: Path, contacts: int, seed: int) -> dict[str, Any]:
    """Fill a migrated SQLite database and return the same rows as Arrow tables."""
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    connection = connect(path)
    connection.execute("BEGIN")
    started = time.perf_counter()
    # Orders per contact: heavy-tailed, 10 on average.
    per_contact = np.minimum(rng.geometric(1 / 10, contacts), 200)
    order_owner = np.repeat(np.arange(1, contacts + 1), per_contact)
    orders = len(order_owner)
    # Placed over two years, newest buyers more active.
    order_back = rng.integers(0, 730 * 86400, orders)
    status = rng.integers(0, len(STATUSES), orders)
    amount = (rng.gamma(2.0, 8000, orders)).astype(np.int64) + 990
    platform = rng.integers(0, len(PLATFORMS), orders)
    purchase = np.isin(np.array(STATUSES)[status], PURCHASES)
    # Rollups as Siyu keeps them: purchases only.
    spent = np.bincount(order_owner, weights=amount * purchase, minlength=contacts + 1)[1:]
    counted = np.bincount(order_owner, weights=purchase, minlength=contacts + 1)[1:]
    newest = np.full(contacts + 1, np.iinfo(np.int64).max)
    np.minimum.at(newest, order_owner[purchase], order_back[purchase])
    newest = newest[1:]
    now_text = _text_times(np.zeros(1, dtype=np.int64))[0]
    last_text = _text_times(np.where(newest == np.iinfo(np.int64).max, 0, newest))
    ids = np.arange(1, contacts + 1)
    connection.executemany(
        "INSERT INTO contact (id, name, source, traits, created_at, updated_at, order_count, "
        "total_spent, refunded_amount, average_order_value, last_order_at, platforms) "
        "VALUES (?, ?, 'taobao', '{}', ?, ?, ?, ?, 0, ?, ?, 'taobao')",
        (
            (
                int(i),
                f"客户{i}",
                now_text,
                now_text,
                int(n),
                int(s),
                int(s // n) if n else 0,
                last_text[i - 1] if n else None,
            )
            for i, n, s in zip(ids.tolist(), counted.tolist(), spent.tolist(), strict=True)
        ),
    )
    vip = rng.random(contacts) < 0.13
    connection.execute(
        "INSERT INTO contact_tag (id, tag_group, name, created_at) VALUES (1, '', 'VIP', ?)",
        (now_text,),
    )
    connection.execute(
        "INSERT INTO contact_tag (id, tag_group, name, created_at) VALUES (2, '兴趣', '护肤', ?)",
        (now_text,),
    )
    tagged = ids[vip]
    connection.executemany(
        "INSERT INTO contact_tag_link (contact_id, tag_id, source, added_by, added_at) "
        "VALUES (?, 1, 'manual', 'bench', ?)",
        ((int(i), now_text) for i in tagged.tolist()),
    )
    sms = rng.random(contacts) < 0.4
    connection.executemany(
        "INSERT INTO contact_consent (contact_id, channel, granted, source, purpose, recorded_at) "
        "VALUES (?, 'sms', ?, 'bench', '', ?)",
        ((int(i), int(g), now_text) for i, g in zip(ids.tolist(), sms.tolist(), strict=True)),
    )
    order_tables = []
    for start in range(0, orders, CHUNK):
        part = slice(start, start + CHUNK)
        placed = _text_times(order_back[part])
        owners, states = order_owner[part].tolist(), np.array(STATUSES)[status[part]].tolist()
        amounts, shops = amount[part].tolist(), np.array(PLATFORMS)[platform[part]].tolist()
        connection.executemany(
            "INSERT INTO contact_order (id, contact_id, platform, shop, platform_order_id, status, "
            "currency, total_amount, paid_amount, refunded_amount, shipping_fee, discount_amount, "
            "placed_at, created_at, updated_at) "
            "VALUES (?, ?, ?, '', ?, ?, 'CNY', ?, ?, 0, 0, 0, ?, ?, ?)",
            (
                (start + n + 1, o, p, f"B{start + n:09d}", s, a, a, t, now_text, now_text)
                for n, (o, p, s, a, t) in enumerate(
                    zip(owners, shops, states, amounts, placed, strict=True)
                )
            ),
        )
        order_tables.append(
            pa.table(
                {
                    "contact_id": order_owner[part],
                    "status": pa.array(states).dictionary_encode(),
                    "currency": pa.array(["CNY"] * len(owners)).dictionary_encode(),
                    "placed_at": _times(order_back[part]),
                }
            )
        )
    # Events: 20 a contact on average over the last 180 days, contact by contact.
    per_person = rng.poisson(20, contacts)
    event_owner = np.repeat(ids, per_person)
    events = len(event_owner)
    connection.execute(
        "INSERT INTO event_source (id, name, prefix, secret_hash, created_by, created_at) "
        "VALUES (1, 'site', 'wk_bench', ?, 'bench', ?)",
        ("-" * 64, now_text),
    )
    event_tables = []
    for start in range(0, events, CHUNK):
        part = slice(start, start + CHUNK)
        count = len(event_owner[part])
        back = rng.integers(0, 180 * 86400, count)
        page = rng.random(count) < 0.3
        names = np.where(
            page, "首页", np.array(EVENT_NAMES)[rng.integers(0, len(EVENT_NAMES), count)]
        )
        types = np.where(page, "page", "track")
        stamps = _text_times(back)
        owners = event_owner[part].tolist()
        connection.executemany(
            "INSERT INTO event (source_id, contact_id, type, name, message_id, timestamp, "
            "received_at) VALUES (1, ?, ?, ?, ?, ?, ?)",
            (
                (o, t, n, f"e{start + k:010d}", s, s)
                for k, (o, t, n, s) in enumerate(
                    zip(owners, types.tolist(), names.tolist(), stamps, strict=True)
                )
            ),
        )
        event_tables.append(
            pa.table(
                {
                    "contact_id": event_owner[part],
                    "type": pa.array(types).dictionary_encode(),
                    "timestamp": _times(back),
                }
            )
        )
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.close()
    return {
        "contacts": contacts,
        "orders": orders,
        "events": events,
        "build_seconds": time.perf_counter() - started,
        "arrow": {
            "contact": pa.table({"id": ids, "total_spent": spent.astype(np.int64)}),
            "tag_link": pa.table(
                {"contact_id": tagged, "tag_id": np.ones(len(tagged), dtype=np.int64)}
            ),
            "consent": pa.table({"contact_id": ids, "granted": sms}),
            "orders": pa.concat_tables(order_tables),
            "events": pa.concat_tables(event_tables),
        },
    }


DUCKDB_QUERY = """
SELECT count(*) FROM contact c
WHERE c.total_spent >= 50000
  AND c.id IN (SELECT contact_id FROM tag_link WHERE tag_id = 1)
  AND c.id IN (SELECT contact_id FROM consent WHERE granted)
  AND c.id IN (SELECT contact_id FROM orders
               WHERE placed_at >= $orders_since AND currency = 'CNY'
                 AND status IN ('paid', 'shipped', 'completed', 'refunded')
               GROUP BY contact_id HAVING count(*) >= 2)
  AND c.id IN (SELECT contact_id FROM events
               WHERE type = 'page' AND timestamp >= $events_since
               GROUP BY contact_id HAVING count(*) >= 1)
"""


def duckdb_count(arrow: dict[str, Any], runs: int) -> tuple[int, list[float]]:
    import duckdb

    connection = duckdb.connect()
    for name, table in arrow.items():
        connection.register(f"{name}_arrow", table)
        connection.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_arrow")
        connection.unregister(f"{name}_arrow")
    params = {
        "orders_since": (NOW - timedelta(days=90)).replace(tzinfo=None),
        "events_since": (NOW - timedelta(days=7)).replace(tzinfo=None),
    }
    found = connection.execute(DUCKDB_QUERY, params).fetchone()[0]  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        connection.execute(DUCKDB_QUERY, params).fetchone()
        times.append(time.perf_counter() - started)
    connection.close()
    return int(found), times


def siyu_count(url: str, runs: int) -> tuple[int, list[float]]:
    from siyu.db.session import make_engine, session_factory
    from siyu.kit.actor import Actor
    from siyu.segments import service

    engine = make_engine(url)
    make = session_factory(engine)
    times = []
    with make() as session:
        found = service.count(session, actor=Actor.cli(), query=QUERY, now=NOW)["count"]
        for _ in range(runs):
            started = time.perf_counter()
            service.count(session, actor=Actor.cli(), query=QUERY, now=NOW)
            times.append(time.perf_counter() - started)
    engine.dispose()
    return int(found), times


def segment_queries(count: int, seed: int) -> list[str]:
    """A hundred segments of the kinds merchants keep, with varied thresholds."""
    rng = random.Random(seed)
    shapes = [
        lambda: f"total_spent >= ¥{rng.choice([100, 300, 500, 1000, 3000])}",
        lambda: f"orders(within: {rng.choice([30, 90, 180, 365])}d).count >= {rng.randint(1, 4)}",
        lambda: f'tag("VIP") and last_order_at > {rng.choice([30, 60, 90])}d ago',
        lambda: (
            f'events("page_viewed", within: {rng.choice([1, 7, 30])}d).count >= {rng.randint(1, 5)}'
        ),
        lambda: f"consent(sms) and order_count between {rng.randint(1, 3)} and {rng.randint(4, 9)}",
        lambda: (
            f'not tag("VIP") and orders(within: {rng.choice([90, 180])}d).sum'
            f" >= ¥{rng.choice([200, 800])}"
        ),
        lambda: f'city = "杭州" or total_spent > ¥{rng.choice([2000, 5000])}',
    ]
    return [rng.choice(shapes)() for _ in range(count)]


def reevaluate_times(url: str, contacts: int, samples: int, seed: int) -> list[float]:
    from sqlalchemy import insert, text

    from siyu.db.session import make_engine, session_factory
    from siyu.segments import membership
    from siyu.segments.compiler import compile_query
    from siyu.segments.language import parse, to_text
    from siyu.segments.models import Segment

    engine = make_engine(url)
    make = session_factory(engine)
    with make() as session, session.begin():
        # Stored straight away, not filled: the measure is looking at one contact again.
        rows = []
        for number, query_text in enumerate(segment_queries(SEGMENTS, seed), start=1):
            node = parse(query_text)
            rows.append(
                {
                    "name": f"bench {number}",
                    "description": "",
                    "kind": "dynamic",
                    "definition": node,
                    "query": to_text(node),
                    "clock_dependent": compile_query(session, node).clock_dependent,
                    "member_count": 0,
                    "created_by": "bench",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        session.execute(insert(Segment), rows)
    rng = random.Random(seed)
    picked = [rng.randint(1, contacts) for _ in range(samples + 20)]
    times = []
    with make() as session:
        # Each contact is first looked at once, as the segments would have it; then its city
        # changes, as an edit or an import would change it, and it is looked at again.
        for contact_id in picked:
            with session.begin():
                membership.reevaluate(session, contact_ids=[contact_id], now=NOW)
        for number, contact_id in enumerate(picked):
            with session.begin():
                session.execute(
                    text(
                        "UPDATE contact SET city = CASE WHEN city = '杭州' THEN '上海' "
                        "ELSE '杭州' END WHERE id = :id"
                    ),
                    {"id": contact_id},
                )
                started = time.perf_counter()
                membership.reevaluate(session, contact_ids=[contact_id], now=NOW)
                took = time.perf_counter() - started
            if number >= 20:  # the first calls build the compiled statement
                times.append(took)
    engine.dispose()
    return times


def measure(data: Path, contacts: int, seed: int, fresh_database: Any) -> dict[str, Any]:
    path = data / "segments.db"
    url = fresh_database(path)
    built = build(path, contacts, seed)
    print(
        f"  built {built['contacts']:,} contacts, {built['orders']:,} orders, "
        f"{built['events']:,} events in {built['build_seconds']:.0f} s"
    )
    found, siyu_times = siyu_count(url, runs=5)
    reference, duck_times = duckdb_count(built.pop("arrow"), runs=5)
    reevaluate = reevaluate_times(url, contacts, samples=200, seed=seed)
    result = {
        **{k: v for k, v in built.items()},
        "count": found,
        "duckdb_count": reference,
        "count_seconds": statistics.median(siyu_times),
        "duckdb_seconds": statistics.median(duck_times),
        "reevaluate_p50_ms": statistics.median(reevaluate) * 1000,
        "reevaluate_p99_ms": sorted(reevaluate)[int(len(reevaluate) * 0.99) - 1] * 1000,
        "reevaluate_samples": len(reevaluate),
    }
    result["ratio"] = result["count_seconds"] / result["duckdb_seconds"]
    print(
        f"  count {found:,} in {result['count_seconds'] * 1000:.0f} ms (DuckDB {reference:,} in "
        f"{result['duckdb_seconds'] * 1000:.0f} ms, {result['ratio']:.1f}×); one contact against "
        f"{SEGMENTS} segments p99 {result['reevaluate_p99_ms']:.1f} ms"
    )
    return result


def lines(result: dict[str, Any] | None, verdict: Any) -> list[str]:
    head = ["## Segments", ""]
    if result is None:
        return [*head, "Not measured in this run.", ""]
    same = "the same count" if result["count"] == result["duckdb_count"] else "A DIFFERENT COUNT"
    return [
        *head,
        f"A generated SQLite database of {result['contacts']:,} contacts, {result['orders']:,}",
        f"orders and {result['events']:,} events (built in {result['build_seconds']:.0f} s, made",
        "by the migrations, filled with `executemany`), and the same rows as Arrow tables in an",
        "in-memory DuckDB, the reference. The five-condition segment",
        "",
        f"    {QUERY}",
        "",
        "is counted with `siyu.segments.service.count` (parse, compile, run) and by DuckDB with",
        f"the equivalent SQL; median of 5 warm runs each. Both found {same}",
        f"({result['count']:,} vs {result['duckdb_count']:,}). Re-evaluating one contact:",
        "`membership.reevaluate` for one random contact whose city just changed, against",
        f"{SEGMENTS} dynamic segments of seven common shapes (each contact looked at once before,",
        f"so only the change moves it), {result['reevaluate_samples']} contacts after 20 warm-up",
        "ones.",
        "",
        "| measure | measured | target | |",
        "|---|---|---|---|",
        f"| count, five conditions | {result['count_seconds'] * 1000:,.0f} ms | "
        f"≤ {TARGET_COUNT_SECONDS * 1000:,.0f} ms | "
        f"{verdict(result['count_seconds'] <= TARGET_COUNT_SECONDS)} |",
        f"| against DuckDB ({result['duckdb_seconds'] * 1000:,.0f} ms) | {result['ratio']:.1f}× | "
        f"≤ {TARGET_DUCKDB_RATIO:.0f}× | {verdict(result['ratio'] <= TARGET_DUCKDB_RATIO)} |",
        f"| one contact against {SEGMENTS} segments, p50 | "
        f"{result['reevaluate_p50_ms']:.1f} ms | | |",
        f"| one contact against {SEGMENTS} segments, p99 | {result['reevaluate_p99_ms']:.1f} ms | "
        f"≤ {TARGET_REEVALUATE_MS:.0f} ms | "
        f"{verdict(result['reevaluate_p99_ms'] <= TARGET_REEVALUATE_MS)} |",
        "",
    ]


def main() -> None:
    """`python -m benchmarks.segments [CONTACTS]`: this section alone, printed, not recorded."""
    import sys

    from benchmarks.run import DATA, fresh_database

    DATA.mkdir(parents=True, exist_ok=True)
    contacts = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    measure(DATA, contacts, 1, fresh_database)


if __name__ == "__main__":
    main()
