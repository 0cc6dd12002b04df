"""The course-scale commands: `rnngrade autograde`, `rnngrade export`, `rnngrade feedback`.
Parse, call autograder.batch / exports / report, print. Nothing else."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from autograder.assignments import ASSIGNMENT_IDS

DEFAULT_DB = "sqlite:///gradebook.db"  # autograder.gradebook.DEFAULT_DB, without importing SQLAlchemy here

DB_HELP = f"Gradebook database, any SQLAlchemy URL (default: {DEFAULT_DB}, in the working directory)."


def _open_gradebook(db: str):
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from autograder.gradebook import Gradebook

    try:
        return Gradebook(db)
    except (ArgumentError, SQLAlchemyError, ImportError) as exc:
        raise click.UsageError(f"cannot open the gradebook {db!r}: {exc}") from None


@click.command()
@click.argument("assignment", type=click.Choice(ASSIGNMENT_IDS), metavar="ASSIGNMENT")
@click.argument("submissions", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--db", default=DEFAULT_DB, show_default=True, help=DB_HELP)
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Local worker processes (default: the number of CPUs; 0 grades in this process).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on an existing Dask distributed cluster (e.g. tcp://host:8786) instead.")
@click.option("--force", is_flag=True, help="Grade every submission again, changed or not.")
def autograde(assignment, submissions, db, workers, scheduler, force):
    """Grade every submission in SUBMISSIONS of ASSIGNMENT into the gradebook.

    SUBMISSIONS is nbgrader's layout (the folder holding <student>/<ASSIGNMENT>/*.ipynb,
    i.e. `submitted/`, or the course folder containing it) or a flat folder of
    <student>.ipynb / <student>.py files. Only what is missing or changed is graded:
    an interrupted run picks up where it stopped.
    """
    from autograder.batch import DiscoveryError, autograde as run

    _open_gradebook(db).close()
    try:
        summary = run(assignment, submissions, db, workers=workers, scheduler=scheduler, force=force)
    except DiscoveryError as exc:
        raise click.UsageError(str(exc)) from None
    from autograder.results import terminal_text

    click.echo(terminal_text(summary.text()))
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

    with _open_gradebook(db) as book:
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
        from autograder.results import terminal_text

        click.echo(terminal_text(text), nl=False)
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

    with _open_gradebook(db) as book:
        written = write_feedback(book, assignment, out_dir)
    click.echo(f"wrote {out_dir / 'index.html'} and {len(written) - 1} student page(s) in {out_dir / 'students'}")
