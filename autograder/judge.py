"""Stage 4: compare a unit's outputs with the reference's and explain every difference.

All comparison happens here, in the grading process, on decoded plain data. The
explanations name the output, the expected and actual shape, the first differing
index with both values and the relative error, and a hint where a classic mistake
(transposed weight, missing sum over the batch, flipped sign, constant factor) fits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from autograder.driver import relative_error


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float


def _fmt(x) -> str:
    try:
        return np.format_float_positional(float(x), precision=8, unique=True, trim="-")
    except (TypeError, ValueError):
        return repr(x)


def _isclose(actual: np.ndarray, expected, rtol: float, atol: float):
    """np.isclose(actual, expected, rtol, atol), elementwise, for float arrays.
    np.isclose costs ~25 us a call in Python-level set-up on the small arrays graded
    here, and compare runs ~200 times per submission. With a finite expected value and
    non-negative tolerances its formula reduces to the one line below (same operations,
    same order, so the same result); anything else goes to np.isclose itself."""
    if rtol >= 0 and atol >= 0 and np.isfinite(expected).all():
        return np.abs(actual - expected) <= atol + rtol * np.abs(expected)
    return np.isclose(actual, expected, rtol=rtol, atol=atol)


def _allclose(actual: np.ndarray, expected, rtol: float = 1e-05, atol: float = 1e-08) -> bool:
    """np.allclose, through _isclose."""
    return bool(_isclose(actual, expected, rtol, atol).all())


def _size_hint(expected_shape: tuple, actual_shape: tuple, sizes: dict) -> str:
    """A tensor allocated with the wrong size: one axis differs and the case's sizes name
    both lengths (hidden cases have no two confusable sizes equal, so the names are sure)."""
    if not sizes or len(expected_shape) != len(actual_shape):
        return ""
    axes = [k for k, (e, a) in enumerate(zip(expected_shape, actual_shape)) if e != a]
    if len(axes) != 1:
        return ""
    axis = axes[0]
    named = {n: v for n, v in sizes.items() if isinstance(v, int) and not isinstance(v, bool) and n != "seed"}
    got = [n for n, v in named.items() if v == actual_shape[axis]]
    want = [n for n, v in named.items() if v == expected_shape[axis]]
    if len(got) != 1 or len(want) != 1:
        return ""
    off_by_one = actual_shape[axis] - expected_shape[axis]
    return (f" Axis {axis} has length {actual_shape[axis]}, which is {got[0]}, where {want[0]} = "
            f"{expected_shape[axis]} belongs: is that axis sized by {got[0]} instead of {want[0]}"
            + (f", or one too {'long' if off_by_one > 0 else 'short'}?" if abs(off_by_one) == 1 else "?"))


def _shape_hint(expected: np.ndarray, actual: np.ndarray, tol: Tolerance) -> str:
    if not actual.size or actual.size > 64 * expected.size + 4096:
        return ""  # empty, or far larger than expected: no sum of it is worth building
    if actual.ndim == 2 and actual.T.shape == expected.shape and _allclose(actual.T, expected, tol.rtol, tol.atol):
        return " Its transpose has the right values: a transposed weight or swapped axes?"
    for axis in range(actual.ndim):
        for keep in (True, False):
            summed = actual.sum(axis=axis, keepdims=keep)
            if summed.shape == expected.shape and _allclose(summed, expected, tol.rtol, tol.atol):
                return f" Summed over axis {axis} it would be right: a missing sum over that axis (or keepdims)?"
    if expected.ndim >= 1 and actual.ndim >= 1 and actual.size and expected.size:
        for axis in range(expected.ndim):
            summed = expected.sum(axis=axis, keepdims=True)
            if summed.shape == actual.shape:
                return f" The shape looks like a sum over axis {axis} where none belongs: a wrong sum axis?"
    return ""


def _value_hint(expected: np.ndarray, actual: np.ndarray, tol: Tolerance) -> str:
    if np.isnan(actual).any():
        return " The output contains NaN."
    if _allclose(actual, -expected, tol.rtol, tol.atol):
        return " It is the expected value with the opposite sign."
    if expected.ndim == 2 and expected.shape[0] == expected.shape[1] and _allclose(actual, expected.T, tol.rtol, tol.atol):
        return " It equals the transpose of the expected value: a transposed weight?"
    nonzero = np.abs(expected) > 1e-12
    if nonzero.any() and not nonzero.all() and _allclose(actual[nonzero], expected[nonzero], tol.rtol, tol.atol):
        return (" It is right wherever the expected value is not 0, and not 0 where it is: entries that "
                "should be zero (masked, e.g. ignored positions) are not?")
    if nonzero.sum() >= 2:
        ratio = actual[nonzero] / expected[nonzero]
        if _allclose(ratio, ratio.flat[0], rtol=1e-6) and abs(ratio.flat[0]) > 1e-12:
            return f" It is the expected value times {_fmt(ratio.flat[0])}: an extra or missing scale factor (e.g. averaging)?"
    diff = actual - expected
    for axis in range(diff.ndim):
        if diff.shape[axis] > 1 and _allclose(diff, diff.take([0], axis=axis), tol.rtol, max(tol.atol, 1e-9)) \
                and not _allclose(diff, 0, atol=tol.atol):
            return " The error is the same along an axis: a missing or wrong bias?"
    return ""


HIDDEN_DIGITS = 4  # significant digits of an expected value a hidden case's explanation shows


def _fmt_hidden(x) -> str:
    """A value of a hidden case, to HIDDEN_DIGITS significant digits: enough to see how far
    off a value is, too few to pass a tolerance of 1e-6 when copied into a next submission
    (which, at full precision, learnt one case's answer per try). Scientific notation where
    positional digits would look exact (123500 for 123456.7)."""
    try:
        x = float(x)
        if x != 0 and not 1e-3 <= abs(x) < 1e4:
            return np.format_float_scientific(x, precision=HIDDEN_DIGITS - 1, unique=False, trim="k")
        return np.format_float_positional(x, precision=HIDDEN_DIGITS, unique=False, fractional=False, trim="k")
    except (TypeError, ValueError, OverflowError):
        return repr(x)


def _magnitude(rel: float) -> str:
    """A relative error as its power of ten: with the exact figure, a value shown to four
    digits was recovered whole in two more submissions."""
    if not rel > 0 or not math.isfinite(rel):
        return f"{rel:.0e}"
    return f"about 1e{math.floor(math.log10(rel)):+03d}"


def compare(expected, actual, tol: Tolerance, name: str, exact: bool = False, sizes: dict | None = None,
            hidden: bool = False) -> str:
    """'' when actual matches expected, else one explanation sentence. `sizes` (the case's
    size arguments, e.g. n_a=5) lets a wrong shape be explained by the size it used.
    `hidden`: a hidden case, whose expected values are shown rounded (_fmt_hidden) and
    whose expected sequences (sampled indices) only at their first difference."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"`{name}`: expected a dict, got a {type(actual).__name__}"
        for key in expected:
            if key not in actual:
                return f"`{name}`: key {key!r} is missing"
            problem = compare(expected[key], actual[key], tol, f"{name}[{key!r}]", exact, sizes, hidden)
            if problem:
                return problem
        return ""
    if isinstance(expected, (list, tuple)) and not _is_numeric_seq(expected):
        if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
            return f"`{name}`: expected a sequence of {len(expected)} items, got {_kind(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            problem = compare(e, a, tol, f"{name}[{i}]", exact, sizes, hidden)
            if problem:
                return problem
        return ""
    if actual is None and expected is not None:
        return f"`{name}`: got None"
    if (isinstance(expected, np.ndarray) and isinstance(actual, (list, tuple)) and len(actual) == 1
            and isinstance(actual[0], np.ndarray) and (1, *actual[0].shape) != expected.shape):
        return (f"`{name}` is a {type(actual).__name__} holding one array of shape {actual[0].shape}, not the "
                f"array (a trailing comma, as in `return {name.split('[')[0]},`?); expected shape {expected.shape}.")
    if (type(expected) is np.ndarray and type(actual) is np.ndarray and expected.dtype == actual.dtype
            and expected.dtype.kind == "f" and expected.shape == actual.shape and not exact
            and tol.rtol >= 0 and tol.atol >= 0
            and expected.tobytes() == actual.tobytes() and not np.isnan(expected).any()):
        # the same bits (most right answers: the same operations in the same order) are
        # within any tolerance; NaN alone is not close to itself
        return ""
    try:
        exp = np.asarray(expected)
        act = np.asarray(actual)
    except Exception:
        return f"`{name}`: got {_kind(actual)}, not numbers"
    if act.dtype.kind not in "biufc":
        return f"`{name}`: got {_kind(actual)}, not numbers"
    # integer and flag outputs (counts, sampled indices) are compared exactly
    integral = isinstance(expected, (bool, int, list)) and exp.dtype.kind in "iub"
    if exact or integral:
        if exp.shape != act.shape or not np.array_equal(exp, act):
            if hidden and exp.ndim:
                return f"`{name}`: got {_short(actual)}, which differs from the expected" + _first_diff_seq(exp, act)
            return f"`{name}`: expected {_short(expected)}, got {_short(actual)}" + _first_diff_seq(exp, act)
        return ""
    if exp.shape != act.shape:
        return (f"`{name}` has shape {act.shape}; expected {exp.shape}."
                + (_size_hint(exp.shape, act.shape, sizes or {}) or _shape_hint(exp.astype(float), act.astype(float), tol)))
    exp64, act64 = exp.astype(np.float64), act.astype(np.float64)
    close = _isclose(act64, exp64, tol.rtol, tol.atol)
    if close.all():
        return ""
    bad = np.argwhere(~close)
    first = tuple(int(i) for i in bad[0]) if exp.ndim else ()
    e, a = exp64[first], act64[first]
    rel = np.max(np.abs(act64 - exp64) / np.maximum(1e-8, np.abs(act64) + np.abs(exp64)))
    where = f"at index {list(first)} " if first else ""
    if hidden:  # both to the same digits; the error as a power of ten (see _fmt_hidden, _magnitude)
        shown_e, shown_a = _fmt_hidden(e), _fmt_hidden(a)
        close_digits = (f" (the same to {HIDDEN_DIGITS} significant digits, outside the tolerance)"
                        if shown_e == shown_a else "")
        return (f"`{name}` differs {where}(expected {shown_e}, got {shown_a}{close_digits}); "
                f"{len(bad)} of {exp.size} values differ, max relative error {_magnitude(rel)}."
                + _value_hint(exp64, act64, tol))
    return (f"`{name}` differs {where}(expected {_fmt(e)}, got {_fmt(a)}); "
            f"{len(bad)} of {exp.size} values differ, max relative error {rel:.2e}."
            + _value_hint(exp64, act64, tol))


def matches(expected, actual, tol: Tolerance, name: str = "value") -> bool:
    """not compare(...), without building the explanation of a difference for two float
    arrays of one shape (the hints test dozens of candidate outputs per failing case)."""
    if (isinstance(expected, np.ndarray) and isinstance(actual, np.ndarray) and expected.shape == actual.shape
            and expected.dtype.kind == "f" and actual.dtype.kind == "f"):
        if expected.size and tol.rtol >= 0 and tol.atol >= 0:
            # most candidates a hint tries are far off: one element says so (the same
            # formula on the same float64 values, for finite ones)
            e, a = float(expected.flat[0]), float(actual.flat[0])
            if math.isfinite(e) and math.isfinite(a) and not abs(a - e) <= tol.atol + tol.rtol * abs(e):
                return False
        return bool(_isclose(actual.astype(np.float64), expected.astype(np.float64), tol.rtol, tol.atol).all())
    return not compare(expected, actual, tol, name)


def _is_numeric_seq(seq) -> bool:
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in seq)


def _kind(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def _short(value) -> str:
    # numpy's integers (np.int64 from np.random.choice) cross as 0-d arrays: shown as numbers
    scalar = lambda v: v.item() if isinstance(v, (np.ndarray, np.generic)) and np.ndim(v) == 0 else v  # noqa: E731
    text = repr([scalar(v) for v in value] if isinstance(value, (list, tuple)) else scalar(value))
    return text if len(text) < 120 else text[:117] + "..."


def _first_diff_seq(exp, act) -> str:
    if exp.ndim == 1 and act.ndim == 1:
        n = min(len(exp), len(act))
        diff = [i for i in range(n) if exp[i] != act[i]]
        if diff:
            return f" (first difference at position {diff[0]}: expected {exp[diff[0]]}, got {act[diff[0]]})"
        return f" (lengths {len(act)} and {len(exp)} differ)"
    return ""


def gradcheck_error(pair) -> float | None:
    """Relative error of a [numerical, analytical] pair reported by the sandbox, or None
    when the report is not such a pair (a reason the check was skipped)."""
    if not (isinstance(pair, list) and len(pair) == 2):
        return None
    try:
        numerical, analytical = float(pair[0]), float(pair[1])
    except (TypeError, ValueError):
        return None
    return relative_error(numerical, analytical)
