"""Assignment `time_layers` (family D of docs/ASSIGNMENTS.md)."""
from autograder.assignments.model import Assignment

PREAMBLE = "import numpy as np\nfrom time_layers_common import *\n"

UNITS = ()

ASSIGNMENT = Assignment(
    id="time_layers",
    family="D",
    title="Deep Learning from Scratch 2: time layers (class based)",
    dtype="float32",
    helpers=("time_layers_common",),
    preamble=PREAMBLE,
    units=UNITS,
)
