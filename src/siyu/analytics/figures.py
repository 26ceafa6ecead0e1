"""The figures of the reports, worked out from a purchases snapshot (analytics.purchases).

Definitions, all over purchases in the base currency (see analytics.scope):
- buyers: contacts with a purchase in the range; repeat buyers: two or more; repurchase rate:
  repeat buyers ÷ buyers; frequency: purchases ÷ buyers; average order value: revenue ÷ orders.
  Per platform, a buyer and their purchases count on that platform alone.
- repurchase within N days: of the customers whose first purchase ever (on the scope's
  platforms) fell in the range, at least N days before the data's last day, the share that
  bought again within N days of it.
- days between orders: between consecutive purchase days of one customer, both in the range
  (several orders on one day are one purchase).
- new revenue: purchases on the customer's first purchase day; the rest is returning revenue.
- cohorts: customers by the month of their first purchase; for each later month, the share
  that bought in it and the revenue per customer accumulated up to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from siyu.analytics.purchases import Purchases, day_range, month_name, month_of
from siyu.analytics.scope import Scope

REPURCHASE_WINDOWS = (30, 60, 90, 180, 365)
# Upper bounds (inclusive, days) of the gap histogram's bars; the last bar is everything above.
GAP_BUCKETS = (7, 14, 30, 60, 90, 180, 365)
COHORT_MONTHS = 12  # cohorts shown when the range does not say


def _firsts(contact: np.ndarray) -> np.ndarray:
    """True at the first row of each contact (rows are sorted by contact)."""
    if contact.size == 0:
        return np.zeros(0, dtype=bool)
    return np.r_[True, contact[1:] != contact[:-1]]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def summary(rows: Purchases) -> dict[str, Any]:
    firsts = _firsts(rows.contact)
    buyers = int(firsts.sum())
    counts = np.diff(np.r_[np.flatnonzero(firsts), len(rows)]) if buyers else np.zeros(0)
    orders, revenue = len(rows), int(rows.net.sum())
    repeat = int((counts >= 2).sum())
    return {
        "buyers": buyers,
        "repeat_buyers": repeat,
        "orders": orders,
        "revenue": revenue,
        "repurchase_rate": _rate(repeat, buyers),
        "purchase_frequency": _rate(orders, buyers),
        "average_order_value": round(revenue / orders) if orders else None,
    }


def by_platform(rows: Purchases) -> list[dict[str, Any]]:
    found = []
    for index, name in enumerate(rows.platforms):
        mine = rows.where(rows.platform == index)
        if len(mine):
            found.append({"platform": name, **summary(mine)})
    return found


def repurchase_within(
    everything: Purchases,
    scope: Scope,
    *,
    last_day: int,
    windows: tuple[int, ...] = REPURCHASE_WINDOWS,
) -> list[dict[str, Any]]:
    """`everything`: the scope's purchases at any date (first purchases lie before ranges)."""
    firsts = _firsts(everything.contact)
    starts = np.flatnonzero(firsts)
    first_day = everything.day[starts]
    # The next purchase day after the first, per customer (-1: none).
    later = everything.day > np.repeat(first_day, np.diff(np.r_[starts, len(everything)]))
    owner = np.cumsum(firsts) - 1
    second_day = np.full(starts.size, -1, dtype=np.int64)
    hits = np.flatnonzero(later)
    if hits.size:
        # The first later row of each customer: rows are sorted by day within a customer.
        first_hit = hits[_firsts(owner[hits])]
        second_day[owner[first_hit]] = everything.day[first_hit]
    since, until = day_range(scope)
    inside = np.ones(starts.size, dtype=bool)
    if since is not None:
        inside &= first_day >= since
    if until is not None:
        inside &= first_day < until
    found = []
    for days in windows:
        settled = inside & (first_day + days <= last_day)
        again = settled & (second_day >= 0) & (second_day - first_day <= days)
        customers = int(settled.sum())
        found.append(
            {
                "days": days,
                "customers": customers,
                "repurchased": int(again.sum()),
                "rate": _rate(int(again.sum()), customers),
            }
        )
    return found


def gaps(rows: Purchases) -> dict[str, Any]:
    """Days between one purchase day and the customer's next, as a histogram."""
    distinct = (
        np.r_[True, (rows.contact[1:] != rows.contact[:-1]) | (rows.day[1:] != rows.day[:-1])]
        if len(rows)
        else np.zeros(0, dtype=bool)
    )
    contact, day = rows.contact[distinct], rows.day[distinct]
    same = contact[1:] == contact[:-1]
    between = (day[1:] - day[:-1])[same].astype(np.int64)
    edges = np.array(GAP_BUCKETS)
    bars = np.bincount(np.searchsorted(edges, between, side="left"), minlength=edges.size + 1)
    labels = []
    low = 1
    for high in GAP_BUCKETS:
        labels.append(f"{low}-{high}")
        low = high + 1
    labels.append(f">{GAP_BUCKETS[-1]}")
    return {
        "gaps": int(between.size),
        "median_days": float(np.median(between)) if between.size else None,
        "mean_days": float(between.mean()) if between.size else None,
        "buckets": [
            {"days": label, "gaps": int(count)} for label, count in zip(labels, bars, strict=True)
        ],
    }


def new_and_returning(everything: Purchases, scope: Scope) -> list[dict[str, Any]]:
    """Revenue per month in the range from first purchase days and from returning ones."""
    firsts = _firsts(everything.contact)
    starts = np.flatnonzero(firsts)
    first_day = np.repeat(everything.day[starts], np.diff(np.r_[starts, len(everything)]))
    keep = _in_range(everything.day, scope)
    month = month_of(everything.day[keep])
    new = (everything.day == first_day)[keep]
    net = everything.net[keep]
    if month.size == 0:
        return []
    low = int(month.min())
    index = month - low
    size = int(index.max()) + 1
    new_revenue = np.bincount(index, weights=np.where(new, net, 0), minlength=size)
    returning = np.bincount(index, weights=np.where(new, 0, net), minlength=size)
    new_buyers = np.bincount(index[new & _firsts_of_day(everything, keep)], minlength=size)
    return [
        {
            "month": month_name(low + i),
            "new_revenue": int(new_revenue[i]),
            "returning_revenue": int(returning[i]),
            "new_customers": int(new_buyers[i]),
        }
        for i in range(size)
    ]


def _firsts_of_day(everything: Purchases, keep: np.ndarray) -> np.ndarray:
    """Among the kept rows, one per (contact, day): new customers are counted once."""
    contact, day = everything.contact[keep], everything.day[keep]
    if contact.size == 0:
        return np.zeros(0, dtype=bool)
    return np.r_[True, (contact[1:] != contact[:-1]) | (day[1:] != day[:-1])]


def _in_range(day: np.ndarray, scope: Scope) -> np.ndarray:
    since, until = day_range(scope)
    keep = np.ones(day.size, dtype=bool)
    if since is not None:
        keep &= day >= since
    if until is not None:
        keep &= day < until
    return keep


def revenue_by_month(rows: Purchases) -> list[dict[str, Any]]:
    """Revenue and orders per month and platform."""
    if len(rows) == 0:
        return []
    month = month_of(rows.day)
    low = int(month.min())
    size = int(month.max()) - low + 1
    key = (month - low) * len(rows.platforms) + rows.platform
    cells = size * len(rows.platforms)
    revenue = np.bincount(key, weights=rows.net, minlength=cells)
    orders = np.bincount(key, minlength=cells)
    found = []
    for cell in np.flatnonzero(orders):
        found.append(
            {
                "month": month_name(low + cell // len(rows.platforms)),
                "platform": rows.platforms[cell % len(rows.platforms)],
                "orders": int(orders[cell]),
                "revenue": int(revenue[cell]),
            }
        )
    return found


def cohorts(
    everything: Purchases, scope: Scope, *, last_day: int, months: int = COHORT_MONTHS
) -> dict[str, Any]:
    """Monthly acquisition cohorts: the scope's range picks the cohorts (by default the last
    `months` months of data), every later month up to the data's last month is shown."""
    if len(everything) == 0:
        return {"months": [], "cohorts": []}
    firsts = _firsts(everything.contact)
    starts = np.flatnonzero(firsts)
    counts = np.diff(np.r_[starts, len(everything)])
    cohort_of_contact = month_of(everything.day[starts])
    last_month = int(month_of(np.array([last_day]))[0])
    since, until = day_range(scope)
    low = int(month_of(np.array([since]))[0]) if since is not None else last_month - months + 1
    high = int(month_of(np.array([until - 1]))[0]) if until is not None else last_month
    low = max(low, int(cohort_of_contact.min()))
    high = min(high, last_month)
    if high < low:
        return {"months": [], "cohorts": []}
    span = last_month - low + 1  # offsets 0 … span-1
    cohort = np.repeat(cohort_of_contact, counts)
    month = month_of(everything.day)
    chosen = (cohort >= low) & (cohort <= high) & (month <= last_month)
    cohort, month, contact = cohort[chosen], month[chosen], everything.contact[chosen]
    net = everything.net[chosen]
    offset = month - cohort
    cell = (cohort - low) * span + offset
    # One active customer per (contact, month): rows are sorted by contact then day.
    distinct = (
        np.r_[True, (contact[1:] != contact[:-1]) | (month[1:] != month[:-1])]
        if contact.size
        else np.zeros(0, dtype=bool)
    )
    rows = high - low + 1
    active = np.bincount(cell[distinct], minlength=rows * span).reshape(rows, span)
    revenue = np.bincount(cell, weights=net, minlength=rows * span).reshape(rows, span)
    sizes = np.bincount(
        cohort_of_contact[(cohort_of_contact >= low) & (cohort_of_contact <= high)] - low,
        minlength=rows,
    )
    found = []
    for i in range(rows):
        size = int(sizes[i])
        visible = last_month - (low + i) + 1  # months this cohort has lived through
        cumulative = np.cumsum(revenue[i, :visible])
        found.append(
            {
                "cohort": month_name(low + i),
                "customers": size,
                "retention": [_rate(int(a), size) for a in active[i, :visible]],
                "active": [int(a) for a in active[i, :visible]],
                "revenue_per_customer": [
                    round(float(c) / size) if size else None for c in cumulative
                ],
            }
        )
    return {"months": list(range(span)), "cohorts": found}
