"""Assignment `rnn_layers` (family C of docs/ASSIGNMENTS.md)."""
from autograder.assignments.model import Assignment

PREAMBLE = "import numpy as np\nfrom rnn_layers_utils import *\n"

UNITS = ()

ASSIGNMENT = Assignment(
    id="rnn_layers",
    family="C",
    title="CS231n rnn_layers.py (vanilla RNN, embedding, LSTM)",
    dtype="float64",
    helpers=("rnn_layers_utils",),
    preamble=PREAMBLE,
    units=UNITS,
)
