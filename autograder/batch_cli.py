"""The course-scale commands: `rnngrade autograde`, `rnngrade export`, `rnngrade feedback`.
Parse, call autograder.batch / exports / report, print. Nothing else."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from autograder.assignments import ASSIGNMENT_IDS

DEFAULT_DB = "sqlite:///gradebook.db"  # autograder.gradebook.DEFAULT_DB, without importing SQLAlchemy here

DB_HELP = ("Gradebook: a file path (SQLite) or any SQLAlchemy URL "
           f"(default: {DEFAULT_DB}, in the working directory).")


def _open_gradebook(db: str, *, create: bool = True):
    """The gradebook for a writer (created if missing) or a reader (create=False: a missing
    file or a database that is no gradebook is an error, and no file is made)."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from autograder.gradebook import Gradebook, GradebookMissing

    try:
        return Gradebook(db, create=create)
    except GradebookMissing as exc:
        raise click.ClickException(str(exc)) from None
    except (ArgumentError, SQLAlchemyError, ImportError) as exc:
        reason = str(exc).splitlines()[0]
        raise click.ClickException(f"cannot open the gradebook {db!r}: {reason}") from None


def _read_gradebook(db: str, assignment: str):
    """A reader's gradebook that holds at least one submission of ASSIGNMENT."""
    book = _open_gradebook(db, create=False)
    if not book.recorded(assignment):
        book.close()
        raise click.ClickException(f"the gradebook {db} holds no submission of {assignment} "
                                   f"(grade them first: rnngrade autograde {assignment} FOLDER --db {db})")
    return book


@click.command()
@click.argument("assignment", type=click.Choice(ASSIGNMENT_IDS), metavar="ASSIGNMENT")
@click.argument("submissions", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--db", default=DEFAULT_DB, show_default=True, help=DB_HELP)
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Local worker processes (default: the number of CPUs; 0 grades in this process).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on an existing Dask distributed cluster (e.g. tcp://host:8786) instead.")
@click.option("--force", is_flag=True, help="Grade every submission again, changed or not.")
@click.option("--student", "students", multiple=True, metavar="NAME",
              help="Grade only this student, changed or not (repeatable); the others are left as recorded.")
def autograde(assignment, submissions, db, workers, scheduler, force, students):
    """Grade every submission in SUBMISSIONS of ASSIGNMENT into the gradebook.

    SUBMISSIONS is nbgrader's layout (the folder holding <student>/<ASSIGNMENT>/*.ipynb,
    i.e. `submitted/`, or the course folder containing it) or a flat folder of
    <student>.ipynb / <student>.py files. Only what is missing or changed is graded:
    an interrupted run picks up where it stopped.
    """
    from autograder.batch import DiscoveryError, autograde as run

    _open_gradebook(db).close()
    try:
        summary = run(assignment, submissions, db, workers=workers, scheduler=scheduler, force=force,
                      students=students)
    except DiscoveryError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(summary.text())
    if summary.interrupted:
        sys.exit(130)


@click.command()
@click.argument("assignment", type=click.Choice(ASSIGNMENT_IDS), metavar="ASSIGNMENT")
@click.option("--db", default=DEFAULT_DB, show_default=True, help=DB_HELP)
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "gradescope"]), required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="File (csv, json; default: standard output) or folder (gradescope; default: ./gradescope).")
def export(assignment, db, fmt, output):
    """Export the gradebook of ASSIGNMENT: a CSV grade sheet, everything as JSON, or a
    Gradescope results.json per student (<OUTPUT>/<student>/results.json)."""
    from autograder import exports

    with _read_gradebook(db, assignment) as book:
        if fmt == "gradescope":
            folder = output or Path("gradescope")
            written = exports.write_gradescope(book.submissions(assignment), folder)
            click.echo(f"wrote {len(written)} results.json file(s) under {folder}", err=True)
            return
        if fmt == "csv":
            text = exports.to_csv(assignment, book.submissions(assignment))
        else:
            text = json.dumps(exports.to_json_data(book, assignment), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@click.command()
@click.argument("assignment", type=click.Choice(ASSIGNMENT_IDS), metavar="ASSIGNMENT")
@click.option("--db", default=DEFAULT_DB, show_default=True, help=DB_HELP)
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for index.html (class report) and students/<student>.html.")
def feedback(assignment, db, out_dir):
    """Write a self-contained feedback page per student and a class report with plots."""
    from autograder.report import write_feedback

    with _read_gradebook(db, assignment) as book:
        written = write_feedback(book, assignment, out_dir)
    click.echo(f"wrote {out_dir / 'index.html'} and {len(written) - 1} student page(s) in {out_dir / 'students'}")
