"""Course-scale autograding: discovery, the gradebook, resume after SIGKILL, idempotence,
failure isolation, the local pool and a real Dask cluster."""
import hashlib
import io
import multiprocessing
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import batch, gradebook
from autograder.batch import DiscoveryError, autograde, discover
from autograder.gradebook import Gradebook, Recorded, assignment_fingerprint, needs_grading

A = "rnn_step_by_step"
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "submissions"
UNITS = ["rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward",
         "lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward"]
# Per unit, checked with `rnngrade grade` (alice = seed 001: 1.8/8 — its rnn_backward takes
# T from x, not from da, and fails the hidden case where da is shorter —, bob = seed 002: 6/8;
# carol = the reference with the output gate's bias left out of lstm_cell_forward: 7/8).
EXPECTED = {
    "alice": dict(zip(UNITS, [0, 1, 0, 0.8, 0, 0, 0, 0])),
    "bob": dict(zip(UNITS, [1, 1, 1, 1, 1, 1, 0, 0])),
    "carol": dict(zip(UNITS, [1, 1, 1, 1, 0, 1, 1, 1])),
}
TOTALS = {"alice": 1.8, "bob": 6.0, "carol": 7.0}


def db_url(path: Path) -> str:
    return f"sqlite:///{path}"


def rows(db: Path) -> dict:
    """student -> (id, graded_at, run_id, score, status, content_hash), read with plain sqlite3."""
    with sqlite3.connect(db) as con:
        return {r[0]: r[1:] for r in con.execute(
            "SELECT student, id, graded_at, run_id, score, status, content_hash FROM submissions "
            "WHERE assignment = ?", (A,))}


def unit_scores(db: Path) -> dict:
    with sqlite3.connect(db) as con:
        out = {}
        for student, name, score in con.execute(
                "SELECT s.student, u.name, u.score FROM unit_results u JOIN submissions s "
                "ON u.submission_id = s.id WHERE s.assignment = ? ORDER BY s.student, u.position", (A,)):
            out.setdefault(student, {})[name] = score
        return out


def cli(*args, cwd, timeout=120):
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def cell_forward_only(buggy: bool = False) -> str:
    """A cheap submission: the reference rnn_cell_forward (1 point), or it without the bias
    (0 points), and nothing else."""
    from autograder.reference import solution_source

    source = solution_source(A).split("def rnn_forward")[0]
    return source.replace("Wax @ xt + ba)", "Wax @ xt)") if buggy else source


def make_class(folder: Path, n: int) -> dict:
    """n students: n - 2 cheap ones (rnn_cell_forward right or wrong, 1 or 0 points), then
    copies of alice (seed 001) and bob (seed 002). Returns student -> expected total."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for i in range(n - 2):
        (folder / f"s{i:02d}.py").write_text(f"# student {i}\n" + cell_forward_only(buggy=i % 2 == 1))
        made[f"s{i:02d}"] = 1.0 if i % 2 == 0 else 0.0
    for i, name in enumerate(["alice", "bob"], start=n - 2):
        shutil.copy(EXAMPLES / f"{name}.ipynb", folder / f"s{i:02d}_{name}.ipynb")
        made[f"s{i:02d}_{name}"] = TOTALS[name]
    return made


# --------------------------------------------------------------------------- discovery

def test_symbolic_links_among_the_submissions_are_not_graded(tmp_path):
    """A link to the reference solution, to the instructor's notebook or to another
    student's work scored 8/8 (archives unpacked with tar or unzip keep links): a link,
    be it a file, a student's folder or the assignment's folder, is left out and said so."""
    solution = tmp_path / "solution.py"
    solution.write_text("x = 1")
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "ann.py").write_text("x = 1")
    (flat / "mal.py").symlink_to(solution)
    layout, entries, warnings = discover(flat, A)
    assert [e.student for e in entries] == ["ann"]
    assert any(w.startswith("mal: mal.py is a symbolic link") for w in warnings), warnings

    submitted = tmp_path / "course" / "submitted"
    (submitted / "ann" / A).mkdir(parents=True)
    (submitted / "ann" / A / f"{A}.ipynb").write_text("{}")
    (submitted / "ann" / A / "extra.ipynb").symlink_to(solution)
    (submitted / "eve" / A).mkdir(parents=True)
    (submitted / "eve" / A / f"{A}.ipynb").symlink_to(solution)
    (submitted / "bob").mkdir()
    (submitted / "bob" / A).symlink_to(submitted / "ann" / A)
    (submitted / "mal").symlink_to(submitted / "ann")
    layout, entries, warnings = discover(submitted, A)
    assert [e.student for e in entries] == ["ann"] and entries[0].notes[-1] == "Not graded (symbolic links): extra.ipynb."
    assert sorted(w.split(":")[0] for w in warnings) == ["bob", "eve", "mal"], warnings
    # and a link put in a file's place after discovery is not read through
    with pytest.raises(OSError):
        batch.read_submission_bytes(flat / "mal.py")


def test_a_submission_file_is_read_no_further_than_the_reader_accepts(tmp_path):
    from autograder.submission import MAX_FILE_BYTES

    huge = tmp_path / "huge.py"
    with open(huge, "wb") as f:
        f.truncate(4 * MAX_FILE_BYTES)  # sparse: no disk, but read whole it took the coordinator 3 GB for 3 GiB
    assert len(batch.read_submission_bytes(huge)) == MAX_FILE_BYTES + 1


def test_discover_flat_and_nbgrader_layouts(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "ann.ipynb").write_text("{}")
    (flat / "ann.py").write_text("x = 1")
    (flat / "ben.py").write_text("x = 1")
    (flat / ".hidden.py").write_text("x = 1")
    (flat / "notes.txt").write_text("not a submission")
    layout, entries, warnings = discover(flat, A)
    assert layout == "flat"
    assert [(e.student, [p.name for p in e.files]) for e in entries] == [("ann", ["ann.ipynb"]), ("ben", ["ben.py"])]
    assert any("ann" in w and "ann.ipynb" in w for w in warnings)

    course = tmp_path / "course"
    for student, names in {"zoe": ["b.ipynb", "a.ipynb"], "yan": ["yan.ipynb"],
                           "val": [f"{A}.ipynb", "untitled.ipynb", "scratch.py"]}.items():
        folder = course / "submitted" / student / A
        folder.mkdir(parents=True)
        for name in names:
            (folder / name).write_text("{}")
        (folder / "timestamp.txt").write_text("2024-01-01")
    (course / "submitted" / "xia" / "other_assignment").mkdir(parents=True)  # did not submit A
    (course / "submitted" / "wes" / A).mkdir(parents=True)                     # empty folder
    for root in (course / "submitted", course):
        layout, entries, warnings = discover(root, A)
        assert layout == "nbgrader"
        # the released notebook's name is graded, else the only notebook; two notebooks
        # with other names are not guessed between (a warning, not a zero)
        assert [(e.student, [p.name for p in e.files]) for e in entries] == [
            ("val", [f"{A}.ipynb"]), ("yan", ["yan.ipynb"])]
        assert entries[0].source == f"val/{A}/{A}.ipynb"
        assert entries[0].notes == [f"Not graded (only {A}.ipynb is): scratch.py, untitled.ipynb."]
        assert entries[1].notes == [f"Graded yan.ipynb: the submission has no {A}.ipynb (the released notebook's name)."]
        assert any(w.startswith("wes:") for w in warnings)
        assert any(w.startswith("zoe:") and "a.ipynb, b.ipynb" in w and "not graded" in w for w in warnings)

    with pytest.raises(DiscoveryError):
        discover(tmp_path / "empty_does_not_exist", A)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DiscoveryError):
        discover(tmp_path / "empty", A)


def test_needs_grading_rule_and_fingerprint(tmp_path, monkeypatch):
    fp = assignment_fingerprint(A)
    done = Recorded(1, "h", fp, gradebook.GRADED)
    assert not needs_grading(done, "h", fp)
    assert needs_grading(done, "h", fp, force=True)
    assert needs_grading(None, "h", fp)
    assert needs_grading(done, "other content", fp)
    assert needs_grading(done, "h", "another grader or assignment")
    assert needs_grading(Recorded(1, "h", fp, gradebook.ERROR), "h", fp)

    # The fingerprint follows the reference folder's content (solution and helpers).
    from autograder import reference

    copy = tmp_path / "reference" / A
    shutil.copytree(reference.reference_dir(A), copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(reference, "reference_dir", lambda _id: copy)
    assignment_fingerprint.cache_clear()
    try:
        same = assignment_fingerprint(A)
        (copy / "rnn_utils.py").write_text((copy / "rnn_utils.py").read_text() + "\n# changed\n")
        assignment_fingerprint.cache_clear()
        changed = assignment_fingerprint(A)
    finally:
        assignment_fingerprint.cache_clear()
    assert same == fp and changed != fp


def test_a_submission_of_several_notebooks_is_graded_as_one(tmp_path):
    from autograder.reference import solution_source

    source = solution_source(A)
    second = "import numpy as np\n\n" + source[source.index("def rnn_forward"):source.index("def rnn_cell_backward")]
    payload = {"student": "zed", "source": "zed/part1.py, zed/part2.py",
               "files": [("part1.py", cell_forward_only().encode()), ("part2.py", second.encode())]}
    out = batch.grade_payload(A, payload)
    assert out["ok"], out.get("error")
    scores = {u["name"]: u["score"] for u in out["result"]["units"]}
    # rnn_forward (in part 2) runs on rnn_cell_forward (in part 1): one namespace, in order
    assert scores["rnn_cell_forward"] == scores["rnn_forward"] == 1.0 and out["result"]["score"] == 2.0
    assert out["result"]["submission"] == payload["source"]
    assert out["fingerprint"] == assignment_fingerprint(A)


def test_a_local_payload_is_graded_in_place_and_a_vanished_file_is_an_error(tmp_path, monkeypatch):
    from autograder.grader import Grader

    path = tmp_path / "ann.py"
    path.write_text(cell_forward_only())
    payload = {"student": "ann", "source": "ann.py", "paths": [str(path)], "hash": "x"}
    seen, original = [], Grader.grade_file
    monkeypatch.setattr(Grader, "grade_file", lambda self, p: seen.append(str(p)) or original(self, p))
    out = batch.grade_payload(A, payload)
    assert out["ok"], out.get("error")
    assert seen == [str(path)]  # no temporary copy
    assert out["result"]["submission"] == "ann.py" and out["result"]["score"] == 1.0
    path.unlink()  # gone between discovery and grading: an error (retried next run), as before
    out = batch.grade_payload(A, payload)
    assert not out["ok"] and "FileNotFoundError" in out["error"]


def test_the_gradebook_is_a_wal_and_a_killed_writer_keeps_its_commits(tmp_path):
    db = tmp_path / "gb.db"
    code = (f"import os; from autograder.gradebook import Gradebook\n"
            f"book = Gradebook({db_url(db)!r})\n"
            f"for i in range(3):\n"
            f"    book.record(assignment={A!r}, student=f's{{i}}', source='s.py', content_hash='h', fingerprint='f',\n"
            f"                run_id=None, error='boom', units_on_error=[('u', 1.0), ('v', 2.0)])\n"
            f"book.record(assignment={A!r}, student='s1', source='s.py', content_hash='h2', fingerprint='f',\n"
            f"            run_id=None, result={{'units': [{{'name': 'u', 'score': 1, 'max_score': 1, 'status': 'passed'}}]}})\n"
            f"os.kill(os.getpid(), 9)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        subs = con.execute("SELECT student, status, score, max_score, content_hash FROM submissions "
                           "ORDER BY student").fetchall()
        units = con.execute("SELECT s.student, u.position, u.name, u.score, u.status FROM unit_results u "
                            "JOIN submissions s ON u.submission_id = s.id ORDER BY s.student, u.position").fetchall()
        total_units = con.execute("SELECT count(*) FROM unit_results").fetchone()[0]
    assert subs == [("s0", "error", 0.0, 3.0, "h"), ("s1", "graded", 1.0, 1.0, "h2"), ("s2", "error", 0.0, 3.0, "h")]
    assert units == [("s0", 0, "u", 0.0, "error"), ("s0", 1, "v", 0.0, "error"), ("s1", 0, "u", 1.0, "passed"),
                     ("s2", 0, "u", 0.0, "error"), ("s2", 1, "v", 0.0, "error")]
    assert total_units == 5  # the replaced grading's unit rows went with it


# --------------------------------------------------------------------------- grading into the gradebook

def test_autograde_flat_examples(tmp_path):
    subs = tmp_path / "subs"
    shutil.copytree(EXAMPLES, subs)
    db = tmp_path / "gb.db"
    summary = autograde(A, subs, db_url(db), workers=2, progress="none")
    assert (summary.layout, summary.discovered, summary.to_grade, summary.graded) == ("flat", 3, 3, 3)
    assert not summary.failures
    assert unit_scores(db) == EXPECTED
    recorded = rows(db)
    assert {s: r[3] for s, r in recorded.items()} == TOTALS
    for student, r in recorded.items():
        path = next(subs.glob(f"{student}.*"))
        assert r[5] == hashlib.sha256(path.read_bytes()).hexdigest()
    with Gradebook(db_url(db)) as book:
        subs_rows = {s.student: s for s in book.submissions(A)}
    bob = subs_rows["bob"]
    assert bob.fingerprint == assignment_fingerprint(A) and bob.grader_version
    assert bob.wall_time > 0 and bob.execution_time > 0 and bob.worker.split(":")[-1] != str(os.getpid())
    assert [u.name for u in bob.units] == UNITS
    assert all(u.max_score == 1 and u.status in ("passed", "failed") for u in bob.units)
    assert sum(u.wall for u in bob.units) > 0
    assert {u.name: u.mode for u in subs_rows["carol"].units}["lstm_forward"] == "reference"
    assert "not defined" in {u.name: u.explanation for u in bob.units}["lstm_backward"]
    text = summary.text()
    assert "Score distribution (3 student(s)" in text and "median 6" in text

    again = autograde(A, subs, db_url(db), workers=2, progress="none")
    assert (again.to_grade, again.graded) == (0, 0)
    assert rows(db) == recorded



def _log_calls(monkeypatch, log: Path):
    """Append `<what> <pid>` to `log` for every sandbox probe and every preparation of an
    assignment (hidden cases, the reference's outputs and cost), in any process."""
    import functools

    from autograder import grader
    from autograder.sandbox import client

    def note(what):
        with open(log, "a") as f:
            f.write(f"{what} {os.getpid()}\n")

    run_probe, prepare = client._run_probe, grader._prepare.__wrapped__

    def probe(*args, **kwargs):
        note("probe")
        return run_probe(*args, **kwargs)

    @functools.lru_cache(maxsize=None)
    def prepared(*args):
        note("prepare")
        return prepare(*args)

    monkeypatch.setattr(client, "_run_probe", probe)
    monkeypatch.setattr(client, "_PROBES", {})
    monkeypatch.setattr(grader, "_prepare", prepared)


def _calls(log: Path) -> list[tuple[str, int]]:
    return [(what, int(pid)) for what, pid in (line.split() for line in log.read_text().splitlines())]


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
def test_local_workers_are_forked_after_this_process_prepared_and_probed(tmp_path, monkeypatch):
    """With no other thread running, local workers are forked from the batch process after
    it prepared the assignment and probed the sandbox (grader.preload): no worker does
    either again, and the grades are those of the examples."""
    log = tmp_path / "calls"
    _log_calls(monkeypatch, log)
    # pytest-xdist's own thread takes no lock a worker needs: let the batch fork here
    monkeypatch.setattr(batch.threading, "active_count", lambda: 1)
    close_all = batch._close_all_graders

    def closing():   # a forked worker ends without atexit: its Grader is closed all the same
        with open(log, "a") as f:
            f.write(f"closed {os.getpid()}\n")
        close_all()

    monkeypatch.setattr(batch, "_close_all_graders", closing)
    subs = tmp_path / "subs"
    shutil.copytree(EXAMPLES, subs)
    db = tmp_path / "gb.db"
    summary = autograde(A, subs, db_url(db), workers=2, progress="none")
    assert summary.graded == 3 and not summary.failures, summary.text()
    assert unit_scores(db) == EXPECTED
    workers = {int(r[0]) for r in _read_workers(db)}
    assert workers and os.getpid() not in workers     # graded in other processes
    calls = _calls(log)
    assert [c for c in calls if c[0] != "closed"] == [("prepare", os.getpid()), ("probe", os.getpid())]
    assert workers <= {pid for what, pid in calls if what == "closed"}


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods() or not hasattr(os, "sched_getaffinity")
                    or (os.cpu_count() or 1) < 2, reason="needs fork and two CPUs")
@pytest.mark.parametrize("pin", [True, False], ids=["pinned", "no-pin"])
def test_each_local_worker_runs_with_its_sandbox_on_a_cpu_of_its_own(tmp_path, monkeypatch, pin):
    """Pinned (the default, as many workers as CPUs): each worker and its sandbox zygote
    (whence every student process) on one CPU, no two workers on the same one; with
    --no-pin, where this process may run. Read in each worker as it shuts down."""
    import json

    # two CPUs of the machine, one per worker (this test process may itself be held to one:
    # tests/conftest.py)
    monkeypatch.setattr(batch, "usable_cpus", lambda: [0, 1])
    log = tmp_path / "affinity"
    monkeypatch.setattr(batch.threading, "active_count", lambda: 1)
    close_all = batch._close_all_graders

    def closing():
        with batch._all_graders_lock:
            zygotes = [g.zygote.process.pid for g in batch._all_graders if g.zygote is not None]
        with open(log, "a") as f:
            f.write(json.dumps({"worker": sorted(os.sched_getaffinity(0)),
                                "zygotes": [sorted(os.sched_getaffinity(z)) for z in zygotes]}) + "\n")
        close_all()

    monkeypatch.setattr(batch, "_close_all_graders", closing)
    subs = tmp_path / "subs"
    shutil.copytree(EXAMPLES, subs)
    db = tmp_path / "gb.db"
    summary = autograde(A, subs, db_url(db), workers=2, progress="none", pin=pin)
    assert summary.graded == 3 and not summary.failures, summary.text()
    assert unit_scores(db) == EXPECTED
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(rows) == 2 and all(r["zygotes"] for r in rows), rows
    everywhere = sorted(os.sched_getaffinity(0))  # what the workers inherit unpinned
    for row in rows:
        assert all(z == row["worker"] for z in row["zygotes"]), row
        assert (len(row["worker"]) == 1) if pin else (row["worker"] == everywhere), row
    if pin:
        assert rows[0]["worker"] != rows[1]["worker"], rows


def _read_workers(db: Path) -> list:
    with sqlite3.connect(db) as con:
        return [(w.split(":")[-1],) for (w,) in con.execute("SELECT worker FROM submissions")]


def test_workers_are_spawned_while_another_thread_runs(monkeypatch):
    """A fork copies only the calling thread: with another one running (a caller's, a pool's
    that has not ended yet), workers are spawned and nothing is preloaded for them."""
    from autograder import grader

    monkeypatch.setattr(batch.threading, "active_count", lambda: 2)
    monkeypatch.setattr(grader, "preload", lambda *args: pytest.fail("preloaded for spawned workers"))
    assert batch.worker_context(A, None).get_start_method() == "spawn"


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
def test_the_commands_probe_answers_for_its_workers(tmp_path, monkeypatch):
    """`rnngrade autograde` probes the sandbox once, before anything is graded, with the
    gradebook and the submissions among what must stay unreadable and the workers' own
    configuration: forked workers grade on that probe."""
    from click.testing import CliRunner

    from autograder.cli import main

    log = tmp_path / "calls"
    _log_calls(monkeypatch, log)
    monkeypatch.setattr(batch.threading, "active_count", lambda: 1)
    close_all = batch._close_all_graders

    def closing():   # written by a worker forked from here (a spawned one would not have this)
        with open(log, "a") as f:
            f.write(f"closed {os.getpid()}\n")
        close_all()

    monkeypatch.setattr(batch, "_close_all_graders", closing)
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(EXAMPLES / "carol.py", subs / "carol.py")
    out = CliRunner().invoke(main, ["autograde", A, str(subs), "--db", db_url(tmp_path / "gb.db"), "--workers", "1"])
    assert out.exit_code == 0 and "Graded 1 " in out.output, out.output
    calls = _calls(log)
    workers = {pid for what, pid in calls if what == "closed"}
    assert workers and os.getpid() not in workers, calls   # graded in a forked worker
    assert [what for what, pid in calls if what == "probe"] == ["probe"]
    assert {pid for what, pid in calls if what != "closed"} == {os.getpid()}


def test_cli_autograde_nbgrader_layout(tmp_path, monkeypatch):
    """The CLI on nbgrader's layout, grading in its own process (`--workers 0`; here, this
    one: the command's own start-up is the resume test's): the layout, the progress lines
    and the default gradebook are the coordinator's; the pool of the CLI is run by the
    resume test, the in-process pool by test_autograde_flat_examples."""
    from click.testing import CliRunner

    from autograder.cli import main

    submitted = tmp_path / "course" / "submitted"
    for student, src in {"alice": "alice.ipynb", "bob": "bob.ipynb"}.items():
        folder = submitted / student / A
        folder.mkdir(parents=True)
        shutil.copy(EXAMPLES / src, folder / src)
    monkeypatch.chdir(tmp_path)
    run = CliRunner().invoke(main, ["autograde", A, str(submitted), "--workers", "0"])
    assert run.exit_code == 0, (run.output, run.exception)
    assert "2 submission(s)" in run.stdout and "nbgrader layout" in run.stdout
    assert "0 failure(s)" in run.stdout
    # not a terminal: plain progress lines on stderr, ending at 100%
    assert "2/2 graded (100%)" in run.stderr
    db = tmp_path / "gradebook.db"  # the default gradebook, in the working directory
    assert unit_scores(db) == {s: EXPECTED[s] for s in ("alice", "bob")}
    assert {s: r[3:5] for s, r in rows(db).items()} == {"alice": (1.8, "graded"), "bob": (6.0, "graded")}


def test_progress_bar_on_a_terminal_and_plain_lines_otherwise():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    bar = batch.Progress(4, A, "auto", stream=out)
    for student in "abcd":
        bar.update(student, student != "c")
    bar.close()
    assert bar.mode == "bar"
    text = out.getvalue()
    assert "4/4" in text and "sub/s" in text and "failed 1" in text

    plain = io.StringIO()
    bar = batch.Progress(2, A, "auto", stream=plain, every=3600)
    bar.update("a", True)
    bar.update("b", False)
    assert bar.mode == "plain"
    lines = plain.getvalue().splitlines()
    assert lines[0] == f"{A}: grading 2 submission(s)"
    assert lines[-1].startswith(f"{A}: 2/2 graded (100%)") and "ETA" in lines[-1] and "1 failed" in lines[-1]
    assert len(lines) == 2  # the first update is within `every` of the start: no line for it


# --------------------------------------------------------------------------- resume and idempotence

def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _recorded_count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return con.execute("SELECT count(*) FROM submissions").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_resume_after_sigkill_then_idempotent_force_and_changed_file(tmp_path):
    subs = tmp_path / "subs"
    totals = make_class(subs, 12)
    db = tmp_path / "gb.db"
    args = [sys.executable, "-m", "autograder.cli", "autograde", A, str(subs), "--db", db_url(db), "--workers", "1"]
    # output to files, not pipes: a worker outliving the killed process must not block the test
    with open(tmp_path / "killed.out", "wb") as out:
        proc = subprocess.Popen(args, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_for(lambda: _recorded_count(db) >= 1 or proc.poll() is not None, 60,
                      "the first recorded submission")
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    first = rows(db)
    assert 1 <= len(first) < 12, "the run finished before it could be killed: the test proved nothing"
    units = unit_scores(db)
    assert all(len(units[s]) == len(UNITS) for s in first)  # never half a submission
    with sqlite3.connect(db) as con:
        (killed_run, finished), = con.execute("SELECT id, finished_at FROM runs").fetchall()
        worker_pid = int(con.execute("SELECT worker FROM submissions").fetchone()[0].split(":")[-1])
    assert finished is None
    # the orphaned worker notices its parent died and exits (taking its sandbox with it)
    try:
        _wait_for(lambda: not _alive(worker_pid), 15, f"the orphaned worker {worker_pid} to exit")
    finally:
        if _alive(worker_pid):
            os.kill(worker_pid, signal.SIGKILL)  # do not leave it behind when the assertion fails

    resumed = cli("autograde", A, str(subs), "--db", db_url(db), "--workers", "1", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{12 - len(first)} to grade, {len(first)} unchanged" in resumed.stdout
    second = rows(db)
    with sqlite3.connect(db) as con:
        per_student = con.execute("SELECT student, count(*) FROM submissions GROUP BY student").fetchall()
        orphans = con.execute("SELECT count(*) FROM unit_results WHERE submission_id NOT IN "
                              "(SELECT id FROM submissions)").fetchone()[0]
    assert sorted(per_student) == [(s, 1) for s in sorted(totals)] and orphans == 0
    assert {s: r[3] for s, r in second.items()} == totals
    for student, row in first.items():
        assert second[student] == row, f"{student} was graded again"
    assert {second[s][2] for s in second if s not in first} == {killed_run + 1}

    # nothing changed: nothing graded
    nothing = autograde(A, subs, db_url(db), workers=2, progress="none")
    assert (nothing.to_grade, nothing.graded) == (0, 0) and rows(db) == second

    # one file changed: only that one
    changed = "s01"
    assert totals[changed] == 0.0
    (subs / f"{changed}.py").write_text("# student 1, fixed\n" + cell_forward_only())
    one = autograde(A, subs, db_url(db), workers=0, progress="none")  # in this process: quicker
    assert (one.to_grade, one.graded) == (1, 1)
    third = rows(db)
    assert third[changed][3] == 1.0 and third[changed][1:3] != second[changed][1:3]
    assert {s: r for s, r in third.items() if s != changed} == {s: r for s, r in second.items() if s != changed}

    # --force: everything, still one row each
    forced = autograde(A, subs, db_url(db), workers=2, force=True, progress="none")
    assert (forced.to_grade, forced.graded) == (12, 12)
    fourth = rows(db)
    # regraded in place (the upsert keeps each row's id), by this run
    assert len(fourth) == 12 and all(fourth[s][0] == third[s][0] and fourth[s][1] != third[s][1]
                                     and fourth[s][2] != third[s][2] for s in fourth)
    assert {s: r[3] for s, r in fourth.items()} == {**totals, changed: 1.0}
    with sqlite3.connect(db) as con:  # the replaced gradings' unit rows went with them
        assert con.execute("SELECT count(*) FROM unit_results").fetchone()[0] == 12 * len(UNITS)


# --------------------------------------------------------------------------- one bad submission

def _boom_for(student):
    from autograder.grader import Grader

    original = Grader.grade_file

    def grade_file(self, path):
        if student in Path(path).read_text():
            raise RuntimeError(f"grader bug triggered by {student}")
        return original(self, path)

    return grade_file


def test_an_exception_on_one_submission_is_recorded_and_the_batch_goes_on(tmp_path, monkeypatch):
    from autograder.grader import Grader

    subs = tmp_path / "subs"
    totals = make_class(subs, 4)
    (subs / "dave.py").write_text(cell_forward_only() + "\n# dave-triggers-the-bug\n")
    monkeypatch.setattr(Grader, "grade_file", _boom_for("dave-triggers-the-bug"))
    db = tmp_path / "gb.db"
    summary = autograde(A, subs, db_url(db), workers=0, progress="none")  # in this process: the patch applies
    assert summary.graded == 4 and [s for s, _ in summary.failures] == ["dave"]
    assert "RuntimeError: grader bug triggered by dave-triggers-the-bug" in summary.text()
    recorded = rows(db)
    assert recorded["dave"][3:5] == (0.0, "error")
    assert {s: r[3] for s, r in recorded.items() if s != "dave"} == totals
    with Gradebook(db_url(db)) as book:
        dave = next(s for s in book.submissions(A) if s.student == "dave")
    assert "Traceback" in dave.error and [u.status for u in dave.units] == ["error"] * len(UNITS)

    monkeypatch.undo()  # the bug is fixed: the next run retries the failure, and only it
    retry = autograde(A, subs, db_url(db), workers=0, progress="none")
    assert (retry.to_grade, retry.graded, retry.failures) == (1, 1, [])
    assert rows(db)["dave"][3:5] == (1.0, "graded")


def test_a_worker_that_dies_costs_only_its_submission(tmp_path, monkeypatch):
    from autograder.grader import Grader

    original = Grader.grade_file

    def grade_file(self, path):
        if "dies-here" in Path(path).read_text():
            os._exit(3)  # the worker process dies mid-submission
        return original(self, path)

    subs = tmp_path / "subs"
    totals = make_class(subs, 5)
    (subs / "dave.py").write_text("# dies-here\n")
    monkeypatch.setattr(Grader, "grade_file", grade_file)
    db = tmp_path / "gb.db"
    # forked workers inherit the patch
    summary = autograde(A, subs, db_url(db), workers=2, progress="none", mp_context=multiprocessing.get_context("fork"))
    assert [s for s, _ in summary.failures] == ["dave"] and "worker process died" in summary.failures[0][1]
    recorded = rows(db)
    assert {s: r[3] for s, r in recorded.items() if s != "dave"} == totals
    assert recorded["dave"][4] == "error"


# --------------------------------------------------------------------------- Dask

def test_dask_cluster(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("alice.ipynb", "bob.ipynb"):
        shutil.copy(EXAMPLES / name, subs / name)
    db = tmp_path / "gb.db"
    monkeypatch.setattr(batch.DaskExecutor, "window", 1)  # one task at a time: the second is topped up
    with distributed.LocalCluster(n_workers=1, processes=True, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        summary = autograde(A, subs, db_url(db), scheduler=address, progress="none")
        with distributed.Client(address) as client:
            worker_pids = set(client.run(os.getpid).values())
    assert summary.backend == f"Dask cluster at {address}"
    assert (summary.graded, summary.failures) == (2, [])
    assert unit_scores(db) == {s: EXPECTED[s] for s in ("alice", "bob")}
    with Gradebook(db_url(db)) as book:
        workers = {int(s.worker.split(":")[-1]) for s in book.submissions(A)}
    assert workers == worker_pids and os.getpid() not in workers  # graded on the cluster's worker


def test_a_stale_second_notebook_changes_nothing(tmp_path):
    # nbgrader's layout: the released notebook, perfect, beside a stale untitled.ipynb of
    # stubs whose name sorts after it (merged, its stubs would have redefined everything)
    import nbformat

    from conftest import reference_text

    folder = tmp_path / "submitted" / "alice" / A
    folder.mkdir(parents=True)
    perfect = reference_text(A)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(perfect)]), folder / f"{A}.ipynb")
    stubs = "\n\n".join(f"def {line.split('def ', 1)[1].split('(')[0]}(*args):\n    raise NotImplementedError"
                        for line in perfect.splitlines() if line.startswith("def "))
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(stubs)]), folder / "untitled.ipynb")
    _, entries, _ = discover(tmp_path / "submitted", A)
    (entry,) = entries
    payload = {"student": entry.student, "source": entry.source, "paths": [str(p) for p in entry.files],
               "notes": entry.notes, "hash": ""}
    outcome = batch.grade_payload(A, payload)
    assert outcome["ok"], outcome.get("error")
    result = outcome["result"]
    assert result["score"] == result["max_score"] == 8
    assert f"Not graded (only {A}.ipynb is): untitled.ipynb." in result["notes"]


# --------------------------------------------------------------------------- dispatch: commits and chunks

def test_results_are_committed_together_and_their_claims_released_after_the_commit(tmp_path, monkeypatch):
    db = tmp_path / "gb.db"
    committed = []
    with Gradebook(db_url(db)) as book, book.claims() as claims:
        recorder = batch.Recorder(book, claims, A, lambda record: committed.append(record["student"]))
        recorder.max_waiting, recorder.max_delay = 3, 3600.0

        def add(student):
            assert claims.try_claim(A, student)
            recorder.add(dict(assignment=A, student=student, source=f"{student}.py", content_hash="h",
                              fingerprint="f", run_id=None, error="boom", units_on_error=[("u", 1.0)]))

        add("s1"), add("s2")
        assert rows(db) == {} and committed == [] and len(claims.held) == 2   # waiting: claimed, not recorded
        add("s3")                                                             # max_waiting: one commit
        assert sorted(rows(db)) == committed == ["s1", "s2", "s3"] and not claims.held

        add("s4")
        fail = [True]
        original = book.record_many

        def flaky(records):
            if fail.pop() if fail else False:
                raise KeyboardInterrupt   # interrupted during the commit
            return original(records)

        monkeypatch.setattr(book, "record_many", flaky)
        with pytest.raises(KeyboardInterrupt):
            recorder.flush()
        assert "s4" not in rows(db) and len(claims.held) == 1 and committed[-1] == "s3"
        recorder.flush()                                                      # tried again
        assert "s4" in rows(db) and not claims.held and committed[-1] == "s4"

        recorder.max_delay = 0.0                                              # no waiting at all
        add("s5")
        assert "s5" in rows(db) and committed[-1] == "s5"

        # a pause of the executor commits only what has waited max_delay (workers busy:
        # their results go together), a moment of nothing to do (IDLE) commits at once
        recorder.max_delay = 3600.0
        add("s6")
        recorder.pause()
        assert "s6" not in rows(db) and len(claims.held) == 1
        recorder.oldest -= 3600.0
        recorder.pause()
        assert "s6" in rows(db) and not claims.held and committed[-1] == "s6"


class _FreeGrader:
    """Grading that costs nothing (the bench's stand-in): 1 point for every submission;
    a submission that says so kills its worker."""

    def grade_file(self, path):
        from autograder.grader import GradingResult, UnitResult

        if "dies-here" in Path(path).read_text():
            os._exit(3)
        return GradingResult(A, str(path), units=[UnitResult("rnn_cell_forward", 1.0, 1.0, "passed", "ok")])

    def close(self):
        pass


_CHUNK_LOG: dict = {}
_grade_payloads = batch.grade_payloads


def _logged_grade_payloads(assignment, payloads, config=None):
    """batch.grade_payloads, noting each chunk's size (module level: a task's function is pickled)."""
    with open(_CHUNK_LOG["path"], "a") as out:
        out.write(f"{len(payloads)}\n")
    return _grade_payloads(assignment, payloads, config)


def test_cheap_submissions_go_out_in_chunks_and_a_dying_worker_costs_only_its_own(tmp_path, monkeypatch):
    subs = tmp_path / "subs"
    subs.mkdir()
    for i in range(300):
        (subs / f"s{i:03d}.py").write_text("# dies-here\n" if i == 150 else f"x = {i}\n")
    sizes = tmp_path / "chunks"
    monkeypatch.setattr(batch, "worker_grader", lambda assignment, config=None: _FreeGrader())
    monkeypatch.setattr(batch, "grade_payloads", _logged_grade_payloads)   # forked workers inherit both
    monkeypatch.setitem(_CHUNK_LOG, "path", sizes)
    db = tmp_path / "gb.db"
    summary = autograde(A, subs, db_url(db), workers=2, progress="none",
                        mp_context=multiprocessing.get_context("fork"))
    assert [s for s, _ in summary.failures] == ["s150"], summary.failures[0]
    assert "worker process died" in summary.failures[0][1]
    recorded = rows(db)
    assert len(recorded) == 300 and summary.graded == 299
    assert all(r[3] == 1.0 and r[4] == "graded" for s, r in recorded.items() if s != "s150")
    chunks = [int(n) for n in sizes.read_text().split()]
    assert max(chunks) > 1, chunks   # cheap submissions travel several per round trip


def test_submissions_refused_by_a_pool_that_just_broke_are_handed_out_again(tmp_path, monkeypatch):
    """A worker can die between two hand-outs: the pool then refuses new tasks before any
    task in flight reports the break. What it refused never ran: handed out again, not lost."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    calls, refused = [], []

    class Refusing(ProcessPoolExecutor):
        def submit(self, *args, **kwargs):
            calls.append(1)
            if len(calls) in (1, 4):   # the first (nothing in flight yet), then one with tasks in flight
                refused.append(len(calls))
                raise BrokenProcessPool("a child process terminated abruptly")
            return super().submit(*args, **kwargs)

    monkeypatch.setattr(batch, "worker_grader", lambda assignment, config=None: _FreeGrader())
    monkeypatch.setattr(batch.LocalExecutor, "_pool", lambda self: Refusing(1, mp_context=self.context))
    payloads = []
    for i in range(40):
        (tmp_path / f"s{i:02d}.py").write_text(f"x = {i}\n")
        payloads.append({"student": f"s{i:02d}", "source": f"s{i:02d}.py", "paths": [str(tmp_path / f"s{i:02d}.py")],
                         "hash": "", "notes": []})
    executor = batch.LocalExecutor(A, 1, mp_context=multiprocessing.get_context("fork"))
    results = [item for item in executor.run(payloads) if item is not batch.IDLE and item is not batch.PAUSE]
    assert sorted(p["student"] for p, _ in results) == [p["student"] for p in payloads]   # each once
    assert all(outcome["ok"] for _, outcome in results)
    assert refused == [1, 4]


def _collector_settings():
    import gc

    return gc.get_threshold(), gc.get_freeze_count()


def test_a_local_worker_collects_garbage_less_often(monkeypatch):
    """A worker's collector leaves what it holds at start (modules, the prepared reference)
    alone and scans young objects less often than Python's default (700, 10, 10): the
    collector was ~7% of a worker's CPU."""
    from concurrent.futures import ProcessPoolExecutor

    monkeypatch.setattr(batch, "worker_grader", lambda assignment, config=None: _FreeGrader())
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"), initializer=batch._init_local_worker,
                             initargs=(A, None, os.getpid())) as pool:
        (threshold, *_), frozen = pool.submit(_collector_settings).result(timeout=60)
    assert threshold >= 5000 and frozen > 1000


def test_a_result_the_database_refuses_costs_only_its_own_submission(tmp_path, monkeypatch):
    """A value the database cannot store (PostgreSQL and NUL, before gradebook._storable)
    stopped the whole run and lost the results of its transaction, and the submission was
    graded again and refused again at every run. Each result is now committed alone
    after such a refusal; one refused again is recorded as that submission's failure."""
    from sqlalchemy.exc import DataError

    db = tmp_path / "gb.db"
    committed = []
    with Gradebook(db_url(db)) as book, book.claims() as claims:
        recorder = batch.Recorder(book, claims, A, committed.append)
        recorder.max_waiting, recorder.max_delay = 10, 3600.0
        original = book.record_many

        def refuses_mallory(records):
            if any(r["student"] == "mallory" and r["error"] is None for r in records):
                raise DataError("INSERT ...", {}, ValueError("text fields cannot contain NUL"))
            return original(records)

        monkeypatch.setattr(book, "record_many", refuses_mallory)
        for student in ("alice", "mallory", "bob"):
            assert claims.try_claim(A, student)
            recorder.add(dict(assignment=A, student=student, source=f"{student}.py", content_hash="h",
                              fingerprint="f", run_id=None, units_on_error=[("u", 1.0)], error=None,
                              result={"units": [{"name": "u", "score": 1.0, "max_score": 1.0, "status": "passed"}]}))
        recorder.flush()
        assert {s: r[4] for s, r in rows(db).items()} == {"alice": "graded", "bob": "graded", "mallory": "error"}
        assert [r["student"] for r in committed] == ["alice", "mallory", "bob"] and not claims.held
        (refused,) = [r for r in committed if r["student"] == "mallory"]
        assert refused["result"] is None and "the gradebook refused" in refused["error"]
        assert "cannot contain NUL" in refused["error"] and "Background on this error" not in refused["error"]


def test_a_course_folders_source_and_release_are_not_students(tmp_path):
    """Given nbgrader's course folder, autograde graded source/<id> and release/<id> as the
    students "source" (8/8) and "release" (0), and not the real students in submitted/."""
    course = tmp_path / "course"
    for folder in ("source", "release", "autograded/ann", "feedback/ann"):
        (course / folder / A).mkdir(parents=True)
        (course / folder / A / f"{A}.ipynb").write_text("{}")
    (course / "submitted" / "ann" / A).mkdir(parents=True)
    (course / "submitted" / "ann" / A / f"{A}.ipynb").write_text("{}")
    layout, entries, _ = discover(course, A)
    assert (layout, [e.student for e in entries]) == ("nbgrader", ["ann"])
    # without submitted/ yet: still no student named source or release
    import shutil
    shutil.rmtree(course / "submitted")
    try:
        _, entries, _ = discover(course, A)
    except DiscoveryError:
        entries = []
    assert not {e.student for e in entries} & {"source", "release", "autograded", "feedback"}


def test_students_found_with_nothing_to_grade_are_in_the_gradebook_without_a_score(tmp_path):
    """A student with an empty folder, or two notebooks none named like the release, was
    only a warning on the console: absent from every export, feedback page and report.
    They are recorded as not graded, with why and no score; graded when they can be."""
    from autograder.exports import to_csv
    from autograder.gradebook import Gradebook

    root = tmp_path / "submitted"
    for student in ("ann", "frank", "ivan"):
        (root / student / A).mkdir(parents=True)
    (root / "ann" / A / f"{A}.ipynb").write_bytes((EXAMPLES / "bob.ipynb").read_bytes())
    for name in ("a.ipynb", "b.ipynb"):
        (root / "ivan" / A / name).write_bytes((EXAMPLES / "bob.ipynb").read_bytes())
    db = f"sqlite:///{tmp_path}/g.db"
    batch.autograde(A, root, db=db, workers=1, progress="none")
    with Gradebook(db) as book:
        subs = {s.student: s for s in book.submissions(A)}
        assert {s: sub.status for s, sub in subs.items()} == {"ann": "graded", "frank": "not_graded",
                                                              "ivan": "not_graded"}
        assert "no .ipynb or .py file" in subs["frank"].notes[0] and "which one to grade" in subs["ivan"].notes[0]
        rows = {r.split(",")[0]: r.split(",") for r in to_csv(A, book.submissions(A)).splitlines()[1:]}
        assert rows["frank"][-1] == "not_graded" and rows["frank"][-6] == "" and rows["frank"][-5] == "8"
        assert "frank" not in book.totals(A)
    (root / "frank" / A / f"{A}.ipynb").write_bytes((EXAMPLES / "bob.ipynb").read_bytes())
    batch.autograde(A, root, db=db, workers=1, progress="none")
    with Gradebook(db) as book:
        assert {s.student: s.status for s in book.submissions(A)}["frank"] == "graded"
