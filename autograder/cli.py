"""The `rnngrade` command: parse arguments, call the stages, print. Nothing else."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from autograder.cli_args import ASSIGNMENT, limit_options


class _Commands(click.Group):
    """Every command: a mistake in the course's settings file (an unknown or mistyped
    setting) is said in one line, by name, never as a traceback."""

    def invoke(self, ctx):
        from autograder.settings import SettingsError

        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rnngrade")
@click.option("--course", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="The course directory (holding reference/<assignment>/); default: $RNNGRADE_COURSE, "
                   "else the working directory.")
def main(course):
    """rnngrade: grade from-scratch NumPy RNN assignments against a hidden reference."""
    if course is not None:
        from autograder.course import CourseError, use_course

        try:
            use_course(course)
        except CourseError as exc:
            raise click.UsageError(str(exc)) from None


@main.command("list")
def list_assignments():
    """List the assignments of the course with their graded units and points."""
    from autograder.course import CourseError, all_assignments

    try:
        assignments = all_assignments()
    except CourseError as exc:
        raise click.ClickException(str(exc)) from None
    for a in assignments:
        click.echo(f"{a.id}  (family {a.family}, {a.dtype}, {a.total_points:g} points): {a.title}")
        for u in a.units:
            calls = f"  uses {', '.join(u.calls)}" if u.calls else ""
            click.echo(f"    {u.name:<28} {u.points:g} pt{calls}")


@main.command()
@click.argument("assignment", type=ASSIGNMENT, metavar="ASSIGNMENT")
@click.argument("submission", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print Gradescope's results.json format.")
@limit_options
@click.option("--unsafe-no-sandbox", is_flag=True,
              help="Grade even where the sandbox probe finds that student code could read the reference or "
                   "the gradebook or reach the network (said in the result).")
def grade(assignment, submission, as_json, limits, unsafe_no_sandbox):
    """Grade one SUBMISSION (.ipynb or .py) of ASSIGNMENT."""
    if not submission.exists():
        raise click.UsageError(f"no such file: {submission}")
    from autograder.grader import Grader
    from autograder.results import to_json, to_table
    from autograder.sandbox.client import SandboxError
    from autograder.settings import SettingsError

    config = dict(limits, **({"unsafe_no_sandbox": True} if unsafe_no_sandbox else {}))
    try:
        with Grader(assignment, config) as grader:
            result = grader.grade_file(submission)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    except SandboxError as exc:  # a grader failure, never a score
        raise click.ClickException(str(exc)) from None
    click.echo(to_json(result) if as_json else to_table(result))


@main.command()
def sandbox():
    """Print what the sandbox enforces on this machine, each property with its layers."""
    from autograder.sandbox.client import probe_sandbox, sandbox_advice

    found = probe_sandbox()
    for p in found["properties"]:
        mark = "yes" if p["ok"] else "NO "
        layers = ", ".join(p["layers"]) or "-"
        click.echo(f"{mark} {p['name']}  [{layers}]" + (f"\n      {p['detail']}" if p["detail"] else ""))
    for what, why in found["fallbacks"]:
        click.echo(f"    not in force: {what} ({why})")
    if found["missing"]:
        click.echo("Grading is refused here without --unsafe-no-sandbox. " + sandbox_advice())
        sys.exit(1)


# Commands of other stages register here, one line each (keep this file thin).
# -- registered commands --
from autograder.release_cli import check, release, source  # noqa: E402
main.add_command(source)
main.add_command(release)
main.add_command(check)
from autograder.batch_cli import autograde, db_group, export, feedback  # noqa: E402
main.add_command(autograde)
main.add_command(export)
main.add_command(feedback)
main.add_command(db_group)
from autograder.course_cli import gradescope, override  # noqa: E402
main.add_command(gradescope)
main.add_command(override)


if __name__ == "__main__":
    sys.exit(main())
