"""Summaries from orders, fits stored and replaced, and the refusals of data that cannot be
fitted: each a clear Invalid, never a traceback."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.analytics.clv import bgnbd, service
from siyu.analytics.clv.holdout import holdout
from siyu.analytics.clv.models import ClvFit, ClvPrediction
from siyu.analytics.clv.summary import extract
from siyu.errors import Forbidden, Invalid, NotFound
from siyu.kit.actor import Actor
from tests.analytics.clv.pool import buyers
from tests.analytics.test_rfm import contact, order

VIEWER = Actor("viewer", role="viewer")


def test_the_summary_merges_local_days_and_keeps_purchases_only(session: Session) -> None:
    person = contact(session)
    # Asia/Shanghai is UTC+8: 15:30 and 16:30 UTC on 1 January are 23:30 on the 1st and 00:30
    # on the 2nd there, so one UTC day holds two purchase days.
    order(session, person, datetime(2026, 1, 1, 2, 0, tzinfo=UTC), 1000)
    order(session, person, datetime(2026, 1, 1, 15, 30, tzinfo=UTC), 500)
    order(session, person, datetime(2026, 1, 1, 16, 30, tzinfo=UTC), 2000)
    order(session, person, datetime(2026, 1, 8, 4, 0, tzinfo=UTC), 3000, refunded=1000,
          status="refunded")  # fmt: skip
    order(session, person, datetime(2026, 1, 9, 4, 0, tzinfo=UTC), 9900, status="cancelled")
    order(session, person, datetime(2026, 1, 10, 4, 0, tzinfo=UTC), 9900, status="pending")
    order(session, person, datetime(2026, 1, 11, 4, 0, tzinfo=UTC), 9900, currency="USD")
    order(session, person, datetime(2026, 1, 15, 16, 30, tzinfo=UTC), 9900)  # the 16th there
    other = contact(session)
    order(session, other, datetime(2026, 1, 3, 4, 0, tzinfo=UTC), 700)
    session.flush()

    summary = extract(session, until=date(2026, 1, 15), unit="day")
    assert summary.contact_id.tolist() == [person.id, other.id]
    assert summary.x.tolist() == [2, 0]  # 1 Jan (two orders), 2 Jan, 8 Jan
    assert summary.t_x.tolist() == [7.0, 0.0]
    assert summary.T.tolist() == [14.0, 12.0]
    # Repeat days only: 2 Jan's ¥20 and 8 Jan's ¥30 paid less ¥10 refunded.
    assert summary.monetary.tolist() == [(2000 + 2000) / 2, 0.0]
    weeks = extract(session, until=date(2026, 1, 16), unit="week")
    assert weeks.x.tolist() == [3, 0]
    assert weeks.t_x[0] == pytest.approx(15 / 7) and weeks.T[0] == pytest.approx(15 / 7)


def test_every_prediction_is_stored_readable_and_replaced(session: Session) -> None:
    ids = buyers(session)
    first = service.fit(session, until=date(2025, 9, 30), unit="week")
    assert first["customers"] == 60 and first["repeat_buyers"] == 40
    rows = session.execute(select(ClvPrediction).order_by(ClvPrediction.contact_id)).scalars()
    stored = {row.contact_id: row for row in rows}
    assert sorted(stored) == ids
    for contact_id in ids:
        found = service.prediction_of(session, contact_id)
        assert found is not None and found["unit"] == "week" and found["horizon_days"] == 90
        assert 0 < found["p_alive"] <= 1 and found["expected_purchases"] >= 0
        assert found["expected_spend"] > 0 and found["clv"] >= 0
        assert all(math.isfinite(found[key]) for key in ("recency", "age", "p_alive"))
        if found["frequency"] == 0:
            assert found["p_alive"] == 1 and found["recency"] == 0 and found["monetary"] == 0
    one = service.prediction_for(session, actor=VIEWER, ref=str(ids[1]))
    assert one["contact_id"] == ids[1]
    last = service.last_fit(session, actor=VIEWER)
    assert last is not None and last["id"] == first["fit_id"]
    assert last["calibration_end"] == "2025-09-30" and last["bgnbd"] == first["bgnbd"]
    # CLV: a year's expected purchases times the expected spend, discounted by 1 % a month,
    # so between the undiscounted value and that value discounted for the whole year.
    model = bgnbd.BgNbd(**last["bgnbd"])
    year = bgnbd.expected_purchases(
        model, np.array([one["frequency"]]), np.array([one["recency"]]),
        np.array([one["age"]]), 365.25 / 7,
    )[0, 0]  # fmt: skip
    undiscounted = year * one["expected_spend"]
    assert undiscounted / 1.01**12 - 1 <= one["clv"] <= undiscounted + 1

    again = service.fit(session, until=date(2025, 2, 15), unit="day")
    count = session.execute(select(func.count()).select_from(ClvPrediction)).scalar()
    assert count == again["customers"] < 60  # the earlier set was replaced, not added to
    fits = set(session.execute(select(ClvPrediction.fit_id)).scalars())
    assert fits == {again["fit_id"]}
    assert session.execute(select(func.count()).select_from(ClvFit)).scalar() == 2
    assert service.last_fit(session, actor=VIEWER)["unit"] == "day"  # type: ignore[index]
    later = sorted(set(ids) - set(session.execute(select(ClvPrediction.contact_id)).scalars()))
    with pytest.raises(NotFound, match="no lifetime value"):
        service.prediction_for(session, actor=VIEWER, ref=str(later[0]))


def test_data_that_cannot_be_fitted_is_refused_clearly(session: Session) -> None:
    with pytest.raises(Invalid, match="no purchase placed on or before 2025-12-31"):
        service.fit(session, until=date(2025, 12, 31))
    for n in range(3):
        order(session, contact(session), datetime(2025, 3, 1 + n, 4, tzinfo=UTC))
    session.flush()
    with pytest.raises(Invalid, match="none of the 3 buyers bought again by 2025-12-31"):
        service.fit(session, until=date(2025, 12, 31))
    with pytest.raises(Invalid, match="no purchase placed on or before 2020-01-01"):
        service.fit(session, until=date(2020, 1, 1))
    with pytest.raises(Invalid, match="unknown unit 'month': use day or week"):
        service.fit(session, until=date(2025, 12, 31), unit="month")
    with pytest.raises(Invalid, match="in the future"):
        service.fit(session, until=date(2999, 1, 1))
    with pytest.raises(Invalid, match="must be before the holdout end"):
        holdout(session, actor=VIEWER, until=date(2025, 6, 1), holdout_end=date(2025, 6, 1))
    assert session.execute(select(func.count()).select_from(ClvFit)).scalar() == 0


def test_only_operators_and_admins_may_fit(session: Session) -> None:
    buyers(session, 12)
    with pytest.raises(Forbidden):
        service.fit_for(session, actor=VIEWER, until=date(2025, 9, 30))
    with pytest.raises(Forbidden):
        service.request_fit(session, actor=VIEWER)
    done = service.fit_for(session, actor=Actor("ops", role="operator"), until=date(2025, 9, 30))
    assert done["customers"] == 12
