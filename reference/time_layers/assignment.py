"""Assignment `time_layers` (family D of docs/ASSIGNMENTS.md): the class-based layers of
"Deep Learning from Scratch 2", row layout, float32, LSTM gate blocks f, g, i, o.

The classes are driven in snippets: `setup` constructs the layer (and, for a backward
unit, runs its forward), `call` is the graded method, and what the method leaves on the
object is read by `extras`.

What is compared, and why (docs/ASSIGNMENTS.md part 3 and D.0-D.4):
- forward: the returned value(s) only. The state a forward leaves behind (`cache`,
  `layers`, `x`, `h`) is private and only handed back to backward.
- backward: the returned value(s) (`None` for TimeEmbedding, D.1), the gradients in
  `layer.grads` and, for TimeRNN / TimeLSTM, `layer.dh`. D.0 and part 3 make writing
  the gradients in place a contract: `setup` keeps `grads_before = list(layer.grads)`
  and the output `grads_not_written_in_place` counts the gradient arrays that are not
  the same objects after backward (expected 0), so `self.grads[0] = dW` loses credit
  even with the right values.
- TimeRNN / TimeLSTM forward: besides plain cases, a `stateful=True` layer called twice
  (the second call must start from the state the first one left) and a stateful=False
  layer called twice (the second call must start from zeros again); the first call's
  output is not compared, the second's is.

Fair credit (part 3): a unit is also run with reference code doing the work it
depends on, and earns the better of the two runs.
- TimeRNN.* and TimeLSTM.* use the cell classes: in reference mode `RNN` / `LSTM` are
  reference objects served through the class proxy. The forward units run the
  student's Time* forward on reference cells; the backward units get the state the
  reference forward leaves (`layers` of reference cells that have run their forward,
  `h`, `c`; D.1/D.2) built in the sandbox, so neither a broken cell nor a broken Time*
  forward costs the Time* backward its points. When the student's Time* forward keeps
  its cells its own way (not in `layers`), mode "own_forward" runs that forward on
  reference cells instead (Assignment.own_forward_calls).
- RNN.backward, LSTM.backward, TimeSoftmaxWithLoss.backward: in reference mode the
  student's object gets the reference forward's `cache` (layouts fixed by D.1: RNN
  `(x, h_prev, h_next)`, LSTM `(x, h_prev, c_prev, i, f, g, o, c_next)`,
  TimeSoftmaxWithLoss `(ts, ys, mask, (N, T, V))`), computed in the grading process.
- TimeAffine.backward: in reference mode the object gets `x` (D.1) instead of running
  the student's forward.
- TimeEmbedding.backward: `Embedding` is a public helper (time_layers_common), not a
  graded unit, so it is never substituted; in reference mode the object gets the
  `layers` the reference forward builds (one public Embedding per step, forward run).

Hidden cases: batch 1, a single time step, non-square sizes (N, T, D, H / M / V all
different, so a transposed Wx fails on its shape and a transposed Wh on its values),
and a larger case; ignored targets (-1) in most TimeSoftmaxWithLoss cases (the mean is
over the valid positions, D.4) and one-hot targets in one. All arrays are float32
(`.astype('f')`, as the book does), indices int64. Tolerances fit float32 (rtol 1e-4,
atol 1e-5), and so do the steps of the numerical gradient checks (NONLINEAR_STEP).
"""
import numpy as np

from autograder.assignments.model import Assignment, GradCheck, Mistake, Returns, Unit

PREAMBLE = "import numpy as np\nfrom time_layers_common import *\n"

# --- hidden case sizes ---------------------------------------------------------------------

CELL_SIZES = (
    dict(label="batch 1", N=1, D=3, H=5, seed=501),
    dict(label="non-square", N=4, D=6, H=3, seed=502),
    dict(N=3, D=2, H=7, seed=503),
    dict(label="larger", N=16, D=10, H=20, seed=504),
)
SEQUENCE_SIZES = (
    dict(label="batch 1", N=1, T=5, D=3, H=4, seed=511),
    dict(label="one time step", N=3, T=1, D=4, H=6, seed=512),
    dict(label="non-square", N=2, T=4, D=5, H=3, seed=513),
    dict(label="larger", N=10, T=12, D=8, H=16, seed=514),
)
# The forward units add two layers called twice (the first call's output not compared).
TWICE_SIZES = (
    dict(label="stateful, second call", N=3, T=7, D=2, H=5, stateful=True, twice=True, seed=515),
    dict(label="not stateful, second call", N=2, T=5, D=3, H=6, stateful=False, twice=True, seed=516),
)
EMBEDDING_SIZES = (
    dict(label="batch 1", N=1, T=6, V=4, D=3, seed=521),
    dict(label="one time step", N=5, T=1, V=3, D=4, seed=522),
    dict(label="non-square", N=3, T=4, V=10, D=5, seed=523),
    dict(label="larger", N=8, T=12, V=20, D=16, seed=524),
)
AFFINE_SIZES = (
    dict(label="batch 1", N=1, T=4, D=3, M=5, seed=531),
    dict(label="one time step", N=3, T=1, D=4, M=6, seed=532),
    dict(label="non-square", N=2, T=5, D=6, M=3, seed=533),
    dict(label="larger", N=10, T=8, D=16, M=12, seed=534),
)
SOFTMAX_SIZES = (
    dict(label="batch 1", N=1, T=6, V=5, targets="some ignored", dout=1.0, seed=541),
    dict(label="one time step", N=4, T=1, V=7, targets="some ignored", dout=1.0, seed=542),
    dict(label="non-square", N=3, T=5, V=4, targets="some ignored", dout=2.5, seed=543),
    dict(label="one-hot targets", N=2, T=3, V=6, targets="one-hot", dout=1.0, seed=544),
    dict(label="larger", N=10, T=12, V=30, targets="some ignored", dout=1.0, seed=545),
)


# --- case inputs (float32 arrays, int64 indices) ---------------------------------------------

def f32(a):
    return np.asarray(a).astype("f")


def weights(rng, D, H, gates=1):
    """Wx (D, gates*H), Wh (H, gates*H), b (gates*H,), float32, scaled so that tanh and
    sigmoid are not saturated (every entry of every gradient matters)."""
    return {"Wx": f32(rng.randn(D, gates * H) / np.sqrt(D)), "Wh": f32(rng.randn(H, gates * H) / np.sqrt(H)),
            "b": f32(rng.randn(gates * H) * 0.5)}


def rnn_cell_inputs(rng, N, D, H):
    return {**weights(rng, D, H), "x": f32(rng.randn(N, D)), "h_prev": f32(np.tanh(rng.randn(N, H))),
            "dh_next": f32(rng.randn(N, H))}


def lstm_cell_inputs(rng, N, D, H):
    return {**weights(rng, D, H, gates=4), "x": f32(rng.randn(N, D)), "h_prev": f32(np.tanh(rng.randn(N, H))),
            "c_prev": f32(rng.randn(N, H)), "dh_next": f32(rng.randn(N, H)), "dc_next": f32(rng.randn(N, H))}


def sequence_backward_inputs(gates):
    def make(rng, N, T, D, H):
        return {**weights(rng, D, H, gates), "xs": f32(rng.randn(N, T, D)), "dhs": f32(rng.randn(N, T, H))}
    return make


def sequence_forward_inputs(gates):
    def make(rng, N, T, D, H, stateful=False, twice=False):
        inputs = {**weights(rng, D, H, gates), "xs": f32(rng.randn(N, T, D)), "stateful": stateful,
                  "xs_first": None}
        if twice:  # an earlier call, one step shorter: the state must not depend on T
            inputs["xs_first"] = f32(rng.randn(N, max(1, T - 1), D))
        return inputs
    return make


def embedding_inputs(rng, N, T, V, D):
    xs = rng.randint(V, size=(N, T)).astype(np.int64)
    assert len(np.unique(xs)) < xs.size, "every embedding case needs a repeated index"
    return {"W": f32(rng.randn(V, D)), "xs": xs, "dout": f32(rng.randn(N, T, D))}


def affine_inputs(rng, N, T, D, M):
    return {"W": f32(rng.randn(D, M) / np.sqrt(D)), "b": f32(rng.randn(M)), "x": f32(rng.randn(N, T, D)),
            "dout": f32(rng.randn(N, T, M))}


def softmax_inputs(rng, N, T, V, targets, dout):
    xs = f32(rng.randn(N, T, V) * 2)
    ts = rng.randint(V, size=(N, T)).astype(np.int64)
    if targets == "one-hot":
        ts = np.eye(V, dtype=np.int64)[ts]
    else:  # about a quarter ignored; at least one ignored and one valid position
        ignored = rng.rand(N, T) < 0.25
        ignored.flat[0], ignored.flat[-1] = True, False
        ts[ignored] = -1
    return {"xs": xs, "ts": ts, "dout": dout}


def _forward_only(inputs, drop):
    return {k: v for k, v in inputs.items() if k not in drop}


def forward_inputs(make, *drop):
    """The inputs of a forward unit: those of its backward minus the upstream gradients."""
    return lambda rng, **size: _forward_only(make(rng, **size), drop)


# --- the reference forward's state, computed in the grading process (reference mode) ---------

def rnn_cache(reference, inputs):
    layer = reference.RNN(inputs["Wx"], inputs["Wh"], inputs["b"])
    layer.forward(inputs["x"], inputs["h_prev"])
    return {"ref_cache": layer.cache}


def lstm_cache(reference, inputs):
    layer = reference.LSTM(inputs["Wx"], inputs["Wh"], inputs["b"])
    layer.forward(inputs["x"], inputs["h_prev"], inputs["c_prev"])
    return {"ref_cache": layer.cache}


def softmax_cache(reference, inputs):
    layer = reference.TimeSoftmaxWithLoss()
    layer.forward(inputs["xs"], inputs["ts"])
    return {"ref_cache": layer.cache}


# Steps of the numerical gradient checks, float32 inputs (the reference's worst reported
# error is below 1e-3 with these; the report flags 5e-2). The tanh/sigmoid layers are
# curved enough that a step of 1e-2 along a random direction of a whole weight matrix
# costs ~1e-3 of truncation error, and below ~1e-3 float32 rounding of the loss takes
# over. Embedding / affine are linear and the softmax loss is smooth: the larger step
# only reduces rounding.
NONLINEAR_STEP = 3e-3
LINEAR_STEP = 1e-2


# --- snippets ------------------------------------------------------------------------------

KEEP_GRADS = "grads_before = list(layer.grads)\n"
# 0 when backward wrote every gradient into the arrays that were there before.
GRADS_REBOUND = ("sum(g is not h for g, h in zip(grads_before, layer.grads))"
                 " + abs(len(grads_before) - len(layer.grads))")


def gradient_extras(*names):
    extras = {name: f"layer.grads[{k}]" for k, name in enumerate(names)}
    extras["grads_not_written_in_place"] = GRADS_REBOUND
    return extras


CELL_GRADS = ("dWx", "dWh", "db")
CELL_WRT = {"Wx": "dWx", "Wh": "dWh", "b": "db"}

SEQUENCE_FORWARD_SETUP = '''\
layer = {cls}(Wx, Wh, b, stateful=stateful)
if xs_first is not None:
    layer.forward(xs_first)
'''

# Reference mode of TimeRNN.backward / TimeLSTM.backward: the state the reference
# forward leaves (D.1, D.2: `layers`, one cell per step that has run its forward, and
# the last `h` / `c`), built here with the cell classes, which in this mode are the
# reference cells served through the class proxy. So neither a broken cell nor a broken
# Time* forward costs the Time* backward its points.
SEQUENCE_REFERENCE_SETUP = '''\
layer = {cls}(Wx, Wh, b)
layer.layers = []
h = np.zeros((xs.shape[0], Wh.shape[0]), dtype='f')
c = np.zeros((xs.shape[0], Wh.shape[0]), dtype='f')
for t in range(xs.shape[1]):
    cell = {cell}(Wx, Wh, b)
    {step}
    layer.layers.append(cell)
{keep_state}
''' + KEEP_GRADS
SEQUENCE_STEPS = {
    "RNN": ("h = cell.forward(xs[:, t, :], h)", "layer.h = h"),
    "LSTM": ("h, c = cell.forward(xs[:, t, :], h, c)", "layer.h, layer.c = h, c"),
}

# Reference mode of TimeEmbedding.backward: the reference forward's `layers` (D.1), one
# public Embedding per step with its forward run. Embedding is a helper shipped with the
# release, not a graded unit, so it is not substituted.
EMBEDDING_REFERENCE_SETUP = '''\
layer = TimeEmbedding(W)
layer.layers = []
for t in range(xs.shape[1]):
    step = Embedding(W)
    step.forward(xs[:, t])
    layer.layers.append(step)
''' + KEEP_GRADS


# Classic mistakes (hints), as edits of reference/time_layers/solution.py: a Time* backward
# that drops a gradient carried between time steps (or resets it every step).
DH_CARRY = ("with the hidden-state gradient carried back from step t+1 (`dh`) dropped: add it to "
            "dhs[:, t, :] at every step (and do not reset it inside the loop)")
CARRY_MISTAKES = {
    "RNN": (Mistake(DH_CARRY, "dx, dh = layer.backward(dhs[:, t, :] + dh)", "dx, dh = layer.backward(dhs[:, t, :])"),),
    "LSTM": (Mistake(DH_CARRY, "dx, dh, dc = layer.backward(dhs[:, t, :] + dh, dc)",
                     "dx, dh, dc = layer.backward(dhs[:, t, :], dc)"),
             Mistake("with the cell-state gradient carried back from step t+1 (`dc`) dropped: pass the previous "
                     "step's dc to the next backward (and do not reset it inside the loop)",
                     "dx, dh, dc = layer.backward(dhs[:, t, :] + dh, dc)",
                     "dx, dh, dc = layer.backward(dhs[:, t, :] + dh, 0 * dc)")),
}


def sequence_units(cls, cell, gates):
    step, keep_state = SEQUENCE_STEPS[cell]
    forward = Unit(f"{cls}.forward", setup=SEQUENCE_FORWARD_SETUP.format(cls=cls), call="layer.forward(xs)",
                   returns=Returns.value("hs"), calls=(cell,),
                   make_inputs=sequence_forward_inputs(gates), sizes=SEQUENCE_SIZES + TWICE_SIZES)
    backward = Unit(f"{cls}.backward", setup=f"layer = {cls}(Wx, Wh, b)\nlayer.forward(xs)\n" + KEEP_GRADS,
                    call="layer.backward(dhs)", returns=Returns.value("dxs"),
                    extras={**gradient_extras(*CELL_GRADS), "dh": "layer.dh"}, calls=(cell,),
                    reference_setup=SEQUENCE_REFERENCE_SETUP.format(cls=cls, cell=cell, step=step,
                                                                    keep_state=keep_state),
                    make_inputs=sequence_backward_inputs(gates), sizes=SEQUENCE_SIZES, mistakes=CARRY_MISTAKES[cell],
                    gradcheck=GradCheck(f"{cls}(Wx, Wh, b).forward(xs)", upstream="dhs",
                                        wrt={"xs": "dxs", **CELL_WRT}, step=NONLINEAR_STEP))
    return forward, backward


TIME_RNN_FORWARD, TIME_RNN_BACKWARD = sequence_units("TimeRNN", "RNN", 1)
TIME_LSTM_FORWARD, TIME_LSTM_BACKWARD = sequence_units("TimeLSTM", "LSTM", 4)

UNITS = (
    Unit("RNN.forward", setup="layer = RNN(Wx, Wh, b)", call="layer.forward(x, h_prev)",
         returns=Returns.value("h_next"),
         make_inputs=forward_inputs(rnn_cell_inputs, "dh_next"), sizes=CELL_SIZES),
    Unit("RNN.backward", setup="layer = RNN(Wx, Wh, b)\nlayer.forward(x, h_prev)\n" + KEEP_GRADS,
         call="layer.backward(dh_next)", returns=Returns.tuple("dx", "dh_prev"),
         extras=gradient_extras(*CELL_GRADS),
         reference_setup="layer = RNN(Wx, Wh, b)\nlayer.cache = ref_cache\n" + KEEP_GRADS,
         reference_state=rnn_cache,
         make_inputs=rnn_cell_inputs, sizes=CELL_SIZES,
         gradcheck=GradCheck("RNN(Wx, Wh, b).forward(x, h_prev)", upstream="dh_next",
                             wrt={"x": "dx", "h_prev": "dh_prev", **CELL_WRT}, step=NONLINEAR_STEP)),
    TIME_RNN_FORWARD,
    TIME_RNN_BACKWARD,
    Unit("TimeEmbedding.forward", setup="layer = TimeEmbedding(W)", call="layer.forward(xs)",
         returns=Returns.value("out"),
         make_inputs=forward_inputs(embedding_inputs, "dout"), sizes=EMBEDDING_SIZES),
    # Returns None (D.1); the gradient is read from layer.grads.
    Unit("TimeEmbedding.backward", setup="layer = TimeEmbedding(W)\nlayer.forward(xs)\n" + KEEP_GRADS,
         call="layer.backward(dout)", returns=Returns.none(), extras=gradient_extras("dW"),
         reference_setup=EMBEDDING_REFERENCE_SETUP,
         make_inputs=embedding_inputs, sizes=EMBEDDING_SIZES,
         gradcheck=GradCheck("TimeEmbedding(W).forward(xs)", upstream="dout", wrt={"W": "dW"},
                             step=LINEAR_STEP)),
    Unit("TimeAffine.forward", setup="layer = TimeAffine(W, b)", call="layer.forward(x)",
         returns=Returns.value("out"),
         make_inputs=forward_inputs(affine_inputs, "dout"), sizes=AFFINE_SIZES),
    # Reference mode: the reference forward's state is its input, `x` (D.1).
    Unit("TimeAffine.backward", setup="layer = TimeAffine(W, b)\nlayer.forward(x)\n" + KEEP_GRADS,
         call="layer.backward(dout)", returns=Returns.value("dx"), extras=gradient_extras("dW", "db"),
         reference_setup="layer = TimeAffine(W, b)\nlayer.x = x\n" + KEEP_GRADS,
         make_inputs=affine_inputs, sizes=AFFINE_SIZES,
         gradcheck=GradCheck("TimeAffine(W, b).forward(x)", upstream="dout",
                             wrt={"x": "dx", "W": "dW", "b": "db"}, step=LINEAR_STEP)),
    Unit("TimeSoftmaxWithLoss.forward", setup="layer = TimeSoftmaxWithLoss()", call="layer.forward(xs, ts)",
         returns=Returns.value("loss"),
         make_inputs=forward_inputs(softmax_inputs, "dout"), sizes=SOFTMAX_SIZES),
    Unit("TimeSoftmaxWithLoss.backward", setup="layer = TimeSoftmaxWithLoss()\nlayer.forward(xs, ts)",
         call="layer.backward(dout)", returns=Returns.value("dxs"),
         reference_setup="layer = TimeSoftmaxWithLoss()\nlayer.cache = ref_cache",
         reference_state=softmax_cache,
         make_inputs=softmax_inputs, sizes=SOFTMAX_SIZES,
         gradcheck=GradCheck("TimeSoftmaxWithLoss().forward(xs, ts)", upstream="dout",
                             wrt={"xs": "dxs"}, step=LINEAR_STEP)),
    Unit("LSTM.forward", setup="layer = LSTM(Wx, Wh, b)", call="layer.forward(x, h_prev, c_prev)",
         returns=Returns.tuple("h_next", "c_next"),
         make_inputs=forward_inputs(lstm_cell_inputs, "dh_next", "dc_next"), sizes=CELL_SIZES,
         mistakes=(Mistake("without the tanh in h_next = o * tanh(c_next)", "h_next = o * np.tanh(c_next)",
                           "h_next = o * c_next"),
                   Mistake("without the tanh of the candidate block g", "g = np.tanh(A[:, H:2 * H])",
                           "g = A[:, H:2 * H]"))),
    Unit("LSTM.backward", setup="layer = LSTM(Wx, Wh, b)\nlayer.forward(x, h_prev, c_prev)\n" + KEEP_GRADS,
         call="layer.backward(dh_next, dc_next)", returns=Returns.tuple("dx", "dh_prev", "dc_prev"),
         extras=gradient_extras(*CELL_GRADS),
         reference_setup="layer = LSTM(Wx, Wh, b)\nlayer.cache = ref_cache\n" + KEEP_GRADS,
         reference_state=lstm_cache,
         make_inputs=lstm_cell_inputs, sizes=CELL_SIZES,
         gradcheck=GradCheck("LSTM(Wx, Wh, b).forward(x, h_prev, c_prev)",
                             upstream=("dh_next", "dc_next"),
                             wrt={"x": "dx", "h_prev": "dh_prev", "c_prev": "dc_prev", **CELL_WRT},
                             step=NONLINEAR_STEP)),
    TIME_LSTM_FORWARD,
    TIME_LSTM_BACKWARD,
)

ASSIGNMENT = Assignment(
    id="time_layers",
    family="D",
    title="Deep Learning from Scratch 2: time layers (class based)",
    dtype="float32",
    helpers=("time_layers_common",),
    preamble=PREAMBLE,
    units=UNITS,
    rtol=1e-4,
    atol=1e-5,
)
