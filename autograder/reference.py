"""Load the hidden reference of an assignment, in the grading process only.

A reference `reference/<id>/solution.py` (in the course directory, never in the
engine's package) is written exactly like a finished student notebook: it
starts with the assignment's preamble (`import numpy as np`, `from rnn_utils import *`,
...) and then defines the graded units. It is therefore executed the same way, with the
assignment's helper modules made importable by their top-level names.
"""
from __future__ import annotations

import contextlib
import sys
import types
from functools import lru_cache
from pathlib import Path

from autograder.course import assignment_folder


def reference_dir(assignment_id: str) -> Path:
    """The assignment's folder in the current course (autograder.course)."""
    return assignment_folder(assignment_id)


def helper_sources(assignment_id: str, helper_names) -> dict[str, str]:
    """Source text of the public helper modules shipped with a release."""
    folder = reference_dir(assignment_id)
    return {name: (folder / f"{name}.py").read_text() for name in helper_names}


def data_files(assignment_id: str) -> dict[str, str]:
    """name -> text of the data files placed in the student's working directory when graded."""
    from autograder.assignments import get_assignment

    folder = reference_dir(assignment_id)
    return {name: (folder / path).read_text() for name, path in get_assignment(assignment_id).data_files.items()}


def release_file_texts(assignment_id: str) -> dict[str, str]:
    """name -> text of the files shipped unchanged next to the notebook."""
    from autograder.assignments import get_assignment

    folder = reference_dir(assignment_id)
    return {name: (folder / name).read_text() for name in get_assignment(assignment_id).release_files}


def solution_source(assignment_id: str) -> str:
    return (reference_dir(assignment_id) / "solution.py").read_text()


def make_module(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    exec(compile(source, f"{name}.py", "exec"), module.__dict__)
    return module


@contextlib.contextmanager
def helper_modules_importable(helpers: dict[str, str]):
    """Make `from <helper> import *` work for the duration of the block, then restore
    sys.modules (helper names such as `utils` are too generic to leave installed)."""
    saved = {name: sys.modules.get(name) for name in helpers}
    try:
        for name, source in helpers.items():
            sys.modules[name] = make_module(name, source)
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


def execute_with_helpers(source: str, helpers: dict[str, str], filename: str) -> dict:
    namespace: dict = {"__name__": "__reference__"}
    with helper_modules_importable(helpers):
        exec(compile(source, filename, "exec"), namespace)
    return namespace


@lru_cache(maxsize=None)
def _load(folder: Path, helper_names: tuple[str, ...]) -> dict:
    return execute_with_helpers(
        (folder / "solution.py").read_text(),
        {name: (folder / f"{name}.py").read_text() for name in helper_names},
        str(folder / "solution.py"),
    )


def load_reference(assignment_id: str) -> types.SimpleNamespace:
    """The reference namespace of an assignment (a fresh copy of the dict each call,
    so that a caller rebinding a name cannot affect another)."""
    from autograder.assignments import get_assignment

    assignment = get_assignment(assignment_id)
    return types.SimpleNamespace(**_load(reference_dir(assignment_id), tuple(assignment.helpers)))


def load_helper(assignment_id: str, name: str) -> types.ModuleType:
    return make_module(name, helper_sources(assignment_id, [name])[name])
