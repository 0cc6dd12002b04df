"""The hidden reference of `time_layers` (family D, Deep Learning from Scratch 2)
against docs/ASSIGNMENTS.md.

* D.3 values (seeds 0, 1, 2, float32 inputs) to the printed digits, float32 precision;
* the D.0/D.1 contract: params/grads lists, gradients written in place, float32
  outputs, TimeEmbedding.backward -> None, stateful/set_state/reset_state,
  TimeSoftmaxWithLoss.ignore_label;
* central-difference checks (tests/gradcheck_cd.py) of every backward at three
  sizes (N = 1, T = 1, a larger non-square case), relative error < 1e-7 in float64.

Precision of the gradient checks. The cells (RNN, LSTM, Embedding) and TimeAffine /
TimeSoftmaxWithLoss keep the dtype of their inputs, so with float64 arrays they are
checked directly. TimeRNN, TimeLSTM and TimeEmbedding store hs / dxs / out in float32
arrays (dtype 'f', as the book does), so a float64 difference quotient of their own
output would only measure float32 rounding. For them the numeric gradient is taken of
the float64 composition of per-step cells, and the layer is tied to that composition:
its parameter gradients and `dh` are float64 and are compared with the numeric
gradient directly (< 1e-7); its hs / dxs / out are shown to be *exactly* the float32
rounding of the float64 composition, whose own gradients pass < 1e-7. Together this
proves hs / dxs correct to float32 precision (relative 2**-24), and no better.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gradcheck_cd import assert_gradients, loss_against, rel_error  # noqa: E402

from autograder.reference import load_helper, load_reference, reference_dir  # noqa: E402

CLASSES = ("RNN", "TimeRNN", "TimeEmbedding", "TimeAffine", "TimeSoftmaxWithLoss",
           "LSTM", "TimeLSTM")

SIZES = [
    pytest.param(dict(N=1, T=4, D=3, H=5), id="N1"),
    pytest.param(dict(N=2, T=1, D=3, H=4), id="T1"),
    pytest.param(dict(N=3, T=5, D=4, H=6), id="N3T5D4H6"),
]

F32_RTOL = 1e-6   # float32 results against values printed from another float32 run
F32_ATOL = 1e-7


@pytest.fixture(scope="module")
def ns():
    return load_reference("time_layers")


@pytest.fixture(scope="module")
def hc():
    return load_helper("time_layers", "time_layers_common")


def params(rng, D, H, gates=1):
    # Scaled so that tanh/sigmoid are not saturated (every gradient entry matters).
    return (0.5 * rng.randn(D, gates * H), 0.5 * rng.randn(H, gates * H),
            0.5 * rng.randn(gates * H))


def compose_rnn(ns, xs, h0, Wx, Wh, b):
    """Float64 reference path: one RNN cell per step, outputs kept in the input dtype."""
    cells, h, hs = [], h0, []
    for t in range(xs.shape[1]):
        cell = ns.RNN(Wx, Wh, b)
        h = cell.forward(xs[:, t, :], h)
        cells.append(cell)
        hs.append(h)
    return np.stack(hs, axis=1), cells


def compose_lstm(ns, xs, h0, c0, Wx, Wh, b):
    cells, h, c, hs = [], h0, c0, []
    for t in range(xs.shape[1]):
        cell = ns.LSTM(Wx, Wh, b)
        h, c = cell.forward(xs[:, t, :], h, c)
        cells.append(cell)
        hs.append(h)
    return np.stack(hs, axis=1), cells


# ----------------------------------------------------------------------- the file
def test_solution_file_layout():
    source = (reference_dir("time_layers") / "solution.py").read_text()
    assert source.splitlines()[:2] == ["import numpy as np", "from time_layers_common import *"]
    tree = ast.parse(source)
    classes = [node for node in tree.body[2:]]
    assert all(isinstance(node, ast.ClassDef) for node in classes)
    assert tuple(node.name for node in classes) == CLASSES
    for node in classes:
        assert ast.get_docstring(node), node.name
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name in ("forward", "backward"):
                assert ast.get_docstring(item), f"{node.name}.{item.name}"


def test_helpers_importable_into_solution(ns, hc):
    for name in ("Embedding", "SoftmaxWithLoss", "softmax", "sigmoid", "cross_entropy_error"):
        assert getattr(hc, name) is not None
        assert getattr(ns, name) is not None, name


# ------------------------------------------------------------------ D.3 values
def test_time_rnn_published(ns):
    np.random.seed(0)
    N, T, D, H = 2, 3, 4, 5
    Wx = np.random.randn(D, H).astype('f')
    Wh = np.random.randn(H, H).astype('f')
    b = np.random.randn(H).astype('f')
    xs = np.random.randn(N, T, D).astype('f')
    layer = ns.TimeRNN(Wx, Wh, b)
    hs = layer.forward(xs)
    dhs = np.random.randn(N, T, H).astype('f')
    dxs = layer.backward(dhs)
    assert hs.dtype == dxs.dtype == np.float32
    close = dict(rtol=F32_RTOL, atol=F32_ATOL)
    np.testing.assert_allclose(hs[1, 2], [0.99964786, -0.9294681, 0.99830216, -0.76930076, 0.7463819], **close)
    np.testing.assert_allclose(dxs[0, 0], [-2.1506464, 0.15592614, -1.4379534, 0.5645404], **close)
    np.testing.assert_allclose(layer.grads[2], [-0.19992137, -0.46363717, 0.70603895, -0.49834383, -0.89735734], **close)
    np.testing.assert_allclose(layer.dh[0], [-2.078429, -0.0409019, 1.6358798, -2.0267868, 3.0961268], **close)


def test_time_lstm_published(ns):
    np.random.seed(1)
    N, T, D, H = 2, 3, 4, 5
    Wx = np.random.randn(D, 4 * H).astype('f')
    Wh = np.random.randn(H, 4 * H).astype('f')
    b = np.random.randn(4 * H).astype('f')
    xs = np.random.randn(N, T, D).astype('f')
    layer = ns.TimeLSTM(Wx, Wh, b)
    hs = layer.forward(xs)
    dhs = np.random.randn(N, T, H).astype('f')
    dxs = layer.backward(dhs)
    assert hs.dtype == dxs.dtype == np.float32
    close = dict(rtol=F32_RTOL, atol=F32_ATOL)
    np.testing.assert_allclose(hs[1, 2], [-0.04286648, 0.02306523, 0.28266603, 0.84290755, 0.5365357], **close)
    np.testing.assert_allclose(dxs[0, 0], [0.07607721, -0.18924695, -0.09208352, -0.30407646], **close)
    np.testing.assert_allclose(layer.dh[0], [-0.00510773, 0.24345614, 0.19397967, -0.4654919, 0.23926578], **close)


def test_time_softmax_with_loss_published(ns):
    np.random.seed(2)
    xs = np.random.randn(2, 3, 6).astype('f')
    ts = np.array([[0, 1, -1], [5, 2, 3]])
    loss = ns.TimeSoftmaxWithLoss().forward(xs, ts)
    assert abs(float(loss) - 2.6760120391845703) <= 2.6760120391845703 * F32_RTOL


# ----------------------------------------------------------- params / grads in place
def _run(layer, kind, rng, N=2, T=3, D=4, H=5):
    """One forward + backward of `layer`; returns what backward returned."""
    if kind == "RNN":
        layer.forward(rng.randn(N, D), rng.randn(N, H))
        return layer.backward(rng.randn(N, H))
    if kind == "LSTM":
        layer.forward(rng.randn(N, D), rng.randn(N, H), rng.randn(N, H))
        return layer.backward(rng.randn(N, H), rng.randn(N, H))
    if kind in ("TimeRNN", "TimeLSTM"):
        layer.forward(rng.randn(N, T, D))
        return layer.backward(rng.randn(N, T, H))
    if kind == "TimeEmbedding":
        layer.forward(rng.randint(layer.W.shape[0], size=(N, T)))
        return layer.backward(rng.randn(N, T, layer.W.shape[1]))
    if kind == "TimeAffine":
        layer.forward(rng.randn(N, T, D))
        return layer.backward(rng.randn(N, T, layer.params[0].shape[1]))
    raise KeyError(kind)


def _make(ns, kind, rng, D=4, H=5, V=7):
    if kind in ("RNN", "TimeRNN"):
        return getattr(ns, kind)(*params(rng, D, H))
    if kind in ("LSTM", "TimeLSTM"):
        return getattr(ns, kind)(*params(rng, D, H, gates=4))
    if kind == "TimeEmbedding":
        return ns.TimeEmbedding(rng.randn(V, D))
    if kind == "TimeAffine":
        return ns.TimeAffine(rng.randn(D, H), rng.randn(H))
    raise KeyError(kind)


@pytest.mark.parametrize("kind", ["RNN", "TimeRNN", "LSTM", "TimeLSTM", "TimeEmbedding", "TimeAffine"])
def test_grads_written_in_place(ns, kind):
    rng = np.random.RandomState(7)
    layer = _make(ns, kind, rng)
    params_before = list(layer.params)
    grads_before = list(layer.grads)
    assert len(layer.params) == len(layer.grads)
    for p, g in zip(layer.params, layer.grads):
        assert g.shape == p.shape and g.dtype == p.dtype and not np.shares_memory(p, g)
    _run(layer, kind, rng)
    first = [g.copy() for g in layer.grads]
    assert all(np.any(g != 0) for g in first)
    assert all(a is b for a, b in zip(layer.grads, grads_before))
    assert all(a is b for a, b in zip(layer.params, params_before))
    # A second pass overwrites (does not accumulate into) the same arrays.
    _run(layer, kind, np.random.RandomState(7 + 1))
    assert all(a is b for a, b in zip(layer.grads, grads_before))
    assert not all(np.array_equal(a, b) for a, b in zip(first, layer.grads))


def test_time_layers_share_params_with_cells(ns):
    rng = np.random.RandomState(8)
    for kind, cell in (("TimeRNN", ns.RNN), ("TimeLSTM", ns.LSTM)):
        layer = _make(ns, kind, rng)
        layer.forward(rng.randn(2, 3, 4))
        assert len(layer.layers) == 3
        for step in layer.layers:
            assert isinstance(step, cell)
            assert all(a is b for a, b in zip(step.params, layer.params))
    emb = _make(ns, "TimeEmbedding", rng)
    emb.forward(rng.randint(7, size=(2, 3)))
    assert len(emb.layers) == 3
    assert all(isinstance(step, ns.Embedding) and step.params[0] is emb.W for step in emb.layers)


def test_embedding_backward_returns_none(ns, hc):
    rng = np.random.RandomState(9)
    W = rng.randn(6, 3)
    layer = ns.TimeEmbedding(W)
    out = layer.forward(np.array([[1, 2, 1], [5, 1, 0]]))
    assert out.dtype == np.float32 and out.shape == (2, 3, 3)
    assert layer.backward(rng.randn(2, 3, 3)) is None
    cell = hc.Embedding(W)
    cell.forward(np.array([1, 1, 4]))
    assert cell.backward(rng.randn(3, 3)) is None


def test_cache_layouts(ns):
    """D.1: RNN cache (x, h_prev, h_next); LSTM cache (x, h_prev, c_prev, i, f, g, o, c_next)."""
    rng = np.random.RandomState(10)
    N, D, H = 2, 3, 4
    x, h_prev, c_prev = rng.randn(N, D), rng.randn(N, H), rng.randn(N, H)
    rnn = ns.RNN(*params(rng, D, H))
    h_next = rnn.forward(x, h_prev)
    assert len(rnn.cache) == 3
    assert rnn.cache[0] is x and rnn.cache[1] is h_prev and rnn.cache[2] is h_next

    Wx, Wh, b = params(rng, D, H, gates=4)
    lstm = ns.LSTM(Wx, Wh, b)
    h_next, c_next = lstm.forward(x, h_prev, c_prev)
    x_, h_, c_, i, f, g, o, cn = lstm.cache
    A = x @ Wx + h_prev @ Wh + b
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    # Gate blocks f, g, i, o along the 4H axis (D.2).
    np.testing.assert_allclose(f, sig(A[:, :H]), rtol=1e-14)
    np.testing.assert_allclose(g, np.tanh(A[:, H:2 * H]), rtol=1e-14)
    np.testing.assert_allclose(i, sig(A[:, 2 * H:3 * H]), rtol=1e-14)
    np.testing.assert_allclose(o, sig(A[:, 3 * H:]), rtol=1e-14)
    assert x_ is x and h_ is h_prev and c_ is c_prev and cn is c_next
    np.testing.assert_allclose(c_next, f * c_prev + g * i, rtol=1e-14)
    np.testing.assert_allclose(h_next, o * np.tanh(c_next), rtol=1e-14)


# ------------------------------------------------------------------------ dtypes
def test_output_dtypes(ns):
    rng = np.random.RandomState(11)
    N, T, D, H = 2, 3, 4, 5
    xs = rng.randn(N, T, D)
    for kind in ("TimeRNN", "TimeLSTM"):
        layer = _make(ns, kind, rng, D=D, H=H)
        hs = layer.forward(xs)
        dxs = layer.backward(rng.randn(N, T, H))
        assert hs.dtype == np.float32 and dxs.dtype == np.float32, kind
        # With float64 weights and inputs the carried state is float64 after step 1.
        assert layer.h.dtype == np.float64
        assert all(g.dtype == np.float64 for g in layer.grads)
    affine = ns.TimeAffine(rng.randn(D, H), rng.randn(H))
    assert affine.forward(xs).dtype == np.float64
    assert affine.forward(xs.astype('f')).dtype == np.float64  # float64 weights win
    affine32 = ns.TimeAffine(rng.randn(D, H).astype('f'), rng.randn(H).astype('f'))
    assert affine32.forward(xs.astype('f')).dtype == np.float32


# --------------------------------------------------------------------- stateful
@pytest.mark.parametrize("kind", ["TimeRNN", "TimeLSTM"])
def test_stateful(ns, kind):
    rng = np.random.RandomState(12)
    N, T, D, H = 2, 3, 4, 5
    gates = 4 if kind == "TimeLSTM" else 1
    Wx, Wh, b = params(rng, D, H, gates)
    cls = getattr(ns, kind)
    xs1, xs2 = rng.randn(N, T, D), rng.randn(N, T, D)
    whole = cls(Wx, Wh, b).forward(np.concatenate([xs1, xs2], axis=1))

    stateful = cls(Wx, Wh, b, stateful=True)
    assert stateful.stateful is True
    hs1 = stateful.forward(xs1)
    hs2 = stateful.forward(xs2)  # continues from the end of xs1
    np.testing.assert_allclose(np.concatenate([hs1, hs2], axis=1), whole, rtol=0, atol=0)

    stateful.reset_state()
    np.testing.assert_array_equal(stateful.forward(xs2), cls(Wx, Wh, b).forward(xs2))

    # Not stateful: every call starts from zeros, whatever the previous call left.
    plain = cls(Wx, Wh, b)
    assert plain.stateful is False
    plain.forward(xs1)
    np.testing.assert_array_equal(plain.forward(xs2), cls(Wx, Wh, b).forward(xs2))

    # set_state gives the initial state explicitly.
    h0 = rng.randn(N, H)
    layer = cls(Wx, Wh, b, stateful=True)
    if kind == "TimeRNN":
        layer.set_state(h0)
        expected, _ = compose_rnn(ns, xs1, h0, Wx, Wh, b)
    else:
        c0 = rng.randn(N, H)
        layer.set_state(h0, c0)
        expected, _ = compose_lstm(ns, xs1, h0, c0, Wx, Wh, b)
        # set_state(h) alone leaves c unset: the cell state restarts at zero.
        only_h = cls(Wx, Wh, b, stateful=True)
        only_h.set_state(h0)
        assert only_h.c is None
        np.testing.assert_array_equal(
            only_h.forward(xs1), compose_lstm(ns, xs1, h0, np.zeros((N, H)), Wx, Wh, b)[0].astype('f'))
    np.testing.assert_array_equal(layer.forward(xs1), expected.astype('f'))


def test_stateful_truncates_backprop(ns):
    """dh after backward is the gradient w.r.t. the state the call started from; the
    previous call's cells are not reached (truncated BPTT)."""
    rng = np.random.RandomState(13)
    N, T, D, H = 2, 3, 4, 5
    Wx, Wh, b = params(rng, D, H)
    layer = ns.TimeRNN(Wx, Wh, b, stateful=True)
    layer.forward(rng.randn(N, T, D))
    h_carried = layer.h
    xs2 = rng.randn(N, T, D)
    layer.forward(xs2)
    assert len(layer.layers) == T
    assert layer.layers[0].cache[1] is h_carried
    dhs = rng.randn(N, T, H)
    layer.backward(dhs)
    _, cells = compose_rnn(ns, xs2, h_carried, Wx, Wh, b)
    dh = 0
    for t in reversed(range(T)):
        _, dh = cells[t].backward(dhs[:, t, :] + dh)
    np.testing.assert_array_equal(layer.dh, dh)


# --------------------------------------------------------- TimeSoftmaxWithLoss
def test_ignore_label(ns):
    layer = ns.TimeSoftmaxWithLoss()
    assert layer.ignore_label == -1
    assert layer.params == [] and layer.grads == []
    with pytest.raises(TypeError):
        ns.TimeSoftmaxWithLoss(-1)  # not a constructor argument (D.4)

    rng = np.random.RandomState(14)
    N, T, V = 3, 4, 6
    xs = rng.randn(N, T, V)
    ts = rng.randint(V, size=(N, T))
    ts[0, 1] = ts[2, 3] = ts[1, 0] = -1
    valid = ts != -1
    loss = layer.forward(xs, ts)
    p = np.exp(xs) / np.exp(xs).sum(axis=2, keepdims=True)
    picked = [np.log(p[n, t, ts[n, t]]) for n in range(N) for t in range(T) if valid[n, t]]
    assert abs(loss - (-np.sum(picked) / valid.sum())) < 1e-12  # mean over valid positions

    dxs = layer.backward()
    assert dxs.shape == (N, T, V)
    assert np.all(dxs[~valid] == 0)
    onehot = np.eye(V)[np.where(valid, ts, 0)]
    np.testing.assert_allclose(dxs[valid], ((p - onehot) / valid.sum())[valid], rtol=1e-12, atol=1e-16)
    # The reference keeps its cache intact, so a second backward agrees.
    np.testing.assert_array_equal(layer.backward(), dxs)
    np.testing.assert_allclose(layer.backward(2.5), 2.5 * dxs, rtol=1e-15)

    # Scores at ignored positions do not matter.
    xs2 = xs.copy()
    xs2[~valid] = 100 * rng.randn(int((~valid).sum()), V)
    assert ns.TimeSoftmaxWithLoss().forward(xs2, ts) == pytest.approx(loss, rel=1e-14)

    # One-hot targets (N, T, V) are read through argmax.
    onehot_ts = np.eye(V)[np.where(valid, ts, 0)]
    full = ns.TimeSoftmaxWithLoss().forward(xs, onehot_ts)
    all_valid = -np.mean(np.log(p[np.arange(N)[:, None], np.arange(T), np.where(valid, ts, 0)]))
    assert full == pytest.approx(all_valid, rel=1e-14)


# -------------------------------------------------------------- helper module
def test_common_helpers(hc):
    rng = np.random.RandomState(15)
    x = rng.randn(4, 5)
    x_before = x.copy()
    y = hc.softmax(x)
    np.testing.assert_allclose(y, np.exp(x) / np.exp(x).sum(axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_array_equal(x, x_before)  # input untouched
    v = rng.randn(5)
    np.testing.assert_allclose(hc.softmax(v), np.exp(v) / np.exp(v).sum(), rtol=1e-14)
    big = np.array([[1000.0, 1001.0], [-1000.0, -1002.0]])
    with np.errstate(over="raise"):
        np.testing.assert_allclose(hc.softmax(big).sum(axis=1), 1.0)
    assert hc.softmax(x.astype('f')).dtype == np.float32

    np.testing.assert_allclose(hc.sigmoid(np.array([0.0, 2.0])), [0.5, 1 / (1 + np.exp(-2.0))])

    t = np.array([1, 0, 4, 2])
    expected = -np.mean(np.log(y[np.arange(4), t] + 1e-7))
    assert hc.cross_entropy_error(y, t) == pytest.approx(expected, rel=1e-14)
    assert hc.cross_entropy_error(y, np.eye(5)[t]) == pytest.approx(expected, rel=1e-14)
    # The 1e-7 keeps a zero probability finite.
    assert hc.cross_entropy_error(np.array([[0.0, 1.0]]), np.array([0])) == pytest.approx(-np.log(1e-7))
    assert hc.cross_entropy_error(y[0], t[0]) == pytest.approx(-np.log(y[0, 1] + 1e-7))
    assert hc.cross_entropy_error(y[0], np.eye(5)[1]) == pytest.approx(-np.log(y[0, 1] + 1e-7))

    layer = hc.SoftmaxWithLoss()
    assert layer.params == [] and layer.grads == []
    loss = layer.forward(x, t)
    assert loss == pytest.approx(expected, rel=1e-14)
    dx = layer.backward()
    np.testing.assert_allclose(dx, (y - np.eye(5)[t]) / 4, rtol=1e-12, atol=1e-16)
    loss = layer.forward(x, np.eye(5)[t])  # one-hot targets
    assert loss == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(layer.backward(3.0), 3 * (y - np.eye(5)[t]) / 4, rtol=1e-12, atol=1e-16)

    emb = hc.Embedding(rng.randn(6, 3))
    idx = np.array([1, 4, 1])
    np.testing.assert_array_equal(emb.forward(idx), emb.params[0][idx])
    dout = rng.randn(3, 3)
    dW = emb.grads[0]
    emb.backward(dout)
    assert emb.grads[0] is dW
    np.testing.assert_allclose(dW[1], dout[0] + dout[2])
    np.testing.assert_allclose(dW[4], dout[1])
    assert np.all(dW[[0, 2, 3, 5]] == 0)
    # A second backward overwrites the gradient rather than adding to it.
    emb.forward(np.array([2]))
    emb.backward(dout[:1])
    assert emb.grads[0] is dW
    np.testing.assert_array_equal(dW[2], dout[0])
    assert np.all(dW[[0, 1, 3, 4, 5]] == 0)


# ------------------------------------- central differences at three sizes (< 1e-7)
@pytest.mark.parametrize("size", SIZES)
def test_rnn_backward_cd(ns, size):
    # The cell keeps the input dtype: a direct float64 check of dx, dh_prev and grads.
    N, D, H = size["N"], size["D"], size["H"]
    rng = np.random.RandomState(100 + N)
    x, h_prev = rng.randn(N, D), rng.randn(N, H)
    Wx, Wh, b = params(rng, D, H)
    cell = ns.RNN(Wx, Wh, b)
    cell.forward(x, h_prev)
    dh_next = rng.randn(N, H)
    dx, dh_prev = cell.backward(dh_next)
    loss = loss_against(dh_next)
    assert_gradients(lambda: loss(ns.RNN(Wx, Wh, b).forward(x, h_prev)),
                     {"x": (x, dx), "h_prev": (h_prev, dh_prev), "Wx": (Wx, cell.grads[0]),
                      "Wh": (Wh, cell.grads[1]), "b": (b, cell.grads[2])})


@pytest.mark.parametrize("size", SIZES)
def test_lstm_backward_cd(ns, size):
    N, D, H = size["N"], size["D"], size["H"]
    rng = np.random.RandomState(110 + N)
    x, h_prev, c_prev = rng.randn(N, D), rng.randn(N, H), rng.randn(N, H)
    Wx, Wh, b = params(rng, D, H, gates=4)
    cell = ns.LSTM(Wx, Wh, b)
    cell.forward(x, h_prev, c_prev)
    dh_next, dc_next = rng.randn(N, H), rng.randn(N, H)
    dx, dh_prev, dc_prev = cell.backward(dh_next, dc_next)
    loss_h, loss_c = loss_against(dh_next), loss_against(dc_next)

    def f():
        h, c = ns.LSTM(Wx, Wh, b).forward(x, h_prev, c_prev)
        return loss_h(h) + loss_c(c)

    assert_gradients(f, {"x": (x, dx), "h_prev": (h_prev, dh_prev), "c_prev": (c_prev, dc_prev),
                         "Wx": (Wx, cell.grads[0]), "Wh": (Wh, cell.grads[1]),
                         "b": (b, cell.grads[2])})


@pytest.mark.parametrize("size", SIZES)
def test_time_rnn_backward_cd(ns, size):
    N, T, D, H = size["N"], size["T"], size["D"], size["H"]
    rng = np.random.RandomState(120 + N + T)
    xs, h0 = rng.randn(N, T, D), rng.randn(N, H)
    Wx, Wh, b = params(rng, D, H)
    dhs = rng.randn(N, T, H)
    # stateful + set_state so that the gradient w.r.t. a non-zero h0 (layer.dh) is checked.
    layer = ns.TimeRNN(Wx, Wh, b, stateful=True)
    layer.set_state(h0)
    hs = layer.forward(xs)
    dxs = layer.backward(dhs)

    # The layer equals the float64 composition of cells, rounded to float32 on output.
    hs64, cells = compose_rnn(ns, xs, h0, Wx, Wh, b)
    np.testing.assert_array_equal(hs, hs64.astype(np.float32))
    dh, dx64 = 0, np.zeros_like(xs)
    for t in reversed(range(T)):
        dx64[:, t, :], dh = cells[t].backward(dhs[:, t, :] + dh)
    np.testing.assert_array_equal(dxs, dx64.astype(np.float32))

    loss = loss_against(dhs)
    assert_gradients(
        lambda: loss(compose_rnn(ns, xs, h0, Wx, Wh, b)[0]),
        {"xs (float64 composition)": (xs, dx64), "h0 (layer.dh)": (h0, layer.dh),
         "Wx (layer.grads)": (Wx, layer.grads[0]), "Wh (layer.grads)": (Wh, layer.grads[1]),
         "b (layer.grads)": (b, layer.grads[2])})
    # What the float32 dxs itself achieves: float32 precision (unit roundoff 2**-24).
    assert rel_error(dxs, dx64) <= 2.0 ** -24


@pytest.mark.parametrize("size", SIZES)
def test_time_lstm_backward_cd(ns, size):
    N, T, D, H = size["N"], size["T"], size["D"], size["H"]
    rng = np.random.RandomState(130 + N + T)
    xs, h0, c0 = rng.randn(N, T, D), rng.randn(N, H), rng.randn(N, H)
    Wx, Wh, b = params(rng, D, H, gates=4)
    dhs = rng.randn(N, T, H)
    layer = ns.TimeLSTM(Wx, Wh, b, stateful=True)
    layer.set_state(h0, c0)
    hs = layer.forward(xs)
    dxs = layer.backward(dhs)

    hs64, cells = compose_lstm(ns, xs, h0, c0, Wx, Wh, b)
    np.testing.assert_array_equal(hs, hs64.astype(np.float32))
    dh, dc, dx64 = 0, 0, np.zeros_like(xs)
    for t in reversed(range(T)):
        dx64[:, t, :], dh, dc = cells[t].backward(dhs[:, t, :] + dh, dc)
    np.testing.assert_array_equal(dxs, dx64.astype(np.float32))

    loss = loss_against(dhs)
    assert_gradients(
        lambda: loss(compose_lstm(ns, xs, h0, c0, Wx, Wh, b)[0]),
        {"xs (float64 composition)": (xs, dx64), "h0 (layer.dh)": (h0, layer.dh),
         "Wx (layer.grads)": (Wx, layer.grads[0]), "Wh (layer.grads)": (Wh, layer.grads[1]),
         "b (layer.grads)": (b, layer.grads[2])})
    assert rel_error(dxs, dx64) <= 2.0 ** -24


@pytest.mark.parametrize("size", SIZES)
def test_time_embedding_backward_cd(ns, hc, size):
    N, T, D = size["N"], size["T"], size["D"]
    V = 7
    rng = np.random.RandomState(140 + N + T)
    xs = rng.randint(V, size=(N, T))
    xs = np.concatenate([xs, np.full((N, 1), xs[0, 0])], axis=1)  # a repeated index
    W = rng.randn(V, D)
    layer = ns.TimeEmbedding(W)
    out = layer.forward(xs)
    np.testing.assert_array_equal(out, W[xs].astype(np.float32))
    dout = rng.randn(*out.shape)
    assert layer.backward(dout) is None
    assert layer.grads[0].dtype == np.float64

    def f():
        # Float64 path: the per-step Embedding cells keep W's dtype.
        steps = [hc.Embedding(W).forward(xs[:, t]) for t in range(xs.shape[1])]
        return loss_against(dout)(np.stack(steps, axis=1))

    assert_gradients(f, {"W (layer.grads)": (W, layer.grads[0])})
    assert np.all(layer.grads[0][np.setdiff1d(np.arange(V), xs)] == 0)


@pytest.mark.parametrize("size", SIZES)
def test_time_affine_backward_cd(ns, size):
    # Keeps the input dtype: a direct float64 check.
    N, T, D, M = size["N"], size["T"], size["D"], size["H"]
    rng = np.random.RandomState(150 + N + T)
    x, W, b = rng.randn(N, T, D), rng.randn(D, M), rng.randn(M)
    layer = ns.TimeAffine(W, b)
    out = layer.forward(x)
    assert out.shape == (N, T, M)
    dout = rng.randn(N, T, M)
    dx = layer.backward(dout)
    loss = loss_against(dout)
    assert_gradients(lambda: loss(ns.TimeAffine(W, b).forward(x)),
                     {"x": (x, dx), "W": (W, layer.grads[0]), "b": (b, layer.grads[1])})


@pytest.mark.parametrize("size", SIZES)
def test_time_softmax_with_loss_backward_cd(ns, size):
    # float64 throughout; the upstream gradient of the scalar loss is a random scalar.
    N, T, V = size["N"], size["T"], size["H"]
    rng = np.random.RandomState(160 + N + T)
    xs = rng.randn(N, T, V)
    ts = rng.randint(V, size=(N, T))
    if N * T > 1:
        ts.flat[-1] = -1  # one ignored position, the rest valid
    dout = float(rng.randn())
    layer = ns.TimeSoftmaxWithLoss()
    layer.forward(xs, ts)
    dxs = layer.backward(dout)
    assert_gradients(lambda: dout * ns.TimeSoftmaxWithLoss().forward(xs, ts), {"xs": (xs, dxs)})
