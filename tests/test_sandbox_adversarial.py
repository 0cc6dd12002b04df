"""Hostile submissions cannot hang, crash, cheat, snoop or reach the network.

Each attack is the reference solution of rnn_step_by_step with one unit replaced (the
original stays defined as `_honest_<unit>`, so an attack can still compute the right
answer), graded through the real Grader. The attacked unit must score what its honest
behaviour deserves, with an explanation that says what happened, and every other unit
keeps its full score. Each test fails when the protection it is about is removed.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import grade_text, scores

A = "rnn_step_by_step"
UNITS = ["rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward",
         "lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward"]
# a uid range of its own (one per parallel test worker, PYTEST_XDIST_WORKER=gw0, gw1, ...),
# so that other graders running on the machine are not mistaken for leftovers
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)
UID_BASE = (3 << 30) + (_WORKER << 24)
LIMITS = {"unit_seconds": 2, "unit_cpu_seconds": 2, "cell_seconds": 2, "total_seconds": 60, "uid_base": UID_BASE}
# the attacks below need time to do their damage (allocating, scanning, flooding): a fixed
# 2 s per unit; the time-limit tests use the limits derived from the reference (budgets).
# Every attack cell runs: without the static slice, which would skip a top-level attack
# that no graded unit reads (autograder/slicing.py; tests/test_slicing.py)
ATTACK_LIMITS = dict(LIMITS, unit_floor_seconds=2, slice=False)
SECRET = "RNNGRADE_TEST_GRADER_SECRET"
PROJECT = Path(__file__).resolve().parent.parent
# marks of this test run only (another checkout's tests may run at the same time): the
# name (comm) a forked child would give itself, the seconds of the sleeps it would start
RUN = os.getpid() % 100000
ORPHAN = f"rnngo-{RUN}"
SLEEPS = tuple(f"sleep {s}.{RUN}" for s in (61, 62, 63))

# the kernel protections need Linux; as root, an ordinary user (user namespaces) or a
# container's root (Landlock): tests/test_sandbox_setups.py runs this file in each
linux_root = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox needs Linux")


@pytest.fixture(scope="module")
def grader():
    from autograder.grader import Grader

    os.environ[SECRET] = "s3cret-value-of-the-grader"  # set before the zygote starts
    try:
        g = Grader(A, ATTACK_LIMITS)
    finally:
        del os.environ[SECRET]
    yield g
    g.close()


def attack(unit: str, body: str, cells=()) -> str:
    """The reference, `unit` renamed to `_honest_<unit>`, then `body` (the attack's
    definition of `unit`) and extra top-level cells, as a `# %%` script."""
    from autograder.reference import solution_source

    text = solution_source(A)
    assert text.count(f"\ndef {unit}(") == 1
    text = text.replace(f"\ndef {unit}(", f"\ndef _honest_{unit}(")
    pieces = [text] + ([textwrap.dedent(body)] if body else []) + [textwrap.dedent(c) for c in cells]
    return "\n".join("# %%\n" + p for p in pieces)


def honest(unit: str = "rnn_backward", cells=()) -> str:
    return attack(unit, f"def {unit}(*args):\n    return _honest_{unit}(*args)\n", cells)


def explanation(result, unit: str) -> str:
    return {u.name: u.explanation for u in result.units}[unit]


def check(result, unit: str, score: float, *words: str) -> str:
    """`unit` scores `score` and says `words`; every other unit keeps full marks."""
    s = scores(result)
    text = explanation(result, unit)
    assert s[unit] == score, (s[unit], text)
    for word in words:
        assert word in text, (word, text)
    others = {u: v for u, v in s.items() if u != unit}
    assert all(v == 1.0 for v in others.values()), (others, [(u.name, u.explanation) for u in result.units])
    return text


def all_full(result) -> None:
    assert scores(result) == {u: 1.0 for u in UNITS}, [(u.name, u.explanation) for u in result.units]


def _processes() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, comm, cmdline) of the processes visible from here."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
            comm = Path(f"/proc/{name}/comm").read_text().strip()
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        out[int(name)] = (int(stat.rsplit(")", 1)[1].split()[1]), comm, cmdline)
    return out


def _leftovers(grader, wait: float = 2.0) -> list:
    """Processes of this grader's submissions still there: every descendant of its
    zygote (orphans of a submission are reparented to its init or to the zygote, both
    subreapers), and anything bearing this run's marks. A SIGKILLed process may take a
    moment to be reaped: it gets `wait` seconds."""
    zygote = grader.zygote.process.pid
    deadline = time.monotonic() + wait
    while True:
        procs = _processes()

        def below_zygote(pid: int) -> bool:
            for _ in range(64):
                pid = procs.get(pid, (0,))[0]
                if pid == zygote:
                    return True
                if pid <= 1:
                    return False
            return False

        left = [(pid, *info) for pid, info in procs.items() if below_zygote(pid) or info[1].startswith(ORPHAN)
                or any(mark in info[2] for mark in SLEEPS)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


# --- time ------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", [
    "while True:\n    pass\n",
    "import time\nwhile True:\n    try:\n        time.sleep(1)\n    except BaseException:\n        pass\n",
], ids=["busy-loop", "sleep-loop-catching-everything"])
def test_a_top_level_cell_that_never_ends_is_cut_off(graders, cell):
    # a 1 s cell limit (the other cells take milliseconds): this file runs in every setup
    grader = graders(A, **dict(ATTACK_LIMITS, cell_seconds=1))
    started = time.monotonic()
    result = grade_text(grader, honest(cells=[cell, "after_the_endless_cell = 1\n"]))
    assert time.monotonic() - started < 15
    all_full(result)
    assert any("stopped at its time limit" in n for n in result.notes), result.notes


@pytest.mark.parametrize("stop", ["while True:\n    pass\n", "import os\nos._exit(3)\n"], ids=["endless", "crash"])
def test_a_cell_stopped_after_its_definitions_keeps_them_as_jupyter_would(graders, stop):
    """`def sample(...)` and then, in the same cell, a loop that never ends: in Jupyter the
    function exists; the cell's timeout cost it (0 of 1, "not defined"). Its definitions
    before the first other statement run again; one after the loop is not defined."""
    grader = graders(A, **dict(ATTACK_LIMITS, cell_seconds=1))
    text = honest(cells=["def rnn_backward(da, caches):\n    return _honest_rnn_backward(da, caches)\n\n"
                         "import numpy as np\nSTEPS = 3\n" + stop
                         + "def lstm_backward(da, caches):\n    return _honest_lstm_backward(da, caches)\n"])
    text = text.replace("\ndef lstm_backward(", "\ndef _honest_lstm_backward(")
    result = grade_text(grader, text)
    s = scores(result)
    assert s["rnn_backward"] == 1.0 and s["lstm_backward"] == 0.0, [(u.name, u.explanation) for u in result.units]
    assert any("the definitions before its first other statement were run again" in n for n in result.notes), result.notes


@pytest.mark.parametrize("body", [
    "def rnn_backward(da, caches):\n    while True:\n        pass\n",
    "def rnn_backward(da, caches):\n    import time\n    while True:\n        try:\n            time.sleep(1)\n"
    "        except BaseException:\n            pass\n",
], ids=["cpu", "sleep-catching-everything"])
def test_an_endless_unit_costs_only_that_unit(graders, body):
    from autograder.budgets import wall_limit

    g = graders(A, **LIMITS)  # limits derived from the reference's cost, capped at 2 s
    limit = next(p.own for p in g.prepared if p.unit.name == "rnn_backward")
    assert limit.seconds < 1 and "the reference's" in limit.why
    result = grade_text(g, attack("rnn_backward", body))
    unit = next(u for u in result.units if u.name == "rnn_backward")
    if "sleep" in body:  # it burns no CPU: the wall-clock backstop stops it
        wall = wall_limit(limit.seconds, LIMITS)  # max(1 s, 10x its CPU limit), at most the 2 s cap
        check(result, "rnn_backward", 0.0, f"wall-clock limit of {wall:g} s (the backstop for a unit that waits")
        assert unit.wall < wall + 1.0, unit.wall  # once, at its backstop
    else:
        check(result, "rnn_backward", 0.0, f"CPU time limit of {limit.seconds:g} s ({limit.why})")
        assert unit.wall < limit.seconds + 1.0, unit.wall  # once, at its derived limit, not the 2 s cap


def test_the_whole_submission_has_a_total_budget(graders):
    # 1.5 s: longer than one unit's limit (each waits: 1 s, the least wall-clock backstop of a
    # limit derived from the reference), so the budget, not a unit's limit, ends the rest
    g = graders(A, **dict(LIMITS, total_seconds=1.5))
    hang = "import time\n    while True:\n        time.sleep(0.05)\n"
    from autograder.reference import solution_source

    text = solution_source(A)
    for unit in UNITS:
        text = text.replace(f"\ndef {unit}(", f"\ndef _honest_{unit}(")
    text += "".join(f"\n\ndef {u}(*args):\n    {hang}" for u in UNITS)
    started = time.monotonic()
    result = grade_text(g, text)
    elapsed = time.monotonic() - started
    assert elapsed < 1.5 + 5, elapsed  # 8 units x 2 modes x 1 s without a budget
    assert result.score == 0
    last = explanation(result, "lstm_backward")
    assert "total time budget of 1.5 s" in last, last


# --- memory ------------------------------------------------------------------------------------

@linux_root
@pytest.mark.parametrize("grab", [
    "np.empty(2 ** 31)",                                      # 16 GiB at once
    # 8 GiB in pieces; bytes(n) comes from calloc, fresh zero pages never written: the cap
    # counts them all the same, and 5 cases x 4 runs of memset up to it cost ~4 s of CPU
    "[bytes(2 ** 27) for _ in range(64)]",
], ids=["one-array", "many-pieces"])
def test_a_unit_that_allocates_gigabytes_fails_alone(grader, grab):
    body = f"def rnn_backward(da, caches):\n    import numpy as np\n    hoard = {grab}\n    raise RuntimeError('ALLOCATED')\n"
    result = grade_text(grader, attack("rnn_backward", body))
    text = check(result, "rnn_backward", 0.0, "MemoryError", "caps each process")
    assert "ALLOCATED" not in text


@linux_root
def test_a_top_level_cell_that_allocates_gigabytes_costs_only_itself(grader):
    result = grade_text(grader, honest(cells=["import numpy as np\nhoard = np.empty(2 ** 31)\n"]))
    all_full(result)
    assert any("MemoryError" in n for n in result.notes), result.notes


# --- processes -----------------------------------------------------------------------------------

SPAWN_ROUTES = f"ORPHAN, SLEEPS = {ORPHAN!r}, {SLEEPS!r}\n" + r'''
import ctypes, multiprocessing, os, subprocess, sys, time

def _orphan():  # what a child would do if it were ever created
    try:
        ctypes.CDLL(None).prctl(15, ORPHAN.encode(), 0, 0, 0)
    except Exception:
        pass
    time.sleep(60)
    os._exit(0)

def _try(name, make):
    try:
        result = make()
        if result == 0:
            _orphan()
        return f"{name}: STARTED"
    except BaseException as exc:
        return f"{name}: blocked ({type(exc).__name__})"

def _daemon():
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            _orphan()
        os._exit(0)
    return pid

def _thread():
    import threading
    t = threading.Thread(target=time.sleep, args=(60,), daemon=True)
    t.start()
    return 1

def _fork_loop():  # bounded: each child would stop at once
    for _ in range(20):
        if os.fork() == 0:
            _orphan()
    return 1

def spawn_everything():
    libc = ctypes.CDLL(None, use_errno=True)
    def _libc_fork():
        pid = libc.fork()
        if pid < 0:
            raise OSError(ctypes.get_errno(), "fork")
        return pid
    def _system():
        if os.system(SLEEPS[1] + " &") != 0:
            raise OSError("os.system failed")
        return 1
    results = [
        _try("os.fork", os.fork),
        _try("daemon", _daemon),
        _try("libc.fork", _libc_fork),
        _try("subprocess", lambda: subprocess.Popen(SLEEPS[0].split()) and 1),
        _try("os.system", _system),
        _try("multiprocessing", lambda: multiprocessing.Process(target=time.sleep, args=(60,)).start() or 1),
        _try("posix_spawn", lambda: os.posix_spawn("/bin/sleep", SLEEPS[2].split(), {}) and 1),
        _try("execv", lambda: os.execv("/bin/sleep", SLEEPS[0].split())),
        _try("thread", _thread),
        _try("fork loop", _fork_loop),
    ]
    return "; ".join(results)
'''


@linux_root
def test_student_code_cannot_create_processes_in_a_unit(grader):
    body = SPAWN_ROUTES + "\ndef rnn_backward(da, caches):\n    raise RuntimeError('ROUTES ' + spawn_everything())\n"
    result = grade_text(grader, attack("rnn_backward", body))
    text = check(result, "rnn_backward", 0.0, "ROUTES")
    assert "STARTED" not in text, text
    for route in ("os.fork", "daemon", "libc.fork", "subprocess", "os.system", "multiprocessing",
                  "posix_spawn", "execv", "thread", "fork loop"):
        assert f"{route}: blocked" in text, (route, text)
    assert _leftovers(grader) == []


@linux_root
def test_nothing_a_top_level_cell_starts_outlives_the_grading(grader):
    cell = SPAWN_ROUTES + "\nprint('ROUTES', spawn_everything())\n"
    result = grade_text(grader, honest(cells=[cell]))
    all_full(result)
    assert _leftovers(grader) == []


@linux_root
def test_no_process_of_a_submission_survives_its_grading(graders):
    # a unit that hangs (its process is killed at the limit: its least wall-clock backstop,
    # 1 s, with limits derived from the reference) and one that kills its holder: whatever
    # was running must be gone once grade_file returns
    g = graders(A, **LIMITS)
    body = "def rnn_backward(da, caches):\n    import os, time\n    os.kill(os.getppid(), 9)\n    time.sleep(30)\n"
    result = grade_text(g, attack("rnn_backward", body))
    check(result, "rnn_backward", 0.0)
    assert _leftovers(g) == []


# a grader of its own (argv: limits as JSON, the submission), in a fresh interpreter that
# imports the engine only
KILLED_GRADER = r'''
import json, sys
from autograder.grader import Grader

g = Grader("rnn_step_by_step", json.loads(sys.argv[1]))
print(g.zygote.process.pid, flush=True)
g.grade_file(sys.argv[2])
'''


@linux_root
def test_nothing_is_left_behind_when_the_grader_is_killed(tmp_path):
    """SIGKILL to a grader in the middle of a unit: its zygote, every student process
    and the zygote's folder (mount point, host scratch folders) are gone soon after."""
    import glob
    import signal
    import subprocess
    import tempfile

    limits = dict(ATTACK_LIMITS, unit_seconds=30, unit_cpu_seconds=30, unit_floor_seconds=30)
    hanging = tmp_path / "hanging.py"
    hanging.write_text(attack("rnn_backward", "def rnn_backward(da, caches):\n    while True:\n        pass\n"))
    grader = subprocess.Popen([sys.executable, "-c", KILLED_GRADER, json.dumps(limits), str(hanging)],
                              stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        zygote = int(grader.stdout.readline())
        deadline = time.monotonic() + 20
        students: set = set()
        while time.monotonic() < deadline and not any(p[1] == "rnng-units" or p[1] == "rnng-unit"
                                                      for p in _below(zygote).values()):
            time.sleep(0.05)
        students = set(_below(zygote))
        assert students, "the hanging unit never started"
        assert glob.glob(os.path.join(tempfile.gettempdir(), f"rnngrade-sandbox-{zygote}-*"))
    finally:
        grader.send_signal(signal.SIGKILL)
        grader.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = {pid for pid in students | {zygote} if _running(pid)}
        folders = glob.glob(os.path.join(tempfile.gettempdir(), f"rnngrade-sandbox-{zygote}-*"))
        if not alive and not folders:
            break
        time.sleep(0.1)
    assert not alive and not folders, (alive, folders)


def _running(pid: int) -> bool:
    """Alive and not a zombie; a process that ends while it is looked at is not running."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _below(ancestor: int) -> dict:
    """The processes descending from `ancestor`: pid -> (parent, comm, cmdline)."""
    procs = _processes()
    out = {}
    for pid, info in procs.items():
        parent = info[0]
        for _ in range(64):
            if parent == ancestor:
                out[pid] = info
                break
            if parent <= 1:
                break
            parent = procs.get(parent, (0,))[0]
    return out


# --- exits, signals, crashes -----------------------------------------------------------------------

@pytest.mark.parametrize("statement,words", [
    ("import sys; sys.exit(3)", "SystemExit"),
    ("import os; os._exit(7)", "exit status 7"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "SIGKILL"),
    ("import os, signal; os.kill(0, signal.SIGKILL)", "SIGKILL"),
    ("import os, signal, time; os.kill(os.getppid(), signal.SIGKILL); time.sleep(0.2); os._exit(1)", "restarted"),
    ("import signal; signal.raise_signal(signal.SIGTERM)", "SIGTERM"),
    ("import ctypes; ctypes.string_at(0)", "SIGSEGV"),
], ids=["sys.exit", "os._exit", "kill-self", "kill-group", "kill-holder", "sigterm", "segfault"])
def test_exits_signals_and_crashes_in_a_unit_cost_only_that_unit(grader, statement, words):
    result = grade_text(grader, attack("rnn_backward", f"def rnn_backward(da, caches):\n    {statement}\n"))
    check(result, "rnn_backward", 0.0, words)


@pytest.mark.parametrize("statement", [
    "import sys; sys.exit(3)",
    "import os; os._exit(7)",
    "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
    "import os, signal; os.kill(0, signal.SIGKILL)",
    "import os, signal; os.kill(os.getppid(), signal.SIGKILL)",
    "import os, signal, time; os.kill(os.getppid(), signal.SIGKILL); time.sleep(0.2); os._exit(1)",
    "import ctypes; ctypes.string_at(0)",
], ids=["sys.exit", "os._exit", "kill-self", "kill-group", "kill-holder", "kill-holder-and-die", "segfault"])
def test_exits_signals_and_crashes_at_top_level_cost_only_their_cell(grader, statement):
    # the hostile cell comes *before* the real definitions of the last two units
    from autograder.reference import solution_source

    text = solution_source(A)
    cut = text.index("\ndef lstm_cell_backward(")
    script = f"# %%\n{text[:cut]}\n# %%\n{statement}\n# %%\n{text[cut:]}\n"
    result = grade_text(grader, script)
    all_full(result)


# tests/test_sandbox_setups.py expects this skip where no namespaces exist
NO_PRIVATE_ROOT = "no private root here: Landlock is what keeps the files closed"


def layered_config(layers: str) -> dict:
    """The attack limits with every layer ("all"), or without Landlock ("no-landlock"):
    that variant is skipped where no private root exists, since Landlock alone then keeps
    the files closed and cannot be left out."""
    from autograder.sandbox.client import probe_sandbox

    if layers == "all":
        return dict(ATTACK_LIMITS)
    config = dict(ATTACK_LIMITS, disable=("landlock",))
    if not any(a.startswith("private read-only root") for a in probe_sandbox(config)["active"]):
        pytest.skip(NO_PRIVATE_ROOT + ", and cannot be left out")
    return config


@linux_root
@pytest.mark.parametrize("layers", ["all", "no-landlock"])
def test_a_top_level_cell_cannot_end_the_submissions_init(graders, layers):
    """A cell's parent is the submission's init, which never runs student code: pid 1 of
    its namespace with no handler a signal from inside could reach, of another uid, or
    out of Landlock's signal scope. Signalling it changes nothing: no restart. (Without
    Landlock where a private root exists: as an ordinary user the init's uid is the
    student's, and only pid 1's immunity is left.)"""
    config = layered_config(layers)
    grader = graders(A, **config)
    cell = ("import os, signal\nfor sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL):\n"
            "    try:\n        os.kill(os.getppid(), sig)\n    except OSError:\n        pass\n")
    result = grade_text(grader, honest(cells=[cell]))
    all_full(result)
    assert not any("restarted" in n for n in result.notes), result.notes


# --- files, identity, environment, /proc -------------------------------------------------------------

@linux_root
def test_student_code_cannot_read_the_reference_checkout_or_other_submissions(grader, tmp_path):
    gradebook = tmp_path / "gradebook.sqlite"
    gradebook.write_text("alice 8/8")
    other = tmp_path / "other_submission.ipynb"
    other.write_text("{}")
    import autograder
    from autograder.course import reference_root

    installed = [str(Path(autograder.__file__).parent / "grader.py"),  # wherever the package lies
                 str(reference_root() / A / "solution.py")]              # and the course
    readable = [str(PROJECT / "reference" / A / "solution.py"), str(PROJECT / "autograder" / "grader.py"),
                str(PROJECT / "README.md"), str(PROJECT / "tests" / "conftest.py"), str(gradebook), str(other)]
    readable += [p for p in installed if p not in readable]
    mark = f"rnngrade-pwned-{os.getpid()}-{time.monotonic_ns()}"
    # /tmp/... may be the scratch inside a private root: only the host's must stay untouched
    on_host_only = [f"/tmp/{mark}", f"/var/tmp/{mark}", f"/dev/shm/{mark}"]
    writable = [str(tmp_path / mark), str(PROJECT / mark), f"/{mark}", f"/etc/{mark}", f"/usr/{mark}"]
    body = f'''
def rnn_backward(da, caches):
    import os
    found = []
    for path in {readable!r}:
        try:
            with open(path) as f:
                found.append("READ " + path + " " + f.read(20))
        except OSError as exc:
            found.append("no-read " + type(exc).__name__)
    for path in {writable + on_host_only!r}:
        try:
            with open(path, "w") as f:
                f.write("x")
            found.append("WROTE " + path)
        except OSError as exc:
            found.append("no-write " + type(exc).__name__)
    with open("scratch.txt", "w") as f:
        f.write("mine")
    found.append("scratch " + open("scratch.txt").read() + " in " + os.getcwd() + " " + str(os.listdir(".")))
    found.append("uid " + str(os.getuid()))
    raise RuntimeError("FILES " + "; ".join(found))
'''
    try:
        result = grade_text(grader, attack("rnn_backward", body))
    finally:
        written = [p for p in writable + on_host_only if os.path.exists(p)]
        for path in written:  # (only if the protection is broken)
            os.unlink(path)
    assert written == []
    text = check(result, "rnn_backward", 0.0, "FILES", "scratch mine")
    assert "READ " not in text and not any("WROTE " + p in text for p in writable), text
    assert "uid 0" not in text
    assert gradebook.read_text() == "alice 8/8"


@linux_root
def test_the_environment_is_scrubbed(grader):
    body = f'''
def rnn_backward(da, caches):
    import os
    seen = sorted(os.environ)
    try:
        with open("/proc/self/environ", "rb") as f:
            raw = f.read()
    except OSError as exc:
        raw = b""
    leak = {SECRET!r} in os.environ or {SECRET!r}.encode() in raw or b"s3cret-value" in raw
    raise RuntimeError("ENV " + ("LEAKED" if leak else "clean") + " " + ",".join(seen))
'''
    result = grade_text(grader, attack("rnn_backward", body))
    text = check(result, "rnn_backward", 0.0, "ENV clean")
    from autograder.sandbox.limits import ENV_KEEP

    shown = text.split("ENV clean ", 1)[1].split()[0].split(",")
    assert set(shown) <= set(ENV_KEEP) | {"HOME", "TMPDIR"}, shown


@linux_root
def test_proc_shows_no_process_of_the_grader(grader):
    body = '''
def rnn_backward(da, caches):
    import os
    seen = []
    try:
        names = os.listdir("/proc")
    except OSError:  # Landlock without a pid namespace: no /proc at all
        raise RuntimeError("PROCS blocked")
    for name in names:
        if name.isdigit():
            try:
                cmd = open(f"/proc/{name}/cmdline", "rb").read().replace(b"\\0", b" ").decode()
            except OSError:
                cmd = "?"
            seen.append(f"{name}={cmd.strip()}")
    raise RuntimeError("PROCS " + " | ".join(seen))
'''
    result = grade_text(grader, attack("rnn_backward", body))
    text = check(result, "rnn_backward", 0.0, "PROCS")
    listed = text.split("PROCS ", 1)[1].splitlines()[0].split(" | ")
    grader_cmdline = Path("/proc/self/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    assert grader_cmdline not in text and " -m pytest" not in text and str(os.getpid()) + "=" not in text, text
    assert len(listed) <= 3, listed  # the holder and the unit child (and nothing else)


# --- network -------------------------------------------------------------------------------------------

NETNS_PLANT = r'''
import ctypes, os, socket

def _netns():
    try:
        return os.readlink("/proc/self/ns/net")
    except OSError:
        return "?"

def _qlen():
    try:
        with open("/proc/sys/net/unix/max_dgram_qlen") as f:
            return f.read().strip()
    except OSError:
        return "?"

def _unbound_dgram():
    """A datagram socket that may send to any name: socketpair (socket() is denied), then
    disconnected (connect to AF_UNSPEC)."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    ctypes.CDLL(None).connect(a.fileno(), ctypes.create_string_buffer(16), 16)
    return a, b

FOUND = [f"before={_qlen()}"]
try:
    with open("/proc/sys/net/unix/max_dgram_qlen", "w") as f:
        f.write("3")
    FOUND.append("sysctl WRITTEN")
except OSError as exc:
    FOUND.append(f"sysctl blocked ({type(exc).__name__})")
FOUND.append(f"after={_qlen()}")
try:
    KEPT = _unbound_dgram()
    KEPT[0].bind(NAME)
    FOUND.append("bound")
except OSError as exc:
    FOUND.append(f"bind blocked ({type(exc).__name__})")

def rnn_backward(da, caches):
    raise RuntimeError("PLANTED " + "; ".join(FOUND) + f"; ns={_netns()}")
'''

NETNS_LOOK = r'''
def rnn_backward(da, caches):
    found = [f"qlen={_qlen()}"]
    try:
        a, b = _unbound_dgram()
        a.sendto(b"hello", NAME)
        found.append("sendto DELIVERED")
    except OSError as exc:
        found.append(f"sendto refused ({type(exc).__name__})")
    raise RuntimeError("LOOKED " + "; ".join(found) + f"; ns={_netns()}")
'''


@linux_root
@pytest.mark.parametrize("layers", ["all", "no-landlock"])
def test_nothing_of_a_submission_reaches_the_next_through_the_network_namespace(graders, layers):
    """Submissions of a zygote share its network namespace (docs/SANDBOX.md, "One network
    namespace per zygote"). One submission tries to leave something there: a sysctl of
    the namespace, and an abstract Unix socket bound to a name (socketpair, then
    disconnected: socket() is denied); the next one looks for them. Also without Landlock
    (whose scoping would refuse the second's sendto anyway), where a private root exists."""
    config = layered_config(layers)
    g = graders(A, **config)
    name = f"NAME = b'\\0rnngrade-test-netns-{RUN}-{layers}'\n"  # an abstract name
    planted = check(grade_text(g, attack("rnn_backward", name + NETNS_PLANT)), "rnn_backward", 0.0, "PLANTED")
    assert "sysctl blocked" in planted and "WRITTEN" not in planted, planted
    # seccomp makes no datagram socket (socketpair gives only stream sockets): nothing to
    # plant; without it (each submission then has a network namespace of its own) it binds
    from autograder.sandbox.client import probe_sandbox

    seccomp = any(a.startswith("seccomp:") for a in probe_sandbox(config)["active"])
    assert ("bind blocked (PermissionError)" if seccomp else "; bound") in planted, planted
    before = planted.split("before=", 1)[1].split(";")[0]
    looked = check(grade_text(g, attack("rnn_backward", name + NETNS_PLANT.split("FOUND = ")[0] + NETNS_LOOK)),
                   "rnn_backward", 0.0, "LOOKED")
    assert f"qlen={before}" in looked, (planted, looked)
    assert "sendto refused" in looked and "DELIVERED" not in looked, looked
    shared = any("the zygote's" in a for a in probe_sandbox(config)["active"])
    if shared:  # the same namespace: what is above is what keeps them apart
        assert planted.split("ns=", 1)[1].split()[0] == looked.split("ns=", 1)[1].split()[0], (planted, looked)


HOST_DATAGRAM = r'''
import socket

def rnn_backward(da, caches):
    found = []
    for kind in ("SOCK_DGRAM", "SOCK_SEQPACKET"):
        try:
            a, b = socket.socketpair(socket.AF_UNIX, getattr(socket, kind))
        except OSError as exc:
            found.append(f"{kind} refused ({type(exc).__name__})")
            continue
        try:
            a.sendto(b"from the sandbox", PATH)
            found.append(f"{kind} SENT")
        except OSError as exc:
            found.append(f"{kind} sendto refused ({type(exc).__name__})")
    raise RuntimeError("DATAGRAM " + "; ".join(found))
'''


@linux_root
def test_no_datagram_reaches_a_unix_socket_of_the_host(grader):
    """A Unix datagram socket of the host that anyone may write to (/dev/log, journald's,
    a desktop bus): socket() is denied, but socketpair(AF_UNIX, SOCK_DGRAM) made one that
    could sendto() it by its path where the host's files are in sight (a container's
    root, an ordinary user without user namespaces). socketpair() now makes only stream
    sockets, already connected to each other."""
    import tempfile

    folder = tempfile.mkdtemp(prefix=f"rnngrade-test-dgram-{RUN}-")
    try:
        os.chmod(folder, 0o711)
        path = os.path.join(folder, "listener")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.bind(path)
        os.chmod(path, 0o777)
        listener.setblocking(False)
        text = check(grade_text(grader, attack("rnn_backward", f"PATH = {path!r}\n" + HOST_DATAGRAM)),
                     "rnn_backward", 0.0, "DATAGRAM")
        assert "SOCK_DGRAM refused (PermissionError)" in text and "SENT" not in text, text
        with pytest.raises(BlockingIOError):
            listener.recv(64)
        listener.close()
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


@linux_root
def test_without_seccomp_the_host_unix_sockets_are_closed_or_grading_is_refused():
    """Without seccomp a student process makes any socket. Where a private root hides the
    host's files (and a network namespace of its own its abstract names) the network
    stays closed; where none exists (a container's root) the probe sends a datagram to a
    Unix socket of the grader's host, and the sandbox refuses to grade."""
    from autograder.sandbox.client import probe_sandbox

    found = probe_sandbox(dict(LIMITS, disable=("seccomp",)))
    private_root = any(a.startswith("private read-only root") for a in found["active"])
    assert ("network closed" in found["missing"]) != private_root, found


@linux_root
def test_student_code_has_no_network(grader):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    body = f'''
def rnn_backward(da, caches):
    import socket
    outcome = []
    for host in ("127.0.0.1", "localhost"):
        try:
            socket.create_connection((host, {port}), timeout=1).close()
            outcome.append(host + " CONNECTED")
        except OSError as exc:
            outcome.append(host + " blocked: " + str(exc))
    raise RuntimeError("NET " + "; ".join(outcome))
'''
    try:
        result = grade_text(grader, attack("rnn_backward", body))
        listener.settimeout(0.3)
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()
    text = check(result, "rnn_backward", 0.0, "NET", "127.0.0.1 blocked")
    assert "CONNECTED" not in text


# --- what crosses back ------------------------------------------------------------------------------------

CROSSING = {
    "ndarray-subclass": ("class Sub(np.ndarray):\n        def __eq__(self, other):\n            return True\n"
                         "    wrap = lambda v: v.view(Sub)", "not plain data"),
    "np.matrix": ("wrap = lambda v: np.asmatrix(v) if v.ndim == 2 else v.view(np.recarray)", "not plain data"),
    "object-array": ("wrap = lambda v: v.astype(object)", "not numeric"),
    "pickle": ("import pickle\n    wrap = lambda v: pickle.dumps(v)", "not numbers"),
    "own-eq-and-ufunc": ("class Liar:\n        def __init__(self, v):\n            self.v = v\n"
                         "        def __eq__(self, other):\n            return True\n"
                         "        def __array_ufunc__(self, *a, **k):\n            return True\n"
                         "        def __array__(self, *a, **k):\n            return self.v\n"
                         "    wrap = Liar", "not plain data"),
    "float-subclass": ("class F(float):\n        def __eq__(self, other):\n            return True\n"
                       "    wrap = lambda v: [F(x) for x in v.ravel()]", "not plain data"),
}


@pytest.mark.parametrize("kind", list(CROSSING))
def test_only_plain_numeric_data_crosses_back(grader, kind):
    """The right values, wrapped in something that is not plain data: a wrong answer."""
    wrap, words = CROSSING[kind]
    body = f'''
def rnn_backward(da, caches):
    import numpy as np
    {wrap}
    return {{k: wrap(v) for k, v in _honest_rnn_backward(da, caches).items()}}
'''
    result = grade_text(grader, attack("rnn_backward", body))
    check(result, "rnn_backward", 0.0, words)


def test_monkeypatching_numpy_or_builtins_changes_nothing_and_does_not_leak(grader):
    body = '''
def rnn_backward(da, caches):
    import builtins
    import numpy as np
    np.allclose = lambda *a, **k: True
    np.isclose = lambda *a, **k: np.ones(np.shape(a[0]), bool)
    np.array_equal = lambda *a, **k: True
    np.testing.assert_allclose = lambda *a, **k: None
    np.tanh = lambda x: x * 0          # would break every later unit if it leaked
    np.exp = lambda x: x * 0
    builtins.isinstance = lambda *a: True
    return {k: np.zeros(1) for k in ("dx", "da0", "dWax", "dWaa", "dba")}
'''
    result = grade_text(grader, attack("rnn_backward", body))
    check(result, "rnn_backward", 0.0, "Passed 0 of 5")


# --- output -----------------------------------------------------------------------------------------------

def test_a_flood_of_output_is_cut_and_shown_trimmed(grader):
    body = '''
def rnn_backward(da, caches):
    import os, sys
    print("PRINTED-MARKER")
    os.write(1, b"FD1-MARKER\\n")
    os.write(2, b"FD2-MARKER\\n")
    chunk = "x" * 1_000_000
    for _ in range(25):
        print(chunk)
        sys.stderr.write(chunk)
        os.write(1, chunk.encode())
        os.write(2, chunk.encode())
    return _honest_rnn_backward(da, caches)
'''
    started = time.monotonic()
    result = grade_text(grader, attack("rnn_backward", body))
    assert time.monotonic() - started < 20
    text = check(result, "rnn_backward", 1.0, "Printed output (trimmed)", "PRINTED-MARKER")
    assert len(text) < 3000, len(text)
    assert "trimmed" in text or "cut" in text


def test_fd_level_output_is_captured(grader):
    body = '''
def rnn_backward(da, caches):
    import os
    os.write(1, b"FD1-MARKER\\n")
    return _honest_rnn_backward(da, caches)
'''
    result = grade_text(grader, attack("rnn_backward", body))
    check(result, "rnn_backward", 1.0, "FD1-MARKER")


# --- the reference stays on the grader's side ------------------------------------------------------------

@linux_root
def test_the_student_process_holds_no_reference(graders):
    g = graders(A, **dict(ATTACK_LIMITS, unit_seconds=30, unit_cpu_seconds=30, unit_floor_seconds=30))
    body = r'''
def rnn_backward(da, caches):
    import gc, os, sys
    if os.path.exists("scan.txt"):  # both fair-credit modes run this: scan once
        raise RuntimeError(open("scan.txt").read())
    found, scanned = [], 0
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "reference" or name in ("autograder.grader", "autograder.reference",
                                                         "autograder.judge") or name.startswith("autograder.assignments"):
            found.append("module " + name)
        where = str(getattr(module, "__file__", "") or "")
        if "/reference/" in where or where.endswith("solution.py"):
            found.append("module file " + where)
    for obj in gc.get_objects():
        scanned += 1
        code = getattr(obj, "__code__", None)
        filename = str(getattr(code, "co_filename", "") or "")
        if "/reference/" in filename or filename.endswith("solution.py"):
            found.append("code from " + filename)
        if type(obj) is dict and obj.get("__name__") == "__reference__":
            found.append("a reference namespace")
    names = ("solution.py", "grader.py", "judge.py", "rnn_step_by_step.py", "gradebook.py")
    for root, dirs, files in os.walk("/"):
        if root == "/":
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
        for name in files:
            scanned += 1
            path = os.path.join(root, name)
            if name in names or "/reference/" in path or "/autograder/" in path:
                try:
                    with open(path, "rb") as f:
                        head = f.read(1 << 16)
                except OSError:
                    continue
                if b"def rnn_cell_forward" in head or b"Grader" in head or b"RNN_GRADS" in head:
                    found.append("file " + path)
    verdict = f"SCANNED {scanned} FOUND {found[:5]}" if found else f"SCANNED {scanned} nothing"
    with open("scan.txt", "w") as f:
        f.write(verdict)
    raise RuntimeError(verdict)
'''
    result = grade_text(g, attack("rnn_backward", body))
    text = check(result, "rnn_backward", 0.0, "SCANNED")
    assert "nothing" in text and "FOUND" not in text, text


def test_the_reference_server_never_serves_the_unit_under_test(grader):
    """rnn_forward asks the grader for the reference rnn_forward, through the proxy
    channel it finds in a substituted unit and through requests it writes itself on
    every socket it holds; it would return what it got."""
    body = r'''
def rnn_forward(x, a0, parameters):
    import os, socket, struct
    from autograder.codec import decode, encode
    request = {"op": "call", "name": "rnn_forward", "args": [x, a0, parameters], "kwargs": {}}
    answers = []
    for cell in getattr(rnn_cell_forward, "__closure__", None) or ():
        channel = cell.cell_contents
        if hasattr(channel, "ask"):
            try:
                return channel.ask(dict(request))
            except Exception as exc:
                answers.append(f"proxy channel: {exc}")
    for fd in range(3, 64):
        try:
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        try:
            if sock.family != socket.AF_UNIX:
                continue
            payload = encode(request)
            sock.sendall(struct.pack("<I", len(payload)) + payload)
            sock.settimeout(2)
            (n,) = struct.unpack("<I", sock.recv(4, socket.MSG_WAITALL))
            reply = decode(sock.recv(n, socket.MSG_WAITALL))
            if "value" in reply and reply["value"] is not None:
                return reply["value"]
            answers.append(f"own request: {reply.get('error')}")
        except Exception as exc:
            answers.append(f"fd {fd}: {type(exc).__name__}")
        finally:
            sock.close()
    raise RuntimeError("ASKED " + "; ".join(answers))
'''
    result = grade_text(grader, attack("rnn_forward", body))
    check(result, "rnn_forward", 0.0, "ASKED", "rnn_forward is not served")


# --- what is in force, and where it is configured -------------------------------------------------------------

@linux_root
def test_active_protections_reports_what_is_in_force():
    from autograder.sandbox.client import probe_sandbox

    # tests/test_sandbox_setups.py names the setup it runs this file in (else: root)
    setup = os.environ.get("RNNGRADE_TEST_SETUP", "root")
    report = probe_sandbox(LIMITS)
    assert report["missing"] == [], report
    active = "\n".join(report["active"])
    expected = ["seccomp", "checked from inside: fork in a unit child blocked", "checked from inside: exec blocked",
                "checked from inside: network blocked", "checked from inside: writes outside scratch blocked",
                "checked from inside: reads of the checkout, the reference and host folders blocked"]
    if setup in ("root", "ordinary-user", "under-tmp"):
        assert report["fallbacks"] == [], report["fallbacks"]
        assert all(p["ok"] and p["layers"] for p in report["properties"]), report["properties"]
        expected += ["pid namespace", "network namespace", "private read-only root", "unprivileged uid",
                     "RLIMIT_NPROC", "checked from inside: fork in a cell child blocked"]
    elif setup == "container-root":
        assert all(p["ok"] and p["layers"] for p in report["properties"]), report["properties"]
        expected += ["Landlock", "unprivileged uid", "RLIMIT_NPROC", "checked from inside: fork in a cell child blocked"]
    else:  # an ordinary user without user namespaces: a cell can fork, and that is said
        expected += ["Landlock"]
        assert any(f[0] == "checked from inside: fork in a cell child blocked" for f in report["fallbacks"])
    for words in expected:
        assert words in active, (words, active)


@linux_root
def test_a_missing_protection_is_said_loudly_and_the_fallback_still_cleans_up(graders, capsys):
    """Without a pid namespace (here: disabled) the grader finds a submission's
    processes by group and by uid; a unit that kills its holder and leaves its group
    still leaves nothing behind. Every result says what is missing."""
    from autograder.sandbox.client import probe_sandbox

    active = probe_sandbox(LIMITS)["active"]
    if any(a.startswith("user namespace of the grader") for a in active):
        pytest.skip("as an ordinary user the pid namespace comes with the user namespace: its fallback "
                    "(a uid sweep) cannot arise")
    # seccomp is left out too where a private root hides the host's Unix sockets; where
    # none exists (a container's root) seccomp is what keeps them closed, and the sandbox
    # refuses to grade without it (test_no_datagram_reaches_a_unix_socket_of_the_host)
    private_root = any(a.startswith("private read-only root") for a in active)
    disable = ("pid namespace", "seccomp") if private_root else ("pid namespace",)
    g = graders(A, **dict(LIMITS, disable=disable))
    # (setsid fails where the unit child leads a process group of its own: a dedicated uid)
    body = "def rnn_backward(da, caches):\n    import os, time\n    os.kill(os.getppid(), 9)\n    try:\n" \
           "        os.setsid()\n    except OSError:\n        pass\n    time.sleep(30)\n"
    result = grade_text(g, attack("rnn_backward", body))
    check(result, "rnn_backward", 0.0, "wall-clock limit")  # it sleeps: no CPU limit stops it
    assert _leftovers(g) == []
    notes = "\n".join(result.notes)
    assert "Sandbox fallback: pid namespace is not in force" in notes, notes
    assert ("Sandbox fallback: seccomp filters is not in force" in notes) == private_root, notes
    assert "rnngrade: warning: Sandbox fallback: pid namespace" in capsys.readouterr().err
    again = grade_text(g, honest())
    all_full(again)
    assert "Sandbox fallback: pid namespace is not in force" in "\n".join(again.notes)


def test_disabled_hardening_is_said_loudly(graders, capsys):
    result = grade_text(graders(A, **dict(LIMITS, harden=False)), honest())
    all_full(result)
    assert any("hardening is disabled" in n for n in result.notes), result.notes


def test_limits_come_from_the_assignment_then_the_caller(grader, monkeypatch):
    import dataclasses

    import autograder.grader as grader_module

    assignment, helpers, prepared = grader_module.prepare(A)
    with_limits = dataclasses.replace(assignment, limits={"unit_seconds": 1.5, "memory_mb": 300})
    monkeypatch.setattr(grader_module, "prepare", lambda _id: (with_limits, helpers, prepared))
    g = grader_module.Grader(A, {"memory_mb": 400}, zygote=grader.zygote)
    assert g.config["unit_seconds"] == 1.5 and g.config["memory_mb"] == 400


def test_the_cli_has_a_total_budget_option():
    from click.testing import CliRunner

    from autograder.cli import main

    out = CliRunner().invoke(main, ["grade", "--help"])
    assert "--total-seconds" in out.output


def test_a_unit_cannot_return_the_answers_an_earlier_run_was_served(graders):
    """A unit's fair-credit run came after another unit's reference-mode run that was served
    the reference version of it, in the same student process: the answers it had asked for
    (on the hidden inputs saved by the unit's own run) came back as the unit's own, for
    full marks (tests/fixtures/hostile/steal_served_answers.py). A run of a unit whose
    reference the process was served starts in a fresh process."""
    from autograder.reference import solution_source

    text = solution_source("rnn_layers")
    for unit in ("lstm_step_forward", "lstm_step_backward", "lstm_backward"):
        assert text.count(f"\ndef {unit}(") == 1
        text = text.replace(f"\ndef {unit}(", f"\ndef _honest_{unit}(")
    text += "\n" + (PROJECT / "tests" / "fixtures" / "hostile" / "steal_served_answers.py").read_text()
    result = grade_text(graders("rnn_layers", uid_base=UID_BASE), text)
    s = scores(result)
    assert s["lstm_step_backward"] == 0.0, explanation(result, "lstm_step_backward")
    assert s["lstm_step_forward"] == 0.75 and s["lstm_backward"] == 1.0, s


def _host_segment(key: int) -> int:
    """The id of the host's System V shared memory segment `key`, or -1 (removed if found)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    shmid = libc.shmget(key, 0, 0)
    if shmid >= 0:
        libc.shmctl(shmid, 0, None)  # IPC_RMID: leave nothing behind
    return shmid


def test_no_system_v_ipc_outlives_the_submission(grader):
    """Without an ipc namespace (a container's root, a host without user namespaces) a
    shared memory segment outlived the submission: the next submission read the
    reference's answers from it (red team, 2026-12-05). Seccomp refuses System V IPC and
    POSIX message queues everywhere."""
    key = 0x52470000 + RUN
    body = f'''
def rnn_backward(da, caches):
    import ctypes, os
    libc = ctypes.CDLL(None, use_errno=True)
    shmid = libc.shmget({key}, 4096, 0o1000 | 0o666)
    if shmid >= 0:
        raise RuntimeError("SHM CREATED")
    raise RuntimeError("SHM blocked: " + os.strerror(ctypes.get_errno()))
'''
    assert _host_segment(key) < 0
    result = grade_text(grader, attack("rnn_backward", body))
    assert _host_segment(key) < 0, "a segment of the submission is left on the host"
    check(result, "rnn_backward", 0.0, "SHM blocked", "Operation not permitted")


def test_a_scratch_folder_left_unreadable_is_removed(grader):
    """As an ordinary user without user namespaces the student runs as the grader's own
    uid: a folder it left with mode 0 could not be listed, and 128 MiB stayed on the host
    after the run (red team, 2026-12-05)."""
    name = f"keep-{RUN}"
    body = f'''
def rnn_backward(da, caches):
    import os
    if not os.path.lexists("{name}"):
        os.makedirs("{name}/inner")
        with open("{name}/inner/data", "w") as f:
            f.write("x" * 4096)
        os.chmod("{name}/inner", 0)
        os.chmod("{name}", 0)
    raise RuntimeError("CWD " + os.getcwd() + " END")
'''
    result = grade_text(grader, attack("rnn_backward", body))
    text = check(result, "rnn_backward", 0.0, "CWD")
    cwd = text.split("CWD ", 1)[1].split(" END", 1)[0]
    grader.zygote.wait_dead()
    assert not os.path.lexists(os.path.join(cwd, name)), cwd


def test_a_unit_is_never_given_a_reference_unit_that_computes_it(grader):
    """Reference mode substitutes the graded units a student's unit calls, but never one whose
    reference computes the unit itself: an rnn_cell_forward calling rnn_forward with one
    step got the reference's answers back (tests/fixtures/hostile/no_step_computed.py:
    6 of 8 where no step is computed anywhere)."""
    text = (PROJECT / "tests" / "fixtures" / "hostile" / "no_step_computed.py").read_text()
    s = scores(grade_text(grader, text))
    assert s["rnn_cell_forward"] == 0 and s["rnn_cell_backward"] == 0, s


def test_a_unit_is_never_given_a_later_unit_that_generalises_it(grader):
    """Reference mode substitutes only graded units graded before the unit: an
    rnn_cell_backward that fixes the gates of lstm_cell_backward (a stub) and calls it got
    the reference LSTM's answers, which are the RNN cell's (review, 2026-12-05)."""
    body = '''
def rnn_cell_backward(da_next, cache):
    a_next, a_prev, xt, parameters = cache
    n_a = a_prev.shape[0]
    Wc = np.concatenate((parameters["Waa"], parameters["Wax"]), axis=1)
    zero = np.zeros_like(Wc)
    p = {"Wf": zero, "Wi": zero, "Wc": Wc, "Wo": zero}
    z = np.zeros_like(a_next)
    g = lstm_cell_backward(z, da_next, (z, z, a_prev, z, z, np.ones_like(a_next), a_next, z, xt, p))
    return {"dxt": g["dxt"], "da_prev": g["da_prev"], "dWax": g["dWc"][:, n_a:],
            "dWaa": g["dWc"][:, :n_a], "dba": g["dbc"]}
'''
    text = attack("rnn_cell_backward", body).replace("\ndef lstm_cell_backward(", "\ndef _honest_lstm_cell_backward(")
    text += "\n# %%\ndef lstm_cell_backward(da_next, dc_next, cache):\n    raise NotImplementedError\n"
    s = scores(grade_text(grader, text))
    assert s["rnn_cell_backward"] == 0 and s["lstm_cell_backward"] == 0, s
