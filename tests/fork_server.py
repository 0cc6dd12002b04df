"""A Python process that imports what a test's children need once, then runs each of them
as a fork of itself (`python -c CODE ARGS...` without the interpreter's start-up and
imports, which were half of the CPU of a short child). Used by the tests that start many
short Python children: the attacks on the grading process (test_harden.py) and the
reference mutants' pytest runs (test_reference_mutations.py).

Each request is a JSON line: code, argv, the files for the child's stdout and stderr,
and optionally the child's whole environment. The server answers with the child's pid
(the child leads a session of its own, so a test can kill its process group), then its
exit status.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

SERVER = """
import atexit, json, os, sys, traceback
{preload}
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setsid()
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
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    print(pid, flush=True)
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
        with tempfile.TemporaryDirectory() as tmp:
            out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
            request = {"code": code, "argv": argv, "stdout": str(out), "stderr": str(err), "env": env}
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            pid = int(self.process.stdout.readline())
            if not select.select([self.process.stdout], [], [], timeout)[0]:
                os.killpg(pid, signal.SIGKILL)
                self.process.stdout.readline()
                if on_timeout is not None:
                    on_timeout(err.read_text())
                return subprocess.CompletedProcess(argv, -signal.SIGKILL, out.read_text(), err.read_text())
            returncode = int(self.process.stdout.readline())
            return subprocess.CompletedProcess(argv, returncode, out.read_text(), err.read_text())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)
