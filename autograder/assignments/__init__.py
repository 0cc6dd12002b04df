"""The vocabulary an assignment is described in (`model.py`) and the way to reach the
assignments of the current course (`autograder.course` scans its `reference/` folders).

The engine names no assignment: an assignment is a folder `reference/<id>/` of a course
directory, holding its description `assignment.py` written in this vocabulary.
"""
from __future__ import annotations

from autograder.assignments.model import Assignment, Case, GradCheck, Mistake, Returns, Unit  # noqa: F401


def get_assignment(assignment_id: str) -> Assignment:
    from autograder.course import get_assignment as get

    return get(assignment_id)


def all_assignments() -> list[Assignment]:
    from autograder.course import all_assignments as every

    return every()


def assignment_ids() -> list[str]:
    from autograder.course import assignment_ids as ids

    return ids()
