"""Fail closed: the probe looks on the host for what got through; a grader refuses when
the reference, the gradebook or the network are within reach (unless told
--unsafe-no-sandbox, which then stands in every result); a student process that cannot
start is a grader failure, never a score."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import grade_text

A = "rnn_step_by_step"
LIMITS = {"unit_seconds": 2, "unit_cpu_seconds": 2, "cell_seconds": 2, "total_seconds": 60, "uid_base": 5 << 28}
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "submissions"

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox needs Linux")


def _property(found: dict, start: str) -> dict:
    return next(p for p in found["properties"] if p["name"].startswith(start))


@linux
def test_the_probe_finds_files_and_writes_within_reach_when_their_layers_are_off():
    from autograder.sandbox.client import probe_sandbox

    found = probe_sandbox(dict(LIMITS, disable=("mount namespace", "landlock")))
    reads, writes = _property(found, "the reference"), _property(found, "writes outside scratch")
    assert not reads["ok"] and "READ" in reads["detail"], reads
    assert not writes["ok"] and "written on the host" in writes["detail"], writes  # seen on the host
    assert "the reference, the grader, other submissions and the gradebook are unreadable" in found["missing"]
    assert _property(found, "network closed")["ok"]  # the network namespace still holds

    whole = probe_sandbox(LIMITS)
    assert whole["missing"] == [] and _property(whole, "the reference")["layers"], whole


@linux
def test_the_probe_finds_the_network_open_when_its_layers_are_off():
    from autograder.sandbox.client import probe_sandbox

    found = probe_sandbox(dict(LIMITS, disable=("network namespace", "seccomp", "landlock")))
    network = _property(found, "network closed")
    assert not network["ok"] and network["layers"] == [], network
    assert "network closed" in found["missing"]


@linux
def test_a_grader_refuses_an_unsafe_sandbox_unless_told_and_then_says_so(graders):
    from autograder.grader import Grader
    from autograder.sandbox.client import SandboxUnavailable

    unsafe = dict(LIMITS, disable=("mount namespace", "landlock"))
    with pytest.raises(SandboxUnavailable) as refused:
        Grader(A, unsafe)
    text = str(refused.value)
    assert "refusing to grade" in text and "unreadable" in text and "--unsafe-no-sandbox" in text
    assert "user namespaces" in text  # how to get it

    g = graders(A, unsafe_no_sandbox=True, **unsafe)
    result = grade_text(g, "x = 1\n")
    assert any(n.startswith("UNSAFE: graded with --unsafe-no-sandbox") and "unreadable" in n for n in result.notes)


def test_the_cli_refuses_with_a_sentence_and_a_non_zero_exit(monkeypatch):
    import autograder.grader as grader_module
    from autograder.cli import main
    from autograder.sandbox.client import SandboxUnavailable

    def refuse(*args, **kwargs):
        raise SandboxUnavailable("refusing to grade: the sandbox is not safe on this machine: network closed")

    monkeypatch.setattr(grader_module, "require_sandbox", refuse)
    out = CliRunner().invoke(main, ["grade", A, str(EXAMPLES / "carol.py")])
    assert out.exit_code != 0 and "refusing to grade" in out.output, out.output
    assert "--unsafe-no-sandbox" in CliRunner().invoke(main, ["grade", "--help"]).output
    assert "--unsafe-no-sandbox" in CliRunner().invoke(main, ["autograde", "--help"]).output


def _cannot_start(monkeypatch):
    """Every student process fails to start (the probe's still does: grading gets that far)."""
    from autograder.sandbox import client

    original = client.Zygote.spawn

    def broken(self, config, fresh=False):
        if config.get("probe"):
            return original(self, config, fresh)
        raise RuntimeError("the sandbox zygote died")

    monkeypatch.setattr(client.Zygote, "spawn", broken)


@linux
def test_a_student_process_that_cannot_start_is_a_grader_error_not_a_zero(monkeypatch):
    from autograder.cli import main

    _cannot_start(monkeypatch)
    out = CliRunner().invoke(main, ["grade", A, str(EXAMPLES / "carol.py"), "--unsafe-no-sandbox"])
    assert out.exit_code != 0, out.output
    assert "could not be started" in out.output and "Score" not in out.output, out.output


@linux
def test_autograde_records_a_failure_that_the_next_run_grades_again(tmp_path, monkeypatch):
    from autograder.batch import autograde

    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(EXAMPLES / "carol.py", subs / "carol.py")
    db = str(tmp_path / "gb.sqlite")
    with monkeypatch.context() as patch:
        _cannot_start(patch)
        summary = autograde(A, subs, db, workers=0, progress="none", config={"unsafe_no_sandbox": True})
    assert summary.graded == 0 and [s for s, _ in summary.failures] == ["carol"], summary.text()
    assert "could not be started" in summary.failures[0][1]
    again = autograde(A, subs, db, workers=0, progress="none", config={"unsafe_no_sandbox": True})
    assert again.to_grade == 1 and again.graded == 1 and not again.failures, again.text()


def test_a_killed_graders_probe_markers_are_swept_by_the_next_probe(tmp_path, monkeypatch):
    """A grader killed mid-probe (SIGKILL skips its clean-up) leaves a marker in the folders
    it probes, the course's checkout among them; the next probe removes the markers of
    graders no longer alive and leaves a live grader's alone."""
    import subprocess

    from autograder.sandbox import client

    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"{client.PROBE_PREFIX}{dead.pid}-123-readable"
    live = tmp_path / f"{client.PROBE_PREFIX}1-456-readable"     # pid 1 is alive
    other = tmp_path / "notes.txt"
    for path in (stale, live, other):
        path.write_text("x")
    monkeypatch.setattr(client, "_host_folders", lambda: [str(tmp_path)])
    monkeypatch.setattr(client, "_PROBES", {})   # probes are cached per config: run it again
    client.probe_sandbox(LIMITS)
    assert not stale.exists()
    assert live.exists() and other.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(client.PROBE_PREFIX) and p != live]
