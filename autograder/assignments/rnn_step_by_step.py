"""Assignment `rnn_step_by_step` (family A of docs/ASSIGNMENTS.md)."""
from autograder.assignments.model import Assignment

PREAMBLE = "import numpy as np\nfrom rnn_utils import *\n"

UNITS = ()

ASSIGNMENT = Assignment(
    id="rnn_step_by_step",
    family="A",
    title="Building an RNN step by step (deeplearning.ai C5W1A1)",
    dtype="float64",
    helpers=("rnn_utils",),
    preamble=PREAMBLE,
    units=UNITS,
)
