"""The course workflow around the grader (issue 14): a gradebook given as a plain path,
readers that refuse a missing or empty gradebook, regrading chosen students."""
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

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
    result = run(*command, "--db", foreign, code=1)
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
    for student in ("bob", "carol"):  # regraded although unchanged: new rows, same scores
        assert after[student][0] != before[student][0] and after[student][1] == before[student][1]
    result = run("autograde", A, graded["subs"], "--db", graded["db"], "--student", "dave", code=2)
    assert "no submission of dave" in result.output
    assert submissions(graded["db"]) == after
