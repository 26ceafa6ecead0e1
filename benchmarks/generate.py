"""Benchmark data: a large, realistic Taobao order report, and the same rows pre-parsed.

About 0.4 buyers per order: every buyer orders once, and the remaining orders go to buyers drawn
with Gamma-distributed weights, so a few buy very often and most never come back. Buyers are
known by their Taobao nick; 40% of them show their real phone on most orders, the rest a masked
one. Statuses, refunds and cancellations follow the demo merchant's rules.

The stream is a pure function of (rows, seed): the file writer and the bare insert each run it,
and see exactly the same orders.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from siyu.demo import DEMO_AS_OF, catalogue
from siyu.demo.files import write_taobao_orders
from siyu.demo.model import Buyer, DemoLine, DemoOrder
from siyu.demo.people import masked, settle

VERSION = 1  # bump when the stream changes, so cached files are not reused
BUYERS_PER_ORDER = 0.4
HISTORY_DAYS = 3 * 365
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鑫宇浩然子涵欣怡"


@dataclass(frozen=True)
class BenchBuyer:
    index: int
    nick: str
    name: str
    mobile: str
    shows_phone: float  # share of orders with the real phone
    province: str
    city: str
    district: str
    street: str


def buyer(index: int, seed: int) -> BenchBuyer:
    rng = random.Random(seed * 1_000_003 + index)
    province, city, _ = rng.choices(catalogue.PLACES, [w for *_, w in catalogue.PLACES])[0]
    # Unique by construction: the index is part of both the nick and the number.
    nick = (
        f"tb{(index * 7919) % 10**10:010d}"
        if rng.random() < 0.4
        else f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}_{index}"
    )
    return BenchBuyer(
        index=index,
        nick=nick,
        name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
        mobile=f"1{rng.choice('3456789')}{rng.randrange(10)}{index:08d}",
        shows_phone=0.9 if rng.random() < 0.4 else 0.0,
        province=province,
        city=city,
        district=rng.choice(catalogue.DISTRICTS),
        street=f"文一西路{rng.randint(1, 999)}号{rng.randint(1, 30)}幢{rng.randint(101, 2808)}室",
    )


def plan(rows: int, seed: int, buyers: int | None = None) -> list[tuple[int, int]]:
    """(minute of placement, buyer) for every order, newest first as the report lists them."""
    rng = random.Random(seed)
    buyers = min(rows, buyers or max(1, round(rows * BUYERS_PER_ORDER)))
    weights = list(itertools.accumulate(rng.gammavariate(0.6, 1.0) for _ in range(buyers)))
    who = list(range(buyers)) + rng.choices(range(buyers), cum_weights=weights, k=rows - buyers)
    minutes = HISTORY_DAYS * 24 * 60
    orders = [(rng.randrange(minutes), b) for b in who[:rows]]
    orders.sort(reverse=True)
    return orders


def orders(rows: int, seed: int = 1, buyers: int | None = None) -> Iterator[DemoOrder]:
    end = datetime.combine(DEMO_AS_OF, time())
    start = end - timedelta(days=HISTORY_DAYS)
    rng = random.Random(seed + 17)
    cache: dict[int, BenchBuyer] = {}
    shop = catalogue.SHOPS["taobao"]
    for number, (minute, index) in enumerate(plan(rows, seed, buyers), start=1):
        person = cache.get(index)
        if person is None:
            person = cache[index] = buyer(index, seed)
        placed = start + timedelta(minutes=minute, seconds=rng.randrange(60))
        picks = rng.sample(catalogue.PRODUCTS, rng.choice((1, 1, 1, 2, 2, 3)))
        order = DemoOrder(
            platform="taobao",
            order_id=f"{(seed % 9) + 1}{number:018d}",
            shop=shop,
            placed_at=placed,
            status="completed",
            buyer=Buyer(
                receiver_name=person.name,
                province=person.province,
                city=person.city,
                district=person.district,
                street=person.street,
                postcode="310000",
                phone=person.mobile if rng.random() < person.shows_phone else masked(person.mobile),
                nick=person.nick,
            ),
            lines=[
                DemoLine(p.title, p.sku, 1 if rng.random() < 0.8 else 2, p.price) for p in picks
            ],
        )
        settle(rng, order, end)
        yield order


def write_file(path: Path, rows: int, seed: int = 1) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_taobao_orders(path, orders(rows, seed))
