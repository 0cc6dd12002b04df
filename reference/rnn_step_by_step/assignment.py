"""Assignment `rnn_step_by_step` (family A of docs/ASSIGNMENTS.md): column layout,
parameter dicts, caches private to the student."""
from autograder.assignments.model import PRIVATE, Assignment, GradCheck, Mistake, Returns, Unit

PREAMBLE = "import numpy as np\nfrom rnn_utils import *\n"

# Hidden sizes: batch 1, non-square (n_a != n_x != n_y, so a transposed weight cannot
# pass), one time step for sequences, and a larger case. None is a published example.
# Within a case n_x, n_a, n_y, m, T_x (and da_steps) are pairwise different apart from
# the deliberate 1s (spec part 3, "No coincidences"; tests/test_case_sizes.py).
CELL_SIZES = (
    dict(label="batch 1", n_x=3, n_a=5, n_y=2, m=1, seed=101),
    dict(label="non-square", n_x=4, n_a=6, n_y=3, m=7, seed=102),
    dict(n_x=2, n_a=7, n_y=4, m=3, seed=103),
    dict(label="larger", n_x=9, n_a=16, n_y=5, m=20, seed=104),
)
SEQUENCE_SIZES = (
    dict(label="batch 1", n_x=3, n_a=5, n_y=2, m=1, T_x=4, seed=201),
    dict(label="one time step", n_x=4, n_a=6, n_y=3, m=5, T_x=1, seed=202),
    dict(label="non-square", n_x=2, n_a=7, n_y=4, m=3, T_x=5, seed=203),
    dict(label="larger", n_x=8, n_a=12, n_y=5, m=16, T_x=10, seed=204),
)
# Backward passes take the number of steps from `da`, not from `x` (A.6.2, A.7): one case
# back-propagates through the first steps only. First, so that the numerical gradient
# check (run on the last two cases, where da covers every step) still applies.
BACKWARD_SIZES = (dict(label="da shorter than x", n_x=3, n_a=5, n_y=2, m=7, T_x=6, da_steps=4, seed=205),
                  ) + SEQUENCE_SIZES


def rnn_parameters(rng, n_x, n_a, n_y):
    return {"Wax": rng.randn(n_a, n_x), "Waa": rng.randn(n_a, n_a) * 0.5, "Wya": rng.randn(n_y, n_a),
            "ba": rng.randn(n_a, 1), "by": rng.randn(n_y, 1)}


def lstm_parameters(rng, n_x, n_a, n_y):
    p = {}
    for gate in "fico":
        p["W" + gate] = rng.randn(n_a, n_a + n_x) * 0.7
        p["b" + gate] = rng.randn(n_a, 1)
    p["Wy"], p["by"] = rng.randn(n_y, n_a), rng.randn(n_y, 1)
    return p


def rnn_cell_inputs(rng, n_x, n_a, n_y, m):
    return {"xt": rng.randn(n_x, m), "a_prev": rng.randn(n_a, m),
            "parameters": rnn_parameters(rng, n_x, n_a, n_y), "da_next": rng.randn(n_a, m)}


def rnn_sequence_inputs(rng, n_x, n_a, n_y, m, T_x, da_steps=None):
    return {"x": rng.randn(n_x, m, T_x), "a0": rng.randn(n_a, m),
            "parameters": rnn_parameters(rng, n_x, n_a, n_y), "da": rng.randn(n_a, m, da_steps or T_x)}


def lstm_cell_inputs(rng, n_x, n_a, n_y, m):
    return {"xt": rng.randn(n_x, m), "a_prev": rng.randn(n_a, m), "c_prev": rng.randn(n_a, m),
            "parameters": lstm_parameters(rng, n_x, n_a, n_y),
            "da_next": rng.randn(n_a, m), "dc_next": rng.randn(n_a, m)}


def lstm_sequence_inputs(rng, n_x, n_a, n_y, m, T_x, da_steps=None):
    return {"x": rng.randn(n_x, m, T_x), "a0": rng.randn(n_a, m),
            "parameters": lstm_parameters(rng, n_x, n_a, n_y), "da": rng.randn(n_a, m, da_steps or T_x)}


def _forward_only(inputs, *drop):
    return {k: v for k, v in inputs.items() if k not in drop}


def forward_inputs(make, *drop):
    return lambda rng, **size: _forward_only(make(rng, **size), *drop)


# Classic mistakes (hints), as edits of reference/rnn_step_by_step/solution.py. The carries
# of a sequence backward: 13 of 15 real lstm_backward attempts drop one (never added to the
# next step's input, or reset to zeros at every step, which computes the same thing).
DA_CARRY = ("with the hidden-state gradient carried back from step t+1 (`da_prevt`) dropped: "
            "add it to da[:, :, t] at every step (and do not reset it inside the loop)")
DC_CARRY = ("with the memory gradient carried back from step t+1 (`dc_prevt`) dropped: pass the previous "
            "step's dc_prev as dc_next (and do not reset it inside the loop)")
RNN_MISTAKES = (Mistake(DA_CARRY, "rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])",
                        "rnn_cell_backward(da[:, :, t], caches[t])"),)
LSTM_CALL = "lstm_cell_backward(da[:, :, t] + da_prevt, dc_prevt, caches[t])"
LSTM_MISTAKES = (
    Mistake(DA_CARRY, LSTM_CALL, "lstm_cell_backward(da[:, :, t], dc_prevt, caches[t])"),
    Mistake(DC_CARRY, LSTM_CALL, "lstm_cell_backward(da[:, :, t] + da_prevt, 0 * dc_prevt, caches[t])"),
    Mistake("with both carried gradients (`da_prevt` and `dc_prevt`) dropped: each step must receive the "
            "gradients carried back from step t+1 (added to da[:, :, t], and as dc_next)",
            LSTM_CALL, "lstm_cell_backward(da[:, :, t], 0 * dc_prevt, caches[t])"),
)
LSTM_CELL_MISTAKES = (
    Mistake("without the tanh in a_next = ot * tanh(c_next)", "a_next = ot * np.tanh(c_next)", "a_next = ot * c_next"),
    Mistake("without the tanh of the candidate cct = tanh(Wc @ concat + bc)",
            "cct = np.tanh(Wc @ concat + bc)", "cct = Wc @ concat + bc"),
)

RNN_GRADS = {"parameters['Wax']": "dWax", "parameters['Waa']": "dWaa", "parameters['ba']": "dba"}
LSTM_GRADS = {f"parameters['{p}{g}']": f"d{p}{g}" for g in "fico" for p in "Wb"}

UNITS = (
    Unit("rnn_cell_forward", call="rnn_cell_forward(xt, a_prev, parameters)",
         returns=Returns.tuple("a_next", "yt_pred", PRIVATE),
         make_inputs=forward_inputs(rnn_cell_inputs, "da_next"), sizes=CELL_SIZES),
    Unit("rnn_forward", call="rnn_forward(x, a0, parameters)",
         returns=Returns.tuple("a", "y_pred", PRIVATE), calls=("rnn_cell_forward",),
         make_inputs=forward_inputs(rnn_sequence_inputs, "da"), sizes=SEQUENCE_SIZES),
    Unit("rnn_cell_backward", setup="_, _, cache = rnn_cell_forward(xt, a_prev, parameters)",
         call="rnn_cell_backward(da_next, cache)",
         returns=Returns.dict("dxt", "da_prev", "dWax", "dWaa", "dba"), calls=("rnn_cell_forward",),
         make_inputs=rnn_cell_inputs, sizes=CELL_SIZES,
         gradcheck=GradCheck("rnn_cell_forward(xt, a_prev, parameters)[0]", upstream="da_next",
                             wrt={"xt": "dxt", "a_prev": "da_prev", **RNN_GRADS})),
    Unit("rnn_backward", setup="_, _, caches = rnn_forward(x, a0, parameters)",
         call="rnn_backward(da, caches)",
         returns=Returns.dict("dx", "da0", "dWax", "dWaa", "dba"), calls=("rnn_forward", "rnn_cell_backward"),
         make_inputs=rnn_sequence_inputs, sizes=BACKWARD_SIZES, mistakes=RNN_MISTAKES,
         gradcheck=GradCheck("rnn_forward(x, a0, parameters)[0]", upstream="da",
                             wrt={"x": "dx", "a0": "da0", **RNN_GRADS})),
    Unit("lstm_cell_forward", call="lstm_cell_forward(xt, a_prev, c_prev, parameters)",
         returns=Returns.tuple("a_next", "c_next", "yt_pred", PRIVATE),
         make_inputs=forward_inputs(lstm_cell_inputs, "da_next", "dc_next"), sizes=CELL_SIZES,
         mistakes=LSTM_CELL_MISTAKES),
    Unit("lstm_forward", call="lstm_forward(x, a0, parameters)",
         returns=Returns.tuple("a", "y", "c", PRIVATE), calls=("lstm_cell_forward",),
         make_inputs=forward_inputs(lstm_sequence_inputs, "da"), sizes=SEQUENCE_SIZES),
    Unit("lstm_cell_backward", setup="_, _, _, cache = lstm_cell_forward(xt, a_prev, c_prev, parameters)",
         call="lstm_cell_backward(da_next, dc_next, cache)",
         returns=Returns.dict("dxt", "da_prev", "dc_prev", "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo"),
         calls=("lstm_cell_forward",), make_inputs=lstm_cell_inputs, sizes=CELL_SIZES,
         gradcheck=GradCheck("lstm_cell_forward(xt, a_prev, c_prev, parameters)[:2]", upstream=("da_next", "dc_next"),
                             wrt={"xt": "dxt", "a_prev": "da_prev", "c_prev": "dc_prev", **LSTM_GRADS})),
    Unit("lstm_backward", setup="_, _, _, caches = lstm_forward(x, a0, parameters)",
         call="lstm_backward(da, caches)",
         returns=Returns.dict("dx", "da0", "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo"),
         calls=("lstm_forward", "lstm_cell_backward"), make_inputs=lstm_sequence_inputs, sizes=BACKWARD_SIZES,
         mistakes=LSTM_MISTAKES,
         gradcheck=GradCheck("lstm_forward(x, a0, parameters)[0]", upstream="da",
                             wrt={"x": "dx", "a0": "da0", **LSTM_GRADS})),
)

ASSIGNMENT = Assignment(
    id="rnn_step_by_step",
    family="A",
    title="Building an RNN step by step (deeplearning.ai C5W1A1)",
    dtype="float64",
    helpers=("rnn_utils",),
    preamble=PREAMBLE,
    units=UNITS,
    rtol=1e-6,
    atol=1e-8,
)
