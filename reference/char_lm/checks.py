"""Public self-checks of `char_lm` (family B with seed 000's names, docs/ASSIGNMENTS.md
sections 2 and B.6).

Published values: B.6 clip_test (seed 3), sample_test (seed 24) and optimize_test
(seed 1), with the hidden bias named `ba` as in our assignment. optimize's published
loss is the loss of rnn_forward on its inputs, and its published gradient entries are
all inside the clipping range, so they are also rnn_backward's values on those inputs.
Units without published values get hand-computed examples (zero weights make the
expected values easy to derive) and a numerical gradient check of the student's own
backward against their own forward.
"""
import numpy as np

from autograder.selfcheck.runner import Example, GradCheck, Unit

CHAR_TO_IX = {ch: i for i, ch in enumerate("\nabcdefghijklmnopqrstuvwxyz")}
GRAD_KEYS = ("dWaa", "dWax", "dWya", "dba", "dby")


def _parameters(draw, n_a, vocab_size):
    # B.6 draw order: Wax, Waa, Wya, then the biases.
    return {"Wax": draw(n_a, vocab_size), "Waa": draw(n_a, n_a), "Wya": draw(vocab_size, n_a),
            "ba": draw(n_a, 1), "by": draw(vocab_size, 1)}


def clip_inputs(max_value):
    def inputs():
        np.random.seed(3)
        gradients = {"dWax": np.random.randn(5, 3) * 10, "dWaa": np.random.randn(5, 5) * 10,
                     "dWya": np.random.randn(2, 5) * 10, "dba": np.random.randn(5, 1) * 10,
                     "dby": np.random.randn(2, 1) * 10}
        return {"gradients": gradients, "maxValue": max_value}
    return inputs


def clip_contract_inputs():
    inputs = clip_inputs(5)()
    inputs["gradients"]["da_next"] = np.full((5, 1), 7.0)
    return inputs


def sample_inputs():
    np.random.seed(24)
    return {"parameters": _parameters(np.random.randn, 100, 27), "char_to_ix": dict(CHAR_TO_IX), "seed": 0}


def optimize_inputs():
    np.random.seed(1)
    a_prev = np.random.randn(100, 1)  # drawn first
    return {"a_prev": a_prev, "parameters": _parameters(np.random.randn, 100, 27),
            "X": [12, 3, 5, 11, 22, 3], "Y": [4, 14, 11, 22, 25, 26], "learning_rate": 0.01, "vocab_size": 27}


def softmax_inputs(shift=0.0):
    def inputs():
        return {"x": np.log(np.array([[1.0, 2.0], [1.0, 3.0], [2.0, 5.0]])) + shift}
    return inputs


def zero_weight_inputs():
    """n_a = 2, vocabulary of 3: with zero weights a_next = tanh(ba), y_pred = softmax(by)."""
    return {"xt": np.array([[0.0], [1.0], [0.0]]), "a_prev": np.array([[0.4], [-0.7]]),
            "parameters": {"Wax": np.zeros((2, 3)), "Waa": np.zeros((2, 2)), "Wya": np.zeros((3, 2)),
                           "ba": np.arctanh(np.array([[0.5], [-0.25]])), "by": np.log(np.array([[1.0], [2.0], [5.0]]))}}


def uniform_sequence_inputs():
    """Zero weights: every prediction is uniform over 4 characters, so loss = 3 log 4."""
    return {"X": [None, 1, 2], "Y": [1, 2, 0], "a0": np.zeros((3, 1)), "vocab_size": 4,
            "parameters": {"Wax": np.zeros((3, 4)), "Waa": np.zeros((3, 3)), "Wya": np.zeros((4, 3)),
                           "ba": np.zeros((3, 1)), "by": np.zeros((4, 1))}}


def _random_parameters(rng, n_a, vocab_size):
    return {"Wax": rng.randn(n_a, vocab_size) * 0.5, "Waa": rng.randn(n_a, n_a) * 0.5,
            "Wya": rng.randn(vocab_size, n_a) * 0.5, "ba": rng.randn(n_a, 1) * 0.5, "by": rng.randn(vocab_size, 1) * 0.5}


def cell_backward_inputs():
    """One step: dy is the gradient of the scores, da_in the gradient reaching a from the
    next step. Zero accumulators, so the outputs are this step's gradients."""
    rng = np.random.RandomState(5)
    n_a, vocab_size = 3, 5
    parameters = _random_parameters(rng, n_a, vocab_size)
    x = np.eye(vocab_size)[:, [2]]  # one-hot input
    a_prev, dy, da_in = rng.randn(n_a, 1), rng.randn(vocab_size, 1), rng.randn(n_a, 1)
    gradients = {"dWax": np.zeros((n_a, vocab_size)), "dWaa": np.zeros((n_a, n_a)), "dWya": np.zeros((vocab_size, n_a)),
                 "dba": np.zeros((n_a, 1)), "dby": np.zeros((vocab_size, 1)), "da_next": da_in.copy()}
    return {"parameters": parameters, "x": x, "a_prev": a_prev, "dy": dy, "da_in": da_in, "gradients": gradients}


def sequence_gradcheck_inputs():
    rng = np.random.RandomState(6)
    n_a, vocab_size = 3, 5
    return {"parameters": _random_parameters(rng, n_a, vocab_size), "a0": rng.randn(n_a, 1),
            "X": [None, 3, 1, 4], "Y": [3, 1, 4, 0], "vocab_size": vocab_size}


def update_inputs():
    parameters = {"Wax": np.full((2, 3), 1.0), "Waa": np.full((2, 2), 2.0), "Wya": np.full((3, 2), 3.0),
                  "ba": np.full((2, 1), -1.0), "by": np.full((3, 1), 0.0)}
    gradients = {"dWax": np.full((2, 3), 1.0), "dWaa": np.full((2, 2), -2.0), "dWya": np.full((3, 2), 4.0),
                 "dba": np.full((2, 1), 2.0), "dby": np.full((3, 1), -1.0)}
    return {"parameters": parameters, "gradients": gradients, "lr": 0.5}


PARAMETER_GRADS = {"parameters['Wax']": "dWax", "parameters['Waa']": "dWaa", "parameters['Wya']": "dWya",
                   "parameters['ba']": "dba", "parameters['by']": "dby"}
CELL_OBJECTIVE = ("np.sum(dy * (parameters['Wya'] @ (h := rnn_cell_forward(x, a_prev, parameters)[0]) "
                  "+ parameters['by'])) + np.sum(da_in * h)")
GRADIENT_EXTRAS = {k: f"gradients['{k}']" for k in GRAD_KEYS}
BACKWARD_HINTS = {
    "dWya": "the score gradient dy reaches Wya through a: add dy @ a.T",
    "dby": "add dy itself to dby",
    "dWax": "go back through tanh first: (1 - a**2) * (Wya.T @ dy + da_next)",
    "dWaa": "the recurrent weight's gradient uses the previous hidden state a_prev",
    "dba": "the hidden bias gets the gradient behind the tanh",
    "da_next": "da_next becomes the gradient w.r.t. a_prev (through Waa); it replaces, not adds",
}

UNITS = [
    Unit("softmax", [
        Example("hand-computed example", softmax_inputs(), call="softmax(x)", returns=("value", "p"),
                expect={"p": [[0.25, 0.2], [0.25, 0.3], [0.5, 0.5]], "p.shape": (3, 2)},
                hints={"p": "exponentiate, then divide each column by its sum (normalise over axis 0)"}),
        Example("large scores (no overflow)", softmax_inputs(shift=1000.0), call="softmax(x)", returns=("value", "p"),
                expect={"p": [[0.25, 0.2], [0.25, 0.3], [0.5, 0.5]]},
                hints={"p": "subtract the maximum before np.exp so that large scores do not overflow"}),
    ]),
    Unit("rnn_cell_forward", [
        Example("hand-computed example (zero weights)", zero_weight_inputs,
                call="rnn_cell_forward(xt, a_prev, parameters)", returns=("tuple", "a_next", "y_pred"),
                expect={"a_next": [[0.5], [-0.25]], "y_pred": [[0.125], [0.25], [0.625]],
                        "a_next.shape": (2, 1), "y_pred.shape": (3, 1)},
                hints={"a_next": "a_next is tanh(Wax @ xt + Waa @ a_prev + ba): with zero weights only ba is left",
                       "y_pred": "y_pred is softmax(Wya @ a_next + by) (parameters come last in this signature)"}),
    ], needs=("softmax",)),
    Unit("rnn_forward", [
        Example("hand-computed example (uniform predictions)", uniform_sequence_inputs,
                call="rnn_forward(X, Y, a0, parameters, vocab_size)", returns=("tuple", "loss", "cache"),
                expect={"loss": 4.1588830833596715},
                hints={"loss": "the loss adds -log(y_hat[t][Y[t], 0]) over the time steps (a sum, not a mean); "
                               "X[t] None is a zero input vector"}),
        Example("published example (optimize_test, seed 1)", optimize_inputs,
                call="rnn_forward(X, Y, a_prev, parameters, vocab_size)", returns=("tuple", "loss", "cache"),
                expect={"loss": 126.50397572165389},
                hints={"loss": "one-hot x[t] from X[t], a[t] from a[t-1] (starting at a_prev), "
                               "loss summed over t of -log y_hat[t][Y[t], 0]"}),
    ], needs=("rnn_cell_forward",)),
    Unit("rnn_cell_backward", [
        Example("numerical gradient check", cell_backward_inputs,
                setup="a, _ = rnn_cell_forward(x, a_prev, parameters)",
                call="rnn_cell_backward(dy, gradients, parameters, x, a, a_prev)",
                returns=("dict", "dWax", "dWaa", "dWya", "dba", "dby", "da_next"),
                expect={"dWax.shape": (3, 5), "dWaa.shape": (3, 3), "dWya.shape": (5, 3), "dba.shape": (3, 1),
                        "dby.shape": (5, 1), "da_next.shape": (3, 1)},
                gradcheck=GradCheck(CELL_OBJECTIVE, wrt={**PARAMETER_GRADS, "a_prev": "da_next"}),
                hints=BACKWARD_HINTS),
    ], needs=("rnn_cell_forward",)),
    Unit("rnn_backward", [
        Example("published example (optimize_test, seed 1)", optimize_inputs,
                setup="_, cache = rnn_forward(X, Y, a_prev, parameters, vocab_size)",
                call="rnn_backward(X, Y, parameters, cache)", returns=("tuple", "gradients", "a"),
                extras=GRADIENT_EXTRAS,
                expect={"dWaa[1][2]": 0.19470931534713587, "dWya[1][2]": -0.007773876032002162,
                        "dba[4]": [-0.06809825], "dby[1]": [0.01538192],
                        "dWax.shape": (100, 27), "dWaa.shape": (100, 100), "dWya.shape": (27, 100)},
                hints={**BACKWARD_HINTS,
                       "gradients": "start every accumulator at zeros and go through the steps in reverse"}),
        Example("numerical gradient check", sequence_gradcheck_inputs,
                setup="_, cache = rnn_forward(X, Y, a0, parameters, vocab_size)",
                call="rnn_backward(X, Y, parameters, cache)", returns=("tuple", "gradients", "a"),
                extras={**GRADIENT_EXTRAS, "da_next": "gradients['da_next']"},
                gradcheck=GradCheck("rnn_forward(X, Y, a0, parameters, vocab_size)[0]",
                                    wrt={**PARAMETER_GRADS, "a0": "da_next"}),
                hints={**BACKWARD_HINTS, "dby": "dy is y_hat[t] with 1 subtracted at row Y[t]"}),
    ], needs=("rnn_forward", "rnn_cell_backward")),
    Unit("clip", [
        Example("published example (clip_test, seed 3, maxValue 10)", clip_inputs(10),
                call="clip(gradients, maxValue)", returns=("dict",) + GRAD_KEYS, unchanged=("gradients",),
                expect={"dWaa[1][2]": 10.0, "dWax[3][1]": -10.0, "dWya[1][2]": 0.2971381536101662,
                        "dba[4]": [10.0], "dby[1]": [8.45833407]},
                hints={"dWaa": "clip every entry to [-maxValue, maxValue] (np.clip)",
                       "dWax": "clip every entry to [-maxValue, maxValue] (np.clip)",
                       "gradients": "work on copies (np.clip without out=, or a deep copy first)"}),
        Example("published example (clip_test, seed 3, maxValue 5)", clip_inputs(5),
                call="clip(gradients, maxValue)", returns=("dict",) + GRAD_KEYS, unchanged=("gradients",),
                expect={"dWaa[1][2]": 5.0, "dWax[3][1]": -5.0, "dWya[1][2]": 0.2971381536101662,
                        "dba[4]": [5.0], "dby[1]": [5.0]},
                hints={"dWaa": "use maxValue, not a fixed bound", "dby": "use maxValue, not a fixed bound",
                       "gradients": "work on copies (np.clip without out=, or a deep copy first)"}),
        Example("keys of the result", clip_contract_inputs,
                call="clip(gradients, maxValue)", returns=("dict",) + GRAD_KEYS,
                extras={"keys": "sorted(result)"},
                expect={"keys": sorted(GRAD_KEYS)},
                hints={"keys": "return a new dict with exactly dWaa, dWax, dWya, dba, dby (no da_next)"}),
    ]),
    Unit("update_parameters", [
        Example("hand-computed example", update_inputs,
                call="update_parameters(parameters, gradients, lr)", returns=("value", "updated"),
                expect={"updated['Wax']": np.full((2, 3), 0.5).tolist(), "updated['Waa']": np.full((2, 2), 3.0).tolist(),
                        "updated['Wya']": np.full((3, 2), 1.0).tolist(), "updated['ba']": [[-2.0], [-2.0]],
                        "updated['by']": [[0.5], [0.5], [0.5]],
                        "parameters['Wya']": np.full((3, 2), 1.0).tolist()},
                hints={"updated": "each parameter moves by -lr times its gradient",
                       "parameters": "update the caller's arrays in place (e.g. with -=) and return the same dict"}),
    ]),
    Unit("sample", [
        Example("published example (sample_test, seed 24)", sample_inputs,
                call="sample(parameters, char_to_ix, seed)", returns=("value", "indices"),
                expect={"indices": [23, 16, 26, 26, 24, 3, 21, 1, 7, 24, 15, 3, 25, 20, 6, 13, 10, 8, 20, 12, 2, 0]},
                hints={"indices": "re-seed NumPy with counter + seed just before each np.random.choice "
                                  "over range(vocab_size) with p=y.ravel(); add 1 to seed and counter after each step; "
                                  "no other random draws"}),
    ], needs=("softmax",)),
    Unit("optimize", [
        Example("published example (optimize_test, seed 1)", optimize_inputs,
                setup="Wya_before = parameters['Wya'].copy()",
                call="optimize(X, Y, a_prev, parameters, learning_rate)", returns=("tuple", "loss", "gradients", "a_last"),
                extras={**GRADIENT_EXTRAS, "moved": "not np.array_equal(parameters['Wya'], Wya_before)"},
                expect={"loss": 126.50397572165389, "dWaa[1][2]": 0.19470931534713587,
                        "np.argmax(dWax)": 93, "dWya[1][2]": -0.007773876032002162,
                        "dba[4]": [-0.06809825], "dby[1]": [0.01538192], "a_last[4]": [-1.0], "moved": True},
                hints={"loss": "return the loss of the forward pass",
                       "dWax": "clip the gradients to 5 before the update",
                       "a_last": "return a[len(X) - 1], the last hidden state",
                       "moved": "update the parameters in place with update_parameters"}),
    ], needs=("rnn_forward", "rnn_backward", "clip", "update_parameters")),
]
