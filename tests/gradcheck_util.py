"""The A and B reference tests' gradient checks. The numerical gradient is the shared
one (`gradcheck_cd`: fourth-order central differences); what differs is the error
measure, scaled by the whole array (see `rel_error`)."""
from __future__ import annotations

import numpy as np

from gradcheck_cd import numerical_gradient as numeric_gradient


def rel_error(a, n):
    """max|a - n| / max(1e-8, max(|a| + |n|)): the scale is the whole array's, not each
    element's. One-hot inputs (char_lm) leave gradient entries near 1e-6 whose element-wise
    ratio is dominated by the loss's rounding, with no error in the analytic gradient."""
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    assert a.shape == n.shape, (a.shape, n.shape)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - n)) / max(1e-8, float(np.max(np.abs(a) + np.abs(n)))))


def assert_gradients(f, analytic: dict, arrays: dict, tol=1e-7):
    """For every name in `arrays`, compare analytic[name] with the numerical gradient of
    f() w.r.t. arrays[name] (perturbed in place); fail listing every error above tol."""
    errors = {}
    for name, x in arrays.items():
        assert analytic[name].shape == x.shape, (name, analytic[name].shape, x.shape)
        errors[name] = rel_error(analytic[name], numeric_gradient(f, x))
    bad = {k: v for k, v in errors.items() if not v < tol}
    assert not bad, f"relative errors above {tol}: {bad} (all: {errors})"
    return errors
