"""Building the demo merchant through the same doors a real merchant uses.

The generated shop exports are written to files in each platform's own format and imported with
`siyu.ingest.service.import_file`; staff, notes and the member list go through the services.
Nothing is written with SQL here, so the demo also exercises the importers end to end.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.analytics import rfm
from siyu.contacts import service as contacts_service
from siyu.contacts.models import Contact, ContactMerge, ContactOrder
from siyu.demo import catalogue, files
from siyu.demo.model import PLATFORMS, DemoOrder
from siyu.demo.people import Person, Population, as_seen_at
from siyu.ingest import service as ingest_service
from siyu.ingest.registry import importers
from siyu.kit.actor import Actor
from siyu.segments import service as segments_service
from siyu.segments.models import Segment
from siyu.staff import service as staff_service
from siyu.staff.models import StaffUser

# A fixed "today" so one seed always gives the same merchant; pass as_of to move it.
DEMO_AS_OF = date(2026, 11, 1)
# Segments an operator of this shop would keep: (name, query, auto-tag).
DEMO_SEGMENTS = (
    ("复购客户", "order_count >= 2", None),
    ("高价值客户", "total_spent >= ¥2000", "人群:高价值"),
    ("沉睡客户", "order_count >= 1 and last_order_at < 180d ago", None),
    ("VIP 短信可达", 'tag("VIP") and consent(sms)', None),
    ("流失风险", 'stage in ("at_risk", "churned") and total_spent >= ¥500', None),
)
VIP_SPEND = 200_000  # fen: customers who spent ¥2,000 or more are tagged VIP
NOTE_SHARE = 0.06  # of members

ProgressFn = Callable[[str], None]

# The Taobao history arrives in two exports: everything up to a year ago, then the last year.
# They overlap by a couple of weeks, so the newer one updates orders the older one left open.
TAOBAO_SPLIT = timedelta(days=365)
TAOBAO_OVERLAP = timedelta(days=14)

# (platform, importer name, writer, file name) in the order a merchant would load them.
_EXPORTS: tuple[tuple[str, str, Callable[[Path, Any], int], str], ...] = (
    ("taobao:old", "taobao", files.write_taobao_orders, "ExportOrderList{old}.csv"),
    ("jd", "jd", files.write_jd_orders, "jd_orders_{today}.csv"),
    ("douyin", "douyin", files.write_douyin_orders, "抖店订单导出_{today}.csv"),
    ("wechat_mini", "orders_csv", files.write_canonical_orders, "mini_program_orders.csv"),
    ("offline", "orders_csv", files.write_canonical_orders, "store_pos_orders.csv"),
    ("taobao:new", "taobao", files.write_taobao_orders, "ExportOrderList{new}.csv"),
)


def build_demo(
    session: Session,
    *,
    customers: int = 20000,
    seed: int = 42,
    workdir: Path,
    progress: ProgressFn | None = None,
    as_of: date = DEMO_AS_OF,
) -> dict[str, Any]:
    """Create a believable merchant; the same seed (and as_of) gives the same data every time.

    `progress`, if given, is called with a short line before each step. The caller commits.
    """
    say = progress or (lambda _message: None)
    workdir.mkdir(parents=True, exist_ok=True)

    say(f"drawing {customers} customers and their orders")
    population = Population(seed, as_of)
    people = [population.person(index) for index in range(customers)]
    by_platform: dict[str, list[DemoOrder]] = {platform: [] for platform in PLATFORMS}
    for person in people:
        for order in person.orders:
            by_platform[order.platform].append(order)

    say("creating staff")
    staff = _ensure_staff(session)

    exports = _exports(by_platform, as_of)
    available = importers()
    imports = []
    for key, fmt, writer, pattern in _EXPORTS:
        orders = exports[key]
        if not orders:
            continue
        platform = key.partition(":")[0]
        name = pattern.format(
            today=f"{as_of:%Y%m%d}",
            old=f"{as_of - TAOBAO_SPLIT:%Y%m%d}0930",
            new=f"{as_of:%Y%m%d}1030",
        )
        if fmt not in available:
            # That platform's importer is not installed: load the same orders as Siyu's CSV.
            fmt, writer = "orders_csv", files.write_canonical_orders
            name = f"{key.replace(':', '_')}_orders.csv"
        path = workdir / name
        writer(path, orders)
        say(f"importing {len(orders)} {platform} orders from {name}")
        imports.append(ingest_service.import_file(session, path, fmt=fmt, actor="demo"))

    rng = random.Random(seed * 7919 + 1)  # the CRM's own choices, apart from the buying
    members = _members(rng, people, as_of)
    path = workdir / "member_list.csv"
    files.write_canonical_contacts(path, (row for _, row in members))
    say(f"importing the member list: {len(members)} members with tags, owners and consent")
    imports.append(ingest_service.import_file(session, path, fmt="contacts_csv", actor="demo"))

    say("adding staff notes")
    notes = _notes(session, rng, members, staff)
    session.flush()
    # Stages were worked out as the exports came in; RFM scores wait for their job, or this.
    say("scoring buyers (RFM)")
    rfm.refresh(session)
    say("creating segments")
    for name, query, tag in DEMO_SEGMENTS:
        if session.scalar(select(Segment.id).where(Segment.name == name)) is None:
            segments_service.create_segment(
                session, actor=Actor("demo"), name=name, query=query, tag=tag
            )
    return _summary(session, customers, seed, as_of, imports, len(members), notes, staff)


def _exports(by_platform: dict[str, list[DemoOrder]], as_of: date) -> dict[str, list[DemoOrder]]:
    """Each export's orders, newest first as the back offices list them."""
    exports = {}
    for platform, orders in by_platform.items():
        orders = sorted(orders, key=lambda o: (o.placed_at, o.order_id), reverse=True)
        if platform != "taobao":
            exports[platform] = orders
            continue
        split = datetime.combine(as_of - TAOBAO_SPLIT, time())
        exports["taobao:old"] = [as_seen_at(o, split) for o in orders if o.placed_at < split]
        exports["taobao:new"] = [o for o in orders if o.placed_at >= split - TAOBAO_OVERLAP]
    return exports


def _ensure_staff(session: Session) -> dict[str, StaffUser]:
    existing = {
        s.login: s
        for s in session.execute(
            select(StaffUser).where(StaffUser.login.in_([login for login, _ in catalogue.STAFF]))
        ).scalars()
    }
    for login, name in catalogue.STAFF:
        if login not in existing:
            existing[login] = staff_service.create_staff(
                session, login=login, name=name, role="staff", actor=Actor.system()
            )
    return existing


def _members(
    rng: random.Random, people: list[Person], as_of: date
) -> list[tuple[Person, files.MemberRow]]:
    """The member list (会员表) the merchant keeps: store and mini-program customers, VIPs and
    some who signed up elsewhere. It links a person's shop accounts, so importing it merges."""
    logins = [login for login, _ in catalogue.STAFF]
    end = as_of - timedelta(days=1)
    rows = []
    for person in people:
        spent = person.spent
        vip = spent >= VIP_SPEND
        if not (
            vip
            or "offline" in person.platforms
            or "wechat_mini" in person.platforms
            or rng.random() < 0.12
        ):
            continue
        row = files.MemberRow(
            customer=f"phone:{person.mobile}",
            name=person.name,
            phone=person.mobile,
            city=person.city,
            province=person.province,
        )
        if person.email and rng.random() < 0.7:
            row.email = person.email
        if person.unionid:
            row.identities["wechat_unionid"] = person.unionid
        # Shop accounts bound to the membership (e.g. Taobao 会员通) for part of the members.
        if person.taobao_nick and rng.random() < 0.5:
            row.identities["taobao_nick"] = person.taobao_nick
        if person.jd_pin and rng.random() < 0.3:
            row.identities["jd_pin"] = person.jd_pin
        row.tags = _tags(rng, person, vip)
        if "offline" in person.platforms:
            row.owner = logins[person.store % len(logins)]
        elif vip or rng.random() < 0.2:
            row.owner = rng.choice(logins)
        joined = min(person.acquired_at.date() + timedelta(days=rng.randint(0, 30)), end)
        if rng.random() < 0.75:
            row.consents["sms"] = rng.random() < 0.85
        if person.unionid and rng.random() < 0.5:
            row.consents["wecom"] = True
        if row.email and rng.random() < 0.5:
            row.consents["email"] = rng.random() < 0.9
        if row.consents:
            row.consent_purpose = "会员营销"
            row.consent_at = person.acquired_at.replace(
                year=joined.year, month=joined.month, day=joined.day
            )
        rows.append((person, row))
    return rows


def _tags(rng: random.Random, person: Person, vip: bool) -> list[str]:
    bought: Counter[str] = Counter()
    for order in person.orders:
        for line in order.lines:
            product = next(p for p in catalogue.PRODUCTS if p.sku == line.sku)
            bought[product.interest] += line.quantity
    # most_common keeps first-seen order among equals, so ties resolve the same way every run.
    tags = [f"兴趣:{interest}" for interest, _ in bought.most_common(2)]
    if rng.random() < 0.7:
        tags.append(f"人群:{person.audience}")
    if person.skin:
        tags.append(f"肤质:{person.skin}")
    if vip:
        tags.append(catalogue.VIP_TAG)
    if len(person.platforms) > 1:
        tags.append("渠道:多渠道")
    return tags


def _notes(
    session: Session,
    rng: random.Random,
    members: list[tuple[Person, files.MemberRow]],
    staff: dict[str, StaffUser],
) -> int:
    count = 0
    for person, row in members:
        if rng.random() >= NOTE_SHARE:
            continue
        author = staff[row.owner] if row.owner else staff[rng.choice(sorted(staff))]
        contact = contacts_service.get_by_ref(session, f"phone:{person.mobile}")
        contacts_service.add_note(
            session,
            contact=contact,
            body=rng.choice(catalogue.NOTES),
            actor=Actor(author.login, staff_id=author.id),
        )
        count += 1
    return count


def _summary(
    session: Session,
    customers: int,
    seed: int,
    as_of: date,
    imports: list[ingest_service.ImportSummary],
    members: int,
    notes: int,
    staff: dict[str, StaffUser],
) -> dict[str, Any]:
    per_platform: dict[str, int] = {
        platform: count
        for platform, count in session.execute(
            select(ContactOrder.platform, func.count())
            .group_by(ContactOrder.platform)
            .order_by(ContactOrder.platform)
        )
    }
    return {
        "customers": customers,
        "seed": seed,
        "as_of": as_of.isoformat(),
        "contacts": contacts_service.count_contacts(session),
        "orders": sum(per_platform.values()),
        "merges": session.execute(select(func.count()).select_from(ContactMerge)).scalar_one(),
        "platforms": per_platform,
        "stages": dict(
            session.execute(
                select(Contact.lifecycle_stage, func.count())
                .group_by(Contact.lifecycle_stage)
                .order_by(Contact.lifecycle_stage)
            ).all()
        ),
        "members": members,
        "notes": notes,
        "staff": sorted(staff),
        "rows_rejected": sum(s.rows_rejected for s in imports),
        "imports": [
            {
                "file": s.file,
                "format": s.format,
                "rows_read": s.rows_read,
                "orders_created": s.orders_created,
                "contacts_created": s.contacts_created,
                "contacts_merged": s.contacts_merged,
                "rows_rejected": s.rows_rejected,
                "errors": s.errors[:5],
            }
            for s in imports
        ],
    }
