"""Public self-checks of `rnn_layers` (family C, docs/ASSIGNMENTS.md C.5).

Published values: the C.5 linspace checks of the forward functions. Backward functions:
the C.5 gradient checks (np.random.seed(231), draws in the listed order), run on the
student's own forward/backward pair. Caches are opaque (C.2): they are never read.
"""
import numpy as np

from autograder.selfcheck.runner import Example, GradCheck, Unit


def linspace(lo, hi, shape):
    return np.linspace(lo, hi, num=int(np.prod(shape))).reshape(shape)


def rnn_step_linspace():
    N, D, H = 3, 10, 4
    return {"x": linspace(-0.4, 0.7, (N, D)), "prev_h": linspace(-0.2, 0.5, (N, H)),
            "Wx": linspace(-0.1, 0.9, (D, H)), "Wh": linspace(-0.3, 0.7, (H, H)), "b": linspace(-0.2, 0.4, (H,))}


def rnn_linspace():
    N, T, D, H = 2, 3, 4, 5
    return {"x": linspace(-0.1, 0.3, (N, T, D)), "h0": linspace(-0.3, 0.1, (N, H)),
            "Wx": linspace(-0.2, 0.4, (D, H)), "Wh": linspace(-0.4, 0.1, (H, H)), "b": linspace(-0.7, 0.1, (H,))}


def embedding_linspace():
    V, D = 5, 3
    return {"x": np.array([[0, 3, 1, 2], [2, 1, 0, 3]]), "W": linspace(0, 1, (V, D))}


def lstm_step_linspace():
    N, D, H = 3, 4, 5
    return {"x": linspace(-0.4, 1.2, (N, D)), "prev_h": linspace(-0.3, 0.7, (N, H)),
            "prev_c": linspace(-0.4, 0.9, (N, H)), "Wx": linspace(-2.1, 1.3, (D, 4 * H)),
            "Wh": linspace(-0.7, 2.2, (H, 4 * H)), "b": linspace(0.3, 0.7, (4 * H,))}


def lstm_linspace():
    N, D, H, T = 2, 5, 4, 3
    return {"x": linspace(-0.4, 0.6, (N, T, D)), "h0": linspace(-0.4, 0.8, (N, H)),
            "Wx": linspace(-0.2, 0.9, (D, 4 * H)), "Wh": linspace(-0.3, 0.6, (H, 4 * H)),
            "b": linspace(0.2, 0.7, (4 * H,))}


# C.5 gradient checks: RandomState(231) gives the same stream as np.random.seed(231).
def rnn_step_grad():
    rng = np.random.RandomState(231)
    N, D, H = 4, 5, 6
    return {"x": rng.randn(N, D), "prev_h": rng.randn(N, H), "Wx": rng.randn(D, H), "Wh": rng.randn(H, H),
            "b": rng.randn(H), "dnext_h": rng.randn(N, H)}


def rnn_grad():
    rng = np.random.RandomState(231)
    N, D, T, H = 2, 3, 10, 5
    return {"x": rng.randn(N, T, D), "h0": rng.randn(N, H), "Wx": rng.randn(D, H), "Wh": rng.randn(H, H),
            "b": rng.randn(H), "dh": rng.randn(N, T, H)}


def embedding_grad():
    rng = np.random.RandomState(231)
    N, T, V, D = 50, 3, 5, 6
    x = rng.randint(V, size=(N, T))
    W = rng.randn(V, D)
    return {"x": x, "W": W, "dout": rng.randn(N, T, D)}


def lstm_step_grad():
    rng = np.random.RandomState(231)
    N, D, H = 4, 5, 6
    return {"x": rng.randn(N, D), "prev_h": rng.randn(N, H), "prev_c": rng.randn(N, H),
            "Wx": rng.randn(D, 4 * H), "Wh": rng.randn(H, 4 * H), "b": rng.randn(4 * H),
            "dnext_h": rng.randn(N, H), "dnext_c": rng.randn(N, H)}


def lstm_grad():
    rng = np.random.RandomState(231)
    N, D, T, H = 2, 3, 10, 6
    return {"x": rng.randn(N, T, D), "h0": rng.randn(N, H), "Wx": rng.randn(D, 4 * H),
            "Wh": rng.randn(H, 4 * H), "b": rng.randn(4 * H), "dh": rng.randn(N, T, H)}


STEP_HINTS = {
    "next_h": "next_h is tanh(x @ Wx + prev_h @ Wh + b): weights are (in, out) and multiply on the right",
    "dx": "go back through tanh first (1 - next_h**2), then multiply by Wx.T on the right",
    "dprev_h": "dprev_h multiplies by Wh.T on the right",
    "dWx": "dWx is x.T @ (gradient behind the tanh)",
    "dWh": "dWh is prev_h.T @ (gradient behind the tanh)",
    "db": "b is 1-D: db sums over the batch (axis 0)",
}
SEQUENCE_HINTS = {
    "h": "time is axis 1: step t reads x[:, t, :] and writes h[:, t, :]",
    "dx": "step t gets dh[:, t, :] plus the gradient flowing back from step t+1",
    "dh0": "dh0 is the gradient carried out of the first step",
    "dWx": "the weights are shared across time: add up the per-step gradients",
    "dWh": "the weights are shared across time: add up the per-step gradients",
    "db": "the bias is shared across time: add up the per-step gradients",
}
LSTM_HINTS = {
    "next_h": "next_h = o * tanh(next_c); the 4H axis holds the gates in the order i, f, o, g",
    "next_c": "next_c is f * prev_c plus i * g, gate blocks in the order i, f, o, g (sigmoid on i, f, o; tanh on g)",
    "h": "the cell state starts at zeros and is carried from step to step; time is axis 1",
    "dx": "concatenate the four pre-activation gradients in the order i, f, o, g",
    "dprev_c": "the cell state reaches the loss directly and through next_h: both parts flow back, times f",
}

UNITS = [
    Unit("rnn_step_forward", [
        Example("published linspace check", rnn_step_linspace, call="rnn_step_forward(x, prev_h, Wx, Wh, b)",
                returns=("tuple", "next_h", "cache"),
                expect={"next_h": [[-0.58172089, -0.50182032, -0.41232771, -0.31410098],
                                   [0.66854692, 0.79562378, 0.87755553, 0.92795967],
                                   [0.97934501, 0.99144213, 0.99646691, 0.99854353]]},
                hints=STEP_HINTS),
    ]),
    Unit("rnn_step_backward", [
        Example("published gradient check (seed 231)", rnn_step_grad,
                setup="_, cache = rnn_step_forward(x, prev_h, Wx, Wh, b)", call="rnn_step_backward(dnext_h, cache)",
                returns=("tuple", "dx", "dprev_h", "dWx", "dWh", "db"),
                expect={"dx.shape": (4, 5), "dprev_h.shape": (4, 6), "dWx.shape": (5, 6), "dWh.shape": (6, 6),
                        "db.shape": (6,)},
                gradcheck=GradCheck("rnn_step_forward(x, prev_h, Wx, Wh, b)[0]", upstream="dnext_h",
                                    wrt={"x": "dx", "prev_h": "dprev_h", "Wx": "dWx", "Wh": "dWh", "b": "db"},
                                    tol=1e-7),
                hints=STEP_HINTS),
    ], needs=("rnn_step_forward",)),
    Unit("rnn_forward", [
        Example("published linspace check", rnn_linspace, call="rnn_forward(x, h0, Wx, Wh, b)",
                returns=("tuple", "h", "cache"),
                expect={"h": [[[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
                               [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
                               [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
                              [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
                               [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
                               [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]]},
                hints=SEQUENCE_HINTS),
    ], needs=("rnn_step_forward",)),
    Unit("rnn_backward", [
        Example("published gradient check (seed 231)", rnn_grad,
                setup="_, cache = rnn_forward(x, h0, Wx, Wh, b)", call="rnn_backward(dh, cache)",
                returns=("tuple", "dx", "dh0", "dWx", "dWh", "db"),
                expect={"dx.shape": (2, 10, 3), "dh0.shape": (2, 5), "dWx.shape": (3, 5), "dWh.shape": (5, 5),
                        "db.shape": (5,)},
                gradcheck=GradCheck("rnn_forward(x, h0, Wx, Wh, b)[0]", upstream="dh",
                                    wrt={"x": "dx", "h0": "dh0", "Wx": "dWx", "Wh": "dWh", "b": "db"}, tol=1e-7),
                hints=SEQUENCE_HINTS),
    ], needs=("rnn_forward", "rnn_step_backward")),
    Unit("word_embedding_forward", [
        Example("published linspace check", embedding_linspace, call="word_embedding_forward(x, W)",
                returns=("tuple", "out", "cache"),
                expect={"out[0]": [[0, 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429],
                                   [0.21428571, 0.28571429, 0.35714286], [0.42857143, 0.5, 0.57142857]],
                        "out.shape": (2, 4, 3)},
                hints={"out": "out[n, t] is the row W[x[n, t]]: index W with the whole integer array"}),
    ]),
    Unit("word_embedding_backward", [
        Example("published gradient check (seed 231)", embedding_grad,
                setup="_, cache = word_embedding_forward(x, W)", call="word_embedding_backward(dout, cache)",
                returns=("value", "dW"), expect={"dW.shape": (5, 6)},
                gradcheck=GradCheck("word_embedding_forward(x, W)[0]", upstream="dout", wrt={"W": "dW"}, tol=1e-9),
                hints={"dW": "return dW alone; repeated indices must add up (np.add.at), dW[x] += dout keeps only one"}),
    ], needs=("word_embedding_forward",)),
    Unit("lstm_step_forward", [
        Example("published linspace check", lstm_step_linspace,
                call="lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)", returns=("tuple", "next_h", "next_c", "cache"),
                expect={"next_h": [[0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
                                   [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
                                   [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]],
                        "next_c": [[0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
                                   [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
                                   [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]]},
                hints=LSTM_HINTS),
    ]),
    Unit("lstm_step_backward", [
        Example("published gradient check (seed 231)", lstm_step_grad,
                setup="_, _, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)",
                call="lstm_step_backward(dnext_h, dnext_c, cache)",
                returns=("tuple", "dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"),
                expect={"dx.shape": (4, 5), "dprev_h.shape": (4, 6), "dprev_c.shape": (4, 6),
                        "dWx.shape": (5, 24), "dWh.shape": (6, 24), "db.shape": (24,)},
                gradcheck=GradCheck("lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[:2]",
                                    upstream=("dnext_h", "dnext_c"),
                                    wrt={"x": "dx", "prev_h": "dprev_h", "prev_c": "dprev_c", "Wx": "dWx",
                                         "Wh": "dWh", "b": "db"}, tol=1e-7),
                hints=LSTM_HINTS),
    ], needs=("lstm_step_forward",)),
    Unit("lstm_forward", [
        Example("published linspace check", lstm_linspace, call="lstm_forward(x, h0, Wx, Wh, b)",
                returns=("tuple", "h", "cache"),
                expect={"h": [[[0.01764008, 0.01823233, 0.01882671, 0.0194232],
                               [0.11287491, 0.12146228, 0.13018446, 0.13902939],
                               [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
                              [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
                               [0.6704845, 0.69350089, 0.71486014, 0.7346449],
                               [0.81733511, 0.83677871, 0.85403753, 0.86935314]]]},
                hints=LSTM_HINTS),
    ], needs=("lstm_step_forward",)),
    Unit("lstm_backward", [
        Example("published gradient check (seed 231)", lstm_grad,
                setup="_, cache = lstm_forward(x, h0, Wx, Wh, b)", call="lstm_backward(dh, cache)",
                returns=("tuple", "dx", "dh0", "dWx", "dWh", "db"),
                expect={"dx.shape": (2, 10, 3), "dh0.shape": (2, 6), "dWx.shape": (3, 24), "dWh.shape": (6, 24),
                        "db.shape": (24,)},
                gradcheck=GradCheck("lstm_forward(x, h0, Wx, Wh, b)[0]", upstream="dh",
                                    wrt={"x": "dx", "h0": "dh0", "Wx": "dWx", "Wh": "dWh", "b": "db"}, tol=1e-6),
                hints={**SEQUENCE_HINTS, **{k: v for k, v in LSTM_HINTS.items() if k == "dx"}}),
    ], needs=("lstm_forward", "lstm_step_backward")),
]
