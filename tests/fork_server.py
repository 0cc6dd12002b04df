"""A Python process that imports what a test's children need once, then runs each of them
as a fork of itself (`python -c CODE ARGS...` without the interpreter's start-up and
imports, which were half of the CPU of a short child). Used by the tests that start many
short Python children: the attacks on the grading process (test_harden.py), the
reference mutants' pytest runs (test_reference_mutations.py) and the graders sharing one
gradebook (test_gradebook_db.py).

Each request is a JSON line: code, argv, the files for the child's stdout and stderr,
and optionally the child's whole environment and its working directory. The server
answers with the child's pid (the child leads a session of its own, so a test can kill
its process group), then its exit status.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVER = """
import atexit, json, os, sys, traceback
{preload}
for line in sys.stdin:
    request = json.loads(line)
    if "wait" in request:  # for a child started with `detach`
        print(os.waitstatus_to_exitcode(os.waitpid(request["wait"], 0)[1]), flush=True)
        continue
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setsid()
            if request.get("cwd"):
                os.chdir(request["cwd"])
            if request.get("env") is not None:
                os.environ.clear()
                os.environ.update(request["env"])
            for fd, name, flags in ((0, os.devnull, os.O_RDONLY), (1, request["stdout"], os.O_WRONLY | os.O_CREAT),
                                    (2, request["stderr"], os.O_WRONLY | os.O_CREAT)):
                os.dup2(os.open(name, flags, 0o600), fd)
            sys.argv = ["-c", *request["argv"]]
            exec(compile(request["code"], "<string>", "exec"), {{"__name__": "__main__"}})
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
        finally:
            try:  # it ends as an interpreter does: its threads joined (concurrent.futures'
                import threading  # exit hooks run with them), then the atexit functions
                threading._shutdown()
            finally:
                atexit._run_exitfuncs()
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
    print(pid, flush=True)
    if not request.get("detach"):
        print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""


class ForkServer:
    def __init__(self, preload: str, env: dict | None = None, cwd: Path | None = None):
        """`preload`: the import statements run once, before any child is forked."""
        self.process = subprocess.Popen([sys.executable, "-c", SERVER.format(preload=preload)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=cwd)

    def run(self, code: str, argv: list[str], timeout: float, env: dict | None = None,
            on_timeout=None) -> subprocess.CompletedProcess:
        """`code` as `python -c code argv...` would run it, in a fork of the server. After
        `timeout` s its process group is killed and `on_timeout(stderr)` called (it may
        raise, e.g. pytest.fail); `env`: the child's whole environment instead of the
        server's."""
        with self.start(code, argv, env) as child:
            return child.wait(timeout, on_timeout)

    def start(self, code: str, argv: list[str], env: dict | None = None, cwd: Path | None = None) -> "Forked":
        """As `run`, without waiting, in `cwd` (else the server's): the child, whose `pid`
        leads its process group (a test may signal it while it runs). One child at a time:
        wait for it before the next."""
        return Forked(self.process, code, argv, env, cwd)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)

    def spawn(self, code: str, argv: list[str], env: dict | None = None, cwd: Path | None = None) -> "Spawned":
        """As `start`, but several may run at once (graders at work together): the server
        answers with the child's pid only, and its exit status when `Spawned.wait` asks for
        it. A child from `start` must have been waited for before a `spawn`, or before a
        spawned child's `wait` (the server is waiting for it, and their exit statuses would
        come back in the wrong order)."""
        tmp = Path(tempfile.mkdtemp(prefix="forked-"))
        out, err = tmp / "stdout", tmp / "stderr"
        out.touch(), err.touch()   # readable before the child opens them
        return Spawned(self, _fork(self.process, code, argv, env, cwd, out, err, detach=True), tmp)


def _fork(server: subprocess.Popen, code: str, argv: list[str], env: dict | None, cwd: Path | None,
          out: Path, err: Path, detach: bool = False) -> int:
    """Ask the server for a child running `code`; its pid."""
    request = {"code": code, "argv": argv, "stdout": str(out), "stderr": str(err), "env": env,
               "cwd": str(cwd) if cwd else None, "detach": detach}
    server.stdin.write(json.dumps(request) + "\n")
    server.stdin.flush()
    return int(server.stdout.readline())


class Forked:
    """A child of the fork server, running; its stdout and stderr go to files until it ends."""

    def __init__(self, server: subprocess.Popen, code: str, argv: list[str], env: dict | None, cwd: Path | None):
        self.server, self.argv = server, argv
        self.folder = tempfile.TemporaryDirectory()
        self.out, self.err = Path(self.folder.name) / "stdout", Path(self.folder.name) / "stderr"
        self.pid = _fork(server, code, argv, env, cwd, self.out, self.err)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """Its exit status once it has ended, else None."""
        if self.returncode is None and select.select([self.server.stdout], [], [], 0)[0]:
            self.returncode = int(self.server.stdout.readline())
        return self.returncode

    def wait(self, timeout: float, on_timeout=None) -> subprocess.CompletedProcess:
        """Its result; after `timeout` s its process group is killed and `on_timeout(stderr)`
        called (it may raise)."""
        if self.returncode is None:
            if not select.select([self.server.stdout], [], [], timeout)[0]:
                self.kill()
                if on_timeout is not None:
                    on_timeout(self.err.read_text())
                return subprocess.CompletedProcess(self.argv, -signal.SIGKILL, self.out.read_text(),
                                                   self.err.read_text())
            self.returncode = int(self.server.stdout.readline())
        return subprocess.CompletedProcess(self.argv, self.returncode, self.out.read_text(), self.err.read_text())

    def kill(self) -> None:
        """SIGKILL to its process group, then its end collected."""
        if self.returncode is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.returncode = int(self.server.stdout.readline())

    def __enter__(self) -> "Forked":
        return self

    def __exit__(self, *exc) -> None:
        self.kill()  # (nothing if it has ended)
        self.folder.cleanup()


class Spawned:
    """A child from `ForkServer.spawn`, used as a `subprocess.Popen` with text pipes is
    (`communicate`, `wait`, `send_signal`, `kill`, `returncode`); its stdout is a file,
    read by `readline` as the child writes it."""

    def __init__(self, server: ForkServer, pid: int, folder: Path):
        self.server, self.pid, self.folder = server, pid, folder
        self.returncode: int | None = None
        self._exit = os.pidfd_open(pid)   # readable once the child has ended (not being its parent)

    def _ended(self, timeout: float = 0) -> bool:
        return bool(select.select([self._exit], [], [], timeout)[0])

    def readline(self, timeout: float = 60) -> str:
        """The first line the child printed (flushed), once it has; else what it printed
        when it ended or when `timeout` s have passed."""
        deadline = time.monotonic() + timeout
        while True:
            text = (self.folder / "stdout").read_text()
            if "\n" in text:
                return text.split("\n")[0] + "\n"
            if self._ended(0.01) or time.monotonic() > deadline:
                return (self.folder / "stdout").read_text()

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        """The exit status; after `timeout` s the child's process group is killed and
        `subprocess.TimeoutExpired` raised."""
        if self.returncode is None:
            expired = timeout is not None and not self._ended(timeout)
            if expired:
                self.kill()
            self.server.process.stdin.write(json.dumps({"wait": self.pid}) + "\n")
            self.server.process.stdin.flush()
            self.returncode = int(self.server.process.stdout.readline())
            os.close(self._exit)
            if expired:
                raise subprocess.TimeoutExpired(["fork", str(self.pid)], timeout)
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.wait(timeout)
        outs = (self.folder / "stdout").read_text(), (self.folder / "stderr").read_text()
        shutil.rmtree(self.folder, ignore_errors=True)
        return outs
