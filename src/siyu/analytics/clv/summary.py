"""Each buyer's (x, t_x, T, monetary) at a calibration end, from their purchase orders.

The CDNOW convention of Fader, Hardie & Lee: purchases (PURCHASE_STATUSES, in the base
currency) on one calendar day in the merchant's zone are one transaction, of their summed
value (paid minus refunded); time is counted in days from the buyer's first purchase day, and
a week is seven days, fractions kept (T = 38.86 weeks for a first purchase on 1 January and a
calibration end on 30 September). Then

- x: purchase days after the first (repeat transactions);
- t_x: from the first purchase day to the last; T: from the first to the calibration end;
- monetary: the mean value of the repeat days (the first is left out, as Gamma-Gamma wants).

The database groups the orders by buyer and day and then by buyer, so one row per buyer leaves
it, whatever the number of orders; the rows are read in batches into numpy arrays, sorted by
contact id.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.contacts.models import PURCHASE_STATUSES
from siyu.db.bulk import time_storage

UNIT_DAYS = {"day": 1, "week": 7}
EPOCH = date(1970, 1, 1)
# The first day's value rides along with the day in one integer, so min() returns both in a
# single pass (no window function, no second scan): day · 2^43 + value + 2^42. Exact for
# days before the year 4840 and a day's value within ±¥43,980,465,111.
_SHIFT = 2**43
_BIAS = 2**42
# Seconds since 1970 in the merchant's zone, divided into whole days. A fixed offset (the
# zone's at the calibration end) keeps both databases on the same arithmetic; Asia/Shanghai
# has had no daylight saving since 1991.
_DAY = {
    "sqlite": "(CAST(strftime('%s', placed_at) AS INTEGER) + :offset) / 86400",
    "postgresql": "CAST(floor((EXTRACT(EPOCH FROM placed_at) + :offset) / 86400) AS INTEGER)",
}
_UNIXEPOCH_DAY = "(unixepoch(placed_at) + :offset) / 86400"
# See analytics.rfm: a scan and a sort beat the (contact_id, placed_at) index's random lookups.
_SCAN = {"sqlite": "NOT INDEXED", "postgresql": ""}
_PURCHASE_DAYS = """
    SELECT contact_id, {day} AS day, CAST(sum(paid_amount - refunded_amount) AS BIGINT) AS value
    FROM contact_order {scan}
    WHERE status IN :statuses AND currency = :currency
        AND placed_at >= :start AND placed_at < :end
    GROUP BY 1, 2
"""
_SUMMARY = f"""
    SELECT contact_id, count(*), min(day), max(day), CAST(sum(value) AS BIGINT),
        min(day * {_SHIFT} + value + {_BIAS})
    FROM ({_PURCHASE_DAYS}) AS purchase_day
    GROUP BY contact_id
"""
_HOLDOUT = f"""
    SELECT contact_id, count(*) FROM ({_PURCHASE_DAYS}) AS purchase_day GROUP BY contact_id
"""
BATCH = 200_000


@dataclass(frozen=True)
class Summary:
    """One entry per buyer, sorted by contact id; times in `unit`, monetary in fen."""

    unit: str
    calibration_end: date
    contact_id: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    monetary: np.ndarray

    @property
    def customers(self) -> int:
        return len(self.contact_id)

    @property
    def repeat_buyers(self) -> int:
        return int(np.count_nonzero(self.x))


def _bounds(session: Session, first: date | None, last: date) -> dict[str, Any]:
    """Parameters for the orders placed on the days first..last (local dates)."""
    settings = get_settings()
    zone = settings.zone
    end = datetime.combine(last + timedelta(days=1), time(), zone)
    start = datetime.combine(first, time(), zone) if first else datetime(1970, 1, 1, tzinfo=UTC)
    stored = time_storage(session)
    offset = end.utcoffset()
    return {
        "statuses": list(PURCHASE_STATUSES),
        "currency": settings.currency,
        "start": stored(start),
        "end": stored(end),
        "offset": int(offset.total_seconds()) if offset else 0,
    }


def _driver_sql(dialect: str, sql: str, parameters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The statement in the driver's own placeholders, the statuses spelt out one by one."""
    parameters = dict(parameters)
    statuses = parameters.pop("statuses")
    names = [f"status_{n}" for n in range(len(statuses))]
    parameters.update(zip(names, statuses, strict=True))
    sql = sql.replace(":statuses", "(" + ", ".join(f":{name}" for name in names) + ")")
    if dialect == "postgresql":  # psycopg: %(name)s; sqlite3 takes :name as it is
        sql = re.sub(r":(\w+)", r"%(\1)s", sql)
    return sql, parameters


def _rows(session: Session, sql: str, parameters: dict[str, Any], width: int) -> np.ndarray:
    """The rows of one aggregate as an int64 array, read in batches straight from the driver:
    building SQLAlchemy rows cost more than the query itself (4 s of 8 for 100,000 buyers).
    On PostgreSQL a named (server-side) cursor keeps the client's memory to one batch."""
    connection = session.connection()
    dialect = connection.dialect.name
    day = _DAY[dialect]
    if dialect == "sqlite" and sqlite3.sqlite_version_info >= (3, 38):
        day = _UNIXEPOCH_DAY  # a third cheaper than strftime's text round trip
    text_sql, values = _driver_sql(dialect, sql.format(day=day, scan=_SCAN[dialect]), parameters)
    raw = connection.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor(name="clv_summary") if dialect == "postgresql" else raw.cursor()
    try:
        cursor.execute(text_sql, values)
        batches = []
        while batch := cursor.fetchmany(BATCH):
            batches.append(np.array(batch, dtype=np.int64).reshape(-1, width))
    finally:
        cursor.close()
    return np.concatenate(batches) if batches else np.empty((0, width), dtype=np.int64)


def extract(session: Session, *, until: date, unit: str) -> Summary:
    """The summary of every buyer with a purchase on or before `until` (a local date)."""
    rows = _rows(session, _SUMMARY, _bounds(session, None, until), 6)
    rows = rows[np.argsort(rows[:, 0], kind="stable")]  # grouped need not mean sorted
    contact_id, days, first, last, total, first_key = rows.T
    first_value = first_key - first * _SHIFT - _BIAS
    x = days - 1
    per_unit = float(UNIT_DAYS[unit])
    end_day = (until - EPOCH).days
    with np.errstate(divide="ignore", invalid="ignore"):
        monetary = np.where(x > 0, (total - first_value) / np.maximum(x, 1), 0.0)
    return Summary(
        unit=unit,
        calibration_end=until,
        contact_id=contact_id,
        x=x,
        t_x=(last - first) / per_unit,
        T=(end_day - first) / per_unit,
        monetary=monetary,
    )


def purchase_days(
    session: Session, *, after: date, until: date, contact_id: np.ndarray
) -> np.ndarray:
    """Purchase days of each given buyer in after+1 .. until (the holdout period)."""
    rows = _rows(session, _HOLDOUT, _bounds(session, after + timedelta(days=1), until), 2)
    counts = np.zeros(len(contact_id), dtype=np.int64)
    if len(rows):
        # Holdout buyers who had not bought by the calibration end are not in contact_id.
        at = np.minimum(np.searchsorted(contact_id, rows[:, 0]), max(len(contact_id) - 1, 0))
        found = contact_id[at] == rows[:, 0] if len(contact_id) else np.zeros(len(rows), bool)
        counts[at[found]] = rows[found, 1]
    return counts
