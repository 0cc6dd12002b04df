"""Runs inside the untrusted student process. Holds no reference code and no expected
values: it receives cell sources and case inputs, and sends back plain data only.

Cells run fork-and-commit: the submission's init (trusted, it never runs student code)
forks a cells child that sets up its own sandbox and runs the cells; a child that
finishes them in time becomes the holder, one that crashes or runs past a cell's time
is killed and the init forks a fresh one without that cell. No student code can catch
or undo that time limit.

Everything here runs after the kernel-level restrictions of limits.py are in force;
nothing here is trusted by the grader (student code can patch this module): it is the
honest path, and the grader validates whatever arrives.
"""
from __future__ import annotations

import ast
import builtins
import io
import marshal
import os
import select
import signal
import sys
import time
import traceback
import types

import numpy as np

from autograder.codec import (MAX_CASE_OUTPUTS, CodecError, encode, encode_batch, recv_message, send_encoded,
                              send_message)
from autograder.driver import ContractError, NoIPython, SetupError, run_case

from autograder.sandbox import limits

OUTPUT_LIMIT = 4000  # characters of printed output kept per cell / unit
URGENT_CASE_CPU = 0.002  # a case this slow is reported at once (a frame costs the grader ~50 us)
MAX_OUTPUT_BYTES = MAX_CASE_OUTPUTS  # one case's encoded outputs (the grader refuses more)


class BoundedWriter(io.TextIOBase):
    """stdout/stderr replacement: keeps the first OUTPUT_LIMIT characters, counts the rest
    (and the print calls made once it was full: see print_within)."""

    def __init__(self):
        self.parts, self.kept, self.dropped, self.prints_cut = [], 0, 0, 0

    @property
    def full(self) -> bool:
        return self.kept >= OUTPUT_LIMIT

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        room = OUTPUT_LIMIT - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def take(self) -> str:
        text = "".join(self.parts)
        if self.dropped or self.prints_cut:
            more = [f"{self.dropped} more characters"] if self.dropped else []
            more += [f"{self.prints_cut} more print calls"] if self.prints_cut else []
            text += f"\n... [{' and '.join(more)} of output cut]"
        self.parts, self.kept, self.dropped, self.prints_cut = [], 0, 0, 0
        return text


def print_within(writer: BoundedWriter) -> None:
    """Make `print` count its calls once `writer` (stdout and stderr) is full, without
    formatting their arguments. A debug `print(locals())` in a loop formatted arrays for
    text nobody would see, and its CPU time stopped correct units at their limits."""
    real_print = builtins.print

    def print(*args, sep=" ", end="\n", file=None, flush=False):
        if writer.full and (sys.stdout if file is None else file) is writer:  # (not a redirect_stdout's buffer)
            writer.prints_cut += 1
            return
        real_print(*args, sep=sep, end=end, file=file, flush=flush)

    builtins.print = print


def _student_traceback(exc: BaseException) -> str:
    """The traceback trimmed to frames in the student's own cells (their files are
    named "<cell defining f>", "<cell starting `x = 1`>", or in a .py "<lines 3-9>",
    "<file (lines 3-9)>"); empty when the error was raised outside them."""
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if f.filename.startswith(("<cell ", "<lines ", "<file "))]
        return "".join(traceback.format_list(frames[-6:])).rstrip()
    except BaseException:  # a hostile exception must not take the runtime down
        return ""


def describe_exception(exc: BaseException) -> dict:
    try:
        message = str(exc)[:500]
    except BaseException:
        message = "<unprintable>"
    if isinstance(exc, MemoryError):
        message += f" (the sandbox caps each process at {_MEMORY_NOTE['mb']} MiB)"
    return {"type": type(exc).__name__, "message": message, "traceback": _student_traceback(exc)[-3000:]}


_MEMORY_NOTE = {"mb": limits.DEFAULTS["memory_mb"]}


def install_helpers(helpers: dict, code: dict | None = None) -> None:
    """The assignment's helper modules, importable by name (`code`: compiled by the grader)."""
    for name, source in helpers.items():
        module = types.ModuleType(name)
        module.__file__ = f"<{name}>"
        shipped = (code or {}).get(name)
        exec(marshal.loads(shipped) if shipped else compile(source, f"<{name}.py>", "exec", dont_inherit=True),
             module.__dict__)
        sys.modules[name] = module


def install_files(files: dict) -> None:
    """The assignment's data files (name -> text), written into the working directory
    (the submission's private scratch) where the student's code opens them by name."""
    for name, text in files.items():
        if os.path.basename(name) != name or name in ("", ".", ".."):
            raise ValueError(f"data file name {name!r} is not a plain file name")
        with open(name, "w", encoding="utf-8") as handle:
            handle.write(text)


def new_namespace() -> dict:
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    namespace["get_ipython"] = lambda: NoIPython()
    return namespace


def _failing_line(exc: BaseException, filename: str) -> int | None:
    """The line of the cell's own code (top frame in the cell) where exc was raised."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename and tb.tb_frame.f_code.co_name == "<module>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def run_statements(source: str, label: str, namespace: dict, code: bytes | None = None) -> list[dict]:
    """Run a cell so that an error costs only its top-level statement: the whole cell
    runs as one code object (fast, and what almost every cell needs; `code` is that
    object compiled and marshalled by the grader); if a statement raises, the statements
    after it run one by one, each under the same rule."""
    filename = f"<{label}>"
    try:
        whole = marshal.loads(code) if code else compile(source, filename, "exec", dont_inherit=True)
    except BaseException:  # not loadable here: compile it
        whole = compile(source, filename, "exec", dont_inherit=True)
    try:
        exec(whole, namespace)
        return []
    except BaseException as exc:  # SystemExit too: it costs only its statement
        first_error = exc
    errors = []
    nodes = ast.parse(source).body
    line = _failing_line(first_error, filename)
    failed = next((k for k, n in enumerate(nodes) if line is not None and n.lineno <= line <= n.end_lineno),
                  len(nodes) - 1)
    error = describe_exception(first_error)
    # the failing statement's line; a line outside every statement is one a `%%time` cell's
    # body (run by driver.NoIPython under the cell's name) failed at
    inside = nodes and line is not None and nodes[failed].lineno <= line <= nodes[failed].end_lineno
    error["line"] = nodes[failed].lineno if nodes and (inside or line is None) else line
    errors.append(error)
    for node in nodes[failed + 1:]:
        try:
            exec(compile(ast.Module(body=[node], type_ignores=[]), filename, "exec", dont_inherit=True), namespace)
        except BaseException as exc:
            error = describe_exception(exc)
            error["line"] = node.lineno
            errors.append(error)
    return errors


def wait_readable(fd: int, timeout: float) -> bool:
    ready, _, _ = select.select([fd], [], [], max(timeout, 0))
    return bool(ready)


class Outbox:
    """Messages to the grader that come in quick succession travel together: each one
    costs the grading process a wake-up, and a notebook's cells or a unit's cases
    usually finish within milliseconds. Anything pending goes out once FLUSH_SECONDS
    have passed since the first of it, and always at the end. What is pending when the
    process is killed is lost: a killed cell child's cells run again; for a unit's
    cases (`cpu_alarm`), a CPU-time timer (SIGPROF) sends what is queued once the child
    has run that long since, and a slow case or a unit past half its CPU limit reports
    at once (_run_cases), so a unit stopped at its CPU limit keeps the cases it
    finished (a frame per case cost the grader 1.2 ms a notebook). A wall-clock timer
    (SIGALRM, WALL_ALARM after the first queued report) does the same for a case that
    blocks without using CPU (sleeps, waits) until the wall-clock backstop."""

    FLUSH_SECONDS = 0.05
    MAX_MESSAGES = 1000
    CPU_ALARM = 0.02  # under the smallest CPU limit of a unit (autograder.budgets: 0.05 s)
    WALL_ALARM = 0.1  # well under the smallest wall-clock backstop of a unit (1 s)

    def __init__(self, sock, flush_seconds: float = FLUSH_SECONDS, cpu_alarm: float | None = None):
        self.sock, self.pending, self.interval = sock, [], flush_seconds
        self.since = time.monotonic()
        self.busy = False  # a frame is being written (or a served call awaits its reply)
        self.cpu_alarm = cpu_alarm
        if cpu_alarm:
            signal.signal(signal.SIGPROF, self._on_alarm)
            signal.signal(signal.SIGALRM, self._on_alarm)

    def _on_alarm(self, signum, frame) -> None:
        # (between two bytecodes of whatever runs: never inside another frame's writing)
        if not self.pending:
            return  # sent already (a served call sends what is queued first)
        if self.busy:
            signal.setitimer(signal.ITIMER_PROF if signum == signal.SIGPROF else signal.ITIMER_REAL, 0.002)
            return
        try:
            self.flush()
        except BaseException:
            pass  # the grader is gone: the child ends anyway

    def put(self, message: dict, limit: int | None = None, urgent: bool = False) -> None:
        """Queue a message, encoded now (once): a CodecError, or one for a message over
        `limit` bytes, is raised here, while the caller can still replace the message.
        `urgent`: send what is queued at once (a unit near its limit, see _run_cases)."""
        encoded = encode(message)
        if limit is not None and len(encoded) > limit:
            raise CodecError(f"the outputs take {len(encoded) / 2**20:.0f} MiB; at most "
                             f"{limit // 2**20} MiB may cross back")
        self.pending.append(encoded)
        # a slow cell or case reports at once; a batch stays well under the grader's MAX_BATCH
        if urgent or time.monotonic() - self.since >= self.interval or len(self.pending) >= self.MAX_MESSAGES:
            self.flush()
        elif self.cpu_alarm and len(self.pending) == 1:
            signal.setitimer(signal.ITIMER_PROF, self.cpu_alarm)
            signal.setitimer(signal.ITIMER_REAL, self.WALL_ALARM)

    def flush(self) -> None:
        self.busy = True
        try:
            if len(self.pending) == 1:
                send_encoded(self.sock, self.pending[0])
            elif self.pending:
                send_encoded(self.sock, encode_batch(self.pending))
            self.pending = []
        finally:
            self.busy = False
        self.since = time.monotonic()


def _run_cell(outbox: Outbox, cell: dict, index: int, namespace: dict, writer: BoundedWriter) -> None:
    errors = run_statements(cell["source"], cell["label"], namespace, cell.get("code"))
    output = writer.take()
    try:
        outbox.put({"op": "cell", "index": index, "status": "error" if errors else "ok",
                    "errors": errors, "output": output})
    except CodecError:
        outbox.put({"op": "cell", "index": index, "status": "error", "errors": [], "output": ""})


def pending_cells(cells: list, skip=frozenset()) -> list[int]:
    """The cells to run: not skipped (they ended the student process on an earlier
    attempt) and free of syntax errors."""
    return [i for i, cell in enumerate(cells) if i not in skip and not cell.get("syntax_error")]


def send_syntax_errors(sock, cells: list, skip=frozenset()) -> None:
    for index, cell in enumerate(cells):
        if index not in skip and cell.get("syntax_error"):
            send_message(sock, {"op": "cell", "index": index, "status": "syntax_error",
                                "error": cell["syntax_error"]})


def run_cells(sock, cells: list, pending: list, namespace: dict, writer: BoundedWriter, progress_fd: int,
              config: dict | None = None, careful: bool = False) -> None:
    """In the cells child (zygote.become_holder), in order: every pending cell, a byte
    "+" to the init after each (each restarts the next cell's wall-clock limit, see
    watch_cells), then "c": the child commits and is the holder from then on.
    `careful` (after the process itself was killed): every cell reports the moment it ends."""
    _MEMORY_NOTE["mb"] = (config or {}).get("memory_mb", _MEMORY_NOTE["mb"])
    outbox = Outbox(sock, 0.0 if careful else Outbox.FLUSH_SECONDS)
    for index in pending:
        limits.renew_cell_cpu()
        _run_cell(outbox, cells[index], index, namespace, writer)
        _signal(progress_fd, b"+")
    outbox.flush()
    _signal(progress_fd, b"c")
    os.close(progress_fd)


def watch_cells(read_fd: int, cells: list, pending: list, cell_timeout: float) -> tuple[bool, int, bool]:
    """In the init: follow a cells child through its progress pipe: "r" once its
    sandbox is set up (before any student code), "+" after each cell, "c" when it
    commits. Each cell has its own wall-clock limit (autograder.budgets.cell_budget,
    else `cell_timeout`), restarted by each "+". Returns (it said "r", cells finished,
    it committed); on a limit or the child's death it returns without killing it.
    Nothing is decoded: the bytes are only counted."""
    ready, finished = False, 0

    def limit() -> float:
        if not pending:
            return cell_timeout
        return cells[pending[min(finished, len(pending) - 1)]].get("timeout") or cell_timeout

    while wait_readable(read_fd, limit()):
        data = os.read(read_fd, 64)
        if not data:
            break  # the child died
        ready = ready or b"r" in data
        finished += data.count(b"+")
        if b"c" in data:
            return ready, finished, ready
    return ready, finished, False


def _signal(fd: int, byte: bytes) -> None:
    try:
        os.write(fd, byte)
    except OSError:
        pass  # the holder is gone (a cell killed it): this child holds the state anyway


def wait_child(pid: int, timeout: float) -> tuple[int, bool]:
    """Wait up to `timeout` seconds for a child; kill it if it is still running then.
    Returns (wait status, whether it was killed for its time)."""
    fd = pidfd(pid) if timeout > 0 else None  # (0: has it ended? one waitpid says)
    if fd is not None:
        try:
            wait_readable(fd, timeout)
        finally:
            os.close(fd)
    elif timeout > 0:  # no pidfd: poll
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
            time.sleep(0.005)
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        return status, False
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _, status = os.waitpid(pid, 0)
    return status, True


# How often the holder looks at a unit child's CPU at most: a loop may overrun its CPU
# limit by about this much (a single thread cannot burn CPU faster than wall time, so
# the holder sleeps for the CPU the child has left, never less than MIN_TICK)
MIN_TICK = 0.002
MAX_TICK = 0.05


def child_cpu(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) a child has used so far, from its process
    CPU clock (clock_getcpuclockid: the kernel's accounting, nothing the child can
    forge); None once it has ended."""
    try:
        return time.clock_gettime((~pid << 3) | 2)  # CPUCLOCK_SCHED of process `pid`
    except OSError:
        return None


def pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def watch_child(pid: int, fd: int | None, cpu_limit: float, cpu_base: float, wall_deadline: float) -> str:
    """Wait until `fd` is readable (the child's pidfd, or a pipe it writes to; None: poll
    for the child's end) or the child has used `cpu_limit` CPU seconds since it had used
    `cpu_base`, or the monotonic clock reaches `wall_deadline`. Returns "ready", "cpu"
    or "wall"; kills nothing."""
    while True:
        used = child_cpu(pid)
        if used is None:
            return "ready"  # it has ended (its pidfd or pipe says so too)
        cpu_left = cpu_limit - (used - cpu_base)
        wall_left = wall_deadline - time.monotonic()
        if cpu_left <= 0:
            return "cpu"
        if wall_left <= 0:
            return "wall"
        wait = min(max(cpu_left, MIN_TICK), MAX_TICK, wall_left)
        if fd is not None:
            if wait_readable(fd, wait):
                return "ready"
        else:
            time.sleep(min(wait, 0.005))
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return "ready"


def exit_description(status: int, timeout: float, timed_out: bool = False, config: dict | None = None,
                     what: str = "process", limit: str = "") -> str:
    """Why a child ended, in the holder's own words. `limit`: "cpu" or "wall" when the
    holder stopped it at that limit (see watch_child)."""
    config = config or {}
    if timed_out:
        kind = {"cpu": "CPU time limit", "wall": "wall-clock limit"}.get(limit, "time limit")
        return f"stopped after its {kind} of {timeout:g} s"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            cpu = config.get("unit_cpu_seconds") if what == "unit" else None
            return f"stopped at its CPU time limit{f' of {cpu:g} s' if cpu else ''} (SIGXCPU)"
        if sig == signal.SIGKILL:
            return "the process was killed (SIGKILL: a CPU or memory limit, or a kill from the student's own code)"
        if sig == signal.SIGSEGV:
            return "the process crashed with a segmentation fault (SIGSEGV)"
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"the process died with signal {name}"
    return f"the process ended itself with exit status {os.WEXITSTATUS(status)} (os._exit or similar)"


def defined_names(namespace: dict) -> dict:
    """Top-level functions and classes (with their methods), for "not defined" verdicts."""
    names = {}
    for name, value in list(namespace.items()):
        try:
            if isinstance(value, type):
                names[str(name)] = sorted(str(k) for k, v in vars(value).items() if callable(v))
            elif callable(value):
                names[str(name)] = None
        except BaseException:
            continue
    return names


# --- reference proxies: calls the grading process serves ---------------------------------

class ReferenceCallError(Exception):
    pass


class _Channel:
    def __init__(self, sock, outbox: "Outbox | None" = None, progress_fd: int | None = None):
        self.sock, self.outbox, self.progress_fd = sock, outbox, progress_fd

    def ask(self, message: dict, full: bool = False):
        if self.progress_fd is not None:
            _signal(self.progress_fd, b"+")  # each call earns the unit time (zygote.run_unit_in_child)
        if self.outbox is not None and self.outbox.pending:
            # what the unit reported so far arrives before its question; the question in a
            # frame of its own, whose bytes the grader may have answered before
            self.outbox.flush()
        if self.outbox is not None:
            self.outbox.busy = True  # no frame of the outbox between a call and its reply
        try:
            send_message(self.sock, message)
            reply = recv_message(self.sock)
        finally:
            if self.outbox is not None:
                self.outbox.busy = False
        if "error" in reply:
            raise ReferenceCallError(reply["error"])
        return reply if full else reply.get("value")


def _mirror(original, updated) -> None:
    """Copy the reference's in-place changes of an argument back into the student's
    object (the reference ran on a copy in the grading process)."""
    if isinstance(original, np.ndarray) and isinstance(updated, np.ndarray):
        if original.shape == updated.shape and original.flags.writeable:
            np.copyto(original, updated, casting="unsafe")
    elif isinstance(original, dict) and isinstance(updated, dict):
        for key, value in updated.items():
            if key in original and isinstance(original[key], (np.ndarray, dict, list)):
                _mirror(original[key], value)
            else:
                original[key] = value
    elif isinstance(original, list) and isinstance(updated, list) and len(original) == len(updated):
        for i, value in enumerate(updated):
            if isinstance(original[i], (np.ndarray, dict, list)):
                _mirror(original[i], value)
            else:
                original[i] = value


def make_function_proxy(name: str, channel: _Channel):
    def reference_unit(*args, **kwargs):
        reply = channel.ask({"op": "call", "name": name, "args": list(args), "kwargs": kwargs}, full=True)
        changed = reply.get("changed")  # the arguments the reference changed (the grader's ReferenceServer)
        for index, updated in (changed.items() if isinstance(changed, dict) else ()):
            if type(index) is int and 0 <= index < len(args):
                _mirror(args[index], updated)
        return reply.get("value")
    reference_unit.__name__ = name
    return reference_unit


def make_layout_proxy(name: str, channel: _Channel, own):
    """The student's forward `own` for its cache's layout, the reference's (served) for the
    values: what it returns is the reference's outputs, and its private cache with every
    array that is (or equals) one of its own outputs replaced by the reference's output
    in that place. A backward then gets its own layout with right values where its step
    forward is wrong (caches are private: part 3)."""
    import copy

    import numpy as np

    reference = make_function_proxy(name, channel)

    def swapped(value, pairs, inputs, depth=0):
        # (the arrays it was given stay: an output that is an input, `next_h = prev_h` in an
        # unfinished forward, must not turn the cached input into the reference's output)
        if isinstance(value, np.ndarray):
            if id(value) in inputs:
                return value
            for mine, right in pairs:
                if value is mine or (value.shape == mine.shape and value.dtype == mine.dtype
                                     and np.array_equal(value, mine)):
                    return right
            return value
        if depth > 32:
            return value
        if isinstance(value, (list, tuple)):
            items = [swapped(v, pairs, inputs, depth + 1) for v in value]
            if isinstance(value, list):
                return items
            return type(value)(*items) if hasattr(value, "_fields") else tuple(items)  # (a namedtuple stays one)
        if isinstance(value, dict):
            out = copy.copy(value)  # (a dict's own class, its keys in order)
            for k in list(value):
                out[k] = swapped(value[k], pairs, inputs, depth + 1)
            return out
        if hasattr(value, "__dict__") and not callable(value) and not isinstance(value, type):
            out = copy.copy(value)  # an object holding the cache in its attributes
            for k, v in vars(value).items():
                setattr(out, k, swapped(v, pairs, inputs, depth + 1))
            return out
        return value

    def layout_unit(*args, **kwargs):
        mine = own(*args, **kwargs)
        right = reference(*args, **kwargs)
        if not (isinstance(mine, tuple) and isinstance(right, tuple) and len(mine) == len(right)):
            raise TypeError(f"{name} does not return the reference's tuple of outputs")
        pairs = [(m, r) for m, r in zip(mine, right) if isinstance(m, np.ndarray) and isinstance(r, np.ndarray)]
        inputs = {id(a) for a in list(args) + list(kwargs.values()) if isinstance(a, np.ndarray)}
        return tuple(r if isinstance(r, np.ndarray) else swapped(m, pairs, inputs) for m, r in zip(mine, right))
    layout_unit.__name__ = name
    return layout_unit


def make_class_proxy(name: str, channel: _Channel):
    class ReferenceObject:
        def __init__(self, *args, **kwargs):
            object.__setattr__(self, "_handle", channel.ask(
                {"op": "new", "name": name, "args": list(args), "kwargs": kwargs}))

        def __getattr__(self, attr):
            info = channel.ask({"op": "getattr", "handle": self._handle, "attr": attr})
            if info.get("method"):
                return lambda *args, **kwargs: channel.ask(
                    {"op": "method", "handle": self._handle, "attr": attr, "args": list(args), "kwargs": kwargs})
            return info.get("value")

        def __setattr__(self, attr, value):
            channel.ask({"op": "setattr", "handle": self._handle, "attr": attr, "value": value})

    ReferenceObject.__name__ = ReferenceObject.__qualname__ = name
    return ReferenceObject


def _run_cases(outbox: Outbox, request: dict, namespace: dict, writer: BoundedWriter, tag: dict,
               cpu_limit: float = 0.0) -> None:
    """Every case of one unit, one message per case (tagged with `tag`). `cpu_limit`: the
    unit's CPU limit, past half of which every case reports at once."""
    spec = request["spec"]
    unit_started = time.process_time()
    urgent_after = cpu_limit / 2 if cpu_limit > 0 else float("inf")
    for index, inputs in enumerate(request["cases"]):
        started = time.process_time()
        message = {"op": "case", "index": index, **tag}
        try:
            # the numerical check is a report, not a verdict: the two largest cases suffice
            check_this = request["gradcheck"] and index >= len(request["cases"]) - 2
            outputs = run_case(namespace, spec, inputs, gradcheck=check_this)
            message.update(ok=True, outputs=outputs)
        except ContractError as exc:
            message.update(ok=False, error={"type": "ContractError", "message": str(exc), "traceback": ""})
        except SetupError as exc:
            message.update(ok=False, error=dict(describe_exception(exc.cause), stage="setup", snippet=exc.snippet))
        except CodecError as exc:
            message.update(ok=False, error={"type": "NotPlainData", "message": str(exc), "traceback": ""})
        except BaseException as exc:
            message.update(ok=False, error=describe_exception(exc))
        message["cpu"] = time.process_time() - started
        message["output"] = writer.take()
        # a slow case, or any case of a unit past half its CPU limit, reports at once: the
        # timer (Outbox.CPU_ALARM) could come after the holder's kill at the limit
        urgent = message["cpu"] >= URGENT_CASE_CPU or time.process_time() - unit_started >= urgent_after
        try:
            # outputs that are not plain data, or too large, are refused here (the verdict says so)
            outbox.put(message, limit=MAX_OUTPUT_BYTES, urgent=urgent)
        except CodecError as exc:
            outbox.put({"op": "case", "index": index, **tag, "ok": False, "cpu": message["cpu"], "output": "",
                        "error": {"type": "NotPlainData", "message": str(exc), "traceback": ""}})


def run_unit(sock, request: dict, namespace: dict, writer: BoundedWriter, progress_fd: int | None = None) -> None:
    """Inside a forked unit child: run every case, stream one message per case."""
    outbox = Outbox(sock, cpu_alarm=Outbox.CPU_ALARM)
    channel = _Channel(sock, outbox, progress_fd)
    for name, kind in request["substitute"].items():
        if kind == "layout" and callable(namespace.get(name)):
            namespace[name] = make_layout_proxy(name, channel, namespace[name])
        else:
            namespace[name] = (make_class_proxy if kind == "class" else make_function_proxy)(name, channel)
    _run_cases(outbox, request, namespace, writer, {}, float(request.get("timeout") or 0))
    outbox.put({"op": "unit_done"})
    outbox.flush()


def run_units(sock, request: dict, namespace: dict, writer: BoundedWriter, progress_fd: int) -> None:
    """Inside ONE forked child: several units in the student's own mode (nothing is
    substituted, nothing is served), one after another. Each unit's messages go out when
    it ends, then a byte tells the holder, which restarts its wall-clock limit for the
    next unit; each unit also gets a fresh CPU allowance."""
    outbox = Outbox(sock, cpu_alarm=Outbox.CPU_ALARM)
    boundary = request.get("boundary") or b""
    timeouts = request.get("timeouts") or []
    for k, unit in enumerate(request["units"]):
        limits.renew_unit_cpu()
        outbox.put({"op": "unit_started", "unit": k})
        _run_cases(outbox, unit, namespace, writer, {"unit": k},
                   float(timeouts[k] if k < len(timeouts) else request.get("timeout") or 0))
        if boundary:  # what this unit wrote to fd 1 and 2 ends here (client.OutputCollector)
            try:
                os.write(1, boundary)
            except OSError:
                pass
        outbox.put({"op": "unit_done", "unit": k})
        outbox.flush()
        _signal(progress_fd, b"+")
