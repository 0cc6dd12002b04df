"""The course commands around grading: `rnngrade gradescope` (an autograder zip) and
`rnngrade override` (an instructor's score for one unit, with a reason).
Parse, call the stage, print. Nothing else."""
from __future__ import annotations

from pathlib import Path

import click

from autograder.cli_args import ASSIGNMENT


@click.command()
@click.argument("assignment", type=ASSIGNMENT, metavar="ASSIGNMENT")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("autograder.zip"),
              show_default=True, help="The zip to upload to Gradescope.")
def gradescope(assignment, output):
    """Build a Gradescope autograder zip for ASSIGNMENT (setup.sh, run_autograder, the
    engine and the assignment's hidden reference)."""
    from autograder.gradescope import build_zip

    path = build_zip(assignment, output)
    click.echo(f"wrote {path}: upload it as the autograder of a Gradescope programming assignment")


@click.command()
@click.argument("assignment", type=ASSIGNMENT, metavar="ASSIGNMENT")
@click.argument("student")
@click.argument("unit")
@click.argument("score", type=float, required=False)
@click.option("--reason", default=None, help="Why (required to set one): shown to the student and in exports.")
@click.option("--remove", is_flag=True, help="Remove this unit's override: the grader's score counts again.")
@click.option("--by", "author", default=None, help="Who sets it (default: your login name).")
@click.option("--db", default=None, help="Gradebook: a file path or an SQLAlchemy URL (default: ./gradebook.db).")
def override(assignment, student, unit, score, reason, remove, author, db):
    """Set SCORE as STUDENT's score for UNIT of ASSIGNMENT, replacing the grader's, with a
    reason; kept across regrades until removed (--remove). Exports and feedback show it
    with who set it and when."""
    import getpass

    from autograder.assignments import get_assignment
    from autograder.batch_cli import DEFAULT_DB, _read_gradebook

    units = {u.name: u.points for u in get_assignment(assignment).units}
    if unit not in units:
        raise click.UsageError(f"{assignment} has no unit {unit!r} (units: {', '.join(units)})")
    if remove:
        if score is not None or reason:
            raise click.UsageError("--remove takes no SCORE and no --reason")
    else:
        if score is None:
            raise click.UsageError("SCORE is required (or --remove)")
        if not 0 <= score <= units[unit]:
            raise click.UsageError(f"SCORE must be between 0 and {units[unit]:g} (the points of {unit})")
        if not (reason or "").strip():
            raise click.UsageError("--reason is required: the student and the exports show it")
    db = db or DEFAULT_DB
    with _read_gradebook(db, assignment) as book:
        if student not in book.recorded(assignment):
            raise click.ClickException(f"no submission of {student} for {assignment} in the gradebook {db}")
        if remove:
            if not book.remove_override(assignment, student, unit):
                raise click.ClickException(f"{student} has no override for {unit} in {assignment}")
            click.echo(f"removed the override of {unit} for {student} ({assignment}): the grader's score counts")
            return
        try:
            who = author or getpass.getuser()
        except (KeyError, OSError):
            who = "unknown"
        row = book.set_override(assignment=assignment, student=student, unit=unit, score=score,
                                reason=reason.strip(), author=who)
    click.echo(f"{student}, {assignment}, {unit}: {row.score:g} / {units[unit]:g} by {row.author} at "
               f"{row.created_at:%Y-%m-%d %H:%M} UTC ({row.reason})")
