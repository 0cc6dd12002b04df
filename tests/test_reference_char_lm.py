"""The hidden reference of `char_lm` (family B behaviour, seed-000 names, bias key `ba`).

Expected numbers: docs/ASSIGNMENTS.md B.6 (where the spec writes `db` our key is `dba`).
"""
from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
import pytest

from autograder.reference import load_helper, load_reference
from gradcheck_util import assert_gradients, numeric_gradient, rel_error

PARAM_KEYS = ("Wax", "Waa", "Wya", "ba", "by")
GRAD_KEYS = ("dWaa", "dWax", "dWya", "dba", "dby")
CHAR_TO_IX = {"\n": 0, **{chr(ord("a") + i): i + 1 for i in range(26)}}


@pytest.fixture(scope="module")
def ref():
    return load_reference("char_lm")


def make_params(rng, n_a, vocab, scale=1.0):
    # Draw order Wax, Waa, Wya, ba, by (the published cells' order).
    return {"Wax": rng.randn(n_a, vocab) * scale, "Waa": rng.randn(n_a, n_a) * scale,
            "Wya": rng.randn(vocab, n_a) * scale, "ba": rng.randn(n_a, 1) * scale,
            "by": rng.randn(vocab, 1) * scale}


# --------------------------------------------------------------------------- clip

def _clip_input():
    np.random.seed(3)
    return {"dWax": np.random.randn(5, 3) * 10, "dWaa": np.random.randn(5, 5) * 10,
            "dWya": np.random.randn(2, 5) * 10, "dba": np.random.randn(5, 1) * 10,
            "dby": np.random.randn(2, 1) * 10}


@pytest.mark.parametrize("max_value,expected", [
    (10, {"dWaa": 10.0, "dWax": -10.0, "dWya": 0.2971381536101662, "dba": 10.0, "dby": 8.45833407}),
    (5, {"dWaa": 5.0, "dWax": -5.0, "dWya": 0.2971381536101662, "dba": 5.0, "dby": 5.0}),
])
def test_clip_published(ref, max_value, expected):
    gradients = _clip_input()  # the seed is re-set for each call
    original = copy.deepcopy(gradients)
    out = ref.clip(gradients, max_value)
    assert out["dWaa"][1][2] == expected["dWaa"]
    assert out["dWax"][3][1] == expected["dWax"]
    np.testing.assert_allclose(out["dWya"][1][2], expected["dWya"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(out["dba"][4], [expected["dba"]], rtol=0, atol=5.1e-9)
    np.testing.assert_allclose(out["dby"][1], [expected["dby"]], rtol=0, atol=5.1e-9)
    for k in GRAD_KEYS:
        assert np.all(np.abs(out[k]) <= max_value)
        inside = np.abs(original[k]) <= max_value
        assert np.array_equal(out[k][inside], original[k][inside])
        assert np.array_equal(out[k], np.clip(original[k], -max_value, max_value))


def test_clip_contract(ref):
    gradients = _clip_input()
    gradients["da_next"] = np.random.randn(5, 1) * 10
    original = copy.deepcopy(gradients)
    out = ref.clip(gradients, 5)
    # A new dict with exactly the five parameter gradients (da_next dropped).
    assert out is not gradients
    assert set(out) == set(GRAD_KEYS)
    # The input dict and its arrays are untouched.
    assert set(gradients) == set(original)
    for k in original:
        assert np.array_equal(gradients[k], original[k])
    for k in GRAD_KEYS:
        assert not np.shares_memory(out[k], gradients[k])


# --------------------------------------------------------------------------- sample

def test_sample_published(ref):
    np.random.seed(24)
    n_a, vocab = 100, 27
    p = {"Wax": np.random.randn(n_a, vocab), "Waa": np.random.randn(n_a, n_a),
         "Wya": np.random.randn(vocab, n_a), "ba": np.random.randn(n_a, 1),
         "by": np.random.randn(vocab, 1)}
    indices = ref.sample(p, CHAR_TO_IX, 0)
    assert indices == [23, 16, 26, 26, 24, 3, 21, 1, 7, 24, 15, 3, 25, 20, 6, 13, 10, 8,
                       20, 12, 2, 0]
    ix_to_char = {i: c for c, i in CHAR_TO_IX.items()}
    assert "".join(ix_to_char[i] for i in indices) == "wpzzxcuagxocytfmjhtlb\n"


def test_sample_caps_at_50_plus_newline(ref):
    rng = np.random.RandomState(5)
    n_a, vocab = 8, 27
    p = make_params(rng, n_a, vocab)
    p["by"][0] = -100.0  # the newline is (practically) never drawn
    indices = ref.sample(p, CHAR_TO_IX, 7)
    assert len(indices) == 51
    assert indices[-1] == CHAR_TO_IX["\n"]
    assert CHAR_TO_IX["\n"] not in indices[:50]
    assert all(0 <= i < vocab for i in indices)
    # Deterministic: the generator is re-seeded at every step.
    assert ref.sample(p, CHAR_TO_IX, 7) == indices


def test_sample_rng_protocol(ref):
    """Step k is seeded with seed + 2k and draws one choice; no other RNG calls."""
    rng = np.random.RandomState(6)
    n_a, vocab, seed = 6, 27, 11
    p = make_params(rng, n_a, vocab)
    indices = ref.sample(p, CHAR_TO_IX, seed)
    x, a = np.zeros((vocab, 1)), np.zeros((n_a, 1))
    for k, idx in enumerate(indices[:50]):
        a, y = ref.rnn_cell_forward(x, a, p)
        np.random.seed(seed + 2 * k)
        assert idx == np.random.choice(range(vocab), p=y.ravel())
        x = np.zeros((vocab, 1))
        x[idx] = 1


# --------------------------------------------------------------------------- optimize

def test_optimize_published(ref):
    np.random.seed(1)
    vocab, n_a = 27, 100
    a_prev = np.random.randn(n_a, 1)  # drawn first
    p = {"Wax": np.random.randn(n_a, vocab), "Waa": np.random.randn(n_a, n_a),
         "Wya": np.random.randn(vocab, n_a), "ba": np.random.randn(n_a, 1),
         "by": np.random.randn(vocab, 1)}
    wya_before = p["Wya"].copy()
    X = [12, 3, 5, 11, 22, 3]
    Y = [4, 14, 11, 22, 25, 26]
    loss, gradients, a_last = ref.optimize(X, Y, a_prev, p, learning_rate=0.01)
    np.testing.assert_allclose(loss, 126.50397572165389, rtol=1e-12)
    np.testing.assert_allclose(gradients["dWaa"][1][2], 0.19470931534713587, rtol=1e-11)
    assert np.argmax(gradients["dWax"]) == 93
    np.testing.assert_allclose(gradients["dWya"][1][2], -0.007773876032002162, rtol=1e-11)
    np.testing.assert_allclose(gradients["dba"][4], [-0.06809825], rtol=0, atol=5.1e-9)
    np.testing.assert_allclose(gradients["dby"][1], [0.01538192], rtol=0, atol=5.1e-9)
    np.testing.assert_allclose(a_last[4], [-1.0], rtol=0, atol=5.1e-9)
    assert set(gradients) == set(GRAD_KEYS)
    for k in GRAD_KEYS:
        assert np.all(np.abs(gradients[k]) <= 5)
    # Parameters updated in place with the clipped gradients.
    assert not np.array_equal(p["Wya"], wya_before)
    np.testing.assert_allclose(p["Wya"], wya_before - 0.01 * gradients["dWya"], rtol=1e-15, atol=0)


def test_optimize_matches_its_parts(ref):
    rng = np.random.RandomState(8)
    n_a, vocab = 7, 9
    p = make_params(rng, n_a, vocab, 0.5)
    a_prev = rng.randn(n_a, 1)
    X, Y = [None, 3, 1, 4], [3, 1, 4, 0]
    q = copy.deepcopy(p)
    loss, gradients, a_last = ref.optimize(X, Y, a_prev, p, 0.1)
    loss2, cache = ref.rnn_forward(X, Y, a_prev, q, vocab)
    g2, a2 = ref.rnn_backward(X, Y, q, cache)
    clipped = ref.clip(g2, 5)
    assert loss == loss2
    for k in GRAD_KEYS:
        assert np.array_equal(gradients[k], clipped[k])
    assert np.array_equal(a_last, a2[len(X) - 1])
    for k in PARAM_KEYS:
        assert np.allclose(p[k], q[k] - 0.1 * clipped["d" + k])


# --------------------------------------------------------------------------- small contracts

def test_update_parameters_in_place(ref):
    rng = np.random.RandomState(2)
    p = make_params(rng, 4, 6)
    ids = {k: id(v) for k, v in p.items()}
    before = copy.deepcopy(p)
    g = {"d" + k: rng.randn(*v.shape) for k, v in p.items()}
    out = ref.update_parameters(p, g, 0.5)
    assert out is p
    for k in PARAM_KEYS:
        assert id(p[k]) == ids[k]  # the same arrays, modified
        np.testing.assert_allclose(p[k], before[k] - 0.5 * g["d" + k], rtol=1e-15)


def test_rnn_forward_none_is_zero_vector_and_loss_is_summed(ref):
    rng = np.random.RandomState(3)
    n_a, vocab = 5, 8
    p = make_params(rng, n_a, vocab)
    a0 = rng.randn(n_a, 1)
    X, Y = [None, 2, 5], [2, 5, 0]
    loss, cache = ref.rnn_forward(X, Y, a0, p, vocab)
    y_hat, a, x = cache
    assert np.array_equal(x[0], np.zeros((vocab, 1)))
    assert np.array_equal(x[1], np.eye(vocab)[:, [2]])
    # a[-1] is a copy of a0, not a0 itself.
    assert a[-1] is not a0 and np.array_equal(a[-1], a0)
    np.testing.assert_allclose(a[0], np.tanh(p["Waa"] @ a0 + p["ba"]), rtol=1e-14)
    assert set(y_hat) == set(x) == {0, 1, 2} and set(a) == {-1, 0, 1, 2}
    expected = -sum(np.log(y_hat[t][Y[t], 0]) for t in range(len(X)))
    np.testing.assert_allclose(loss, expected, rtol=1e-14)


def test_rnn_cell_forward_and_softmax(ref):
    rng = np.random.RandomState(4)
    p = make_params(rng, 3, 4)
    xt, a_prev = np.eye(4)[:, [1]], rng.randn(3, 1)
    out = ref.rnn_cell_forward(xt, a_prev, p)
    assert len(out) == 2
    a_next, y_pred = out
    np.testing.assert_allclose(a_next, np.tanh(p["Wax"] @ xt + p["Waa"] @ a_prev + p["ba"]))
    z = p["Wya"] @ a_next + p["by"]
    np.testing.assert_allclose(y_pred, np.exp(z) / np.exp(z).sum(axis=0))
    s = ref.softmax(np.array([[1.0, 0.0], [2.0, 3.0], [0.5, -1.0]]))
    np.testing.assert_allclose(s.sum(axis=0), [1.0, 1.0])


def test_utils_helpers():
    utils = load_helper("char_lm", "utils")
    assert not hasattr(utils, "softmax")  # a graded unit of this assignment
    p = utils.initialize_parameters(4, 6, 6)
    assert set(p) == set(PARAM_KEYS)
    np.random.seed(1)
    assert np.array_equal(p["Wax"], np.random.randn(4, 6) * 0.01)
    assert np.array_equal(p["Waa"], np.random.randn(4, 4) * 0.01)
    assert np.array_equal(p["Wya"], np.random.randn(6, 4) * 0.01)
    assert np.array_equal(p["ba"], np.zeros((4, 1))) and np.array_equal(p["by"], np.zeros((6, 1)))
    assert utils.smooth(10.0, 20.0) == pytest.approx(10.01)
    assert utils.get_initial_loss(27, 7) == pytest.approx(7 * np.log(27))
    assert utils.sigmoid(0.0) == 0.5
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        utils.print_sample([4, 9, 14, 15, 0], {i: c for c, i in CHAR_TO_IX.items()})
    assert buffer.getvalue() == "Dino\n"


# --------------------------------------------------------------------------- gradient checks

SEQS = [
    # (label, n_a, vocab, X, Y)
    pytest.param(4, 5, [None], [3], id="one_step"),
    pytest.param(4, 7, [None, 3, 1, 6, 6], [3, 1, 6, 6, 0], id="short_with_none"),
    pytest.param(10, 27, [12, 3, 5, 11, 22, 3, 7, 19], [3, 5, 11, 22, 3, 7, 19, 0], id="larger"),
]


@pytest.mark.parametrize("n_a,vocab,X,Y", SEQS)
def test_gradcheck_rnn_backward(ref, n_a, vocab, X, Y):
    rng = np.random.RandomState(20 + len(X))
    p = make_params(rng, n_a, vocab, 0.5)
    a0 = rng.randn(n_a, 1)

    def loss():
        return ref.rnn_forward(X, Y, a0, p, vocab)[0]

    gradients, a = ref.rnn_backward(X, Y, p, ref.rnn_forward(X, Y, a0, p, vocab)[1])
    assert set(gradients) == set(GRAD_KEYS) | {"da_next"}
    assert len(a) == len(X) + 1
    analytic = {k: gradients["d" + k] for k in PARAM_KEYS}
    analytic["a0"] = gradients["da_next"]  # what is left flowing into the initial state
    assert_gradients(loss, analytic, {**{k: p[k] for k in PARAM_KEYS}, "a0": a0})


@pytest.mark.parametrize("n_a,vocab,with_input", [
    pytest.param(3, 4, False, id="zero_input"),
    pytest.param(4, 7, True, id="small"),
    pytest.param(9, 27, True, id="larger"),
])
def test_gradcheck_rnn_cell_backward(ref, n_a, vocab, with_input):
    """With da_next = g coming in, the cell's contributions are the derivatives of
    loss_t = -log y_pred[Y_t] + sum(a_t * g); da_next is replaced by d loss_t / d a_prev,
    the parameter gradients are added to whatever the dict already holds."""
    rng = np.random.RandomState(30 + vocab)
    p = make_params(rng, n_a, vocab, 0.5)
    a_prev = rng.randn(n_a, 1)
    x = np.eye(vocab)[:, [2]] if with_input else np.zeros((vocab, 1))
    target = 1
    g_in = rng.randn(n_a, 1)

    def loss():
        a, y_pred = ref.rnn_cell_forward(x, a_prev, p)
        return -np.log(y_pred[target, 0]) + np.sum(a * g_in)

    a, y_pred = ref.rnn_cell_forward(x, a_prev, p)
    dy = y_pred.copy()
    dy[target] -= 1

    numeric = {k: numeric_gradient(loss, p[k]) for k in PARAM_KEYS}
    numeric_a_prev = numeric_gradient(loss, a_prev)

    for initial in ("zeros", "random"):
        start = {"d" + k: (np.zeros_like(v) if initial == "zeros" else rng.randn(*v.shape))
                 for k, v in p.items()}
        gradients = {k: v.copy() for k, v in start.items()}
        gradients["da_next"] = g_in.copy()
        out = ref.rnn_cell_backward(dy, gradients, p, x, a, a_prev)
        assert out is gradients
        for k in PARAM_KEYS:
            contribution = out["d" + k] - start["d" + k]
            assert rel_error(contribution, numeric[k]) < 1e-7, (initial, k)
        assert rel_error(out["da_next"], numeric_a_prev) < 1e-7, initial
    # Without an input the input weights get nothing.
    if not with_input:
        assert np.all(out["dWax"] == start["dWax"])
