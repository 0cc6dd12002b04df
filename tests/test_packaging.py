"""The engine's distribution ships no solution: a built wheel holds the `autograder`
package and nothing of any course's reference/ (solutions, hidden cases, checks)."""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from autograder.assignments import assignment_ids
from autograder.course import reference_root
from autograder.release import secret_lines

ROOT = Path(__file__).resolve().parent.parent


def test_a_built_wheel_holds_no_reference_code(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    # what a build of this checkout sees (a copy, so the build leaves the checkout alone)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    for name in ("autograder", "reference"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "dist"
    # built with the installed build requirements (the test extra holds pyproject's
    # [build-system] requires): an isolated build installs them afresh, 70% of the CPU
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            str(project), "-w", str(out)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    (wheel,) = out.glob("rnngrade-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        texts = {n: archive.read(n).decode("utf-8", "replace") for n in names}
    assert "autograder/cli.py" in names and "autograder/driver.py" in names
    packages = {n.split("/")[0] for n in names if not n.startswith("rnngrade-")}
    assert packages == {"autograder"}, packages
    course_files = {p.name for p in reference_root().rglob("*.py")} - {"__init__.py"}
    shipped = {Path(n).name for n in names}
    assert not course_files & shipped, course_files & shipped
    for assignment_id in assignment_ids():
        secrets = secret_lines(assignment_id)
        leaked = [(n, line) for n, text in texts.items() for line in secrets if line in text]
        assert not leaked, leaked[:5]
