"""The hidden reference of `rnn_step_by_step` (family A) against every published value.

Sources of the expected numbers: docs/ASSIGNMENTS.md A.6.1 (forward cells), A.6.2
(backward cells, current notebook), A.6.4 (public_tests.py), and the stored outputs of
the seed-002 notebook. Each test re-creates its cell's random draws in the cell's own
order (it differs between cells, A.7).
"""
from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from autograder.reference import load_helper, load_reference
from gradcheck_util import assert_gradients, numeric_gradient, rel_error

SEED_002 = Path(__file__).parent / "fixtures" / "seeds" / "002_65784383a7b7c3f7.ipynb"

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


@pytest.fixture(scope="module")
def ref():
    return load_reference("rnn_step_by_step")


# --------------------------------------------------------------------------- helpers

def _decimals(token: str) -> int:
    """Digits after the point of a printed float. NumPy prints array elements with
    8 decimals and strips trailing zeros, so fewer digits still mean 8."""
    mantissa = token.lower().split("e")[0]
    shown = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return max(8, shown)


def assert_printed(actual, printed: str):
    """`actual` equals the numbers in `printed` to the printed digits: within half a unit
    of the last printed decimal (plus 1e-9 relative, for values printed in full repr)."""
    tokens = NUMBER.findall(printed)
    expected = np.array([float(t) for t in tokens])
    actual = np.asarray(actual, dtype=np.float64).ravel()
    assert actual.shape == expected.shape, (actual, printed)
    tol = np.array([0.5 * 10.0 ** -_decimals(t) * 1.01 for t in tokens]) + 1e-9 * np.abs(expected)
    diff = np.abs(actual - expected)
    assert np.all(diff <= tol), f"got {actual}, printed {printed}, diff {diff}"


def rnn_params(draw_order, n_x=3, n_a=5, n_y=2):
    """Draw basic-RNN parameters from the global stream in the given key order."""
    shapes = {"Wax": (n_a, n_x), "Waa": (n_a, n_a), "Wya": (n_y, n_a), "ba": (n_a, 1), "by": (n_y, 1)}
    return {k: np.random.randn(*shapes[k]) for k in draw_order}


FWD_ORDER = ("Waa", "Wax", "Wya", "ba", "by")   # forward cells: Waa before Wax
BWD_ORDER = ("Wax", "Waa", "Wya", "ba", "by")   # backward cells: Wax before Waa
LSTM_GATES = ("Wf", "bf", "Wi", "bi", "Wo", "bo", "Wc", "bc")  # o before c


def lstm_params(n_x=3, n_a=5, n_y=2, with_output=True):
    p = {}
    for k in LSTM_GATES:
        p[k] = np.random.randn(n_a, n_a + n_x) if k.startswith("W") else np.random.randn(n_a, 1)
    if with_output:
        p["Wy"] = np.random.randn(n_y, n_a)
        p["by"] = np.random.randn(n_y, 1)
    return p


# --------------------------------------------------------------------------- A.6.1

def test_rnn_cell_forward_published(ref):
    np.random.seed(1)
    xt = np.random.randn(3, 10)
    a_prev = np.random.randn(5, 10)
    p = rnn_params(FWD_ORDER)
    a_next, yt_pred, cache = ref.rnn_cell_forward(xt, a_prev, p)
    assert_printed(a_next[4], "[0.59584544, 0.18141802, 0.61311866, 0.99808218, 0.85016201, "
                              "0.99980978, -0.18887155, 0.99815551, 0.6531151, 0.82872037]")
    assert a_next.shape == (5, 10)
    assert_printed(yt_pred[1], "[0.9888161, 0.01682021, 0.21140899, 0.36817467, 0.98988387, "
                               "0.88945212, 0.36920224, 0.9966312, 0.9982559, 0.17746526]")
    assert yt_pred.shape == (2, 10)
    # Cache layout tested by index (A.3).
    assert len(cache) == 4
    assert cache[0] is a_next and cache[1] is a_prev and cache[2] is xt and cache[3] is p
    assert len(cache[3].keys()) == 5


def test_rnn_forward_published(ref):
    np.random.seed(1)
    x = np.random.randn(3, 10, 4)
    a0 = np.random.randn(5, 10)
    p = rnn_params(FWD_ORDER)
    a, y_pred, caches = ref.rnn_forward(x, a0, p)
    assert_printed(a[4][1], "[-0.99999375, 0.77911235, -0.99861469, -0.99833267]")
    assert a.shape == (5, 10, 4)
    assert_printed(y_pred[1][3], "[0.79560373, 0.86224861, 0.11118257, 0.81515947]")
    assert y_pred.shape == (2, 10, 4)
    assert_printed(caches[1][1][3], "[-1.1425182, -0.34934272, -0.20889423, 0.58662319]")
    assert len(caches) == 2
    assert caches[1] is x
    assert isinstance(caches[0], list) and len(caches[0]) == 4


def test_lstm_cell_forward_published(ref):
    np.random.seed(1)
    xt = np.random.randn(3, 10)
    a_prev = np.random.randn(5, 10)
    c_prev = np.random.randn(5, 10)
    p = lstm_params()
    a_next, c_next, yt, cache = ref.lstm_cell_forward(xt, a_prev, c_prev, p)
    assert_printed(a_next[4], "[-0.66408471, 0.0036921, 0.02088357, 0.22834167, -0.85575339, "
                              "0.00138482, 0.76566531, 0.34631421, -0.00215674, 0.43827275]")
    assert a_next.shape == (5, 10)
    assert_printed(c_next[2], "[0.63267805, 1.00570849, 0.35504474, 0.20690913, -1.64566718, "
                              "0.11832942, 0.76449811, -0.0981561, -0.74348425, -0.26810932]")
    assert c_next.shape == (5, 10)
    assert_printed(yt[1], "[0.79913913, 0.15986619, 0.22412122, 0.15606108, 0.97057211, "
                          "0.31146381, 0.00943007, 0.12666353, 0.39380172, 0.07828381]")
    assert yt.shape == (2, 10)
    assert_printed(cache[1][3], "[-0.16263996, 1.03729328, 0.72938082, -0.54101719, 0.02752074, "
                                "-0.30821874, 0.07651101, -1.03752894, 1.41219977, -0.37647422]")
    assert len(cache) == 10
    # 10-tuple layout (A.3): a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters.
    assert cache[0] is a_next and cache[1] is c_next
    assert cache[2] is a_prev and cache[3] is c_prev and cache[8] is xt and cache[9] is p


def test_lstm_forward_published(ref):
    np.random.seed(1)
    x = np.random.randn(3, 10, 7)
    a0 = np.random.randn(5, 10)
    p = lstm_params()
    a, y, c, caches = ref.lstm_forward(x, a0, p)
    assert_printed(a[4][3][6], "0.172117767533")
    assert a.shape == (5, 10, 7)
    assert_printed(y[1][4][3], "0.95087346185")
    assert y.shape == (2, 10, 7)
    assert_printed(caches[1][1][1], "[0.82797464, 0.23009474, 0.76201118, -0.22232814, "
                                    "-0.20075807, 0.18656139, 0.41005165]")
    assert_printed(c[1][2][1], "-0.855544916718")
    assert len(caches) == 2
    assert caches[1] is x and len(caches[0]) == 7 and len(caches[0][0]) == 10


# --------------------------------------------------------------------------- A.6.2

def test_rnn_cell_backward_published(ref):
    np.random.seed(1)
    xt = np.random.randn(3, 10)
    a_prev = np.random.randn(5, 10)
    p = rnn_params(BWD_ORDER)
    _, _, cache = ref.rnn_cell_forward(xt, a_prev, p)
    da_next = np.random.randn(5, 10)
    g = ref.rnn_cell_backward(da_next, cache)
    assert set(g) == {"dxt", "da_prev", "dWax", "dWaa", "dba"}
    assert_printed(g["dxt"][1][2], "-1.3872130506020928")
    assert g["dxt"].shape == (3, 10)
    assert_printed(g["da_prev"][2][3], "-0.152399493774")
    assert g["da_prev"].shape == (5, 10)
    assert_printed(g["dWax"][3][1], "0.410772824935")
    assert g["dWax"].shape == (5, 3)
    assert_printed(g["dWaa"][1][2], "1.15034506685")
    assert g["dWaa"].shape == (5, 5)
    assert_printed(g["dba"][4], "[0.20023491]")
    assert g["dba"].shape == (5, 1)


def test_rnn_backward_published(ref):
    np.random.seed(1)
    x = np.random.randn(3, 10, 4)
    a0 = np.random.randn(5, 10)
    p = rnn_params(BWD_ORDER)
    _, _, caches = ref.rnn_forward(x, a0, p)
    da = np.random.randn(5, 10, 4)
    g = ref.rnn_backward(da, caches)
    assert set(g) == {"dx", "da0", "dWax", "dWaa", "dba"}
    assert_printed(g["dx"][1][2], "[-2.07101689, -0.59255627, 0.02466855, 0.01483317]")
    assert g["dx"].shape == (3, 10, 4)
    assert_printed(g["da0"][2][3], "-0.314942375127")
    assert g["da0"].shape == (5, 10)
    assert_printed(g["dWax"][3][1], "11.2641044965")
    assert g["dWax"].shape == (5, 3)
    assert_printed(g["dWaa"][1][2], "2.30333312658")
    assert g["dWaa"].shape == (5, 5)
    assert_printed(g["dba"][4], "[-0.74747722]")
    assert g["dba"].shape == (5, 1)


def test_lstm_cell_backward_published(ref):
    np.random.seed(1)
    xt = np.random.randn(3, 10)
    a_prev = np.random.randn(5, 10)
    c_prev = np.random.randn(5, 10)
    p = lstm_params()
    _, _, _, cache = ref.lstm_cell_forward(xt, a_prev, c_prev, p)
    da_next = np.random.randn(5, 10)
    dc_next = np.random.randn(5, 10)
    g = ref.lstm_cell_backward(da_next, dc_next, cache)
    assert set(g) == {"dxt", "da_prev", "dc_prev", "dWf", "dbf", "dWi", "dbi",
                      "dWc", "dbc", "dWo", "dbo"}
    assert_printed(g["dxt"][1][2], "3.23055911511")
    assert g["dxt"].shape == (3, 10)
    assert_printed(g["da_prev"][2][3], "-0.0639621419711")
    assert_printed(g["dc_prev"][2][3], "0.797522038797")
    assert g["da_prev"].shape == g["dc_prev"].shape == (5, 10)
    assert_printed(g["dWf"][3][1], "-0.147954838164")
    assert_printed(g["dWi"][1][2], "1.05749805523")
    assert_printed(g["dWc"][3][1], "2.30456216369")
    assert_printed(g["dWo"][1][2], "0.331311595289")
    for k in ("dWf", "dWi", "dWc", "dWo"):
        assert g[k].shape == (5, 8)
    assert_printed(g["dbf"][4], "[0.18864637]")
    assert_printed(g["dbi"][4], "[-0.40142491]")
    assert_printed(g["dbc"][4], "[0.25587763]")
    assert_printed(g["dbo"][4], "[0.13893342]")
    for k in ("dbf", "dbi", "dbc", "dbo"):
        assert g[k].shape == (5, 1)


def test_lstm_backward_published(ref):
    np.random.seed(1)
    x = np.random.randn(3, 10, 7)
    a0 = np.random.randn(5, 10)
    p = lstm_params(with_output=False)
    # The current notebook's cell sets the output layer to zeros (no draws).
    p["Wy"] = np.zeros((2, 5))
    p["by"] = np.zeros((2, 1))
    _, _, _, caches = ref.lstm_forward(x, a0, p)
    # Only 4 time steps although x has 7: the loop length must come from da (A.6.2).
    da = np.random.randn(5, 10, 4)
    g = ref.lstm_backward(da, caches)
    assert set(g) == {"dx", "da0", "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo"}
    assert_printed(g["dx"][1][2], "[0.00218254, 0.28205375, -0.48292508, -0.43281115]")
    assert g["dx"].shape == (3, 10, 4)
    assert_printed(g["da0"][2][3], "0.312770310257")
    assert g["da0"].shape == (5, 10)
    assert_printed(g["dWf"][3][1], "-0.0809802310938")
    assert_printed(g["dWi"][1][2], "0.40512433093")
    assert_printed(g["dWc"][3][1], "-0.0793746735512")
    assert_printed(g["dWo"][1][2], "0.038948775763")
    for k in ("dWf", "dWi", "dWc", "dWo"):
        assert g[k].shape == (5, 8)
    assert_printed(g["dbf"][4], "[-0.15745657]")
    assert_printed(g["dbi"][4], "[-0.50848333]")
    assert_printed(g["dbc"][4], "[-0.42510818]")
    assert_printed(g["dbo"][4], "[-0.17958196]")
    for k in ("dbf", "dbi", "dbc", "dbo"):
        assert g[k].shape == (5, 1)


# --------------------------------------------------------------------------- A.6.4

def test_public_rnn_cell_forward_structured(ref):
    """public_tests.rnn_cell_forward_tests: three structured cases, Wya forced to zero."""
    softmax = load_helper("rnn_step_by_step", "rnn_utils").softmax
    rng = np.random.RandomState(0)
    n_x, n_a, n_y, m = 3, 5, 2, 10
    zeros_p = {"Wax": rng.randn(n_a, n_x), "Waa": rng.randn(n_a, n_a),
               "Wya": np.zeros((n_y, n_a)), "ba": rng.randn(n_a, 1), "by": rng.randn(n_y, 1)}

    # (1) no input, no history: a_next = tanh(ba), yt_pred = softmax(by) per column.
    a_next, yt_pred, cache = ref.rnn_cell_forward(np.zeros((n_x, m)), np.zeros((n_a, m)), zeros_p)
    assert np.allclose(a_next, np.tanh(zeros_p["ba"]) * np.ones((1, m)))
    assert np.allclose(yt_pred, softmax(zeros_p["by"]) * np.ones((1, m)))
    assert a_next.shape == (n_a, m) and yt_pred.shape == (n_y, m)
    assert cache[0].shape == (n_a, m) and cache[1].shape == (n_a, m) and cache[2].shape == (n_x, m)
    assert len(cache[3].keys()) == 5

    # (2) only the input is non-zero.
    p2 = dict(zeros_p, ba=np.zeros((n_a, 1)), by=np.zeros((n_y, 1)))
    xt = rng.randn(n_x, m)
    a_next, yt_pred, _ = ref.rnn_cell_forward(xt, np.zeros((n_a, m)), p2)
    assert np.allclose(a_next, np.tanh(p2["Wax"] @ xt))
    assert np.allclose(yt_pred, np.full((n_y, m), 1.0 / n_y))

    # (3) only the previous hidden state is non-zero.
    a_prev = rng.randn(n_a, m)
    a_next, yt_pred, _ = ref.rnn_cell_forward(np.zeros((n_x, m)), a_prev, p2)
    assert np.allclose(a_next, np.tanh(p2["Waa"] @ a_prev))
    assert np.allclose(yt_pred, np.full((n_y, m), 1.0 / n_y))


def test_public_rnn_forward(ref):
    np.random.seed(17)
    T_x, m, n_x, n_a, n_y = 13, 8, 4, 7, 3
    x = np.random.randn(n_x, m, T_x)
    a0 = np.random.randn(n_a, m)
    p = rnn_params(FWD_ORDER, n_x, n_a, n_y)
    a, y_pred, caches = ref.rnn_forward(x, a0, p)
    assert a.shape == (n_a, m, T_x) and y_pred.shape == (n_y, m, T_x)
    assert len(caches[0]) == T_x
    assert_printed(a[5, 2, 2:6], "[0.99999291, 0.99332189, 0.9921928, 0.99503445]")
    # Published truncated (not rounded) to 5 decimals and checked there with atol 1e-4.
    # Here: exact up to the truncation, i.e. within one unit of the 5th decimal.
    published = np.array([0.19428, 0.14292, 0.24993, 0.00119])
    assert np.allclose(y_pred[2, 1, 1:5], published, atol=1e-4)
    assert np.all((y_pred[2, 1, 1:5] - published >= 0) & (y_pred[2, 1, 1:5] - published < 1e-5))
    assert np.allclose(caches[1], x)


def test_public_lstm_cell_forward(ref):
    np.random.seed(212)
    m, n_x, n_a, n_y = 8, 4, 7, 3
    x = np.random.randn(n_x, m)
    a0 = np.random.randn(n_a, m)
    c0 = np.random.randn(n_a, m)
    p = lstm_params(n_x, n_a, n_y)
    a_next, c_next, y_pred, cache = ref.lstm_cell_forward(x, a0, c0, p)
    assert len(cache) == 10
    for i, shape in enumerate([(n_a, m)] * 8 + [(n_x, m)]):
        assert cache[i].shape == shape, i
    assert_printed(cache[4][0, 0:2], "[0.32969833, 0.0574555]")
    assert_printed(cache[5][0, 0:2], "[0.0036446, 0.9806943]")
    assert_printed(cache[6][0, 0:2], "[0.99903873, 0.57509956]")
    assert_printed(cache[1][0, 0:2], "[0.1352798, 0.39884899]")
    assert_printed(cache[7][0, 0:2], "[0.7477249, 0.71588751]")
    assert_printed(cache[0][0, 0:2], "[0.10053951, 0.27129536]")
    # Published truncated (not rounded), to 6 decimals except 0.68453 (5), and checked
    # there with np.allclose's default tolerance. Here: within one unit of each value's
    # last published decimal.
    published = ["0.417098", "0.449528", "0.223159", "0.278376",
                 "0.68453", "0.419221", "0.564025", "0.538475"]
    assert np.allclose(y_pred[1], [float(v) for v in published])
    for got, text in zip(y_pred[1], published):
        assert 0 <= got - float(text) < 10.0 ** -len(text.split(".")[1]), (got, text)


def test_public_lstm_forward(ref):
    np.random.seed(45)
    n_x, m, T_x, n_a, n_y = 4, 13, 16, 3, 2
    x = np.random.randn(n_x, m, T_x)
    a0 = np.random.randn(n_a, m)
    p = lstm_params(n_x, n_a, n_y)
    a, y, c, caches = ref.lstm_forward(x, a0, p)
    assert a.shape == c.shape == (n_a, m, T_x) and y.shape == (n_y, m, T_x)
    assert len(caches[0]) == T_x and len(caches[0][0]) == 10
    assert_printed(a[2, 1, 4:6], "[-0.01606022, 0.0243569]")
    assert_printed(c[2, 1, 4:6], "[-0.02753855, 0.05668358]")
    assert_printed(y[1, 1, 4:6], "[0.70444592, 0.70648935]")


def test_helpers():
    utils = load_helper("rnn_step_by_step", "rnn_utils")
    x = np.array([[1.0, -2.0, 30.0], [2.0, 3.0, 29.0]])
    s = utils.softmax(x)
    assert np.allclose(s.sum(axis=0), 1.0)
    assert np.allclose(s[:, 0], np.exp([1, 2]) / np.exp([1, 2]).sum())
    # The shift is by the global max (A.1): a column far below it underflows to 0/0,
    # exactly as in the published helper.
    with np.errstate(invalid="ignore", under="ignore"):
        assert np.isnan(utils.softmax(np.array([[1.0, 1000.0], [2.0, 999.0]]))[:, 0]).all()
    assert np.allclose(utils.sigmoid(np.array([0.0, 2.0])), [0.5, 1 / (1 + np.exp(-2.0))])


# --------------------------------------------------------------------------- seed 002

def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value  # nbformat v4 JSON: a string or its lines


def _stdout(cell) -> str:
    return "".join(_text(o.get("text", "")) for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def _defines_function(source: str) -> bool:
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return True  # only the student's (indented) def cells fail to parse as-is
    return any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in tree.body)


def _seed002_test_cells():
    # read as plain JSON (a v4 notebook): nbformat's validator takes seconds to import, and
    # each reference mutant (test_reference_mutations.py) runs this file in a new process
    nb = json.loads(SEED_002.read_text())
    assert nb["nbformat"] == 4
    cells = [(i, _text(c["source"]), _stdout(c)) for i, c in enumerate(nb["cells"])]
    return [(i, source, out) for (i, source, out), c in zip(cells, nb["cells"])
            if c["cell_type"] == "code" and out and not _defines_function(source)]


SEED002_CELLS = _seed002_test_cells()


def test_seed002_has_all_test_cells():
    # One printing test cell per graded function the student wrote (the 6 they ran).
    assert len(SEED002_CELLS) == 6


@pytest.mark.parametrize("index,source,stored", SEED002_CELLS, ids=[f"cell{c[0]}" for c in SEED002_CELLS])
def test_seed002_cell_against_reference(ref, index, source, stored):
    namespace = dict(vars(ref))
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(source, f"<seed002 cell {index}>", "exec"), namespace)
    got = NUMBER.findall(buffer.getvalue())
    want = NUMBER.findall(stored)
    assert len(got) == len(want), (buffer.getvalue(), stored)
    for g, w in zip(got, want):
        if re.fullmatch(r"[-+]?\d+", w):
            # Integers (shapes, lengths, indices in the labels) must match exactly.
            assert g == w, (buffer.getvalue(), stored)
        else:
            # Both sides are rounded prints: they may differ by one unit in the last place.
            tol = 1.01 * 10.0 ** -_decimals(w) + 1e-9 * abs(float(w))
            assert abs(float(g) - float(w)) <= tol, (g, w, buffer.getvalue())


# --------------------------------------------------------------------------- gradient checks

SIZES = [
    pytest.param(dict(n_x=3, n_a=4, n_y=2, m=1, T_x=3), id="batch1"),
    pytest.param(dict(n_x=2, n_a=3, n_y=2, m=3, T_x=1), id="one_step"),
    pytest.param(dict(n_x=3, n_a=5, n_y=2, m=4, T_x=6), id="larger"),
]


def _rnn_setup(rng, n_x, n_a, n_y, m, T_x):
    p = {"Wax": rng.randn(n_a, n_x), "Waa": rng.randn(n_a, n_a) * 0.5, "Wya": rng.randn(n_y, n_a),
         "ba": rng.randn(n_a, 1), "by": rng.randn(n_y, 1)}
    return p


def _lstm_setup(rng, n_x, n_a, n_y, m, T_x):
    p = {k: rng.randn(n_a, n_a + n_x) if k.startswith("W") else rng.randn(n_a, 1) for k in LSTM_GATES}
    p["Wy"] = rng.randn(n_y, n_a)
    p["by"] = rng.randn(n_y, 1)
    return p


@pytest.mark.parametrize("size", SIZES)
def test_gradcheck_rnn_cell_backward(ref, size):
    rng = np.random.RandomState(10)
    p = _rnn_setup(rng, **size)
    xt = rng.randn(size["n_x"], size["m"])
    a_prev = rng.randn(size["n_a"], size["m"])
    up = rng.randn(size["n_a"], size["m"])

    def loss():
        return np.sum(ref.rnn_cell_forward(xt, a_prev, p)[0] * up)

    g = ref.rnn_cell_backward(up, ref.rnn_cell_forward(xt, a_prev, p)[2])
    assert_gradients(loss, {"xt": g["dxt"], "a_prev": g["da_prev"], "Wax": g["dWax"],
                            "Waa": g["dWaa"], "ba": g["dba"]},
                     {"xt": xt, "a_prev": a_prev, "Wax": p["Wax"], "Waa": p["Waa"], "ba": p["ba"]})


@pytest.mark.parametrize("size", SIZES)
def test_gradcheck_rnn_backward(ref, size):
    rng = np.random.RandomState(11)
    p = _rnn_setup(rng, **size)
    x = rng.randn(size["n_x"], size["m"], size["T_x"])
    a0 = rng.randn(size["n_a"], size["m"])
    up = rng.randn(size["n_a"], size["m"], size["T_x"])

    def loss():
        return np.sum(ref.rnn_forward(x, a0, p)[0] * up)

    g = ref.rnn_backward(up, ref.rnn_forward(x, a0, p)[2])
    assert_gradients(loss, {"x": g["dx"], "a0": g["da0"], "Wax": g["dWax"],
                            "Waa": g["dWaa"], "ba": g["dba"]},
                     {"x": x, "a0": a0, "Wax": p["Wax"], "Waa": p["Waa"], "ba": p["ba"]})


@pytest.mark.parametrize("size", SIZES)
def test_gradcheck_lstm_cell_backward(ref, size):
    rng = np.random.RandomState(12)
    p = _lstm_setup(rng, **size)
    xt = rng.randn(size["n_x"], size["m"])
    a_prev = rng.randn(size["n_a"], size["m"])
    c_prev = rng.randn(size["n_a"], size["m"])
    up_a = rng.randn(size["n_a"], size["m"])
    up_c = rng.randn(size["n_a"], size["m"])

    def loss():
        a_next, c_next, _, _ = ref.lstm_cell_forward(xt, a_prev, c_prev, p)
        return np.sum(a_next * up_a) + np.sum(c_next * up_c)

    g = ref.lstm_cell_backward(up_a, up_c, ref.lstm_cell_forward(xt, a_prev, c_prev, p)[3])
    analytic = {"xt": g["dxt"], "a_prev": g["da_prev"], "c_prev": g["dc_prev"]}
    arrays = {"xt": xt, "a_prev": a_prev, "c_prev": c_prev}
    for k in LSTM_GATES:
        analytic[k] = g["d" + k]
        arrays[k] = p[k]
    assert_gradients(loss, analytic, arrays)


@pytest.mark.parametrize("size", SIZES)
def test_gradcheck_lstm_backward(ref, size):
    rng = np.random.RandomState(13)
    p = _lstm_setup(rng, **size)
    x = rng.randn(size["n_x"], size["m"], size["T_x"])
    a0 = rng.randn(size["n_a"], size["m"])
    up = rng.randn(size["n_a"], size["m"], size["T_x"])

    def loss():
        return np.sum(ref.lstm_forward(x, a0, p)[0] * up)

    g = ref.lstm_backward(up, ref.lstm_forward(x, a0, p)[3])
    analytic = {"x": g["dx"], "a0": g["da0"]}
    arrays = {"x": x, "a0": a0}
    for k in LSTM_GATES:
        analytic[k] = g["d" + k]
        arrays[k] = p[k]
    assert_gradients(loss, analytic, arrays)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_gradcheck_backward_with_shorter_da(ref, cell):
    """A da covering only the first 4 of 7 steps gives the gradient of
    sum(a[:, :, :4] * da): the loop length is da's, and later steps are ignored."""
    rng = np.random.RandomState(14)
    size = dict(n_x=3, n_a=5, n_y=2, m=4, T_x=7)
    if cell == "rnn":
        p = _rnn_setup(rng, **size)
        forward, backward, names = ref.rnn_forward, ref.rnn_backward, ("Wax", "Waa", "ba")
    else:
        p = _lstm_setup(rng, **size)
        forward, backward, names = ref.lstm_forward, ref.lstm_backward, LSTM_GATES
    x = rng.randn(3, 4, 7)
    a0 = rng.randn(5, 4)
    up = rng.randn(5, 4, 4)

    def loss():
        return np.sum(forward(x, a0, p)[0][:, :, :4] * up)

    g = backward(up, forward(x, a0, p)[-1])
    assert g["dx"].shape == (3, 4, 4)
    num_x = numeric_gradient(loss, x)
    assert np.all(num_x[:, :, 4:] == 0)
    assert rel_error(g["dx"], num_x[:, :, :4]) < 1e-7
    assert_gradients(loss, {"a0": g["da0"], **{k: g["d" + k] for k in names}},
                     {"a0": a0, **{k: p[k] for k in names}})
