"""Typed settings: limits, points and tolerances from the description, overridden by the
course file, then by the caller; an unknown key or a wrong type is refused by name."""
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder import course
from autograder.settings import SettingsError, check_limits

ROOT = Path(__file__).resolve().parent.parent
A = "rnn_step_by_step"


def test_a_typo_in_the_grader_configuration_is_refused_by_name():
    from autograder.grader import Grader

    with pytest.raises(SettingsError, match="unknown setting 'unit_secnds'.*did you mean 'unit_seconds'"):
        Grader(A, {"unit_secnds": 0.001})
    with pytest.raises(SettingsError, match="'memory_mb'.*integer.*'lots'"):
        Grader(A, {"memory_mb": "lots"})


def test_limits_are_typed():
    assert check_limits({"unit_seconds": 2, "disable": ["seccomp"]}, "x") == {"unit_seconds": 2.0,
                                                                            "disable": ("seccomp",)}
    for bad in ({"harden": 1}, {"unit_seconds": -1}, {"memory_mb": 5.5}, {"unit_seconds": "fast"}):
        with pytest.raises(SettingsError, match=repr(next(iter(bad)))):
            check_limits(bad, "x")


@pytest.fixture
def course_copy(tmp_path, monkeypatch):
    """A course directory holding a copy of this one's rnn_step_by_step folder."""
    shutil.copytree(ROOT / "reference" / A, tmp_path / "reference" / A, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv(course.COURSE_ENV, str(tmp_path))
    return tmp_path


def test_the_course_file_overrides_limits_points_and_tolerances(course_copy):
    (course_copy / "rnngrade.toml").write_text(
        "[limits]\nunit_seconds = 9\n"
        f"[assignments.{A}]\nrtol = 1e-4\n"
        f"[assignments.{A}.limits]\nmemory_mb = 700\n"
        f"[assignments.{A}.points]\nrnn_cell_forward = 3\n")
    assignment = course.get_assignment(A)
    assert assignment.limits == {"unit_seconds": 9.0, "memory_mb": 700}
    assert assignment.unit("rnn_cell_forward").points == 3 and assignment.unit("rnn_forward").points == 1
    assert assignment.rtol == 1e-4 and assignment.total_points == 10
    out = CliRunner().invoke(__import__("autograder.cli", fromlist=["main"]).main, ["list"])
    assert out.exit_code == 0 and "10 points" in out.output and "rnn_cell_forward             3 pt" in out.output


def test_pyproject_tool_rnngrade_is_a_course_file_too(course_copy):
    (course_copy / "pyproject.toml").write_text(f"[tool.rnngrade.assignments.{A}.points]\nrnn_forward = 2\n")
    assert course.get_assignment(A).unit("rnn_forward").points == 2


@pytest.mark.parametrize("text,words", [
    ("[limits]\nunit_secnds = 1\n", ["unknown setting 'limits.unit_secnds'", "rnngrade.toml", "'unit_seconds'"]),
    ("[limits]\nmemory_mb = 'big'\n", ["'limits.memory_mb'", "valid integer", "'big'"]),
    (f"[assignments.{A}]\npoint = 1\n", [f"unknown setting 'assignments.{A}.point'", "'points'"]),
    (f"[assignments.{A}.points]\nno_such_unit = 1\n", ["'no_such_unit'", "not a graded unit"]),
    ("[assignments.no_such_assignment]\nrtol = 1\n", ["'no_such_assignment'", "not an assignment"]),
])
def test_a_bad_course_file_is_refused_by_name(course_copy, text, words):
    (course_copy / "rnngrade.toml").write_text(text)
    with pytest.raises(SettingsError) as caught:
        course.get_assignment(A)
    for word in words:
        assert word in str(caught.value), str(caught.value)


def test_a_bad_limit_in_a_description_is_refused_by_name(course_copy):
    description = course_copy / "reference" / A / "assignment.py"
    description.write_text(description.read_text().replace("    atol=1e-8,\n", "    atol=1e-8,\n    limits={'memroy_mb': 1},\n", 1))
    with pytest.raises(SettingsError, match="unknown setting .memroy_mb'.*assignment.py"):
        course.get_assignment(A)


def test_grade_and_autograde_refuse_a_bad_limit_the_same_way(tmp_path):
    from autograder.cli import main

    notebook = ROOT / "examples" / "submissions" / "carol.py"
    for command in (["grade", A, str(notebook)], ["autograde", A, str(notebook.parent), "--db", f"sqlite:///{tmp_path}/g.db"]):
        out = CliRunner().invoke(main, command + ["--unit-seconds", "-1"])
        assert out.exit_code == 2 and "'unit_seconds'" in out.output and "greater than 0" in out.output, out.output


def test_every_command_says_a_bad_course_file_in_one_line(course_copy):
    """`list`, `export`, `feedback`, `source`, `gradescope` and `check` printed a traceback
    for a mistyped setting; only `grade` and `autograde` said it in one line."""
    from autograder.cli import main

    (course_copy / "rnngrade.toml").write_text("[limits]\ncell_second = 20\n")
    for command in (["list"], ["source", A], ["gradescope", A, "-o", str(course_copy / "g.zip")]):
        out = CliRunner().invoke(main, ["--course", str(course_copy), *command])
        assert out.exit_code == 1 and "unknown setting 'limits.cell_second'" in out.output, (command, out.output)
        assert out.exception is None or isinstance(out.exception, SystemExit), (command, out.exception)


def test_a_settings_file_for_autograde_is_checked_whole(tmp_path):
    """`autograde --settings FILE` read only [deadlines]: `[limits] cell_secondz` in it was
    accepted in silence."""
    from autograder.deadlines import load_deadlines

    path = tmp_path / "alt.toml"
    path.write_text('[limits]\ncell_secondz = 20\n[deadlines]\npolicy = "none"\n')
    with pytest.raises(SettingsError, match="cell_secondz"):
        load_deadlines(path)
    path.write_text('[limits]\ncell_seconds = 20\n[deadlines]\npolicy = "none"\n')
    assert load_deadlines(path).policy == "none"
