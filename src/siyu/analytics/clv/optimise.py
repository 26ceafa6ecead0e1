"""Maximum likelihood on log-scale parameters, shared by the two models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import minimize

from siyu.errors import Invalid

# (negative mean log-likelihood, its gradient) at log-parameters.
Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def maximise(objective: Objective, start: np.ndarray, model: str) -> np.ndarray:
    """The log-parameters that maximise the likelihood.

    L-BFGS-B with the analytic gradient converges in a few dozen evaluations; when it stops
    short (a flat ridge, a bad start), Nelder-Mead, which needs no gradient, walks from where
    it stopped and L-BFGS-B polishes the result. Log scale keeps every parameter positive
    without bounds, and the mean (not the sum) keeps the gradient's size independent of the
    number of customers.
    """
    bounds = [(-25.0, 25.0)] * len(start)  # e^±25: far outside any sensible estimate
    with np.errstate(all="ignore"):
        result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds)
        if not _converged(result):
            walked = minimize(
                lambda theta: objective(theta)[0],
                result.x if np.all(np.isfinite(result.x)) else start,
                method="Nelder-Mead",
                options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-12},
            )
            result = minimize(objective, walked.x, jac=True, method="L-BFGS-B", bounds=bounds)
    if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
        raise Invalid(f"the {model} fit did not converge on these orders")
    return np.asarray(result.x)


def _converged(result: Any) -> bool:
    """Success, or a line search that stopped at a point where the gradient is already flat:
    on a ridge (a parameter running off to infinity) L-BFGS-B reports precision loss there, and
    walking on with Nelder-Mead only costs thousands of evaluations for the same likelihood."""
    if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
        return False
    return bool(result.success) or float(np.max(np.abs(result.jac))) < 1e-5
