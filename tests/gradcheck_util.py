"""Central-difference gradient checking for the reference tests."""
from __future__ import annotations

import numpy as np


def numeric_gradient(f, x, h=1e-5):
    """Gradient of the scalar function f() w.r.t. the float array x, by central differences.

    f takes no arguments and must read x (which is perturbed in place, one element at a
    time, and restored afterwards). Returns an array of x's shape.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        f_plus = float(f())
        x[ix] = old - h
        f_minus = float(f())
        x[ix] = old
        grad[ix] = (f_plus - f_minus) / (2 * h)
        it.iternext()
    return grad


def rel_error(a, n):
    """Relative error max|a - n| / max(1e-8, |a| + |n|), the max in the denominator taken
    over the 1e-8 floor and every element of |a| + |n|.

    The scale is the whole array's, not each element's: central differences carry an
    absolute rounding error (about 1e-11 here) that an element-wise ratio would blow up
    on elements close to zero without any error in the analytic gradient.
    """
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    assert a.shape == n.shape, (a.shape, n.shape)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - n)) / max(1e-8, float(np.max(np.abs(a) + np.abs(n)))))


def assert_gradients(f, analytic: dict, arrays: dict, tol=1e-7, h=1e-5):
    """For every name in `arrays`, compare analytic[name] with the numeric gradient of f
    w.r.t. arrays[name]; fail with a message listing every gradient above `tol`."""
    errors = {}
    for name, x in arrays.items():
        num = numeric_gradient(f, x, h)
        assert analytic[name].shape == x.shape, (name, analytic[name].shape, x.shape)
        errors[name] = rel_error(analytic[name], num)
    bad = {k: v for k, v in errors.items() if not v < tol}
    assert not bad, f"relative errors above {tol}: {bad} (all: {errors})"
    return errors
