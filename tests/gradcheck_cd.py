"""Central-difference gradient checking for the reference tests.

Independent of the helpers shipped with the assignments (which are themselves under
test), so a bug in `eval_numerical_gradient*` cannot hide a bug in a backward pass.
"""
from __future__ import annotations

import numpy as np

# Step of the fourth-order stencil below. Its truncation error is O(h^4) and its
# rounding error O(eps / h): at h = 1e-3 both are ~1e-13 relative, about 100 times
# below those of the two-point formula at its best step (~1e-5). That margin matters
# for the element-wise relative error: a gradient entry of size 1e-5 (common in dWh
# of an LSTM with N = 1) is otherwise dominated by the rounding of the loss.
STEP = 1e-3


def numerical_gradient(f, x: np.ndarray, h: float = STEP, order: int = 4) -> np.ndarray:
    """Gradient of the scalar `f()` w.r.t. the array `x`, one element at a time, by
    central differences.

    order 4 (default): (8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))) / (12 h);
    order 2: (f(x+h) - f(x-h)) / (2 h) (use h ~ 1e-5 then).

    `f` takes no argument: it must read `x` (by closure), which is perturbed in place
    and restored exactly after each element.
    """
    assert x.dtype == np.float64, "gradient checks are only meaningful in float64"
    assert order in (2, 4)
    grad = np.zeros_like(x)
    flat = x.reshape(-1)  # a view: writing to it perturbs x
    assert np.shares_memory(flat, x)

    def f_at(k, old, delta):
        flat[k] = old + delta
        try:
            return float(f())
        finally:
            flat[k] = old

    for k in range(flat.size):
        old = flat[k]
        d1 = f_at(k, old, h) - f_at(k, old, -h)
        if order == 2:
            grad.reshape(-1)[k] = d1 / (2 * h)
        else:
            d2 = f_at(k, old, 2 * h) - f_at(k, old, -2 * h)
            grad.reshape(-1)[k] = (8 * d1 - d2) / (12 * h)
    return grad


def rel_error(analytic, numeric) -> float:
    """max over elements of |a - n| / max(1e-8, |a| + |n|) (the CS231n definition)."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    assert a.shape == n.shape, (a.shape, n.shape)
    return float(np.max(np.abs(a - n) / np.maximum(1e-8, np.abs(a) + np.abs(n))))


def loss_against(upstream: np.ndarray):
    """Scalar loss sum(output * upstream) for an output of the same shape."""
    def loss(output):
        output = np.asarray(output)
        assert output.shape == upstream.shape, (output.shape, upstream.shape)
        return float(np.sum(output * upstream))
    return loss


def assert_gradients(f, pairs: dict, tol: float = 1e-7) -> dict:
    """Check analytic gradients against central differences of `f()`.

    `pairs` maps a label to (input array, analytic gradient). Returns the errors so
    that a test can report them; fails with every error listed if one is >= tol.
    """
    errors = {}
    for label, (x, analytic) in pairs.items():
        numeric = numerical_gradient(f, x)
        errors[label] = rel_error(analytic, numeric)
    bad = {k: v for k, v in errors.items() if not v < tol}
    assert not bad, f"relative errors above {tol}: {bad} (all: {errors})"
    return errors
