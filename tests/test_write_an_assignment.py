"""docs/WRITE_AN_ASSIGNMENT.md is true: its example folder, written into a temporary
course directory, is listed, built, checked and graded with no change to the engine."""
import re
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from autograder import course

DOC = Path(__file__).resolve().parent.parent / "docs" / "WRITE_AN_ASSIGNMENT.md"


def doc_files() -> dict[str, str]:
    """course-relative path -> text, from the page's blocks whose first line names a file."""
    files = {}
    for block in re.findall(r"```[a-z]*\n(.*?)```", DOC.read_text(), re.S):
        first, _, rest = block.partition("\n")
        match = re.fullmatch(r"# course/(\S+)", first.strip())
        if match:
            files[match.group(1)] = rest
    return files


@pytest.fixture
def tutorial_course(tmp_path, monkeypatch):
    root = tmp_path / "course"
    for name, text in doc_files().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    monkeypatch.setenv(course.COURSE_ENV, str(Path.cwd()))  # restored after the test (--course sets it)
    return root


def cli(*args):
    from autograder.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_the_page_names_every_file_of_its_example():
    assert set(doc_files()) == {f"reference/row_means/{n}" for n in
                                ("assignment.py", "solution.py", "row_utils.py", "checks.py", "explanations.toml")}


def test_the_example_is_listed_built_checked_and_graded(tutorial_course, tmp_path):
    from autograder.grader import Grader

    listed = cli("--course", tutorial_course, "list")
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines()[0].startswith("row_means  (family tutorial, float64, 1.5 points)")
    assert "center" in listed.output and "uses row_means" in listed.output
    assert cli("--course", tutorial_course, "source", "row_means").exit_code == 0
    released = cli("--course", tutorial_course, "release", "row_means")
    assert released.exit_code == 0 and "leak check: no solution line" in released.output, released.output
    source = tutorial_course / "source" / "row_means" / "row_means.ipynb"
    release = tutorial_course / "release" / "row_means"
    assert sorted(p.name for p in release.iterdir()) == ["rnngrade_check.py", "row_means.ipynb", "row_utils.py"]

    checked = cli("--course", tutorial_course, "check", "row_means", source)
    assert checked.exit_code == 0 and checked.output.count(" ok ") == 2, checked.output

    course.use_course(tutorial_course)
    with Grader("row_means") as grader:
        assert grader.config == {"unit_seconds": 2.0}
        full = grader.grade_file(source)
        assert {u.name: u.score for u in full.units} == {"row_means": 1.0, "center": 0.5}
        # a student who averages over the wrong axis loses row_means, and center keeps its
        # credit with the reference's row_means (fair credit)
        student = tmp_path / "student.py"
        student.write_text("import numpy as np\nfrom row_utils import *\n\n"
                           "def row_means(x):\n    return np.mean(x, axis=0, keepdims=True)\n\n"
                           "def center(x):\n    return x - row_means(x)\n")
        result = {u.name: u for u in grader.grade_file(student).units}
    assert result["row_means"].score == 0 and "non-square" in result["row_means"].explanation
    assert result["center"].score == 0.5
    wrong = cli("--course", tutorial_course, "check", "row_means", student, "--trusted")
    assert wrong.exit_code == 1 and "keepdims=True" in wrong.output, wrong.output
