"""RFM refresh and lifecycle sweep on a large generated SQLite database.

    python -m benchmarks.rfm --contacts 1000000 --orders 10000000

The database is filled in SQL (recursive CTEs), not through the importer: what is measured is
the refresh, and the fill is only its input. Every contact has a shop account (so non-buyers
are leads); orders spread over three years before a fixed `now`, a third of them going to a
tenth of the contacts (frequent buyers), with cancellations and refunds. The file is kept in
benchmarks/data/ and reused when it exists with the same sizes.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from benchmarks.run import DATA, cpu_probe, fresh_database
from siyu.analytics import rfm
from siyu.contacts import lifecycle
from siyu.db.session import make_engine, session_factory

NOW = datetime(2026, 11, 1, tzinfo=UTC)
LATER = NOW + timedelta(days=30)
# Seconds before NOW (2026-11-01 00:00 UTC) that orders spread over.
HISTORY = 3 * 365 * 86400
_EPOCH_NOW = int(NOW.timestamp())

_CONTACTS = """
INSERT INTO contact (id, name, source, traits, created_at, updated_at, order_count,
    total_spent, refunded_amount, average_order_value, platforms)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :contacts)
SELECT i, 'c' || i, 'taobao', '{}', '2023-01-01 00:00:00.000000', '2023-01-01 00:00:00.000000',
    0, 0, 0, 0, '' FROM n
"""
_IDENTITIES = """
INSERT INTO contact_identity (contact_id, kind, value, source, created_at)
SELECT id, 'taobao_nick', 'nick' || id, 'taobao', created_at FROM contact
"""
_ORDERS = f"""
INSERT INTO contact_order (id, contact_id, platform, shop, platform_order_id, status, currency,
    total_amount, paid_amount, refunded_amount, shipping_fee, discount_amount, placed_at,
    created_at, updated_at)
SELECT i, contact_id, 'taobao', 'shop', 'o' || i, status, 'CNY', amount,
    CASE WHEN status = 'cancelled' THEN 0 ELSE amount END,
    CASE WHEN status = 'refunded' THEN amount ELSE 0 END, 0, 0, placed_at, placed_at, placed_at
FROM (
    WITH RECURSIVE n(i) AS (SELECT :first UNION ALL SELECT i + 1 FROM n WHERE i < :last)
    SELECT i,
        CASE WHEN abs(random()) % 3 = 0 THEN 1 + abs(random()) % (:contacts / 10)
             ELSE 1 + abs(random()) % :contacts END AS contact_id,
        CASE abs(random()) % 100 WHEN 0 THEN 'cancelled' WHEN 1 THEN 'cancelled'
             WHEN 2 THEN 'refunded' WHEN 3 THEN 'pending' ELSE 'completed' END AS status,
        1000 + abs(random()) % 50000 AS amount,
        strftime('%Y-%m-%d %H:%M:%S', {_EPOCH_NOW} - abs(random()) % {HISTORY}, 'unixepoch')
            || '.000000' AS placed_at
    FROM n
)
"""
_ROLLUPS = """
UPDATE contact SET order_count = agg.n, total_spent = agg.spent, refunded_amount = agg.refunded,
    average_order_value = agg.spent / agg.n, first_order_at = agg.first, last_order_at = agg.last,
    platforms = 'taobao'
FROM (
    SELECT contact_id, count(*) AS n, sum(paid_amount) - sum(refunded_amount) AS spent,
        sum(refunded_amount) AS refunded, min(placed_at) AS first, max(placed_at) AS last
    FROM contact_order WHERE status IN ('paid', 'shipped', 'completed', 'refunded')
    GROUP BY contact_id
) AS agg WHERE contact.id = agg.contact_id
"""


def fill_orders(engine: Engine, contacts: int, orders: int) -> None:
    step = 1_000_000
    for first in range(1, orders + 1, step):
        with engine.begin() as connection:
            connection.execute(
                text(_ORDERS),
                {"first": first, "last": min(first + step - 1, orders), "contacts": contacts},
            )


def build(
    path: Path,
    contacts: int,
    orders: int,
    fill: Callable[[Engine, int, int], None] = fill_orders,
) -> None:
    """The database; `fill` writes the orders (benchmarks/clv.py simulates them instead)."""
    url = fresh_database(path)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(_CONTACTS), {"contacts": contacts})
        connection.execute(text(_IDENTITIES))
    fill(engine, contacts, orders)
    with engine.begin() as connection:
        connection.execute(text(_ROLLUPS))
        connection.execute(
            text("UPDATE contact SET lifecycle_stage = 'lead' WHERE order_count = 0")
        )
    with session_factory(engine)() as session, session.begin():
        lifecycle.sweep(session, now=NOW)  # every buyer's first stage
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


def timed(engine: object, work: object) -> tuple[float, object]:
    make = session_factory(engine)  # type: ignore[arg-type]
    started = time.perf_counter()
    with make() as session, session.begin():
        result = work(session)  # type: ignore[operator]
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"rfm-{args.contacts}-{args.orders}.db"
    if not path.exists():
        started = time.perf_counter()
        build(path, args.contacts, args.orders)
        print(f"built {path.name} in {time.perf_counter() - started:.0f} s")
    probe = cpu_probe()
    engine = make_engine(f"sqlite:///{path}")
    figures: dict[str, object] = {"contacts": args.contacts, "orders": args.orders}
    for run in (1, 2):  # the second run replaces what the first wrote
        seconds, result = timed(engine, lambda s: rfm.refresh(s, now=NOW))
        figures[f"rfm_refresh_{run}_s"] = round(seconds, 2)
        figures["rfm_scored"] = result["scored"]  # type: ignore[index]
    # A month later, time alone has moved some buyers; right after, nobody.
    seconds, moved = timed(engine, lambda s: lifecycle.sweep(s, now=LATER))
    figures["lifecycle_sweep_s"], figures["lifecycle_sweep_moved"] = round(seconds, 2), moved
    seconds, moved = timed(engine, lambda s: lifecycle.sweep(s, now=LATER))
    figures["lifecycle_sweep_again_s"], figures["lifecycle_sweep_again_moved"] = (
        round(seconds, 2),
        moved,
    )
    ids = range(1, args.contacts + 1, max(1, args.contacts // 5000))
    seconds, moved = timed(engine, lambda s: lifecycle.refresh(s, contact_ids=ids, now=LATER))
    figures["lifecycle_refresh_5000_ids_s"] = round(seconds, 3)
    figures["cpu_probe_ms"] = [round(probe * 1000), round(cpu_probe() * 1000)]
    engine.dispose()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
