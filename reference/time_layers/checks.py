"""Public self-checks of `time_layers` (family D, docs/ASSIGNMENTS.md D.2-D.4).

Family D publishes no numbers; D.3 gives anchor values from runs of the official file
(TimeRNN seed 0, TimeLSTM seed 1, TimeSoftmaxWithLoss seed 2), used here as published
values. The single-step layers get small hand-computed examples from D.2's formulas.
Every backward method is checked numerically against the student's own forward, and
checked to write its gradients into the existing arrays of `grads` (D.4).
"""
import numpy as np

from autograder.selfcheck.runner import Example, GradCheck, Unit

F32 = dict(rtol=1e-5, atol=1e-6)  # values printed from a float32 run
# float32 outputs (TimeRNN, TimeLSTM, TimeEmbedding) limit a float64 central difference
F32_GRADCHECK = dict(tol=1e-3, step=1e-3)
KEPT = "[g is k for g, k in zip(layer.grads, grads_before)]"
KEEP_HINT = "write each gradient into its existing array (self.grads[k][...] = value), do not rebind self.grads[k]"


def rnn_step_example():
    return {"x": np.array([[0.1, 0.2]]), "h_prev": np.array([[0.3, -0.1]]),
            "Wx": np.array([[1.0, 0.0], [0.0, 1.0]]), "Wh": np.array([[0.0, 2.0], [1.0, 0.0]]),
            "b": np.array([0.05, 0.0])}


def lstm_step_example():
    """Zero weights, so the gate pre-activations are the bias blocks f, g, i, o = 1, 0.5, -1, 2."""
    return {"x": np.array([[0.7, -0.2]]), "h_prev": np.array([[0.4]]), "c_prev": np.array([[0.3]]),
            "Wx": np.zeros((2, 4)), "Wh": np.zeros((1, 4)), "b": np.array([1.0, 0.5, -1.0, 2.0])}


def time_published(seed, gates):
    """The D.3 anchor runs: seed, then draw Wx, Wh, b, xs, dhs in float32 (N, T, D, H = 2, 3, 4, 5)."""
    def inputs():
        np.random.seed(seed)
        N, T, D, H = 2, 3, 4, 5
        Wx = np.random.randn(D, gates * H).astype('f')
        Wh = np.random.randn(H, gates * H).astype('f')
        b = np.random.randn(gates * H).astype('f')
        xs = np.random.randn(N, T, D).astype('f')
        return {"Wx": Wx, "Wh": Wh, "b": b, "xs": xs, "dhs": np.random.randn(N, T, H).astype('f')}
    return inputs


time_rnn_published = time_published(seed=0, gates=1)
time_lstm_published = time_published(seed=1, gates=4)


def softmax_published():
    np.random.seed(2)
    return {"xs": np.random.randn(2, 3, 6).astype('f'), "ts": np.array([[0, 1, -1], [5, 2, 3]])}


def uniform_scores():
    return {"xs": np.zeros((2, 2, 4)), "ts": np.array([[1, -1], [3, 0]])}


def embedding_example():
    return {"W": np.arange(15, dtype=np.float64).reshape(5, 3), "xs": np.array([[0, 3, 1], [2, 2, 4]])}


def affine_example():
    return {"x": np.array([[[1.0, 2.0], [3.0, 4.0]]]), "W": np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]),
            "b": np.array([0.5, 0.0, -1.0])}


# Small float64 cases of our own for the numerical gradient checks.
def _gradcheck_case(seed, N=2, T=3, D=3, H=4, gates=1, V=6):
    def inputs():
        rng = np.random.RandomState(seed)
        G = gates * H
        return {"x": rng.randn(N, D), "h_prev": rng.randn(N, H), "c_prev": rng.randn(N, H),
                "xs": rng.randn(N, T, D), "Wx": rng.randn(D, G) * 0.5, "Wh": rng.randn(H, G) * 0.5,
                "b": rng.randn(G) * 0.5, "dh_next": rng.randn(N, H), "dc_next": rng.randn(N, H),
                "dhs": rng.randn(N, T, H), "W": rng.randn(V, D), "ids": rng.randint(V, size=(N, T)),
                "dout": rng.randn(N, T, D), "Wa": rng.randn(D, H), "ba": rng.randn(H),
                "dya": rng.randn(N, T, H), "scores": rng.randn(N, T, V),
                "targets": np.where(rng.rand(N, T) < 0.3, -1, rng.randint(V, size=(N, T)))}
    return inputs


GRADS = {"Wx": "dWx", "Wh": "dWh", "b": "db"}
GRAD_EXTRAS = {"dWx": "layer.grads[0]", "dWh": "layer.grads[1]", "db": "layer.grads[2]", "kept": KEPT}
BEFORE = "grads_before = list(layer.grads)\n"
RNN_HINTS = {
    "h_next": "h_next is tanh(h_prev @ Wh + x @ Wx + b)",
    "dx": "go back through tanh first (multiply dh_next by 1 - h_next**2), then by Wx transposed on the right",
    "dh_prev": "dh_prev multiplies the gradient behind the tanh by Wh transposed",
    "dWx": "dWx is x.T @ (gradient behind the tanh)", "dWh": "dWh is h_prev.T @ (gradient behind the tanh)", "db": "db sums dt over the batch (axis 0)",
    "kept": KEEP_HINT,
}
TIME_HINTS = {
    "hs": "one RNN/LSTM object per step sharing self.params; h starts at zeros unless stateful; "
          "hs is allocated as float32 (dtype='f')",
    "dxs": "step t gets dhs[:, t, :] plus the gradient carried back from step t+1",
    "dh": "keep the gradient carried out of the first step in self.dh",
    "db": "the steps share the parameters: add up the per-step grads, then write the sums into self.grads",
    "dWx": "the steps share the parameters: add up the per-step grads",
    "dWh": "the steps share the parameters: add up the per-step grads",
    "kept": KEEP_HINT,
}
LSTM_HINTS = {
    "h_next": "the 4H axis holds the gate blocks in the order f, g, i, o; h_next = o * tanh(c_next)",
    "c_next": "c_next is f * c_prev plus g * i, gate blocks in the order f, g, i, o (tanh on g only)",
    "dx": "dA stacks df, dg, di, do in that order; dx = dA @ Wx.T",
    "dc_prev": "dc_prev is f times the total cell gradient dc_next + dh_next * o * (1 - tanh(c_next)**2)",
    "kept": KEEP_HINT,
}

UNITS = [
    Unit("RNN.forward", [
        Example("hand-computed example", rnn_step_example, setup="layer = RNN(Wx, Wh, b)",
                call="layer.forward(x, h_prev)", returns=("value", "h_next"),
                expect={"h_next": [[0.04995837, 0.66403677]], "h_next.shape": (1, 2)}, hints=RNN_HINTS),
    ]),
    Unit("RNN.backward", [
        Example("numerical gradient check", _gradcheck_case(11),
                setup="layer = RNN(Wx, Wh, b)\nlayer.forward(x, h_prev)\n" + BEFORE,
                call="layer.backward(dh_next)", returns=("tuple", "dx", "dh_prev"), extras=GRAD_EXTRAS,
                expect={"kept": [True, True, True], "dx.shape": (2, 3), "dh_prev.shape": (2, 4)},
                gradcheck=GradCheck("RNN(Wx, Wh, b).forward(x, h_prev)", upstream="dh_next",
                                    wrt={"x": "dx", "h_prev": "dh_prev", **GRADS}),
                hints=RNN_HINTS),
    ], needs=("RNN.forward",)),
    Unit("TimeRNN.forward", [
        Example("published example (D.3, seed 0)", time_rnn_published, setup="layer = TimeRNN(Wx, Wh, b)",
                call="layer.forward(xs)", returns=("value", "hs"), extras={"dtype": "str(hs.dtype)"},
                expect={"hs[1, 2]": [0.99964786, -0.9294681, 0.99830216, -0.76930076, 0.7463819],
                        "hs.shape": (2, 3, 5), "dtype": "float32"},
                hints=TIME_HINTS, **F32),
    ], needs=("RNN.forward",)),
    Unit("TimeRNN.backward", [
        Example("published example (D.3, seed 0)", time_rnn_published,
                setup="layer = TimeRNN(Wx, Wh, b)\nlayer.forward(xs)\n" + BEFORE,
                call="layer.backward(dhs)", returns=("value", "dxs"), extras={**GRAD_EXTRAS, "dh": "layer.dh"},
                expect={"dxs[0, 0]": [-2.1506464, 0.15592614, -1.4379534, 0.5645404], "dxs.shape": (2, 3, 4),
                        "db": [-0.19992137, -0.46363717, 0.70603895, -0.49834383, -0.89735734],
                        "dh[0]": [-2.078429, -0.0409019, 1.6358798, -2.0267868, 3.0961268], "kept": [True, True, True]},
                hints=TIME_HINTS, **F32),
        Example("numerical gradient check", _gradcheck_case(12),
                setup="layer = TimeRNN(Wx, Wh, b)\nlayer.forward(xs)\n" + BEFORE,
                call="layer.backward(dhs)", returns=("value", "dxs"), extras=GRAD_EXTRAS,
                gradcheck=GradCheck("TimeRNN(Wx, Wh, b).forward(xs)", upstream="dhs",
                                    wrt={"xs": "dxs", **GRADS}, **F32_GRADCHECK),
                hints=TIME_HINTS),
    ], needs=("TimeRNN.forward", "RNN.backward")),
    Unit("TimeEmbedding.forward", [
        Example("hand-computed example", embedding_example, setup="layer = TimeEmbedding(W)",
                call="layer.forward(xs)", returns=("value", "out"),
                expect={"out[0]": [[0, 1, 2], [9, 10, 11], [3, 4, 5]], "out[1]": [[6, 7, 8], [6, 7, 8], [12, 13, 14]],
                        "out.shape": (2, 3, 3)},
                hints={"out": "out[:, t, :] holds the rows of W picked by xs[:, t] (one Embedding per step)"}),
    ]),
    Unit("TimeEmbedding.backward", [
        Example("numerical gradient check", _gradcheck_case(13, D=3),
                setup="layer = TimeEmbedding(W)\nlayer.forward(ids)\n" + BEFORE,
                call="layer.backward(dout)", returns=("none",),
                extras={"dW": "layer.grads[0]", "kept": "[layer.grads[0] is grads_before[0]]"},
                expect={"kept": [True], "dW.shape": (6, 3)},
                gradcheck=GradCheck("TimeEmbedding(W).forward(ids)", upstream="dout", wrt={"W": "dW"},
                                    **F32_GRADCHECK),
                hints={"dW": "every step looks up the same W: add the per-step gradients "
                             "(repeated indices add up too); backward returns None",
                       "kept": KEEP_HINT}),
    ], needs=("TimeEmbedding.forward",)),
    Unit("TimeAffine.forward", [
        Example("hand-computed example", affine_example, setup="layer = TimeAffine(W, b)",
                call="layer.forward(x)", returns=("value", "out"),
                expect={"out": [[[1.5, 2.0, 2.0], [3.5, 4.0, 6.0]]]},
                hints={"out": "fold time into the batch: (N*T, D) @ W + b, then back to (N, T, M)"}),
    ]),
    Unit("TimeAffine.backward", [
        Example("numerical gradient check", _gradcheck_case(14),
                setup="layer = TimeAffine(Wa, ba)\nlayer.forward(xs)\n" + BEFORE,
                call="layer.backward(dya)", returns=("value", "dx"),
                extras={"dW": "layer.grads[0]", "db": "layer.grads[1]",
                        "kept": KEPT},
                expect={"kept": [True, True], "dx.shape": (2, 3, 3)},
                gradcheck=GradCheck("TimeAffine(Wa, ba).forward(xs)", upstream="dya",
                                    wrt={"xs": "dx", "Wa": "dW", "ba": "db"}),
                hints={"dx": "dx = dout @ W.T, reshaped like x", "dW": "dW = x.T @ dout with time folded into the batch",
                       "db": "db sums over the batch and time", "kept": KEEP_HINT}),
    ], needs=("TimeAffine.forward",)),
    Unit("TimeSoftmaxWithLoss.forward", [
        Example("published example (D.3, seed 2)", softmax_published, setup="layer = TimeSoftmaxWithLoss()",
                call="layer.forward(xs, ts)", returns=("value", "loss"), expect={"loss": 2.6760120391845703},
                hints={"loss": "average over the positions whose target is not -1 (mask.sum()), "
                               "not over N or N*T"}, **F32),
        Example("hand-computed example (uniform scores)", uniform_scores, setup="layer = TimeSoftmaxWithLoss()",
                call="layer.forward(xs, ts)", returns=("value", "loss"), expect={"loss": 1.3862943611198906},
                hints={"loss": "with equal scores every valid position costs log V; ignored targets (-1) "
                               "add nothing and are not counted"}),
    ]),
    Unit("TimeSoftmaxWithLoss.backward", [
        Example("numerical gradient check", _gradcheck_case(15),
                setup="layer = TimeSoftmaxWithLoss()\nlayer.forward(scores, targets)",
                call="layer.backward()", returns=("value", "dxs"), expect={"dxs.shape": (2, 3, 6)},
                gradcheck=GradCheck("TimeSoftmaxWithLoss().forward(scores, targets)", wrt={"scores": "dxs"}),
                hints={"dxs": "dxs = (softmax - one-hot) * dout / mask.sum(), zero on ignored positions"}),
    ], needs=("TimeSoftmaxWithLoss.forward",)),
    Unit("LSTM.forward", [
        Example("hand-computed example (zero weights)", lstm_step_example, setup="layer = LSTM(Wx, Wh, b)",
                call="layer.forward(x, h_prev, c_prev)", returns=("tuple", "h_next", "c_next"),
                expect={"c_next": [[0.34360001870197004]], "h_next": [[0.2912686224031835]]}, hints=LSTM_HINTS),
    ]),
    Unit("LSTM.backward", [
        Example("numerical gradient check", _gradcheck_case(16, gates=4),
                setup="layer = LSTM(Wx, Wh, b)\nlayer.forward(x, h_prev, c_prev)\n" + BEFORE,
                call="layer.backward(dh_next, dc_next)", returns=("tuple", "dx", "dh_prev", "dc_prev"),
                extras=GRAD_EXTRAS, expect={"kept": [True, True, True], "dx.shape": (2, 3)},
                gradcheck=GradCheck("LSTM(Wx, Wh, b).forward(x, h_prev, c_prev)", upstream=("dh_next", "dc_next"),
                                    wrt={"x": "dx", "h_prev": "dh_prev", "c_prev": "dc_prev", **GRADS}),
                hints=LSTM_HINTS),
    ], needs=("LSTM.forward",)),
    Unit("TimeLSTM.forward", [
        Example("published example (D.3, seed 1)", time_lstm_published, setup="layer = TimeLSTM(Wx, Wh, b)",
                call="layer.forward(xs)", returns=("value", "hs"), extras={"dtype": "str(hs.dtype)"},
                expect={"hs[1, 2]": [-0.04286648, 0.02306523, 0.28266603, 0.84290755, 0.5365357],
                        "hs.shape": (2, 3, 5), "dtype": "float32"},
                hints=TIME_HINTS, **F32),
    ], needs=("LSTM.forward",)),
    Unit("TimeLSTM.backward", [
        Example("published example (D.3, seed 1)", time_lstm_published,
                setup="layer = TimeLSTM(Wx, Wh, b)\nlayer.forward(xs)\n" + BEFORE,
                call="layer.backward(dhs)", returns=("value", "dxs"), extras={**GRAD_EXTRAS, "dh": "layer.dh"},
                expect={"dxs[0, 0]": [0.07607721, -0.18924695, -0.09208352, -0.30407646],
                        "dh[0]": [-0.00510773, 0.24345614, 0.19397967, -0.4654919, 0.23926578],
                        "kept": [True, True, True]},
                hints=TIME_HINTS, **F32),
        Example("numerical gradient check", _gradcheck_case(17, gates=4),
                setup="layer = TimeLSTM(Wx, Wh, b)\nlayer.forward(xs)\n" + BEFORE,
                call="layer.backward(dhs)", returns=("value", "dxs"), extras=GRAD_EXTRAS,
                gradcheck=GradCheck("TimeLSTM(Wx, Wh, b).forward(xs)", upstream="dhs",
                                    wrt={"xs": "dxs", **GRADS}, **F32_GRADCHECK),
                hints=TIME_HINTS),
    ], needs=("TimeLSTM.forward", "LSTM.backward")),
]
