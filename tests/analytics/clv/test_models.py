"""The models alone: gradients against finite differences, recovery of the parameters data
were simulated with, and the predictions' basic properties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from siyu.analytics.clv import bgnbd, gamma_gamma
from siyu.errors import Invalid

TRUE_BG = {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 3.0}
TRUE_GG = {"p": 6.0, "q": 4.0, "gamma": 15.0}


def simulate_bgnbd(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """Buyers alive from their first purchase (time 0) to an age T of 20–80 weeks: purchases
    at Poisson rate λ ~ Gamma(r, α); after each repeat purchase, gone with p ~ Beta(a, b)."""
    rate = rng.gamma(TRUE_BG["r"], 1.0 / TRUE_BG["alpha"], n)
    dropout = rng.beta(TRUE_BG["a"], TRUE_BG["b"], n)
    T = rng.uniform(20.0, 80.0, n)
    x, t_x, now = np.zeros(n, dtype=np.int64), np.zeros(n), np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        now[active] += rng.exponential(1.0 / rate[active])
        bought = active & (now <= T)
        x[bought] += 1
        t_x[bought] = now[bought]
        active = bought & (rng.random(n) >= dropout)
    return x, t_x, T


def simulate_spend(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    nu = rng.gamma(TRUE_GG["q"], 1.0 / TRUE_GG["gamma"], n)
    x = rng.integers(1, 12, n)
    means = np.array(
        [rng.gamma(TRUE_GG["p"], 1.0 / v, k).mean() for v, k in zip(nu, x, strict=True)]
    )
    return x, means


def test_the_gradients_are_those_of_the_likelihood() -> None:
    rng = np.random.default_rng(7)
    x, t_x, T = simulate_bgnbd(rng, 500)
    data = bgnbd._Compressed(x, t_x, T)
    theta = np.log([0.4, 5.0, 1.2, 2.0])
    value = lambda point: bgnbd._objective(data, point)[0]  # noqa: E731
    assert bgnbd._objective(data, theta)[1] == pytest.approx(
        approx_fprime(theta, value, 1e-7), rel=1e-4, abs=1e-6
    )
    xs, m = simulate_spend(rng, 300)
    prepared = gamma_gamma._Prepared(xs, m)
    theta = np.log([3.0, 2.0, 10.0])
    value = lambda point: gamma_gamma._objective(prepared, point)[0]  # noqa: E731
    assert gamma_gamma._objective(prepared, theta)[1] == pytest.approx(
        approx_fprime(theta, value, 1e-7), rel=1e-4, abs=1e-6
    )


def test_bgnbd_recovers_the_parameters_it_was_simulated_with() -> None:
    x, t_x, T = simulate_bgnbd(np.random.default_rng(2005), 30_000)
    fitted = bgnbd.fit(x, t_x, T)
    assert fitted.r == pytest.approx(TRUE_BG["r"], rel=0.1)
    assert fitted.alpha == pytest.approx(TRUE_BG["alpha"], rel=0.15)
    assert fitted.a == pytest.approx(TRUE_BG["a"], rel=0.25)
    assert fitted.b == pytest.approx(TRUE_BG["b"], rel=0.25)
    # The maximum is a maximum: the true parameters fit these data less well.
    truth = tuple(TRUE_BG.values())
    assert bgnbd.log_likelihood(truth, x, t_x, T) < fitted.log_likelihood


def test_gamma_gamma_recovers_the_parameters_it_was_simulated_with() -> None:
    x, m = simulate_spend(np.random.default_rng(2013), 8_000)
    fitted = gamma_gamma.fit(x, m)
    assert fitted.p == pytest.approx(TRUE_GG["p"], rel=0.15)
    assert fitted.q == pytest.approx(TRUE_GG["q"], rel=0.15)
    assert fitted.gamma == pytest.approx(TRUE_GG["gamma"], rel=0.25)
    # Units: spend a hundred times larger (fen instead of yuan) scales γ alone.
    in_fen = gamma_gamma.fit(x, m * 100)
    assert (in_fen.p, in_fen.q) == pytest.approx((fitted.p, fitted.q), rel=1e-3)
    assert in_fen.gamma == pytest.approx(fitted.gamma * 100, rel=1e-3)


def test_predictions_behave() -> None:
    model = bgnbd.BgNbd(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259, log_likelihood=0.0)
    x = np.array([0, 2, 2, 10, 200])
    t_x = np.array([0.0, 30.0, 5.0, 38.0, 38.5])
    T = np.array([38.0, 38.0, 38.0, 38.0, 38.6])
    alive = bgnbd.p_alive(model, x, t_x, T)
    assert alive[0] == 1.0 and alive[1] > alive[2]  # a recent last purchase: more likely alive
    expected = bgnbd.expected_purchases(model, x, t_x, T, np.array([10.0, 20.0, 39.0]))
    assert np.all(np.isfinite(expected)) and np.all(np.diff(expected, axis=1) > 0)
    assert expected[4, 2] > expected[3, 2] > expected[1, 2] > expected[2, 2]
    # A new customer's expectation (equation 9) at zero history is the conditional one at x=0,
    # T=0.
    assert bgnbd.expected_purchases(model, np.array([0]), np.array([0.0]), np.array([0.0]), 39.0)[
        0, 0
    ] == pytest.approx(float(bgnbd.expected_purchases_new(model, 39.0)), rel=1e-9)
    spend = gamma_gamma.GammaGamma(p=6.25, q=3.74, gamma=15.44, log_likelihood=0.0)
    value = gamma_gamma.expected_spend(spend, np.array([0, 1, 50]), np.array([0.0, 100.0, 100.0]))
    population = 6.25 * 15.44 / 2.74
    assert value[0] == pytest.approx(population)
    assert population < value[1] < value[2] < 100.0  # pulled towards the own mean with more data


def test_spend_needs_a_repeat_buyer_with_positive_spend() -> None:
    with pytest.raises(Invalid, match="no repeat buyer"):
        gamma_gamma.fit(np.array([0, 1]), np.array([0.0, 0.0]))


def test_expectations_stay_finite_when_dropout_hardly_varies() -> None:
    """a, b → ∞ (a fixed dropout probability) is a real maximum on some data; the two ways
    of computing equation (10) agree where both work and the second carries on beyond."""
    x, t_x, T = np.array([0, 3, 8]), np.array([0.0, 10.0, 20.0]), np.array([30.0, 30.0, 30.0])
    values = []
    for a in (150.0, 250.0, 6.5e6):
        model = bgnbd.BgNbd(r=0.57, alpha=2.76, a=a, b=4.4 * a, log_likelihood=0.0)
        expected = bgnbd.expected_purchases(model, x, t_x, T, np.array([13.0, 26.0]))
        assert np.all(np.isfinite(expected)) and np.all(expected > 0)
        values.append(expected)
        xs, Ts = x.astype(float), T.astype(float)
        both = (bgnbd._hypergeometric(model, xs, Ts, np.array([13.0])),
                bgnbd._concentrated(model, xs, Ts, np.array([13.0])))  # fmt: skip
        if a < 1000:
            assert both[0] == pytest.approx(both[1], rel=1e-5)
    assert values[1] == pytest.approx(values[2], rel=0.01)  # close to the limit already
