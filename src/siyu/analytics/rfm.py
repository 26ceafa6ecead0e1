"""RFM: each buyer's recency, frequency and monetary quintiles, and the segment they name.

Over the purchases (PURCHASE_STATUSES, in the base currency, as the rollups count them) placed
in the SIYU_RFM_WINDOW_DAYS before `now`, for every contact with at least one:

- `recency_days`: whole days from the last purchase to `now`; `frequency`: purchases;
  `monetary`: paid minus refunded, in fen;
- each scored 1–5 by NTILE(5) over the buyers: recency reversed (5 = most recent), so the
  buyers are ordered by recency_days descending, frequency and monetary ascending, and ties
  broken by contact id (ascending) so the same data always gives the same scores: buyers with
  equal values may fall in neighbouring quintiles, the lower ids in the lower one;
- `score` = 100 R + 10 F + M; `segment` by SEGMENT_RULES, first match wins, else `others`.

A refresh replaces the whole table in the caller's transaction, entirely in SQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.orm import Session

from siyu.analytics.models import RFM_SEGMENTS, RfmScore
from siyu.config import get_settings
from siyu.contacts.models import PURCHASE_STATUSES, Contact
from siyu.db.bulk import utc_text
from siyu.db.types import utcnow
from siyu.kit.actor import Actor
from siyu.kit.timeutil import isoformat
from siyu.segments import membership
from siyu.staff.permissions import allow, scope_contacts

# (segment, (R low, R high), (F low, F high), (M low, M high)), tried in this order.
SEGMENT_RULES: tuple[tuple[str, tuple[int, int], tuple[int, int], tuple[int, int]], ...] = (
    ("champions", (5, 5), (5, 5), (5, 5)),
    ("potential_loyalist", (3, 5), (3, 5), (2, 5)),
    ("loyal_customers", (2, 4), (2, 4), (2, 4)),
    ("promising", (3, 4), (1, 3), (3, 5)),
    ("new_customers", (4, 5), (1, 3), (1, 5)),
    ("cant_lose_them", (1, 2), (3, 4), (4, 5)),
    ("at_risk", (1, 2), (2, 5), (4, 5)),
    ("need_attention", (1, 3), (3, 5), (3, 5)),
    ("about_to_sleep", (2, 3), (1, 3), (1, 4)),
    ("lost", (1, 1), (1, 5), (1, 5)),
)
SEGMENTS = RFM_SEGMENTS
# The names the console shows (zh_CN through rfm.po) and the CLI prints.
SEGMENT_NAMES = {
    "champions": ("Champions", "冠军客户"),
    "potential_loyalist": ("Potential Loyalist", "潜在忠诚客户"),
    "loyal_customers": ("Loyal Customers", "忠诚客户"),
    "promising": ("Promising", "有潜力客户"),
    "new_customers": ("New Customers", "新客户"),
    "cant_lose_them": ("Can't Lose Them", "不能失去的客户"),
    "at_risk": ("At Risk", "有流失风险客户"),
    "need_attention": ("Need Attention", "需要关注客户"),
    "about_to_sleep": ("About To Sleep", "即将沉睡客户"),
    "lost": ("Lost", "已流失客户"),
    "others": ("Others", "其他客户"),
}


def segment_of(r: int, f: int, m: int) -> str:
    """The segment of one set of scores, by the same rules as the SQL."""
    for name, (r0, r1), (f0, f1), (m0, m1) in SEGMENT_RULES:
        if r0 <= r <= r1 and f0 <= f <= f1 and m0 <= m <= m1:
            return name
    return "others"


def _segment_sql() -> str:
    cases = " ".join(
        f"WHEN r BETWEEN {r0} AND {r1} AND f BETWEEN {f0} AND {f1} "
        f"AND m BETWEEN {m0} AND {m1} THEN '{name}'"
        for name, (r0, r1), (f0, f1), (m0, m1) in SEGMENT_RULES
    )
    return f"CASE {cases} ELSE 'others' END"


_DAYS = {
    # Whole seconds, divided as integers: julianday's floats can fall a hair short of a day.
    "sqlite": "(CAST(strftime('%s', :now) AS INTEGER) - CAST(strftime('%s', last) AS INTEGER))"
    " / 86400",
    "postgresql": "CAST(floor(EXTRACT(EPOCH FROM (CAST(:now AS timestamptz) - last)) / 86400) "
    "AS INTEGER)",
}
# SQLite would read the orders through the (contact_id, placed_at) index to group them without
# sorting, and so look up every row at random: reading the table and sorting the window's
# rows took 9 s instead of 23 s for 10,000,000 orders. PostgreSQL chooses for itself. The rows
# are written in contact order: appending to the table (and checking each contact) in order
# costs far less than in the order of the last quintile's sort.
_SCAN = {"sqlite": "NOT INDEXED", "postgresql": ""}
_REFRESH = """
    INSERT INTO analytics_rfm_score (contact_id, recency_days, frequency, monetary,
        recency_score, frequency_score, monetary_score, score, segment, computed_at)
    SELECT contact_id, recency_days, frequency, monetary, r, f, m, 100 * r + 10 * f + m,
        {segment}, :now
    FROM (
        SELECT contact_id, recency_days, frequency, monetary,
            NTILE(5) OVER (ORDER BY recency_days DESC, contact_id) AS r,
            NTILE(5) OVER (ORDER BY frequency, contact_id) AS f,
            NTILE(5) OVER (ORDER BY monetary, contact_id) AS m
        FROM (
            SELECT contact_id, {days} AS recency_days, frequency, monetary FROM (
                SELECT contact_id, max(placed_at) AS last, count(*) AS frequency,
                    sum(paid_amount) - sum(refunded_amount) AS monetary
                FROM contact_order {scan}
                WHERE status IN :statuses AND currency = :currency
                    AND placed_at > :start AND placed_at <= :now
                GROUP BY contact_id
            ) AS buyer
        ) AS measured
    ) AS scored
    ORDER BY contact_id
"""


def refresh(session: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """Score every buyer of the window again, replacing the table; what it found."""
    now = now or utcnow()
    window = get_settings().rfm_window_days
    start = now - timedelta(days=window)
    dialect = session.get_bind().dialect.name
    stored = utc_text if dialect == "sqlite" else (lambda value: value)
    statement = text(
        _REFRESH.format(segment=_segment_sql(), days=_DAYS[dialect], scan=_SCAN[dialect])
    ).bindparams(bindparam("statuses", expanding=True))
    session.execute(delete(RfmScore))
    result = session.execute(
        statement,
        {
            "statuses": list(PURCHASE_STATUSES),
            "currency": get_settings().currency,
            "start": stored(start),
            "now": stored(now),
        },
    )
    # Every score may have moved: the segments that read them are refreshed whole.
    membership.refresh_reading(session, "rfm.", now=now)
    return {
        "scored": result.rowcount,  # type: ignore[attr-defined]
        "window_days": window,
        "computed_at": isoformat(now),
    }


def refresh_for(session: Session, *, actor: Actor) -> dict[str, Any]:
    """`refresh` asked for by someone: operators and admins may (it rewrites the whole table)."""
    allow(actor, "edit")
    return refresh(session)


def score_of(session: Session, contact_id: int) -> dict[str, Any] | None:
    """One contact's scores, or None when not scored (no purchase in the window, never run)."""
    row = session.get(RfmScore, contact_id)
    if row is None:
        return None
    return {
        "r": row.recency_score,
        "f": row.frequency_score,
        "m": row.monetary_score,
        "score": row.score,
        "segment": row.segment,
    }


def report(session: Session, *, actor: Actor) -> dict[str, Any]:
    """The R × F grid (contacts, average monetary) and each segment's count, share and spend."""
    allow(actor, "read")
    scores = scope_contacts(
        select(RfmScore).join(Contact, Contact.id == RfmScore.contact_id), actor
    ).subquery()
    grid_rows = session.execute(
        select(
            scores.c.recency_score,
            scores.c.frequency_score,
            func.count(),
            func.avg(scores.c.monetary),
        ).group_by(scores.c.recency_score, scores.c.frequency_score)
    ).all()
    segment_rows = session.execute(
        select(scores.c.segment, func.count(), func.avg(scores.c.monetary)).group_by(
            scores.c.segment
        )
    ).all()
    computed_at = session.execute(select(func.max(RfmScore.computed_at))).scalar()
    total = sum(count for _, count, _ in segment_rows)
    found = {name: (count, average) for name, count, average in segment_rows}
    segments = []
    for name in SEGMENTS:
        count, average = found.get(name, (0, None))
        english, chinese = SEGMENT_NAMES[name]
        segments.append(
            {
                "segment": name,
                "name_en": english,
                "name_zh": chinese,
                "contacts": count,
                "share": round(count / total, 4) if total else None,
                "average_monetary": round(average) if average is not None else None,
            }
        )
    return {
        "window_days": get_settings().rfm_window_days,
        "computed_at": isoformat(computed_at) if computed_at else None,
        "contacts": total,
        "grid": [
            {"r": r, "f": f, "contacts": count, "average_monetary": round(average)}
            for r, f, count, average in sorted(grid_rows)
        ],
        "segments": segments,
    }
