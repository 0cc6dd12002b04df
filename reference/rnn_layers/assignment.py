"""Assignment `rnn_layers` (family C of docs/ASSIGNMENTS.md): CS231n `rnn_layers.py`,
free functions in row layout (`x (N, D)`, sequences `(N, T, D)`, weights `(in, out)`
multiplied on the right, 1-D biases), LSTM gate blocks in the order i, f, o, g.

What is compared, and why (docs/ASSIGNMENTS.md part 3 and C.2):
- every `*_forward` returns `(out, cache)` (LSTM step: `(next_h, next_c, cache)`); the
  cache is opaque (C.2): never compared, only handed back to the matching backward;
- the backward units get their cache from the forward in `setup`: the student's own
  forward, or in reference mode the reference forward (it is in `calls`); the sequence
  backward units also get the reference step backward there, so a student whose step
  functions agree on a private cache layout, or whose step backward is wrong, is judged
  on the sequence logic alone;
- `word_embedding_backward` returns a single array (C.6); every one of its cases has
  repeated word indices, so `dW[x] += dout` (which keeps one of the repeats) cannot pass
  where `np.add.at` is needed;
- arguments modified in place (`dnext_c += ...`, C.6) are pointed out by the engine but
  cost nothing (part 3), so no unit declares `unchanged`.

Hidden cases: batch 1, a single time step, non-square sizes (N, D and H all different,
so a transposed Wx fails on its shape and a transposed Wh on its values; the weights are
not symmetric), and a larger case. None of them is a published linspace example (C.5).
Every backward unit is also checked against central differences of its own forward.
"""
import numpy as np

from autograder.assignments.model import PRIVATE, Assignment, GradCheck, Mistake, Returns, Unit

PREAMBLE = "import numpy as np\nfrom rnn_layers_utils import *\n"

# --- hidden case sizes ---------------------------------------------------------------------

RNN_STEP_SIZES = (
    dict(label="batch 1", N=1, D=3, H=5, seed=401),
    dict(label="non-square", N=4, D=6, H=3, seed=402),
    dict(N=3, D=2, H=7, seed=403),
    dict(label="larger", N=16, D=10, H=20, seed=404),
)
RNN_SEQUENCE_SIZES = (
    dict(label="batch 1", N=1, T=5, D=3, H=4, seed=411),
    dict(label="one time step", N=3, T=1, D=4, H=6, seed=412),
    dict(label="non-square", N=2, T=4, D=5, H=3, seed=413),
    dict(label="larger", N=10, T=12, D=8, H=16, seed=414),
)
# N * T > V everywhere: some word index is always repeated (np.add.at is needed).
EMBEDDING_SIZES = (
    dict(label="batch 1", N=1, T=6, V=4, D=3, seed=421),
    dict(label="one time step", N=5, T=1, V=3, D=4, seed=422),
    dict(label="non-square", N=3, T=4, V=10, D=5, seed=423),
    dict(label="larger", N=8, T=12, V=20, D=16, seed=424),
)
LSTM_STEP_SIZES = (
    dict(label="batch 1", N=1, D=3, H=5, seed=431),
    dict(label="non-square", N=4, D=6, H=3, seed=432),
    dict(N=3, D=2, H=7, seed=433),
    dict(label="larger", N=16, D=10, H=20, seed=434),
)
LSTM_SEQUENCE_SIZES = (
    dict(label="batch 1", N=1, T=5, D=3, H=4, seed=441),
    dict(label="one time step", N=3, T=1, D=4, H=6, seed=442),
    dict(label="non-square", N=2, T=4, D=5, H=3, seed=443),
    dict(label="larger", N=10, T=12, D=8, H=16, seed=444),
)


# --- case inputs (float64 arrays; int64 word indices) ----------------------------------------

def weights(rng, D, H, gates=1):
    """Wx (D, gates*H), Wh (H, gates*H), b (gates*H,), scaled so that tanh and sigmoid
    are not saturated (every entry of every gradient matters)."""
    return {"Wx": rng.randn(D, gates * H) / np.sqrt(D), "Wh": rng.randn(H, gates * H) / np.sqrt(H),
            "b": rng.randn(gates * H) * 0.5}


def rnn_step_inputs(rng, N, D, H):
    return {"x": rng.randn(N, D), "prev_h": np.tanh(rng.randn(N, H)), **weights(rng, D, H),
            "dnext_h": rng.randn(N, H)}


def rnn_sequence_inputs(rng, N, T, D, H):
    return {"x": rng.randn(N, T, D), "h0": np.tanh(rng.randn(N, H)), **weights(rng, D, H),
            "dh": rng.randn(N, T, H)}


def embedding_inputs(rng, N, T, V, D):
    x = rng.randint(V, size=(N, T)).astype(np.int64)
    assert len(np.unique(x)) < x.size, "every embedding case needs a repeated index"
    return {"x": x, "W": rng.randn(V, D), "dout": rng.randn(N, T, D)}


def lstm_step_inputs(rng, N, D, H):
    return {"x": rng.randn(N, D), "prev_h": np.tanh(rng.randn(N, H)), "prev_c": rng.randn(N, H),
            **weights(rng, D, H, gates=4), "dnext_h": rng.randn(N, H), "dnext_c": rng.randn(N, H)}


def lstm_sequence_inputs(rng, N, T, D, H):
    return {"x": rng.randn(N, T, D), "h0": np.tanh(rng.randn(N, H)), **weights(rng, D, H, gates=4),
            "dh": rng.randn(N, T, H)}


def _forward_only(inputs, drop):
    return {k: v for k, v in inputs.items() if k not in drop}


def forward_inputs(make, *drop):
    """The inputs of a forward unit: those of its backward minus the upstream gradients."""
    return lambda rng, **size: _forward_only(make(rng, **size), drop)


# --- snippets ------------------------------------------------------------------------------

RNN_STEP = "rnn_step_forward(x, prev_h, Wx, Wh, b)"
RNN_SEQUENCE = "rnn_forward(x, h0, Wx, Wh, b)"
EMBEDDING = "word_embedding_forward(x, W)"
LSTM_STEP = "lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)"
LSTM_SEQUENCE = "lstm_forward(x, h0, Wx, Wh, b)"

WEIGHT_GRADS = {"Wx": "dWx", "Wh": "dWh", "b": "db"}

# Classic mistakes (hints), as edits of reference/rnn_layers/solution.py: a sequence
# backward that drops a gradient carried between time steps (or resets it every step).
DH_CARRY = ("with the hidden-state gradient carried back from step t+1 (`dprev_h`) dropped: "
            "add it to dh[:, t, :] at every step (and do not reset it inside the loop)")
DC_CARRY = ("with the cell-state gradient carried back from step t+1 (`dprev_c`) dropped: pass the "
            "previous step's dprev_c as dnext_c (and do not reset it inside the loop)")
LSTM_CARRIES = "            dh[:, t, :] + dprev_h, dprev_c, cache[t])"
RNN_MISTAKES = (Mistake(DH_CARRY, "rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])",
                        "rnn_step_backward(dh[:, t, :], cache[t])"),)
LSTM_MISTAKES = (
    Mistake(DH_CARRY, LSTM_CARRIES, "            dh[:, t, :], dprev_c, cache[t])"),
    Mistake(DC_CARRY, LSTM_CARRIES, "            dh[:, t, :] + dprev_h, 0 * dprev_c, cache[t])"),
    Mistake("with both carried gradients (`dprev_h` and `dprev_c`) dropped: each step must receive the "
            "gradients carried back from step t+1", LSTM_CARRIES, "            dh[:, t, :], 0 * dprev_c, cache[t])"),
)

UNITS = (
    Unit("rnn_step_forward", call=RNN_STEP, returns=Returns.tuple("next_h", PRIVATE),
         make_inputs=forward_inputs(rnn_step_inputs, "dnext_h"), sizes=RNN_STEP_SIZES),
    Unit("rnn_step_backward", setup=f"_, cache = {RNN_STEP}", call="rnn_step_backward(dnext_h, cache)",
         returns=Returns.tuple("dx", "dprev_h", "dWx", "dWh", "db"), calls=("rnn_step_forward",),
         make_inputs=rnn_step_inputs, sizes=RNN_STEP_SIZES,
         gradcheck=GradCheck(f"{RNN_STEP}[0]", upstream="dnext_h",
                             wrt={"x": "dx", "prev_h": "dprev_h", **WEIGHT_GRADS})),
    Unit("rnn_forward", call=RNN_SEQUENCE, returns=Returns.tuple("h", PRIVATE), calls=("rnn_step_forward",),
         make_inputs=forward_inputs(rnn_sequence_inputs, "dh"), sizes=RNN_SEQUENCE_SIZES),
    Unit("rnn_backward", setup=f"_, cache = {RNN_SEQUENCE}", call="rnn_backward(dh, cache)",
         returns=Returns.tuple("dx", "dh0", "dWx", "dWh", "db"), calls=("rnn_forward", "rnn_step_backward"),
         make_inputs=rnn_sequence_inputs, sizes=RNN_SEQUENCE_SIZES, mistakes=RNN_MISTAKES,
         gradcheck=GradCheck(f"{RNN_SEQUENCE}[0]", upstream="dh", wrt={"x": "dx", "h0": "dh0", **WEIGHT_GRADS})),
    Unit("word_embedding_forward", call=EMBEDDING, returns=Returns.tuple("out", PRIVATE),
         make_inputs=forward_inputs(embedding_inputs, "dout"), sizes=EMBEDDING_SIZES),
    # A single array, not a tuple (C.2).
    Unit("word_embedding_backward", setup=f"_, cache = {EMBEDDING}", call="word_embedding_backward(dout, cache)",
         returns=Returns.value("dW"), calls=("word_embedding_forward",),
         make_inputs=embedding_inputs, sizes=EMBEDDING_SIZES,
         mistakes=(Mistake("with `dW[x] += dout`, which adds a word's gradient once however often the word "
                           "occurs: np.add.at(dW, x, dout) adds every occurrence",
                           "    np.add.at(dW, x, dout)", "    dW[x] += dout"),),
         gradcheck=GradCheck(f"{EMBEDDING}[0]", upstream="dout", wrt={"W": "dW"})),
    Unit("lstm_step_forward", call=LSTM_STEP, returns=Returns.tuple("next_h", "next_c", PRIVATE),
         make_inputs=forward_inputs(lstm_step_inputs, "dnext_h", "dnext_c"), sizes=LSTM_STEP_SIZES,
         mistakes=(Mistake("without the tanh in next_h = o * tanh(next_c)", "next_h = o * np.tanh(next_c)",
                           "next_h = o * next_c"),
                   Mistake("without the tanh of the candidate block g", "g = np.tanh(a[:, 3 * H:4 * H])",
                           "g = a[:, 3 * H:4 * H]"))),
    Unit("lstm_step_backward", setup=f"_, _, cache = {LSTM_STEP}", call="lstm_step_backward(dnext_h, dnext_c, cache)",
         returns=Returns.tuple("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"), calls=("lstm_step_forward",),
         make_inputs=lstm_step_inputs, sizes=LSTM_STEP_SIZES,
         gradcheck=GradCheck(f"{LSTM_STEP}[:2]", upstream=("dnext_h", "dnext_c"),
                             wrt={"x": "dx", "prev_h": "dprev_h", "prev_c": "dprev_c", **WEIGHT_GRADS})),
    Unit("lstm_forward", call=LSTM_SEQUENCE, returns=Returns.tuple("h", PRIVATE), calls=("lstm_step_forward",),
         make_inputs=forward_inputs(lstm_sequence_inputs, "dh"), sizes=LSTM_SEQUENCE_SIZES),
    Unit("lstm_backward", setup=f"_, cache = {LSTM_SEQUENCE}", call="lstm_backward(dh, cache)",
         returns=Returns.tuple("dx", "dh0", "dWx", "dWh", "db"), calls=("lstm_forward", "lstm_step_backward"),
         make_inputs=lstm_sequence_inputs, sizes=LSTM_SEQUENCE_SIZES, mistakes=LSTM_MISTAKES,
         gradcheck=GradCheck(f"{LSTM_SEQUENCE}[0]", upstream="dh", wrt={"x": "dx", "h0": "dh0", **WEIGHT_GRADS})),
)

ASSIGNMENT = Assignment(
    id="rnn_layers",
    family="C",
    title="CS231n rnn_layers.py (vanilla RNN, embedding, LSTM)",
    dtype="float64",
    helpers=("rnn_layers_utils",),
    preamble=PREAMBLE,
    units=UNITS,
    rtol=1e-6,
    atol=1e-8,
)
