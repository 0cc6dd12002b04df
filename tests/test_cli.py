"""The command line: `rnngrade list`, and `grade --json` for every assignment."""
import json
import subprocess
import sys

import pytest

from autograder.assignments import all_assignments
from conftest import reference_text


def run(*args):
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], capture_output=True, text=True)


def test_list_shows_the_four_assignments_with_their_units_and_points():
    out = run("list")
    assert out.returncode == 0
    for assignment in all_assignments():
        assert assignment.id in out.stdout and f"{assignment.total_points:g} points" in out.stdout
        for unit in assignment.units:
            assert f"    {unit.name} " in out.stdout


@pytest.mark.parametrize("assignment", [a.id for a in all_assignments()])
def test_grade_json_for_the_reference_is_full_marks_in_gradescope_format(assignment, tmp_path):
    path = tmp_path / "reference.py"
    path.write_text(reference_text(assignment))
    out = run("grade", assignment, str(path), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    units = next(a for a in all_assignments() if a.id == assignment).units
    assert set(data) == {"score", "execution_time", "output", "tests", "output_format", "test_output_format",
                         "test_name_format"}
    assert [t["name"] for t in data["tests"]] == [u.name for u in units]
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in data["tests"])
    assert data["score"] == sum(u.points for u in units)
