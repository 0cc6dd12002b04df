"""An independent oracle: the vanilla RNN and the LSTM of three families are the same
functions in different clothes. Family A (column layout, separate gate matrices on
[a_prev; xt]), C (row layout, one (D,4H) matrix, gate blocks i, f, o, g) and D (row
layout, gate blocks f, g, i, o) must agree after transposing layouts and permuting
gate blocks. The block orders below are written out from the spec, not read from any
reference, so a wrong gate order in any one reference makes these tests fail.
"""
import numpy as np
import pytest

from autograder.reference import load_reference

A = load_reference("rnn_step_by_step")
C = load_reference("rnn_layers")
D = load_reference("time_layers")

# A's gate names: f forget, i input ("update"), c candidate (C's and D's "g"), o output.
C_BLOCKS = ("i", "f", "o", "c")
D_BLOCKS = ("f", "c", "i", "o")
SIZES = [dict(n_x=3, n_a=5, m=1), dict(n_x=4, n_a=2, m=6), dict(n_x=7, n_a=4, m=3)]


def a_lstm_parameters(rng, n_x, n_a, n_y=2):
    p = {f"W{g}": rng.randn(n_a, n_a + n_x) for g in "fico"}
    p.update({f"b{g}": rng.randn(n_a, 1) for g in "fico"})
    p["Wy"], p["by"] = rng.randn(n_y, n_a), rng.randn(n_y, 1)
    return p


def row_lstm_weights(p, n_a, blocks):
    """A's gate matrices stacked into (D,4H), (H,4H), (4H,) in the given block order."""
    Wx = np.concatenate([p[f"W{g}"][:, n_a:].T for g in blocks], axis=1)
    Wh = np.concatenate([p[f"W{g}"][:, :n_a].T for g in blocks], axis=1)
    b = np.concatenate([p[f"b{g}"][:, 0] for g in blocks])
    return Wx, Wh, b


def a_lstm_grads_as_row(grads, n_a, blocks):
    dWx = np.concatenate([grads[f"dW{g}"][:, n_a:].T for g in blocks], axis=1)
    dWh = np.concatenate([grads[f"dW{g}"][:, :n_a].T for g in blocks], axis=1)
    db = np.concatenate([grads[f"db{g}"][:, 0] for g in blocks])
    return dWx, dWh, db


@pytest.mark.parametrize("size", SIZES)
def test_rnn_step_forward_and_backward_agree_across_A_C_D(size):
    rng = np.random.RandomState(7)
    n_x, n_a, m = size["n_x"], size["n_a"], size["m"]
    xt, a_prev = rng.randn(n_x, m), rng.randn(n_a, m)
    p = {"Wax": rng.randn(n_a, n_x), "Waa": rng.randn(n_a, n_a), "Wya": rng.randn(2, n_a),
         "ba": rng.randn(n_a, 1), "by": rng.randn(2, 1)}
    da_next = rng.randn(n_a, m)
    a_next, _, cache = A.rnn_cell_forward(xt, a_prev, p)
    ga = A.rnn_cell_backward(da_next, cache)

    Wx, Wh, b = p["Wax"].T, p["Waa"].T, p["ba"][:, 0]
    h_c, cache_c = C.rnn_step_forward(xt.T, a_prev.T, Wx, Wh, b)
    dx, dh, dWx, dWh, db = C.rnn_step_backward(da_next.T, cache_c)
    layer = D.RNN(Wx.copy(), Wh.copy(), b.copy())
    h_d = layer.forward(xt.T, a_prev.T)
    dx_d, dh_d = layer.backward(da_next.T)

    for h in (h_c, h_d):
        np.testing.assert_allclose(h, a_next.T, rtol=1e-12, atol=1e-12)
    for gx, gh, (gWx, gWh, gb) in ((dx, dh, (dWx, dWh, db)), (dx_d, dh_d, layer.grads)):
        np.testing.assert_allclose(gx, ga["dxt"].T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gh, ga["da_prev"].T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gWx, ga["dWax"].T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gWh, ga["dWaa"].T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gb, ga["dba"][:, 0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("size", SIZES)
def test_lstm_step_forward_and_backward_agree_across_A_C_D(size):
    rng = np.random.RandomState(11)
    n_x, n_a, m = size["n_x"], size["n_a"], size["m"]
    xt, a_prev, c_prev = rng.randn(n_x, m), rng.randn(n_a, m), rng.randn(n_a, m)
    p = a_lstm_parameters(rng, n_x, n_a)
    da_next, dc_next = rng.randn(n_a, m), rng.randn(n_a, m)
    a_next, c_next, _, cache = A.lstm_cell_forward(xt, a_prev, c_prev, p)
    ga = A.lstm_cell_backward(da_next, dc_next, cache)

    Wx, Wh, b = row_lstm_weights(p, n_a, C_BLOCKS)
    h_c, c_c, cache_c = C.lstm_step_forward(xt.T, a_prev.T, c_prev.T, Wx, Wh, b)
    np.testing.assert_allclose(h_c, a_next.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c_c, c_next.T, rtol=1e-12, atol=1e-12)
    dx, dh, dc, dWx, dWh, db = C.lstm_step_backward(da_next.T, dc_next.T, cache_c)
    for got, want in zip((dx, dh, dc), ("dxt", "da_prev", "dc_prev")):
        np.testing.assert_allclose(got, ga[want].T, rtol=1e-10, atol=1e-12)
    for got, want in zip((dWx, dWh, db), a_lstm_grads_as_row(ga, n_a, C_BLOCKS)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)

    Wx, Wh, b = row_lstm_weights(p, n_a, D_BLOCKS)
    layer = D.LSTM(Wx, Wh, b)
    h_d, c_d = layer.forward(xt.T, a_prev.T, c_prev.T)
    np.testing.assert_allclose(h_d, a_next.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c_d, c_next.T, rtol=1e-12, atol=1e-12)
    dx, dh, dc = layer.backward(da_next.T, dc_next.T)
    for got, want in zip((dx, dh, dc), ("dxt", "da_prev", "dc_prev")):
        np.testing.assert_allclose(got, ga[want].T, rtol=1e-10, atol=1e-12)
    for got, want in zip(layer.grads, a_lstm_grads_as_row(ga, n_a, D_BLOCKS)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("T", [1, 6])
def test_lstm_sequences_agree_across_A_C_D(T):
    rng = np.random.RandomState(3)
    n_x, n_a, m = 3, 4, 2
    x, a0 = rng.randn(n_x, m, T), rng.randn(n_a, m)
    p = a_lstm_parameters(rng, n_x, n_a)
    da = rng.randn(n_a, m, T)
    a, _, _, caches = A.lstm_forward(x, a0, p)
    ga = A.lstm_backward(da, caches)
    xs, das = x.transpose(1, 2, 0), da.transpose(1, 2, 0)  # (n_x,m,T) -> (N,T,D)

    Wx, Wh, b = row_lstm_weights(p, n_a, C_BLOCKS)
    h, cache = C.lstm_forward(xs, a0.T, Wx, Wh, b)
    np.testing.assert_allclose(h, a.transpose(1, 2, 0), rtol=1e-12, atol=1e-12)
    dx, dh0, dWx, dWh, db = C.lstm_backward(das, cache)
    np.testing.assert_allclose(dx, ga["dx"].transpose(1, 2, 0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dh0, ga["da0"].T, rtol=1e-9, atol=1e-12)
    for got, want in zip((dWx, dWh, db), a_lstm_grads_as_row(ga, n_a, C_BLOCKS)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)

    # D's TimeLSTM starts from zeros unless given a state, and stores float32 outputs.
    Wx, Wh, b = row_lstm_weights(p, n_a, D_BLOCKS)
    layer = D.TimeLSTM(Wx, Wh, b, stateful=True)
    layer.set_state(a0.T)
    hs = layer.forward(xs)
    np.testing.assert_allclose(hs, a.transpose(1, 2, 0), rtol=1e-5, atol=1e-6)
    dxs = layer.backward(das)
    np.testing.assert_allclose(dxs, ga["dx"].transpose(1, 2, 0), rtol=1e-4, atol=1e-5)
    for got, want in zip(layer.grads, a_lstm_grads_as_row(ga, n_a, D_BLOCKS)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("T", [1, 5])
def test_rnn_sequences_agree_across_A_C_D(T):
    rng = np.random.RandomState(5)
    n_x, n_a, m = 4, 3, 2
    x, a0 = rng.randn(n_x, m, T), rng.randn(n_a, m)
    p = {"Wax": rng.randn(n_a, n_x), "Waa": rng.randn(n_a, n_a), "Wya": rng.randn(2, n_a),
         "ba": rng.randn(n_a, 1), "by": rng.randn(2, 1)}
    da = rng.randn(n_a, m, T)
    a, _, caches = A.rnn_forward(x, a0, p)
    ga = A.rnn_backward(da, caches)
    xs, das = x.transpose(1, 2, 0), da.transpose(1, 2, 0)
    h, cache = C.rnn_forward(xs, a0.T, p["Wax"].T, p["Waa"].T, p["ba"][:, 0])
    np.testing.assert_allclose(h, a.transpose(1, 2, 0), rtol=1e-12, atol=1e-12)
    dx, dh0, dWx, dWh, db = C.rnn_backward(das, cache)
    np.testing.assert_allclose(dx, ga["dx"].transpose(1, 2, 0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dh0, ga["da0"].T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dWx, ga["dWax"].T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dWh, ga["dWaa"].T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(db, ga["dba"][:, 0], rtol=1e-9, atol=1e-12)

    layer = D.TimeRNN(p["Wax"].T.copy(), p["Waa"].T.copy(), p["ba"][:, 0].copy(), stateful=True)
    layer.set_state(a0.T)
    hs = layer.forward(xs)
    np.testing.assert_allclose(hs, a.transpose(1, 2, 0), rtol=1e-5, atol=1e-6)
    dxs = layer.backward(das)
    np.testing.assert_allclose(dxs, ga["dx"].transpose(1, 2, 0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.dh, ga["da0"].T, rtol=1e-4, atol=1e-5)
