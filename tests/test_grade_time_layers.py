"""End-to-end grading of time_layers (family D, classes, float32): the reference, seed
004, mutants of the reference (only the mutated unit pays), the in-place gradient
contract, both fair-credit modes, and equivalent rewrites (nothing lost)."""
import re

import numpy as np
import pytest

from conftest import assert_mutant_caught, grade_text, mutate, reference_text, scores, seed_path

A = "time_layers"
UNITS = ["RNN.forward", "RNN.backward", "TimeRNN.forward", "TimeRNN.backward",
         "TimeEmbedding.forward", "TimeEmbedding.backward", "TimeAffine.forward", "TimeAffine.backward",
         "TimeSoftmaxWithLoss.forward", "TimeSoftmaxWithLoss.backward", "LSTM.forward", "LSTM.backward",
         "TimeLSTM.forward", "TimeLSTM.backward"]


@pytest.fixture(scope="module")
def grader(graders):
    return graders(A)


def explanations(result) -> dict:
    return {u.name: u.explanation for u in result.units}


def test_unit_names_dtype_and_cases():
    from autograder.assignments import get_assignment

    assignment = get_assignment(A)
    assert [u.name for u in assignment.units] == UNITS
    assert assignment.total_points == 14 and assignment.dtype == "float32"
    for unit in assignment.units:
        labels = " ".join(c.label for c in unit.cases())
        assert "batch 1" in labels and "larger" in labels, unit.name
        for case in unit.cases():
            floats = [v for v in case.inputs.values() if isinstance(v, np.ndarray) and v.dtype.kind == "f"]
            assert floats and all(v.dtype == np.float32 for v in floats), unit.name
        if unit.name.endswith("backward"):
            assert unit.gradcheck is not None and unit.has_reference_mode, unit.name
    # Embedding is a public helper, not a graded unit: never substituted
    assert all("Embedding" not in u.calls for u in assignment.units)
    assert assignment.unit("TimeRNN.forward").calls == ("RNN",)
    assert assignment.unit("TimeLSTM.backward").calls == ("LSTM",)
    stateful = [c for c in assignment.unit("TimeLSTM.forward").cases() if c.inputs["stateful"]]
    assert stateful and stateful[0].inputs["xs_first"] is not None
    for case in assignment.unit("TimeSoftmaxWithLoss.forward").cases():
        ts = case.inputs["ts"]
        assert ts.ndim == 3 or ((ts == -1).any() and (ts != -1).any())


def test_reference_scores_full_marks_and_its_float32_gradients_check(graders):
    result = grade_text(graders(A, check_all_gradients=True), reference_text(A))
    assert scores(result) == {u: 1.0 for u in UNITS}, [(u.name, u.explanation) for u in result.units]
    for name, text in explanations(result).items():
        if name.endswith("backward"):
            check = text.split("Numerical gradient check")[1]
            errors = [float(e) for e in re.findall(r" (\d\.\de[-+]\d\d)", check)]
            assert errors and max(errors) < 1e-3, (name, text)


def test_seed_004(grader):
    result = grader.grade_file(seed_path("004"))
    # Only RNN.forward is right. RNN.backward writes to `self.grad` (typo; its dh_prev
    # also uses x.T, hidden behind the crash); TimeRNN does not parse (`xs(:, t, :)`);
    # TimeEmbedding's misindented loop leaves a `return` in the class body, so the whole
    # class does not compile; TimeAffine.forward reads an undefined `rs` (and its backward
    # never defines dW/db); TimeSoftmaxWithLoss uses `ts.dim` and `np.arrange`; there is
    # no LSTM or TimeLSTM.
    assert scores(result) == {u: (1.0 if u == "RNN.forward" else 0.0) for u in UNITS}
    text = explanations(result)
    assert "'RNN' object has no attribute 'grad'" in text["RNN.backward"]
    for unit in ("TimeRNN.forward", "TimeRNN.backward"):
        assert text[unit].startswith("TimeRNN is not defined") and "does not parse: invalid syntax" in text[unit]
    for unit in ("TimeEmbedding.forward", "TimeEmbedding.backward"):
        assert "does not parse: 'return' outside function" in text[unit]
    assert "NameError: name 'rs' is not defined" in text["TimeAffine.forward"]
    assert "while preparing its input" in text["TimeAffine.backward"] and "'rs'" in text["TimeAffine.backward"]
    assert "has no attribute 'dim'" in text["TimeSoftmaxWithLoss.forward"]
    # the backward is also run on the reference forward's cache, where np.arrange shows:
    # with the reference substituted only the type is said (issue 11), and no line: none
    # of the own-mode verdicts showed that one (a line the student side writes could
    # carry the reference's answers)
    assert "has no attribute 'dim'" in text["TimeSoftmaxWithLoss.backward"]
    assert "raised AttributeError (with the reference substituted" in text["TimeSoftmaxWithLoss.backward"]
    for unit in UNITS[10:]:
        assert text[unit] == f"{unit.split('.')[0]} is not defined in the submission."
    notes = "\n".join(result.notes)
    assert notes.count("does not parse") == 2


# The gradient write-back lines of each class, to rebind instead of writing in place.
WRITES = "self.grads[0][...] = dWx\n        self.grads[1][...] = dWh\n        self.grads[2][...] = db\n"
RNN_WRITES = WRITES + "        return dx, dh_prev"
LSTM_WRITES = WRITES + "        dx = dA @ Wx.T"


GATES = "f = sigmoid(A[:, :H])\n        g = np.tanh(A[:, H:2 * H])\n        i = sigmoid(A[:, 2 * H:3 * H])"


def rebound(text: str) -> str:
    return text.replace("[...] = ", " = ")


MUTANTS = [
    # (unit that must lose points, old, new, words the explanation should contain)
    ("RNN.forward", "np.tanh(h_prev @ Wh + x @ Wx + b)", "np.tanh(h_prev @ Wh + x @ Wx)", "bias"),
    ("RNN.forward", "np.tanh(h_prev @ Wh + x @ Wx + b)", "np.tanh(h_prev @ Wh.T + x @ Wx + b)", "transposed"),
    ("RNN.backward", "dh_prev = dt @ Wh.T", "dh_prev = dt @ Wh", "`dh_prev` differs"),
    ("RNN.backward", RNN_WRITES, rebound(RNN_WRITES),
     "`grads_not_written_in_place`: expected 0, got 3"),
    ("TimeRNN.forward", "if not self.stateful or self.h is None:\n            self.h = np.zeros((N, H), dtype='f')\n"
                        "        for t in range(T):\n            layer = RNN",
     "self.h = np.zeros((N, H), dtype='f')\n        for t in range(T):\n            layer = RNN", "stateful"),
    ("TimeRNN.backward", "dx, dh = layer.backward(dhs[:, t, :] + dh)", "dx, dh = layer.backward(dhs[:, t, :])",
     "differs"),
    ("TimeEmbedding.forward", "out[:, t, :] = layer.forward(xs[:, t])", "out[:, t, :] = layer.forward(xs[:, 0])",
     "`out` differs"),
    ("TimeEmbedding.backward", "grad += layer.grads[0]", "grad = grad + layer.grads[0] * (t == 0)", "`dW` differs"),
    ("TimeEmbedding.backward", "self.grads[0][...] = grad\n        return None",
     "self.grads[0][...] = grad\n        return grad", "it must return None"),
    ("TimeAffine.forward", "out = rx @ W + b", "out = rx @ W", "bias"),
    ("TimeAffine.backward", "self.grads[0][...] = dW\n        self.grads[1][...] = db",
     "self.grads[0] = dW\n        self.grads[1] = db",
     "`grads_not_written_in_place`: expected 0, got 2"),
    ("TimeAffine.backward", "db = np.sum(dout, axis=0)", "db = np.sum(dout, axis=0) / N", "`db` differs"),
    # averaging over all N*T positions instead of the valid (non-ignored) ones (D.4)
    ("TimeSoftmaxWithLoss.forward", "loss /= mask.sum()", "loss /= N * T", "`loss` differs"),
    ("TimeSoftmaxWithLoss.backward", "dx /= mask.sum()", "dx /= N * T", "times"),
    # gate order: f and i swapped
    ("LSTM.forward", GATES, GATES.replace("f = ", "F = ").replace("i = ", "f = ").replace("F = ", "i = "),
     "`h_next` differs"),
    ("LSTM.backward", "dc_prev = ds * f", "dc_prev = ds * i", "`dc_prev` differs"),
    ("LSTM.backward", LSTM_WRITES, rebound(LSTM_WRITES),
     "`grads_not_written_in_place`: expected 0, got 3"),
    ("TimeLSTM.forward", "self.h, self.c = layer.forward(xs[:, t, :], self.h, self.c)",
     "self.h, _ = layer.forward(xs[:, t, :], self.h, self.c)", "`hs` differs"),
    ("TimeLSTM.backward", "dx, dh, dc = layer.backward(dhs[:, t, :] + dh, dc)",
     "dx, dh, _ = layer.backward(dhs[:, t, :] + dh, dc)", "differs"),
]


@pytest.mark.parametrize("unit,old,new,words", MUTANTS, ids=[f"{m[0]}-{i}" for i, m in enumerate(MUTANTS)])
def test_mutant_is_caught_and_only_its_unit_pays(grader, unit, old, new, words):
    assert_mutant_caught(grader, A, unit, old, new, words)


def test_rebinding_the_gradients_loses_credit_even_with_the_right_values(grader):
    result = grade_text(grader, mutate(reference_text(A), RNN_WRITES, rebound(RNN_WRITES)))
    by_name = {u.name: u for u in result.units}
    assert by_name["RNN.backward"].score == 0
    text = by_name["RNN.backward"].explanation
    # the values themselves are right: dx, dh_prev and the new gradient arrays pass
    assert "grads_not_written_in_place" in text and "dWx" not in text.split("Numerical")[0]
    assert "too large" not in text


def test_a_gradient_bug_shows_in_the_float32_numerical_check(grader):
    result = grade_text(grader, mutate(reference_text(A), "dWx = x.T @ dA", "dWx = x.T @ dA * 0.5"))
    text = explanations(result)["LSTM.backward"]
    check = text.split("Numerical gradient check")[1]
    assert re.search(r"dWx \S+ \(too large\)", check) and "dx" in check and "dx 1" not in check


CACHE_REFERENCE_MODE = [
    # a forward whose private state the student's own backward cannot use, or a forward
    # that crashes: the backward is then judged on the reference forward's state
    ("RNN.backward", "self.cache = (x, h_prev, h_next)", "self.cache = (h_prev, x, h_next)"),
    ("LSTM.backward", "self.cache = (x, h_prev, c_prev, i, f, g, o, c_next)",
     "self.cache = (x, h_prev, c_prev, f, i, g, o, c_next)"),
    ("TimeSoftmaxWithLoss.backward", "self.cache = (ts, ys, mask, (N, T, V))",
     "self.cache = (ts, ys, mask, (N, T, V))\n        raise RuntimeError('unfinished')"),
    ("TimeAffine.backward", "self.x = x\n        return out.reshape(N, T, -1)",
     "raise RuntimeError('unfinished')"),
    ("TimeEmbedding.backward", "self.layers.append(layer)\n        return out",
     "self.layers.append(layer)\n        raise RuntimeError('unfinished')"),
    # TimeRNN / TimeLSTM: the reference forward's layers, built from reference cells
    ("TimeRNN.backward", "self.h = layer.forward(xs[:, t, :], self.h)",
     "self.h = layer.forward(xs[:, t, :], self.h)\n            raise RuntimeError('unfinished')"),
    ("TimeLSTM.backward", "hs = np.empty((N, T, H), dtype='f')\n        # Either state",
     "hs = np.empty((N, T, H), dtype='f')\n        self.layers = None\n        # Either state"),
]


@pytest.mark.parametrize("unit,old,new", CACHE_REFERENCE_MODE, ids=[m[0] for m in CACHE_REFERENCE_MODE])
def test_backward_gets_the_reference_forward_state(grader, unit, old, new):
    result = grade_text(grader, mutate(reference_text(A), old, new))
    by_name = {u.name: u for u in result.units}
    assert by_name[unit].score == 1.0 and by_name[unit].mode == "reference", by_name[unit].explanation
    assert "Full credit with the reference" in by_name[unit].explanation


def test_time_layers_get_credit_through_the_reference_cells(grader):
    # a broken RNN cell (the seed-004 dh_prev bug) costs TimeRNN nothing
    result = grade_text(grader, mutate(reference_text(A), "dh_prev = dt @ Wh.T", "dh_prev = x.T @ dt"))
    by_name = {u.name: u for u in result.units}
    assert by_name["RNN.backward"].score == 0
    assert by_name["TimeRNN.backward"].score == 1 and by_name["TimeRNN.backward"].mode == "reference"


def test_equivalent_rewrites_lose_nothing(grader):
    text = reference_text(A)
    # einsum, and the gradients written in place with np.copyto
    text = mutate(text, "h_next = np.tanh(h_prev @ Wh + x @ Wx + b)",
                  "h_next = np.tanh(np.einsum('nh,hk->nk', h_prev, Wh) + np.dot(x, Wx) + b)")
    text = mutate(text, RNN_WRITES, "for g, d in zip(self.grads, (dWx, dWh, db)):\n"
                                    "            np.copyto(g, d)\n        return dx, dh_prev")
    # TimeRNN keeping its hidden states in float64
    text = mutate(text, "hs = np.empty((N, T, H), dtype='f')\n        if not self.stateful or self.h is None:\n"
                        "            self.h = np.zeros((N, H), dtype='f')",
                  "hs = np.empty((N, T, H))\n        if not self.stateful or self.h is None:\n"
                  "            self.h = np.zeros((N, H))")
    # TimeEmbedding without Embedding objects: a lookup and np.add.at on its own grads
    text = mutate(text, "        out = np.empty((N, T, D), dtype='f')\n        self.layers = []\n"
                        "        for t in range(T):\n            layer = Embedding(self.W)\n"
                        "            out[:, t, :] = layer.forward(xs[:, t])\n            self.layers.append(layer)\n"
                        "        return out",
                  "        self.xs = xs\n        return self.W[xs]")
    text = mutate(text, "        N, T, D = dout.shape\n        grad = np.zeros_like(self.W)\n"
                        "        for t in range(T):\n            layer = self.layers[t]\n"
                        "            layer.backward(dout[:, t, :])\n"
                        "            # Every step looks up the same matrix: the gradients add.\n"
                        "            grad += layer.grads[0]\n        self.grads[0][...] = grad\n",
                  "        self.grads[0][...] = 0\n        np.add.at(self.grads[0], self.xs, dout)\n")
    # TimeAffine with einsum and an axis tuple
    text = mutate(text, "db = np.sum(dout, axis=0)\n        dW = rx.T @ dout",
                  "db = dout.sum(axis=(0,))\n        dW = _matmul_t(rx, dout)")
    # TimeSoftmaxWithLoss through a log-softmax of its own
    text = mutate(text, "ls = np.log(ys[np.arange(N * T), ts])",
                  "ls = _log_softmax(xs)[np.arange(N * T), ts]")
    # LSTM with np.split, and a private cache layout (a dict) that only its own backward reads
    text = mutate(text, GATES + "\n        o = sigmoid(A[:, 3 * H:])",
                  "f, g, i, o = np.split(A, 4, axis=1)\n"
                  "        f, g, i, o = sigmoid(f), np.tanh(g), sigmoid(i), sigmoid(o)")
    text = mutate(text, "self.cache = (x, h_prev, c_prev, i, f, g, o, c_next)",
                  "self.cache = dict(x=x, h_prev=h_prev, c_prev=c_prev, i=i, f=f, g=g, o=o, c_next=c_next)")
    text = mutate(text, "x, h_prev, c_prev, i, f, g, o, c_next = self.cache",
                  "x, h_prev, c_prev, i, f, g, o, c_next = (self.cache[k] for k in\n"
                  "            ('x', 'h_prev', 'c_prev', 'i', 'f', 'g', 'o', 'c_next'))")
    text += '''

def _matmul_t(a, b):
    return np.einsum('ki,kj->ij', a, b)


def _log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
'''
    result = grade_text(grader, text)
    assert scores(result) == {u: 1.0 for u in UNITS}, [(u.name, u.explanation) for u in result.units]
    by_name = {u.name: u for u in result.units}
    assert by_name["LSTM.backward"].mode == "own" and by_name["TimeLSTM.backward"].mode == "own"


@pytest.mark.parametrize("header", ["from numpy import *\n", "list = [1, 2, 3]\nsum = max\nabs = len\n"])
def test_built_ins_the_notebook_rebinds_do_not_break_the_graders_snippets(grader, header):
    """The grader's check that a backward wrote its gradients in place uses list, sum, zip,
    len and abs, evaluated with the notebook's names as globals: a notebook that rebinds
    them (numpy's sum and abs with `from numpy import *`) lost all six backward units."""
    result = grade_text(grader, header + reference_text(A))
    assert all(u.score == u.max_score for u in result.units), [(u.name, u.explanation) for u in result.units
                                                                if u.score < u.max_score]


def test_a_small_gradient_gone_wrong_is_named_by_the_float32_check(grader):
    """`db` averaged instead of summed (1/(N*T) of it) passed the float32 check of all
    gradients together at its old threshold (5e-2), diluted among the right ones: the
    student read "all gradients together 4.2e-02" as "your gradients are fine". And a
    figure of all gradients together from one case stood beside another case's
    per-gradient figures, as if they disagreed."""
    result = grade_text(grader, mutate(reference_text(A), "db = np.sum(dout, axis=0)", "db = np.mean(dout, axis=0)"))
    check = explanations(result)["TimeAffine.backward"].split("Numerical gradient check")[1]
    assert re.search(r"db \S+ \(too large\)", check) and "all gradients together" not in check, check
    assert not re.search(r"dW \S+ \(too large\)", check) and not re.search(r"dx \S+ \(too large\)", check), check


def test_a_backward_that_reads_state_only_its_own_forward_sets_is_told_where_the_reference_keeps_it(grader):
    """Seed 004: a forward that crashes (a typo) and keeps its input as `self.xs`; with the
    reference's forward state the backward met an AttributeError whose message (rightly)
    was hidden, and the student could not tell why. The grader's own words now say where
    the reference forward's state is (the same for every submission: D.1)."""
    text = mutate(reference_text(A), "self.x = x\n        return out.reshape(N, T, -1)",
                  "self.xs = x\n        return out.reshap(N, T, -1)")
    text = mutate(text, "        x = self.x\n        N, T, D = x.shape", "        x = self.xs\n        N, T, D = x.shape")
    unit = next(u for u in grade_text(grader, text).units if u.name == "TimeAffine.backward")
    assert unit.score == 0 and "raised AttributeError" in unit.explanation, unit.explanation
    assert "the state the reference's forward leaves is in `x`" in unit.explanation, unit.explanation


def test_a_float64_output_of_a_float32_layer_is_noted_without_losing_points(graders):
    """TimeRNN.forward allocating hs as float64 passed every case unnoticed (values are
    compared, not layout); it keeps its point and is told."""
    text = reference_text("time_layers")
    assert text.count("        hs = np.empty((N, T, H), dtype='f')") == 2
    text = text.replace("        hs = np.empty((N, T, H), dtype='f')", "        hs = np.empty((N, T, H))", 1)
    unit = next(u for u in grade_text(graders("time_layers"), text).units if u.name == "TimeRNN.forward")
    assert unit.score == 1 and "`hs` came back as float64" in unit.explanation, unit.explanation


def test_a_backward_whose_own_forward_fails_names_that_forward(graders):
    """TimeRNN.backward failed in its own run because TimeRNN.forward (its set-up) did: the
    explanation said "With your own RNN, ... failed", blaming a step class that is right."""
    text = reference_text("time_layers")
    text = text.replace("        hs = np.empty((N, T, H), dtype='f')", "        hs = np.emptyy((N, T, H), dtype='f')", 1)
    unit = next(u for u in grade_text(graders("time_layers"), text).units if u.name == "TimeRNN.backward")
    assert "With your own RNN, TimeRNN.forward," in unit.explanation, unit.explanation
