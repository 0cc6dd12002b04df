"""Public self-checks of `rnn_step_by_step` (family A, docs/ASSIGNMENTS.md A.6).

Published values: A.6.1 (forward cells, np.random.seed(1)), A.6.2 (backward cells of
the current notebook), A.6.4 (public_tests.py, seeds 17, 212, 45). Each example redraws
its cell's arrays in the cell's own order (the order differs between cells: A.7).
Values that the notebooks read from caches are left out: our caches are private to the
student. Every backward unit is also checked numerically against the student's own
forward on a small case of its own.
"""
import numpy as np

from autograder.selfcheck.runner import Example, GradCheck, Unit

FORWARD_ORDER = ("Waa", "Wax", "Wya", "ba", "by")   # the forward cells draw Waa first
BACKWARD_ORDER = ("Wax", "Waa", "Wya", "ba", "by")  # the backward cells draw Wax first
GATE_ORDER = ("Wf", "bf", "Wi", "bi", "Wo", "bo", "Wc", "bc")  # o before c


def rnn_parameters(order, n_x=3, n_a=5, n_y=2):
    shapes = {"Wax": (n_a, n_x), "Waa": (n_a, n_a), "Wya": (n_y, n_a), "ba": (n_a, 1), "by": (n_y, 1)}
    return {key: np.random.randn(*shapes[key]) for key in order}


def lstm_parameters(n_x=3, n_a=5, n_y=2, output=True):
    p = {}
    for key in GATE_ORDER:
        p[key] = np.random.randn(n_a, n_a + n_x) if key.startswith("W") else np.random.randn(n_a, 1)
    if output:
        p["Wy"] = np.random.randn(n_y, n_a)
        p["by"] = np.random.randn(n_y, 1)
    else:  # the lstm_backward cell sets the output layer to zeros, without drawing
        p["Wy"], p["by"] = np.zeros((n_y, n_a)), np.zeros((n_y, 1))
    return p


def seeded(seed, build):
    """An inputs function: seed NumPy's global generator, then draw in `build`'s order."""
    def inputs():
        np.random.seed(seed)
        return build()
    return inputs


def cell_inputs(order):
    return seeded(1, lambda: {"xt": np.random.randn(3, 10), "a_prev": np.random.randn(5, 10),
                              "parameters": rnn_parameters(order), "da_next": np.random.randn(5, 10)})


def sequence_inputs(order, seed=1, n_x=3, m=10, T_x=4, n_a=5, n_y=2):
    return seeded(seed, lambda: {"x": np.random.randn(n_x, m, T_x), "a0": np.random.randn(n_a, m),
                                 "parameters": rnn_parameters(order, n_x, n_a, n_y),
                                 "da": np.random.randn(n_a, m, T_x)})


def lstm_cell_inputs(seed=1, n_x=3, m=10, n_a=5, n_y=2):
    return seeded(seed, lambda: {"xt": np.random.randn(n_x, m), "a_prev": np.random.randn(n_a, m),
                                 "c_prev": np.random.randn(n_a, m),
                                 "parameters": lstm_parameters(n_x, n_a, n_y),
                                 "da_next": np.random.randn(n_a, m), "dc_next": np.random.randn(n_a, m)})


def lstm_sequence_inputs(seed=1, n_x=3, m=10, T_x=7, n_a=5, n_y=2, output=True, da_steps=None):
    return seeded(seed, lambda: {"x": np.random.randn(n_x, m, T_x), "a0": np.random.randn(n_a, m),
                                 "parameters": lstm_parameters(n_x, n_a, n_y, output),
                                 "da": np.random.randn(n_a, m, da_steps or T_x)})


# Small cases for the numerical gradient checks (our own; not the published examples).
GRAD_CELL = dict(n_x=3, m=2, n_a=4, n_y=2)
GRAD_SEQUENCE = dict(n_x=2, m=3, T_x=3, n_a=4, n_y=3)


def gradcheck_inputs(make, seed=7, **size):
    def inputs():
        rng = np.random.RandomState(seed)
        return make(rng, **size)
    return inputs


def _rnn_dict(rng, n_x, n_a, n_y):
    return {"Wax": rng.randn(n_a, n_x), "Waa": rng.randn(n_a, n_a) * 0.5, "Wya": rng.randn(n_y, n_a),
            "ba": rng.randn(n_a, 1), "by": rng.randn(n_y, 1)}


def _lstm_dict(rng, n_x, n_a, n_y):
    p = {key: (rng.randn(n_a, n_a + n_x) * 0.5 if key.startswith("W") else rng.randn(n_a, 1)) for key in GATE_ORDER}
    p["Wy"], p["by"] = rng.randn(n_y, n_a), rng.randn(n_y, 1)
    return p


def _grad_rnn_cell(rng, n_x, m, n_a, n_y):
    return {"xt": rng.randn(n_x, m), "a_prev": rng.randn(n_a, m), "parameters": _rnn_dict(rng, n_x, n_a, n_y),
            "da_next": rng.randn(n_a, m)}


def _grad_rnn_sequence(rng, n_x, m, T_x, n_a, n_y):
    return {"x": rng.randn(n_x, m, T_x), "a0": rng.randn(n_a, m), "parameters": _rnn_dict(rng, n_x, n_a, n_y),
            "da": rng.randn(n_a, m, T_x)}


def _grad_lstm_cell(rng, n_x, m, n_a, n_y):
    return {"xt": rng.randn(n_x, m), "a_prev": rng.randn(n_a, m), "c_prev": rng.randn(n_a, m),
            "parameters": _lstm_dict(rng, n_x, n_a, n_y), "da_next": rng.randn(n_a, m), "dc_next": rng.randn(n_a, m)}


def _grad_lstm_sequence(rng, n_x, m, T_x, n_a, n_y):
    return {"x": rng.randn(n_x, m, T_x), "a0": rng.randn(n_a, m), "parameters": _lstm_dict(rng, n_x, n_a, n_y),
            "da": rng.randn(n_a, m, T_x)}


RNN_GRADS = {"parameters['Wax']": "dWax", "parameters['Waa']": "dWaa", "parameters['ba']": "dba"}
LSTM_GRADS = {f"parameters['{p}{g}']": f"d{p}{g}" for g in "fico" for p in "Wb"}

RNN_CELL_HINTS = {
    "a_next": "a_next is tanh(Waa @ a_prev + Wax @ xt + ba): check which weight multiplies which vector, and the bias",
    "yt_pred": "yt_pred is softmax(Wya @ a_next + by), with the softmax of rnn_utils (over axis 0)",
}
RNN_BACKWARD_HINTS = {
    "dxt": "go back through tanh first (multiply da_next by 1 - a_next**2), then multiply by Wax transposed",
    "da_prev": "da_prev multiplies the gradient behind the tanh by Waa transposed",
    "dWax": "dWax is (gradient behind the tanh) @ xt.T",
    "dWaa": "dWaa is (gradient behind the tanh) @ a_prev.T",
    "dba": "dba sums dz over the batch (axis 1) and keeps its (n_a, 1) shape",
    "dx": "each step gets da[:, :, t] plus the gradient flowing back from step t+1",
    "da0": "da0 is the gradient carried back out of the first step",
}
LSTM_HINTS = {
    "a_next": "a_next = ot * tanh(c_next); every gate reads concat = [a_prev; xt] (a_prev on top)",
    "c_next": "c_next is ft * c_prev plus it * cct",
    "yt_pred": "yt_pred is softmax(Wy @ a_next + by)",
    "yt": "yt is softmax(Wy @ a_next + by)",
    "a": "the hidden state is carried from step to step and the memory starts at zeros",
    "c": "the memory state is carried from step to step, starting at zeros",
    "y": "lstm_forward returns (a, y, c, caches): note y before c",
}
LSTM_BACKWARD_HINTS = {
    "dxt": "dxt is the lower part (rows n_a:) of the gradient of concat",
    "da_prev": "da_prev is the upper part (rows :n_a) of the gradient of concat",
    "dc_prev": "dc_prev is ft times the total memory gradient dc_next + da_next * ot * (1 - tanh(c_next)**2)",
    "dWf": "each dW is the gate's pre-activation gradient @ concat.T; dft uses c_prev",
    "dWi": "dit uses cct: ds * cct * it * (1 - it)",
    "dWc": "dcct uses it: ds * it * (1 - cct**2)",
    "dWo": "the output gate's gradient is da_next * tanh(c_next) * ot * (1 - ot)",
    **{f"db{g}": "each db sums its gate's gradient over the batch (axis 1, keepdims)" for g in "fico"},
    "dx": "the number of steps comes from da.shape (here 4 steps although x has 7)",
    "da0": "da0 is the hidden-state gradient carried out of the first step",
}
SEQUENCE_BACKWARD_HINTS = {
    "dWax": "the weights are shared by every step: add up the per-step gradients",
    "dWaa": "the weights are shared by every step: add up the per-step gradients",
    "dba": "the bias is shared by every step: add up the per-step gradients",
}

UNITS = [
    Unit("rnn_cell_forward", [
        Example("published example (seed 1)", cell_inputs(FORWARD_ORDER),
                call="rnn_cell_forward(xt, a_prev, parameters)", returns=("tuple", "a_next", "yt_pred", "cache"),
                expect={"a_next[4]": [0.59584544, 0.18141802, 0.61311866, 0.99808218, 0.85016201,
                                      0.99980978, -0.18887155, 0.99815551, 0.6531151, 0.82872037],
                        "a_next.shape": (5, 10),
                        "yt_pred[1]": [0.9888161, 0.01682021, 0.21140899, 0.36817467, 0.98988387,
                                       0.88945212, 0.36920224, 0.9966312, 0.9982559, 0.17746526],
                        "yt_pred.shape": (2, 10)},
                hints=RNN_CELL_HINTS),
    ]),
    Unit("rnn_forward", [
        Example("published example (seed 1)", sequence_inputs(FORWARD_ORDER),
                call="rnn_forward(x, a0, parameters)", returns=("tuple", "a", "y_pred", "caches"),
                expect={"a[4][1]": [-0.99999375, 0.77911235, -0.99861469, -0.99833267], "a.shape": (5, 10, 4),
                        "y_pred[1][3]": [0.79560373, 0.86224861, 0.11118257, 0.81515947],
                        "y_pred.shape": (2, 10, 4)},
                hints={"a": "feed x[:, :, t] and the previous step's a_next to rnn_cell_forward, store a_next in a[:, :, t]",
                       "y_pred": "store each step's prediction in y_pred[:, :, t]"}),
        Example("public test (seed 17)", sequence_inputs(FORWARD_ORDER, seed=17, n_x=4, m=8, T_x=13, n_a=7, n_y=3),
                call="rnn_forward(x, a0, parameters)", returns=("tuple", "a", "y_pred", "caches"),
                expect={"a.shape": (7, 8, 13), "y_pred.shape": (3, 8, 13),
                        "a[5, 2, 2:6]": [0.99999291, 0.99332189, 0.9921928, 0.99503445],
                        "y_pred[2, 1, 1:5]": [0.19428, 0.14292, 0.24993, 0.00119]},
                hints={"a": "take n_a and n_y from parameters['Wya'].shape and T_x from x.shape",
                       "y_pred": "store each step's prediction in y_pred[:, :, t]"},
                atol=1e-4),
    ], needs=("rnn_cell_forward",)),
    Unit("rnn_cell_backward", [
        Example("published example (seed 1)", cell_inputs(BACKWARD_ORDER),
                setup="_, _, cache = rnn_cell_forward(xt, a_prev, parameters)",
                call="rnn_cell_backward(da_next, cache)",
                returns=("dict", "dxt", "da_prev", "dWax", "dWaa", "dba"),
                expect={"dxt[1][2]": -1.3872130506020928, "dxt.shape": (3, 10),
                        "da_prev[2][3]": -0.152399493774, "da_prev.shape": (5, 10),
                        "dWax[3][1]": 0.410772824935, "dWax.shape": (5, 3),
                        "dWaa[1][2]": 1.15034506685, "dWaa.shape": (5, 5),
                        "dba[4]": [0.20023491], "dba.shape": (5, 1)},
                hints=RNN_BACKWARD_HINTS),
        Example("numerical gradient check", gradcheck_inputs(_grad_rnn_cell, **GRAD_CELL),
                setup="_, _, cache = rnn_cell_forward(xt, a_prev, parameters)",
                call="rnn_cell_backward(da_next, cache)",
                returns=("dict", "dxt", "da_prev", "dWax", "dWaa", "dba"),
                gradcheck=GradCheck("rnn_cell_forward(xt, a_prev, parameters)[0]", upstream="da_next",
                                    wrt={"xt": "dxt", "a_prev": "da_prev", **RNN_GRADS}),
                hints=RNN_BACKWARD_HINTS),
    ], needs=("rnn_cell_forward",)),
    Unit("rnn_backward", [
        Example("published example (seed 1)", sequence_inputs(BACKWARD_ORDER),
                setup="_, _, caches = rnn_forward(x, a0, parameters)",
                call="rnn_backward(da, caches)",
                returns=("dict", "dx", "da0", "dWax", "dWaa", "dba"),
                expect={"dx[1][2]": [-2.07101689, -0.59255627, 0.02466855, 0.01483317], "dx.shape": (3, 10, 4),
                        "da0[2][3]": -0.314942375127, "da0.shape": (5, 10),
                        "dWax[3][1]": 11.2641044965, "dWax.shape": (5, 3),
                        "dWaa[1][2]": 2.30333312658, "dWaa.shape": (5, 5),
                        "dba[4]": [-0.74747722], "dba.shape": (5, 1)},
                hints={**RNN_BACKWARD_HINTS, **SEQUENCE_BACKWARD_HINTS}),
        Example("numerical gradient check", gradcheck_inputs(_grad_rnn_sequence, **GRAD_SEQUENCE),
                setup="_, _, caches = rnn_forward(x, a0, parameters)",
                call="rnn_backward(da, caches)",
                returns=("dict", "dx", "da0", "dWax", "dWaa", "dba"),
                gradcheck=GradCheck("rnn_forward(x, a0, parameters)[0]", upstream="da",
                                    wrt={"x": "dx", "a0": "da0", **RNN_GRADS}),
                hints={**RNN_BACKWARD_HINTS, **SEQUENCE_BACKWARD_HINTS}),
    ], needs=("rnn_forward", "rnn_cell_backward")),
    Unit("lstm_cell_forward", [
        Example("published example (seed 1)", lstm_cell_inputs(),
                call="lstm_cell_forward(xt, a_prev, c_prev, parameters)",
                returns=("tuple", "a_next", "c_next", "yt", "cache"),
                expect={"a_next[4]": [-0.66408471, 0.0036921, 0.02088357, 0.22834167, -0.85575339,
                                      0.00138482, 0.76566531, 0.34631421, -0.00215674, 0.43827275],
                        "a_next.shape": (5, 10),
                        "c_next[2]": [0.63267805, 1.00570849, 0.35504474, 0.20690913, -1.64566718,
                                      0.11832942, 0.76449811, -0.0981561, -0.74348425, -0.26810932],
                        "c_next.shape": (5, 10),
                        "yt[1]": [0.79913913, 0.15986619, 0.22412122, 0.15606108, 0.97057211,
                                  0.31146381, 0.00943007, 0.12666353, 0.39380172, 0.07828381],
                        "yt.shape": (2, 10)},
                hints=LSTM_HINTS),
        Example("public test (seed 212)", lstm_cell_inputs(seed=212, n_x=4, m=8, n_a=7, n_y=3),
                call="lstm_cell_forward(xt, a_prev, c_prev, parameters)",
                returns=("tuple", "a_next", "c_next", "yt_pred", "cache"),
                expect={"a_next[0, 0:2]": [0.10053951, 0.27129536], "c_next[0, 0:2]": [0.1352798, 0.39884899],
                        "yt_pred[1]": [0.417098, 0.449528, 0.223159, 0.278376, 0.68453, 0.419221, 0.564025, 0.538475],
                        "a_next.shape": (7, 8), "c_next.shape": (7, 8), "yt_pred.shape": (3, 8)},
                hints=LSTM_HINTS, atol=1e-5),
    ]),
    Unit("lstm_forward", [
        Example("published example (seed 1)", lstm_sequence_inputs(),
                call="lstm_forward(x, a0, parameters)", returns=("tuple", "a", "y", "c", "caches"),
                expect={"a[4][3][6]": 0.172117767533, "a.shape": (5, 10, 7),
                        "y[1][4][3]": 0.95087346185, "y.shape": (2, 10, 7),
                        "c[1][2][1]": -0.855544916718, "c.shape": (5, 10, 7)},
                hints=LSTM_HINTS),
        Example("public test (seed 45)", lstm_sequence_inputs(seed=45, n_x=4, m=13, T_x=16, n_a=3, n_y=2),
                call="lstm_forward(x, a0, parameters)", returns=("tuple", "a", "y", "c", "caches"),
                expect={"a.shape": (3, 13, 16), "c.shape": (3, 13, 16), "y.shape": (2, 13, 16),
                        "a[2, 1, 4:6]": [-0.01606022, 0.0243569], "c[2, 1, 4:6]": [-0.02753855, 0.05668358],
                        "y[1, 1, 4:6]": [0.70444592, 0.70648935]},
                hints=LSTM_HINTS),
    ], needs=("lstm_cell_forward",)),
    Unit("lstm_cell_backward", [
        Example("published example (seed 1)", lstm_cell_inputs(),
                setup="_, _, _, cache = lstm_cell_forward(xt, a_prev, c_prev, parameters)",
                call="lstm_cell_backward(da_next, dc_next, cache)",
                returns=("dict", "dxt", "da_prev", "dc_prev", "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo"),
                expect={"dxt[1][2]": 3.23055911511, "dxt.shape": (3, 10),
                        "da_prev[2][3]": -0.0639621419711, "da_prev.shape": (5, 10),
                        "dc_prev[2][3]": 0.797522038797, "dc_prev.shape": (5, 10),
                        "dWf[3][1]": -0.147954838164, "dWi[1][2]": 1.05749805523,
                        "dWc[3][1]": 2.30456216369, "dWo[1][2]": 0.331311595289,
                        "dWf.shape": (5, 8), "dWi.shape": (5, 8), "dWc.shape": (5, 8), "dWo.shape": (5, 8),
                        "dbf[4]": [0.18864637], "dbi[4]": [-0.40142491], "dbc[4]": [0.25587763],
                        "dbo[4]": [0.13893342],
                        "dbf.shape": (5, 1), "dbi.shape": (5, 1), "dbc.shape": (5, 1), "dbo.shape": (5, 1)},
                hints=LSTM_BACKWARD_HINTS),
        Example("numerical gradient check", gradcheck_inputs(_grad_lstm_cell, **GRAD_CELL),
                setup="_, _, _, cache = lstm_cell_forward(xt, a_prev, c_prev, parameters)",
                call="lstm_cell_backward(da_next, dc_next, cache)",
                returns=("dict", "dxt", "da_prev", "dc_prev", "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo"),
                gradcheck=GradCheck("lstm_cell_forward(xt, a_prev, c_prev, parameters)[:2]",
                                    upstream=("da_next", "dc_next"),
                                    wrt={"xt": "dxt", "a_prev": "da_prev", "c_prev": "dc_prev", **LSTM_GRADS}),
                hints=LSTM_BACKWARD_HINTS),
    ], needs=("lstm_cell_forward",)),
    Unit("lstm_backward", [
        Example("published example (seed 1)", lstm_sequence_inputs(output=False, da_steps=4),
                setup="_, _, _, caches = lstm_forward(x, a0, parameters)",
                call="lstm_backward(da, caches)",
                returns=("dict", "dx", "da0", "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo"),
                expect={"dx[1][2]": [0.00218254, 0.28205375, -0.48292508, -0.43281115], "dx.shape": (3, 10, 4),
                        "da0[2][3]": 0.312770310257, "da0.shape": (5, 10),
                        "dWf[3][1]": -0.0809802310938, "dWi[1][2]": 0.40512433093,
                        "dWc[3][1]": -0.0793746735512, "dWo[1][2]": 0.038948775763,
                        "dWf.shape": (5, 8), "dWi.shape": (5, 8), "dWc.shape": (5, 8), "dWo.shape": (5, 8),
                        "dbf[4]": [-0.15745657], "dbi[4]": [-0.50848333], "dbc[4]": [-0.42510818],
                        "dbo[4]": [-0.17958196],
                        "dbf.shape": (5, 1), "dbi.shape": (5, 1), "dbc.shape": (5, 1), "dbo.shape": (5, 1)},
                hints=LSTM_BACKWARD_HINTS),
        Example("numerical gradient check", gradcheck_inputs(_grad_lstm_sequence, **GRAD_SEQUENCE),
                setup="_, _, _, caches = lstm_forward(x, a0, parameters)",
                call="lstm_backward(da, caches)",
                returns=("dict", "dx", "da0", "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo"),
                gradcheck=GradCheck("lstm_forward(x, a0, parameters)[0]", upstream="da",
                                    wrt={"x": "dx", "a0": "da0", **LSTM_GRADS}),
                hints=LSTM_BACKWARD_HINTS),
    ], needs=("lstm_forward", "lstm_cell_backward")),
]
