"""The demo merchant's customers and their buying, drawn from a buy-till-you-die process.

Each person's purchases follow Pareto/NBD: while alive they buy as a Poisson process with rate
λ ~ Gamma(r, α); they stay alive for an Exponential(μ) lifetime, μ ~ Gamma(s, β). What they spend
per order follows Gamma-Gamma: a personal scale ν ~ Gamma(q, γ), each order ~ Gamma(p, ν). So the
data has the structure lifetime-value models look for, and fitting one should recover it.

Everything is drawn from one `random.Random` and one seeded Faker: the same seed gives the same
merchant, on any machine and in any process (no set or hash order is ever iterated).
"""

from __future__ import annotations

import bisect
import itertools
import random
import string
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from faker import Faker

from siyu.demo import catalogue
from siyu.demo.model import Buyer, DemoLine, DemoOrder

# Pareto/NBD and Gamma-Gamma parameters; time in years, money in yuan.
R_SHAPE, ALPHA_RATE = 0.9, 0.45  # mean purchase rate r/α = 2 a year
S_SHAPE, BETA_RATE = 0.8, 1.2  # mean dropout rate s/β ≈ 0.67 a year
P_SHAPE, Q_SHAPE, GAMMA_RATE = 6.0, 3.5, 95.0  # mean order value p·γ/(q−1) ≈ 230 yuan
HISTORY_DAYS = 3 * 365
MAX_ORDERS = 60

# Where people first buy, and how likely they also buy somewhere else.
PLATFORM_WEIGHTS = (
    ("taobao", 38),
    ("jd", 18),
    ("douyin", 16),
    ("wechat_mini", 16),
    ("offline", 12),
)
SECOND_PLATFORM = 0.3
# Evening-heavy hours of day at which orders are placed.
HOUR_WEIGHTS = (1, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 5, 6, 5, 5, 5, 5, 5, 6, 7, 9, 10, 9, 5)


@dataclass
class Person:
    index: int
    name: str
    mobile: str  # 11 digits
    province: str
    city: str
    district: str
    street: str
    postcode: str
    acquired_at: datetime
    platforms: list[str]
    favourites: list[catalogue.Product]
    audience: str
    skin: str | None
    email: str | None = None
    unionid: str | None = None
    taobao_nick: str | None = None
    jd_pin: str | None = None
    taobao_phone_share: float = 0.0  # of this buyer's Taobao orders that show the real phone
    jd_shows_phone: bool = False
    store: int = 0
    orders: list[DemoOrder] = field(default_factory=list)

    @property
    def spent(self) -> int:
        return sum(o.paid - o.refunded for o in self.orders)


def masked(mobile: str) -> str:
    """How Taobao and Douyin now show a buyer's phone."""
    return f"{mobile[:3]}****{mobile[-4:]}"


def jd_masked(mobile: str) -> str:
    return f"{mobile[0]}******{mobile[-4:]}"


class Population:
    """Draws people and their orders; ids and names stay unique across the whole merchant."""

    def __init__(self, seed: int, as_of: date) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.end = datetime.combine(as_of, time())
        self.start = self.end - timedelta(days=HISTORY_DAYS)
        self.taken: dict[str, None] = {}  # phones, nicks, e-mails already used
        self.sequence = itertools.count(1)
        self._places = [(p, c) for p, c, _ in catalogue.PLACES]
        self._place_cum = list(itertools.accumulate(w for _, _, w in catalogue.PLACES))
        self._platforms = [p for p, _ in PLATFORM_WEIGHTS]
        self._platform_weights = [w for _, w in PLATFORM_WEIGHTS]

    # People

    def person(self, index: int) -> Person:
        rng = self.rng
        primary = rng.choices(self._platforms, self._platform_weights)[0]
        platforms = [primary]
        if rng.random() < SECOND_PLATFORM:
            other = [p for p in self._platforms if p != primary]
            weights = [w for p, w in PLATFORM_WEIGHTS if p != primary]
            platforms.append(rng.choices(other, weights)[0])
        store = rng.randrange(len(catalogue.STORES))
        if "offline" in platforms and rng.random() < 0.85:
            city, province = catalogue.STORE_PLACES[store]
        else:
            total = self._place_cum[-1]
            province, city = self._places[bisect.bisect(self._place_cum, rng.randrange(total))]
        name = self.fake.name()
        person = Person(
            index=index,
            name=name,
            mobile=self._unique(self.fake.phone_number),
            province=province,
            city=city,
            district=rng.choice(catalogue.DISTRICTS),
            street=f"{self.fake.street_name()}{rng.randint(1, 999)}号{rng.randint(1, 30)}栋"
            f"{rng.randint(1, 32)}0{rng.randint(1, 6)}室",
            postcode=self.fake.postcode(),
            acquired_at=self._acquisition(),
            platforms=platforms,
            favourites=rng.sample(catalogue.PRODUCTS, 3),
            audience=rng.choices(catalogue.AUDIENCES, (3, 3, 5, 1))[0],
            skin=rng.choice(catalogue.SKIN_TYPES) if rng.random() < 0.5 else None,
            store=store,
        )
        if rng.random() < 0.25:
            person.email = self._unique(self.fake.free_email)
        if "wechat_mini" in platforms or rng.random() < 0.2:
            person.unionid = "o" + "".join(
                rng.choices(string.ascii_letters + string.digits + "-_", k=27)
            )
        if "taobao" in platforms:
            person.taobao_nick = self._unique(lambda: self._taobao_nick(name))
            person.taobao_phone_share = rng.choice((0.0, 0.0, 0.5, 0.8, 1.0))
        if "jd" in platforms:
            person.jd_pin = self._unique(self._jd_pin)
            person.jd_shows_phone = rng.random() < 0.7
        self._buy(person)
        return person

    def _unique(self, make: object) -> str:
        for attempt in range(100):
            value: str = make()  # type: ignore[operator]
            if attempt:
                # Faker repeats itself on large runs; a suffix keeps people distinct.
                value = value.replace("@", f"{self.rng.randint(1, 999)}@", 1)
            if value not in self.taken:
                self.taken[value] = None
                return value
        raise RuntimeError("cannot draw a unique value")

    def _taobao_nick(self, name: str) -> str:
        rng = self.rng
        style = rng.random()
        if style < 0.3:
            return f"tb{rng.randrange(10**9, 10**10)}"
        if style < 0.65:
            return f"{self.fake.user_name()}{rng.randint(1, 9999)}"
        words = ("爱喝茶", "的小窝", "宝贝", "小仙女", "不吃香菜", "123", "_88", "呀")
        return f"{name[-1]}{rng.choice(words)}{rng.randint(1, 999)}"

    def _jd_pin(self) -> str:
        rng = self.rng
        if rng.random() < 0.6:
            return "jd_" + "".join(rng.choices("0123456789abcdef", k=12))
        return f"{self.fake.user_name()}_{rng.randint(1, 999)}"

    def _acquisition(self) -> datetime:
        rng = self.rng
        # More customers recently (the brand grows), with pushes around 618 and 双11.
        if rng.random() < 0.15:
            year = rng.choice(range(self.start.year, self.end.year + 1))
            month, day = rng.choice(((6, 18), (11, 11)))
            at = datetime(year, month, day) + timedelta(days=rng.randint(-6, 1))
            if self.start <= at < self.end:
                return at + self._time_of_day()
        days = int(HISTORY_DAYS * rng.random() ** 0.7)
        return self.start + timedelta(days=days) + self._time_of_day()

    def _time_of_day(self) -> timedelta:
        hour = self.rng.choices(range(24), HOUR_WEIGHTS)[0]
        return timedelta(hours=hour, minutes=self.rng.randrange(60), seconds=self.rng.randrange(60))

    # Buying

    def _buy(self, person: Person) -> None:
        rng = self.rng
        rate = rng.gammavariate(R_SHAPE, 1 / ALPHA_RATE)  # purchases a year while alive
        dropout = rng.gammavariate(S_SHAPE, 1 / BETA_RATE)
        # Lifetimes past the end of the history only need to reach it.
        years = rng.expovariate(dropout) if dropout > 0 else HISTORY_DAYS
        death = min(self.end, person.acquired_at + timedelta(days=365 * min(years, 10)))
        scale = rng.gammavariate(Q_SHAPE, 1 / GAMMA_RATE)  # Gamma-Gamma ν
        at = person.acquired_at
        while at < death and len(person.orders) < MAX_ORDERS:
            spend = rng.gammavariate(P_SHAPE, 1 / scale)  # yuan
            platform = person.platforms[0]
            if len(person.platforms) > 1 and (person.orders and rng.random() < 0.35):
                platform = person.platforms[1]
            person.orders.append(self.order(person, platform, at, spend))
            if rate <= 0:
                break
            gap = timedelta(days=365 * min(rng.expovariate(rate), 10))
            at = (at + gap).replace(microsecond=0)
            at = datetime.combine(at.date(), time()) + self._time_of_day()

    def basket(self, favourites: list[catalogue.Product], spend: float) -> list[DemoLine]:
        """Items adding up to about what this buyer spends per order."""
        rng = self.rng
        remaining = spend * 100
        lines: dict[str, DemoLine] = {}
        while remaining > 0 and len(lines) < 4:
            pool = favourites if rng.random() < 0.7 else catalogue.PRODUCTS
            fits = [p for p in pool if p.price <= remaining * 1.3] or list(catalogue.SMALL_ITEMS)
            product = rng.choice(fits)
            if product.sku in lines:
                lines[product.sku].quantity += 1
            else:
                lines[product.sku] = DemoLine(product.title, product.sku, 1, product.price)
            remaining -= product.price
        return list(lines.values())

    def order(self, person: Person, platform: str, at: datetime, spend: float) -> DemoOrder:
        rng = self.rng
        number = next(self.sequence)
        buyer = Buyer(
            receiver_name=person.name,
            province=person.province,
            city=person.city,
            district=person.district,
            street=person.street,
            postcode=person.postcode,
        )
        if platform == "taobao":
            buyer.nick = person.taobao_nick
            shown = rng.random() < person.taobao_phone_share
            buyer.phone = person.mobile if shown else masked(person.mobile)
        elif platform == "jd":
            buyer.nick = person.jd_pin
            buyer.phone = person.mobile if person.jd_shows_phone else jd_masked(person.mobile)
        elif platform == "douyin":
            buyer.phone = masked(person.mobile)
        elif platform == "wechat_mini":
            buyer.unionid = person.unionid
            # Most members granted the mini-program their phone number (手机号授权).
            buyer.phone = person.mobile if rng.random() < 0.85 else None
            buyer.email = person.email
        else:
            buyer.phone = person.mobile  # the member phone given at the till
            if not 10 <= at.hour < 22:  # stores are open 10:00–22:00
                at = at.replace(hour=rng.randint(10, 21))
        order = DemoOrder(
            platform=platform,
            order_id=order_id(rng, platform, number, at),
            shop=catalogue.STORES[person.store]
            if platform == "offline"
            else catalogue.SHOPS[platform],
            placed_at=at,
            status="completed",
            buyer=buyer,
            lines=self.basket(person.favourites, spend),
        )
        settle(rng, order, self.end)
        return order


def as_seen_at(order: DemoOrder, moment: datetime) -> DemoOrder:
    """The order as an export taken at `moment` showed it: not yet received, or not shipped."""
    if order.completed_at is None or order.completed_at <= moment or order.status != "completed":
        return order
    seen = replace(order, completed_at=None, status="shipped")
    if order.shipped_at and order.shipped_at > moment:
        seen = replace(seen, shipped_at=None, status="paid", carrier="", tracking_no="")
    return seen


def order_id(rng: random.Random, platform: str, number: int, at: datetime) -> str:
    """Ids shaped like each platform's; the running number keeps them unique."""
    if platform == "taobao":
        return f"{rng.randint(1, 4)}{rng.randrange(10**11):011d}{number:07d}"
    if platform == "jd":
        return f"2{rng.randrange(100, 1000)}{number:08d}"
    if platform == "douyin":
        return f"69{rng.randrange(10**10):010d}{number:07d}"
    if platform == "wechat_mini":
        return f"WX{at:%Y%m%d}{number:08d}"
    return f"POS{at:%y%m%d}{number:08d}"


def settle(rng: random.Random, order: DemoOrder, now: datetime) -> None:
    """Status, payment, shipping, coupons and refunds, by the order's age and some bad luck."""
    placed = order.placed_at
    age = now - placed
    offline = order.platform == "offline"
    if order.goods < 9900 and not offline:
        order.shipping_fee = 1000 if order.platform != "douyin" else 0
    if order.platform in ("wechat_mini", "offline") and rng.random() < 0.3:
        order.coupon_code = rng.choice(catalogue.COUPONS)
        order.discount = min(order.goods // 5, rng.choice((1500, 2000, 3000, 5000)))
    elif not offline and rng.random() < 0.2:
        order.discount = min(order.goods // 10, rng.choice((500, 1000, 2000)))
    if not offline and rng.random() < 0.15:
        order.buyer_message = rng.choice(catalogue.BUYER_MESSAGES)

    if offline:
        order.paid_at = placed
        order.completed_at = placed
        if rng.random() < 0.01:
            order.status, order.refunded = "refunded", order.total
        return
    unpaid = rng.random()
    if age < timedelta(hours=12) and unpaid < 0.3:
        order.status = "pending"
        return
    if unpaid < 0.04:
        order.status = "cancelled"  # never paid, closed by the platform
        return
    order.paid_at = placed + timedelta(minutes=rng.randint(0, 30), seconds=rng.randrange(60))
    if age < timedelta(days=2):
        order.status = "paid"
    else:
        order.shipped_at = order.paid_at + timedelta(hours=rng.randint(4, 40))
        order.carrier = rng.choice(catalogue.CARRIERS)
        order.tracking_no = f"SF{rng.randrange(10**12):012d}"
        if age < timedelta(days=9):
            order.status = "shipped"
        else:
            order.status = "completed"
            order.completed_at = order.shipped_at + timedelta(days=rng.randint(2, 8))
    luck = rng.random()
    if luck < 0.05:
        order.status, order.refunded = "refunded", order.paid
        order.shipped_at = order.completed_at = None
        order.carrier = order.tracking_no = ""
    elif luck < 0.08 and order.status == "completed" and len(order.lines) > 1:
        order.refunded = min(order.lines[-1].unit_price, order.paid)  # one item sent back
