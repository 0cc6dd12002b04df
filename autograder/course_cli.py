"""The course commands around grading: `rnngrade gradescope` (an autograder zip).
Parse, call the stage, print. Nothing else."""
from __future__ import annotations

from pathlib import Path

import click

from autograder.assignments import ASSIGNMENT_IDS


@click.command()
@click.argument("assignment", type=click.Choice(ASSIGNMENT_IDS), metavar="ASSIGNMENT")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("autograder.zip"),
              show_default=True, help="The zip to upload to Gradescope.")
def gradescope(assignment, output):
    """Build a Gradescope autograder zip for ASSIGNMENT (setup.sh, run_autograder, the
    engine and the assignment's hidden reference)."""
    from autograder.gradescope import build_zip

    path = build_zip(assignment, output)
    click.echo(f"wrote {path}: upload it as the autograder of a Gradescope programming assignment")
