"""Instructor workflow: source notebooks built from the reference, student releases built
from the source with nbgrader's preprocessors, and what both must guarantee.

* solution code exists once: the solution regions of source/ are the reference's unit
  bodies (ast-equal), and source/ and release/ are up to date with their generators;
* a release holds stubs, no outputs, locked cells, the helpers and the self-check
  module, and leaks no solution line and no hidden case;
* `nbgrader generate_assignment` accepts our source notebooks and produces our release;
* graded, the release scores 0 ("not implemented") and the source full marks;
* every release notebook runs top to bottom in a real kernel.
"""
from __future__ import annotations

import ast
import importlib.util
import shutil
import subprocess
import sys
import textwrap

import nbformat
import pytest

from autograder.assignments import assignment_ids, get_assignment
from autograder.course import release_root, source_root
from autograder.authoring import (BEGIN, END, build_source, grade_id, graded_units,
                                  reference_bodies, solution_regions)
from autograder.reference import helper_sources, reference_dir, solution_source
from autograder.release import build_release, find_leaks, hidden_case_patterns, secret_lines
from autograder.selfcheck import standalone_source

SOURCE_ROOT, RELEASE_ROOT = source_root(), release_root()
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def no_units_yet(assignment_id):
    return pytest.mark.xfail(not get_assignment(assignment_id).units, strict=False,
                             reason=f"the description of {assignment_id} has no units yet")


ALL = [pytest.param(a, marks=no_units_yet(a)) for a in assignment_ids()]


def source_nb(assignment_id):
    return nbformat.read(SOURCE_ROOT / assignment_id / f"{assignment_id}.ipynb", as_version=4)


def release_nb(assignment_id):
    return nbformat.read(RELEASE_ROOT / assignment_id / f"{assignment_id}.ipynb", as_version=4)


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def solution_cells(nb):
    return [c for c in nb.cells if nbgrader_meta(c).get("solution")]


def dump(statements):
    return ast.dump(ast.Module(body=list(statements), type_ignores=[]))


# ---------------------------------------------------------- solution code exists once
@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_solution_regions_are_the_reference_bodies(assignment_id):
    bodies = reference_bodies(assignment_id)
    units = [u for u, _ in graded_units(assignment_id)]
    reference_tree = {getattr(n, "name", None): n for n in ast.parse(solution_source(assignment_id)).body}
    seen = []
    for cell in solution_cells(source_nb(assignment_id)):
        # the whole cell, delimiters removed, is the reference's definition
        code = "\n".join(line for line in cell.source.split("\n") if BEGIN not in line and END not in line)
        (node,) = ast.parse(code).body
        assert ast.dump(node) == ast.dump(reference_tree[node.name]), node.name
        assert nbgrader_meta(cell)["grade_id"] == grade_id(node.name)
        # every region, extracted back, is exactly one graded unit's body
        for region in solution_regions(cell.source):
            statements = ast.parse(textwrap.dedent(region)).body
            matches = [u for u in units if u.split(".")[0] == node.name and dump(bodies[u]) == dump(statements)]
            assert len(matches) == 1, (node.name, region[:200])
            seen.append(matches[0])
    assert sorted(seen) == sorted(units)  # each unit exactly once
    # and only the graded bodies are hidden: __init__ and other methods stay visible
    for cell in solution_cells(source_nb(assignment_id)):
        (node,) = ast.parse(cell.source).body
        if isinstance(node, ast.ClassDef):
            for method in node.body:
                if isinstance(method, ast.FunctionDef) and f"{node.name}.{method.name}" not in units:
                    assert BEGIN not in ast.get_source_segment(cell.source, method), method.name


@pytest.mark.parametrize("assignment_id", ALL)
def test_source_units_and_points_follow_the_description(assignment_id):
    assignment = get_assignment(assignment_id)
    assert assignment.units, "no units in the description yet"
    checks = [c for c in source_nb(assignment_id).cells if nbgrader_meta(c).get("grade")]
    assert [(nbgrader_meta(c)["grade_id"], nbgrader_meta(c)["points"]) for c in checks] == \
        [(f"check_{grade_id(u.name)}", u.points) for u in assignment.units]
    assert [c.source.split("\n")[0] for c in checks] == [f'check("{u.name}")' for u in assignment.units]


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_source_is_up_to_date(assignment_id, tmp_path):
    written = build_source(assignment_id, out_root=tmp_path)
    folder = SOURCE_ROOT / assignment_id
    expected = {p.name for p in written}
    assert {p.name for p in folder.iterdir()} == expected, "stale or missing files in source/"
    for path in written:
        assert (folder / path.name).read_text() == path.read_text(), \
            f"source/{assignment_id}/{path.name} is out of date: run `rnngrade source {assignment_id}`"


def test_source_preamble_and_selfcheck_cells_are_locked():
    for assignment_id in assignment_ids():
        nb = source_nb(assignment_id)
        preamble = next(c for c in nb.cells if c.id == "preamble")
        assert preamble.source == get_assignment(assignment_id).preamble.strip()
        for cell in (preamble, next(c for c in nb.cells if c.id == "selfcheck")):
            assert nbgrader_meta(cell) == {"grade": False, "grade_id": cell.id, "locked": True,
                                           "schema_version": 3, "solution": False}
        for cell in solution_cells(nb):
            assert nbgrader_meta(cell) == {"grade": False, "grade_id": cell.id, "locked": False,
                                           "schema_version": 3, "solution": True}


# ------------------------------------------------------------------ the release
@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_release_is_up_to_date(assignment_id, tmp_path):
    written = build_release(assignment_id, out_root=tmp_path)
    folder = RELEASE_ROOT / assignment_id
    assert {p.name for p in folder.iterdir()} == {p.name for p in written}
    fresh = nbformat.read(tmp_path / assignment_id / f"{assignment_id}.ipynb", as_version=4)
    assert [c.source for c in release_nb(assignment_id).cells] == [c.source for c in fresh.cells], \
        f"release/{assignment_id} is out of date: run `rnngrade release {assignment_id}`"
    for path in written:
        assert (folder / path.name).read_text() == path.read_text(), path.name


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_release_content(assignment_id):
    nb = release_nb(assignment_id)
    nbformat.validate(nb)
    source = source_nb(assignment_id)
    assert [c.id for c in nb.cells] == [c.id for c in source.cells]
    for cell, original in zip(nb.cells, source.cells):
        meta = nbgrader_meta(cell)
        assert BEGIN not in cell.source and "HIDDEN TESTS" not in cell.source
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        if meta.get("solution"):
            # every region replaced by nbgrader's stub, the signatures and docstrings kept
            assert cell.source.count("raise NotImplementedError()") == len(solution_regions(original.source))
            assert textwrap.dedent(STUB) in textwrap.dedent("\n".join(line.strip() for line in cell.source.split("\n")))
            assert cell.metadata["deletable"] is False and "editable" not in cell.metadata
        elif meta.get("grade"):
            assert cell.source == original.source.split("\n")[0]  # the hidden strict check is gone
            assert cell.metadata["editable"] is False and cell.metadata["deletable"] is False
        elif meta.get("locked"):
            assert cell.source == original.source
            assert cell.metadata["editable"] is False
        else:
            assert cell.source == original.source
        if meta.get("grade") or meta.get("solution") or meta.get("locked"):
            assert len(meta["checksum"]) == 32
    helpers = helper_sources(assignment_id, get_assignment(assignment_id).helpers)
    for name in helpers:
        assert (RELEASE_ROOT / assignment_id / f"{name}.py").read_text() == \
            (reference_dir(assignment_id) / f"{name}.py").read_text()
    assert (RELEASE_ROOT / assignment_id / "rnngrade_check.py").read_text() == standalone_source(assignment_id)
    assert not (RELEASE_ROOT / assignment_id / "solution.py").exists()


# ------------------------------------------------------------------ leak check
def test_release_leaks_no_solution_line_and_no_hidden_case():
    assert find_leaks(RELEASE_ROOT) == []


def test_leak_check_finds_planted_leaks(tmp_path):
    """Leaks of rnn_step_by_step planted in its release, looked for with its own secrets only:
    the same search as over the whole course, at an eighth of the CPU (searching every
    assignment's hidden-case patterns costs ~0.8 s a call). That the other assignments'
    secrets find nothing in a clean release is the previous test's job."""
    shutil.copytree(RELEASE_ROOT / "rnn_step_by_step", tmp_path / "rnn_step_by_step")

    def find(root):
        return find_leaks(root, ["rnn_step_by_step"])

    assert find(tmp_path) == []
    line = sorted(secret_lines("rnn_step_by_step"))[0]
    unit = get_assignment("rnn_step_by_step").units[0]
    size = {k: v for k, v in unit.sizes[0].items() if k != "label"}
    seed = size.pop("seed")
    assert len(size) >= 3   # its values in a row are a leak too
    values = ", ".join(repr(v) for v in size.values())
    # glued to a name or a number, the values in a row are something else
    (tmp_path / "rnn_step_by_step" / "glued.py").write_text(f"x = f(a{values}, b.{values})\n")
    assert find(tmp_path) == []
    with open(tmp_path / "rnn_step_by_step" / "rnn_utils.py", "a") as f:
        f.write(f"\n# {line}\n")
        f.write(f"np.random.seed({seed})\n")
        f.write("case = dict(" + ", ".join(f"{k}={v}" for k, v in size.items()) + ")\n")
        f.write(f"shape = ({values.replace(', ', ',')})\n")
    leaks = find(tmp_path)
    assert any("solution line" in leak and line in leak for leak in leaks)
    assert any(f"seed {seed}" in leak for leak in leaks)
    assert any("sizes" in leak for leak in leaks)
    assert any("size values" in leak and "rnn_utils.py" in leak for leak in leaks)
    assert not any("glued.py" in leak for leak in leaks)
    # a solution line hidden in a notebook's JSON escaping is found too
    nb = nbformat.read(tmp_path / "rnn_step_by_step" / "rnn_step_by_step.ipynb", as_version=4)
    quoted = next(s for s in secret_lines("rnn_step_by_step") if '"' in s)
    nb.cells[0].source += "\n    " + quoted
    nbformat.write(nb, tmp_path / "rnn_step_by_step" / "rnn_step_by_step.ipynb")
    assert any(quoted in leak and ".ipynb" in leak for leak in find(tmp_path))


@pytest.mark.parametrize("assignment_id", ALL)
def test_leak_check_knows_the_hidden_cases(assignment_id):
    assert get_assignment(assignment_id).units, "no units in the description yet"
    assert hidden_case_patterns(assignment_id) and secret_lines(assignment_id)


# ---------------------------------------------------------- nbgrader itself
# The `nbgrader` command (its entry point, nbgrader.apps.nbgraderapp:main) with two of its
# start-up costs that have nothing to do with the notebooks taken out: jsonschema's
# rfc3987_syntax grammar (as in conftest.py; nbformat's schemas use no "iri" format), and
# the `alembic heads` process nbgrader starts, on creating its course gradebook, to read its
# schema's head revision (2.4 s of CPU, half of the run): the same head read here, with
# nbgrader's own alembic.ini, in this process.
NBGRADER = """
import sys
sys.modules["rfc3987_syntax"] = None
from alembic.config import Config
from alembic.script import ScriptDirectory
import nbgrader.api
from nbgrader.dbutil import _temp_alembic_ini


def alembic_head():
    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:
        return ScriptDirectory.from_config(Config(ini)).get_current_head()


nbgrader.api.get_alembic_version = alembic_head
from nbgrader.apps.nbgraderapp import main
sys.argv[0] = "nbgrader"
main()
"""


@pytest.fixture(scope="module")
def nbgrader_course(tmp_path_factory):
    """A fresh nbgrader course holding our four source folders, released by nbgrader's own
    `nbgrader generate_assignment` (cwd = the course). One run with the assignment id
    "*" (nbgrader globs the id) releases all four: nbgrader's start-up costs ~2 s here,
    four runs would cost four times that."""
    if importlib.util.find_spec("nbgrader") is None:
        pytest.skip("nbgrader is not installed")
    course = tmp_path_factory.mktemp("course")
    for assignment_id in assignment_ids():
        shutil.copytree(SOURCE_ROOT / assignment_id, course / "source" / assignment_id)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.ignore = ['.ipynb_checkpoints', '*.pyc', '__pycache__', 'explanations.toml']\n")
    proc = subprocess.run([sys.executable, "-c", NBGRADER, "generate_assignment", "*", "--force"], cwd=course,
                          capture_output=True, text=True, timeout=300)
    return course, proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_nbgrader_generate_assignment_accepts_the_source(nbgrader_course, assignment_id):
    course, returncode, log = nbgrader_course
    assert returncode == 0, log[-3000:]
    assert f"Updating/creating assignment '{assignment_id}'" in log
    folder = course / "release" / assignment_id
    theirs = nbformat.read(folder / f"{assignment_id}.ipynb", as_version=4)
    assert sum("raise NotImplementedError()" in c.source for c in solution_cells(theirs)) == \
        len(solution_cells(theirs)) > 0
    # nbgrader's own run and ours give the same student notebook, cell for cell
    ours = release_nb(assignment_id)
    assert [(c.cell_type, c.source, dict(c.metadata)) for c in theirs.cells] == \
        [(c.cell_type, c.source, dict(c.metadata)) for c in ours.cells]
    assert {p.name for p in folder.iterdir()} == {p.name for p in (RELEASE_ROOT / assignment_id).iterdir()}


# ---------------------------------------------------------- graded by rnngrade
@pytest.mark.parametrize("assignment_id", ALL)
def test_graded_release_scores_zero_and_says_not_implemented(graders, assignment_id):
    assignment = get_assignment(assignment_id)
    assert assignment.units, "no units in the description yet"
    result = graders(assignment_id).grade_file(RELEASE_ROOT / assignment_id / f"{assignment_id}.ipynb")
    assert [u.name for u in result.units] == [u.name for u in assignment.units]
    for unit in result.units:
        assert unit.score == 0, (unit.name, unit.explanation)
    # a unit whose own body is a stub says so (others may fail in their stubbed forward)
    explained = [u for u in result.units if "not implemented yet (raises NotImplementedError)" in u.explanation]
    assert len(explained) >= len(result.units) // 2, [u.explanation.splitlines()[0] for u in result.units]
    forwards = [u for u in result.units if "backward" not in u.name]
    assert all(u in explained for u in forwards)
    # the preamble runs cleanly under the grader; the self-check cells cannot change a
    # grade and are not run (the only note says so)
    assert [n for n in result.notes if "were not run" not in n] == []


@pytest.mark.parametrize("assignment_id", ALL)
def test_graded_source_scores_full_marks(graders, assignment_id):
    assignment = get_assignment(assignment_id)
    assert assignment.units, "no units in the description yet"
    result = graders(assignment_id).grade_file(SOURCE_ROOT / assignment_id / f"{assignment_id}.ipynb")
    assert {u.name: u.score for u in result.units} == {u.name: u.points for u in assignment.units}, \
        [(u.name, u.explanation) for u in result.units if u.score < u.max_score]


# ---------------------------------------------------------- a real kernel
@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_release_notebook_runs_top_to_bottom_in_a_kernel(assignment_id, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # leave release/ as it is
    nb = release_nb(assignment_id)
    folder = RELEASE_ROOT / assignment_id
    before = sorted(p.name for p in folder.iterdir())
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    client.execute()  # raises CellExecutionError if any cell raises
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    units = [u for u, _ in graded_units(assignment_id)]
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade"):
            text = "".join(o.get("text", "") for o in cell.outputs)
            unit = cell.source[len('check("'):-2]
            assert text.startswith(unit) and "TODO" in text, (unit, text)
    final = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert [line.split()[0] for line in final.splitlines()] == units
    assert all("TODO" in line for line in final.splitlines())
    assert "not implemented yet" in final
    shutil.rmtree(folder / "__pycache__", ignore_errors=True)
    assert sorted(p.name for p in folder.iterdir()) == before


def test_a_release_that_leaks_is_not_written(tmp_path):
    """`rnngrade release` refused a release that leaks a solution line, but left it on disk,
    the line in it; the release before it stays as it was."""
    from click.testing import CliRunner

    from autograder.cli import main

    source = tmp_path / "source"
    shutil.copytree(SOURCE_ROOT / "rnn_step_by_step", source / "rnn_step_by_step")
    out = tmp_path / "release"
    first = CliRunner().invoke(main, ["release", "rnn_step_by_step", "--source-dir", str(source), "--out", str(out)])
    assert first.exit_code == 0, first.output
    before = (out / "rnn_step_by_step" / "rnn_step_by_step.ipynb").read_bytes()
    notebook = source / "rnn_step_by_step" / "rnn_step_by_step.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    line = sorted(secret_lines("rnn_step_by_step"))[0]
    nb.cells.append(nbformat.v4.new_markdown_cell(f"A hint: `{line}`"))
    nbformat.write(nb, notebook)
    refused = CliRunner().invoke(main, ["release", "rnn_step_by_step", "--source-dir", str(source), "--out", str(out)])
    assert refused.exit_code == 1 and "leaks" in refused.output and "nothing was written" in refused.output
    assert (out / "rnn_step_by_step" / "rnn_step_by_step.ipynb").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["rnn_step_by_step"]  # no staging left behind
