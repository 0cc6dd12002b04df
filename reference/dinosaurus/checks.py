"""Public self-checks of `dinosaurus` (docs/ASSIGNMENTS.md B.6: clip_test, sample_test,
optimize_test of the current notebook, each drawing its arrays in the cell's own order),
a numerical gradient check of what `optimize` returns against the loss of `rnn_forward`
(on a small case of our own, where nothing is clipped), and a short training run of
`model` on the released `dinos.txt` (our own published values)."""
from pathlib import Path

import numpy as np

from autograder.selfcheck.runner import Example, GradCheck, Unit

CHARS = ["\n"] + [chr(ord("a") + i) for i in range(26)]
CHAR_TO_IX = {c: i for i, c in enumerate(CHARS)}
GRADIENT_KEYS = ("dWaa", "dWax", "dWya", "db", "dby")


def clip_inputs(maxValue):
    def inputs():
        np.random.seed(3)
        return {"gradients": {"dWax": np.random.randn(5, 3) * 10, "dWaa": np.random.randn(5, 5) * 10,
                              "dWya": np.random.randn(2, 5) * 10, "db": np.random.randn(5, 1) * 10,
                              "dby": np.random.randn(2, 1) * 10},
                "maxValue": maxValue}
    return inputs


def sample_inputs():
    np.random.seed(24)
    n_a, vocab_size = 100, 27
    parameters = {"Wax": np.random.randn(n_a, vocab_size), "Waa": np.random.randn(n_a, n_a),
                  "Wya": np.random.randn(vocab_size, n_a)}
    parameters["b"], parameters["by"] = np.random.randn(n_a, 1), np.random.randn(vocab_size, 1)
    return {"parameters": parameters, "char_to_ix": dict(CHAR_TO_IX), "seed": 0}


def optimize_inputs():
    np.random.seed(1)
    a_prev = np.random.randn(100, 1)  # drawn first in the notebook's cell
    parameters = {"Wax": np.random.randn(100, 27), "Waa": np.random.randn(100, 100),
                  "Wya": np.random.randn(27, 100)}
    parameters["b"], parameters["by"] = np.random.randn(100, 1), np.random.randn(27, 1)
    return {"X": [12, 3, 5, 11, 22, 3], "Y": [4, 14, 11, 22, 25, 26], "a_prev": a_prev, "parameters": parameters,
            "learning_rate": 0.01, "Wya_before": parameters["Wya"].copy()}


def small_optimize_inputs():
    """Small weights and a short name: no gradient reaches the clipping bound of 5."""
    rng = np.random.RandomState(7)
    parameters = {"Wax": rng.randn(4, 27) * 0.3, "Waa": rng.randn(4, 4) * 0.3, "Wya": rng.randn(27, 4) * 0.3,
                  "b": rng.randn(4, 1) * 0.3, "by": rng.randn(27, 1) * 0.3}
    return {"X": [None, 4, 9, 14], "Y": [4, 9, 14, 0], "a_prev": rng.randn(4, 1), "parameters": parameters,
            "learning_rate": 0.01}


def model_inputs():
    # the released names file, next to this module (and to the notebook)
    names = Path(__file__).with_name("dinos.txt").read_text().split()
    return {"names": names, "ix_to_char": dict(enumerate(CHARS)), "char_to_ix": dict(CHAR_TO_IX),
            "num_iterations": 70, "n_a": 6, "dino_names": 2}


CLIP_HINTS = {name: "clip every value into [-maxValue, maxValue] (np.clip), and return only the five gradients"
              for name in GRADIENT_KEYS}
OPTIMIZE_HINTS = {
    "loss": "the loss comes from rnn_forward(X, Y, a_prev, parameters), before the update",
    "dWaa": "gradients from rnn_backward, then clip(gradients, 5)",
    "dWax": "gradients from rnn_backward, then clip(gradients, 5)",
    "dWya": "gradients from rnn_backward, then clip(gradients, 5)",
    "db": "gradients from rnn_backward, then clip(gradients, 5)",
    "dby": "gradients from rnn_backward, then clip(gradients, 5)",
    "a_last": "return a[len(X)-1], the hidden state of the last step",
    "moved": "update_parameters(parameters, gradients, learning_rate) changes the parameters in place",
}
MODEL_CALL = ("(_result[0] if isinstance(_result := model(names, ix_to_char, char_to_ix, num_iterations, n_a, "
              "dino_names), tuple) else _result)")
MODEL_HINT = ("initialize_parameters(n_a, vocab_size, vocab_size); seed NumPy with 0, then shuffle the names once; "
              "example j is examples[j % len(examples)], X = [None] + indices, Y = X[1:] + [newline]; carry a_prev "
              "from optimize to the next name")

UNITS = [
    Unit("clip", [
        Example("published example (clip_test, maxValue 10)", clip_inputs(10), call="clip(gradients, maxValue)",
                expect={"dWaa[1][2]": 10.0, "dWax[3][1]": -10.0, "dWya[1][2]": 0.2971381536101662, "db[4]": [10.0],
                        "dby[1]": [8.45833407]}, hints=CLIP_HINTS),
        Example("published example (clip_test, maxValue 5)", clip_inputs(5), call="clip(gradients, maxValue)",
                expect={"dWaa[1][2]": 5.0, "dWax[3][1]": -5.0, "dWya[1][2]": 0.2971381536101662, "db[4]": [5.0],
                        "dby[1]": [5.0]}, hints=CLIP_HINTS),
    ]),
    Unit("sample", [
        Example("published example (sample_test, seed 24)", sample_inputs, call="sample(parameters, char_to_ix, seed)",
                expect={"indices": [23, 16, 26, 26, 24, 3, 21, 1, 7, 24, 15, 3, 25, 20, 6, 13, 10, 8, 20, 12, 2, 0]},
                hints={"indices": "re-seed NumPy with counter + seed just before each np.random.choice over "
                                  "range(vocab_size) with p=y.ravel(); add 1 to seed and counter after each step; "
                                  "no other random draws"}),
    ]),
    Unit("optimize", [
        Example("published example (optimize_test, seed 1)", optimize_inputs,
                call="optimize(X, Y, a_prev, parameters, learning_rate)",
                expect={"loss": 126.50397572165389, "dWaa[1][2]": 0.19470931534713587, "int(np.argmax(dWax))": 93,
                        "dWya[1][2]": -0.007773876032002162, "db[4]": [-0.06809825], "dby[1]": [0.01538192],
                        "a_last[4]": [-1.0], "bool(not np.allclose(parameters['Wya'], Wya_before))": True},
                hints=dict(OPTIMIZE_HINTS, Wya_before=OPTIMIZE_HINTS["moved"]), rtol=1e-6, atol=1e-8),
        Example("numerical gradient check (no clipping)", small_optimize_inputs,
                call="optimize(X, Y, a_prev, parameters, learning_rate)", hints=OPTIMIZE_HINTS,
                gradcheck=GradCheck("rnn_forward(X, Y, a_prev, parameters)[0]",
                                    wrt={f"parameters['{k}']": "d" + k for k in ("Wax", "Waa", "Wya", "b", "by")})),
    ], needs=("clip",)),
    Unit("model", [
        Example("70 iterations on dinos.txt, n_a 6", model_inputs, call=MODEL_CALL,
                expect={"Wya[1][:4]": [-0.01040208443774027, -0.01627680699686071, -0.007990299915456578,
                                       -0.002984387247607519],
                        "b[:3, 0]": [0.004024448836461844, 0.001006995070158912, 0.018321348693149598],
                        "by[:3, 0]": [0.31871369697756796, 0.6863117112610686, -0.22786311945224086],
                        "Wax[2][:3]": [-0.002088942333747781, 0.007016621624072751, 0.008261242557166098]},
                hints={"Wya": MODEL_HINT, "b": MODEL_HINT, "by": MODEL_HINT, "Wax": MODEL_HINT}, atol=1e-9),
    ], needs=("optimize", "sample")),
]
