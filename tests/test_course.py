"""The course workflow around the grader (issue 14): a gradebook given as a plain path,
readers that refuse a missing or empty gradebook, regrading chosen students."""
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.assignments import get_assignment
from autograder.cli import main

A = "rnn_step_by_step"
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "submissions"
TOTALS = {"alice": 1.8, "bob": 6.0, "carol": 7.0}


def run(*args, code=0):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == code, (result.output, result.exception)
    return result


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The bundled example class graded into a gradebook named by a plain path."""
    tmp = tmp_path_factory.mktemp("course")
    subs = tmp / "subs"
    shutil.copytree(EXAMPLES, subs)
    db = tmp / "class.db"
    out = run("autograde", A, subs, "--db", db, "--workers", "1").output
    assert "3 to grade" in out and "0 failure(s)" in out
    return {"tmp": tmp, "subs": subs, "db": db}


def submissions(db: Path) -> dict:
    with sqlite3.connect(db) as con:
        return {row[0]: row[1:] for row in
                con.execute("SELECT student, id, score, graded_at FROM submissions ORDER BY student")}


# --------------------------------------------------------------------------- --db and readers

def test_db_accepts_a_plain_path(graded):
    assert {s: r[1] for s, r in submissions(graded["db"]).items()} == TOTALS
    csv_text = run("export", A, "--db", graded["db"], "--format", "csv").output
    assert csv_text.splitlines()[0].startswith("student,")
    assert len(csv_text.splitlines()) == 4
    # the same gradebook as a URL
    assert run("export", A, "--db", f"sqlite:///{graded['db']}", "--format", "csv").output == csv_text


@pytest.mark.parametrize("command", [["export", A, "--format", "csv"], ["feedback", A, "-o", "fb"]])
def test_readers_refuse_a_missing_gradebook_and_make_no_file(tmp_path, command, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for db in ["gradebok.db", f"sqlite:///{tmp_path / 'typo.db'}"]:
        result = run(*command, "--db", db, code=1)
        assert "no gradebook at" in result.output and "Traceback" not in result.output
    result = run(*command, code=1)  # the default gradebook, absent from this folder
    assert "no gradebook at" in result.output and "gradebook.db" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no new gradebook, no page, no CSV


@pytest.mark.parametrize("command", [["export", A, "--format", "csv"], ["feedback", A, "-o", "fb"]])
def test_readers_refuse_an_empty_or_foreign_gradebook(tmp_path, command, graded, monkeypatch):
    from autograder.gradebook import Gradebook

    monkeypatch.chdir(tmp_path)
    Gradebook(str(tmp_path / "empty.db")).close()  # tables, no submission
    result = run(*command, "--db", tmp_path / "empty.db", code=1)
    assert "holds no submission of rnn_step_by_step" in result.output
    other = run(*([command[0], "rnn_layers"] + command[2:]), "--db", graded["db"], code=1)
    assert "holds no submission of rnn_layers" in other.output
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a database\n" * 100)
    result = run(*command, "--db", foreign, code=2)
    assert "cannot open the gradebook" in result.output and "Traceback" not in result.output
    with sqlite3.connect(tmp_path / "other.db") as con:
        con.execute("CREATE TABLE t (x)")
    result = run(*command, "--db", tmp_path / "other.db", code=1)
    assert "not an rnngrade gradebook" in result.output
    assert not (tmp_path / "fb").exists()


def test_an_empty_report_renders_without_error(tmp_path):
    """write_feedback itself (no submission): no plot, no Jinja error."""
    from autograder.gradebook import Gradebook
    from autograder.report import write_feedback

    with Gradebook(str(tmp_path / "empty.db")) as book:
        written = write_feedback(book, A, tmp_path / "fb")
    assert written == [tmp_path / "fb" / "index.html"]
    assert "No graded submission" in written[0].read_text()


# --------------------------------------------------------------------------- --student

def test_autograde_student_regrades_just_those(graded):
    before = submissions(graded["db"])
    out = run("autograde", A, graded["subs"], "--db", graded["db"], "--workers", "0",
              "--student", "bob", "--student", "carol").output
    assert "2 submission(s)" in out and "2 to grade" in out
    after = submissions(graded["db"])
    assert after["alice"] == before["alice"]  # untouched: same row, same time
    for student in ("bob", "carol"):  # regraded although unchanged: graded again, same scores
        assert after[student][2] != before[student][2] and after[student][1] == before[student][1]
    result = run("autograde", A, graded["subs"], "--db", graded["db"], "--student", "dave", code=2)
    assert "no submission of dave" in result.output
    assert submissions(graded["db"]) == after


# --------------------------------------------------------------------------- Gradescope autograder zip

@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    assert "wrote" in run("gradescope", A, "-o", out).output
    return out


def gradescope_root(tmp_path: Path, autograder_zip: Path, files: dict) -> Path:
    """A temporary root laid out as Gradescope's: the zip unpacked into source/,
    run_autograder copied beside it, the submission in submission/."""
    import stat
    import zipfile

    root = tmp_path / "autograder"
    with zipfile.ZipFile(autograder_zip) as zf:
        zf.extractall(root / "source")
        for info in zf.infolist():  # extractall drops the modes
            mode = info.external_attr >> 16
            if mode & stat.S_IXUSR:
                (root / "source" / info.filename).chmod(0o755)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    for name, data in files.items():
        path = root / "submission" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def run_autograder(root: Path):
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RNNGRADE_REFERENCE_ROOT")}
    env["RNNGRADE_GRADESCOPE_ROOT"] = str(root)
    return subprocess.run([str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_zip_has_gradescopes_layout(autograder_zip):
    import zipfile

    with zipfile.ZipFile(autograder_zip) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        run_script = zf.read("run_autograder").decode()
    assert {"setup.sh", "run_autograder", "requirements.txt"} <= names
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert "engine/autograder/grader.py" in names and "engine/autograder/report/templates/class.html.j2" in names
    assert f"engine/reference/{A}/solution.py" in names
    assert not any(n.startswith("engine/reference/rnn_layers/") for n in names)  # only this assignment's folder
    assert not any("__pycache__" in n for n in names)
    assert f"autograder.gradescope {A}" in run_script and "/autograder" in run_script


def test_the_zip_grades_the_example_class_like_rnngrade_grade(autograder_zip, tmp_path, graders):
    import json

    from autograder.results import to_gradescope

    for path in sorted(EXAMPLES.iterdir()):
        root = gradescope_root(tmp_path / path.stem, autograder_zip, {path.name: path.read_bytes()})
        done = run_autograder(root)
        assert done.returncode == 0, done.stderr[-3000:]
        got = json.loads((root / "results" / "results.json").read_text())
        want = to_gradescope(graders(A).grade_file(path))
        assert [(t["name"], t["score"], t["status"]) for t in got["tests"]] == \
            [(t["name"], t["score"], t["status"]) for t in want["tests"]], path.name
        assert got["score"] == want["score"] == TOTALS[path.stem]
        assert [t["output"] for t in got["tests"]] == [t["output"] for t in want["tests"]]


def test_in_the_zip_the_reference_stays_out_of_reach_and_the_engine_is_the_zips(autograder_zip, tmp_path):
    """A submission that would copy the reference from where the zip put it: the sandbox
    does not show that folder, so it earns nothing."""
    import json
    import os
    import subprocess

    root = tmp_path / "autograder"
    solution = root / "source" / "engine" / "reference" / A / "solution.py"
    cheat = (f"import numpy as np\nsrc = open({str(solution)!r}).read()\n"
             "exec(src.replace('from rnn_utils import *', 'from rnn_utils import *'))\n")
    root = gradescope_root(tmp_path, autograder_zip, {"cheat.py": cheat.encode()})
    assert solution.is_file()  # it is there, for the grader
    done = run_autograder(root)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads((root / "results" / "results.json").read_text())
    assert got["score"] == 0 and "No such file" in got["output"] + "".join(t["output"] for t in got["tests"])
    # run_autograder's PYTHONPATH puts the zip's engine and reference first
    where = subprocess.run(["python3", "-c", "import autograder, reference; print(autograder.__file__, "
                            "reference.__file__)"], env={**os.environ, "PYTHONPATH": str(root / "source" / "engine")},
                           cwd=root / "source", capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(w).is_relative_to(root / "source" / "engine") for w in where), where


def test_the_zip_explains_a_submission_without_a_notebook(autograder_zip, tmp_path):
    import json

    root = gradescope_root(tmp_path, autograder_zip, {"README.txt": b"forgot it"})
    done = run_autograder(root)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads((root / "results" / "results.json").read_text())
    assert got["score"] == 0 and "no .ipynb" in got["output"] and len(got["tests"]) == 8


# --------------------------------------------------------------------------- class report: root causes

SETUP_FAILED = ("Passed 0 of 4 hidden cases.\n- case batch 1: n_x=3, seed 101: while preparing its input "
                "(`_, _, cache = rnn_cell_forward(xt, a_prev, parameters)`): not implemented yet (raises "
                "NotImplementedError)\n        File \"<cell 5>\", line 16, in rnn_cell_forward")
CALLEE_FAILED = ("Passed 0 of 4 hidden cases.\n- case batch 1: n_x=3, seed 201: ValueError: bad shape\n"
                 "        File \"<cell 8>\", line 4, in rnn_forward\n"
                 "        File \"<cell 5>\", line 9, in rnn_cell_forward")


def test_a_failure_caused_by_a_dependency_is_not_a_reason_of_its_own():
    from autograder.report.feedback import root_cause

    assert root_cause(SETUP_FAILED, ["rnn_cell_forward"], {"rnn_cell_forward", "rnn_cell_backward"}) == \
        (None, "rnn_cell_forward")
    assert root_cause(CALLEE_FAILED, ["rnn_cell_forward"], {"rnn_cell_forward"}) == (None, "rnn_cell_forward")
    # the dependency passed for this student: the failure is the unit's own
    own, because = root_cause(SETUP_FAILED, ["rnn_cell_forward"], {"rnn_cell_backward"})
    assert because is None and own.startswith("while preparing its input")
    # it fails with the reference's units substituted too: that failure is its own reason
    also = SETUP_FAILED + ("\nWith the reference rnn_cell_forward substituted it fails too, e.g. case batch 1: "
                           "n_x=3, seed 101: `dxt` differs at index [0, 2] (expected 0.5, got 1)")
    assert root_cause(also, ["rnn_cell_forward"], {"rnn_cell_forward"}) == \
        ("`dxt` differs at index [#, #] (expected #, got #)", None)
    # a value mismatch inside the unit is its own, whatever else failed
    mismatch = "Passed 1 of 4 hidden cases.\n- case big, seed 104: `a` differs at index [1] (expected 1, got 2)"
    assert root_cause(mismatch, ["rnn_cell_forward"], {"rnn_cell_forward"})[1] is None


def test_dependencies_include_what_the_setup_runs():
    from autograder.report.feedback import dependencies

    units = get_assignment("time_layers").units
    by_name = {u.name: u for u in units}
    assert dependencies(by_name["TimeRNN.backward"], units) == ["TimeRNN.forward", "RNN.forward", "RNN.backward"]
    assert dependencies(by_name["LSTM.backward"], units) == ["LSTM.forward"]
    step = {u.name: u for u in get_assignment(A).units}
    assert dependencies(step["rnn_backward"], get_assignment(A).units) == ["rnn_forward", "rnn_cell_backward"]


def test_the_class_report_counts_knock_on_failures_under_their_cause(tmp_path):
    from autograder.batch import result_dict
    from autograder.gradebook import Gradebook
    from autograder.grader import GradingResult, UnitResult
    from autograder.report import write_feedback
    from autograder.report.feedback import class_statistics

    units = [UnitResult(u.name, u.points, u.points, "passed", "Passed all 4 hidden cases.")
             for u in get_assignment(A).units]
    units[0] = UnitResult("rnn_cell_forward", 0, 1, "failed", CALLEE_FAILED.replace("ValueError: bad shape",
                                                                                   "NameError: name 'tanh'"))
    units[2] = UnitResult("rnn_cell_backward", 0, 1, "failed", SETUP_FAILED)
    with Gradebook(str(tmp_path / "gb.db")) as book:
        for student in ("s1", "s2"):
            book.record(assignment=A, student=student, source="x.py", content_hash="0", fingerprint="f",
                        run_id=None, result=result_dict(GradingResult(A, "x.py", units=units)))
        stats = {s.name: s for s in class_statistics(A, book.submissions(A))}
        index = write_feedback(book, A, tmp_path / "fb")[0].read_text()
    assert stats["rnn_cell_backward"].reasons == {} and stats["rnn_cell_backward"].knock_on == {"rnn_cell_forward": 2}
    assert sum(stats["rnn_cell_forward"].reasons.values()) == 2
    chart = index.split('id="reasons-chart"')[1].split("</ol>")[0]
    assert 'data-unit="rnn_cell_forward"' in chart and 'data-unit="rnn_cell_backward"' not in chart
    assert 'data-because="rnn_cell_forward"' in index and "only because" in index
