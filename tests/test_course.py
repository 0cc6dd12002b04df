"""The course workflow around the grader (issue 14): a gradebook given as a plain path,
readers that refuse a missing or empty gradebook, regrading chosen students."""
import os
import shutil
import sqlite3
import sys
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
    """The bundled example class graded into a gradebook named by a plain path (in this
    process, `--workers 0`: these tests are about the gradebook, not the worker pool, and
    a spawned worker costs ~0.7 s of CPU)."""
    tmp = tmp_path_factory.mktemp("course")
    subs = tmp / "subs"
    shutil.copytree(EXAMPLES, subs)
    db = tmp / "class.db"
    out = run("autograde", A, subs, "--db", db, "--workers", "0").output
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

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RNNGRADE_COURSE")}
    env["RNNGRADE_GRADESCOPE_ROOT"] = str(root)
    return subprocess.run([str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_zip_has_gradescopes_layout(autograder_zip):
    import zipfile

    with zipfile.ZipFile(autograder_zip) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        run_script = zf.read("run_autograder").decode()
        needs = zf.read("requirements.txt").decode()
    assert {"setup.sh", "run_autograder", "requirements.txt"} <= names
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert "engine/autograder/grader.py" in names and "engine/autograder/report/templates/class.html.j2" in names
    assert {f"course/reference/{A}/solution.py", f"course/reference/{A}/assignment.py"} <= names
    assert not any(n.startswith("course/reference/rnn_layers/") for n in names)  # only this assignment's folder
    assert not any(n.startswith("engine/") and "solution" in n for n in names)  # the engine holds no solution
    assert not any("__pycache__" in n for n in names)
    assert f"autograder.gradescope {A}" in run_script and "/autograder" in run_script
    for package in ("numpy", "nbformat", "msgpack", "pydantic", "alembic"):  # what the engine imports
        assert package in needs
    import subprocess
    import zipfile as z

    with z.ZipFile(autograder_zip) as zf:
        for script in ("setup.sh", "run_autograder"):
            checked = subprocess.run(["bash", "-n"], input=zf.read(script).decode(), capture_output=True, text=True)
            assert checked.returncode == 0, (script, checked.stderr)


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
    solution = root / "source" / "course" / "reference" / A / "solution.py"
    cheat = (f"import numpy as np\nsrc = open({str(solution)!r}).read()\n"
             "exec(src.replace('from rnn_utils import *', 'from rnn_utils import *'))\n")
    root = gradescope_root(tmp_path, autograder_zip, {"cheat.py": cheat.encode()})
    assert solution.is_file()  # it is there, for the grader
    done = run_autograder(root)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads((root / "results" / "results.json").read_text())
    assert got["score"] == 0 and "No such file" in got["output"] + "".join(t["output"] for t in got["tests"])
    # run_autograder's PYTHONPATH and course are the zip's
    where = subprocess.run(["python3", "-c", "import autograder; from autograder.reference import reference_dir; "
                            f"print(autograder.__file__, reference_dir({A!r}))"],
                           env={**os.environ, "PYTHONPATH": str(root / "source" / "engine"),
                                "RNNGRADE_COURSE": str(root / "source" / "course")},
                           cwd=root / "source", capture_output=True, text=True, check=True).stdout.split()
    assert Path(where[0]).is_relative_to(root / "source" / "engine"), where
    assert Path(where[1]) == root / "source" / "course" / "reference" / A, where


def test_a_gradescope_run_loads_no_gradebook():
    """A Gradescope run grades one submission (gradescope.grade_submission_folder, through
    batch._grade_files): the gradebook and SQLAlchemy (0.3 s of CPU to import, in every
    student's run) stay unloaded."""
    import subprocess
    import sys

    probe = ("import sys; import autograder.gradescope; from autograder.batch import _grade_files; "
             "from autograder.grader import Grader; print(sorted(m for m in ('sqlalchemy', 'alembic', "
             "'autograder.gradebook') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


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
    also = SETUP_FAILED + ("\nWith the reference rnn_cell_forward substituted, it fails too, e.g. case batch 1: "
                           "n_x=3, seed 101: `dxt` differs at index [0, 2] (expected 0.5, got 1)")
    assert root_cause(also, ["rnn_cell_forward"], {"rnn_cell_forward"}) == \
        ("`dxt` differs at index [#, #] (expected #, got #)", None)
    same = SETUP_FAILED + "\nIt fails with the same kind of failure with the reference rnn_cell_forward substituted."
    assert root_cause(same, ["rnn_cell_forward"], {"rnn_cell_forward"})[1] is None
    # a value mismatch inside the unit is its own, whatever else failed
    mismatch = "Passed 1 of 4 hidden cases.\n- case big, seed 104: `a` differs at index [1] (expected 1, got 2)"
    assert root_cause(mismatch, ["rnn_cell_forward"], {"rnn_cell_forward"})[1] is None


def test_dependencies_include_what_the_setup_runs():
    from autograder.report.feedback import dependencies

    layers = get_assignment("time_layers")
    by_name = {u.name: u for u in layers.units}
    assert dependencies(layers, by_name["TimeRNN.backward"]) == ["TimeRNN.forward", "RNN.forward", "RNN.backward"]
    assert dependencies(layers, by_name["LSTM.backward"]) == ["LSTM.forward"]
    step = get_assignment(A)
    assert dependencies(step, step.unit("rnn_backward")) == ["rnn_forward", "rnn_cell_backward"]


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


# --------------------------------------------------------------------------- deadlines

def settings(**deadlines):
    from autograder.assignments import assignment_ids
    from autograder.deadlines import DeadlineSettings

    return DeadlineSettings.from_dict(deadlines, assignment_ids())


def test_late_policies():
    hour, day = 3600, 86400
    per_day = settings(policy="per_day", percent=10, cutoff_hours=72, due={A: "2026-03-01 23:59"})
    assert [per_day.penalty(s) for s in (0, -5, 1, day, day + 1, 3 * day)] == [0, 0, 0.1, 0.1, 0.2, 0.3]
    assert per_day.penalty(3 * day + 1) == 1.0  # past the cutoff: zero
    per_hour = settings(policy="per_hour", percent=5)
    assert [per_hour.penalty(s) for s in (1, hour, 2.5 * hour, 30 * hour)] == [0.05, 0.05, 0.15, 1.0]
    zero = settings(policy="zero_after")
    assert zero.penalty(1) == 1.0 and zero.penalty(0) == 0.0
    grace = settings(policy="zero_after", cutoff_hours=2)
    assert grace.penalty(hour) == 0.0 and grace.penalty(3 * hour) == 1.0
    assert settings(policy="none").penalty(100 * day) == 0.0
    assert "10% of the score per started day late, zero after 72 h late" == per_day.rule()


def test_due_dates_extensions_and_time_zones():
    from datetime import datetime

    s = settings(timezone="Europe/Paris", due={A: "2026-03-01 23:59", "rnn_layers": "2026-03-08T12:00:00+00:00"},
                 extensions={A: {"alice": "2026-03-04 23:59"}})
    assert s.due_for(A, "bob") == datetime(2026, 3, 1, 22, 59)          # Paris is UTC+1 in March
    assert s.due_for(A, "alice") == datetime(2026, 3, 4, 22, 59)        # her extension
    assert s.due_for("rnn_layers", "alice") == datetime(2026, 3, 8, 12, 0)
    assert s.due_for("char_lm", "bob") is None


@pytest.mark.parametrize("deadlines, words", [
    ({"policy": "weekly"}, "deadlines.policy"),
    ({"policy": "per_day"}, "needs a percent"),
    ({"percent": 150}, "deadlines.percent"),
    ({"cutoff_hours": -1}, "deadlines.cutoff_hours"),
    ({"due": {"rnn_step_by_stp": "2026-03-01"}}, "unknown assignment 'rnn_step_by_stp'"),
    ({"due": {A: "first of March"}}, "deadlines.due.rnn_step_by_step"),
    ({"extensions": {A: {"alice": 3}}}, "deadlines.extensions.rnn_step_by_step.alice"),
    ({"timezone": "Mars/Olympus"}, "deadlines.timezone"),
    ({"polcy": "none"}, "unknown key(s) polcy"),
])
def test_settings_are_validated(deadlines, words):
    from autograder.deadlines import SettingsError

    with pytest.raises(SettingsError, match=None) as info:
        settings(**deadlines)
    assert words in str(info.value)


def test_submission_time_from_nbgraders_timestamp_or_the_files_time(tmp_path):
    import os
    from datetime import datetime

    from autograder.deadlines import submission_time

    folder = tmp_path / "alice" / A
    folder.mkdir(parents=True)
    nb = folder / "student.ipynb"
    nb.write_text("{}")
    os.utime(nb, (1772400000, 1772400000))
    assert submission_time([nb]) == (datetime(2026, 3, 1, 21, 20), "file mtime")
    (folder / "timestamp.txt").write_text("2026-03-03 10:00:00.000000 UTC\n")
    assert submission_time([nb]) == (datetime(2026, 3, 3, 10, 0), "timestamp.txt")
    (folder / "timestamp.txt").write_text("garbage")  # there, but not a time: said so
    assert submission_time([nb])[1] == "file mtime (bad timestamp.txt)"
    # a megabyte of digits (dateutil took 43 s over it, in the coordinator, at every run) and
    # a zone that is a path (dateutil would open that file) are not times either
    import time as clock

    (folder / "timestamp.txt").write_text("2026-12-01 " + "1" * (1 << 20))
    started = clock.process_time()
    assert submission_time([nb])[1] == "file mtime (bad timestamp.txt)" and clock.process_time() - started < 0.5
    for zone in ("/etc/passwd", "../../etc/passwd", "UTC/../../x"):
        (folder / "timestamp.txt").write_text(f"2026-03-03 10:00:00.000000 {zone}\n")
        assert submission_time([nb])[1] == "file mtime (bad timestamp.txt)", zone
    (folder / "timestamp.txt").write_text("2026-03-03 10:00:00.000000 Europe/Paris\n")
    assert submission_time([nb]) == (datetime(2026, 3, 3, 9, 0), "timestamp.txt")


@pytest.fixture(scope="module")
def late_class(tmp_path_factory):
    """nbgrader's layout with timestamps: alice two days late, bob on time, carol late
    but with an extension; 10% per started day. Graded in this process (`--workers 0`):
    lateness is computed and recorded by the coordinator, not by a worker."""
    tmp = tmp_path_factory.mktemp("late")
    stamps = {"alice": "2026-03-03 10:00:00.000000 UTC", "bob": "2026-03-01 20:00:00.000000 UTC",
              "carol": "2026-03-02 09:00:00.000000 UTC"}
    for student, src in {"alice": "alice.ipynb", "bob": "bob.ipynb", "carol": "carol.py"}.items():
        folder = tmp / "submitted" / student / A
        folder.mkdir(parents=True)
        shutil.copy(EXAMPLES / src, folder / src)
        (folder / "timestamp.txt").write_text(stamps[student])
    toml = tmp / "rnngrade.toml"
    toml.write_text(f'[deadlines]\npolicy = "per_day"\npercent = 10\n\n[deadlines.due]\n{A} = "2026-03-01 23:59"\n\n'
                    f'[deadlines.extensions.{A}]\ncarol = "2026-03-02 23:59"\n')
    db = tmp / "late.db"
    run("autograde", A, tmp / "submitted", "--db", db, "--settings", toml, "--workers", "0")
    return {"tmp": tmp, "db": db, "toml": toml}


def sheet(db, *extra) -> dict:
    import csv
    import io

    text = run("export", A, "--db", db, "--format", "csv", *extra).output
    rows = list(csv.DictReader(io.StringIO(text)))
    return {r["student"]: r for r in rows}


def test_late_penalties_are_stored_beside_the_raw_score_and_exported(late_class):
    rows = sheet(late_class["db"])
    alice, bob, carol = rows["alice"], rows["bob"], rows["carol"]
    assert alice["submitted_at"] == "2026-03-03 10:00:00 UTC" and alice["submitted_at_source"] == "timestamp.txt"
    assert alice["late_hours"] == "34.02" and alice["raw_score"] == "1.8"
    assert float(alice["late_penalty"]) == pytest.approx(0.36) and float(alice["final_score"]) == pytest.approx(1.44)
    assert (bob["late_penalty"], bob["final_score"], bob["late_hours"]) == ("0", "6", "0.00")
    assert (carol["late_penalty"], carol["final_score"]) == ("0", "7")  # late, but within her extension
    with sqlite3.connect(late_class["db"]) as con:
        raw = dict(con.execute("SELECT student, score FROM submissions"))
        fraction = dict(con.execute("SELECT student, late_fraction FROM submissions"))
    assert raw == TOTALS and fraction == {"alice": pytest.approx(0.2), "bob": 0.0, "carol": 0.0}


def test_the_feedback_page_shows_the_late_penalty(late_class):
    out = late_class["tmp"] / "fb"
    run("feedback", A, "--db", late_class["db"], "-o", out)
    alice = (out / "students" / "alice.html").read_text()
    assert 'id="late-penalty"' in alice and "20%: 10% of the score per started day late" in alice
    assert "Total: 1.44 / 8" in alice and "(nbgrader's timestamp)" in alice and "34.0 h late" in alice
    bob = (out / "students" / "bob.html").read_text()
    assert 'id="late-penalty"' not in bob and "on time" in bob and "Total: 6 / 8" in bob


def test_an_extension_granted_later_applies_without_regrading(late_class, tmp_path):
    toml = tmp_path / "rnngrade.toml"
    toml.write_text(late_class["toml"].read_text() + 'alice = "2026-03-05 12:00"\n')
    db = tmp_path / "late.db"
    shutil.copy(late_class["db"], db)
    out = run("autograde", A, late_class["tmp"] / "submitted", "--db", db, "--settings", toml).output
    assert "0 to grade" in out
    assert sheet(db)["alice"]["late_penalty"] == "0" and sheet(db)["alice"]["final_score"] == "1.8"
    bad = tmp_path / "bad.toml"
    bad.write_text('[deadlines]\npolicy = "weekly"\n')
    result = run("autograde", A, late_class["tmp"] / "submitted", "--db", db, "--settings", bad, code=2)
    assert "deadlines.policy" in result.output


# --------------------------------------------------------------------------- overrides

def test_override_is_kept_across_regrades_shown_and_removable(graded, tmp_path):
    db = tmp_path / "gb.db"
    shutil.copy(graded["db"], db)
    out = run("override", A, "bob", "lstm_backward", "0.5", "--reason", "right idea, wrong axis", "--by", "ta-kim",
              "--db", db).output
    assert "0.5 / 1 by ta-kim" in out
    bob = sheet(db)["bob"]
    assert (bob["lstm_backward"], bob["raw_score"], bob["overrides"], bob["final_score"]) == ("0.5", "6", "0.5", "6.5")
    # a regrade of bob replaces the grader's scores, not the override
    run("autograde", A, graded["subs"], "--db", db, "--student", "bob", "--workers", "0")
    assert sheet(db)["bob"]["final_score"] == "6.5"
    # visible, with who and when, in JSON and feedback
    import json

    data = json.loads(run("export", A, "--db", db, "--format", "json").output)
    [entry] = [s for s in data["submissions"] if s["student"] == "bob"]
    assert entry["overrides"][0]["by"] == "ta-kim" and entry["overrides"][0]["reason"] == "right idea, wrong axis"
    assert entry["overrides"][0]["at"] and entry["final_score"] == 6.5 and entry["score"] == 6.0
    run("feedback", A, "--db", db, "-o", tmp_path / "fb")
    page = (tmp_path / "fb" / "students" / "bob.html").read_text()
    assert 'data-override="lstm_backward"' in page and "by ta-kim" in page and "right idea, wrong axis" in page
    assert "the grader gave 0" in page and "Total: 6.50 / 8" in page
    assert "6.50&nbsp;/&nbsp;8" in (tmp_path / "fb" / "index.html").read_text()
    # replaced, then removed
    run("override", A, "bob", "lstm_backward", "1", "--reason", "regraded by hand", "--db", db)
    assert sheet(db)["bob"]["final_score"] == "7"
    assert "removed" in run("override", A, "bob", "lstm_backward", "--remove", "--db", db).output
    assert sheet(db)["bob"]["final_score"] == "6" and sheet(db)["bob"]["overrides"] == "0"
    assert "has no override" in run("override", A, "bob", "lstm_backward", "--remove", "--db", db, code=1).output


@pytest.mark.parametrize("args, code, words", [
    (["bob", "lstm_bakward", "1", "--reason", "x"], 2, "has no unit 'lstm_bakward'"),
    (["bob", "lstm_backward", "2", "--reason", "x"], 2, "between 0 and 1"),
    (["bob", "lstm_backward", "1"], 2, "--reason is required"),
    (["bob", "lstm_backward"], 2, "SCORE is required"),
    (["dave", "lstm_backward", "1", "--reason", "x"], 1, "no submission of dave"),
])
def test_override_refuses_what_cannot_be_right(graded, args, code, words):
    assert words in run("override", A, *args, "--db", graded["db"], code=code).output


# --------------------------------------------------------------------------- Canvas

def test_canvas_import_csv(graded, tmp_path):
    import csv
    import io

    text = run("export", A, "--db", graded["db"], "--format", "canvas", "--canvas-column", "RNN step (4242)").output
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "RNN step (4242)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "8"]
    assert rows[2:] == [["alice", "", "", "alice", "", "1.8"], ["bob", "", "", "bob", "", "6"],
                        ["carol", "", "", "carol", "", "7"]]
    roster = tmp_path / "roster.csv"
    roster.write_text("Student,Name,Email,ID,SIS User ID,Section\nbob,Bob Ross,bob@uni.example,101,S-2,A1\n")
    rows = list(csv.reader(io.StringIO(run("export", A, "--db", graded["db"], "--format", "canvas",
                                           "--roster", roster).output)))
    assert rows[0][-1] == A and ["Bob Ross", "101", "S-2", "bob@uni.example", "A1", "6"] in rows
    emails = sheet(graded["db"], "--roster", roster)
    assert emails["bob"]["email"] == "bob@uni.example" and emails["alice"]["email"] == ""
    (tmp_path / "bad.csv").write_text("name,email\nx,y\n")
    assert "no `student` column" in run("export", A, "--db", graded["db"], "--format", "canvas", "--roster",
                                        tmp_path / "bad.csv", code=2).output


def test_the_zip_writes_no_results_when_the_grader_fails(autograder_zip, tmp_path):
    """A grader failure (here: the reference missing from the image) is no zero: no
    results.json and a non-zero exit, which Gradescope shows as an autograder failure."""
    root = gradescope_root(tmp_path, autograder_zip, {"bob.ipynb": (EXAMPLES / "bob.ipynb").read_bytes()})
    (root / "source" / "course" / "reference" / A / "solution.py").unlink()
    done = run_autograder(root)
    assert done.returncode != 0 and "solution.py" in done.stderr
    assert not (root / "results" / "results.json").exists()


# --------------------------------------------------------------------------- shell completion

def test_shell_completion_as_documented():
    import os
    import subprocess
    import sys

    def complete(**env):
        return subprocess.run([sys.executable, "-c", "from autograder.cli import main; main(prog_name='rnngrade')"],
                              env={**os.environ, **env}, capture_output=True, text=True, timeout=60).stdout

    assert "_rnngrade_completion" in complete(_RNNGRADE_COMPLETE="bash_source")
    assert "compdef" in complete(_RNNGRADE_COMPLETE="zsh_source")
    words = complete(_RNNGRADE_COMPLETE="bash_complete", COMP_WORDS="rnngrade ov", COMP_CWORD="1")
    assert "override" in words
    words = complete(_RNNGRADE_COMPLETE="bash_complete", COMP_WORDS="rnngrade export rnn_s", COMP_CWORD="2")
    assert "rnn_step_by_step" in words
    # the course given with --course (a sixth assignment there was missing)
    import tempfile

    with tempfile.TemporaryDirectory() as other:
        shutil.copytree(ROOT / "reference" / A, Path(other) / "reference" / "my_copy",
                        ignore=shutil.ignore_patterns("__pycache__"))
        words = complete(_RNNGRADE_COMPLETE="bash_complete", COMP_WORDS=f"rnngrade --course {other} grade my",
                         COMP_CWORD="4")
        assert "my_copy" in words, words
    readme = (ROOT / "docs" / "COURSE.md").read_text()
    assert 'eval "$(_RNNGRADE_COMPLETE=bash_source rnngrade)"' in readme


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="a container's root is made from root with setpriv (as CI runs)")
def test_the_zip_in_a_containers_root_keeps_the_reference_out_of_reach(autograder_zip, tmp_path):
    """Gradescope runs the autograder as root in a Docker container: Docker's capabilities
    and seccomp profile, no namespaces (tests/setups/container_root.py). There too the
    example scores as under `rnngrade grade` and a submission cannot read the reference."""
    import json
    import subprocess

    from setups.run import command

    def run_in_container(name: str, make_files) -> dict:
        root = tmp_path / name / "autograder"
        root = gradescope_root(tmp_path / name, autograder_zip, make_files(root))
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RNNGRADE_COURSE")}
        env["RNNGRADE_GRADESCOPE_ROOT"] = str(root)
        done = subprocess.run(command("container-root", [str(root / "run_autograder")], root), cwd=root, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads((root / "results" / "results.json").read_text())

    bob = run_in_container("bob", lambda root: {"bob.ipynb": (EXAMPLES / "bob.ipynb").read_bytes()})
    assert bob["score"] == TOTALS["bob"]
    cheat = "import numpy as np\nexec(open({!r}).read())\n"
    got = run_in_container("cheat", lambda root: {"cheat.py": cheat.format(
        str(root / "source" / "course" / "reference" / A / "solution.py")).encode()})
    said = got["output"] + "".join(t["output"] for t in got["tests"])
    assert got["score"] == 0 and ("No such file" in said or "Permission denied" in said), got


@pytest.mark.parametrize("stamp", ["2026-12-04 23:58:32.123456 UTC", "2026-12-04 23:58:32 Europe/Paris",
                                   "2026-12-04 10:00:00 3600", "2026-12-04 10:00:00 -3600",
                                   "2026-12-04T10:00:00+02:00", "2026-12-04 10:00:00"])
def test_timestamp_txt_is_read_as_nbgrader_reads_it(stamp):
    """The hand-in time is read without importing nbgrader (seconds of CPU per run): it must
    be the time nbgrader itself would record for the same timestamp.txt."""
    from nbgrader.utils import parse_utc

    from autograder.deadlines import _stamp_time

    assert _stamp_time(stamp) == parse_utc(stamp)


def test_gradescopes_folder_grades_the_released_notebook_never_a_link_and_bounded_code(tmp_path):
    """A link among the files (a submission from a repository keeps links) ended the run
    with an OSError and no results.json; a stale copy full of stubs sorting after the
    notebook redefined its functions; sixty notebooks of 200 KiB each took 2 GB."""
    from autograder.gradescope import grade_submission_folder, submission_files
    from autograder.reference import solution_source

    good = (EXAMPLES / "bob.ipynb").read_bytes()
    folder = tmp_path / "submission"
    (folder / "deep").mkdir(parents=True)
    (folder / "deep" / f"{A}.ipynb").write_bytes(good)
    (folder / "zz_old.ipynb").write_text('{"cells": [{"cell_type": "code", "metadata": {}, "source": '
                                         '"def rnn_cell_forward(xt, a_prev, parameters):\\n    raise NotImplementedError", '
                                         '"outputs": [], "execution_count": null}], "metadata": {}, "nbformat": 4, '
                                         '"nbformat_minor": 5}')
    (folder / "latest.ipynb").symlink_to(folder / "deep" / f"{A}.ipynb")
    files, notes = submission_files(folder, A)
    assert files == [folder / "deep" / f"{A}.ipynb"], files
    assert "Not graded (symbolic links): latest.ipynb." in notes and any("zz_old.ipynb" in n for n in notes), notes
    bob = grade_submission_folder(A, folder)
    assert bob["score"] == 6 and "symbolic links" in bob["output"], bob["output"]
    assert bob["output_format"] == bob["test_output_format"] == "text"

    # without the released name: every notebook, but no more code in all than in one file
    many = tmp_path / "many"
    many.mkdir()
    bulk = solution_source(A) + f"\nPADDING = '{'x' * 120_000}'\n"  # ~130 KiB of code each
    for name in ("a.py", "b.py", "c.py"):
        (many / name).write_text(bulk)
    out = grade_submission_folder(A, many)
    assert out["score"] == 8 and "Not graded: c.py (the files before them hold the most code" in out["output"], \
        out["output"]


def test_gradescope_without_the_released_name_grades_the_largest_notebook_last(tmp_path):
    """hw.ipynb (the work) and hw_old.ipynb (the release's stubs), neither named like the
    release: graded together in name order, the stubs redefined everything (0 points, and
    the output named neither file). The one with the most code comes last (not the best
    score of each alone: that let one submission try guesses), said so; a .py beside
    notebooks is said not graded."""
    from autograder.gradescope import grade_submission_folder

    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "hw.ipynb").write_bytes((EXAMPLES / "bob.ipynb").read_bytes())
    import nbformat

    stale = nbformat.read(ROOT / "release" / A / f"{A}.ipynb", as_version=4)  # stubs, and more code than the work
    stale.cells.append(nbformat.v4.new_code_cell('notes = """' + "scratch " * 3000 + '"""'))
    nbformat.write(stale, folder / "hw_old.ipynb")
    (folder / "scratch.py").write_text("x = 1\n")
    out = grade_submission_folder(A, folder)
    assert out["score"] == 6, out["output"]
    assert "the one implementing the most graded functions last" in out["output"] \
        and "hw_old.ipynb, hw.ipynb" in out["output"], \
        out["output"]
    assert "Not graded (the notebooks are): scratch.py." in out["output"]


def test_a_timestamp_that_is_not_a_time_is_said_to_the_instructor(tmp_path):
    """A timestamp.txt holding "garbage": the file's time stood for the hand-in time, 6682 h
    late and a final score of 0, with no word on the console, and the student's page said
    no timestamp was recorded."""
    from autograder.cli import main

    folder = tmp_path / "course" / "submitted" / "t3" / A
    folder.mkdir(parents=True)
    (folder / f"{A}.ipynb").write_bytes((EXAMPLES / "bob.ipynb").read_bytes())
    (folder / "timestamp.txt").write_text("garbage")
    out = CliRunner().invoke(main, ["autograde", A, str(tmp_path / "course"), "--db", f"sqlite:///{tmp_path}/g.db",
                                    "--workers", "1"])
    assert out.exit_code == 0, out.output
    assert "timestamp.txt file(s) are not a time" in out.output and "t3" in out.output, out.output


def test_an_extension_for_a_name_with_no_submission_is_said(tmp_path):
    """`bobb = ...` under [deadlines.extensions.<id>] was accepted in silence, and bob was
    still penalised."""
    from autograder.cli import main

    folder = tmp_path / "course" / "submitted" / "bob" / A
    folder.mkdir(parents=True)
    (folder / f"{A}.ipynb").write_bytes((EXAMPLES / "bob.ipynb").read_bytes())
    settings = tmp_path / "deadlines.toml"
    settings.write_text(f'[deadlines]\npolicy = "per_day"\npercent = 10\n[deadlines.due]\n{A} = "2026-03-01 23:59"\n'
                        f'[deadlines.extensions.{A}]\nbobb = "2026-03-04 23:59"\n')
    out = CliRunner().invoke(main, ["autograde", A, str(tmp_path / "course"), "--db", f"sqlite:///{tmp_path}/g.db",
                                    "--workers", "1", "--settings", str(settings)])
    assert out.exit_code == 0, out.output
    assert "extensions of rnn_step_by_step for students with no submission here" in out.output and "bobb" in out.output
