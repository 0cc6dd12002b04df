"""Assignment `char_lm` (family B of docs/ASSIGNMENTS.md)."""
from autograder.assignments.model import Assignment

PREAMBLE = "import numpy as np\nfrom utils import *\n"

UNITS = ()

ASSIGNMENT = Assignment(
    id="char_lm",
    family="B",
    title="Character-level language model (Dinosaurus Island, seed-000 names)",
    dtype="float64",
    helpers=("utils",),
    preamble=PREAMBLE,
    units=UNITS,
)
