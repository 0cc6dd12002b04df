"""A Gradescope autograder for one assignment: `rnngrade gradescope ASSIGNMENT -o autograder.zip`.

The zip is what Gradescope's "zip file upload" expects: `setup.sh` (run once, as root,
when Gradescope builds the image) and `run_autograder` (run per submission) at its root,
beside everything they need. Gradescope unpacks it into /autograder/source/:

    setup.sh             installs Python and the engine's dependencies (requirements.txt)
    run_autograder       grades /autograder/submission/ into /autograder/results/results.json
    requirements.txt     the engine's runtime dependencies, as installed here
    engine/autograder/   the engine (this package: no assignment, no solution)
    course/reference/<id>/   the assignment's folder (description, hidden reference, helpers)
    course/rnngrade.toml     the course file, if the course has one (limits, points, tolerances)

The engine is found through PYTHONPATH and the course through $RNNGRADE_COURSE, both
outside every folder the sandbox shows a student process, so the reference stays out of
its reach exactly as on the instructor's machine.
RNNGRADE_GRADESCOPE_ROOT replaces /autograder (tests lay out a temporary root).

A grader failure writes no results.json and exits non-zero: Gradescope then reports an
autograder failure to the instructor instead of recording a zero.
"""
from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path

import autograder

ROOT_ENV = "RNNGRADE_GRADESCOPE_ROOT"
DEFAULT_ROOT = "/autograder"
ENGINE = "engine"
COURSE = "course"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image: Python >= 3.11
# (Ubuntu 22.04's python3 is 3.10: then python3.11 beside it) in a virtual environment
# holding the engine's dependencies.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv libseccomp2
PY=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    PY=python3.11
fi
"$PY" -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --no-cache-dir -r /autograder/source/requirements.txt
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission (copied to /autograder/run_autograder).
set -euo pipefail
ROOT="${{{root_env}:-{default_root}}}"
PYTHON="$ROOT/venv/bin/python"
[ -x "$PYTHON" ] || PYTHON=python3   # no image built by setup.sh (tests)
export PYTHONPATH="$ROOT/source/{engine}"
export RNNGRADE_COURSE="$ROOT/source/{course}"
mkdir -p "$ROOT/results"
cd "$ROOT/source"
exec "$PYTHON" -m autograder.gradescope {assignment} --root "$ROOT"
"""


def _package_root() -> Path:
    return Path(autograder.__file__).resolve().parent


def _tree(folder: Path, arc_prefix: str) -> list[tuple[Path, str]]:
    files = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and "__pycache__" not in rel.parts and path.suffix not in (".pyc", ".pyo"):
            files.append((path, f"{arc_prefix}/{rel.as_posix()}"))
    return files


def engine_files() -> list[tuple[Path, str]]:
    """The engine: the autograder package, as (file, name in the zip)."""
    return _tree(_package_root(), f"{ENGINE}/autograder")


def assignment_folder_files(assignment_id: str) -> list[tuple[Path, str]]:
    """The assignment's own folder and the course file, as (file, name in the zip): the
    course the zip carries, holding this one assignment."""
    from autograder.course import assignment_folder, course_root
    from autograder.settings import COURSE_FILE

    files = _tree(assignment_folder(assignment_id), f"{COURSE}/reference/{assignment_id}")
    settings = course_root() / COURSE_FILE
    if settings.is_file():
        files.append((settings, f"{COURSE}/{COURSE_FILE}"))
    return files


def requirements() -> str:
    """The engine's runtime dependencies: the checkout's pyproject.toml when the engine
    runs from one (an editable install's metadata can be older), else the installed
    package's metadata."""
    import tomllib
    from importlib.metadata import requires

    pyproject = _package_root().parent / "pyproject.toml"
    if pyproject.is_file():
        lines = tomllib.loads(pyproject.read_text()).get("project", {}).get("dependencies", [])
    else:
        lines = [r for r in (requires("rnngrade") or []) if "extra ==" not in r]
    return "\n".join(lines) + "\n"


def _write(zf: zipfile.ZipFile, name: str, text: str | bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    zf.writestr(info, text)


def build_zip(assignment_id: str, output: str | Path) -> Path:
    """Write the autograder zip for ASSIGNMENT; return its path."""
    from autograder.assignments import get_assignment

    get_assignment(assignment_id)  # KeyError for an unknown assignment, before writing
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    run_script = RUN_AUTOGRADER.format(root_env=ROOT_ENV, default_root=DEFAULT_ROOT, engine=ENGINE, course=COURSE,
                                       assignment=assignment_id)
    with zipfile.ZipFile(output, "w") as zf:
        _write(zf, "setup.sh", SETUP_SH, executable=True)
        _write(zf, "run_autograder", run_script, executable=True)
        _write(zf, "requirements.txt", requirements())
        for path, name in engine_files() + assignment_folder_files(assignment_id):
            _write(zf, name, path.read_bytes())
    return output


# --------------------------------------------------------------------------- in the container

def submission_files(folder: Path, assignment_id: str) -> tuple[list[Path], list[str]]:
    """What to grade in Gradescope's submission folder, and notes on what is not: the
    released notebook (`<assignment>.ipynb`, at any depth) when there is one, as nbgrader
    grades it (a stale copy full of stubs sorting after it must not redefine anything);
    else its notebooks (any depth, hidden files and Jupyter checkpoints left out), or its
    .py files when there is no notebook. A symbolic link is never graded (a submission
    from a repository keeps links; read, one ended the whole run)."""
    from autograder.batch import not_graded, released_name

    def visible(p: Path) -> bool:
        rel = p.relative_to(folder).parts
        return p.is_file() and not any(part.startswith(".") for part in rel)

    notes = []
    for suffix in (".ipynb", ".py"):
        found = sorted(p for p in folder.rglob(f"*{suffix}") if visible(p))
        links = [p for p in found if p.is_symlink()]
        found = [p for p in found if not p.is_symlink()]
        if links:
            notes.append(not_graded("symbolic links", (p.relative_to(folder).as_posix() for p in links)))
        if found and suffix == ".ipynb":  # the .py files beside notebooks are not graded: said so
            scripts = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.py")
                             if visible(p) and not p.is_symlink())
            if scripts:
                notes.append(not_graded("the notebooks are", scripts))
        if found:
            named = sorted((p for p in found if p.name == released_name(assignment_id)),
                           key=lambda p: (len(p.parts), p))  # the shallowest, not backup/<id>.ipynb
            if named:
                others = [p.relative_to(folder).as_posix() for p in found if p != named[0]]
                if others:
                    notes.append(not_graded(f"only {named[0].relative_to(folder).as_posix()} is", others))
                return named[:1], notes
            return found, notes
    return [], notes


def grade_submission_folder(assignment_id: str, folder: Path) -> dict:
    """Gradescope's results.json for the submission in `folder`."""
    from autograder.batch import _grade_files, released_name
    from autograder.grader import GradingResult, Grader, UnitResult
    from autograder.results import to_gradescope

    files, notes = submission_files(folder, assignment_id)
    if not files:  # the student's doing, not the grader's: a verdict, explained
        from autograder.assignments import get_assignment

        reason = "no .ipynb (or .py) file was submitted"
        result = GradingResult(assignment_id, str(folder), notes=[f"Nothing to grade: {reason}.", *notes])
        result.units = [UnitResult(u.name, 0.0, u.points, "failed", f"Not graded: {reason}.")
                        for u in get_assignment(assignment_id).units]
        return to_gradescope(result)
    def payload(chosen):
        return {"student": "submission", "paths": [str(p) for p in chosen], "notes": list(notes),
                "source": ", ".join(p.relative_to(folder).as_posix() for p in chosen)}

    note = None
    if len(files) > 1:
        # several notebooks, none with the released name: together, the one that implements
        # the most graded functions last (then the most code), so that its definitions win
        # (a stale copy full of stubs cannot undo the work; parts split over notebooks all
        # count). An order from what they hold, not from scores: grading each and keeping
        # the best let one submission try guesses.
        from autograder.assignments import get_assignment

        graded = {u.name.partition(".")[0] for u in get_assignment(assignment_id).units}
        files = sorted(files, key=lambda p: (*_implemented(p, graded), p.as_posix()))
        names = [p.relative_to(folder).as_posix() for p in files]
        note = (f"No {released_name(assignment_id)} (the released notebook's name): its {len(files)} files were "
                f"graded together, in this order, the one implementing the most graded functions last (a later "
                f"definition replaces an earlier one): {', '.join(names)}. Name your notebook {released_name(assignment_id)} to have only "
                "it graded.")
    with Grader(assignment_id) as grader:
        result = _grade_files(grader, payload(files))
    if note:
        result.notes.insert(0, note)
    return to_gradescope(result)


def _implemented(path: Path, graded: set[str]) -> tuple[int, int]:
    """(graded functions and classes a submission file defines with more than a stub,
    characters of code): (0, 0) when it cannot be read."""
    import ast

    from autograder.submission import SubmissionError, load_submission, parse_tree

    try:
        cells = load_submission(path)
    except (SubmissionError, OSError, ValueError, RecursionError, MemoryError):
        return 0, 0
    written = set()
    for cell in cells:
        try:
            body = parse_tree(cell.source).body if not cell.syntax_error else []
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in graded and not _stub(node):
                written.add(node.name)
    return len(written), sum(len(cell.source) for cell in cells)


def _stub(node) -> bool:
    """A def whose body does nothing (pass, raise NotImplementedError, return None, `x =
    None` placeholders, a docstring), or a class whose methods all are."""
    import ast

    if isinstance(node, ast.ClassDef):
        methods = [n for n in node.body if isinstance(n, ast.FunctionDef)]
        return all(_stub(m) for m in methods)
    for statement in node.body:
        value = getattr(statement, "value", None)
        if isinstance(statement, ast.Pass) or (isinstance(statement, ast.Expr) and isinstance(value, ast.Constant)):
            continue
        if isinstance(statement, ast.Raise):
            continue
        if isinstance(statement, (ast.Return, ast.Assign)) and (value is None or
                                                                (isinstance(value, ast.Constant) and value.value is None)):
            continue
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python3 -m autograder.gradescope",
                                     description="Grade Gradescope's submission folder (inside the autograder).")
    parser.add_argument("assignment")
    parser.add_argument("--root", default=os.environ.get(ROOT_ENV, DEFAULT_ROOT))
    args = parser.parse_args(argv)
    root = Path(args.root)
    results = grade_submission_folder(args.assignment, root / "submission")
    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out)  # whole or absent, never half written
    print(f"rnngrade: {results['score']:g} points; results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
