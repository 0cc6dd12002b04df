"""The hidden reference of `dinosaurus` and its shipped `utils` (docs/ASSIGNMENTS.md B.3-B.6):
the published values of B.6, the math of B.4, the RNG protocol of B.5, and gradient checks
of what `optimize` returns."""
from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
import pytest

from autograder.assignments import get_assignment
from autograder.reference import load_helper, load_reference
from gradcheck_util import assert_gradients

PARAM_KEYS = ("Wax", "Waa", "Wya", "b", "by")
GRAD_KEYS = ("dWaa", "dWax", "dWya", "db", "dby")
CHARS = ["\n"] + [chr(ord("a") + i) for i in range(26)]
CHAR_TO_IX = {c: i for i, c in enumerate(CHARS)}


@pytest.fixture(scope="module")
def ref():
    return load_reference("dinosaurus")


@pytest.fixture(scope="module")
def utils():
    return load_helper("dinosaurus", "utils")


def params(rng, n_a, vocab, scale=1.0):
    return {"Wax": rng.randn(n_a, vocab) * scale, "Waa": rng.randn(n_a, n_a) * scale,
            "Wya": rng.randn(vocab, n_a) * scale, "b": rng.randn(n_a, 1) * scale, "by": rng.randn(vocab, 1) * scale}


# ------------------------------------------------------------------------ B.6 published
def clip_test_input():
    np.random.seed(3)
    return {"dWax": np.random.randn(5, 3) * 10, "dWaa": np.random.randn(5, 5) * 10,
            "dWya": np.random.randn(2, 5) * 10, "db": np.random.randn(5, 1) * 10, "dby": np.random.randn(2, 1) * 10}


@pytest.mark.parametrize("max_value,expected", [
    (10, {"dWaa": 10.0, "dWax": -10.0, "dWya": 0.2971381536101662, "db": 10.0, "dby": 8.45833407}),
    (5, {"dWaa": 5.0, "dWax": -5.0, "dWya": 0.2971381536101662, "db": 5.0, "dby": 5.0}),
])
def test_clip_published(ref, max_value, expected):
    gradients = clip_test_input()
    original = copy.deepcopy(gradients)
    out = ref.clip(dict(gradients, da_next=np.ones((5, 1)) * 99), max_value)
    assert sorted(out) == sorted(GRAD_KEYS)  # da_next dropped
    assert out["dWaa"][1][2] == expected["dWaa"] and out["dWax"][3][1] == expected["dWax"]
    np.testing.assert_allclose(out["dWya"][1][2], expected["dWya"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(out["db"][4], [expected["db"]], rtol=0, atol=5.1e-9)
    np.testing.assert_allclose(out["dby"][1], [expected["dby"]], rtol=0, atol=5.1e-9)
    for k in GRAD_KEYS:
        assert np.array_equal(out[k], np.clip(original[k], -max_value, max_value))
        assert np.array_equal(gradients[k], original[k])  # the argument is left alone


def test_sample_published(ref):
    np.random.seed(24)
    n_a, vocab = 100, 27
    p = {"Wax": np.random.randn(n_a, vocab), "Waa": np.random.randn(n_a, n_a), "Wya": np.random.randn(vocab, n_a)}
    p["b"], p["by"] = np.random.randn(n_a, 1), np.random.randn(vocab, 1)
    indices = ref.sample(p, CHAR_TO_IX, 0)
    assert indices == [23, 16, 26, 26, 24, 3, 21, 1, 7, 24, 15, 3, 25, 20, 6, 13, 10, 8, 20, 12, 2, 0]
    assert "".join(CHARS[i] for i in indices) == "wpzzxcuagxocytfmjhtlb\n"


def test_optimize_published(ref):
    np.random.seed(1)
    a_prev = np.random.randn(100, 1)
    p = {"Wax": np.random.randn(100, 27), "Waa": np.random.randn(100, 100), "Wya": np.random.randn(27, 100)}
    p["b"], p["by"] = np.random.randn(100, 1), np.random.randn(27, 1)
    before = copy.deepcopy(p)
    loss, g, a_last = ref.optimize([12, 3, 5, 11, 22, 3], [4, 14, 11, 22, 25, 26], a_prev, p, learning_rate=0.01)
    np.testing.assert_allclose(loss, 126.50397572165389, rtol=1e-12)
    np.testing.assert_allclose(g["dWaa"][1][2], 0.19470931534713587, rtol=1e-10)
    assert np.argmax(g["dWax"]) == 93
    np.testing.assert_allclose(g["dWya"][1][2], -0.007773876032002162, rtol=1e-10)
    np.testing.assert_allclose(g["db"][4], [-0.06809825], atol=5.1e-9)
    np.testing.assert_allclose(g["dby"][1], [0.01538192], atol=5.1e-9)
    np.testing.assert_allclose(a_last[4], [-1.0], atol=1e-12)
    assert sorted(g) == sorted(GRAD_KEYS) and all(np.abs(g[k]).max() <= 5 for k in GRAD_KEYS)
    for k in PARAM_KEYS:  # updated in place, with the clipped gradients
        np.testing.assert_allclose(p[k], before[k] - 0.01 * g["d" + k], rtol=0, atol=1e-14)


# ------------------------------------------------------------------------ utils (B.3, B.4)
def test_utils_api_and_initialisation(utils):
    assert {"softmax", "smooth", "print_sample", "get_sample", "get_initial_loss", "initialize_parameters",
            "rnn_step_forward", "rnn_step_backward", "update_parameters", "rnn_forward",
            "rnn_backward"} <= set(vars(utils))
    p = utils.initialize_parameters(4, 27, 27)
    np.random.seed(1)
    assert np.array_equal(p["Wax"], np.random.randn(4, 27) * 0.01)  # drawn first: Wax, Waa, Wya
    assert np.array_equal(p["Waa"], np.random.randn(4, 4) * 0.01)
    assert not p["b"].any() and not p["by"].any() and sorted(p) == sorted(PARAM_KEYS)
    assert utils.get_initial_loss(27, 7) == pytest.approx(7 * np.log(27))
    assert utils.smooth(10.0, 20.0) == pytest.approx(10.01)
    assert utils.get_sample([1, 2, 0], dict(enumerate(CHARS))) == "Ab\n"


def test_rnn_forward_loss_is_a_sum_and_none_is_a_zero_vector(utils):
    rng = np.random.RandomState(5)
    p = params(rng, 6, 27, 0.5)
    a0 = rng.randn(6, 1)
    X, Y = [None, 3, 4], [3, 4, 0]
    loss, (y_hat, a, x) = utils.rnn_forward(X, Y, a0, p)
    assert not x[0].any() and x[1][3, 0] == 1 and x[1].sum() == 1
    expected, state = 0.0, a0
    for t in range(3):
        state, probs = utils.rnn_step_forward(p, state, x[t])
        expected -= np.log(probs[Y[t], 0])
    assert loss == pytest.approx(expected, rel=1e-12) and np.array_equal(a[-1], a0)


@pytest.mark.parametrize("seed,n_a,T", [(11, 5, 4), (12, 9, 1), (13, 3, 7)])
def test_rnn_backward_gradients_match_central_differences(utils, seed, n_a, T):
    rng = np.random.RandomState(seed)
    p = params(rng, n_a, 27, 0.5)
    a0 = rng.randn(n_a, 1)
    X = [None] + [int(i) for i in rng.randint(1, 27, size=T - 1)]
    Y = X[1:] + [0]
    _, cache = utils.rnn_forward(X, Y, a0, p)
    gradients, _ = utils.rnn_backward(X, Y, p, cache)
    assert_gradients(lambda: utils.rnn_forward(X, Y, a0, p)[0], {k: gradients["d" + k] for k in PARAM_KEYS},
                     {k: p[k] for k in PARAM_KEYS})


# ------------------------------------------------------------------------ what optimize returns
@pytest.mark.parametrize("case", [c for c in get_assignment("dinosaurus").unit("optimize").cases()][-2:],
                         ids=lambda c: c.label)
def test_optimize_returns_the_gradient_of_its_loss(ref, case):
    """On the gradient-checked hidden cases nothing is clipped: the returned gradients
    are the loss's gradient w.r.t. the parameters before the update."""
    inputs = copy.deepcopy(case.inputs)
    p = copy.deepcopy(inputs["parameters"])
    _, gradients, _ = ref.optimize(inputs["X"], inputs["Y"], inputs["a_prev"], inputs["parameters"],
                                   inputs["learning_rate"])
    assert all(np.abs(gradients[k]).max() < 5 for k in GRAD_KEYS), "a gradient-checked case must not clip"
    assert_gradients(lambda: ref.rnn_forward(inputs["X"], inputs["Y"], inputs["a_prev"], p)[0],
                     {k: gradients["d" + k] for k in PARAM_KEYS}, {k: p[k] for k in PARAM_KEYS})


def test_the_first_optimize_case_clips():
    case = get_assignment("dinosaurus").unit("optimize").cases()[0]
    ref = load_reference("dinosaurus")
    inputs = copy.deepcopy(case.inputs)
    _, cache = ref.rnn_forward(inputs["X"], inputs["Y"], inputs["a_prev"], inputs["parameters"])
    gradients, _ = ref.rnn_backward(inputs["X"], inputs["Y"], inputs["parameters"], cache)
    assert max(np.abs(gradients[k]).max() for k in GRAD_KEYS) > 5


# ------------------------------------------------------------------------ sample (B.5), model
def test_sample_reseeds_at_every_step_and_caps_at_fifty(ref):
    rng = np.random.RandomState(3)
    p = params(rng, 6, 27, 0.3)
    p["by"][0] -= 40.0  # the newline is (almost) never drawn
    indices = ref.sample(p, CHAR_TO_IX, 5)
    assert len(indices) == 51 and indices[-1] == 0 and 0 not in indices[:-1]
    # step k is seeded with 5 + 2k: redo the first three steps by hand
    x, a_prev = np.zeros((27, 1)), np.zeros((6, 1))
    for k in range(3):
        a = np.tanh(p["Wax"] @ x + p["Waa"] @ a_prev + p["b"])
        z = p["Wya"] @ a + p["by"]
        y = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        np.random.seed(5 + 2 * k)
        assert indices[k] == np.random.choice(range(27), p=y.ravel())
        x = np.zeros((27, 1))
        x[indices[k]] = 1
        a_prev = a


def test_model_trains_on_the_shuffled_names_carrying_the_hidden_state(ref, utils):
    names = ["abc", "de", "fgh", "ij"]
    ix_to_char = dict(enumerate(CHARS))
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        parameters, last = ref.model(names, ix_to_char, CHAR_TO_IX, 6, 5, 3)
    assert printed.getvalue().startswith("Iteration: 0, Loss: ") and last.endswith("\n")
    # by hand: seed 0 shuffle, examples in turn, a_prev carried, learning rate 0.01
    expected = utils.initialize_parameters(5, 27, 27)
    examples = list(names)
    np.random.seed(0)
    np.random.shuffle(examples)
    a_prev = np.zeros((5, 1))
    for j in range(6):
        X = [None] + [CHAR_TO_IX[c] for c in examples[j % 4]]
        Y = X[1:] + [0]
        _, _, a_prev = ref.optimize(X, Y, a_prev, expected, 0.01)
    for k in PARAM_KEYS:
        np.testing.assert_allclose(parameters[k], expected[k], rtol=0, atol=1e-15)
