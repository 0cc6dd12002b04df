"""The grading process against its students (issue 11): nothing a submission sends,
asks or prints can stall it, bloat it, or carry the reference's answers out.

Every attack runs in a process of its own that grades it with the real Grader (or the real
`rnngrade grade` command) and reports its own peak RSS (getrusage): the grading process
must stay under 512 MB, finish within a minute, give a valid result and no unearned
credit. Limits are short to keep the tests quick. That process is a fork of a server
that has imported the engine and prepared the assignment once (the imports were half of
each attack's CPU, and this file runs again in every sandbox setup); a fork starts with
its parent's resident pages, so the peak it reports is, if anything, higher than a fresh
interpreter's.
"""
from __future__ import annotations

import json
import re
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from fork_server import ForkServer

A = "rnn_step_by_step"
UNITS = ["rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward",
         "lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward"]
# every attack runs: without the static slice (a top-level attack no graded unit reads
# would not run), at fixed limits (derived ones would end a slow attack early)
LIMITS = {"unit_seconds": 2, "unit_cpu_seconds": 2, "cell_seconds": 3, "total_seconds": 30, "uid_base": 5 << 28,
          "slice": False, "fixed_limits": True}
PROJECT = Path(__file__).resolve().parent.parent
MAX_RSS_MB = 512

# Runs in a fresh interpreter: grade argv[2] with argv[1]'s assignment and the limits in
# argv[3]; print one JSON line with the result and the process's own cost.
GRADE = """
import json, resource, sys, time
started = time.monotonic()
from autograder.grader import Grader
with Grader(sys.argv[1], json.loads(sys.argv[3])) as grader:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = grader.grade_file(sys.argv[2])
print(json.dumps({"scores": {u.name: u.score for u in result.units},
                  "explanations": {u.name: u.explanation for u in result.units},
                  "notes": result.notes, "wall": time.monotonic() - started,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss_before_mb": rss_before}))
"""

# `rnngrade grade` itself, in a fresh interpreter that reports its peak RSS on stderr.
CLI = """
import json, resource, sys
from autograder.cli import main
try:
    main(sys.argv[1:], prog_name="rnngrade")
    code = 0
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
sys.stderr.write("\\nRSS_MB " + json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024) + "\\n")
sys.exit(code)
"""


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(PROJECT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


# What every child would do first, done once in the server: the engine's and the batch
# command's imports, the prepared assignment and IPython's transformer (what
# grader.preload does for a batch's forked workers; the sandbox probe, per configuration,
# stays each child's own)
PRELOAD = f"""
import autograder.cli, autograder.grader, autograder.batch_cli, autograder.batch, autograder.gradebook
autograder.grader.prepare({A!r})
from autograder.submission import warm_transformer
warm_transformer()
"""


@pytest.fixture(scope="module", autouse=True)
def fork_server():
    server = ForkServer(PRELOAD, env=_env(), cwd=PROJECT)
    _server.append(server)
    yield server
    _server.remove(server)
    server.close()


_server: list = []


def run_forked(code: str, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    """`python -c code args...` in a fork of the server (it imported the engine once);
    killed, and the test failed, after `timeout` s."""
    return _server[-1].run(code, args, timeout,
                           on_timeout=lambda err: pytest.fail(f"still running after {timeout} s: {err[-2000:]}"))


def grade_measured(path: Path, assignment: str = A, limits: dict | None = None, timeout: float = 60) -> dict:
    done = run_forked(GRADE, [assignment, str(path), json.dumps(limits or LIMITS)], timeout=timeout + 30)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["rss_mb"] < MAX_RSS_MB, out["rss_mb"]
    assert out["wall"] < timeout, out["wall"]
    if assignment == A:  # every unit of the attacked assignment was graded, none dropped
        assert set(out["scores"]) == set(UNITS), out["scores"]
    return out


def cli_measured(*args: str, timeout: float = 60) -> tuple[int, str, str, float]:
    done = run_forked(CLI, list(args), timeout=timeout)
    rss = float(done.stderr.rsplit("RSS_MB ", 1)[1].split()[0])
    return done.returncode, done.stdout, done.stderr, rss


def submission(tmp_path: Path, *cells: str, name: str = "attack.py") -> Path:
    """The reference solution followed by `cells`, as a `# %%` script."""
    from autograder.reference import solution_source

    pieces = [solution_source(A)] + [textwrap.dedent(c) for c in cells]
    path = tmp_path / name
    path.write_text("\n".join("# %%\n" + p for p in pieces))
    return path


# --- the slow drip -----------------------------------------------------------------------------

DRIP = """
import struct, sys, time
_rt = sys.modules["autograder.sandbox.runtime"]

def _drip(sock, *args, **kwargs):
    # a frame header for 60 MiB, then one byte at a time
    sock.sendall(struct.pack("<I", 60 << 20))
    while True:
        sock.send(b"\\0")
        time.sleep(0.2)

# (through setattr, which the static slice keeps whatever the limits: a plain assignment to
# an attribute no graded function reads is sliced away, and the holder then never drips)
setattr(_rt, "run_units", _drip)
setattr(_rt, "run_unit", _drip)
setattr(_rt, "wait_readable", lambda fd, timeout: time.sleep(1e6))  # the holder never stops its child
setattr(_rt, "wait_child", lambda pid, timeout: (time.sleep(1e6), (0, False))[1])
"""


# the grading process's own defences do not depend on the sandbox's set-up
SETUPS = pytest.mark.parametrize("setup", [{}, {"harden": False}], ids=["sandbox", "harden-off"])


@SETUPS
def test_a_holder_that_drips_a_frame_cannot_stall_the_grader(tmp_path, setup):
    """A total budget of 2 s is enough: its deadline (and the grace) cuts off the frame
    while it drips, and ends the rest (the grading takes ~3.5 s); a drip that stalled the
    grader would run into the 45 s bound as it did with 12 s."""
    out = grade_measured(submission(tmp_path, DRIP), limits=dict(LIMITS, total_seconds=2, **setup), timeout=45)
    assert all(score == 0 for score in out["scores"].values()), out["scores"]
    assert "time" in out["explanations"]["rnn_cell_forward"], out["explanations"]["rnn_cell_forward"]


# --- what is parsed before any sandbox applies ---------------------------------------------------

def _cli_grade(path: Path) -> dict:
    """`rnngrade grade --json` on `path`: exit 0, a valid result, the process under 512 MB."""
    code, stdout, stderr, rss = cli_measured("grade", A, str(path), "--json", "--total-seconds", "20",
                                             "--unit-seconds", "2", "--cell-seconds", "3")
    assert code == 0, stderr[-2000:]
    assert rss < MAX_RSS_MB, rss
    result = json.loads(stdout)
    assert {t["name"] for t in result["tests"]} == set(UNITS)
    assert len(stdout) < 200_000, len(stdout)
    return result


def test_a_ten_megabyte_source_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "big.py"
    path.write_text("x = 1\n" * (10 * 2**20 // 6))
    result = _cli_grade(path)
    assert result["score"] == 0
    assert "of code" in result["output"], result["output"]


def test_a_hundred_thousand_deep_notebook_is_a_verdict_not_a_crash(tmp_path):
    path = tmp_path / "deep.ipynb"
    path.write_text('{"nbformat": 4, "cells": [{"cell_type": "code", "source": '
                    + "[" * 100_000 + "]" * 100_000 + "}]}")
    result = _cli_grade(path)
    assert result["score"] == 0
    assert "nested too deeply" in result["output"], result["output"]


@pytest.mark.parametrize("count", [100_000, 10_000])
def test_many_broken_definitions_give_a_bounded_result(tmp_path, count):
    from autograder.reference import solution_source

    path = tmp_path / "fragments.py"
    path.write_text(solution_source(A) + "\n" + "def broken(:\n    pass\n" * count)
    result = _cli_grade(path)
    # the setup's own notes (a container's root lists its sandbox fallbacks) are not the submission's
    notes = [line for line in result["output"].splitlines() if "Sandbox fallback" not in line]
    assert len(notes) <= 25, len(notes)
    if count == 100_000:  # 2 MB of source: over the cap
        assert result["score"] == 0 and "of code" in result["output"]
    else:  # the valid definitions before them still count, the fragments cost nothing more
        assert result["score"] == len(UNITS), result["output"]
        assert "more cells or fragments" in result["output"], result["output"]


# --- served reference calls are bounded ----------------------------------------------------------

AMPLIFY = """
import numpy as np

def rnn_backward(da, caches):
    if getattr(rnn_forward, "__module__", "") != "autograder.sandbox.runtime":
        raise ValueError("own mode: only the run with the reference substituted matters here")
    n_a, T = {n_a}, {T}
    parameters = {{"Wax": np.ones((n_a, 1)), "Waa": np.eye(n_a) * 0.5, "Wya": np.ones((2, n_a)),
                  "ba": np.zeros((n_a, 1)), "by": np.zeros((2, 1))}}
    for _ in range({calls}):
        rnn_forward(np.ones((1, 1, T)), np.zeros((n_a, 1)), parameters)  # a long, thin sequence
    return _honest_rnn_backward(da, caches)
"""


@pytest.mark.parametrize("n_a,T,calls,setup", [
    (300, 50_000, 1, {}),                  # a 300x300 weight: asks 0.7 MB, the reply would be gigabytes
    pytest.param(300, 50_000, 1, {"harden": False}, id="harden-off"),  # left out of the setups' runs
    (100, 1_000, 1, {}),                   # within the array bound: the replies (80 MB, 1,000 caches) are not
    (40, 1_000, 400, {}),                  # small calls, many of them
])
def test_an_amplified_reference_call_is_refused(tmp_path, n_a, T, calls, setup):
    text = (submission(tmp_path, "").read_text().replace("\ndef rnn_backward(", "\ndef _honest_rnn_backward(")
            + "\n# %%\n" + AMPLIFY.format(n_a=n_a, T=T, calls=calls))
    path = tmp_path / "amplify.py"
    path.write_text(text)
    out = grade_measured(path, limits=dict(LIMITS, unit_seconds=5, unit_cpu_seconds=5, **setup))
    assert out["scores"]["rnn_backward"] == 0, out["explanations"]["rnn_backward"]
    assert "the reference refused a call to rnn_forward" in out["explanations"]["rnn_backward"]
    assert all(v == 1.0 for k, v in out["scores"].items() if k != "rnn_backward"), out["scores"]


# --- no channel from the served reference to the feedback ---------------------------------------

# The first submission: rnn_cell_forward saves its hidden inputs (own mode, run first);
# rnn_forward, with the reference rnn_cell_forward served, computes the reference's
# outputs on them and tries every way out: its exception message, its printed output,
# its return values, and a scratch file that a later own-mode run (rnn_cell_backward)
# raises and prints.
EXFILTRATE = r'''
import json, os, pickle
import numpy as np

def rnn_cell_forward(xt, a_prev, parameters):
    for name in ("/tmp/captured.pkl", "captured.pkl"):  # /tmp where it is writable, else scratch
        try:
            with open(name, "ab") as f:
                pickle.dump((xt, a_prev, parameters), f)
            break
        except OSError:
            pass
    return _honest_rnn_cell_forward(xt, a_prev, parameters)

def _captured():
    out = []
    for name in ("/tmp/captured.pkl", "captured.pkl"):
        try:
            with open(name, "rb") as f:
                while True:
                    out.append(pickle.load(f))
        except (OSError, EOFError):
            pass
    return out

def rnn_forward(x, a0, parameters):
    if getattr(rnn_cell_forward, "__module__", "") != "autograder.sandbox.runtime":
        raise ValueError("own mode")
    table = {}
    for xt, a_prev, p in sorted(_captured(), key=lambda c: c[0].size):
        a_next, yt, _ = rnn_cell_forward(xt, a_prev, p)
        table[repr(float(xt.flat[0]))] = [a_next.tolist(), yt.tolist()]
    leak = "LEAK" + json.dumps(table, separators=(",", ":")) + "END"
    for name in ("/tmp/leak.txt", "leak.txt"):
        try:
            with open(name, "w") as f:
                f.write(leak)
        except OSError:
            pass
    print(leak)
    raise ValueError(leak)

def rnn_cell_backward(da_next, cache):
    for name in ("/tmp/leak.txt", "leak.txt"):
        if os.path.exists(name):
            leak = open(name).read()
            print(leak)
            raise ValueError(leak)
    raise ValueError("no leak yet")
'''

# The second submission: no RNN code at all, only what the first one's feedback showed.
REPLAY = r'''
import json, re
import numpy as np

FEEDBACK = {feedback!r}
TABLE = {{}}
for blob in re.findall(r"LEAK(.*?)END", FEEDBACK, re.S):
    try:
        TABLE.update(json.loads(blob))
    except ValueError:
        pass

def rnn_cell_forward(xt, a_prev, parameters):
    a_next, yt = TABLE.get(repr(float(xt.flat[0])), ([[0.0]], [[0.0]]))
    return np.array(a_next), np.array(yt), None
'''


def test_a_second_submission_built_from_the_first_ones_feedback_earns_nothing(tmp_path):
    from autograder.reference import solution_source

    first = solution_source(A)
    for unit in ("rnn_cell_forward", "rnn_forward", "rnn_cell_backward"):
        first = first.replace(f"\ndef {unit}(", f"\ndef _honest_{unit}(")
    path = tmp_path / "first.py"
    path.write_text("# %%\n" + first + "\n# %%\n" + EXFILTRATE)
    out = grade_measured(path)
    # the attack ran: the reference was served on the captured inputs and its outputs
    # were thrown, printed and written, in reference mode and in a later own-mode run
    assert "ValueError" in out["explanations"]["rnn_forward"], out["explanations"]["rnn_forward"]
    assert out["scores"]["rnn_cell_forward"] == 1.0
    feedback = "\n".join(list(out["explanations"].values()) + out["notes"])
    assert "LEAK" not in feedback, feedback
    second = tmp_path / "second.py"
    second.write_text(REPLAY.format(feedback=feedback))
    replay = grade_measured(second)
    assert replay["scores"]["rnn_cell_forward"] == 0, replay["explanations"]["rnn_cell_forward"]
    assert sum(replay["scores"].values()) == 0, replay["scores"]


# --- escapes on a terminal -------------------------------------------------------------------------

ESCAPES = r'''
def rnn_cell_forward(xt, a_prev, parameters):
    print("\x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m\r\x9b1m")
    raise ValueError("\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\ \x1b[1A\x1b[2K\u202e")

# (a `global` statement: the static slice keeps it, so this top-level error is raised)
global SHOWN; raise RuntimeError("top level \x1b]52;c;cHduZWQ=\x07\x1b[?1049h")
'''


def test_escape_sequences_never_reach_the_terminal(tmp_path):
    from autograder.reference import solution_source

    path = tmp_path / "escapes.py"
    path.write_text("# %%\n" + solution_source(A).replace("\ndef rnn_cell_forward(", "\ndef _honest_cell(")
                    + "\n# %%\n" + ESCAPES)
    code, stdout, stderr, rss = cli_measured("grade", A, str(path), "--total-seconds", "20",
                                             "--unit-seconds", "2", "--cell-seconds", "3")
    assert code == 0 and rss < MAX_RSS_MB, stderr[-2000:]
    assert "ValueError" in stdout and "top level" in stdout and "click" in stdout, stdout
    bad = [c for c in stdout if (ord(c) < 32 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f or c == "\u202e"]
    assert not bad, [hex(ord(c)) for c in bad]


# --- Ctrl-C ----------------------------------------------------------------------------------------

def test_ctrl_c_ends_a_batch_with_a_stalled_submission_at_once_and_keeps_what_was_recorded(tmp_path):
    import signal
    import time

    from autograder.gradebook import Gradebook
    from autograder.reference import solution_source

    folder = tmp_path / "submitted"
    folder.mkdir()
    (folder / "alice.py").write_text(solution_source(A))
    submission(tmp_path, DRIP, name="bob.py").rename(folder / "bob.py")  # default limits: up to 2 minutes
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    # `rnngrade autograde` with one pool worker (alice, then bob stalls it), forked from the
    # server (its imports done once); it leads a process group of its own, as a command run
    # from a shell does
    with _server[-1].start(CLI, ["autograde", A, str(folder), "--db", db, "--workers", "1"],
                           cwd=tmp_path) as batch:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.1)
            try:
                with Gradebook(db) as book:
                    if "alice" in book.recorded(A):
                        break
            except Exception:  # not created yet
                continue
        else:
            pytest.fail("alice was never recorded")
        time.sleep(1.0)  # bob is being graded, its holder dripping
        assert batch.poll() is None, batch.out.read_text() + batch.err.read_text()
        os.killpg(batch.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
        pressed = time.monotonic()
        done = batch.wait(timeout=30, on_timeout=lambda err: pytest.fail(f"still running 30 s after Ctrl-C: {err}"))
        output = done.stdout + done.stderr
        assert time.monotonic() - pressed < 8, output
    with Gradebook(db) as book:
        recorded = book.recorded(A)
    assert "alice" in recorded and "bob" not in recorded, recorded
    assert "interrupt" in output.lower(), output


def test_only_the_holders_own_words_about_a_unit_childs_end_are_shown():
    import signal

    from autograder.sandbox.client import _exit_status
    from autograder.sandbox.runtime import exit_description

    config = {"unit_cpu_seconds": 2.5}
    honest = [exit_description(0, 2.0, timed_out=True), exit_description(0, 0.25, timed_out=True),
              exit_description(0, 0.05, timed_out=True, limit="cpu"), exit_description(0, 1, timed_out=True, limit="wall"),
              exit_description(signal.SIGXCPU, 2, config=config, what="unit"), exit_description(signal.SIGXCPU, 2),
              exit_description(signal.SIGKILL, 2), exit_description(signal.SIGSEGV, 2),
              exit_description(signal.SIGABRT, 2), exit_description(3 << 8, 2)]
    assert [_exit_status(text) for text in honest] == honest
    for forged in ("the process ended itself with exit status 1 LEAK[0.5, 0.25]", "LEAK", None, 7,
                   "stopped after its time limit of 2 s\x1b[2J"):
        assert _exit_status(forged) == "(no reason given)"


# --- what the grader keeps of a submission ---------------------------------------------------------

BLOAT = """
import sys
import numpy as np
_rt = sys.modules["autograder.sandbox.runtime"]
_rt.MAX_OUTPUT_BYTES = 1 << 40               # the runtime's own check, lifted
_rt.Outbox.__init__.__defaults__ = (0.0, None)  # every case in a frame of its own (under 64 MiB)

def _big():
    return np.zeros(CASE_MB << 17)           # CASE_MB MiB a case, kept by the grader until judged

def rnn_cell_forward(xt, a_prev, parameters):
    return _big(), np.zeros(1), None

def rnn_forward(x, a0, parameters):
    return _big(), np.zeros(1), None

def lstm_cell_forward(xt, a_prev, c_prev, parameters):
    return _big(), np.zeros(1), np.zeros(1), None

def lstm_forward(x, a0, parameters):
    return _big(), np.zeros(1), np.zeros(1), None
"""


def test_huge_outputs_of_every_case_are_not_kept(tmp_path):
    """16 cases of 31 MB each took the grader to 840 MB. Cases of 1.5 times what may cross
    back (3 MiB) are enough: kept, they grow the grading process by ~44x a case (132 MB,
    measured without the check), dropped by ~5x (15 MB); the bound is what keeping each
    case once would take."""
    from autograder.codec import MAX_CASE_OUTPUTS

    case_mb = 3 * MAX_CASE_OUTPUTS >> 21
    out = grade_measured(submission(tmp_path, BLOAT.replace("CASE_MB", str(case_mb))),
                         limits=dict(LIMITS, unit_seconds=5, total_seconds=40))
    assert out["rss_mb"] - out["rss_before_mb"] < 16 * case_mb, (out["rss_before_mb"], out["rss_mb"])
    for unit in ("rnn_cell_forward", "rnn_forward", "lstm_cell_forward", "lstm_forward"):
        assert out["scores"][unit] == 0, out["explanations"][unit]
    assert "at most that may cross back" in out["explanations"]["rnn_cell_forward"], out["explanations"]


# --- what a unit writes into the grading socket itself ---------------------------------------------

GARBAGE = """
import os as _os, stat as _stat
_rnn_forward = rnn_forward

def rnn_forward(x, a0, parameters):
    # a frame of one byte msgpack refuses, into every socket the process holds
    for _fd in range(3, 256):
        try:
            if _stat.S_ISSOCK(_os.fstat(_fd).st_mode):
                _os.write(_fd, b"\\x01\\x00\\x00\\x00\\xc1")
        except OSError:
            pass
    return _rnn_forward(x, a0, parameters)
"""


@SETUPS
def test_garbage_in_the_grading_socket_costs_the_unit_that_wrote_it_and_nothing_else(tmp_path, setup):
    """A frame that does not decode ends the unit's run ("broke the grading protocol"),
    which runs once more in a fresh process (the frame came before anything of the unit,
    so the process may have been damaged before: tests/test_units_together.py counts the
    runs); the units that call rnn_forward keep their credit with the reference's."""
    out = grade_measured(submission(tmp_path, GARBAGE), limits=dict(LIMITS, **setup))
    assert out["scores"] == {u: 0.0 if u == "rnn_forward" else 1.0 for u in UNITS}, out["explanations"]
    assert "broke the grading protocol" in out["explanations"]["rnn_forward"], out["explanations"]["rnn_forward"]
    assert any("restarted" in note for note in out["notes"]), out["notes"]


# --- a cell's report forged by the cell itself ----------------------------------------------------

FORGED_REPORT = """
import gc as _gc, socket as _socket, sys as _sys
_codec = _sys.modules["autograder.codec"]
# every socket this process holds gets a cell report with errors that are not dicts
for _s in [_o for _o in _gc.get_objects() if isinstance(_o, _socket.socket)]:
    _codec.send_message(_s, {"op": "cell", "index": 1, "status": "timeout", "errors": [5, "x", {"message": 7}]})
"""


@SETUPS
def test_a_cell_report_forged_by_a_cell_is_read_only_once_checked(tmp_path, setup):
    """The grader edited the first error of a timed-out cell's report before checking it
    was a dict: a forged report crashed `rnngrade grade` with a traceback, and a batch
    recorded a grader failure for the submission at every run."""
    out = grade_measured(submission(tmp_path, FORGED_REPORT), limits=dict(LIMITS, **setup))
    assert out["scores"] == {u: 1.0 for u in UNITS}, out["explanations"]


# --- numbers the student side chooses, in a reference-mode verdict ----------------------------------

LEAKS = """
import numpy as np

def _bits(value):
    return int(abs(float(np.ravel(value)[0])) * 1e6) % 1000

def rnn_forward(x, a0, parameters):
    if rnn_cell_forward.__code__.co_name != "reference_unit":
        raise ValueError("own mode fails on purpose")
    a, y, a_prev = np.zeros((a0.shape[0], x.shape[1], x.shape[2])), None, a0
    for t in range(x.shape[2]):  # right, with the reference's cell: this mode does better
        a_prev, yt, _ = rnn_cell_forward(x[:, :, t], a_prev, parameters)
        a[:, :, t] = a_prev
        y = yt[:, :, None] if y is None else np.concatenate([y, yt[:, :, None]], axis=2)
    secret = _bits(y)  # something of the reference's answer
    if x.shape[1] == 1 and FIRST == "shape":  # 3: a shape
        return np.zeros((1, 1 + secret % 50, 2)), y, None
    if x.shape[1] == 1:  # 1: a line number of this cell's, chosen by the answer
        exec(compile("\\n" * (1000 + secret) + "raise ValueError()", rnn_forward.__code__.co_filename, "exec"))
    if x.shape[1] == 5:  # 2: the size of a call the server refuses
        rnn_cell_forward(np.empty((0, 100000 + secret)), a0, parameters)
    return a, y, None
""" + "\n" * 2000


@SETUPS
@pytest.mark.parametrize("first", ["line", "shape"])
def test_a_reference_mode_verdict_carries_no_number_the_student_side_chose(tmp_path, setup, first):
    """A unit holding the reference's answer (reference mode) wrote it into a line number
    of its traceback (code compiled under its cell's name, 17 bits a frame), into the size
    of a call the server refused (22 bits) and into the shape of its output (20 bits);
    the explanation quoted each. Now it says the exception type, the limit, the expected
    shape: the grader's words."""
    out = grade_measured(submission(tmp_path, f"FIRST = {first!r}\n" + LEAKS), limits=dict(LIMITS, **setup))
    text = out["explanations"]["rnn_forward"]
    assert "best with the reference" in text and out["scores"]["rnn_forward"] == 0.5, text
    assert ("raised ValueError (with the reference" in text) == (first == "line"), text
    assert ("`a` does not have the expected shape (5, 1, 4)" in text) == (first == "shape"), text
    assert not [n for n in re.findall(r"line (\d+)", text) if int(n) >= 1000], text
    assert "an array over the limit (at most" in text and not re.search(r"\b1\d{5}\b", text), text
    assert not re.search(r"shape \(1, \d+, 2\)", text), text
