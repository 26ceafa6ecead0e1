"""Per-buyer predictions from fitted models: the arithmetic, no database."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siyu.analytics.clv import bgnbd, gamma_gamma
from siyu.analytics.clv.summary import UNIT_DAYS, Summary

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Scores:
    p_alive: np.ndarray
    expected_purchases: np.ndarray
    expected_spend: np.ndarray  # fen
    clv: np.ndarray  # fen


def score(
    summary: Summary,
    purchases: bgnbd.BgNbd,
    spend: gamma_gamma.GammaGamma,
    *,
    horizon_days: int,
    months: int,
    monthly_discount: float,
) -> Scores:
    """P(alive), purchases expected in `horizon_days`, the expected value of a purchase, and
    CLV: the sum over the next `months` of each month's expected purchases times the
    expected value, discounted by (1 + monthly_discount) per month."""
    per_unit = float(UNIT_DAYS[summary.unit])
    x, t_x, T = summary.x, summary.t_x, summary.T
    alive = bgnbd.p_alive(purchases, x, t_x, T)
    ends = np.arange(1, months + 1) * DAYS_PER_MONTH / per_unit
    horizons = np.concatenate([[horizon_days / per_unit], ends])
    expected = bgnbd.expected_purchases(purchases, x, t_x, T, horizons, alive=alive)
    # Spend is modelled in yuan (see gamma_gamma) and stored in fen.
    value = gamma_gamma.expected_spend(spend, x, summary.monetary / 100.0) * 100.0
    cumulative = expected[:, 1:]
    monthly = np.diff(cumulative, axis=1, prepend=0.0)
    discount = (1.0 + monthly_discount) ** -np.arange(1, months + 1)
    return Scores(
        p_alive=alive,
        expected_purchases=expected[:, 0],
        expected_spend=value,
        clv=value * (monthly @ discount),
    )
