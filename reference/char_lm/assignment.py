"""Assignment `char_lm` (family B of docs/ASSIGNMENTS.md, with the names of seed 000:
docs/ASSIGNMENTS.md part 2): a character-level RNN language model, one sequence at a
time (batch 1, column layout), parameters `Wax, Waa, Wya, ba, by` in a dict, sequences
as lists of indices where `X[t] is None` means a zero input vector.

What is compared, and why (docs/ASSIGNMENTS.md part 3: values, not layout; caches are
private; contract breaks lose credit):
- rnn_forward: only the loss. `cache = (y_hat, a, x)` is a cache, private to the
  student; it is only handed back to rnn_backward.
- rnn_backward: only the five parameter gradients (exact keys, `da_next` allowed but not
  compared: it is the running gradient of the backward pass, not a parameter gradient).
  The `a` it returns is the hidden-state dict of the private cache, passed through; the
  one value of it that is contractual, the last hidden state, is graded by optimize
  (`a_last`).
- rnn_cell_backward: "the same gradients dict, updated": the returned dict (all six
  keys, exact) and the argument dict after the call. Its accumulators start NON-zero,
  so `=` instead of `+=` (or `+=` where da_next must be replaced) is caught.
- clip: a new dict with exactly the five parameter gradients; its argument must stay
  unchanged (a contract break otherwise).
- update_parameters, optimize: `parameters` is updated in place, so the dict after the
  call is an output (an extra named like the argument, which also tells the engine that
  modifying it is expected rather than worth a note).
- sample: the list of indices, compared exactly (B.5 re-seeding protocol).

Hidden cases: batch 1 always; n_a differs from the vocabulary size everywhere so a
transposed Wax / Wya cannot pass; sequences of length 1 and sequences starting with
None; none of the published examples (B.6).
"""
import numpy as np

from autograder.assignments.model import PRIVATE, Assignment, GradCheck, Mistake, Returns, Unit

PREAMBLE = "import numpy as np\nfrom utils import *\n"

PARAMETER_KEYS = ("Wax", "Waa", "Wya", "ba", "by")
GRADIENT_KEYS = tuple("d" + k for k in PARAMETER_KEYS)
# clip's spec order (B.3): the keys are compared as a set, the order is only cosmetic.
CLIP_KEYS = ("dWaa", "dWax", "dWya", "dba", "dby")

# --- hidden case sizes ---------------------------------------------------------------------

SOFTMAX_SIZES = (
    dict(label="batch 1", V=7, scale=1.0, shift=0.0, seed=301),
    dict(label="full vocabulary", V=27, scale=3.0, shift=0.0, seed=302),
    dict(V=4, scale=0.5, shift=-2.0, seed=303),
    dict(label="large scores (exp overflows unless shifted by the max)", V=9, scale=2.0, shift=800.0, seed=304),
)
CELL_SIZES = (
    dict(label="one-hot input", n_a=5, V=3, x="one-hot", seed=311),
    dict(label="zero input (X[t] is None)", n_a=4, V=9, x="zero", seed=312),
    dict(label="full vocabulary", n_a=10, V=27, x="one-hot", seed=313),
    dict(n_a=7, V=2, x="one-hot", seed=314),
)
SEQUENCE_SIZES = (
    dict(label="one step", n_a=4, V=6, T=1, none_first=False, seed=321),
    dict(label="one step, X[0] is None", n_a=5, V=3, T=1, none_first=True, seed=322),
    dict(label="X[0] is None", n_a=6, V=11, T=7, none_first=True, seed=323),
    dict(label="non-square", n_a=9, V=4, T=5, none_first=False, seed=324),
    dict(label="larger", n_a=16, V=27, T=12, none_first=True, seed=325),
)
CLIP_SIZES = (
    dict(label="with da_next", n_a=5, V=3, scale=10.0, maxValue=10, da_next=True, seed=331),
    dict(n_a=4, V=8, scale=10.0, maxValue=5, da_next=True, seed=332),
    dict(label="five keys only", n_a=7, V=2, scale=1.0, maxValue=0.5, da_next=False, seed=333),
    dict(label="fractional bound", n_a=12, V=27, scale=3.0, maxValue=2.5, da_next=True, seed=334),
    dict(label="nothing to clip", n_a=3, V=5, scale=1.0, maxValue=100.0, da_next=False, seed=335),
)
UPDATE_SIZES = (
    dict(n_a=5, V=3, lr=0.01, da_next=False, seed=341),
    dict(label="gradients with da_next", n_a=4, V=9, lr=0.5, da_next=True, seed=342),
    dict(label="full vocabulary", n_a=10, V=27, lr=0.1, da_next=False, seed=343),
)
SAMPLE_SIZES = (
    dict(n_a=5, V=6, seed_arg=0, newline=0, newline_bias=0.0, scale=0.3, seed=351),
    dict(label="reaches the 50-character cap", n_a=8, V=27, seed_arg=7, newline=0, newline_bias=-30.0, scale=1.0,
         seed=352),
    dict(label="newline not at index 0", n_a=12, V=10, seed_arg=123, newline=3, newline_bias=0.0, scale=0.3,
         seed=353),
    dict(label="full vocabulary", n_a=3, V=27, seed_arg=2, newline=0, newline_bias=2.0, scale=0.3, seed=354),
    dict(n_a=20, V=15, seed_arg=31, newline=0, newline_bias=4.0, scale=0.3, seed=355),
)
OPTIMIZE_SIZES = (
    dict(label="one step", n_a=4, V=6, T=1, none_first=False, lr=0.01, scale=1.0, seed=361),
    dict(label="X[0] is None", n_a=6, V=11, T=7, none_first=True, lr=0.05, scale=1.0, seed=362),
    dict(label="non-square", n_a=9, V=4, T=5, none_first=True, lr=0.01, scale=1.0, seed=363),
    dict(label="clipping active", n_a=12, V=5, T=15, none_first=True, lr=0.01, scale=3.0, seed=364),
    dict(label="larger", n_a=16, V=27, T=12, none_first=True, lr=0.1, scale=1.0, seed=365),
)


# --- case inputs (plain data only: dicts, lists of ints and None, float64 arrays) ------------

def char_parameters(rng, n_a, V, scale=1.0):
    return {"Wax": rng.randn(n_a, V) * scale, "Waa": rng.randn(n_a, n_a) * 0.5 * scale,
            "Wya": rng.randn(V, n_a) * scale, "ba": rng.randn(n_a, 1), "by": rng.randn(V, 1)}


def sequence(rng, V, T, none_first):
    """X and Y as in the family: Y is X shifted by one; X[0] None feeds a zero vector."""
    text = [int(i) for i in rng.randint(0, V, size=T + 1)]
    X, Y = text[:T], text[1:]
    if none_first:
        X[0] = None
    return X, Y


def input_vector(rng, V, kind):
    x = np.zeros((V, 1))
    if kind == "one-hot":
        x[rng.randint(V)] = 1
    return x


def softmax_inputs(rng, V, scale, shift):
    return {"x": rng.randn(V, 1) * scale + shift}


def cell_forward_inputs(rng, n_a, V, x):
    return {"xt": input_vector(rng, V, x), "a_prev": rng.randn(n_a, 1),
            "parameters": char_parameters(rng, n_a, V)}


def cell_backward_inputs(rng, n_a, V, x):
    """A consistent step (a = tanh(Wax x + Waa a_prev + ba)) and running gradients that
    are already non-zero, as they are at every step but the last one of a sequence."""
    parameters = char_parameters(rng, n_a, V)
    xv, a_prev = input_vector(rng, V, x), rng.randn(n_a, 1)
    a = np.tanh(parameters["Wax"] @ xv + parameters["Waa"] @ a_prev + parameters["ba"])
    gradients = {"d" + k: rng.randn(*v.shape) for k, v in parameters.items()}
    gradients["da_next"] = rng.randn(n_a, 1)
    return {"dy": rng.randn(V, 1), "gradients": gradients, "parameters": parameters,
            "x": xv, "a": a, "a_prev": a_prev}


def sequence_inputs(rng, n_a, V, T, none_first):
    X, Y = sequence(rng, V, T, none_first)
    return {"X": X, "Y": Y, "a0": rng.randn(n_a, 1), "parameters": char_parameters(rng, n_a, V),
            "vocab_size": V}


def clip_inputs(rng, n_a, V, scale, maxValue, da_next):
    gradients = {"d" + k: rng.randn(*v.shape) * scale for k, v in char_parameters(rng, n_a, V).items()}
    if da_next:
        gradients["da_next"] = rng.randn(n_a, 1) * scale
    return {"gradients": gradients, "maxValue": maxValue}


def update_inputs(rng, n_a, V, lr, da_next):
    parameters = char_parameters(rng, n_a, V)
    gradients = {"d" + k: rng.randn(*v.shape) for k, v in parameters.items()}
    if da_next:  # an unclipped dict straight from rnn_backward
        gradients["da_next"] = rng.randn(n_a, 1)
    return {"parameters": parameters, "gradients": gradients, "lr": lr}


VOCABULARY = "abcdefghijklmnopqrstuvwxyz0123456789"


def sample_inputs(rng, n_a, V, seed_arg, newline, newline_bias, scale):
    parameters = char_parameters(rng, n_a, V, scale)
    parameters["by"][newline] += newline_bias  # -30: never ends by itself, hits the cap
    chars = list(VOCABULARY[:V - 1])
    chars.insert(newline, "\n")
    return {"parameters": parameters, "char_to_ix": {c: i for i, c in enumerate(chars)}, "seed": seed_arg}


def optimize_inputs(rng, n_a, V, T, none_first, lr, scale):
    X, Y = sequence(rng, V, T, none_first)
    return {"X": X, "Y": Y, "a_prev": rng.randn(n_a, 1), "parameters": char_parameters(rng, n_a, V, scale),
            "learning_rate": lr}


# --- snippets --------------------------------------------------------------------------------

# The cell's share of the loss, as a function of its parameters and a_prev: the score
# gradient dy and the incoming da_next are the upstream gradients of the scores and of
# a_next; the linear terms make the already accumulated gradients part of the derivative,
# so the numerical gradient equals the returned (accumulated) dict entry.
CELL_LOSS = (
    "np.sum(dy * (parameters['Wya'] @ (_a := np.tanh(parameters['Wax'] @ x + parameters['Waa'] @ a_prev"
    " + parameters['ba'])) + parameters['by'])) + np.sum(gradients['da_next'] * _a)"
    + "".join(f" + np.sum(gradients['d{k}'] * parameters['{k}'])" for k in PARAMETER_KEYS)
)
PARAMETER_GRADS = {f"parameters['{k}']": "d" + k for k in PARAMETER_KEYS}

# Classic mistakes (hints), as edits of reference/char_lm/solution.py (seed 000 made each).
FORWARD_MISTAKES = (
    Mistake("with a None input set to all ones (`x[t][None] = 1` fills the whole vector, B.7): X[t] None "
            "must stay a zero vector", "        if X[t] is not None:\n            x[t][X[t]] = 1\n",
            "        x[t][X[t]] = 1\n"),
    Mistake("with the last step's loss only (`loss = ...`): the loss sums -log(probability of the target) "
            "over every time step", "        loss -= np.log(y_hat[t][Y[t], 0])", "        loss = -np.log(y_hat[t][Y[t], 0])"),
)
CELL_BACKWARD_MISTAKES = (
    Mistake("with `da_next` accumulated (`+=`): it is replaced by the gradient with respect to a_prev, what the "
            "previous step receives", '    gradients["da_next"] = parameters["Waa"].T @ draw',
            '    gradients["da_next"] += parameters["Waa"].T @ draw'),
)

UNITS = (
    Unit("softmax", call="softmax(x)", returns=Returns.value("probabilities"),
         make_inputs=softmax_inputs, sizes=SOFTMAX_SIZES),
    # The reference cell calls softmax.
    Unit("rnn_cell_forward", call="rnn_cell_forward(xt, a_prev, parameters)",
         returns=Returns.tuple("a_next", "y_pred"), calls=("softmax",),
         make_inputs=cell_forward_inputs, sizes=CELL_SIZES),
    # Only the loss: the cache is private.
    Unit("rnn_forward", call="rnn_forward(X, Y, a0, parameters, vocab_size)",
         returns=Returns.tuple("loss", PRIVATE), calls=("rnn_cell_forward",),
         make_inputs=sequence_inputs, sizes=SEQUENCE_SIZES, mistakes=FORWARD_MISTAKES),
    Unit("rnn_cell_backward", call="rnn_cell_backward(dy, gradients, parameters, x, a, a_prev)",
         returns=Returns.dict(*GRADIENT_KEYS, "da_next"), extras={"gradients": "gradients"},
         make_inputs=cell_backward_inputs, sizes=CELL_SIZES, mistakes=CELL_BACKWARD_MISTAKES,
         gradcheck=GradCheck(CELL_LOSS, wrt={**PARAMETER_GRADS, "a_prev": "da_next"})),
    # The cache comes from rnn_forward: the student's own, or the reference's (part 3:
    # a backward unit also gets caches made by the reference forward).
    # Returns (gradients, a): the gradients have fixed keys (da_next allowed, not
    # compared); `a` is the hidden-state dict of the private cache, graded via optimize.
    Unit("rnn_backward", setup="_, cache = rnn_forward(X, Y, a0, parameters, vocab_size)",
         call="rnn_backward(X, Y, parameters, cache)",
         returns=Returns.tuple("gradients", "_a",
                               gradients=Returns.dict(*GRADIENT_KEYS, optional=("da_next",))),
         calls=("rnn_forward", "rnn_cell_backward"),
         make_inputs=sequence_inputs, sizes=SEQUENCE_SIZES,
         gradcheck=GradCheck("rnn_forward(X, Y, a0, parameters, vocab_size)[0]", wrt=PARAMETER_GRADS)),
    Unit("clip", call="clip(gradients, maxValue)", returns=Returns.dict(*CLIP_KEYS),
         unchanged=("gradients",), make_inputs=clip_inputs, sizes=CLIP_SIZES),
    # Returns the same dict; the argument after the call is what the caller sees.
    Unit("update_parameters", call="update_parameters(parameters, gradients, lr)",
         returns=Returns.value("return value"), extras={"parameters": "parameters"},
         make_inputs=update_inputs, sizes=UPDATE_SIZES),
    # The reference sample computes its step inline and calls only softmax.
    Unit("sample", call="sample(parameters, char_to_ix, seed)", returns=Returns.value("indices"),
         calls=("softmax",), exact=True, make_inputs=sample_inputs, sizes=SAMPLE_SIZES),
    Unit("optimize", call="optimize(X, Y, a_prev, parameters, learning_rate)",
         returns=Returns.tuple("loss", "gradients", "a_last"), extras={"parameters": "parameters"},
         calls=("rnn_forward", "rnn_backward", "clip", "update_parameters"),
         make_inputs=optimize_inputs, sizes=OPTIMIZE_SIZES),
)

ASSIGNMENT = Assignment(
    id="char_lm",
    family="B",
    title="Character-level language model (Dinosaurus Island, seed-000 names)",
    dtype="float64",
    helpers=("utils",),
    preamble=PREAMBLE,
    units=UNITS,
    rtol=1e-6,
    atol=1e-8,
)
