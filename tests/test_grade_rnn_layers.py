"""End-to-end grading of rnn_layers (family C): the reference, seed 003, mutants of the
reference (only the mutated unit pays), and equivalent rewrites (nothing lost)."""
import pytest

from conftest import assert_mutant_caught, grade_text, mutate, reference_text, scores, seed_path

A = "rnn_layers"
UNITS = ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
         "word_embedding_forward", "word_embedding_backward",
         "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"]


@pytest.fixture(scope="module")
def grader(graders):
    return graders(A)


def explanations(result) -> dict:
    return {u.name: u.explanation for u in result.units}


def test_unit_names_and_points():
    from autograder.assignments import get_assignment

    assignment = get_assignment(A)
    assert [u.name for u in assignment.units] == UNITS
    assert assignment.total_points == 10
    for unit in assignment.units:
        labels = " ".join(c.label for c in unit.cases())
        assert "batch 1" in labels and "non-square" in labels and "larger" in labels
        if unit.name.endswith("backward"):
            assert unit.gradcheck is not None
        assert not unit.unchanged  # mutating an argument costs nothing (part 3)


def test_hidden_cases_cover_the_edge_sizes_and_repeated_word_indices():
    import numpy as np

    from autograder.assignments import get_assignment

    assignment = get_assignment(A)
    for name in ("rnn_backward", "lstm_backward", "word_embedding_backward"):
        cases = assignment.unit(name).cases()
        assert any(c.inputs["x"].shape[1] == 1 for c in cases), name  # one time step
        assert any(c.inputs["x"].shape[0] == 1 for c in cases), name  # batch 1
    for case in assignment.unit("rnn_step_backward").cases():
        assert not np.allclose(case.inputs["Wh"], case.inputs["Wh"].T)  # a transposed Wh shows
    assert any(len({c.inputs["x"].shape[0], c.inputs["x"].shape[1], c.inputs["Wh"].shape[0]}) == 3
               for c in assignment.unit("rnn_step_backward").cases())
    for case in assignment.unit("word_embedding_backward").cases():
        x = case.inputs["x"]
        assert len(np.unique(x)) < x.size  # dW[x] += dout would lose a repeat


def test_reference_scores_full_marks_and_its_gradients_check(graders):
    result = grade_text(graders(A, check_all_gradients=True), reference_text(A))
    assert scores(result) == {u: 1.0 for u in UNITS}, [(u.name, u.explanation) for u in result.units]
    for name, text in explanations(result).items():
        if name.endswith("backward"):
            assert "Numerical gradient check" in text and "too large" not in text, text


def test_seed_003_vanilla_rnn_only_with_a_private_cache_layout(grader):
    # 003 defines the four vanilla RNN functions, correctly, with its own cache layout
    # (Wx, Wh, b, x, prev_h, next_h); rnn_backward reads D from its own cache[0][0] (Wx).
    # Nothing else is defined.
    result = grader.grade_file(seed_path("003"))
    expected = {u: 1.0 for u in UNITS[:4]} | {u: 0.0 for u in UNITS[4:]}
    assert scores(result) == expected, [(u.name, u.explanation) for u in result.units]
    by_name = {u.name: u for u in result.units}
    # earned with the student's own forwards: the private layout costs nothing
    assert all(by_name[u].mode == "own" for u in UNITS[:4])
    assert "too large" not in by_name["rnn_backward"].explanation
    for unit in UNITS[4:]:
        assert by_name[unit].explanation == f"{unit} is not defined in the submission."
    assert result.score == 4 and not result.notes


MUTANTS = [
    # (unit that must lose points, old, new, words the explanation should contain)
    ("rnn_step_forward", "next_h = np.tanh(x @ Wx + prev_h @ Wh + b)", "next_h = np.tanh(x @ Wx + prev_h @ Wh.T + b)",
     "transposed"),
    ("rnn_step_forward", "next_h = np.tanh(x @ Wx + prev_h @ Wh + b)", "next_h = np.tanh(x @ Wx + prev_h @ Wh)",
     "bias"),
    ("rnn_step_backward", "db = dz.sum(axis=0)", "db = dz.sum(axis=1)", "shape"),
    ("rnn_step_backward", "dprev_h = dz @ Wh.T", "dprev_h = dz @ Wh", "dprev_h"),
    ("rnn_forward", "prev_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)",
     "_, step_cache = rnn_step_forward(x[:, t, :], h0, Wx, Wh, b)\n        prev_h = _", "differs"),
    ("rnn_backward", "dh[:, t, :] + dprev_h, cache[t])", "dh[:, t, :], cache[t])", "differs"),
    ("word_embedding_forward", "out = W[x]", "out = W[x] * 1.5", "times 1.5"),
    ("word_embedding_backward", "np.add.at(dW, x, dout)", "dW[x] += dout",
     "Hint: your outputs match the reference computed with `dW[x] += dout`, which adds a word's gradient once"),
    ("lstm_step_forward", "i = sigmoid(a[:, 0:H])\n    f = sigmoid(a[:, H:2 * H])",
     "f = sigmoid(a[:, 0:H])\n    i = sigmoid(a[:, H:2 * H])", "differs"),
    ("lstm_step_backward", "dprev_c = dc * f", "dprev_c = dc * i", "`dprev_c` differs"),
    ("lstm_step_backward", "db = da.sum(axis=0)", "db = da.sum(axis=0) / x.shape[0]", "`db`"),
    ("lstm_forward", "prev_c = np.zeros_like(h0)", "prev_c = h0", "differs"),
    # a loss-style normalisation slipped into the backward pass (A.5/C.6: none belongs there);
    # the batch-1 case cannot see it, so the unit keeps a quarter of its point
    ("lstm_backward", "dx = np.stack(dxs, axis=1)\n    # The initial cell state",
     "dx = np.stack(dxs, axis=1) / N\n    # The initial cell state", "times"),
]


@pytest.mark.parametrize("unit,old,new,words", MUTANTS, ids=[f"{m[0]}-{i}" for i, m in enumerate(MUTANTS)])
def test_mutant_is_caught_and_only_its_unit_pays(grader, unit, old, new, words):
    assert_mutant_caught(grader, A, unit, old, new, words)


def test_a_gradient_bug_shows_in_the_numerical_check(grader):
    result = grade_text(grader, mutate(reference_text(A), "dprev_h = dz @ Wh.T", "dprev_h = dz @ Wh"))
    text = explanations(result)["rnn_step_backward"]
    assert "dprev_h" in text and "(too large)" in text.split("Numerical gradient check")[1]


def test_mutating_an_argument_is_pointed_out_but_costs_nothing(grader):
    # the C.6 pattern: adding into dnext_c, which belongs to the caller
    text = mutate(reference_text(A), "dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)",
                  "dc = dnext_c\n    dc += dnext_h * o * (1 - tanh_c ** 2)")
    result = grade_text(grader, text)
    assert scores(result) == {u: 1.0 for u in UNITS}
    assert "modifies its argument(s) `dnext_c`" in explanations(result)["lstm_step_backward"]


def test_sequence_backward_gets_credit_through_the_reference_step_backward(grader):
    # a broken step backward costs only itself: rnn_backward is judged with the reference
    # forward and step backward substituted
    result = grade_text(grader, mutate(reference_text(A), "dx = dz @ Wx.T", "dx = dz @ Wx.T * 2"))
    by_name = {u.name: u for u in result.units}
    assert by_name["rnn_step_backward"].score == 0
    assert by_name["rnn_backward"].score == 1 and by_name["rnn_backward"].mode == "reference"


def test_equivalent_rewrites_and_a_private_cache_layout_lose_nothing(grader):
    text = reference_text(A)
    # a dict cache instead of a tuple, read back by the step and sequence backward
    text = mutate(text, "cache = (x, prev_h, Wx, Wh, next_h)\n    return next_h, cache",
                  "cache = {'input': x, 'h': prev_h, 'weights': (Wx, Wh), 'out': next_h}\n    return next_h, cache")
    text = mutate(text, "x, prev_h, Wx, Wh, next_h = cache\n",
                  "x, prev_h, (Wx, Wh), next_h = cache['input'], cache['h'], cache['weights'], cache['out']\n")
    text = mutate(text, "_, _, Wx, Wh, _ = cache[0]", "Wx, Wh = cache[0]['weights']")
    # einsum and np.dot for the matrix products
    text = mutate(text, "next_h = np.tanh(x @ Wx + prev_h @ Wh + b)",
                  "next_h = np.tanh(np.einsum('nd,dh->nh', x, Wx) + np.dot(prev_h, Wh) + b)")
    # own helper functions, and the LSTM cache reordered into a dict of gates
    text = mutate(text, "a = x @ Wx + prev_h @ Wh + b",
                  "a = _gates_preactivation(x, prev_h, Wx, Wh, b)")
    text = mutate(text, "cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)",
                  "cache = (dict(i=i, f=f, o=o, g=g), (x, prev_h, prev_c), next_c, (Wx, Wh))")
    text = mutate(text, "x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache",
                  "gates, (x, prev_h, prev_c), next_c, (Wx, Wh) = cache\n"
                  "    i, f, o, g = (gates[k] for k in 'ifog')")
    text = mutate(text, "Wx, Wh = cache[0][3], cache[0][4]", "Wx, Wh = cache[0][3]")
    # the embedding gradient as a one-hot matrix product instead of np.add.at
    text = mutate(text, "dW = np.zeros_like(W)\n    # np.add.at accumulates over repeated indices; "
                        "dW[x] += dout would keep only one.\n    np.add.at(dW, x, dout)",
                  "V, D = W.shape\n    dW = _one_hot(x.ravel(), V).T @ dout.reshape(-1, D)")
    text += '''

def _gates_preactivation(x, h, Wx, Wh, b):
    return np.einsum('nd,dk->nk', x, Wx) + h.dot(Wh) + b


def _one_hot(indices, V):
    return (indices[:, None] == np.arange(V)[None, :]).astype(float)
'''
    result = grade_text(grader, text)
    assert scores(result) == {u: 1.0 for u in UNITS}, [(u.name, u.explanation) for u in result.units]
    by_name = {u.name: u for u in result.units}
    # the private layouts are graded in own mode (the reference caches differ)
    assert by_name["rnn_backward"].mode == "own" and by_name["lstm_backward"].mode == "own"


def test_a_backward_of_a_wrong_forward_is_told_to_fix_the_forward_first(graders):
    """A bias missing in rnn_step_forward: the student's right rnn_step_backward, run on its
    own forward's cache, got a numerical gradient check blaming its `db` and a hint about
    a missing bias, where the bias to fix is the forward's."""
    text = mutate(reference_text(A), "next_h = np.tanh(x @ Wx + prev_h @ Wh + b)", "next_h = np.tanh(x @ Wx + prev_h @ Wh)")
    by_name = {u.name: u for u in grade_text(graders(A), text).units}
    assert by_name["rnn_step_forward"].score == 0
    explanation = by_name["rnn_step_backward"].explanation  # full credit with the reference's cache
    assert "fix rnn_step_forward first" in explanation and "Numerical gradient check" not in explanation, \
        explanation
    rnn_backward = by_name["rnn_backward"].explanation
    assert "first" in rnn_backward and "Numerical gradient check" not in rnn_backward, rnn_backward
