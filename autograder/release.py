"""Source notebook -> student release, with nbgrader's own preprocessors.

`release_notebook` applies the preprocessors of nbgrader's GenerateAssignment converter,
in its order, to the nbformat notebook: LockCells, ClearSolutions (every solution
region becomes `# YOUR CODE HERE` / `raise NotImplementedError()`), ClearOutput,
CheckCellMetadata, ComputeChecksums, ClearHiddenTests, ClearMarkScheme, and the
checksums and metadata check again. Left out are only the steps that need an nbgrader
course (IncludeHeaderFooter with no header configured, InstantiateTests for AUTOTEST
templates we do not use, SaveCells, which writes to the gradebook database).

`build_release` writes the course's release/<id>/: the student notebook, the helper
modules it imports (copied from reference/<id>/) and the public self-check module
`rnngrade_check.py` (autograder/selfcheck/). Deterministic, like the source.
"""
from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import nbformat

from autograder.assignments import assignment_ids as course_assignment_ids, get_assignment
from autograder.authoring import notebook_text
from autograder.course import release_root, source_root as course_source_root
from autograder.reference import helper_sources
from autograder.selfcheck.notebook import public_files


def release_preprocessors() -> list:
    """nbgrader's GenerateAssignment pipeline, in its order, minus the course-bound steps."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.preprocessors import IncludeHeaderFooter, InstantiateTests, SaveCells

    pipeline = GenerateAssignment.class_traits()["preprocessors"].default()
    return [p for p in pipeline if p not in (IncludeHeaderFooter, InstantiateTests, SaveCells)]


def release_notebook(source_nb):
    """The student version of a source notebook (the input is not modified)."""
    nb = copy.deepcopy(source_nb)
    resources: dict = {}
    for preprocessor in release_preprocessors():
        nb, resources = preprocessor().preprocess(nb, resources)
    nbformat.validate(nb)
    return nb


def source_notebook_path(assignment_id: str, source_root: Path | None = None) -> Path:
    return (source_root or course_source_root()) / assignment_id / f"{assignment_id}.ipynb"


def build_release(assignment_id: str, source_root: Path | None = None, out_root: Path | None = None) -> list[Path]:
    """Write release/<id>/ from source/<id>/<id>.ipynb (the folder is replaced)."""
    out_root = out_root or release_root()
    source = source_notebook_path(assignment_id, source_root)
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist: build it first (rnngrade source {assignment_id})")
    nb = release_notebook(nbformat.read(source, as_version=4))
    files = {f"{assignment_id}.ipynb": notebook_text(nb), **public_files(assignment_id)}
    folder = out_root / assignment_id
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    written = []
    for name, text in files.items():
        (folder / name).write_text(text)
        written.append(folder / name)
    return written


# ------------------------------------------------------------------ leak check
MIN_LINE = 16  # shorter solution lines ("return dW", "loss = 0") are too generic to count


def public_lines() -> set[str]:
    """Every line of every assignment's public helper modules, stripped (they ship)."""
    from autograder.assignments import all_assignments

    public = set()
    for assignment in all_assignments():
        for text in helper_sources(assignment.id, assignment.helpers).values():
            public.update(line.strip() for line in text.splitlines())
    return public


def secret_lines(assignment_id: str) -> set[str]:
    """The non-trivial lines of the reference's graded unit bodies (comments included),
    stripped. A line that a public helper module also contains is not secret (family
    B's graded softmax, for one, is family A's shipped helper)."""
    from autograder.authoring import graded_units, solution_blocks

    public = public_lines()
    lines = set()
    for block in solution_blocks(assignment_id, [u for u, _ in graded_units(assignment_id)]):
        for body in block.regions.values():
            lines.update(line.strip() for line in body.splitlines())
    return {line for line in lines if len(line) >= MIN_LINE and line not in public}


def hidden_case_patterns(assignment_id: str) -> list[tuple[str, re.Pattern]]:
    """Regular expressions that would find a hidden case's size set or seed in text:
    the seed passed to a seeding call or keyword, the sizes as `k=v` pairs in their
    order, and (3 or more sizes) the values as a comma-separated run in their order."""
    patterns = {}
    for unit in get_assignment(assignment_id).units:
        for size in unit.sizes:
            size = {k: v for k, v in size.items() if k != "label"}
            seed = size.pop("seed", None)
            what = f"{assignment_id}/{unit.name} hidden case {size} seed {seed}"
            if seed is not None:
                patterns[f"seed {seed} ({what})"] = re.compile(
                    rf"(?:seed|RandomState|default_rng)\W{{0,4}}{int(seed)}(?![\w.])")
            if size:
                keyword = r"\W{1,6}".join(rf"{re.escape(k)}\s*[=:]\s*{re.escape(repr(v))}(?![\w.])"
                                          for k, v in size.items())
                patterns[f"sizes {size} ({what})"] = re.compile(keyword)
            if len(size) >= 3:
                first, *rest = (re.escape(f"{v!r}") for v in size.values())
                # the run not glued to a name or number before it, said after its first
                # value: a pattern that starts with a literal is searched for that literal
                # first (a leading look-behind was tried at every position: 10x slower)
                run = r",\s*".join(rest)
                patterns[f"size values {tuple(size.values())} ({what})"] = re.compile(
                    rf"{first}(?<![\w.]{first}),\s*{run}(?![\w.])")
    return sorted(patterns.items())


def _texts(folder: Path):
    """(path, text) for every file under folder; a notebook also yields its decoded cell
    sources and outputs, so that JSON escaping cannot hide a line."""
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        raw = path.read_text(errors="replace")
        yield path, raw
        if path.suffix == ".ipynb":
            nb = nbformat.reads(raw, as_version=4)
            parts = []
            for cell in nb.cells:
                parts.append(cell.source)
                for output in cell.get("outputs", []):
                    parts.append(str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", "")))
            yield path, "\n".join(parts)


def find_leaks(root: Path | None = None, assignment_ids=None) -> list[str]:
    """Every solution line of any assignment and every hidden case's size set or seed
    found anywhere under root (the course's release/); [] when the release is clean."""
    release_root_ = root or release_root()
    ids = list(assignment_ids or course_assignment_ids())
    # a solution line counts wherever it appears as code: not glued to a longer name
    # (`grads = [...]` inside a visible `self.grads = [...]` is not a leak)
    secrets = {line: (a, re.compile(rf"(?<![\w.]){re.escape(line)}(?!\w)"))
               for a in ids for line in secret_lines(a)}
    patterns = [p for a in ids for p in hidden_case_patterns(a)]
    markers = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
    leaks = set()
    for path, text in _texts(release_root_):
        where = path.relative_to(release_root_)
        for line, (owner, pattern) in secrets.items():
            if line in text and pattern.search(text):
                leaks.add(f"{where}: solution line of {owner}: {line}")
        for name, pattern in patterns:
            match = pattern.search(text)
            if match:
                leaks.add(f"{where}: {name}: {match.group(0)!r}")
        for marker in markers:
            if marker in text:
                leaks.add(f"{where}: nbgrader marker {marker!r}")
    return sorted(leaks)
