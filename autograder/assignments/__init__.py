"""Declarative descriptions of the assignments rnngrade ships.

An assignment is data (this package) plus its hidden reference (`reference/<id>/`).
The engine reads only the objects defined in `model.py`; adding a fifth family means
adding a module here and a folder under `reference/`, nothing else.
"""
from __future__ import annotations

import importlib

from autograder.assignments.model import Assignment, Case, GradCheck, Mistake, Returns, Unit  # noqa: F401

# Module names, in the order `rnngrade list` shows them.
ASSIGNMENT_IDS = ("rnn_step_by_step", "char_lm", "rnn_layers", "time_layers")


def get_assignment(assignment_id: str) -> Assignment:
    if assignment_id not in ASSIGNMENT_IDS:
        raise KeyError(assignment_id)
    module = importlib.import_module(f"autograder.assignments.{assignment_id}")
    return module.ASSIGNMENT


def all_assignments() -> list[Assignment]:
    return [get_assignment(a) for a in ASSIGNMENT_IDS]
