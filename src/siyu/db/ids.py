"""Allocating primary keys for bulk inserts.

Inserting many rows and learning their ids in order needs RETURNING with a guaranteed order,
which SQLite can only give one row per statement. Allocating the ids first lets a bulk insert
be one plain executemany on every database.
"""

from __future__ import annotations

from sqlalchemy import Table, text
from sqlalchemy.orm import Session


def allocate_ids(session: Session, table: Table, count: int) -> list[int]:
    if count <= 0:
        return []
    bind = session.connection()
    if bind.dialect.name == "postgresql":
        # Sequences hand out ids safely to any number of concurrent writers (Citus too).
        rows = bind.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": count},
        )
        return [row[0] for row in rows]
    # SQLite: the table is AUTOINCREMENT, so sqlite_sequence is its sequence. Advancing it is a
    # write, which takes SQLite's single write lock until this transaction ends.
    name = table.name
    advanced = bind.execute(
        text(
            "UPDATE sqlite_sequence SET seq = max(seq, "
            f"(SELECT coalesce(max(id), 0) FROM {name})) + :n WHERE name = :name"
        ),
        {"n": count, "name": name},
    )
    if not advanced.rowcount:
        bind.execute(
            text(
                "INSERT INTO sqlite_sequence (name, seq) "
                f"SELECT :name, coalesce(max(id), 0) + :n FROM {name}"
            ),
            {"n": count, "name": name},
        )
    end = bind.execute(
        text("SELECT seq FROM sqlite_sequence WHERE name = :name"), {"name": name}
    ).scalar_one()
    return list(range(end - count + 1, end + 1))
