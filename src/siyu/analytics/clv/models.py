"""Stored lifetime value: each buyer's last predictions, and the record of each fit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, BigId
from siyu.db.types import JSONType, UTCDateTime


class ClvPrediction(Base):
    """One buyer's summary at the calibration end and what the last fit predicts for them."""

    __tablename__ = "analytics_clv_prediction"

    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    fit_id: Mapped[int] = mapped_column(BigId, ForeignKey("analytics_clv_fit.id"), index=True)
    # Repeat purchase days, the last one's age and the first's, in the fit's unit.
    frequency: Mapped[int] = mapped_column(Integer)
    recency: Mapped[float] = mapped_column(Float)
    age: Mapped[float] = mapped_column(Float)
    # Mean value of the repeat purchase days, in fen (0 with none).
    monetary: Mapped[int] = mapped_column(BigInteger)
    # Purchases expected in the fit's horizon_days after the calibration end.
    expected_purchases: Mapped[float] = mapped_column(Float, index=True)
    p_alive: Mapped[float] = mapped_column(Float, index=True)
    # Gamma-Gamma's expected value of a future purchase, and the discounted CLV, in fen.
    expected_spend: Mapped[int] = mapped_column(BigInteger)
    clv: Mapped[int] = mapped_column(BigInteger, index=True)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClvFit(Base):
    """One fit: its inputs, the estimates and how long it took. The newest finished one is
    the one the predictions belong to."""

    __tablename__ = "analytics_clv_fit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit: Mapped[str] = mapped_column(String(8))
    calibration_end: Mapped[date] = mapped_column(Date)
    horizon_days: Mapped[int] = mapped_column(Integer)
    months: Mapped[int] = mapped_column(Integer)
    monthly_discount: Mapped[float] = mapped_column(Float)
    customers: Mapped[int] = mapped_column(Integer)
    repeat_buyers: Mapped[int] = mapped_column(Integer)
    # {"r", "alpha", "a", "b", "log_likelihood"} and {"p", "q", "gamma", "log_likelihood"}.
    bgnbd: Mapped[dict[str, Any]] = mapped_column(JSONType)
    gamma_gamma: Mapped[dict[str, Any]] = mapped_column(JSONType)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    seconds: Mapped[float] = mapped_column(Float)
