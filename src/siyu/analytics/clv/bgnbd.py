"""BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive, a customer buys as a Poisson process of rate λ ~ Gamma(r, α); after each purchase
they drop out with probability p ~ Beta(a, b). A customer is described by x (repeat purchases),
t_x (time of the last purchase) and T (time since the first), all in one unit, from the first
purchase. The likelihood is the paper's equation (6), taken in log space; the conditional
expectation its equation (10), with the Gauss hypergeometric function rewritten by Euler's
transformation so that its parameters stay small however many purchases a customer made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from siyu.analytics.clv.optimise import maximise


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


class _Compressed:
    """Customers as unique (x, t_x, T) rows with counts, and each column's unique values.

    Whatever depends on x alone (the gamma and beta functions) or on T or t_x alone (the
    logarithms) is computed once per unique value and gathered, so an evaluation on a million
    customers costs a few vector gathers rather than millions of special-function calls.
    """

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
        rows = np.stack([x.astype(float), t_x.astype(float), T.astype(float)], axis=1)
        unique, self.weight = np.unique(rows, axis=0, return_counts=True)
        self.weight = self.weight.astype(float)
        self.total = float(self.weight.sum())
        self.xs, self.x_at = np.unique(unique[:, 0], return_inverse=True)
        self.ts, self.t_at = np.unique(unique[:, 1], return_inverse=True)
        self.Ts, self.T_at = np.unique(unique[:, 2], return_inverse=True)
        self.x = unique[:, 0]
        self.repeat = self.xs > 0


def _terms(data: _Compressed, r: float, alpha: float, a: float, b: float) -> dict[str, np.ndarray]:
    xs, repeat = data.xs, data.repeat
    base = betaln(a, b)
    # Per unique x: log Γ(r+x)α^r/Γ(r), and the two beta ratios of equation (6).
    lead = gammaln(r + xs) - gammaln(r) + r * np.log(alpha)
    beta1 = betaln(a, b + xs) - base
    beta2 = np.where(repeat, betaln(a + 1, b + np.maximum(xs, 1) - 1) - base, -np.inf)
    power = r + data.x
    # Term 1: alive at T; term 2 (x > 0 only): dropped out right after the last purchase.
    log_T = np.log(alpha + data.Ts)
    log_t = np.log(alpha + data.ts)
    term1 = beta1[data.x_at] - power * log_T[data.T_at]
    term2 = beta2[data.x_at] - power * log_t[data.t_at]
    both = np.logaddexp(term1, term2)
    ll = lead[data.x_at] + both
    return {"lead": lead, "term1": term1, "both": both, "power": power, "ll": ll}


def _objective(data: _Compressed, theta: np.ndarray) -> tuple[float, np.ndarray]:
    r, alpha, a, b = np.exp(theta)
    t = _terms(data, r, alpha, a, b)
    w = data.weight
    xs, repeat = data.xs, data.repeat
    share1 = np.exp(t["term1"] - t["both"])  # weight of term 1 in the sum, in [0, 1]
    share2 = 1.0 - share1
    # Derivatives of each row's log-likelihood (the softmax of the two terms' derivatives).
    psi_x = {
        "r": digamma(r + xs) - digamma(r) + np.log(alpha),
        "ab": digamma(a + b) - digamma(a + b + xs),
        "b1": digamma(b + xs) - digamma(b),
        "b2": np.where(repeat, digamma(b + np.maximum(xs, 1) - 1) - digamma(b), 0.0),
    }
    at = data.x_at
    inv_T = 1.0 / (alpha + data.Ts[data.T_at])
    inv_t = 1.0 / (alpha + data.ts[data.t_at])
    d_r = psi_x["r"][at] - share1 * np.log(alpha + data.Ts)[data.T_at]
    d_r -= share2 * np.log(alpha + data.ts)[data.t_at]
    d_alpha = r / alpha - t["power"] * (share1 * inv_T + share2 * inv_t)
    d_a = psi_x["ab"][at] + share2 / a
    d_b = psi_x["ab"][at] + share1 * psi_x["b1"][at] + share2 * psi_x["b2"][at]
    gradient = np.array([np.dot(w, d) for d in (d_r, d_alpha, d_a, d_b)])
    # Chain rule to log-parameters; negated and averaged for the minimiser.
    gradient *= np.array([r, alpha, a, b])
    return -float(np.dot(w, t["ll"])) / data.total, -gradient / data.total


def log_likelihood(
    params: tuple[float, float, float, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> float:
    data = _Compressed(x, t_x, T)
    return float(np.dot(data.weight, _terms(data, *params)["ll"]))


def fit(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BgNbd:
    """Maximum likelihood estimates from each customer's (x, t_x, T)."""
    data = _Compressed(x, t_x, T)
    # α is a time scale: starting at the mean age puts the search in the data's own units.
    start = np.log([1.0, max(float(np.mean(T)), 1e-3), 1.0, 1.0])
    theta = maximise(lambda value: _objective(data, value), start, "BG/NBD")
    r, alpha, a, b = (float(v) for v in np.exp(theta))
    ll = float(np.dot(data.weight, _terms(data, r, alpha, a, b)["ll"]))
    return BgNbd(r=r, alpha=alpha, a=a, b=b, log_likelihood=ll)


def p_alive(model: BgNbd, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(still alive at T | x, t_x, T): 1 for a customer with no repeat purchase."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    xf = x.astype(float)
    # log of a/(b+x-1) ((α+T)/(α+t_x))^{r+x}, the odds of having dropped out.
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.log(a) - np.log(b + xf - 1) + (r + xf) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(x > 0, expit(-odds), 1.0)


def _unique_pairs(x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pairs, at = np.unique(np.stack([x.astype(float), T.astype(float)], axis=1), axis=0,
                          return_inverse=True)  # fmt: skip
    return pairs[:, 0], pairs[:, 1], at.reshape(-1)


def expected_purchases(
    model: BgNbd,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    horizons: np.ndarray | float,
    alive: np.ndarray | None = None,
) -> np.ndarray:
    """E[purchases in (T, T+t] | x, t_x, T] for each horizon t; shape (customers, horizons)."""
    t = np.atleast_1d(np.asarray(horizons, dtype=float))
    alive = p_alive(model, x, t_x, T) if alive is None else alive
    # The rest depends on x and T only: computed once per unique pair.
    xs, Ts, at = _unique_pairs(x, T)
    if model.a < CONCENTRATED:
        part = _hypergeometric(model, xs, Ts, t)
    else:
        part = _concentrated(model, xs, Ts, t)
    return part[at] * alive[:, None]


# Beyond this a, scipy's hyp2f1 loses its accuracy (NaN by a = 5000); Beta(a, b + x) is
# then so narrow that a 24-point Gauss-Hermite rule over it agrees with adaptive quadrature
# to 1e-7 from a = 200 on. A fit reaches such an a when dropout hardly varies
# between customers: the likelihood's maximum lies at a, b → ∞ with a / (a + b) fixed.
CONCENTRATED = 200.0
_NODES, _WEIGHTS = np.polynomial.hermite.hermgauss(24)


def _hypergeometric(model: BgNbd, xs: np.ndarray, Ts: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Equation (10)'s bracket, with
    (1-z)^{r+x} 2F1(r+x, b+x; a+b+x-1; z) = (1-z)^{a-1} 2F1(a+b-1-r, a-1; a+b+x-1; z)."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    z = t[None, :] / (alpha + Ts[:, None] + t[None, :])
    c = (a + b + xs - 1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.power(1.0 - z, a - 1) * hyp2f1(a + b - 1 - r, a - 1, c, z)
        return c / (a - 1) * (1.0 - tail)


def _concentrated(model: BgNbd, xs: np.ndarray, Ts: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The same expectation as E over p ~ Beta(a, b+x) of (1 - ((α+T)/(α+T+pt))^{r+x}) / p
    (λ integrated out), by Gauss-Hermite over the Beta's normal approximation."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    total = a + b + xs
    mean = a / total
    spread = np.sqrt(2.0 * a * (b + xs) / (total**2 * (total + 1)))
    base = (alpha + Ts)[:, None]
    power = (r + xs)[:, None]
    result = np.zeros((len(xs), len(t)))
    for node, weight in zip(_NODES, _WEIGHTS, strict=True):
        p = np.clip(mean + spread * node, 1e-12, 1.0)[:, None]
        gone = np.power(base / (base + p * t[None, :]), power)
        result += weight * (1.0 - gone) / p
    return result / np.sqrt(np.pi)


def expected_purchases_new(model: BgNbd, t: np.ndarray | float) -> np.ndarray:
    """E[X(t)]: purchases by a customer in the t units after their first (equation 9)."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    t = np.asarray(t, dtype=float)
    z = t / (alpha + t)
    ratio = np.power(alpha / (alpha + t), r)
    return (a + b - 1) / (a - 1) * (1.0 - ratio * hyp2f1(r, b, a + b - 1, z))
