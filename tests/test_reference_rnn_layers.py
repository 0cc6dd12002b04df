"""The hidden reference of `rnn_layers` (family C, CS231n) against docs/ASSIGNMENTS.md.

* C.5 linspace checks, reproduced to the printed digits;
* C.5 seed-231 gradient checks, with the shipped helpers and the stated thresholds;
* central-difference checks (tests/gradcheck_cd.py, independent of the shipped
  helpers) of every backward unit at three sizes: N = 1, T = 1, and a larger
  non-square case, relative error < 1e-7 in float64;
* the contract of C.2/C.6: return arity, 1-D bias, single-array embedding gradient,
  zero initial cell state, arguments never mutated.
"""
from __future__ import annotations

import ast
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gradcheck_cd import assert_gradients, loss_against  # noqa: E402

from autograder.reference import load_helper, load_reference, reference_dir  # noqa: E402

GRADED = (
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "word_embedding_forward", "word_embedding_backward",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
)

# Three sizes for every central-difference check: batch of one, a single time step,
# and a larger case where no two of N, T, D, H are equal.
SIZES = [
    pytest.param(dict(N=1, T=4, D=3, H=5), id="N1"),
    pytest.param(dict(N=2, T=1, D=3, H=4), id="T1"),
    pytest.param(dict(N=3, T=5, D=4, H=6), id="N3T5D4H6"),
]


@pytest.fixture(scope="module")
def ns():
    return load_reference("rnn_layers")


@pytest.fixture(scope="module")
def h():
    return load_helper("rnn_layers", "rnn_layers_utils")


def linspace(lo, hi, shape):
    return np.linspace(lo, hi, num=int(np.prod(shape))).reshape(shape)


def assert_printed(actual, expected):
    """Equal to the printed (8-decimal) values: off by at most half a unit in the 8th decimal."""
    expected = np.asarray(expected, dtype=np.float64)
    assert np.shape(actual) == expected.shape
    diff = np.max(np.abs(np.asarray(actual) - expected))
    assert diff <= 0.5e-8 * (1 + 1e-6), diff


# ----------------------------------------------------------------------- the file
def test_solution_file_layout():
    source = (reference_dir("rnn_layers") / "solution.py").read_text()
    assert source.splitlines()[:2] == ["import numpy as np", "from rnn_layers_utils import *"]
    tree = ast.parse(source)
    defs = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert tuple(defs) == GRADED
    for node in tree.body[2:]:
        assert isinstance(node, ast.FunctionDef), ast.dump(node)[:80]
        assert ast.get_docstring(node), node.name


def test_helper_names(h, ns):
    for name in ("sigmoid", "temporal_affine_forward", "temporal_affine_backward",
                 "temporal_softmax_loss", "rel_error", "eval_numerical_gradient",
                 "eval_numerical_gradient_array"):
        assert callable(getattr(h, name)), name
        # `from rnn_layers_utils import *` puts them in the solution's namespace.
        assert callable(getattr(ns, name)), name


# ------------------------------------------------------------- C.5 linspace checks
def test_rnn_step_forward_linspace(ns):
    N, D, H = 3, 10, 4
    x = linspace(-0.4, 0.7, (N, D))
    prev_h = linspace(-0.2, 0.5, (N, H))
    Wx = linspace(-0.1, 0.9, (D, H))
    Wh = linspace(-0.3, 0.7, (H, H))
    b = np.linspace(-0.2, 0.4, num=H)
    next_h, _ = ns.rnn_step_forward(x, prev_h, Wx, Wh, b)
    assert_printed(next_h, [
        [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
        [0.66854692, 0.79562378, 0.87755553, 0.92795967],
        [0.97934501, 0.99144213, 0.99646691, 0.99854353]])


def test_rnn_forward_linspace(ns):
    N, T, D, H = 2, 3, 4, 5
    x = linspace(-0.1, 0.3, (N, T, D))
    h0 = linspace(-0.3, 0.1, (N, H))
    Wx = linspace(-0.2, 0.4, (D, H))
    Wh = linspace(-0.4, 0.1, (H, H))
    b = np.linspace(-0.7, 0.1, num=H)
    hs, _ = ns.rnn_forward(x, h0, Wx, Wh, b)
    assert_printed(hs, [
        [[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
         [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
         [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
        [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
         [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
         [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]])


def test_word_embedding_forward_linspace(ns):
    N, T, V, D = 2, 4, 5, 3
    x = np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]])
    W = linspace(0, 1, (V, D))
    out, _ = ns.word_embedding_forward(x, W)
    assert_printed(out[0], [
        [0, 0.07142857, 0.14285714],
        [0.64285714, 0.71428571, 0.78571429],
        [0.21428571, 0.28571429, 0.35714286],
        [0.42857143, 0.5, 0.57142857]])
    # Every row, not only the printed one, is the looked-up word vector.
    np.testing.assert_array_equal(out, W[x])
    assert out.shape == (N, T, D)


def test_lstm_step_forward_linspace(ns):
    N, D, H = 3, 4, 5
    x = linspace(-0.4, 1.2, (N, D))
    prev_h = linspace(-0.3, 0.7, (N, H))
    prev_c = linspace(-0.4, 0.9, (N, H))
    Wx = linspace(-2.1, 1.3, (D, 4 * H))
    Wh = linspace(-0.7, 2.2, (H, 4 * H))
    b = np.linspace(0.3, 0.7, num=4 * H)
    next_h, next_c, _ = ns.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    assert_printed(next_h, [
        [0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
        [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
        [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]])
    assert_printed(next_c, [
        [0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
        [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
        [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]])


def test_lstm_forward_linspace(ns):
    N, D, H, T = 2, 5, 4, 3
    x = linspace(-0.4, 0.6, (N, T, D))
    h0 = linspace(-0.4, 0.8, (N, H))
    Wx = linspace(-0.2, 0.9, (D, 4 * H))
    Wh = linspace(-0.3, 0.6, (H, 4 * H))
    b = np.linspace(0.2, 0.7, num=4 * H)
    hs, _ = ns.lstm_forward(x, h0, Wx, Wh, b)
    assert_printed(hs, [
        [[0.01764008, 0.01823233, 0.01882671, 0.0194232],
         [0.11287491, 0.12146228, 0.13018446, 0.13902939],
         [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
        [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
         [0.6704845, 0.69350089, 0.71486014, 0.7346449],
         [0.81733511, 0.83677871, 0.85403753, 0.86935314]]])


def test_lstm_forward_starts_from_zero_cell(ns):
    """lstm_forward equals chaining lstm_step_forward from c = 0 (C.6)."""
    rng = np.random.RandomState(5)
    N, T, D, H = 2, 3, 4, 5
    x, h0 = rng.randn(N, T, D), rng.randn(N, H)
    Wx, Wh, b = rng.randn(D, 4 * H), rng.randn(H, 4 * H), rng.randn(4 * H)
    hs, _ = ns.lstm_forward(x, h0, Wx, Wh, b)
    h_t, c_t = h0, np.zeros((N, H))
    for t in range(T):
        h_t, c_t, _ = ns.lstm_step_forward(x[:, t], h_t, c_t, Wx, Wh, b)
        np.testing.assert_allclose(hs[:, t], h_t, rtol=0, atol=1e-15)


# ------------------------------------------------------- temporal_softmax_loss (C.3)
def test_temporal_softmax_loss_sanity(h):
    rng = np.random.RandomState(0)

    def check(N, T, V, p):
        x = 0.001 * rng.randn(N, T, V)
        y = rng.randint(V, size=(N, T))
        mask = rng.rand(N, T) <= p
        return h.temporal_softmax_loss(x, y, mask)[0]

    # Near-uniform scores: each unmasked position costs about log(V); divided by N only.
    assert abs(check(100, 1, 10, 1.0) - np.log(10)) < 0.01        # ~2.3
    assert abs(check(100, 10, 10, 1.0) - 10 * np.log(10)) < 0.05  # ~23
    assert 2.2 <= check(5000, 10, 10, 0.1) <= 2.4                  # 10 % of the positions


def test_temporal_softmax_loss_exact(h):
    """Loss = -sum(mask * log p[target]) / N, dx zero on masked-out positions."""
    rng = np.random.RandomState(1)
    N, T, V = 3, 4, 5
    x = rng.randn(N, T, V)
    y = rng.randint(V, size=(N, T))
    mask = rng.rand(N, T) > 0.4
    x_before = x.copy()
    loss, dx = h.temporal_softmax_loss(x, y, mask)
    p = np.exp(x) / np.exp(x).sum(axis=2, keepdims=True)
    expected = -sum(np.log(p[n, t, y[n, t]]) for n in range(N) for t in range(T) if mask[n, t]) / N
    assert abs(loss - expected) < 1e-12
    assert np.all(dx[~mask] == 0)
    onehot = np.eye(V)[y]
    np.testing.assert_allclose(dx[mask], ((p - onehot) / N)[mask], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(x, x_before)
    # Large scores must not overflow.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        big_loss, big_dx = h.temporal_softmax_loss(1e4 * x, y, mask)
    assert np.isfinite(big_loss) and np.all(np.isfinite(big_dx))


def test_temporal_softmax_loss_gradcheck_published(h):
    """C.5: N, T, V = 7, 8, 9, mask = rand > 0.5, dx error ~1e-7."""
    rng = np.random.RandomState(231)
    N, T, V = 7, 8, 9
    x = 0.001 * rng.randn(N, T, V)
    y = rng.randint(V, size=(N, T))
    mask = rng.rand(N, T) > 0.5
    loss, dx = h.temporal_softmax_loss(x, y, mask, verbose=False)
    dx_num = h.eval_numerical_gradient(lambda x: h.temporal_softmax_loss(x, y, mask)[0], x,
                                       verbose=False)
    assert h.rel_error(dx, dx_num) < 1e-7
    # And with the independent central differences.
    assert_gradients(lambda: h.temporal_softmax_loss(x, y, mask)[0], {"x": (x, dx)})


def test_temporal_affine_cd(h):
    rng = np.random.RandomState(3)
    N, T, D, M = 3, 5, 4, 6
    x, w, b = rng.randn(N, T, D), rng.randn(D, M), rng.randn(M)
    out, cache = h.temporal_affine_forward(x, w, b)
    assert out.shape == (N, T, M)
    dout = rng.randn(N, T, M)
    dx, dw, db = h.temporal_affine_backward(dout, cache)
    loss = loss_against(dout)
    assert_gradients(lambda: loss(h.temporal_affine_forward(x, w, b)[0]),
                     {"x": (x, dx), "w": (w, dw), "b": (b, db)})


# -------------------------------------------------------------- the shipped helpers
def test_sigmoid_is_stable(h):
    z = np.array([-1000.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = h.sigmoid(z)
    np.testing.assert_allclose(s[1:-1], 1 / (1 + np.exp(-z[1:-1])), rtol=1e-15)
    assert s[0] == 0.0 and s[-1] == 1.0
    assert h.sigmoid(np.float32(2.0)).dtype == np.float32
    assert abs(float(h.sigmoid(0.0)) - 0.5) < 1e-16


def test_rel_error(h):
    assert h.rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert abs(h.rel_error(np.array([1.0, 0.0]), np.array([3.0, 0.0])) - 0.5) < 1e-15
    # Tiny values are measured against 1e-8, not against themselves.
    assert h.rel_error(np.array([1e-12]), np.array([0.0])) == pytest.approx(1e-4)


def test_numerical_gradient_helpers(h, capsys):
    rng = np.random.RandomState(4)
    x = rng.randn(3, 4)
    x_before = x.copy()
    grad = h.eval_numerical_gradient(lambda v: np.sum(v ** 3), x, verbose=False)
    # Exact up to the truncation term h^2 f'''/6 = 1e-10 and rounding (~1e-11).
    np.testing.assert_allclose(grad, 3 * x ** 2, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(x, x_before)  # restored after perturbation
    assert capsys.readouterr().out == ""
    h.eval_numerical_gradient(lambda v: np.sum(v), x[:1, :2].copy(), verbose=True)
    assert capsys.readouterr().out.count("\n") == 2

    df = rng.randn(3, 4)
    grad = h.eval_numerical_gradient_array(lambda v: np.sin(v), x, df)
    np.testing.assert_allclose(grad, np.cos(x) * df, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(x, x_before)

    # An f that returns the same (overwritten) buffer each call must still work.
    buf = np.empty_like(x)

    def f_inplace(v):
        np.multiply(v, 2.0, out=buf)
        return buf
    grad = h.eval_numerical_gradient_array(f_inplace, x, df)
    np.testing.assert_allclose(grad, 2 * df, rtol=0, atol=1e-9)


# ------------------------------------------------- C.5 seed-231 gradient checks
def test_rnn_step_backward_published(ns, h):
    rng = np.random.RandomState(231)
    N, D, H = 4, 5, 6
    x, prev_h = rng.randn(N, D), rng.randn(N, H)
    Wx, Wh, b = rng.randn(D, H), rng.randn(H, H), rng.randn(H)
    out, cache = ns.rnn_step_forward(x, prev_h, Wx, Wh, b)
    dnext_h = rng.randn(*out.shape)
    num = h.eval_numerical_gradient_array
    dx_num = num(lambda x: ns.rnn_step_forward(x, prev_h, Wx, Wh, b)[0], x, dnext_h)
    dh_num = num(lambda prev_h: ns.rnn_step_forward(x, prev_h, Wx, Wh, b)[0], prev_h, dnext_h)
    dWx_num = num(lambda Wx: ns.rnn_step_forward(x, prev_h, Wx, Wh, b)[0], Wx, dnext_h)
    dWh_num = num(lambda Wh: ns.rnn_step_forward(x, prev_h, Wx, Wh, b)[0], Wh, dnext_h)
    db_num = num(lambda b: ns.rnn_step_forward(x, prev_h, Wx, Wh, b)[0], b, dnext_h)
    dx, dprev_h, dWx, dWh, db = ns.rnn_step_backward(dnext_h, cache)
    for analytic, numeric in ((dx, dx_num), (dprev_h, dh_num), (dWx, dWx_num),
                              (dWh, dWh_num), (db, db_num)):
        assert h.rel_error(analytic, numeric) < 1e-8  # stated: ~1e-8
    assert db.shape == (H,)


def test_rnn_backward_published(ns, h):
    rng = np.random.RandomState(231)
    N, D, T, H = 2, 3, 10, 5
    x, h0 = rng.randn(N, T, D), rng.randn(N, H)
    Wx, Wh, b = rng.randn(D, H), rng.randn(H, H), rng.randn(H)
    out, cache = ns.rnn_forward(x, h0, Wx, Wh, b)
    dout = rng.randn(*out.shape)
    dx, dh0, dWx, dWh, db = ns.rnn_backward(dout, cache)
    num = h.eval_numerical_gradient_array
    fwd = ns.rnn_forward
    checks = (
        (dx, num(lambda x: fwd(x, h0, Wx, Wh, b)[0], x, dout)),
        (dh0, num(lambda h0: fwd(x, h0, Wx, Wh, b)[0], h0, dout)),
        (dWx, num(lambda Wx: fwd(x, h0, Wx, Wh, b)[0], Wx, dout)),
        (dWh, num(lambda Wh: fwd(x, h0, Wx, Wh, b)[0], Wh, dout)),
        (db, num(lambda b: fwd(x, h0, Wx, Wh, b)[0], b, dout)),
    )
    for analytic, numeric in checks:
        assert h.rel_error(analytic, numeric) < 1e-6  # stated: ~1e-6


def test_word_embedding_backward_published(ns, h):
    rng = np.random.RandomState(231)
    N, T, V, D = 50, 3, 5, 6
    x = rng.randint(V, size=(N, T))
    W = rng.randn(V, D)
    out, cache = ns.word_embedding_forward(x, W)
    dout = rng.randn(*out.shape)
    dW = ns.word_embedding_backward(dout, cache)
    assert isinstance(dW, np.ndarray) and dW.shape == (V, D)  # one array, not a tuple
    dW_num = h.eval_numerical_gradient_array(lambda W: ns.word_embedding_forward(x, W)[0], W, dout)
    assert h.rel_error(dW, dW_num) < 1e-11  # stated: ~1e-11


def test_temporal_affine_backward_published(h):
    rng = np.random.RandomState(231)
    N, T, D, M = 2, 3, 4, 5
    x, w, b = rng.randn(N, T, D), rng.randn(D, M), rng.randn(M)
    out, cache = h.temporal_affine_forward(x, w, b)
    dout = rng.randn(*out.shape)
    num = h.eval_numerical_gradient_array
    fwd = h.temporal_affine_forward
    dx_num = num(lambda x: fwd(x, w, b)[0], x, dout)
    dw_num = num(lambda w: fwd(x, w, b)[0], w, dout)
    db_num = num(lambda b: fwd(x, w, b)[0], b, dout)
    dx, dw, db = h.temporal_affine_backward(dout, cache)
    for analytic, numeric in ((dx, dx_num), (dw, dw_num), (db, db_num)):
        assert h.rel_error(analytic, numeric) < 1e-9  # stated: ~1e-9


def test_lstm_step_backward_published(ns, h):
    rng = np.random.RandomState(231)
    N, D, H = 4, 5, 6
    x, prev_h, prev_c = rng.randn(N, D), rng.randn(N, H), rng.randn(N, H)
    Wx, Wh, b = rng.randn(D, 4 * H), rng.randn(H, 4 * H), rng.randn(4 * H)
    next_h, next_c, cache = ns.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    dnext_h, dnext_c = rng.randn(*next_h.shape), rng.randn(*next_c.shape)
    num = h.eval_numerical_gradient_array
    fwd = ns.lstm_step_forward
    args = {"x": x, "prev_h": prev_h, "prev_c": prev_c, "Wx": Wx, "Wh": Wh, "b": b}

    def numeric(name):
        # The lambdas read `args`, whose arrays the helper perturbs in place.
        fh = lambda _: fwd(**args)[0]  # noqa: E731
        fc = lambda _: fwd(**args)[1]  # noqa: E731
        return num(fh, args[name], dnext_h) + num(fc, args[name], dnext_c)

    grads = dict(zip(("x", "prev_h", "prev_c", "Wx", "Wh", "b"),
                     ns.lstm_step_backward(dnext_h, dnext_c, cache)))
    for name, analytic in grads.items():
        assert h.rel_error(analytic, numeric(name)) < 1e-7, name  # stated: ~1e-7


def test_lstm_backward_published(ns, h):
    rng = np.random.RandomState(231)
    N, D, T, H = 2, 3, 10, 6
    x, h0 = rng.randn(N, T, D), rng.randn(N, H)
    Wx, Wh, b = rng.randn(D, 4 * H), rng.randn(H, 4 * H), rng.randn(4 * H)
    out, cache = ns.lstm_forward(x, h0, Wx, Wh, b)
    dout = rng.randn(*out.shape)
    dx, dh0, dWx, dWh, db = ns.lstm_backward(dout, cache)
    num = h.eval_numerical_gradient_array
    fwd = ns.lstm_forward
    errors = {
        "dx": h.rel_error(dx, num(lambda x: fwd(x, h0, Wx, Wh, b)[0], x, dout)),
        "dh0": h.rel_error(dh0, num(lambda h0: fwd(x, h0, Wx, Wh, b)[0], h0, dout)),
        "dWx": h.rel_error(dWx, num(lambda Wx: fwd(x, h0, Wx, Wh, b)[0], Wx, dout)),
        "dWh": h.rel_error(dWh, num(lambda Wh: fwd(x, h0, Wx, Wh, b)[0], Wh, dout)),
        "db": h.rel_error(db, num(lambda b: fwd(x, h0, Wx, Wh, b)[0], b, dout)),
    }
    # stated: ~1e-8, dWh up to ~1e-6 (here 1.2e-6: a few entries of dWh are ~1e-5,
    # where the two-point difference at h = 1e-5 is limited by the loss's rounding).
    limits = {"dx": 1e-7, "dh0": 1e-7, "dWx": 1e-7, "dWh": 5e-6, "db": 1e-7}
    assert all(errors[k] < limits[k] for k in errors), errors
    # The fourth-order stencil confirms dWh itself to < 1e-7.
    loss = loss_against(dout)
    assert_gradients(lambda: loss(fwd(x, h0, Wx, Wh, b)[0]), {"Wh": (Wh, dWh)})


# -------------------------------------- central differences at three sizes (< 1e-7)
def _rnn_params(rng, D, H, gates=1):
    # Scaled so that tanh/sigmoid stay out of saturation and every entry of the
    # gradient is well above the 1e-8 floor of the relative error.
    return (0.5 * rng.randn(D, gates * H), 0.5 * rng.randn(H, gates * H),
            0.5 * rng.randn(gates * H))


@pytest.mark.parametrize("size", SIZES)
def test_rnn_step_backward_cd(ns, size):
    N, D, H = size["N"], size["D"], size["H"]
    rng = np.random.RandomState(10 + N)
    x, prev_h = rng.randn(N, D), rng.randn(N, H)
    Wx, Wh, b = _rnn_params(rng, D, H)
    out, cache = ns.rnn_step_forward(x, prev_h, Wx, Wh, b)
    dnext_h = rng.randn(N, H)
    grads = ns.rnn_step_backward(dnext_h, cache)
    assert [g.shape for g in grads] == [(N, D), (N, H), (D, H), (H, H), (H,)]
    loss = loss_against(dnext_h)
    assert_gradients(lambda: loss(ns.rnn_step_forward(x, prev_h, Wx, Wh, b)[0]),
                     dict(zip(("x", "prev_h", "Wx", "Wh", "b"),
                              zip((x, prev_h, Wx, Wh, b), grads))))


@pytest.mark.parametrize("size", SIZES)
def test_rnn_backward_cd(ns, size):
    N, T, D, H = size["N"], size["T"], size["D"], size["H"]
    rng = np.random.RandomState(20 + N + T)
    x, h0 = rng.randn(N, T, D), rng.randn(N, H)
    Wx, Wh, b = _rnn_params(rng, D, H)
    out, cache = ns.rnn_forward(x, h0, Wx, Wh, b)
    assert out.shape == (N, T, H)
    dout = rng.randn(N, T, H)
    grads = ns.rnn_backward(dout, cache)
    assert [g.shape for g in grads] == [(N, T, D), (N, H), (D, H), (H, H), (H,)]
    loss = loss_against(dout)
    assert_gradients(lambda: loss(ns.rnn_forward(x, h0, Wx, Wh, b)[0]),
                     dict(zip(("x", "h0", "Wx", "Wh", "b"), zip((x, h0, Wx, Wh, b), grads))))


@pytest.mark.parametrize("size", SIZES)
def test_word_embedding_backward_cd(ns, size):
    N, T, D = size["N"], size["T"], size["D"]
    V = 7
    rng = np.random.RandomState(30 + N + T)
    # Force a repeated index so that accumulation is exercised at every size.
    x = rng.randint(V, size=(N, T))
    x.flat[0] = 2
    x = np.concatenate([x, np.full((N, 1), 2)], axis=1)
    W = rng.randn(V, D)
    out, cache = ns.word_embedding_forward(x, W)
    dout = rng.randn(*out.shape)
    dW = ns.word_embedding_backward(dout, cache)
    assert isinstance(dW, np.ndarray) and dW.shape == (V, D)
    loss = loss_against(dout)
    assert_gradients(lambda: loss(ns.word_embedding_forward(x, W)[0]), {"W": (W, dW)})
    # Rows of words that never occur get exactly zero.
    unused = np.setdiff1d(np.arange(V), x)
    assert np.all(dW[unused] == 0)


@pytest.mark.parametrize("size", SIZES)
def test_lstm_step_backward_cd(ns, size):
    N, D, H = size["N"], size["D"], size["H"]
    rng = np.random.RandomState(40 + N)
    x, prev_h, prev_c = rng.randn(N, D), rng.randn(N, H), rng.randn(N, H)
    Wx, Wh, b = _rnn_params(rng, D, H, gates=4)
    next_h, next_c, cache = ns.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    dnext_h, dnext_c = rng.randn(N, H), rng.randn(N, H)
    grads = ns.lstm_step_backward(dnext_h, dnext_c, cache)
    assert [g.shape for g in grads] == [(N, D), (N, H), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,)]
    loss_h, loss_c = loss_against(dnext_h), loss_against(dnext_c)

    def f():
        nh, nc, _ = ns.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
        return loss_h(nh) + loss_c(nc)

    assert_gradients(f, dict(zip(("x", "prev_h", "prev_c", "Wx", "Wh", "b"),
                                 zip((x, prev_h, prev_c, Wx, Wh, b), grads))))


@pytest.mark.parametrize("size", SIZES)
def test_lstm_backward_cd(ns, size):
    N, T, D, H = size["N"], size["T"], size["D"], size["H"]
    rng = np.random.RandomState(50 + N + T)
    x, h0 = rng.randn(N, T, D), rng.randn(N, H)
    Wx, Wh, b = _rnn_params(rng, D, H, gates=4)
    out, cache = ns.lstm_forward(x, h0, Wx, Wh, b)
    assert out.shape == (N, T, H)
    dout = rng.randn(N, T, H)
    grads = ns.lstm_backward(dout, cache)
    assert len(grads) == 5  # no dc0 (C.6)
    assert [g.shape for g in grads] == [(N, T, D), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,)]
    loss = loss_against(dout)
    assert_gradients(lambda: loss(ns.lstm_forward(x, h0, Wx, Wh, b)[0]),
                     dict(zip(("x", "h0", "Wx", "Wh", "b"), zip((x, h0, Wx, Wh, b), grads))))


# --------------------------------------------------------- arguments never mutated
def test_no_argument_is_mutated(ns):
    rng = np.random.RandomState(60)
    N, T, D, H, V = 2, 3, 4, 5, 6

    def frozen(*arrays):
        for a in arrays:
            a.setflags(write=False)  # any in-place write raises
        return arrays

    x, h0 = frozen(rng.randn(N, T, D), rng.randn(N, H))
    Wx, Wh, b = frozen(rng.randn(D, H), rng.randn(H, H), rng.randn(H))
    out, cache = ns.rnn_forward(x, h0, Wx, Wh, b)
    ns.rnn_backward(*frozen(rng.randn(N, T, H)), cache)
    step_h, step_cache = ns.rnn_step_forward(x[:, 0], h0, Wx, Wh, b)
    ns.rnn_step_backward(*frozen(rng.randn(N, H)), step_cache)

    idx, W = frozen(rng.randint(V, size=(N, T)), rng.randn(V, D))
    out, cache = ns.word_embedding_forward(idx, W)
    ns.word_embedding_backward(*frozen(rng.randn(N, T, D)), cache)

    c0 = frozen(rng.randn(N, H))[0]
    Wx4, Wh4, b4 = frozen(rng.randn(D, 4 * H), rng.randn(H, 4 * H), rng.randn(4 * H))
    next_h, next_c, cache = ns.lstm_step_forward(x[:, 0], h0, c0, Wx4, Wh4, b4)
    # The classic bug is `dnext_c += ...` inside lstm_step_backward (C.6).
    ns.lstm_step_backward(*frozen(rng.randn(N, H), rng.randn(N, H)), cache)
    out, cache = ns.lstm_forward(x, h0, Wx4, Wh4, b4)
    ns.lstm_backward(*frozen(rng.randn(N, T, H)), cache)


def test_float32_inputs_stay_float32(ns):
    """CaptioningRNN trains in float32 (C.6): the layers keep the input dtype."""
    rng = np.random.RandomState(61)
    N, T, D, H = 2, 3, 4, 5
    f32 = lambda *s: rng.randn(*s).astype(np.float32)  # noqa: E731
    x, h0 = f32(N, T, D), f32(N, H)
    hs, cache = ns.rnn_forward(x, h0, f32(D, H), f32(H, H), f32(H))
    assert hs.dtype == np.float32
    assert all(g.dtype == np.float32 for g in ns.rnn_backward(f32(N, T, H), cache))
    hs, cache = ns.lstm_forward(x, h0, f32(D, 4 * H), f32(H, 4 * H), f32(4 * H))
    assert hs.dtype == np.float32
    assert all(g.dtype == np.float32 for g in ns.lstm_backward(f32(N, T, H), cache))
