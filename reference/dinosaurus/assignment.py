"""Assignment `dinosaurus` (family B as students meet it in the course, docs/ASSIGNMENTS.md
part 2b and section B): a character-level language model of dinosaur names, with the
course's public API. Graded: `clip`, `sample`, `optimize`, `model`; the helpers
(`rnn_forward`, `rnn_backward`, `update_parameters`, ...) come from the shipped `utils`.
Parameter keys `Wax, Waa, Wya, b, by`; gradient keys `dWax, dWaa, dWya, db, dby`.

What is compared, and why:
- clip: the returned dict, exactly the five gradient keys (`da_next` dropped). The older
  course version clips its argument's arrays in place and returns them: accepted (a note,
  no points lost), so `gradients` is not protected.
- sample: the list of indices, exactly (B.5's re-seeding protocol).
- optimize: the loss, the clipped gradients (exactly five keys), the last hidden state,
  and `parameters` after the call (updated in place). Its gradients are checked
  numerically against the loss of `rnn_forward` on the last two cases, where no
  gradient reaches the clipping bound.
- model: both public signatures (the older one reads `dinos.txt`, which the grader
  provides with the hidden names: `data_files`), judged by the parameters it returns
  (the newer one returns `(parameters, last_dino_name)`; only the parameters are
  compared, so that both signatures are judged alike).

Hidden cases: `optimize` and `model` use the vocabulary of 27 (`rnn_forward` is called
without `vocab_size`: the one size exempt from "no coincidences"); n_a is never 27, never
a sequence length; none of the published examples (B.6).
"""
from pathlib import Path

import numpy as np

from autograder.assignments.model import Assignment, GradCheck, Returns, Unit

PREAMBLE = "import numpy as np\nfrom utils import *\n"

PARAMETER_KEYS = ("Wax", "Waa", "Wya", "b", "by")
GRADIENT_KEYS = ("dWaa", "dWax", "dWya", "db", "dby")  # clip's order (B.3); compared as a set
VOCABULARY = 27  # '\n' and a-z
CHARS = ["\n"] + [chr(ord("a") + i) for i in range(26)]
HIDDEN_NAMES = Path(__file__).with_name("grading_names.txt")

# --- hidden case sizes ---------------------------------------------------------------------
CLIP_SIZES = (
    dict(label="with da_next", n_a=5, V=3, scale=10.0, maxValue=10, da_next=True, seed=901),
    dict(n_a=4, V=8, scale=10.0, maxValue=5, da_next=True, seed=902),
    dict(label="five keys only", n_a=7, V=2, scale=1.0, maxValue=0.5, da_next=False, seed=903),
    dict(label="fractional bound", n_a=12, V=27, scale=3.0, maxValue=2.5, da_next=True, seed=904),
    dict(label="nothing to clip", n_a=3, V=5, scale=1.0, maxValue=100.0, da_next=False, seed=905),
)
SAMPLE_SIZES = (
    dict(n_a=5, V=6, seed_arg=0, newline=0, newline_bias=0.0, scale=0.3, seed=911),
    dict(label="reaches the 50-character cap", n_a=8, V=27, seed_arg=7, newline=0, newline_bias=-30.0,
         scale=1.0, seed=912),
    dict(label="newline not at index 0", n_a=12, V=10, seed_arg=123, newline=3, newline_bias=0.0, scale=0.3,
         seed=913),
    dict(label="full vocabulary", n_a=3, V=27, seed_arg=2, newline=0, newline_bias=2.0, scale=0.3, seed=914),
)
# The last two cases are the gradient-checked ones: no gradient reaches the bound of 5 there.
OPTIMIZE_SIZES = (
    dict(label="clipping active", n_a=12, T=15, lr=0.01, scale=3.0, seed=921),
    dict(label="one step", n_a=4, T=1, lr=0.01, scale=1.0, seed=922),
    dict(label="non-square", n_a=9, T=5, lr=0.05, scale=0.3, seed=923),
    dict(label="larger", n_a=16, T=11, lr=0.1, scale=0.2, seed=924),
)
MODEL_SIZES = (
    dict(label="one iteration", iterations=1, n_a=5, dino_names=2, seed=931),
    dict(iterations=10, n_a=8, dino_names=3, seed=932),
    dict(label="more iterations than names (wraps around)", iterations=31, n_a=12, dino_names=7, seed=933),
)


# --- case inputs -----------------------------------------------------------------------------
def parameters_of(rng, n_a, V, scale=1.0):
    return {"Wax": rng.randn(n_a, V) * scale, "Waa": rng.randn(n_a, n_a) * 0.5 * scale,
            "Wya": rng.randn(V, n_a) * scale, "b": rng.randn(n_a, 1), "by": rng.randn(V, 1)}


def clip_inputs(rng, n_a, V, scale, maxValue, da_next):
    gradients = {"d" + k: rng.randn(*v.shape) * scale for k, v in parameters_of(rng, n_a, V).items()}
    if da_next:  # straight from rnn_backward
        gradients["da_next"] = rng.randn(n_a, 1) * scale
    return {"gradients": gradients, "maxValue": maxValue}


def sample_inputs(rng, n_a, V, seed_arg, newline, newline_bias, scale):
    parameters = parameters_of(rng, n_a, V, scale)
    parameters["by"][newline] += newline_bias  # -30: never ends by itself, hits the cap
    chars = [chr(ord("a") + i) for i in range(V - 1)]
    chars.insert(newline, "\n")
    return {"parameters": parameters, "char_to_ix": {c: i for i, c in enumerate(chars)}, "seed": seed_arg}


def optimize_inputs(rng, n_a, T, lr, scale):
    name = [int(i) for i in rng.randint(1, VOCABULARY, size=T)]
    X = [None] + name[:-1]
    Y = name[:-1] + [0] if T > 1 else [0]
    X, Y = X[:T], Y[:T]
    return {"X": X, "Y": Y, "a_prev": rng.randn(n_a, 1), "parameters": parameters_of(rng, n_a, VOCABULARY, scale),
            "learning_rate": lr}


def model_inputs(rng, iterations, n_a, dino_names):
    # the names the older signature reads from dinos.txt (data_files) are these too
    return {"names": HIDDEN_NAMES.read_text().split(), "ix_to_char": dict(enumerate(CHARS)),
            "char_to_ix": {c: i for i, c in enumerate(CHARS)}, "num_iterations": iterations, "n_a": n_a,
            "dino_names": dino_names}


# Both signatures of model: the newer returns (parameters, last_dino_name), the older parameters.
MODEL_CALL = ("(_result[0] if isinstance(_result := model(names, ix_to_char, char_to_ix, num_iterations, n_a, "
              "dino_names), tuple) else _result)")

UNITS = (
    Unit("clip", call="clip(gradients, maxValue)", returns=Returns.dict(*GRADIENT_KEYS),
         make_inputs=clip_inputs, sizes=CLIP_SIZES),
    Unit("sample", call="sample(parameters, char_to_ix, seed)", returns=Returns.value("indices"), exact=True,
         make_inputs=sample_inputs, sizes=SAMPLE_SIZES),
    Unit("optimize", call="optimize(X, Y, a_prev, parameters, learning_rate)",
         returns=Returns.tuple("loss", "gradients", "a_last", gradients=Returns.dict(*GRADIENT_KEYS)),
         extras={"parameters": "parameters"}, calls=("clip",),
         make_inputs=optimize_inputs, sizes=OPTIMIZE_SIZES,
         gradcheck=GradCheck("rnn_forward(X, Y, a_prev, parameters)[0]",
                             wrt={f"parameters['{k}']": "d" + k for k in PARAMETER_KEYS})),
    Unit("model", call=MODEL_CALL, returns=Returns.dict(*PARAMETER_KEYS), calls=("optimize", "sample"),
         make_inputs=model_inputs, sizes=MODEL_SIZES),
)

ASSIGNMENT = Assignment(
    id="dinosaurus",
    family="B",
    title="Dinosaurus Island: character-level language model (deeplearning.ai C5W1A2)",
    dtype="float64",
    helpers=("utils",),
    preamble=PREAMBLE,
    units=UNITS,
    rtol=1e-6,
    atol=1e-8,
    data_files={"dinos.txt": "grading_names.txt"},  # the older model reads the names from there
    release_files=("dinos.txt",),                   # the public names, next to the notebook
)
