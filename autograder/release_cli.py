"""The instructor and student commands: `rnngrade source`, `rnngrade release`, `rnngrade check`.

Registered in autograder/cli.py; each parses its arguments and calls one stage.
"""
from __future__ import annotations

from pathlib import Path

import click

from autograder.cli_args import ASSIGNMENT


def _selected(assignment, all_):
    if all_ and assignment:
        raise click.UsageError("give an ASSIGNMENT or --all, not both")
    if all_:
        from autograder.course import assignment_ids

        return assignment_ids()
    if not assignment:
        raise click.UsageError("give an ASSIGNMENT or --all")
    return [assignment]


def _show(paths):
    for path in paths:
        click.echo(f"  {path}")


@click.command("source")
@click.argument("assignment", required=False, type=ASSIGNMENT, metavar="ASSIGNMENT")
@click.option("--all", "all_", is_flag=True, help="Every assignment.")
@click.option("--out", "out_root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write under this folder instead of source/.")
def source(assignment, all_, out_root):
    """Build source/ASSIGNMENT/ (the instructor notebook) from reference/ASSIGNMENT/."""
    from autograder.authoring import AuthoringError, build_source

    for assignment_id in _selected(assignment, all_):
        try:
            paths = build_source(assignment_id, out_root)
        except AuthoringError as exc:
            raise click.ClickException(str(exc))
        click.echo(f"{assignment_id}:")
        _show(paths)


@click.command("release")
@click.argument("assignment", required=False, type=ASSIGNMENT, metavar="ASSIGNMENT")
@click.option("--all", "all_", is_flag=True, help="Every assignment.")
@click.option("--source-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Read the source notebooks from here instead of source/.")
@click.option("--out", "out_root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write under this folder instead of release/.")
def release(assignment, all_, source_dir, out_root):
    """Write release/ASSIGNMENT/: the student notebook (nbgrader's stubs, outputs cleared,
    cells locked), the helper modules it imports, and the public self-check module."""
    from autograder.course import release_root
    from autograder.release import build_release, find_leaks

    import shutil
    import tempfile

    ids = _selected(assignment, all_)
    out_root = out_root or release_root()
    out_root.mkdir(parents=True, exist_ok=True)
    # built aside and checked there: a release that leaks never reaches release/ (a refused
    # one was left on disk, the solution line in it), and the one before stays
    staging = Path(tempfile.mkdtemp(prefix=".release-", dir=out_root))
    try:
        built = {}
        for assignment_id in ids:
            try:
                built[assignment_id] = build_release(assignment_id, source_dir, staging)
            except FileNotFoundError as exc:
                raise click.ClickException(str(exc))
        leaks = [leak.replace(str(staging), str(out_root)) for a in ids for leak in find_leaks(staging / a)]
        if leaks:
            raise click.ClickException("the release leaks solution code or hidden cases (nothing was written):\n  "
                                       + "\n  ".join(leaks))
        for assignment_id, paths in built.items():
            shutil.rmtree(out_root / assignment_id, ignore_errors=True)
            (staging / assignment_id).rename(out_root / assignment_id)
            click.echo(f"{assignment_id}:")
            _show([out_root / Path(p).relative_to(staging) for p in paths])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    click.echo("leak check: no solution line and no hidden case found in the release.")


@click.command("check")
@click.argument("assignment", type=ASSIGNMENT, metavar="ASSIGNMENT")
@click.argument("notebook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--unit", "units", multiple=True, help="Check only this unit (repeatable).")
@click.option("--timeout", type=float, default=300.0, show_default=True, help="Limit for the whole run, in seconds.")
@click.option("--trusted", is_flag=True,
              help="Run a notebook from outside the course's source/ and release/ folders (it runs as you, unsandboxed).")
def check(assignment, notebook, units, timeout, trusted):
    """Run NOTEBOOK's cells and the public self-checks of ASSIGNMENT (published values,
    shapes, gradient checks of your own forward/backward), one line per unit.
    Exit status 0 when every check passes. This is the student's own check: the
    notebook's code runs as you, outside the sandbox, so a notebook that is not the
    course's own (source/, release/) needs --trusted; grade submissions with
    `rnngrade grade`."""
    from autograder.course import release_root, source_root
    from autograder.selfcheck.notebook import check_notebook
    from autograder.submission import SubmissionError

    own = any(notebook.resolve().is_relative_to(root.resolve()) for root in (source_root(), release_root()))
    if not (own or trusted):
        raise click.UsageError(
            f"{notebook} is not one of the course's own notebooks (source/, release/): `rnngrade check` runs a "
            "notebook's code as you, outside the sandbox, as the student's own check does. To grade a "
            f"submission, sandboxed: rnngrade grade {assignment} "
            f"{notebook}. If you trust this notebook (it is yours), add --trusted.")

    try:
        run = check_notebook(assignment, notebook, list(units), timeout=timeout)
    except SubmissionError as exc:
        raise click.ClickException(f"cannot read {notebook}: {exc}")
    except KeyError as exc:
        raise click.UsageError(f"no public checks for unit {exc.args[0]}")
    from autograder.results import terminal_text

    click.echo(terminal_text(run.output), nl=False)
    raise SystemExit(run.returncode)
