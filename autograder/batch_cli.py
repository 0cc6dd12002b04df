"""The course-scale commands: `rnngrade autograde`, `rnngrade export`, `rnngrade feedback`,
`rnngrade db upgrade|current`.
Parse, call autograder.batch / exports / report, print. Nothing else."""
from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

from autograder.cli_args import ASSIGNMENT, limit_options

DEFAULT_DB = "sqlite:///gradebook.db"  # autograder.gradebook.DEFAULT_DB, without importing SQLAlchemy here

DB_HELP = (f"Gradebook database: an SQLAlchemy URL (postgresql://user:password@host/dbname needs the "
           f"`postgres` extra) or a plain path to an SQLite file (default: {DEFAULT_DB}, in the working "
           f"directory).")


@contextlib.contextmanager
def _gradebook_errors(db: str):
    """A database that cannot be reached, read or upgraded: one line, no traceback."""
    from alembic.util import CommandError
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from autograder.gradebook import GradebookMissing

    try:
        yield
    except GradebookMissing as exc:
        raise click.ClickException(str(exc)) from None
    except (ArgumentError, SQLAlchemyError, ImportError, CommandError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise click.UsageError(f"cannot open the gradebook {db!r}: {reason}") from None


def _open_gradebook(db: str, migrate: bool = True, create: bool = True):
    """The gradebook for a writer (created if missing) or a reader (create=False: a missing
    file or a database that is no gradebook is an error, and no file is made)."""
    from autograder.gradebook import Gradebook

    with _gradebook_errors(db):
        return Gradebook(db, migrate=migrate, create=create)


def _read_gradebook(db: str, assignment: str):
    """A reader's gradebook that holds at least one submission of ASSIGNMENT."""
    book = _open_gradebook(db, create=False)
    if not book.recorded(assignment):
        book.close()
        raise click.ClickException(f"the gradebook {db} holds no submission of {assignment} "
                                   f"(grade them first: rnngrade autograde {assignment} FOLDER --db {db})")
    return book


def _probe(assignment: str, submissions: Path, db: str, config: dict | None, zygote) -> None:
    """Fail closed: the sandbox probe, with the gradebook (an SQLite file, by path or URL)
    and the submissions as read targets, with the workers' own configuration, whose
    Graders then find this probe done (client.probe_sandbox) when they are forked from
    this process (batch.LocalExecutor); a course that turns hardening off is still
    refused where the sandbox is missing."""
    from autograder.assignments import get_assignment
    from autograder.gradebook import database_url, sqlite_file
    from autograder.grader import grading_config
    from autograder.sandbox.client import SandboxUnavailable, require_sandbox
    from autograder.settings import SettingsError

    gradebook_file = sqlite_file(database_url(db))
    files = [str(gradebook_file)] if gradebook_file is not None and gradebook_file.is_file() else []
    files += [str(p) for p in sorted(Path(submissions).rglob("*")) if p.suffix in (".ipynb", ".py")][:3]
    try:
        workers_config = grading_config(get_assignment(assignment), config)
    except SettingsError as exc:  # (a course's settings file: said as run() would say it)
        raise click.UsageError(str(exc)) from None
    try:
        require_sandbox(workers_config if workers_config.get("harden", True) else None, zygote, also=files)
    except SandboxUnavailable as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@click.argument("assignment", type=ASSIGNMENT, metavar="ASSIGNMENT")
@click.argument("submissions", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--db", default=DEFAULT_DB, show_default=True, help=DB_HELP)
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Local worker processes (default: the number of CPUs; 0 grades in this process).")
@click.option("--pin/--no-pin", "pin", default=True, show_default=True,
              help="Run each local worker, and the student processes it starts, on a CPU of its own (when "
                   "there are as many CPUs as workers); --no-pin leaves them to the scheduler, e.g. on a "
                   "machine busy with other work.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on an existing Dask distributed cluster (e.g. tcp://host:8786) instead.")
@click.option("--force", is_flag=True, help="Grade every submission again, changed or not.")
@click.option("--unsafe-no-sandbox", is_flag=True,
              help="Grade even where the sandbox probe finds that student code could read the reference or "
                   "the gradebook or reach the network (said in every result).")
@click.option("--student", "students", multiple=True, metavar="NAME",
              help="Grade only this student, changed or not (repeatable); the others are left as recorded.")
@click.option("--settings", "settings_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A course file whose [deadlines] replace the course's (checked whole; its limits and points "
                   "are not read: those are the course directory's rnngrade.toml). Default: the course's.")
@limit_options
def autograde(assignment, submissions, db, workers, pin, scheduler, force, unsafe_no_sandbox, students,
              settings_file, limits):
    """Grade every submission in SUBMISSIONS of ASSIGNMENT into the gradebook.

    SUBMISSIONS is nbgrader's layout (the folder holding <student>/<ASSIGNMENT>/*.ipynb,
    i.e. `submitted/`, or the course folder containing it) or a flat folder of
    <student>.ipynb / <student>.py files. Only what is missing or changed is graded:
    an interrupted run picks up where it stopped.
    """
    from autograder.settings import SettingsError, check_config

    config = dict(limits, **({"unsafe_no_sandbox": True} if unsafe_no_sandbox else {})) or None
    try:
        check_config(config, "the command line")
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    probing = not unsafe_no_sandbox and scheduler is None
    with contextlib.ExitStack() as stack:
        if probing:
            from autograder.sandbox.client import Zygote

            # the probe's sandbox zygote starts now: its interpreter imports numpy on
            # another CPU while this process imports the rest and opens the gradebook
            stack.callback((zygote := Zygote()).close)
        from autograder.batch import DiscoveryError, autograde as run
        from autograder.deadlines import load_deadlines

        _open_gradebook(db).close()
        if probing:  # fail closed before anything is graded
            _probe(assignment, submissions, db, config, zygote)
    try:
        summary = run(assignment, submissions, db, workers=workers, scheduler=scheduler, force=force, config=config,
                      students=students, deadlines=load_deadlines(settings_file), pin=pin)
    except (DiscoveryError, SettingsError) as exc:
        raise click.UsageError(str(exc)) from None
    from autograder.results import terminal_text

    click.echo(terminal_text(summary.text()))
    if summary.interrupted:
        sys.exit(130)


@click.command()
@click.argument("assignment", type=ASSIGNMENT, metavar="ASSIGNMENT")
@click.option("--db", default=DEFAULT_DB, show_default=True, help=DB_HELP)
@click.option("--format", "fmt", type=click.Choice(["csv", "canvas", "json", "gradescope"]), required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, allow_dash=True), default=None,
              help="File (csv, canvas, json; default or -: standard output) or folder (gradescope; default: "
                   "./gradescope).")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Class roster CSV (columns student, and any of name, email, id, sis_user_id, sis_login_id, "
                   "section): e-mails in the CSV, identities in the Canvas import.")
@click.option("--canvas-column", default=None, metavar="NAME",
              help='The Canvas gradebook column to fill, e.g. "RNN step by step (12345)" (default: ASSIGNMENT).')
def export(assignment, db, fmt, output, roster, canvas_column):
    """Export the gradebook of ASSIGNMENT: a CSV grade sheet (per-unit scores with overrides,
    raw score, late penalty, final score, maximum, hand-in time), a Canvas gradebook import,
    everything as JSON, or a Gradescope results.json per student (<OUTPUT>/<student>/results.json)."""
    from autograder import exports

    if output == Path("-"):
        if fmt == "gradescope":
            raise click.UsageError("--format gradescope writes a folder: give -o FOLDER, not -")
        output = None  # standard output, as the usual `-` means
    try:
        people = exports.read_roster(roster) if roster else None
    except exports.RosterError as exc:
        raise click.UsageError(str(exc)) from None
    with _read_gradebook(db, assignment) as book:
        if fmt == "gradescope":
            folder = output or Path("gradescope")
            submissions = book.submissions(assignment)
            written = exports.write_gradescope(submissions, folder)
            click.echo(f"wrote {len(written)} results.json file(s) under {folder}", err=True)
            failed = sorted(s.student for s in submissions if s.status == exports.ERROR)
            if failed:
                click.echo(f"none for {len(failed)} student(s) the grader failed on (not a zero; `rnngrade "
                           f"autograde` grades them again): {', '.join(failed)}", err=True)
            return
        from autograder.grades import grade_of

        overrides = book.overrides(assignment)
        for sub in book.submissions(assignment):  # the unit's points lowered since the override
            for unit in grade_of(sub, overrides.get(sub.student)).units:
                if unit.override_above_points:
                    click.echo(f"warning: {sub.student}'s override of {unit.name} ({unit.override.score:g}) is above "
                               f"its {unit.max_score:g} points now: counted as {unit.max_score:g} (rnngrade override "
                               "sets it again)", err=True)
        if fmt == "csv":
            text = exports.to_csv(assignment, book.submissions(assignment), book.overrides(assignment), people)
        elif fmt == "canvas":
            text = exports.to_canvas_csv(assignment, book.submissions(assignment), book.overrides(assignment),
                                         people, canvas_column)
        else:
            text = json.dumps(exports.to_json_data(book, assignment), indent=2) + "\n"
    if output is None:
        from autograder.results import terminal_text

        click.echo(terminal_text(text), nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)  # as feedback and gradescope -o do
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@click.command()
@click.argument("assignment", type=ASSIGNMENT, metavar="ASSIGNMENT")
@click.option("--db", default=DEFAULT_DB, show_default=True, help=DB_HELP)
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for index.html (class report) and students/<student>.html.")
def feedback(assignment, db, out_dir):
    """Write a self-contained feedback page per student and a class report with plots."""
    from autograder.report import write_feedback

    with _read_gradebook(db, assignment) as book:
        written = write_feedback(book, assignment, out_dir)
    click.echo(f"wrote {out_dir / 'index.html'} and {len(written) - 1} student page(s) in {out_dir / 'students'}")


@click.group("db")
def db_group():
    """The gradebook's schema (it is also upgraded whenever a command opens the gradebook)."""


@db_group.command("upgrade")
@click.option("--db", default=DEFAULT_DB, show_default=True, help=DB_HELP)
def db_upgrade(db):
    """Bring the gradebook's schema to this rnngrade's newest revision (creating it if
    the database is empty; a gradebook written before migrations keeps its rows)."""
    from autograder.gradebook import upgrade

    with _open_gradebook(db, migrate=False) as book, _gradebook_errors(db):
        before, after = upgrade(book.engine)
        where = book.display_url
    if before == after:
        click.echo(f"{where}: schema already at {after} (newest).")
    else:
        click.echo(f"{where}: schema upgraded from {before or 'nothing'} to {after}.")


@db_group.command("current")
@click.option("--db", default=DEFAULT_DB, show_default=True, help=DB_HELP)
def db_current(db):
    """Print the gradebook's schema revision and this rnngrade's newest one."""
    from autograder.gradebook import schema_head, schema_revision

    with _open_gradebook(db, migrate=False) as book, _gradebook_errors(db):
        with book.engine.connect() as connection:
            current = schema_revision(connection)
        where = book.display_url
    head = schema_head()
    state = "up to date" if current == head else "upgrade with `rnngrade db upgrade`"
    click.echo(f"{where}: schema {current or 'none'}, newest {head} ({state}).")
