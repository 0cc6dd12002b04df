"""The grading process's handle on the student side.

`Zygote` starts the warm interpreter once per grading process; `StudentProcess` is one
submission's sandboxed process: it loads the cells, runs units in forked children,
answers calls to substituted reference units, enforces wall-clock limits, and restarts
after anything that breaks the protocol. Every message from the student side is
validated plain data (autograder.codec); nothing is ever unpickled.
"""
from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from autograder.codec import CodecError, encode, recv_message, send_message
from autograder.sandbox.limits import DEFAULTS

MAX_CASE_MESSAGE = 64 * 1024 * 1024


class ProtocolError(Exception):
    """The student side said something it may not (or died mid-sentence)."""


class Zygote:
    def __init__(self):
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.sandbox.zygote", str(child.fileno())],
            pass_fds=[child.fileno()], env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        child.close()
        self.control = parent

    def spawn(self, config: dict) -> tuple[socket.socket, int]:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        socket.send_fds(self.control, [encode(config)], [theirs.fileno()])
        theirs.close()
        pid = int.from_bytes(self._recv_exact(4), "little")
        return ours, pid

    def _recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.control.recv(n - len(data))
            if not chunk:
                raise RuntimeError("the sandbox zygote died")
            data += chunk
        return data

    def close(self):
        try:
            self.control.close()
            self.process.wait(timeout=5)
        except Exception:
            self.process.kill()


@dataclass
class CellReport:
    index: int
    label: str
    status: str  # ok, error, syntax_error, timeout, crashed, not_run
    errors: list = field(default_factory=list)
    output: str = ""


@dataclass
class CaseRun:
    ok: bool
    outputs: dict | None = None
    error: dict | None = None
    cpu: float = 0.0
    output: str = ""


@dataclass
class UnitRun:
    cases: list                 # CaseRun or None (not reached)
    ended: str = ""             # why the unit child stopped early, if it did
    wall: float = 0.0


def _wait(sock, deadline: float) -> bool:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    ready, _, _ = select.select([sock], [], [], remaining)
    return bool(ready)


class StudentProcess:
    """One submission's sandboxed process (restarted transparently when needed)."""

    def __init__(self, zygote: Zygote, helpers: dict, preamble: str, cells: list, config: dict | None = None):
        self.zygote = zygote
        self.config = dict(DEFAULTS, cell_seconds=10.0, unit_seconds=10.0, total_seconds=120.0)
        self.config.update(config or {})
        self.helpers, self.preamble, self.cells = helpers, preamble, cells
        self.sock = None
        self.pid = None
        self.cell_reports: list[CellReport] = []
        self.defined: dict = {}  # name -> list of methods (classes) or None (functions)
        self.restarts = 0
        self.started = time.monotonic()

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> list[CellReport]:
        self.kill()
        self.sock, self.pid = self.zygote.spawn(self.config)
        self.sock.settimeout(float(self.config["cell_seconds"]) + 30.0)  # a half-sent frame cannot hang us
        cells = [{"label": c.label, "source": c.source, "syntax_error": c.syntax_error} for c in self.cells]
        send_message(self.sock, {"op": "load", "helpers": self.helpers, "preamble": self.preamble,
                                 "cells": cells, "cell_timeout": float(self.config["cell_seconds"])})
        labels = ["preamble"] + [c.label for c in self.cells]
        reports = {i: CellReport(i, labels[i], "not_run") for i in range(len(labels))}
        per_cell = float(self.config["cell_seconds"]) + 2.0
        deadline = time.monotonic() + per_cell
        while True:
            if not _wait(self.sock, deadline):
                break  # the holder itself hung outside a cell: give up on the rest
            try:
                message = recv_message(self.sock, MAX_CASE_MESSAGE)
            except (EOFError, CodecError, OSError):
                break
            if message.get("op") == "loaded":
                defined = message.get("defined")
                self.defined = defined if isinstance(defined, dict) else {}
                break
            if message.get("op") == "cell" and isinstance(message.get("index"), int) and message["index"] in reports:
                i = message["index"]
                errors = message.get("errors") or ([{"message": message["error"]}] if message.get("error") else [])
                reports[i] = CellReport(i, labels[i], str(message.get("status")), errors, str(message.get("output", ""))[:5000])
                deadline = time.monotonic() + per_cell
        self.cell_reports = [reports[i] for i in sorted(reports)]
        return self.cell_reports

    def kill(self) -> None:
        if self.pid:
            try:
                os.killpg(self.pid, signal.SIGKILL)  # the student process leads its own group
            except (ProcessLookupError, PermissionError):
                pass
        if self.sock:
            self.sock.close()
        self.sock, self.pid = None, None

    close = kill

    def time_left(self) -> float:
        return float(self.config["total_seconds"]) - (time.monotonic() - self.started)

    # -- units --------------------------------------------------------------------------
    def run_unit(self, spec: dict, cases: list, substitute: dict, serve, gradcheck: bool = True) -> UnitRun:
        """Run one unit on all cases in a fresh child. `serve(message)` answers calls to
        substituted reference units (it returns the reply dict)."""
        if self.sock is None:
            self.start()
        budget = min(float(self.config["unit_seconds"]), max(self.time_left(), 0.0))
        run = UnitRun(cases=[None] * len(cases))
        if budget <= 0:
            run.ended = "the submission's total time budget is used up"
            return run
        started = time.monotonic()
        deadline = started + budget
        try:
            send_message(self.sock, {"op": "unit", "spec": spec, "cases": cases, "substitute": substitute,
                                     "gradcheck": gradcheck, "timeout": budget})
            child = None
            while True:
                if not _wait(self.sock, deadline):
                    run.ended = f"stopped after the unit's time limit of {budget:g} s"
                    if child:
                        _kill(child)
                    # the parent reports the exit next; give it a moment, then restart
                    self._drain_until_exit(time.monotonic() + 2.0)
                    break
                message = recv_message(self.sock, MAX_CASE_MESSAGE)
                op = message.get("op")
                if op == "unit_started" and child is None:
                    child = int(message["pid"])
                elif op == "case":
                    index = message.get("index")
                    if not (isinstance(index, int) and 0 <= index < len(cases)) or run.cases[index] is not None:
                        raise ProtocolError("unexpected case message")
                    run.cases[index] = _case_run(message)
                elif op in ("call", "new", "getattr", "setattr", "method"):
                    send_message(self.sock, serve(message))
                elif op == "unit_done":
                    pass
                elif op == "unit_exit":
                    if any(c is None for c in run.cases) and not run.ended:
                        run.ended = f"the unit's process ended early: {message.get('status')}"
                    break
                else:
                    raise ProtocolError(f"unexpected message {op!r}")
        except (EOFError, OSError, CodecError, ProtocolError, ValueError, TypeError, KeyError) as exc:
            run.ended = run.ended or f"the student process broke the grading protocol ({type(exc).__name__}); it was restarted"
            self.restarts += 1
            self.kill()
        run.wall = time.monotonic() - started
        return run

    def _drain_until_exit(self, deadline: float) -> None:
        while _wait(self.sock, deadline):
            message = recv_message(self.sock, MAX_CASE_MESSAGE)
            if message.get("op") == "unit_exit":
                return
        raise ProtocolError("no exit report after a time-out")


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _case_run(message: dict) -> CaseRun:
    ok = message.get("ok") is True
    return CaseRun(ok=ok, outputs=message.get("outputs") if ok else None,
                   error=None if ok else message.get("error"),
                   cpu=float(message.get("cpu") or 0.0), output=str(message.get("output") or "")[:5000])
