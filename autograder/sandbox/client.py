"""The grading process's handle on the student side.

`Zygote` starts the warm interpreter once per grading process; `StudentProcess` is one
submission's sandboxed process tree: it loads the cells, runs units in forked children,
answers calls to substituted reference units, enforces wall-clock limits and the
submission's total budget, captures what the student side prints (bounded), and
restarts after anything that breaks the protocol. Every message from the student side
is validated plain data (autograder.codec) and is checked again here before the grader
reads it; nothing is ever unpickled, and no pid the student side reports is trusted.
"""
from __future__ import annotations

import math
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from autograder.codec import (MAX_CASE_OUTPUTS, CodecError, decode, encode, encode_list, encode_map, plain_size,
                              recv_frame, send_encoded, send_message)
from autograder.budgets import cell_budget, wall_limit, wall_why
from autograder.sandbox.limits import BASE_PREFIX, DEFAULTS, ENV_KEEP, remove_tree
from autograder.submission import Cell, cell_code, helper_code, leading_definitions

MAX_CASE_MESSAGE = 64 * 1024 * 1024
# said of a cell stopped at its limit (or crashed) whose leading definitions ran again
KEPT_DEFINITIONS = "the definitions before its first other statement were run again, and count"
MAX_ANSWERED_FRAME = 256 * 1024  # larger calls are served afresh each time (ReferenceServer.answer_frame)
MAX_BATCH = 4096  # messages in one batch (cells of a notebook, cases of a unit)
GRACE = 1.5             # seconds the grader waits beyond a limit the student side applies itself
SPAWN_SECONDS = 15.0    # a new student process must say it is ready within this
OUTPUT_KEEP = 2000      # bytes of fd-level output (os.write, C code) kept per cell / unit
SHOWN_OUTPUT = 500      # characters of printed output kept per case for the feedback

_warned: set = set()


def _warn_once(text: str) -> None:
    if text not in _warned:
        _warned.add(text)
        print(f"rnngrade: warning: {text}", file=sys.stderr)


class ProtocolError(Exception):
    """The student side said something it may not (or died mid-sentence)."""


class SandboxError(RuntimeError):
    """The grader could not start a sandboxed student process: a grader failure, never
    a student's zero (`grade` exits non-zero, `autograde` records a failure)."""


class SandboxUnavailable(SandboxError):
    """The probe found that student code could reach what it must not (fail closed)."""


class _Deadline(Exception):
    """A wall-clock limit of the grader's own ran out."""


def _project_root() -> str:
    """The folder holding the `autograder` package the grader itself runs."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def zygote_environment() -> dict:
    """The zygote starts with a minimal environment: /proc/self/environ of every
    student process shows the environment its interpreter was started with."""
    from autograder.course import COURSE_ENV, reference_root

    env = {k: v for k, v in os.environ.items() if k in ENV_KEEP + ("PYTHONPATH", "PYTHONHOME")}
    env.setdefault("PATH", os.defpath)
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # where the course's reference is (a path, not its content): the file-system plan
    # leaves it out (the zygote runs in the package's folder, not the course's)
    env[COURSE_ENV] = str(reference_root().parent)
    return env


class Zygote:
    MAX_DYING = 8  # killed submissions whose teardown may still be going on

    def __init__(self):
        self._dying: list = []  # (pidfd, host scratch) of killed submissions not yet gone
        self._spare = None      # (config key, pidfd, (socket, output pipe, pid)) started ahead
        self._start()

    def _start(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.sandbox.zygote", str(child.fileno())],
            pass_fds=[child.fileno()], env=zygote_environment(), cwd=_project_root(),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)  # stderr: the grader's (a zygote that fails says why)
        child.close()
        self.control = parent

    def _restart(self) -> None:
        try:
            self.control.close()
            self.process.kill()
            self.process.wait(timeout=5)
        except Exception:
            pass
        self._start()

    def spawn(self, config: dict, fresh: bool = False) -> tuple[socket.socket, int, int]:
        """A new student process: (its socket, the read end of its output pipe, the pid of
        its init process I); the spare one if it was started for this config, unless
        `fresh` (the caller found the spare dead: StudentProcess._load tries once more)."""
        spare, self._spare = self._spare, None
        if spare is not None:
            key, pidfd, made = spare
            if key == encode(config) and not fresh:
                os.close(pidfd)
                self.wait_dead(block=False)
                return made
            self._discard(pidfd, made)
        self.wait_dead(block=False)
        return self._spawn_now(config)

    def prepare_spare(self, config: dict) -> None:
        """Start the next submission's student process now: it builds its private root and
        drops its privileges while the grader records this result and reads the next
        notebook, and the next spawn with this config takes it. It holds nothing of any
        submission until the grader sends it cells."""
        if self._spare is not None:
            return
        try:
            made = self._spawn_now(config)
        except RuntimeError:
            return
        try:
            pidfd = os.pidfd_open(made[2])
        except (AttributeError, OSError):  # no pidfd (or it is gone already): no spare
            made[0].close()
            os.close(made[1])
            return
        self._spare = (encode(config), pidfd, made)

    def _discard(self, pidfd: int, made) -> None:
        try:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except OSError:
            pass
        made[0].close()
        os.close(made[1])
        self.bury(pidfd, None)

    def _spawn_now(self, config: dict) -> tuple[socket.socket, int, int]:
        for attempt in (0, 1):
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            out_read, out_write = os.pipe()
            try:
                socket.send_fds(self.control, [encode(config)], [theirs.fileno(), out_write])
                pid = int.from_bytes(self._recv_exact(4), "little")
                if pid <= 0:
                    raise RuntimeError("the sandbox zygote refused the request")
                return ours, out_read, pid
            except (OSError, RuntimeError):
                ours.close()
                os.close(out_read)
                if attempt:
                    raise RuntimeError("the sandbox zygote died") from None
                self._restart()  # it died (killed, out of memory): start a new one once
            finally:
                theirs.close()
                os.close(out_write)
        raise AssertionError("unreachable")

    def sweep(self, uid: int) -> None:
        """Kill every process of a uid (used only where there is no pid namespace)."""
        try:
            socket.send_fds(self.control, [encode({"op": "sweep", "uid": int(uid)})], [])
            self._recv_exact(4)
        except (OSError, RuntimeError):
            pass

    def _recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.control.recv(n - len(data))
            if not chunk:
                raise RuntimeError("the sandbox zygote died")
            data += chunk
        return data

    def bury(self, pidfd: int, scratch: str | None) -> None:
        """A submission's init process was sent SIGKILL: the kernel ends every process of
        its pid namespace before the pidfd becomes readable. That takes a millisecond or
        two of teardown, which the grader need not wait for now: a spawn waits only for
        those beyond MAX_DYING, close for all. A dying submission may overlap the next
        one's start; nothing passes between them (other uids, pid namespaces, and in a
        shared network namespace no socket() in any student process: docs/SANDBOX.md)."""
        self._dying.append((pidfd, scratch))

    def wait_dead(self, block: bool = True) -> None:
        """Forget the killed submissions that are gone; with `block`, wait for all of them
        (each gets 3 s), else only for the oldest beyond MAX_DYING."""
        still = []
        for k, (pidfd, scratch) in enumerate(self._dying):
            must = block or len(self._dying) - k > self.MAX_DYING
            if select.select([pidfd], [], [], 3.0 if must else 0)[0] or must:
                os.close(pidfd)
                if scratch:
                    remove_tree(scratch)
            else:
                still.append((pidfd, scratch))
        self._dying = still

    def close(self):
        spare, self._spare = self._spare, None
        if spare is not None:
            self._discard(spare[1], spare[2])
        self.wait_dead()
        try:
            self.control.close()
            self.process.wait(timeout=5)
        except Exception:
            self.process.kill()


@dataclass(frozen=True)
class PackedUnit:
    """A unit's spec and hidden case inputs, encoded once per grading process (they are
    the same for every submission): `count` cases."""
    spec: bytes
    cases: bytes
    count: int
    seconds: float = 0.0  # its CPU limit (autograder.budgets); 0: the configured unit_seconds
    why: str = ""         # how that limit was set, for the explanation of a unit stopped at it
    per_call: float = 0.0  # in reference mode: more CPU seconds for each call to a served unit ...
    most: float = 0.0      # ... up to this limit in all (budgets.Budget)

    @classmethod
    def pack(cls, spec: dict, cases: list) -> "PackedUnit":
        return cls(encode(spec), encode(cases), len(cases))


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
    timed_out: bool = False     # it was stopped at its wall-clock limit


class OutputCollector:
    """The read end of the pipe that is stdout and stderr of every student process:
    keeps the first OUTPUT_KEEP bytes of each segment and counts (and discards) the
    rest, so a flood is never held in memory.

    A child that runs several units one after another writes a boundary (a token the
    grader chose for that run) into the pipe after each unit, before it says the unit
    is done: what the next unit writes may already be in the pipe when the grader reads
    that "done", and must not be shown as the finished unit's output."""

    def __init__(self, fd: int | None):
        self.fd = fd
        self.eof = fd is None
        self.kept = bytearray()
        self.dropped = 0
        self.boundary = b""
        self.tail = b""        # the last bytes read, possibly the start of a boundary
        self.segments: list[tuple[bytes, int]] = []  # (kept, dropped) of segments that ended
        if fd is not None:
            os.set_blocking(fd, False)

    def expect(self, boundary: bytes) -> None:
        """From now on split the output at `boundary` (b"": stop splitting)."""
        self._add(self.tail)
        self.boundary, self.tail, self.segments = boundary, b"", []

    def _add(self, data) -> None:
        room = OUTPUT_KEEP - len(self.kept)
        if room > 0:
            self.kept += data[:room]
        self.dropped += max(0, len(data) - max(room, 0))

    def _split(self, chunk: bytes) -> None:
        # the boundary starts with a NUL byte: memchr finds none in a flood of text at once
        # (bytes.find of the whole boundary costs ten times the reading)
        data = self.tail + chunk if self.tail else chunk
        view, start, pos, cut = memoryview(data), 0, 0, len(data)
        while (at := data.find(self.boundary[:1], pos)) >= 0:
            if data.startswith(self.boundary, at):
                self._add(view[start:at])
                self.segments.append((bytes(self.kept), self.dropped))
                self.kept, self.dropped = bytearray(), 0
                start = pos = at + len(self.boundary)
            elif len(data) - at < len(self.boundary) and self.boundary.startswith(data[at:]):
                cut = at  # perhaps a boundary cut by the read: kept back for the next chunk
                break
            else:
                pos = at + 1
        self._add(view[start:cut])
        self.tail = bytes(view[cut:])

    def drain(self) -> None:
        while not self.eof:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                self.eof = True
                return
            if not chunk:
                self.eof = True
                return
            if self.boundary:
                self._split(chunk)
            else:
                self._add(chunk)

    @staticmethod
    def _text(kept: bytes, dropped: int) -> str:
        text = kept.decode("utf-8", errors="replace")
        if dropped:
            text += f"\n... [{dropped} more bytes of output cut]"
        return text

    def take_segment(self) -> str:
        """The output up to the next boundary (all there is, if none came)."""
        self.drain()
        if self.segments:
            return self._text(*self.segments.pop(0))
        return self.take()

    def take(self) -> str:
        self.drain()
        if self.segments:  # segments not taken belong to nobody now
            self.segments = []
        self._add(self.tail)
        self.tail = b""
        text = self._text(bytes(self.kept), self.dropped)
        self.kept, self.dropped = bytearray(), 0
        return text

    def close(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
        self.fd, self.eof = None, True


def _trim(text: str) -> str:
    if len(text) <= SHOWN_OUTPUT:
        return text
    return text[:SHOWN_OUTPUT] + f"\n... [output trimmed: {len(text) - SHOWN_OUTPUT} more characters not shown]"


def _join_output(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


def _host_scratch(path) -> str | None:
    """The host scratch folder I reports (no private root): removed once it is gone. Only
    a student-* folder inside a zygote's own folder in the temporary directory."""
    if not isinstance(path, str) or not path:
        return None
    folder, name = os.path.split(path)
    top, base = os.path.split(folder)
    if (name.startswith("student-") and base.startswith(BASE_PREFIX)
            and os.path.realpath(top) == os.path.realpath(tempfile.gettempdir())):
        return path
    return None


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


class StudentProcess:
    """One submission's sandboxed process (restarted transparently when needed)."""

    def __init__(self, zygote: Zygote, helpers: dict, preamble: str, cells: list, config: dict | None = None,
                 files: dict | None = None):
        self.zygote = zygote
        self.config = dict(DEFAULTS)
        self.config.update(config or {})
        self.helpers, self.preamble, self.cells = helpers, preamble, cells
        self.files = dict(files or {})  # data files for the working directory: name -> text
        self.sock = None
        self.pid = None            # I, the zygote's child (the submission's init process)
        self.init_pid = None       # I, the submission's init process
        self.pidfd = None
        self.pid_namespace = False
        self.scratch = None        # a host scratch folder (only without a private root)
        self.report: dict = {}
        self.output = OutputCollector(None)
        self.cell_reports: list[CellReport] = []
        self.defined: dict = {}  # name -> list of methods (classes) or None (functions)
        self.skipped: dict[int, CellReport] = {}  # cells that ended the student process
        self.notes: list[str] = []
        self.restarts = 0
        self.started = time.monotonic()
        self._queued: list = []  # the rest of a batch of messages already received
        # a unit ran in reference mode in this process: it may hold the reference's outputs
        # (in memory, in scratch files, in a pipe a cell left open), so the next own-mode
        # run, whose printed output and messages are shown, starts in a fresh process
        self.served = False
        # the reference units whose outputs it may hold (served to a unit, or handed to one
        # as a forward's state): a later run of one of those units, in any mode, starts in
        # a fresh process too, else it could return answers another unit's run asked for
        self.holds: set[str] = set()

    # -- plumbing -----------------------------------------------------------------------
    def _recv(self, deadline: float) -> dict:
        """The next message, draining the output pipe meanwhile; _Deadline when time is up."""
        return self._recv_framed(deadline)[0]

    def _recv_framed(self, deadline: float, answer_frame=None) -> tuple[dict | None, bytes | None, bytes | None]:
        """(message, frame, None): the next message, with its frame's bytes when it came
        alone in a frame `answer_frame` may be asked about; or (None, None, reply) for a
        call `answer_frame(frame)` answered from its bytes alone (never decoded)."""
        if self._queued:
            return self._queued.pop(0), None, None
        raw = self._next_frame(deadline)
        frame = bytes(raw) if answer_frame and len(raw) <= MAX_ANSWERED_FRAME else None
        if frame is not None:
            reply = answer_frame(frame)
            if reply is not None:
                return None, None, reply
        message, alone = self._unpack(raw)
        return message, frame if alone else None, None

    def _next_frame(self, deadline: float) -> bytearray:
        """The next frame, not decoded, draining the output pipe meanwhile."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Deadline()
            watch = [self.sock] + ([self.output.fd] if not self.output.eof else [])
            ready, _, _ = select.select(watch, [], [], remaining)
            if self.output.fd is not None and self.output.fd in ready:
                self.output.drain()
            if self.sock in ready:
                try:
                    # the same deadline bounds the whole frame: a peer that sends a large
                    # header and then a byte a second is cut off at it
                    return recv_frame(self.sock, MAX_CASE_MESSAGE, deadline=deadline)
                except socket.timeout:  # (ReadDeadline is one)
                    raise _Deadline() from None

    def _unpack(self, frame) -> tuple[dict, bool]:
        """A frame's message (the first of a batch, the others queued), and whether the
        frame held that message alone."""
        message = decode(frame)
        if not isinstance(message, dict):
            raise ProtocolError("a message that is not a dict")
        if message.get("op") == "batch":  # several messages sent together (runtime.Outbox)
            batch = message.get("messages")
            if not (isinstance(batch, list) and 0 < len(batch) <= MAX_BATCH
                    and all(isinstance(m, dict) and m.get("op") != "batch" for m in batch)):
                raise ProtocolError("a malformed batch of messages")
            self._queued = batch[1:]
            return batch[0], False
        return message, True

    def _send(self, message: dict | bytes, deadline: float) -> None:
        """Send a message (a dict, or one already encoded)."""
        self.sock.settimeout(max(0.05, deadline - time.monotonic()))  # a peer that stops reading
        try:
            if isinstance(message, bytes):
                send_encoded(self.sock, message)
            else:
                send_message(self.sock, message)
        except socket.timeout:
            raise _Deadline() from None

    def time_left(self) -> float:
        return float(self.config["total_seconds"]) - (time.monotonic() - self.started)

    # -- life cycle ---------------------------------------------------------------------
    def _spawn(self, fresh: bool = False) -> None:
        self.kill()
        self.served, self.holds = False, set()
        self.sock, out, self.pid = self.zygote.spawn(self.config, fresh=fresh)
        self.output = OutputCollector(out)
        deadline = time.monotonic() + SPAWN_SECONDS
        message = self._recv(deadline)
        if message.get("op") != "spawned":  # from I, before any student code
            raise ProtocolError(f"unexpected message {message.get('op')!r} at start-up")
        pid = message.get("pid")
        if type(pid) is not int or pid != self.pid:
            raise ProtocolError("the student process reported an impossible pid")
        parent = _ppid(pid)
        if parent is None:  # (as an ordinary user, P may be gone too: the init dies with it)
            raise ProtocolError("the student process ended during its start-up")
        if parent != self.zygote.process.pid:
            raise ProtocolError("the student process reported an impossible pid")
        self.init_pid = pid
        self.pid_namespace = message.get("pid_namespace") is True
        self.scratch = _host_scratch(message.get("scratch"))
        try:
            self.pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.pidfd = None
        if self.config.get("probe"):
            self._await_ready(deadline)  # the probe's process reports at once; others after the load

    def _await_ready(self, deadline: float) -> None:
        """The first message of the first cells child: its report, sent once its sandbox is
        set up and before any student code runs."""
        message = self._recv(deadline)
        if message.get("op") != "ready":
            raise ProtocolError(f"unexpected message {message.get('op')!r} at start-up")
        report = message.get("report")
        self.report = report if isinstance(report, dict) else {}
        self._take_notes()

    def _take_notes(self) -> None:
        if not self.config.get("harden", True):
            text = ("Sandbox hardening is disabled (harden: False): no namespaces, no private root, "
                    "no dedicated uid, no seccomp. Use only for benchmarks and tests.")
            if text not in self.notes:
                self.notes.append(text)
            _warn_once(text)
            return
        for item in self.report.get("fallbacks") or []:
            if isinstance(item, list) and len(item) == 2:
                text = f"Sandbox fallback: {str(item[0])[:200]} is not in force on this machine ({str(item[1])[:300]})."
                if text not in self.notes:
                    self.notes.append(text)
                _warn_once(text)

    def _uid_dropped(self) -> bool:
        return any(str(a).startswith("unprivileged uid") for a in self.report.get("active") or [])

    def start(self) -> list[CellReport]:
        """Start the process and run the preamble and the cells. A cell that ends the
        student process (or leaves it unresponsive) is skipped on the next attempt, so
        it costs only what it defines."""
        labels = ["preamble"] + [c.label for c in self.cells]
        careful = False
        while True:
            reports, culprit, why = self._load(labels, careful)
            if culprit is None:
                break
            if not careful:
                # cells report in batches, so the first cell without a report need not be
                # the one that ended the process: find it again with every cell reporting
                careful = True
                self.restarts += 1
                continue
            status = "timeout" if why == "hang" else "crashed"
            message = (f"did not finish within {float(self.config['cell_seconds']):g} s and the student "
                       "process stopped responding" if why == "hang" else
                       "ended the student process that holds the notebook's state (it was restarted without this cell)")
            self.skipped[culprit] = CellReport(culprit, labels[culprit], status, [{"message": message}],
                                               _trim(self.output.take()))
            self.restarts += 1
        self.cell_reports = [reports[i] for i in sorted(reports)]
        return self.cell_reports

    def _load(self, labels, careful: bool = False):
        """One attempt: (reports, index of the cell to skip next time or None, why)."""
        reports = {i: CellReport(i, labels[i], "not_run") for i in range(len(labels))}
        reports.update(self.skipped)
        total_deadline = self.started + float(self.config["total_seconds"])
        if time.monotonic() >= total_deadline:
            self._budget_note("before its cells could run")
            return reports, None, ""
        budgets = [cell_budget(c.source, self.config) for c in self.cells]
        cells = [{"label": c.label, "source": c.source, "syntax_error": c.syntax_error, "timeout": b.seconds,
                  "code": None if c.syntax_error else cell_code(c), "prefix": leading_definitions(c)}
                 for c, b in zip(self.cells, budgets)]
        for cell in cells:  # the definitions alone get a cell's limit for definitions
            if cell["prefix"]:
                cell["prefix_timeout"] = cell_budget(cell["prefix"], self.config).seconds
        load = {"op": "load", "helpers": self.helpers, "helper_code": helper_code(self.helpers), "files": self.files,
                "preamble": self.preamble, "preamble_code": cell_code(Cell("preamble", self.preamble)),
                "cells": cells, "cell_timeout": float(self.config["cell_seconds"]), "skip": sorted(self.skipped),
                # after a crash, every cell reports at once so the culprit is known
                "careful": careful}
        for fresh in (False, True):  # e.g. a spare that died just as it was taken: once more, a new one
            try:
                self._spawn(fresh=fresh)
                self._send(load, time.monotonic() + SPAWN_SECONDS)
                self._await_ready(time.monotonic() + SPAWN_SECONDS)
                break
            except (OSError, RuntimeError, ProtocolError, CodecError, EOFError, _Deadline) as exc:
                said = self.output.take()  # I's traceback, if it had one
                self.kill()
                if not fresh:
                    continue
                raise SandboxError(f"the student process could not be started ({type(exc).__name__}: {exc})"
                                   + (f"; it said: {said[-1500:]}" if said else "")) from exc
        per_cell = float(self.config["cell_seconds"]) + GRACE
        deadline = min(time.monotonic() + per_cell, total_deadline)
        while True:
            try:
                message = self._recv(deadline)
            except _Deadline:
                why = "budget" if time.monotonic() >= total_deadline - 0.01 else "hang"
                break
            except (EOFError, OSError, CodecError, ProtocolError):
                why = "died"
                break
            op = message.get("op")
            if op == "loaded":
                self.defined = _sanitize_defined(message.get("defined"))
                return reports, None, ""
            index = message.get("index")
            if op == "cell" and type(index) is int and 0 <= index < len(labels) and index not in self.skipped:
                # what a cell child says is checked before anything reads it (student code
                # can write to this socket)
                errors = _sanitize_errors(message.get("errors")
                                          or ([{"message": message["error"]}] if message.get("error") else []))
                before = reports.get(index)
                if before is not None and before.status in ("timeout", "crashed"):
                    # the init ran its leading definitions again (leading_definitions): the
                    # cell stays stopped, and what it defined before its first statement counts
                    if message.get("status") == "ok" and before.errors and KEPT_DEFINITIONS not in before.errors[0].get("message", ""):
                        before.errors[0]["message"] = f"{before.errors[0].get('message', '')}; {KEPT_DEFINITIONS}"
                    deadline = min(time.monotonic() + per_cell, total_deadline)
                    continue
                if message.get("status") == "timeout" and index > 0 and errors:
                    errors[0]["message"] = f"{errors[0].get('message', '')} ({budgets[index - 1].why})"
                reports[index] = CellReport(index, labels[index], _status(message.get("status")), errors,
                                            _trim(_join_output(_text(message.get("output")), self.output.take())))
                deadline = min(time.monotonic() + per_cell, total_deadline)
        self.kill()
        if why == "budget":
            self._budget_note("while its cells were running; the remaining cells were not run")
            return reports, None, ""
        culprit = next((i for i in range(len(labels)) if reports[i].status == "not_run"), None)
        return reports, culprit, why

    def _budget_note(self, when: str) -> None:
        text = f"The submission's total time budget of {float(self.config['total_seconds']):g} s ran out {when}."
        if text not in self.notes:
            self.notes.append(text)

    def kill(self) -> None:
        """End every process of this submission: with a pid namespace, SIGKILL to its init
        ends them all (bury: the teardown is waited for later); without one, wait here
        until they are gone."""
        self._queued = []
        if self.init_pid and self.pid_namespace and self.pidfd is not None:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except (ProcessLookupError, OSError):
                pass
            self.zygote.bury(self.pidfd, self.scratch)
            self.pidfd, self.scratch = None, None
        elif self.init_pid:
            if self.pidfd is not None and not self._uid_dropped():
                # no namespace and no uid of its own: the init kills what its cells forked
                try:
                    signal.pidfd_send_signal(self.pidfd, signal.SIGTERM)
                    select.select([self.pidfd], [], [], 2.5)
                except OSError:
                    pass
            alive = self.pidfd is None or not select.select([self.pidfd], [], [], 0)[0]
            if alive and not self.pid_namespace:
                try:
                    os.killpg(self.init_pid, signal.SIGKILL)  # its group (no pid namespace to end)
                except (ProcessLookupError, PermissionError):
                    pass
            if self.pidfd is not None:
                try:
                    signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                except (ProcessLookupError, OSError):
                    pass
                select.select([self.pidfd], [], [], 3.0)  # pid 1 exits after all its namespace
            elif alive:
                try:
                    os.kill(self.init_pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if not self.pid_namespace and self._uid_dropped():
                self.zygote.sweep(int(self.config["uid_base"]) + self.init_pid)
        elif self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)  # I, before it said it was ready
            except (ProcessLookupError, PermissionError):
                pass
        if self.pidfd is not None:
            os.close(self.pidfd)
        if self.scratch:
            remove_tree(self.scratch)
            self.scratch = None
        if self.sock:
            self.sock.close()
        self.output.close()
        self.sock, self.pid, self.init_pid, self.pidfd = None, None, None, None

    close = kill

    # -- units --------------------------------------------------------------------------
    def run_unit(self, unit: PackedUnit, substitute: dict, serve, gradcheck: bool = True,
                 name: str = "", holds=()) -> UnitRun:
        """Run one unit (`name`) on all cases in a fresh child. `serve(message)` answers calls to
        substituted reference units (it returns the reply dict); a `serve` with an
        `answer_frame(frame)` method is asked first, with a call's frame undecoded, and
        is then given the frame of each message that came alone: `serve(message, frame)`
        (frame None for one that came in a batch). `holds`: the reference units whose
        outputs this run receives (those substituted, and a forward whose state its cases
        carry). A student process that turns out to be broken before the unit said
        anything (an earlier unit killed or damaged it) is restarted and the unit run once more."""
        holds = set(holds) | set(substitute)
        if (not holds and self.served) or (name and name in self.holds):
            self.kill()  # see `served` and `holds`: started again below, its cells run again
        self.holds |= holds
        self.served = self.served or bool(holds)
        run, fresh_failure = self._run_unit_once(unit, substitute, serve, gradcheck)
        if fresh_failure:
            run, _ = self._run_unit_once(unit, substitute, serve, gradcheck)
        return run

    def _unit_seconds(self, unit: PackedUnit | None = None) -> float:
        return unit.seconds if unit is not None and unit.seconds > 0 else float(self.config["unit_seconds"])

    def _unit_budget(self, unit: PackedUnit | None = None) -> tuple[float, str]:
        """CPU seconds a unit may use now (its limit, or what the submission has left) and
        the words for running out of them: which limit, and how it was set."""
        unit_seconds = self._unit_seconds(unit)
        budget = min(unit_seconds, self.time_left())
        why = f" ({unit.why})" if unit is not None and unit.why else ""
        return budget, (f"stopped after the unit's CPU time limit of {budget:g} s{why}" if budget >= unit_seconds else
                        self._out_of_budget())

    def _wall_budget(self, cpu_seconds: float) -> tuple[float, str]:
        """The wall-clock backstop of a unit whose CPU limit (or the most its calls can
        earn) is `cpu_seconds`, within what the submission has left, and its words."""
        wall = wall_limit(cpu_seconds, self.config)
        if wall > self.time_left():
            return max(self.time_left(), 0.0), self._out_of_budget()
        return wall, f"stopped after the unit's wall-clock limit of {wall:g} s ({wall_why(cpu_seconds, self.config)})"

    def _out_of_budget(self) -> str:
        return f"stopped when the submission's total time budget of {float(self.config['total_seconds']):g} s ran out"

    def _run_unit_once(self, unit: PackedUnit, substitute, serve, gradcheck) -> tuple[UnitRun, bool]:
        run = UnitRun(cases=[None] * unit.count)
        total = float(self.config["total_seconds"])
        if self.sock is None and self.time_left() > 0:
            self.start()
        if self.time_left() <= 0:
            run.ended = f"not run: the submission's total time budget of {total:g} s is used up"
            return run, False
        if self.sock is None:
            run.ended = "not run: the student process could not be restarted"
            return run, False
        budget, limit_text = self._unit_budget(unit)
        # in reference mode the unit earns time for each call it makes (budgets.unit_budget):
        # the holder stops it at its base limit plus what its calls earned, this process
        # waits for the most it can earn
        per_call = unit.per_call if substitute and unit.most > budget else 0.0
        most = min(unit.most, self.time_left()) if per_call else budget
        wall, wall_text = self._wall_budget(most)
        calls = 0
        started = time.monotonic()
        deadline = started + wall + GRACE
        heard = False
        self.output.take()  # whatever came before belongs to no unit
        try:
            self._send(encode_map({"op": "unit", "substitute": substitute, "gradcheck": gradcheck, "timeout": budget,
                                   "per_call": per_call, "most": most, "wall": wall},
                                  {"spec": unit.spec, "cases": unit.cases}), deadline)
            # a call whose frame the grader has answered before is answered from its bytes
            # alone (ReferenceServer.answer_frame), without decoding it
            answer_frame = getattr(serve, "answer_frame", None)
            while True:
                message, frame, reply = self._recv_framed(deadline, answer_frame)
                heard = True  # (a frame that does not decode raises before this)
                if reply is not None:
                    calls += 1
                    self._send(reply, deadline)
                    continue
                op = message.get("op")
                if op == "case":
                    index = message.get("index")
                    if not (type(index) is int and 0 <= index < unit.count) or run.cases[index] is not None:
                        raise ProtocolError("unexpected case message")
                    run.cases[index] = _case_run(message)
                elif op in ("call", "new", "getattr", "setattr", "method"):
                    calls += 1
                    self._send(serve(message, frame) if answer_frame else serve(message), deadline)
                elif op in ("unit_done", "unit_started"):
                    pass
                elif op == "unit_exit":
                    run.timed_out = message.get("timed_out") is True
                    # (what the holder says picks only which of the grader's own words)
                    at_cpu = run.timed_out and message.get("limit") == "cpu"
                    if any(c is None for c in run.cases) and not run.ended:
                        run.ended = ((limit_text if at_cpu else wall_text) if run.timed_out else
                                     f"the unit's process ended early: {_exit_status(message.get('status'))}")
                    break
                else:
                    raise ProtocolError(f"unexpected message {str(op)[:40]!r}")
        except _Deadline:
            run.ended = run.ended or wall_text
            run.timed_out = True
            self.restarts += 1
            self.kill()
        except (EOFError, OSError, CodecError, ProtocolError, ValueError, TypeError, KeyError) as exc:
            run.ended = run.ended or (f"the student process broke the grading protocol or ended "
                                      f"({type(exc).__name__}); it was restarted")
            self.restarts += 1
            self.kill()
            if not heard:
                return run, True
        if per_call and run.timed_out and run.ended == limit_text and budget >= self._unit_seconds(unit):
            # the limit it had: its base and what the calls this process served earned
            earned = budget + calls * per_call
            run.ended = (self._out_of_budget() if earned >= most and most < unit.most else
                         f"stopped after the unit's CPU time limit of {min(earned, most):.3g} s, with {calls} call(s) "
                         f"to the grading process made ({unit.why})")
        self._attach_output(run)
        run.wall = time.monotonic() - started
        return run, False


    def run_units(self, requests: list[PackedUnit]) -> list:
        """Run several units in the student's own mode (nothing
        substituted, nothing served, no gradient check) in ONE child, one after another.
        Returns per unit a UnitRun, or None for a unit not reached because the child
        ended earlier (or could not start). The unit that was running when the child was
        stopped gets a UnitRun that says why."""
        runs: list = [None] * len(requests)
        if self.served:
            self.kill()  # see `served`
        if self.sock is None and self.time_left() > 0:
            self.start()
        if self.sock is None or self.time_left() <= 0 or not requests:
            return runs
        budgets = [self._unit_budget(r) for r in requests]
        walls = [self._wall_budget(b) for b, _ in budgets]
        budget = budgets[0][0]
        started = time.monotonic()
        deadline = started + walls[0][0] + GRACE  # the holder applies each unit's limits; this is the backstop
        current = None  # index of the unit whose messages arrive now
        finished = -1   # the last unit that said it was done

        def stopped() -> int | None:
            """The unit that was running when the child stopped: the one whose messages
            were arriving, or else (its start may have been among the messages lost with
            the child) the one after the last that finished."""
            k = current if current is not None else finished + 1
            if k >= len(requests):
                return None
            if runs[k] is None:
                runs[k] = UnitRun(cases=[None] * requests[k].count)
            return k
        self.output.take()
        boundary = b"\0rnngrade-unit-end-" + os.urandom(8).hex().encode() + b"\0"
        self.output.expect(boundary)
        try:
            units = encode_list([encode_map({"gradcheck": False}, {"spec": r.spec, "cases": r.cases}) for r in requests])
            self._send(encode_map({"op": "units", "timeout": budget, "timeouts": [b for b, _ in budgets],
                                   "wall": walls[0][0], "walls": [w for w, _ in walls],
                                   "boundary": boundary}, {"units": units}), deadline)
            while True:
                message = self._recv(deadline)
                op, k = message.get("op"), message.get("unit")
                if op == "unit_started":
                    if type(k) is not int or not 0 <= k < len(requests) or runs[k] is not None:
                        raise ProtocolError("unexpected unit_started message")
                    current, unit_started = k, time.monotonic()
                    runs[k] = UnitRun(cases=[None] * requests[k].count)
                elif op == "case":
                    index = message.get("index")
                    if (k != current or current is None or not (type(index) is int and 0 <= index < len(runs[k].cases))
                            or runs[k].cases[index] is not None):
                        raise ProtocolError("unexpected case message")
                    runs[k].cases[index] = _case_run(message)
                elif op == "unit_done":
                    if k != current or current is None:
                        raise ProtocolError("unexpected unit_done message")
                    self._attach_output(runs[k], self.output.take_segment())
                    runs[k].wall = time.monotonic() - unit_started
                    current, finished = None, k
                    # the next unit's wall-clock backstop, as the holder applies it (or, after the
                    # last unit, this one's while the child exits)
                    next_seconds = walls[min(k + 1, len(walls) - 1)][0]
                    deadline = time.monotonic() + min(next_seconds, max(self.time_left(), 0)) + GRACE
                elif op == "units_exit":
                    k = stopped()
                    if k is not None:
                        run = runs[k]
                        run.timed_out = message.get("timed_out") is True
                        limit_text = budgets[k][1] if message.get("limit") == "cpu" else walls[k][1]
                        run.ended = (limit_text if run.timed_out else
                                     f"the unit's process ended early: {_exit_status(message.get('status'))}")
                        self._attach_output(run)
                        run.wall = time.monotonic() - (unit_started if k == current else started)
                    break
                else:
                    raise ProtocolError(f"unexpected message {str(op)[:40]!r}")
        except _Deadline:
            k = stopped()
            if k is not None:
                runs[k].ended = self._out_of_budget() if self.time_left() <= GRACE else walls[k][1]
                runs[k].timed_out = True
            self.restarts += 1
            self.kill()
        except (EOFError, OSError, CodecError, ProtocolError, ValueError, TypeError, KeyError) as exc:
            k = stopped()
            if k is not None:
                runs[k].ended = (f"the student process broke the grading protocol or ended "
                                 f"({type(exc).__name__}); it was restarted")
            self.restarts += 1
            self.kill()
        self.output.expect(b"")
        return runs

    def _attach_output(self, run: UnitRun, printed: str | None = None) -> None:
        """fd-level output (os.write, C code) goes with the unit's first case that ran."""
        printed = self.output.take() if printed is None else printed
        first = next((c for c in run.cases if c is not None), None)
        if printed and first is not None:
            first.output = _trim(_join_output(first.output, printed))


# --- what the grader reads is checked here ---------------------------------------------------

def _text(value) -> str:
    return value if isinstance(value, str) else ""


# What the holder says about a unit child's end (runtime.exit_description), and nothing
# else: the holder is student-tainted, and this text reaches the feedback.
_EXIT_STATUS = re.compile(
    r"stopped after its (CPU time limit|wall-clock limit|time limit) of [0-9.e+-]{1,12} s"
    r"|stopped at its CPU time limit( of [0-9.e+-]{1,12} s)? \(SIGXCPU\)"
    r"|the process was killed \(SIGKILL: a CPU or memory limit, or a kill from the student's own code\)"
    r"|the process crashed with a segmentation fault \(SIGSEGV\)"
    r"|the process died with signal [A-Z0-9]{1,12}"
    r"|the process ended itself with exit status \d{1,3} \(os\._exit or similar\)")


def _exit_status(value) -> str:
    return value if isinstance(value, str) and _EXIT_STATUS.fullmatch(value) else "(no reason given)"


def _status(value) -> str:
    return value if value in ("ok", "error", "syntax_error", "timeout", "crashed") else "error"


def _sanitize_errors(errors) -> list:
    out = []
    for e in errors if isinstance(errors, list) else []:
        if isinstance(e, dict):
            clean = {k: _text(e.get(k))[:2000] for k in ("type", "message", "traceback") if k in e}
            if type(e.get("line")) is int:
                clean["line"] = e["line"]
            out.append(clean)
        if len(out) >= 3:  # the first is shown; kept for each of up to 10,000 cells
            break
    return out


def _sanitize_defined(defined) -> dict:
    out = {}
    if isinstance(defined, dict):
        for name, methods in defined.items():
            if isinstance(name, str):
                out[name] = [m for m in methods if isinstance(m, str)] if isinstance(methods, list) else None
    return out


def _case_run(message: dict) -> CaseRun:
    ok = message.get("ok") is True
    outputs, error = None, None
    if ok:
        outputs = message.get("outputs")
        if not isinstance(outputs, dict):
            ok, error = False, {"type": "NotPlainData", "message": "the outputs did not arrive as a dict"}
        elif plain_size(outputs, MAX_CASE_OUTPUTS) > MAX_CASE_OUTPUTS:  # not kept: see MAX_CASE_OUTPUTS
            ok, error = False, {"type": "NotPlainData", "message": f"the outputs take more than "
                                f"{MAX_CASE_OUTPUTS // 2**20} MiB; at most that may cross back"}
        else:
            mutated = outputs.get("__mutated__")
            if mutated is not None:
                outputs["__mutated__"] = [m for m in mutated if isinstance(m, str)] if isinstance(mutated, list) else []
            if "__gradcheck__" in outputs and not isinstance(outputs["__gradcheck__"], dict):
                del outputs["__gradcheck__"]
    if not ok and error is None:
        raw = message.get("error")
        if isinstance(raw, dict):
            error = {k: _text(raw.get(k))[:3000] for k in ("type", "message", "traceback", "stage", "snippet")
                     if k in raw}
        else:
            error = {"type": "Error", "message": str(raw)[:500] if isinstance(raw, (str, int, float)) else ""}
    cpu = message.get("cpu")
    cpu = float(cpu) if type(cpu) in (int, float) and math.isfinite(cpu) and cpu >= 0 else 0.0
    return CaseRun(ok=ok, outputs=outputs if ok else None, error=error, cpu=cpu,
                   output=_trim(_text(message.get("output"))))


# --- what is really in force ------------------------------------------------------------------

UNSAFE_NOTE = ("UNSAFE: graded with --unsafe-no-sandbox although the sandbox probe found that student code "
               "could reach what it must not: {missing}. This result is not protected against a hostile submission.")

_PROBES: dict = {}


def _probe_key(config: dict) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in config.items()
                        if k not in ("unsafe_no_sandbox",)))


def probe_sandbox(config: dict | None = None, zygote: Zygote | None = None, also=()) -> dict:
    """Start a student process that checks every protection from inside and tries the
    attacks, then look on the host for what got through. Returns {"active": [...],
    "fallbacks": [[protection, why], ...], "properties": [{"name", "ok", "layers",
    "detail"}], "missing": [names of properties not in force]}. Cached per config: a probe
    that tried to read at least the files of `also` answers for it (the batch's probe, with
    the gradebook and submissions, answers for its workers' Graders)."""
    config = dict(config or {})
    wanted = [os.path.abspath(f) for f in also]
    probes = _PROBES.setdefault(_probe_key(config), [])   # [(files read, report)]
    for files, report in probes:
        if files.issuperset(wanted):
            return report
    report = _run_probe(config, zygote, wanted)
    probes.append((frozenset(wanted), report))
    return report


def _host_folders() -> list[str]:
    """The places of a host a process can usually write to, and the checkout."""
    folders = [tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~"), os.getcwd()]
    if os.path.basename(_project_root()) not in ("site-packages", "dist-packages"):  # a checkout, not an install
        folders.append(_project_root())
    out = []
    for folder in folders:
        real = os.path.realpath(folder)
        if os.path.isdir(real) and real not in out:
            out.append(real)
    return out


def _grader_files() -> list[str]:
    """Files the student side must never read: the grader's source and the reference."""
    from autograder.course import reference_root

    files = [os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "grader.py")]
    folder = str(reference_root())  # the course's assignments: solutions and hidden cases
    files += sorted(os.path.join(root, name) for root, _, names in os.walk(folder)
                    for name in names if name.endswith(".py"))[:20]
    return [f for f in files if os.path.isfile(f)]


PROBE_PREFIX = ".rnngrade-probe-"


def _sweep_stale_markers(folder: str) -> None:
    """Remove the markers of probes whose grader was killed before it could (SIGKILL
    skips the finally that removes them): a marker names its grader's pid."""
    try:
        names = [n for n in os.listdir(folder) if n.startswith(PROBE_PREFIX)]
    except OSError:
        return
    for name in names:
        pid = name[len(PROBE_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or os.path.exists(f"/proc/{pid}"):
            continue
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass


def _run_probe(config: dict, zygote: Zygote | None, also: list[str]) -> dict:
    nonce = f"{PROBE_PREFIX}{os.getpid()}-{time.monotonic_ns()}"
    markers, writes = [], []
    for folder in _host_folders():
        _sweep_stale_markers(folder)
        writes.append(os.path.join(folder, nonce + "-written"))
        marker = os.path.join(folder, nonce + "-readable")
        try:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, b"a world-readable file of the grader's host")
            os.close(fd)
            os.chmod(marker, 0o644)
            markers.append(marker)
        except OSError:
            pass  # a folder the grader cannot write to (a read-only checkout)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.setblocking(False)
    # and a Unix datagram socket anyone may write to, as /dev/log or a desktop bus is
    unix_folder = tempfile.mkdtemp(prefix=nonce)
    os.chmod(unix_folder, 0o711)
    unix_path = os.path.join(unix_folder, "dgram")
    unix_listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    unix_listener.bind(unix_path)
    os.chmod(unix_path, 0o777)
    unix_listener.setblocking(False)
    own = zygote is None
    zygote = zygote or Zygote()
    report: dict = {}
    try:
        targets = {"read": markers + _grader_files() + also, "write": writes, "port": listener.getsockname()[1],
                   "unix": unix_path}
        student = StudentProcess(zygote, {}, "", [], dict(config, probe=targets))
        try:
            student._spawn()
            report = student.report
        except (OSError, RuntimeError, ProtocolError, CodecError, EOFError, _Deadline) as exc:
            memory = int(config.get("memory_mb", DEFAULTS["memory_mb"]))
            hint = (f" (memory_mb is {memory}: a student process, Python with numpy, needs about 110 MB of "
                    "address space before any student code; raise --memory-mb)" if memory < 256 else "")
            raise SandboxError(f"the sandbox probe could not start a student process "
                               f"({type(exc).__name__}: {exc}){hint}: {student.output.take()[-1500:]}") from exc
        finally:
            student.kill()
        try:
            listener.accept()[0].close()
            connected = True
        except (BlockingIOError, OSError):
            connected = False
        try:
            connected = connected or bool(unix_listener.recv(64))
        except (BlockingIOError, OSError):
            pass
    finally:
        listener.close()
        unix_listener.close()
        shutil.rmtree(unix_folder, ignore_errors=True)
        if own:
            zygote.close()
        written = [w for w in writes if os.path.lexists(w)]
        for path in markers + written:
            try:
                os.unlink(path)
            except OSError:
                pass
    active = [str(a) for a in report.get("active") or []]
    fallbacks = [[str(x) for x in f] for f in report.get("fallbacks") or [] if isinstance(f, list)]
    properties = _properties(active, fallbacks, written, connected)
    return {"active": active, "fallbacks": fallbacks, "properties": properties,
            "missing": [p["name"] for p in properties if p["essential"] and not p["ok"]]}


def _properties(active: list, fallbacks: list, written: list, connected: bool) -> list[dict]:
    """What the probe found, each property with the layers that provide it here."""
    def on(prefix: str) -> bool:
        return any(a.startswith(prefix) for a in active)

    def off(prefix: str) -> str:
        return next((f"{w}: {why}" for w, why in fallbacks if w.startswith(prefix)), "")

    def layers(*pairs) -> list[str]:
        return [name for name, present in pairs if present]

    root, landlock = on("private read-only root"), on("Landlock ABI")
    landlock_tcp = any(a.startswith("Landlock ABI") and "TCP" in a for a in active)
    scoped = any(a.startswith("Landlock ABI") and "signal" in a for a in active)
    seccomp = on("seccomp:")
    uid = on("unprivileged uid")
    nproc = on("RLIMIT_NPROC")
    pid_ns = on("pid namespace")
    props = [
        ("the reference, the grader, other submissions and the gradebook are unreadable", True,
         on("checked from inside: reads of the checkout"), off("checked from inside: reads"),
         layers(("private root (mount namespace)", root), ("Landlock", landlock))),
        ("writes outside scratch blocked (/tmp, /var/tmp, /dev/shm, home, working folder, checkout)", True,
         on("checked from inside: writes outside scratch") and not written,
         f"written on the host: {written}" if written else off("checked from inside: writes"),
         layers(("read-only private root (mount namespace)", root), ("Landlock", landlock))),
        ("network closed", True, on("checked from inside: network blocked") and not connected,
         "the grader's listener was reached" if connected else off("checked from inside: network"),
         layers(("network namespace", on("network namespace")), ("seccomp: no new sockets", seccomp),
                ("Landlock: no TCP", landlock_tcp))),
        ("no System V IPC or message queue shared with other submissions", True,
         on("checked from inside: System V IPC blocked") or on("ipc namespace"),
         off("checked from inside: System V IPC"),
         layers(("ipc namespace", on("ipc namespace")), ("seccomp: no System V IPC", seccomp))),
        ("no process creation outside a unit's own child", False,
         on("checked from inside: fork in a cell child blocked") and on("checked from inside: fork in a unit child"),
         off("checked from inside: fork"), layers(("RLIMIT_NPROC for a uid of its own", nproc),
                                                  ("seccomp in unit children", seccomp))),
        ("nothing outlives the submission", False, pid_ns or (uid and nproc) or scoped, off("pid namespace"),
         layers(("pid namespace", pid_ns), ("uid sweep (kill(-1) as the student uid)", uid and not pid_ns),
                ("the init, a subreaper out of the student's reach (Landlock scoping), ends every descendant",
                 scoped and not pid_ns and not uid))),
        ("the grader's processes are invisible and cannot be signalled", False,
         on("checked from inside: other processes in /proc blocked") and (pid_ns or scoped or uid),
         off("checked from inside: other processes"),
         layers(("pid namespace", pid_ns), ("Landlock: no /proc, signal scoping", landlock and not pid_ns and scoped),
                ("dedicated uid", uid and "user namespace" not in " ".join(active)))),
        ("no exec, ptrace or kernel administration", False, seccomp and on("checked from inside: exec blocked"),
         off("seccomp") or off("checked from inside: exec"), layers(("seccomp", seccomp))),
    ]
    return [{"name": name, "essential": essential, "ok": bool(ok), "detail": detail if not ok else "",
             "layers": found} for name, essential, ok, detail, found in props]


def sandbox_advice() -> str:
    from autograder.sandbox.limits import userns_refusal_hint

    hint = userns_refusal_hint()
    return ("To get it: run as root on the host; or, as an ordinary user, allow unprivileged user namespaces"
            + (f" ({hint})" if hint else "") + "; or, in a container, let it create namespaces "
            "(docker run --cap-add SYS_ADMIN, or --security-opt seccomp=unconfined for user namespaces) "
            "or run a kernel with Landlock (Linux >= 5.13; >= 6.7 for its network rules) and give the "
            "container's root CAP_SETUID. `rnngrade sandbox` prints what is in force on this machine.")


def require_sandbox(config: dict | None = None, zygote: Zygote | None = None, also=()) -> dict:
    """Fail closed: raise SandboxUnavailable unless the probe shows the hidden reference,
    other submissions and the gradebook unreachable and the network closed. `also`:
    more files student code must not read (the gradebook, submissions)."""
    found = probe_sandbox(config, zygote, also)
    if found["missing"]:
        details = "; ".join(f"{p['name']} ({p['detail'] or 'not in force'})" for p in found["properties"]
                            if p["name"] in found["missing"])
        raise SandboxUnavailable(
            f"refusing to grade: the sandbox is not safe on this machine: {details}. {sandbox_advice()} "
            "To grade anyway, knowing a submission can read the reference and the gradebook, pass "
            "--unsafe-no-sandbox (it is stated in every result).")
    return found
