"""`rnngrade check`: run a notebook's cells and its assignment's public checks.

The cells are read the way the grader reads them (autograder.submission: IPython's
transformer, unparsable pieces split off) and run in a separate Python process whose
working directory holds only the public files of a release: the helper modules and
`rnngrade_check.py`. A failing cell costs only what it defines; a cell or a unit that
runs too long is stopped. Neither the reference nor the hidden cases are involved.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.assignments import get_assignment
from autograder.reference import helper_sources, release_file_texts
from autograder.selfcheck import STANDALONE_NAME, load, standalone_source
from autograder.submission import load_submission

BOOT = (
    "import json, sys\n"
    f"import {STANDALONE_NAME} as checks\n"
    "sys.exit(checks.run_payload(checks.UNITS, json.load(sys.stdin)))\n"
)


@dataclass
class CheckRun:
    returncode: int   # 0: every public check passed; 1: some did not; 2: the run itself failed
    output: str


def public_files(assignment_id: str) -> dict[str, str]:
    """file name -> text of what sits next to a student's notebook: the assignment's
    helper modules, its release files (data) and the standalone `rnngrade_check.py`. The one list of the public
    files, shared by `rnngrade source`, `rnngrade release` and `rnngrade check`."""
    helpers = helper_sources(assignment_id, get_assignment(assignment_id).helpers)
    files = {f"{name}.py": text for name, text in sorted(helpers.items())}
    files.update(sorted(release_file_texts(assignment_id).items()))
    files[f"{STANDALONE_NAME}.py"] = standalone_source(assignment_id)
    return files


def check_notebook(assignment_id: str, notebook: str | Path, units: list[str] | None = None,
                   timeout: float = 300.0, cell_seconds: float = 30.0, unit_seconds: float = 60.0) -> CheckRun:
    assignment = get_assignment(assignment_id)
    known = [u.name for u in load(assignment_id).UNITS]
    for unit in units or []:
        if unit not in known:
            raise KeyError(f"{unit} (known: {', '.join(known)})")
    cells = load_submission(notebook)  # raises SubmissionError for unreadable files
    notes = [f"{c.label} does not parse: {c.syntax_error}" for c in cells if c.syntax_error]
    payload = {
        "preamble": assignment.preamble,
        "cells": [[c.label, c.source] for c in cells if not c.syntax_error],
        "units": list(units or []),
        "cell_seconds": cell_seconds,
        "unit_seconds": unit_seconds,
    }
    with tempfile.TemporaryDirectory(prefix="rnngrade-check-") as tmp:
        folder = Path(tmp)
        for name, text in public_files(assignment_id).items():
            (folder / name).write_text(text)
        try:
            proc = subprocess.run([sys.executable, "-I", "-c", _boot_in(folder)], input=json.dumps(payload),
                                  capture_output=True, text=True, cwd=folder, timeout=timeout)
        except subprocess.TimeoutExpired:
            return CheckRun(2, f"the checks did not finish within {timeout:g} s")
    output = proc.stdout + "".join(f"note: {n}\n" for n in notes)
    if proc.returncode not in (0, 1):
        tail = proc.stderr.strip().splitlines()[-3:]
        output += "the check process failed: " + " | ".join(tail) + "\n"
        return CheckRun(2, output)
    return CheckRun(proc.returncode, output)


def _boot_in(folder: Path) -> str:
    # -I (isolated mode) leaves the working directory off sys.path: put the folder back.
    return f"import sys\nsys.path.insert(0, {str(folder)!r})\n" + BOOT
