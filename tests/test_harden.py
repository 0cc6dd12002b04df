"""The grading process against its students (issue 11): nothing a submission sends,
asks or prints can stall it, bloat it, or carry the reference's answers out.

Every attack runs in a fresh interpreter that grades it with the real Grader (or the real
`rnngrade grade` command) and reports its own peak RSS (getrusage): the grading process
must stay under 512 MB, finish within a minute, give a valid result and no unearned
credit. Limits are short to keep the tests quick.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

A = "rnn_step_by_step"
UNITS = ["rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward",
         "lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward"]
LIMITS = {"unit_seconds": 2, "unit_cpu_seconds": 2, "cell_seconds": 3, "total_seconds": 30, "uid_base": 5 << 28}
PROJECT = Path(__file__).resolve().parent.parent
MAX_RSS_MB = 512

# Runs in a fresh interpreter: grade argv[2] with argv[1]'s assignment and the limits in
# argv[3]; print one JSON line with the result and the process's own cost.
GRADE = """
import json, resource, sys, time
started = time.monotonic()
from autograder.grader import Grader
with Grader(sys.argv[1], json.loads(sys.argv[3])) as grader:
    result = grader.grade_file(sys.argv[2])
print(json.dumps({"scores": {u.name: u.score for u in result.units},
                  "explanations": {u.name: u.explanation for u in result.units},
                  "notes": result.notes, "wall": time.monotonic() - started,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
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


def grade_measured(path: Path, assignment: str = A, limits: dict | None = None, timeout: float = 60) -> dict:
    done = subprocess.run([sys.executable, "-c", GRADE, assignment, str(path), json.dumps(limits or LIMITS)],
                          capture_output=True, text=True, timeout=timeout + 30, env=_env(), cwd=PROJECT)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["rss_mb"] < MAX_RSS_MB, out["rss_mb"]
    assert out["wall"] < timeout, out["wall"]
    assert set(out["scores"]) == set(UNITS) if assignment == A else True
    return out


def cli_measured(*args: str, timeout: float = 60) -> tuple[int, str, str, float]:
    done = subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True,
                          timeout=timeout, env=_env(), cwd=PROJECT)
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

_rt.run_units = _drip
_rt.run_unit = _drip
_rt.wait_readable = lambda fd, timeout: time.sleep(1e6)  # the holder never stops its child
_rt.wait_child = lambda pid, timeout: (time.sleep(1e6), (0, False))[1]
"""


def test_a_holder_that_drips_a_frame_cannot_stall_the_grader(tmp_path):
    out = grade_measured(submission(tmp_path, DRIP), limits=dict(LIMITS, total_seconds=12), timeout=45)
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
    notes = result["output"].splitlines()
    assert len(notes) <= 25, len(notes)
    if count == 100_000:  # 2 MB of source: over the cap
        assert result["score"] == 0 and "of code" in result["output"]
    else:  # the valid definitions before them still count, the fragments cost nothing more
        assert result["score"] == len(UNITS), result["output"]
        assert "more cells or fragments" in result["output"], result["output"]
