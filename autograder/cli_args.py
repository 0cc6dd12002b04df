"""Argument types shared by the `rnngrade` commands."""
from __future__ import annotations

import functools

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

    def shell_complete(self, ctx, param, incomplete):
        """The course's assignments, for shell completion (docs/COURSE.md)."""
        from click.shell_completion import CompletionItem

        from autograder.course import CourseError, assignment_ids, use_course

        root = ctx.find_root()  # `rnngrade --course DIR ...`: completion runs no callback, so read it here
        course = root.params.get("course") if root is not None else None
        try:
            if course is not None:
                use_course(course)
            return [CompletionItem(a) for a in assignment_ids() if a.startswith(incomplete)]
        except CourseError:
            return []


ASSIGNMENT = AssignmentId()


def limit_options(command):
    """The sandbox limits a command line may set, the same for `grade` and `autograde`;
    the command receives them as one `limits` dict (only the ones given)."""
    options = (
        click.option("--unit-seconds", type=float, default=None, help="Wall-clock limit per unit and mode."),
        click.option("--cell-seconds", type=float, default=None, help="Wall-clock limit per notebook cell."),
        click.option("--memory-mb", type=int, default=None, help="Address-space cap of the student process."),
        click.option("--total-seconds", type=float, default=None, help="Wall-clock budget of the whole submission."),
    )
    names = ("unit_seconds", "cell_seconds", "memory_mb", "total_seconds")

    def wrapped(*args, **kwargs):
        kwargs["limits"] = {name: kwargs.pop(name) for name in names if kwargs.get(name) is not None}
        for name in names:
            kwargs.pop(name, None)
        return command(*args, **kwargs)

    functools.update_wrapper(wrapped, command)  # keeps options declared below this decorator
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped
