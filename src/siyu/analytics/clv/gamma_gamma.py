"""Gamma-Gamma spend (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value").

A customer's transactions are worth z ~ Gamma(p, ν), and ν ~ Gamma(q, γ) across customers, so
a customer's mean value is p/ν. Fitted on repeat buyers only, from x (repeat transactions) and
m_x (their mean value): the first purchase is left out, as the note does, because it often
differs (a welcome offer, a trial size). The density of m_x is

    Γ(px+q) / (Γ(px) Γ(q)) · γ^q m_x^(px-1) x^(px) / (γ + x m_x)^(px+q)

Values go in the currency's major unit (yuan), so γ reads in yuan and the published CDNOW
estimates (in dollars) reproduce; p and q do not depend on the unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from siyu.analytics.clv.optimise import maximise
from siyu.errors import Invalid


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float
    log_likelihood: float


class _Prepared:
    """The parts of the likelihood that are linear in p and q are summed once: only
    log(γ + x m_x) must be computed per customer at each evaluation."""

    def __init__(self, x: np.ndarray, m: np.ndarray) -> None:
        self.x = x.astype(float)
        self.m = m.astype(float)
        self.xs, self.x_at = np.unique(self.x, return_inverse=True)
        self.count_x = np.bincount(self.x_at).astype(float)
        self.n = float(len(self.x))
        log_m = np.log(self.m)
        self.sum_x_log_m = float(np.dot(self.x, log_m))
        self.sum_log_m = float(log_m.sum())
        self.sum_x_log_x = float(np.dot(self.x, np.log(self.x)))
        self.sum_x = float(self.x.sum())
        self.xm = self.x * self.m


def _log_likelihood(data: _Prepared, p: float, q: float, gamma: float) -> tuple[float, np.ndarray]:
    xs, count = data.xs, data.count_x
    log_sum = np.log(gamma + data.xm)
    ll = (
        np.dot(count, gammaln(p * xs + q) - gammaln(p * xs))
        - data.n * gammaln(q)
        + data.n * q * np.log(gamma)
        + p * data.sum_x_log_m
        - data.sum_log_m
        + p * data.sum_x_log_x
        - p * np.dot(data.x, log_sum)
        - q * log_sum.sum()
    )
    psi_sum = digamma(p * xs + q)
    d_p = (
        np.dot(count * xs, psi_sum - digamma(p * xs))
        + data.sum_x_log_m
        + data.sum_x_log_x
        - np.dot(data.x, log_sum)
    )
    d_q = np.dot(count, psi_sum) - data.n * digamma(q) + data.n * np.log(gamma) - log_sum.sum()
    d_gamma = data.n * q / gamma - np.sum((p * data.x + q) / (gamma + data.xm))
    return float(ll), np.array([d_p, d_q, d_gamma])


def _objective(data: _Prepared, theta: np.ndarray) -> tuple[float, np.ndarray]:
    p, q, gamma = np.exp(theta)
    ll, gradient = _log_likelihood(data, p, q, gamma)
    return -ll / data.n, -gradient * np.array([p, q, gamma]) / data.n


def fit(x: np.ndarray, m: np.ndarray) -> GammaGamma:
    """Maximum likelihood from repeat buyers' x (>= 1) and mean repeat value m (> 0)."""
    keep = (x > 0) & (m > 0)
    if not keep.any():
        raise Invalid("no repeat buyer with a positive spend: the spend model cannot be fitted")
    data = _Prepared(x[keep], m[keep])
    # γ is a money scale: starting at the mean value puts the search in the data's own units.
    start = np.log([1.0, 2.0, max(float(np.mean(data.m)), 1e-6)])
    theta = maximise(lambda value: _objective(data, value), start, "Gamma-Gamma")
    p, q, gamma = (float(v) for v in np.exp(theta))
    return GammaGamma(p=p, q=q, gamma=gamma, log_likelihood=_log_likelihood(data, p, q, gamma)[0])


def expected_spend(model: GammaGamma, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[M | p, q, γ, m_x, x]: a weighted mean of the population mean and the customer's own.

    (γ + x m_x) p / (p x + q - 1); with no repeat purchase, the population mean γ p / (q - 1).
    Undefined for q <= 1 (the population mean is infinite): the customer's own mean is used.
    """
    p, q, gamma = model.p, model.q, model.gamma
    xf = x.astype(float)
    mf = np.where(xf > 0, m.astype(float), 0.0)
    if q <= 1:
        return mf
    return (gamma + xf * mf) * p / (p * xf + q - 1)
