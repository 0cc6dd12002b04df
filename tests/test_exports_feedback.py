"""Exports of the gradebook (csv, json, Gradescope) and the HTML feedback, rendered in a
real headless browser."""
import base64
import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.batch import autograde
from autograder.batch_cli import export, feedback
from autograder.gradebook import Gradebook, assignment_fingerprint
from conftest import mutate, reference_text

A = "rnn_step_by_step"
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "submissions"
UNITS = ["rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward",
         "lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward"]
TOTALS = {"alice": 1.8, "bob": 6.0, "carol": 7.0, "mallory": 1.0}
# What mallory prints from rnn_cell_forward, and what her rnn_forward raises: if either
# reached a page unescaped, the browser would add <p id="pwned"> to the document.
HOSTILE_PRINT = """<script>document.write('<p id="pwned">PWNED</p>')</script>"""
HOSTILE_ERROR = """<img src=x onerror="document.body.insertAdjacentHTML('beforeend','<p id=pwned>x</p>')">"""


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """A gradebook with the bundled examples, a hostile student and a grader error (graded
    in this process: the exports read the gradebook, whichever executor filled it)."""
    tmp = tmp_path_factory.mktemp("gradebook")
    subs = tmp / "subs"
    shutil.copytree(EXAMPLES, subs)
    only_cell_forward = reference_text(A).split("def rnn_forward")[0]  # 1 point, and cheap to grade
    hostile = mutate(only_cell_forward, "    a_next = np.tanh(Waa @ a_prev + Wax @ xt + ba)\n",
                     f"    print({HOSTILE_PRINT!r})\n    a_next = np.tanh(Waa @ a_prev + Wax @ xt + ba)\n")
    # (a top-level `raise` would not run: it cannot change a grade; a graded function's does)
    (subs / "mallory.py").write_text(hostile + f"\ndef rnn_forward(x, a0, parameters):\n    raise ValueError({HOSTILE_ERROR!r})\n")
    url = f"sqlite:///{tmp / 'gb.db'}"
    summary = autograde(A, subs, url, workers=0, progress="none")
    assert summary.graded == 4 and not summary.failures
    with Gradebook(url) as gb:  # a submission the grader failed on
        gb.record(assignment=A, student="eve", source="eve.py", content_hash="0" * 64,
                  fingerprint=assignment_fingerprint(A), run_id=None, error="Traceback ...\nMemoryError: boom",
                  units_on_error=[(u, 1.0) for u in UNITS])
    return {"url": url, "tmp": tmp}


def test_cli_default_db_is_the_gradebook_default():
    """batch_cli repeats the default URL to keep SQLAlchemy out of the CLI's start-up."""
    from autograder import batch_cli, gradebook

    assert batch_cli.DEFAULT_DB == gradebook.DEFAULT_DB


def invoke(command, *args):
    result = CliRunner().invoke(command, [*args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


# --------------------------------------------------------------------------- exports

def test_csv_export(book, tmp_path):
    from autograder.exports import SHEET_COLUMNS

    out = tmp_path / "grades.csv"
    invoke(export, A, "--db", book["url"], "--format", "csv", "-o", str(out))
    table = list(csv.reader(io.StringIO(out.read_text())))
    assert table[0] == ["student", *UNITS, *SHEET_COLUMNS]
    body = {row[0]: dict(zip(table[0][1:], row[1:])) for row in table[1:]}
    assert list(body) == ["alice", "bob", "carol", "eve", "mallory"]
    assert [body["bob"][u] for u in UNITS] == ["1", "1", "1", "1", "1", "1", "0", "0"]
    assert [body["carol"][u] for u in UNITS] == ["1", "1", "1", "1", "0", "1", "1", "1"]
    # a grader failure has no score, penalty or final score (not zeros) and says so
    assert body["eve"]["final_score"] == "" and body["eve"]["status"] == "error"
    assert [body["eve"][c] for c in [*UNITS, "raw_score", "overrides", "late_penalty"]] == [""] * (len(UNITS) + 3)
    assert {s: float(r["final_score"]) for s, r in body.items() if s != "eve"} == TOTALS
    for student, row in body.items():
        if student == "eve":
            continue
        assert row["max_points"] == "8" and row["late_penalty"] == "0" and row["overrides"] == "0"
        assert float(row["raw_score"]) == sum(map(float, (row[u] for u in UNITS)))
        if student != "eve":  # no timestamp.txt in a flat folder: the file's time, said so
            assert row["submitted_at"].endswith(" UTC") and row["submitted_at_source"] == "file mtime"
    # into a folder that does not exist yet (a FileNotFoundError traceback before)
    nested = tmp_path / "new" / "folder" / "grades.csv"
    invoke(export, A, "--db", book["url"], "--format", "csv", "-o", str(nested))
    assert nested.read_text() == out.read_text()
    # without -o, or with -o -: standard output (no file named "-")
    assert invoke(export, A, "--db", book["url"], "--format", "csv").output == out.read_text()
    with CliRunner().isolated_filesystem(temp_dir=tmp_path):
        assert invoke(export, A, "--db", book["url"], "--format", "csv", "-o", "-").output == out.read_text()
        assert not Path("-").exists()


def test_json_export_holds_everything(book, tmp_path):
    out = tmp_path / "all.json"
    invoke(export, A, "--db", book["url"], "--format", "json", "-o", str(out))
    data = json.loads(out.read_text())
    assert data["assignment"] == A and data["units"] == UNITS
    subs = {s["student"]: s for s in data["submissions"]}
    assert set(subs) == set(TOTALS) | {"eve"}
    carol = subs["carol"]
    assert carol["score"] == 7.0 and carol["max_score"] == 8.0 and carol["status"] == "graded"
    assert len(carol["content_hash"]) == 64 and carol["fingerprint"] == data["current_fingerprint"]
    assert carol["grader_version"] and carol["graded_at"] and carol["wall_time"] > 0
    assert [u["name"] for u in carol["units"]] == UNITS
    unit = carol["units"][4]
    assert set(unit) >= {"score", "max_score", "status", "mode", "explanation", "cases_passed", "cases_total",
                         "cpu", "wall"}
    assert unit["status"] == "failed" and "Passed 0 of" in unit["explanation"]
    assert carol["units"][5]["mode"] == "reference"
    assert subs["eve"]["status"] == "error" and "MemoryError" in subs["eve"]["error"]
    assert len(data["runs"]) == 1 and data["runs"][0]["graded"] == 4 and data["runs"][0]["finished_at"]


def test_gradescope_export_matches_the_format(book, tmp_path, graders):
    from autograder.results import to_gradescope

    out = tmp_path / "gs"
    invoke(export, A, "--db", book["url"], "--format", "gradescope", "-o", str(out))
    files = sorted(out.glob("*/results.json"))
    # none for a submission the grader failed on: a results.json carries a score
    assert [f.parent.name for f in files] == ["alice", "bob", "carol", "mallory"]
    for f in files:
        data = json.loads(f.read_text())
        assert set(data) == {"score", "execution_time", "output", "tests", "output_format", "test_output_format",
                             "test_name_format"}
        assert {data[k] for k in ("output_format", "test_output_format", "test_name_format")} == {"text"}
        assert isinstance(data["score"], (int, float)) and isinstance(data["execution_time"], (int, float))
        assert isinstance(data["output"], str)
        assert [t["name"] for t in data["tests"]] == UNITS
        for t in data["tests"]:
            assert set(t) == {"name", "score", "max_score", "status", "output"}
            assert t["status"] in ("passed", "failed") and isinstance(t["output"], str)
            assert (t["status"] == "passed") == (t["score"] >= t["max_score"])
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    # the same as grading the file directly (all but the timing)
    direct = to_gradescope(graders(A).grade_file(EXAMPLES / "bob.ipynb"))
    exported = json.loads((out / "bob" / "results.json").read_text())
    assert {k: v for k, v in exported.items() if k != "execution_time"} == \
        {k: v for k, v in direct.items() if k != "execution_time"}


# --------------------------------------------------------------------------- feedback

def test_failure_reasons_group_by_first_line_without_numbers():
    # imported here: autograder.report brings matplotlib (~0.4 s of CPU), which a parallel
    # worker that only collects this file does not need
    from autograder.report import failure_reason

    a = ("Passed 1 of 4 hidden cases.\n- case batch 1: n_x=3, m=1, seed 101: `a_next` differs at index [0, 2] "
         "(expected -0.89, got 1.5e-03); 5 of 5 values differ\n- case ...")
    b = ("Passed 0 of 4 hidden cases.\n- case larger: n_x=9, m=20, seed 104: `a_next` differs at index [3, 1] "
         "(expected 0.2, got 7); 180 of 180 values differ")
    assert failure_reason(a) == failure_reason(b) == \
        "`a_next` differs at index [#, #] (expected #, got #); # of # values differ"
    assert failure_reason("lstm_backward is not defined in the submission.") == \
        "lstm_backward is not defined in the submission."
    assert failure_reason("Passed 2 of 4 hidden cases (best with dWax2 ...)") == \
        "Passed # of # hidden cases (best with dWax2 ...)"


@pytest.fixture(scope="module")
def pages(book):
    out = book["tmp"] / "feedback"
    result = invoke(feedback, A, "--db", book["url"], "-o", str(out))
    assert "5 student page(s)" in result.output
    return out


def test_feedback_pages_are_complete_and_escaped(pages):
    index = (pages / "index.html").read_text()
    for student in ["alice", "bob", "carol", "eve", "mallory"]:
        page = (pages / "students" / f"{student}.html").read_text()
        assert f'href="students/{student}.html"' in index
        for unit in UNITS:
            assert f'data-unit="{unit}"' in page
        assert "<script" not in page and 'src="http' not in page and "<link" not in page
    mallory = (pages / "students" / "mallory.html").read_text()
    assert "&lt;script&gt;document.write(" in mallory           # her printed output, escaped
    assert "&lt;img src=x onerror=" in mallory                  # her error message, escaped
    assert "Total: 1 / 8" in mallory
    # a grader failure: no score, and the grader's own error is the instructor's, not the student's
    eve = (pages / "students" / "eve.html").read_text()
    assert "could not be graded: the grader failed" in eve and "MemoryError" not in eve
    assert "Total: not graded / 8" in eve and "graded score" not in eve
    # the class report: two embedded PNG plots and the failure reasons grouped by root cause
    for plot in ("plot-histogram", "plot-pass-rates"):
        start = index.index(f'id="{plot}"')
        src = index[start:].split('src="data:image/png;base64,', 1)[1].split('"', 1)[0]
        assert base64.b64decode(src).startswith(b"\x89PNG\r\n\x1a\n")
    assert "lstm_backward is not defined in the submission." in index
    assert 'id="reasons-chart"' in index and '<li data-unit="lstm_backward">' in index
    assert "<script" not in index


def dump_dom(browser, page: Path) -> str:
    """The document as the browser made it, its scripts run, once the page has loaded."""
    tab = browser.new_page()
    try:
        tab.goto(page.resolve().as_uri())
        tab.wait_for_load_state("load")
        return tab.content()
    finally:
        tab.close()


def test_feedback_renders_in_headless_chromium(pages, browser, tmp_path):
    # control: this browser does run a page's script, so the absence below means something
    control = tmp_path / "control.html"
    control.write_text(f"<!DOCTYPE html><html><body>{HOSTILE_PRINT}</body></html>")
    assert '<p id="pwned">PWNED</p>' in dump_dom(browser, control)

    dom = dump_dom(browser, pages / "students" / "mallory.html")
    assert "Feedback for mallory" in dom and "Total: 1 / 8" in dom
    for unit in UNITS:
        assert f'data-unit="{unit}"' in dom
    assert '<p id="pwned">' not in dom  # no injected element: neither script nor handler ran
    assert "<script" not in dom and "&lt;script&gt;document.write(" in dom
    assert "<img" not in dom and "&lt;img src=x onerror=" in dom

    dom = dump_dom(browser, pages / "index.html")
    assert "Class report" in dom
    for plot in ("plot-histogram", "plot-pass-rates", "reasons-chart"):
        assert f'id="{plot}"' in dom
    for student in ["alice", "bob", "carol", "eve", "mallory"]:
        assert f'data-student="{student}"' in dom


def test_no_cell_of_a_grade_sheet_is_a_formula(tmp_path):
    """Students (file names) and roster fields starting with = + - @ were written as they
    were: a spreadsheet opening the sheet would run `=HYPERLINK(...)`. Numbers stay numbers."""
    from autograder.exports import to_canvas_csv, to_csv
    from autograder.gradebook import Gradebook

    url = f"sqlite:///{tmp_path / 'gb.db'}"
    names = ['=HYPERLINK("http://evil.example","x")', "+SUM(1,2)", "@cmd", "-rf", "\tTAB", "plain"]
    with Gradebook(url) as gb:
        for name in names:
            gb.record(assignment=A, student=name, source=f"{name}.py", content_hash="0" * 64, fingerprint="f",
                      run_id=None, result={"units": [{"name": u, "score": 1.0, "max_score": 1.0, "status": "passed"}
                                                     for u in UNITS]})
        gb.set_override(assignment=A, student="plain", unit=UNITS[0], score=0.0, reason="a negative change", author="ta")
        subs, overrides = gb.submissions(A), gb.overrides(A)
    roster = {"plain": {"student": "plain", "name": "=1+1", "email": "-x@example.org"}}
    sheet = to_csv(A, subs, overrides, roster)
    for text in (sheet, to_canvas_csv(A, subs, overrides, roster)):
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")], text
        assert not [c for c in cells if c.startswith("-") and not c.lstrip("-").replace(".", "").isdigit()], text
        assert "'@cmd" in cells and "'-rf" in cells, text
    sheet_cells = [cell for row in csv.reader(io.StringIO(sheet)) for cell in row]
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in sheet_cells and "'-x@example.org" in sheet_cells, sheet
    assert ",-1," in sheet, sheet  # the override's net change, a number


def test_an_override_above_a_units_lowered_points_counts_as_its_points():
    """An override of 1 stayed 1 after the unit's points were lowered to 0.5: "1 / 0.50" on
    the page and the sheet, more than the unit is worth."""
    from types import SimpleNamespace

    from autograder.grades import UnitGrade

    unit = UnitGrade("rnn_cell_forward", 0.0, 0.5, SimpleNamespace(score=1.0))
    assert unit.score == 0.5 and unit.override_above_points
    assert UnitGrade("rnn_cell_forward", 0.0, 1.0, SimpleNamespace(score=1.0)).override_above_points is False


def test_a_hand_in_late_by_seconds_is_not_shown_on_time():
    """One second late (and penalised) read `late_hours` 0.00 on the sheet."""
    from autograder.exports import _hours

    assert _hours(0) == "0.00" and _hours(None) == "0.00" and _hours(3600 * 35.02) == "35.02"
    assert float(_hours(1)) > 0 and float(_hours(17)) > 0


def test_an_override_on_a_failed_grading_shows_what_counts(book, tmp_path):
    """An override of 5 on a 1-point unit of a submission the grader failed on: the page
    said "5 / 1*" (the sheet 1) and "(the grader gave 0)" of a grading that never was."""
    import shutil as _shutil

    url = f"sqlite:///{tmp_path / 'copy.db'}"
    _shutil.copy(book["url"].removeprefix("sqlite:///"), tmp_path / "copy.db")
    with Gradebook(url) as gb:
        gb.set_override(assignment=A, student="eve", unit=UNITS[0], score=5.0, reason="checked by hand", author="ta")
    invoke(feedback, A, "--db", url, "-o", str(tmp_path / "fb"))
    page = (tmp_path / "fb" / "students" / "eve.html").read_text()
    assert "1 / 1*" in page and "5 / 1" not in page and "grader gave" not in page, page
