"""Every hostile test of test_sandbox_adversarial.py, and the bundled example class, in
each setup an instructor grades in: as an ordinary user (user namespaces), as a
container's root (Docker's capabilities and seccomp profile: Landlock, no namespaces),
and with the package installed into a venv under /tmp. (As root, the suite itself runs
them.) One pytest subprocess per setup runs the whole hostile file there; the verdicts
must be the same as here: every test passes.

A setup is skipped only where this machine cannot make it (not root, so no other uid;
no setpriv or unshare), saying why.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from setups.run import NOBODY, command

PROJECT = Path(__file__).resolve().parent.parent
HOSTILE = "tests/test_sandbox_adversarial.py"

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("setpriv")
    or not shutil.which("unshare"),
    reason="the setups are made from root with setpriv and unshare (as CI runs)")


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A folder everyone may read: a copy of the checkout, a HOME, a venv under /tmp."""
    root = Path(tmp_path_factory.mktemp("setups", numbered=True))
    for folder in [root, *root.parents]:
        if str(folder) == "/":
            break
        os.chmod(folder, os.stat(folder).st_mode | 0o005)
    checkout = root / "checkout"
    shutil.copytree(PROJECT, checkout, ignore=shutil.ignore_patterns(".git", "__pycache__", ".benchmarks",
                                                                      ".pytest_cache", "*.egg-info", "build"))
    home = root / "home"
    home.mkdir()
    subprocess.run(["chmod", "-R", "a+rX", str(checkout)], check=True)
    os.chown(home, NOBODY, NOBODY)
    return root


def _env(place: Path, setup: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")}
    env["HOME"] = str(place / "home") if setup == "ordinary-user" else os.environ.get("HOME", "/root")
    if setup != "under-tmp":
        env["PYTHONPATH"] = str(place / "checkout")
    env["RNNGRADE_COURSE"] = str(place / "checkout")  # the course is the checkout, wherever the command runs
    return env


@pytest.fixture(scope="module")
def venv(place):
    """The package installed (not editable) into a venv under /tmp: its two packages
    copied into the venv's site-packages, where a wheel install puts them (no build
    tools needed; numpy and the rest come from the system's site-packages)."""
    where = place / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(where)], check=True)
    site_packages = next(where.glob("lib/python3*/site-packages"))
    for package in ("autograder", "reference"):
        shutil.copytree(place / "checkout" / package, site_packages / package)
    return where / "bin" / "python"


def _python(setup: str, venv_python=None) -> str:
    return str(venv_python) if setup == "under-tmp" else sys.executable


def _run(setup: str, place: Path, argv: list[str], venv_python=None, timeout: float = 600):
    python = _python(setup, venv_python)
    cwd = place / ("home" if setup == "ordinary-user" else "checkout")
    return subprocess.run(command(setup, [python, "-P", *argv], place), cwd=cwd, env=_env(place, setup),
                          capture_output=True, text=True, timeout=timeout)


SETUPS = ["ordinary-user", "container-root", "under-tmp"]


@pytest.mark.parametrize("setup", SETUPS)
def test_every_hostile_test_passes_in_each_setup(setup, place, request):
    venv_python = request.getfixturevalue("venv") if setup == "under-tmp" else None
    tests = str(place / "checkout" / HOSTILE)
    run = _run(setup, place, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-x", tests,
                              "-W", "ignore::pytest.PytestUnraisableExceptionWarning"], venv_python)
    tail = (run.stdout + run.stderr)[-6000:]
    assert run.returncode == 0, tail
    if setup == "under-tmp":  # the installed package was the one graded, not the checkout
        where = _run(setup, place, ["-c", "import autograder; print(autograder.__file__)"], venv_python)
        assert where.stdout.startswith(str(place / "venv")), where.stdout + where.stderr
    assert " passed" in tail and "failed" not in tail and "error" not in tail.lower().split("passed")[-1], tail


def _example_scores(setup: str, place: Path, venv_python=None) -> dict:
    scores = {}
    for path in sorted((place / "checkout" / "examples" / "submissions").iterdir()):
        run = _run(setup, place, ["-m", "autograder.cli", "grade", "rnn_step_by_step", str(path), "--json"],
                   venv_python, timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
        scores[path.name] = [t["score"] for t in json.loads(run.stdout)["tests"]]
    return scores


@pytest.mark.parametrize("setup", ["ordinary-user", "container-root"])
def test_the_example_class_scores_the_same_as_root(setup, place):
    assert _example_scores(setup, place) == _example_scores("root", place)
