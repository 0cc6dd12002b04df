"""A minimal nbgrader course for `rnn_step_by_step`, to time nbgrader's own
`nbgrader autograde` on the same student notebooks rnngrade grades.

    build_course(root)                 nbgrader_config.py, source/<A>/<A>.ipynb (one solution
                                       cell per function, each followed by a locked autograder
                                       test cell worth 1 point), rnn_utils.py and rnn_checks.py
                                       next to it; then `nbgrader generate_assignment`
    place_submission(root, student, nb)  the student's notebook rewritten onto the release
                                       (graded cells keep the release's metadata and ids) at
                                       submitted/<student>/<A>/<A>.ipynb
    autograde(root)                    `nbgrader autograde <A> --create`, timed

The test cells do the work rnngrade does for a unit: the same hidden cases (same sizes,
seeds and input generators), the reference's outputs, an allclose comparison of every
named output, and (as rnngrade does for a unit that fails) the same directional
gradient check for backward passes that fail. They do not do fair credit or
explanations, so nbgrader does less work per unit than rnngrade.

Usage: python bench/nbgrader_course.py ROOT [NOTEBOOK ...]   (builds, places, grades)
"""
from __future__ import annotations

import copy
import inspect
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_submissions import FUNCTIONS, PREAMBLE_CELL, TITLES, split_solution  # noqa: E402

ASSIGNMENT = "rnn_step_by_step"
REFERENCE = ROOT / "reference" / ASSIGNMENT

# unit -> (input generator, inputs the unit does not take, sizes)
MAKERS = {
    "rnn_cell_forward": ("rnn_cell_inputs", ("da_next",), "CELL_SIZES"),
    "rnn_forward": ("rnn_sequence_inputs", ("da",), "SEQUENCE_SIZES"),
    "rnn_cell_backward": ("rnn_cell_inputs", (), "CELL_SIZES"),
    "rnn_backward": ("rnn_sequence_inputs", (), "BACKWARD_SIZES"),
    "lstm_cell_forward": ("lstm_cell_inputs", ("da_next", "dc_next"), "CELL_SIZES"),
    "lstm_forward": ("lstm_sequence_inputs", ("da",), "SEQUENCE_SIZES"),
    "lstm_cell_backward": ("lstm_cell_inputs", (), "CELL_SIZES"),
    "lstm_backward": ("lstm_sequence_inputs", (), "BACKWARD_SIZES"),
}

CHECKS_TAIL = r'''

def _reference():
    import rnn_utils
    ns = dict(vars(rnn_utils))
    ns["np"] = np
    exec(REFERENCE_SOURCE, ns)
    return ns


REF = _reference()


def _run(definitions, spec, inputs):
    local = copy.deepcopy(inputs)
    if spec["setup"]:
        exec(spec["setup"], definitions, local)
    result = eval(spec["call"], definitions, local)
    names = spec["returns"]["names"]
    if spec["returns"]["kind"] == "tuple":
        assert isinstance(result, (tuple, list)) and len(result) == len(names), \
            f"{spec['name']} must return {len(names)} values"
        return {n: v for n, v in zip(names, result) if not n.startswith("_")}
    assert isinstance(result, dict) and set(result) == set(names), \
        f"{spec['name']} must return a dict with keys {names}"
    return {n: result[n] for n in names}


def _loss(definitions, check, inputs):
    local = copy.deepcopy(inputs)
    out = eval(check["forward"], definitions, local)
    upstream = check["upstream"]
    if isinstance(upstream, str):
        out, upstream = (out,), (upstream,)
    return float(sum(np.sum(np.asarray(o) * inputs[u]) for o, u in zip(out, upstream)))


def _gradcheck(definitions, check, inputs, outputs):
    # as rnngrade does it: one random direction over all inputs at once
    rng = np.random.RandomState(12345)
    h = check["step"]
    directions = {path: rng.standard_normal(np.shape(eval(path, {}, dict(inputs)))) for path in check["wrt"]}
    values = []
    for sign in (1.0, -1.0):
        shifted = copy.deepcopy(inputs)
        for path, direction in directions.items():
            target = eval(path, {}, shifted)
            target += sign * h * direction
        values.append(_loss(definitions, check, shifted))
    numerical = (values[0] - values[1]) / (2 * h)
    analytical = sum(float(np.sum(np.asarray(outputs[check["wrt"][p]]) * d)) for p, d in directions.items())
    error = abs(numerical - analytical) / max(abs(numerical) + abs(analytical), 1e-12)
    print(f"gradient check: relative error {error:.1e}" + (" (too large)" if error >= 1e-5 else ""))


def check(name, definitions):
    """Raise AssertionError unless the student's `name` matches the reference on every case."""
    maker, drop, sizes = MAKERS[name]
    spec = SPECS[name]
    problems, largest = [], []
    for index, size in enumerate(SIZES[sizes]):
        size = dict(size)
        seed = size.pop("seed")
        size.pop("label", None)
        inputs = GENERATORS[maker](np.random.RandomState(seed), **size)
        inputs = {k: v for k, v in inputs.items() if k not in drop}
        expected = _run(REF, spec, inputs)
        try:
            actual = _run(definitions, spec, inputs)
            for key, value in expected.items():
                got = np.asarray(actual[key])
                assert got.shape == value.shape, f"{key}: shape {got.shape}, expected {value.shape} (seed {seed})"
                assert np.allclose(got, value, rtol=RTOL, atol=ATOL), f"{key} differs from the expected value (seed {seed})"
        except Exception as exc:
            problems.append(f"{type(exc).__name__}: {exc}")
            continue
        if spec["gradcheck"] and index >= len(SIZES[sizes]) - 2:  # as rnngrade: the two largest cases
            largest.append((inputs, actual))
    if problems:
        for inputs, actual in largest:  # as rnngrade: the numerical check explains a failing unit
            _gradcheck(definitions, spec["gradcheck"], inputs, actual)
        raise AssertionError("; ".join(problems))
    print(f"{name}: all {len(SIZES[sizes])} hidden cases passed")
'''


def checks_source() -> str:
    """rnn_checks.py: hidden cases, reference and comparison, self-contained (numpy only)."""
    import importlib.util

    # the assignment's description, reference/rnn_step_by_step/assignment.py (a course folder)
    spec = importlib.util.spec_from_file_location("rnn_step_by_step_assignment", REFERENCE / "assignment.py")
    desc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(desc)
    from autograder.driver import unit_spec

    generators = ["rnn_parameters", "lstm_parameters", "rnn_cell_inputs", "rnn_sequence_inputs",
                  "lstm_cell_inputs", "lstm_sequence_inputs"]
    specs = {u.name: unit_spec(u) for u in desc.UNITS}
    for spec in specs.values():  # plain JSON-able data
        spec["returns"] = {"kind": spec["returns"]["kind"], "names": list(spec["returns"]["names"])}
    parts = ['"""Autograder checks for rnn_step_by_step (hidden from students in a real course)."""',
             "import copy\n\nimport numpy as np\n",
             f"RTOL, ATOL = {desc.ASSIGNMENT.rtol!r}, {desc.ASSIGNMENT.atol!r}",
             f"SIZES = {{'CELL_SIZES': {desc.CELL_SIZES!r}, 'SEQUENCE_SIZES': {desc.SEQUENCE_SIZES!r}, "
             f"'BACKWARD_SIZES': {desc.BACKWARD_SIZES!r}}}",
             f"MAKERS = {MAKERS!r}",
             f"SPECS = {json.dumps(specs)}".replace(": null", ": None").replace(": true", ": True")
             .replace(": false", ": False"),
             f"REFERENCE_SOURCE = {(REFERENCE / 'solution.py').read_text().split(chr(10), 2)[2]!r}\n"]
    parts += [inspect.getsource(getattr(desc, g)) for g in generators]
    parts.append("GENERATORS = {" + ", ".join(f"{g!r}: {g}" for g in generators) + "}")
    return "\n".join(parts) + CHECKS_TAIL


def _md(source: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def _code(source: str, nbgrader: dict | None = None) -> dict:
    meta = {}
    if nbgrader is not None:
        meta["nbgrader"] = dict(nbgrader, schema_version=3)
        if nbgrader.get("locked"):
            meta.update(deletable=False, editable=False)
    return {"cell_type": "code", "execution_count": None, "metadata": meta, "outputs": [], "source": source}


def source_notebook() -> dict:
    functions = split_solution()
    cells = [_md("# Building your Recurrent Neural Network - Step by Step"), _code(PREAMBLE_CELL)]
    for name in FUNCTIONS:
        cells.append(_md(f"### {TITLES[name]}"))
        cells.append(_code("### BEGIN SOLUTION\n" + functions[name] + "### END SOLUTION",
                           {"grade": False, "solution": True, "locked": False, "task": False, "grade_id": name}))
        cells.append(_code(f"from rnn_checks import check\ncheck({name!r}, globals())",
                           {"grade": True, "solution": False, "locked": True, "task": False,
                            "grade_id": f"test_{name}", "points": 1}))
    for i, cell in enumerate(cells):
        cell["id"] = f"c{i:02d}"
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                        "name": "python3"}, "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def nbgrader(root: Path, *args: str, prefix: tuple = ()) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, shutil.which("nbgrader") or "nbgrader", *args], cwd=root,
                          capture_output=True, text=True)


def build_course(root: str | Path) -> Path:
    """A fresh course in `root` with the assignment generated (released). Returns root."""
    root = Path(root)
    if root.exists():
        shutil.rmtree(root)
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'rnnbench'\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(root / 'gradebook.db')!r}\n")
    shutil.copy(REFERENCE / "rnn_utils.py", source / "rnn_utils.py")
    (source / "rnn_checks.py").write_text(checks_source())
    (source / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(source_notebook(), indent=1))
    done = nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{done.stdout}\n{done.stderr}")
    return root


def _code_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _function_of(source: str) -> str | None:
    match = re.search(r"(?m)^\s*def (\w+)\s*\(", source)
    return match.group(1) if match and match.group(1) in FUNCTIONS else None


def onto_release(release: dict, student: dict) -> dict:
    """The student's notebook laid onto the release: each graded answer cell (release
    metadata and id) takes the source of the student's cell defining that function; every
    other student code cell follows as a plain cell after the function it came after; a
    function the student never wrote keeps the release's stub."""
    answers, extras, current = {}, {"": []}, ""
    for cell in student["cells"]:
        if cell.get("cell_type") != "code":
            continue
        source = _code_source(cell)
        name = _function_of(source)
        if name and name not in answers:
            answers[name], current = source, name
            extras.setdefault(name, [])
        else:
            extras.setdefault(current, []).append(source)
    cells = []
    for i, cell in enumerate(release["cells"]):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        cell = copy.deepcopy(cell)
        if cell["cell_type"] == "code" and not meta:  # the release's import cell: the student's own cells instead
            cells.extend(_code(src) for src in extras[""])
            continue
        if meta.get("solution") and meta.get("grade_id") in answers:
            cell["source"] = answers[meta["grade_id"]]
        cells.append(cell)
        if meta.get("solution"):
            cells.extend(_code(src) for src in extras.get(meta.get("grade_id"), []))
    for i, cell in enumerate(cells):
        cell.setdefault("id", f"x{i:03d}")
    out = copy.deepcopy(release)
    out["cells"] = cells
    return out


def place_submission(root: str | Path, student: str, notebook: dict) -> Path:
    root = Path(root)
    release = json.loads((root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ASSIGNMENT}.ipynb"
    path.write_text(json.dumps(onto_release(release, notebook), indent=1))
    (folder / "timestamp.txt").write_text("2024-03-01 12:00:00.000000 UTC\n")
    return path


def reset_grades(root: str | Path) -> None:
    """Forget earlier autograding, so the next `autograde` does all the work again."""
    root = Path(root)
    shutil.rmtree(root / "autograded", ignore_errors=True)


def autograde(root: str | Path, prefix: tuple = ()) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time of `nbgrader autograde ASSIGNMENT --create --force` over all placed
    submissions (`prefix`: a command that runs it, e.g. one that accounts its CPU)."""
    started = time.perf_counter()
    done = nbgrader(Path(root), "autograde", ASSIGNMENT, "--create", "--force", prefix=prefix)
    return time.perf_counter() - started, done


def scores(root: str | Path) -> dict:
    """student -> total autograded score, from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    root = Path(root)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}


def main() -> None:
    root = Path(sys.argv[1]).resolve()
    build_course(root)
    for path in sys.argv[2:]:
        place_submission(root, Path(path).stem, json.loads(Path(path).read_text()))
    wall, done = autograde(root)
    print(done.stdout[-2000:], done.stderr[-4000:])
    print(f"nbgrader autograde: {len(sys.argv) - 2} submission(s) in {wall:.1f} s; scores {scores(root)}")


if __name__ == "__main__":
    main()
