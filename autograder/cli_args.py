"""Argument types shared by the `rnngrade` commands."""
from __future__ import annotations

import click


class AssignmentId(click.ParamType):
    """An assignment of the course, checked when the command runs (the course is only
    known then: --course, $RNNGRADE_COURSE or the working directory)."""

    name = "assignment"

    def convert(self, value, param, ctx):
        from autograder.course import CourseError, assignment_ids

        try:
            known = assignment_ids()
        except CourseError as exc:
            self.fail(str(exc), param, ctx)
        if value not in known:
            self.fail(f"{value!r} is not an assignment of this course (known: {', '.join(known) or 'none'})",
                      param, ctx)
        return value


ASSIGNMENT = AssignmentId()
