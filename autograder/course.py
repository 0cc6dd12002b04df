"""A course directory and the assignments in it, found by scanning.

A course is a folder holding `reference/<id>/`, one folder per assignment (this
repository is one). Everything that is that assignment lives in its folder:

    reference/<id>/assignment.py      the description: units, points, hidden cases, limits
    reference/<id>/solution.py        the hidden reference, written like a finished notebook
    reference/<id>/<helper>.py        the helper modules its release ships (description's `helpers`)
    reference/<id>/checks.py          the public checks (published values, gradient checks)
    reference/<id>/explanations.toml  the words of the instructor and student notebooks

and the course keeps its generated views beside it: `source/<id>/` (instructor notebook)
and `release/<id>/` (student notebook), and optionally a course file (`rnngrade.toml` or
`[tool.rnngrade]` in its pyproject.toml) overriding limits, points and tolerances
(autograder.settings). The engine names no assignment: `rnngrade list` shows what the
scan finds. The course is `--course DIR`, else $RNNGRADE_COURSE, else the
working directory (like nbgrader's course directory).
"""
from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

# (the vocabulary is imported where an assignment is loaded: the sandbox's side asks this
# module only where the course's reference/ is, and must not hold the assignments' modules)

COURSE_ENV = "RNNGRADE_COURSE"
DESCRIPTION = "assignment.py"
SOLUTION = "solution.py"
CHECKS = "checks.py"
EXPLANATIONS = "explanations.toml"


class CourseError(Exception):
    """The course directory or one of its assignment folders is not usable."""


def course_root() -> Path:
    return Path(os.environ.get(COURSE_ENV) or Path.cwd()).resolve()


def use_course(path: str | Path) -> Path:
    """Make `path` the course of this process and of every process it starts."""
    root = Path(path).resolve()
    if not (root / "reference").is_dir():
        raise CourseError(f"{root} is not a course directory: it has no reference/ folder")
    os.environ[COURSE_ENV] = str(root)
    return root


def reference_root() -> Path:
    return course_root() / "reference"


def source_root() -> Path:
    return course_root() / "source"


def release_root() -> Path:
    return course_root() / "release"


def assignment_ids() -> list[str]:
    """Every folder of reference/ with a description, in name order."""
    root = reference_root()
    if not root.is_dir():
        raise CourseError(f"no course here: {root} does not exist (give --course DIR, set ${COURSE_ENV}, "
                          "or run rnngrade in a course directory)")
    return sorted(p.parent.name for p in root.glob(f"*/{DESCRIPTION}"))


def assignment_folder(assignment_id: str) -> Path:
    folder = reference_root() / assignment_id
    if not (folder / DESCRIPTION).is_file():
        known = ", ".join(assignment_ids()) or "none"
        raise CourseError(f"no assignment {assignment_id!r} in {reference_root()} (known: {known})")
    return folder


def get_assignment(assignment_id: str) -> Assignment:
    """The assignment as graded in this course: its description, validated, with the
    course file's settings applied."""
    return _with_course_settings(_load(assignment_folder(assignment_id)))


def _with_course_settings(assignment: Assignment) -> Assignment:
    from autograder.settings import SettingsError, check_limits, course_file, course_settings

    root = course_root()
    settings = course_settings(root)
    where = course_file(root)[1]
    unknown = sorted(set(settings.assignments) - set(assignment_ids()))
    if unknown:
        raise SettingsError(f"{where} has settings for {', '.join(map(repr, unknown))}, which is not an "
                            f"assignment of this course (known: {', '.join(assignment_ids())})")
    options = settings.assignments.get(assignment.id)
    limits = {**assignment.limits, **check_limits(settings.limits.model_dump(exclude_none=True), where)}
    if options is None:
        return replace(assignment, limits=limits)
    limits.update(options.limits.model_dump(exclude_none=True))
    names = [u.name for u in assignment.units]
    stray = [name for name in options.points if name not in names]
    if stray:
        raise SettingsError(f"{where} gives points to {', '.join(map(repr, stray))}, not a graded unit of "
                            f"{assignment.id} (its units: {', '.join(names)})")
    units = tuple(replace(u, points=options.points.get(u.name, u.points)) for u in assignment.units)
    tolerances = {k: v for k, v in (("rtol", options.rtol), ("atol", options.atol)) if v is not None}
    return replace(assignment, limits=limits, units=units, **tolerances)


def all_assignments() -> list[Assignment]:
    return [get_assignment(a) for a in assignment_ids()]


@lru_cache(maxsize=None)
def _load(folder: Path) -> Assignment:
    """Run the folder's assignment.py and take its ASSIGNMENT (one per folder path)."""
    from autograder.assignments.model import Assignment

    path = folder / DESCRIPTION
    name = f"rnngrade_course_{abs(hash(str(folder))):x}_{folder.name}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise CourseError(f"{path} failed to load: {type(exc).__name__}: {exc}") from exc
    assignment = getattr(module, "ASSIGNMENT", None)
    if not isinstance(assignment, Assignment):
        raise CourseError(f"{path} defines no ASSIGNMENT = Assignment(...)")
    if assignment.id != folder.name:
        raise CourseError(f"{path} describes {assignment.id!r}; the folder's name is {folder.name!r}")
    from autograder.settings import check_limits

    limits = check_limits(assignment.limits, f"{path} (Assignment limits)")
    for name, source in [*assignment.data_files.items(), *((n, n) for n in assignment.release_files),
                         *((f"{h}.py", f"{h}.py") for h in assignment.helpers)]:
        if Path(name).name != name or not (folder / source).is_file():
            raise CourseError(f"{path}: file {name!r} must be a plain name and {folder / source} must exist")
    return replace(assignment, folder=folder, limits=limits)
