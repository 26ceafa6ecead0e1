"""Lifetime value on a large generated SQLite database: summary, fit, score, store; lifetimes.

    python -m benchmarks.clv --contacts 1000000 --orders 10000000

The database is benchmarks/rfm.py's (contacts, identities and rollups in SQL, reused from
benchmarks/data/ when it exists with the same sizes) with other orders: rfm.py spreads every
contact's orders at random over three years, so nobody ever leaves and every buyer's spend has
the same distribution, and both models' maximum then lies at infinite parameters (lifetimes
does not converge on it). Here the orders follow the processes the models assume, simulated
with numpy from known parameters (SIMULATED), staged with executemany and turned into orders
in SQL; cancellations, refunds and pending orders as in rfm.py.

Timed, each in its own transaction: the summary extraction (SQL), the
two fits, the scoring of every buyer, then, separately, the bulk replacement of the stored
predictions. The same summary is then fitted with `lifetimes` (BetaGeoFitter and
GammaGammaFitter, as its documentation uses them) on at most --lifetimes-max buyers, and with
Siyu's code on exactly those buyers, for the ratio.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import text

from benchmarks import rfm as rfm_bench
from siyu.analytics.clv import bgnbd, gamma_gamma
from siyu.analytics.clv.scoring import score
from siyu.analytics.clv.service import fit_models, store
from siyu.analytics.clv.summary import Summary, extract
from siyu.db.session import make_engine, session_factory

# The processes the two models assume, with these parameters (per week; spend in yuan): the
# benchmark then also shows the fit finding them again on ten million orders.
SIMULATED = {"r": 0.6, "alpha": 5.0, "a": 1.2, "b": 5.0, "p": 6.0, "q": 4.0, "gamma": 600.0}
WEEK = 7 * 86400
_STAGED = "CREATE TEMP TABLE simulated_order (contact_id INTEGER, at INTEGER, amount INTEGER)"
_FROM_STAGED = """
INSERT INTO contact_order (id, contact_id, platform, shop, platform_order_id, status, currency,
    total_amount, paid_amount, refunded_amount, shipping_fee, discount_amount, placed_at,
    created_at, updated_at)
SELECT rowid, contact_id, 'taobao', 'shop', 'o' || rowid, status, 'CNY', amount,
    CASE WHEN status = 'cancelled' THEN 0 ELSE amount END,
    CASE WHEN status = 'refunded' THEN amount ELSE 0 END, 0, 0, placed_at, placed_at, placed_at
FROM (
    SELECT rowid, contact_id, amount,
        CASE abs(random()) % 100 WHEN 0 THEN 'cancelled' WHEN 1 THEN 'cancelled'
             WHEN 2 THEN 'refunded' WHEN 3 THEN 'pending' ELSE 'completed' END AS status,
        strftime('%Y-%m-%d %H:%M:%S', at, 'unixepoch') || '.000000' AS placed_at
    FROM simulated_order
)
"""


def simulate(contacts: int, seed: int = 10, alpha: float | None = None) -> dict[str, np.ndarray]:
    """Orders of `contacts` buyers: the first at a time uniform over the first two thirds of
    the history, then BG/NBD's process (Poisson purchases, dropout after each) to the end;
    values Gamma-Gamma's (each buyer's own mean, purchases varying around it)."""
    rng = np.random.default_rng(seed)
    k = SIMULATED
    weeks = rfm_bench.HISTORY / WEEK
    rate = rng.gamma(k["r"], 1.0 / (alpha or k["alpha"]), contacts)
    dropout = rng.beta(k["a"], k["b"], contacts)
    scale = rng.gamma(k["q"], 1.0 / k["gamma"], contacts)  # ν: a buyer's rate of value
    now = rng.uniform(0.0, weeks * 2 / 3, contacts)
    who, when = [np.arange(contacts)], [now.copy()]
    alive = np.arange(contacts)
    while len(alive):
        now[alive] += rng.exponential(1.0 / rate[alive])
        alive = alive[now[alive] <= weeks]
        who.append(alive)
        when.append(now[alive].copy())
        alive = alive[rng.random(len(alive)) >= dropout[alive]]
    buyer = np.concatenate(who)
    value = rng.gamma(k["p"], 1.0 / scale[buyer])
    return {
        "contact_id": buyer + 1,
        "at": (rfm_bench._EPOCH_NOW - rfm_bench.HISTORY + np.concatenate(when) * WEEK).astype(
            np.int64
        ),
        "amount": np.maximum(np.rint(value * 100), 1).astype(np.int64),
    }


def fill_simulated(engine: Any, contacts: int, orders: int) -> None:
    """About `orders` simulated orders: α (the purchase rate's scale) is tuned on a pilot of
    20,000 buyers so that the mean number of orders per buyer is orders / contacts."""
    low, high = 0.05, 500.0
    for _ in range(30):  # bisection on a log scale; orders fall as α grows
        middle = float(np.sqrt(low * high))
        pilot = len(simulate(20_000, seed=1, alpha=middle)["at"]) / 20_000
        low, high = (middle, high) if pilot > orders / contacts else (low, middle)
    SIMULATED["alpha"] = round(float(np.sqrt(low * high)), 4)
    rows = simulate(contacts)
    raw = engine.raw_connection()
    try:
        raw.execute(_STAGED)
        columns = zip(*(rows[c].tolist() for c in ("contact_id", "at", "amount")), strict=True)
        raw.executemany("INSERT INTO simulated_order VALUES (?, ?, ?)", columns)
        raw.execute(_FROM_STAGED)
        raw.commit()
    finally:
        raw.close()


UNTIL = date(2026, 10, 31)  # the last day of rfm.py's orders (they end at 2026-11-01 00:00 UTC)
TARGET_SECONDS = 10.0
LIFETIMES_MAX = 100_000


def database(data: Path, contacts: int, orders: int) -> Path:
    path = data / f"clv-{contacts}-{orders}.db"
    if not path.exists():
        started = time.perf_counter()
        rfm_bench.build(path, contacts, orders, fill_simulated)
        print(f"built {path.name} in {time.perf_counter() - started:.0f} s")
    return path


def _subset(summary: Summary, size: int, seed: int = 1) -> Summary:
    if summary.customers <= size:
        return summary
    pick = np.sort(np.random.default_rng(seed).choice(summary.customers, size, replace=False))
    return Summary(
        unit=summary.unit,
        calibration_end=summary.calibration_end,
        contact_id=summary.contact_id[pick],
        x=summary.x[pick],
        t_x=summary.t_x[pick],
        T=summary.T[pick],
        monetary=summary.monetary[pick],
    )


def _ours(summary: Summary) -> float:
    started = time.perf_counter()
    fit_models(summary)
    return time.perf_counter() - started


def _lifetimes(summary: Summary) -> dict[str, Any]:
    """The same fits with lifetimes; its failure is reported, not raised."""
    try:
        import pandas as pd
        from lifetimes import BetaGeoFitter, GammaGammaFitter
    except Exception as error:  # an import that breaks with newer numpy/pandas/scipy
        return {"error": f"import failed: {type(error).__name__}: {error}"}
    frame = pd.DataFrame(
        {"frequency": summary.x, "recency": summary.t_x, "T": summary.T,
         "monetary": summary.monetary / 100.0}
    )  # fmt: skip
    started = time.perf_counter()
    try:
        bg = BetaGeoFitter().fit(frame["frequency"], frame["recency"], frame["T"])
        repeat = frame[(frame["frequency"] > 0) & (frame["monetary"] > 0)]
        gg = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary"])
    except Exception as error:
        return {"error": f"fit failed: {type(error).__name__}: {error}"}
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "bgnbd": {k: round(float(v), 6) for k, v in bg.params_.items()},
        "gamma_gamma": {k: round(float(v), 6) for k, v in gg.params_.items()},
    }


def measure(
    data: Path, contacts: int, orders: int, lifetimes_max: int = LIFETIMES_MAX
) -> dict[str, Any]:
    path = database(data, contacts, orders)
    engine = make_engine(f"sqlite:///{path}")
    make = session_factory(engine)
    figures: dict[str, Any] = {"contacts": contacts, "orders": orders}
    with make() as session, session.begin():
        figures["orders_stored"] = session.execute(
            text("SELECT count(*) FROM contact_order")
        ).scalar()
        started = time.perf_counter()
        summary = extract(session, until=UNTIL, unit="week")
        extracted = time.perf_counter()
        purchases, spend = fit_models(summary)
        fitted = time.perf_counter()
        scores = score(summary, purchases, spend, horizon_days=90, months=12, monthly_discount=0.01)
        scored = time.perf_counter()
    with make() as session, session.begin():
        stored_from = time.perf_counter()
        store(session, summary=summary, scores=scores, fit_id=_fit_row(session), fitted_at=_now())
        stored = time.perf_counter()
    figures.update(
        customers=summary.customers,
        repeat_buyers=summary.repeat_buyers,
        summary_s=round(extracted - started, 2),
        fit_s=round(fitted - extracted, 2),
        score_s=round(scored - fitted, 2),
        total_s=round(scored - started, 2),
        store_s=round(stored - stored_from, 2),
        bgnbd=_rounded(purchases),
        gamma_gamma=_rounded(spend),
    )
    sample = _subset(summary, lifetimes_max)
    figures["lifetimes_customers"] = sample.customers
    figures["ours_on_sample_s"] = round(_ours(sample), 3)
    figures["lifetimes"] = _lifetimes(sample)
    seconds = figures["lifetimes"].get("seconds")
    if seconds:
        figures["lifetimes_ratio"] = round(seconds / max(figures["ours_on_sample_s"], 1e-6), 1)
    engine.dispose()
    return figures


def _rounded(model: bgnbd.BgNbd | gamma_gamma.GammaGamma) -> dict[str, float]:
    return {k: round(v, 6) for k, v in vars(model).items()}


def _now() -> Any:
    from siyu.db.types import utcnow

    return utcnow()


def _fit_row(session: Any) -> int:
    """A fit record for the stored rows to point at (the benchmark times the rows alone)."""
    from siyu.analytics.clv.models import ClvFit

    now = _now()
    record = ClvFit(
        unit="week", calibration_end=UNTIL, horizon_days=90, months=12, monthly_discount=0.01,
        customers=0, repeat_buyers=0, bgnbd={}, gamma_gamma={}, started_at=now,
        finished_at=now, seconds=0.0,
    )  # fmt: skip
    session.add(record)
    session.flush()
    return record.id


def lines(result: dict[str, Any] | None, verdict: Any) -> list[str]:
    """The RESULTS.md section."""
    head = ["## Lifetime value (BG/NBD + Gamma-Gamma)", ""]
    if result is None:
        return [*head, "Not measured in this run.", ""]
    theirs = result["lifetimes"]
    ok = result["total_s"] <= TARGET_SECONDS
    if "seconds" in theirs:
        lifetimes_row = (
            f"| `lifetimes` 0.11 on {result['lifetimes_customers']:,} of the buyers | "
            f"{theirs['seconds']:.1f} s against {result['ours_on_sample_s']:.2f} s: "
            f"{result.get('lifetimes_ratio', '-')}× | | |"
        )
    else:
        lifetimes_row = f"| `lifetimes` | {theirs['error']} | | |"
    return [
        *head,
        "Orders simulated from BG/NBD and Gamma-Gamma with "
        f"{json.dumps({k: v for k, v in SIMULATED.items() if k != 'alpha'})} (weeks, yuan; α",
        f"set for about as many orders as asked): {result['contacts']:,} contacts, "
        f"{result['orders_stored']:,} orders (SQLite). The target is for 10,000,000 orders.",
        f"Calibration end {UNTIL}, weeks; {result['customers']:,} buyers, "
        f"{result['repeat_buyers']:,} of them repeat buyers.",
        "",
        "| measure | measured | target | |",
        "|---|---|---|---|",
        f"| summary (SQL) + fit + score | {result['total_s']:.2f} s "
        f"({result['summary_s']:.2f} + {result['fit_s']:.2f} + {result['score_s']:.2f}) | "
        f"≤ {TARGET_SECONDS:.0f} s | {verdict(ok)} |",
        f"| storing every prediction (bulk, replacing) | {result['store_s']:.2f} s | | |",
        lifetimes_row,
        "",
        f"Estimates: BG/NBD {json.dumps(result['bgnbd'])}; Gamma-Gamma "
        f"{json.dumps(result['gamma_gamma'])}.",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--lifetimes-max", type=int, default=LIFETIMES_MAX)
    args = parser.parse_args()
    rfm_bench.DATA.mkdir(parents=True, exist_ok=True)
    print(json.dumps(measure(rfm_bench.DATA, args.contacts, args.orders, args.lifetimes_max)))


if __name__ == "__main__":
    main()
