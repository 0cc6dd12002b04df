"""Course-scale autograding: find the submissions, grade what is missing on local worker
processes or on a Dask cluster, record the results in the gradebook as they arrive (those that
arrive together in one transaction).

    discover()        SUBMISSIONS → (layout, [Entry]): nbgrader's `<student>/<assignment>/<assignment>.ipynb`
                      (the released notebook's name; other files are noted, not graded)
                      or a flat folder of `<student>.ipynb` / `<student>.py`
    grade_payload()   runs in a worker: one Grader per worker (thread), created once,
                      reused for every submission; returns plain dicts, never raises
    LocalExecutor     a process pool (spawned workers) that survives a worker's death
    DaskExecutor      the same task on an existing dask.distributed cluster
    autograde()       the driver: the main process is the gradebook's only writer; it claims
                      each submission as it hands it out (gradebook.Claims), so several
                      batches on one gradebook share the work: a submission another batch
                      holds is left to it and waited for at the end (and graded here if that
                      batch stops without recording it)

The to-do list holds paths and content hashes only, so a large class costs the main
process little memory. Local workers read the files themselves; a Dask worker receives
the bytes, read when the task is submitted, so it needs no shared file system. A file
changed between hashing and grading is graded in its new form and, its hash no longer
matching, graded again on the next run.
"""
from __future__ import annotations

import atexit
import collections
import dataclasses
import itertools
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

# autograder.gradebook (SQLAlchemy, ~0.3 s of CPU to import) is imported where a
# gradebook is used, not here: a Gradescope run grades one submission through
# _grade_files and has no gradebook.
if TYPE_CHECKING:
    from autograder.gradebook import Gradebook

FLAT = "flat"
NBGRADER = "nbgrader"
SUFFIXES = (".ipynb", ".py")


class DiscoveryError(Exception):
    """SUBMISSIONS is not something we can read submissions from."""


@dataclass
class Entry:
    student: str
    files: list            # [Path], in the order they are graded
    source: str            # path(s) relative to SUBMISSIONS, for the gradebook
    notes: list = field(default_factory=list)  # for the student's result: which file was graded, which not


# --------------------------------------------------------------------------- discovery

def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


LINK_WORDS = "a symbolic link, not graded: a submission is the student's own files, not a link to some"


def not_graded(why: str, names) -> str:
    """The note, in the student's result, on the files of the submission left out."""
    return f"Not graded ({why}): {', '.join(names)}."


def read_submission_bytes(path: Path) -> bytes:
    """A submission file's bytes, at most what the reader accepts and one more (a larger
    file is refused by that; a 3 GiB file read whole took the coordinator's memory), never
    through a symbolic link (OSError: discovery leaves links out, this keeps a link put in
    their place later out too)."""
    from autograder.submission import read_capped

    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        return read_capped(fd)
    finally:
        os.close(fd)


def _nbgrader_root(root: Path, assignment: str) -> tuple[Path | None, tuple[str, ...]]:
    """(the folder holding the student folders, names there that are not students), if
    `root` is in nbgrader's layout: that folder itself, e.g. `submitted/`, or the course
    folder containing `submitted/`, whose source/<id> and release/<id> are no students."""
    def students(folder: Path, excluded=()) -> bool:
        return any(d.is_dir() and _visible(d) and (d / assignment).is_dir() and d.name not in excluded
                   for d in folder.iterdir())

    if (root / "submitted").is_dir() and students(root / "submitted"):
        return root / "submitted", ()
    excluded = NBGRADER_FOLDERS if any((root / f / assignment).is_dir() for f in NBGRADER_FOLDERS) else ()
    if students(root, excluded):
        return root, excluded
    return None, ()


# the folders of an nbgrader course directory that are not students (nbgrader's CourseDirectory)
NBGRADER_FOLDERS = ("source", "release", "submitted", "autograded", "feedback")


def released_name(assignment: str) -> str:
    """The name of the notebook the release hands out (release.py writes release/<id>/<id>.ipynb)."""
    return f"{assignment}.ipynb"


def _released_notebook(folder: Path, assignment: str) -> tuple[Path | None, list[str], str]:
    """(file to grade, notes for the student's result, why none) in one student's
    nbgrader folder. The released notebook's name is graded, as nbgrader does; any other
    file is ignored, and the note names it (a stale untitled.ipynb must not redefine
    anything). Without that name: the only notebook (or, without notebooks, the only .py)."""
    found = sorted(p for p in folder.iterdir() if p.is_file() and _visible(p) and p.suffix in SUFFIXES)
    links = [p.name for p in found if p.is_symlink()]
    files = [p for p in found if not p.is_symlink()]
    wanted = released_name(assignment)
    named = [p for p in files if p.name == wanted]
    candidates = named or [p for p in files if p.suffix == ".ipynb"] or files
    if not files:
        return None, [], (f"only symbolic links ({', '.join(links)}), which are not graded" if links
                          else "no .ipynb or .py file")
    if len(candidates) > 1:
        return None, [], (f"no {wanted} and {len(candidates)} other files ({', '.join(p.name for p in candidates)}): "
                          "which one to grade is unclear")
    chosen = candidates[0]
    notes = [] if named else [f"Graded {chosen.name}: the submission has no {wanted} (the released notebook's name)."]
    others = [p.name for p in files if p != chosen]
    if others:
        notes.append(not_graded(f"only {chosen.name} is", others))
    if links:
        notes.append(not_graded("symbolic links", links))
    return chosen, notes, ""


def discover(root: str | Path, assignment: str,
             not_graded: dict | None = None) -> tuple[str, list[Entry], list[str]]:
    """(layout, entries sorted by student, warnings). `not_graded`, when given, receives
    the students found with nothing that can be graded: {student: why}."""
    not_graded = {} if not_graded is None else not_graded
    root = Path(root)
    if not root.is_dir():
        raise DiscoveryError(f"{root} is not a folder")
    warnings: list[str] = []
    entries: list[Entry] = []
    students_root, excluded = _nbgrader_root(root, assignment)
    if students_root is not None:
        for folder in sorted(d for d in students_root.iterdir() if d.is_dir() and _visible(d) and d.name not in excluded):
            adir = folder / assignment
            if not adir.is_dir():
                continue  # this student did not submit this assignment
            link = next((d for d in (folder, adir) if d.is_symlink()), None)
            if link is not None:
                warnings.append(f"{folder.name}: {link.relative_to(students_root)} is {LINK_WORDS}")
                not_graded[folder.name] = f"{link.relative_to(students_root)} is {LINK_WORDS}"
                continue
            chosen, notes, problem = _released_notebook(adir, assignment)
            if chosen is None:
                warnings.append(f"{folder.name}: {problem} in {adir.relative_to(students_root)}; not graded")
                not_graded[folder.name] = f"{problem} in {adir.relative_to(students_root)}"
                continue
            entries.append(Entry(folder.name, [chosen], chosen.relative_to(students_root).as_posix(), notes))
        loose = [p.name for p in root.iterdir() if p.is_file() and p.suffix in SUFFIXES and _visible(p)]
        if loose:
            warnings.append(f"nbgrader layout detected: ignoring {len(loose)} file(s) directly in {root}")
        return NBGRADER, entries, warnings

    by_student: dict[str, list[Path]] = collections.defaultdict(list)
    for path in root.iterdir():
        if path.is_file() and _visible(path) and path.suffix in SUFFIXES:
            if path.is_symlink():
                warnings.append(f"{path.stem}: {path.name} is {LINK_WORDS}")
                continue
            by_student[path.stem].append(path)
    for student in sorted(by_student):
        files = sorted(by_student[student], key=lambda p: SUFFIXES.index(p.suffix))
        if len(files) > 1:
            warnings.append(f"{student}: both {files[0].name} and {files[1].name}; grading {files[0].name}")
        entries.append(Entry(student, files[:1], files[0].name))
    if not entries:
        raise DiscoveryError(
            f"no submissions in {root}: expected {assignment!r} folders in student folders (nbgrader: "
            f"submitted/<student>/{assignment}/*.ipynb) or <student>.ipynb / <student>.py files")
    return FLAT, entries, warnings


# --------------------------------------------------------------------------- worker side

_worker = threading.local()   # per worker thread: {(assignment, config): Grader}
_all_graders: list = []
_all_graders_lock = threading.Lock()


def _close_all_graders() -> None:
    with _all_graders_lock:
        graders, _all_graders[:] = list(_all_graders), []
    for grader in graders:
        try:
            grader.close()
        except Exception:
            pass


def _forget_inherited_graders() -> None:
    """In a forked child: the parent's Graders (their zygote sockets) are not ours to use."""
    global _worker, _all_graders_lock
    _worker = threading.local()
    _all_graders_lock = threading.Lock()
    _all_graders.clear()


atexit.register(_close_all_graders)
os.register_at_fork(after_in_child=_forget_inherited_graders)


def _config_key(config: dict | None) -> tuple:
    return tuple(sorted((config or {}).items()))


def worker_grader(assignment: str, config: dict | None = None):
    """This worker's Grader for the assignment, created on first use and then reused.
    Per thread, because one Grader drives one sandbox zygote over one socket."""
    from autograder.grader import Grader

    cache = getattr(_worker, "graders", None)
    if cache is None:
        cache = _worker.graders = {}
    key = (assignment, _config_key(config))
    if key not in cache:
        cache[key] = Grader(assignment, dict(config or {}) or None, prespawn=True)
        with _all_graders_lock:
            _all_graders.append(cache[key])
    return cache[key]


def _drop_worker_grader(assignment: str, config: dict | None) -> None:
    grader = getattr(_worker, "graders", {}).pop((assignment, _config_key(config)), None)
    if grader is not None:
        with _all_graders_lock:  # closed here: not again at exit
            if grader in _all_graders:
                _all_graders.remove(grader)
        try:
            grader.close()
        except Exception:
            pass


def _safe_name(name: str) -> str:
    base = Path(name).name
    return base if base and not base.startswith(".") else f"submission{Path(name).suffix or '.py'}"


def _grade_files(grader, payload: dict):
    result = _grade_payload_files(grader, payload)
    result.notes[:0] = payload.get("notes") or []  # which file was graded, which were not
    return result


def _grade_payload_files(grader, payload: dict):
    from autograder.submission import MAX_CELLS, MAX_CODE_CHARS, SubmissionError, load_submission

    if "files" not in payload and len(payload["paths"]) == 1:
        # A local worker and one file: graded where it lies. Copying it into a temporary
        # folder first cost ~0.5 ms of CPU per submission. Its bytes are still read here,
        # so that a file gone since discovery fails as before (an error, retried next run).
        with_files(payload)
        result = grader.grade_file(payload["paths"][0])
        result.submission = payload["source"]
        return result
    payload = with_files(payload)
    with tempfile.TemporaryDirectory(prefix="rnngrade-") as tmp:
        paths = []
        for i, (name, data) in enumerate(payload["files"]):
            path = Path(tmp) / f"{i}" / _safe_name(name)
            path.parent.mkdir()
            path.write_bytes(data)
            paths.append(path)
        if len(paths) == 1:
            result = grader.grade_file(paths[0])
        else:  # several notebooks of one submission: their cells in file-name order
            started = time.monotonic()
            cells, notes, chars = [], [], 0
            for k, path in enumerate(paths):
                try:
                    loaded = [dataclasses.replace(c, label=f"{path.name} {c.label}") for c in load_submission(path)]
                except SubmissionError as exc:
                    notes.append(f"{path.name} could not be read: {exc}.")
                    continue
                chars += sum(len(c.source) for c in loaded)
                if chars > MAX_CODE_CHARS or len(cells) + len(loaded) > MAX_CELLS:
                    # the bounds of one file hold for them all (sixty files of 200 KiB took 2 GB)
                    notes.append(f"Not graded: {', '.join(p.name for p in paths[k:])} (the files before them hold "
                                 f"the most code graded of one submission, {MAX_CODE_CHARS // 1024} KiB or "
                                 f"{MAX_CELLS} cells).")
                    break
                cells += loaded
            result = grader.grade_cells(cells, payload["source"]) if cells else grader.grade_file(paths[0])
            result.notes[:0] = notes
            result.execution_time = time.monotonic() - started
    result.submission = payload["source"]
    return result


def result_dict(result) -> dict:
    """A GradingResult as plain data (what crosses from a worker to the main process)."""
    data = dataclasses.asdict(result)
    data["score"], data["max_score"] = result.score, result.max_score
    return data


def with_files(payload: dict) -> dict:
    """The payload with the submission's bytes, read from its paths if not there yet."""
    if "files" in payload:
        return payload
    return dict(payload, files=[(Path(p).name, read_submission_bytes(Path(p))) for p in payload["paths"]])


def grade_payload(assignment: str, payload: dict, config: dict | None = None) -> dict:
    """Grade one submission in a worker. Never raises: an exception becomes
    {"ok": False, "error": traceback}."""
    started = time.monotonic()
    out = {"student": payload["student"], "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        from autograder.gradebook import assignment_fingerprint  # (before grading: it cannot fail after)

        grader = worker_grader(assignment, config)
        out["result"] = result_dict(_grade_files(grader, payload))
        out["fingerprint"] = assignment_fingerprint(assignment)
        out["ok"] = True
    except Exception:
        out["ok"], out["error"] = False, traceback.format_exc(limit=20)
        _drop_worker_grader(assignment, config)  # its sandbox may be in a bad state
    out["wall"] = time.monotonic() - started
    return out


def grade_payloads(assignment: str, payloads: list[dict], config: dict | None = None) -> list[dict]:
    """Grade a chunk of submissions in a worker, one after the other: one round trip to the
    coordinator for all of them (see LocalExecutor)."""
    return [grade_payload(assignment, payload, config) for payload in payloads]


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:  # the batch process died (even by SIGKILL): do not linger
            os._exit(1)


def usable_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity: a container's or taskset's cpuset),
    else all of them."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def _pin(cpus: list[int], slots) -> None:
    """This worker, and what it starts from here on (its sandbox zygote, every student
    process), on one CPU of `cpus`: the next free slot's. A submission's processes hand
    the work to each other dozens of times (messages, forks, exits); on one CPU the one
    woken runs where the waker was, instead of being woken on another CPU (an
    inter-processor interrupt, in a VM an exit to the host) with cold caches. Measured on
    2 cores: 8% less CPU per notebook and no core left idle between hand-overs
    (bench/README.md)."""
    with slots.get_lock():
        index = slots.value
        slots.value += 1
    pin_to_cpu(index, cpus)


def pin_to_cpu(index: int, cpus: list[int]) -> None:
    """This process, and what it starts from here on, on cpus[index], round robin."""
    try:
        os.sched_setaffinity(0, {cpus[index % len(cpus)]})
    except OSError:
        pass  # (a CPU taken away meanwhile): the scheduler places it, as unpinned


def _init_local_worker(assignment: str, config: dict | None, parent: int, cpus: list[int] = (),
                       slots=None) -> None:
    import signal
    from multiprocessing import util

    if cpus and slots is not None:
        _pin(list(cpus), slots)  # first: threads and processes started below inherit it
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's business
    # a forked worker ends with os._exit, without atexit: close its Grader (its zygote, the
    # scratch of its last student processes) as the pool shuts it down
    util.Finalize(None, _close_all_graders, exitpriority=10)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="rnngrade-parent-watch").start()
    try:
        worker_grader(assignment, config)  # start the sandbox zygote before the first submission
    except Exception:
        pass  # not fatal here (it would break the pool): the first task retries and reports it
    _collect_less()


def _collect_less() -> None:
    """A worker's garbage collector: what the worker holds from here on (modules, the
    prepared reference, its Grader) is never scanned again, and young objects are
    scanned about fourteen times less often. Grading a notebook allocates thousands of
    short-lived objects (syntax trees, messages): with the default thresholds the
    collector took ~7% of a worker's CPU (1.35 ms per notebook on a mix of the generated
    class, 0.45 ms with these). What a submission leaves in reference cycles is still
    collected."""
    import gc

    gc.freeze()   # (no collection first: it would write to every page the fork shares)
    gc.set_threshold(10000, 20, 20)


# --------------------------------------------------------------------------- executors

def failure(payload: dict, reason: str) -> dict:
    return {"student": payload["student"], "ok": False, "error": reason, "wall": 0.0, "worker": ""}


# Every executor's run() yields (payload, outcome) pairs as results arrive, and IDLE when
# nothing more is ready and it is about to wait: the coordinator then commits the results
# it holds (autograde's Recorder), so no result waits on a slow one for its commit. Local
# workers, whose results come every few milliseconds, yield PAUSE instead and wait at most
# PAUSE_SECONDS: the results are committed together once the oldest has waited that long.
IDLE = None
PAUSE = object()
PAUSE_SECONDS = 0.2


class InlineExecutor:
    """Grade in this process, one by one (`--workers 0`: for debugging)."""
    description = "this process"

    def __init__(self, assignment: str, config: dict | None = None):
        self.assignment, self.config = assignment, config

    def run(self, payloads: Iterable[dict]) -> Iterator[tuple[dict, dict] | None]:
        for payload in payloads:
            yield payload, grade_payload(self.assignment, payload, self.config)
            yield IDLE   # the next grading holds this process: commit first


def worker_context(assignment: str, config: dict | None):
    """How local workers start. Forked from this process when nothing but this thread runs
    in it (a fork copies only the calling thread: a lock another thread held would stay held
    in the worker), after this process has done once what each worker's Grader does first
    (grader.preload: imports, the reference's outputs and cost, the sandbox probe): the
    workers start with it, ~1 s of CPU and half a second of wall less each. Otherwise (no
    fork on this platform, other threads: a pool started again after a worker died, a
    caller's threads) spawned, each worker importing and preparing for itself."""
    import multiprocessing

    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        try:
            from autograder.grader import preload

            preload(assignment, config)
        except Exception:
            pass  # each worker's Grader meets it again and reports it, as a spawned one does
        if threading.active_count() == 1:
            return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class LocalExecutor:
    """N worker processes, each with its own Grader. Submissions go out in chunks sized so
    that a chunk takes a worker about `chunk_seconds` (one per task for real notebooks,
    dozens when grading costs next to nothing: each task is a round trip through the pool);
    up to two chunks per worker are in flight, so a worker never waits for the coordinator.
    If a worker dies, every submission in flight is graded again one at a time, so only the
    one that kills its worker is recorded as a failure."""

    chunk_seconds = 0.02
    max_chunk = 64
    max_inflight = 256   # submissions handed out at most: each holds a claim (PostgreSQL's lock table is finite)

    def __init__(self, assignment: str, workers: int, config: dict | None = None, mp_context=None,
                 pin: bool = True):
        self.assignment, self.config, self.workers = assignment, config, max(1, workers)
        self.context = mp_context   # None: worker_context() for each pool
        cpus = usable_cpus()
        # one worker per CPU, each with its sandbox on it (_pin). Fewer workers than CPUs
        # (--workers 1, a small class, several runs sharing a gradebook) or more are left to
        # the scheduler: each run numbers its workers from the first CPU, so pinning those
        # would crowd runs onto the same CPUs while others idle
        self.cpus = cpus if pin and self.workers == len(cpus) else []
        self.description = f"{self.workers} local worker process{'es' if self.workers > 1 else ''}" + \
            (" (one CPU each)" if self.cpus and self.workers > 1 else "")

    def _pool(self) -> ProcessPoolExecutor:
        context = self.context or worker_context(self.assignment, self.config)
        slots = context.Value("i", 0) if self.cpus else None
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_local_worker,
                                   initargs=(self.assignment, self.config, os.getpid(), self.cpus, slots))


    def run(self, payloads: Iterable[dict]) -> Iterator[tuple[dict, dict] | None]:
        # Pulled as workers free up: the batch claims a submission only shortly before it is
        # graded, so a second batch on the same gradebook can share the work.
        queue = iter(payloads)
        exhausted = False
        suspects: collections.deque = collections.deque()
        returned: collections.deque = collections.deque()  # refused by a pool that had just broken: again
        inflight: dict = {}  # future -> (payloads, alone)
        pool = None
        chunk = 1            # submissions per task, from the measured cost of the last chunks
        try:
            while suspects or inflight or returned or not exhausted:
                if suspects:
                    if not inflight:
                        payload = suspects.popleft()
                        pool = pool or self._pool()
                        try:
                            inflight[pool.submit(grade_payloads, self.assignment, [payload], self.config)] = \
                                ([payload], True)
                        except BrokenProcessPool:   # broke while idle: a new pool
                            suspects.appendleft(payload)
                            pool.shutdown(wait=False, cancel_futures=True)
                            pool = None
                else:
                    while (returned or not exhausted) and len(inflight) < 2 * self.workers:
                        batch = [returned.popleft() for _ in range(min(chunk, len(returned)))]
                        if len(batch) < chunk and not exhausted:
                            more = list(itertools.islice(queue, chunk - len(batch)))
                            exhausted = len(more) < chunk - len(batch)
                            batch += more
                        if not batch:
                            break
                        pool = pool or self._pool()
                        try:
                            inflight[pool.submit(grade_payloads, self.assignment, batch, self.config)] = (batch, False)
                        except BrokenProcessPool:
                            # a worker died since the last results: these never ran; the
                            # tasks in flight will report the break (or, none, a new pool)
                            returned.extendleft(reversed(batch))
                            if not inflight:
                                pool.shutdown(wait=False, cancel_futures=True)
                                pool = None
                                continue
                            break
                if not inflight:
                    continue
                done = [f for f in inflight if f.done()]
                if not done:
                    yield PAUSE
                    done, _ = wait(list(inflight), timeout=PAUSE_SECONDS, return_when=FIRST_COMPLETED)
                lost = []  # (payload, alone) of the tasks the dead worker took down with the pool
                arrived = []
                for future in done:
                    batch, alone = inflight.pop(future)
                    try:
                        outcomes = future.result()
                    except BrokenProcessPool:
                        lost += [(payload, alone) for payload in batch]
                        continue
                    except Exception:
                        outcomes = [failure(payload, traceback.format_exc(limit=5)) for payload in batch]
                    arrived += zip(batch, outcomes)
                    spent = sum(o.get("wall", 0.0) for o in outcomes) / max(1, len(outcomes))
                    chunk = max(1, min(self.max_chunk, self.max_inflight // (2 * self.workers),
                                       int(self.chunk_seconds / max(spent, 1e-6))))
                if lost:
                    lost += [(p, alone) for batch, alone in inflight.values() for p in batch]  # all failing with the pool
                    inflight.clear()
                    for payload, alone in lost:
                        if alone:
                            arrived.append((payload, failure(payload, "the worker process died while grading "
                                                                      "this submission")))
                        else:
                            suspects.append(payload)
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = None
                yield from arrived
        finally:
            if pool is not None:
                if inflight:  # stopped early (Ctrl-C): the submissions being graded are not waited for
                    _kill_workers(pool)
                pool.shutdown(wait=not inflight, cancel_futures=True)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """End a pool's workers now. Each worker's zygote sees its control socket close and
    exits, and the kernel ends every student process with it (PDEATHSIG, pid namespaces)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public way before 3.14
    for process in processes:
        try:
            process.kill()
        except (OSError, ValueError):
            pass
    for process in processes:
        process.join(timeout=2)


class DaskExecutor:
    """The same task on an existing dask.distributed cluster. Each Dask worker thread keeps
    its Grader between tasks (worker_grader); the scheduler retries a task whose worker died
    and reports it as failed after that."""

    window: int | None = None  # tasks in flight at most (default: twice the cluster's threads, 8 or more)

    def __init__(self, assignment: str, address: str, config: dict | None = None):
        self.assignment, self.address, self.config = assignment, address, config
        self.description = f"Dask cluster at {address}"

    def run(self, payloads: Iterable[dict]) -> Iterator[tuple[dict, dict] | None]:
        import uuid

        from dask.distributed import Client, as_completed

        token = uuid.uuid4().hex[:8]
        with Client(self.address, timeout="30s") as client:
            # A window of tasks, topped up as they finish, not the whole class at once: the
            # batch claims (and reads) a submission only when it is submitted, so the
            # claims held stay bounded (PostgreSQL's lock table is finite) and another
            # batch on the same gradebook can share the class.
            window = self.window or max(8, 2 * sum(client.nthreads().values()))
            source = iter(payloads)
            futures: dict = {}
            finished = as_completed()

            def top_up() -> list:
                unreadable = []
                while len(futures) < window:
                    payload = next(source, None)
                    if payload is None:
                        break
                    try:
                        shipped = with_files(payload)
                    except OSError as exc:
                        reason = f"cannot read {payload['source']}: {exc.strerror or exc}"
                        unreadable.append((payload, failure(payload, reason)))
                        continue
                    future = client.submit(grade_payload, self.assignment, shipped, self.config, pure=False,
                                           key=f"rnngrade-{self.assignment}-{payload['student']}-{token}")
                    futures[future] = payload
                    finished.add(future)
                return unreadable

            try:
                yield from top_up()
                while not finished.is_empty():   # also the futures added meanwhile
                    if not finished.has_ready():
                        yield IDLE
                    future = next(finished)
                    payload = futures.pop(future)
                    try:
                        yield payload, future.result()
                    except Exception as exc:
                        yield payload, failure(payload, f"the Dask task failed: {type(exc).__name__}: {exc}")
                    yield from top_up()
            finally:
                client.cancel([f for f in futures if not f.done()])


# --------------------------------------------------------------------------- progress

class Progress:
    """A tqdm bar (rate, ETA) when the stream is a terminal; plain lines every few
    seconds otherwise; nothing with mode="none"."""

    def __init__(self, total: int, label: str, mode: str = "auto", stream=None, every: float = 5.0):
        self.total, self.label, self.every = total, label, every
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "plain"
        self.mode = mode if total else "none"
        self.done = self.failed = 0
        self.started = self.last = time.monotonic()
        self.bar = None
        if self.mode == "bar":
            from tqdm import tqdm

            class Bar(tqdm):
                monitor_interval = 0   # no monitor thread: local workers are forked (worker_context)

            self.bar = Bar(total=total, desc=label, unit="sub", file=self.stream, dynamic_ncols=True)
        elif self.mode == "plain":
            self._line(f"{label}: grading {total} submission(s)")

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def update(self, student: str, ok: bool) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        if self.bar is not None:
            from autograder.results import terminal_text

            self.bar.set_postfix_str(terminal_text(f"failed {self.failed}, last {student}"), refresh=False)
            self.bar.update(1)
        elif self.mode == "plain":
            now = time.monotonic()
            if now - self.last >= self.every or self.done == self.total:
                self.last = now
                elapsed = now - self.started
                rate = self.done / elapsed if elapsed > 0 else 0.0
                eta = (self.total - self.done) / rate if rate > 0 else 0.0
                self._line(f"{self.label}: {self.done}/{self.total} graded ({100 * self.done / self.total:.0f}%), "
                           f"{rate:.2f} submissions/s, ETA {eta:.0f}s, {self.failed} failed")

    def note(self, text: str) -> None:
        """A line between the updates (above the bar on a terminal)."""
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        elif self.mode == "plain":
            self._line(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------- recording

CLAIM_GROUP = 8   # submissions claimed (and checked against the gradebook) per round trip


class Recorder:
    """Results waiting for their commit. Several results are committed in one transaction
    (Gradebook.record_many), when the executor has nothing more ready (IDLE), when
    `max_waiting` are waiting, or when the oldest has waited `max_delay` seconds (checked
    as each result arrives and at each PAUSE of the executor, at most PAUSE_SECONDS
    apart): a transaction per result took a third of the coordinator's CPU. A run killed
    outright loses at most the results not yet committed, and those are graded again on
    the next run: their claims are released only after the commit, so no other grader
    sees them unclaimed and unrecorded."""

    max_waiting = 64
    max_delay = PAUSE_SECONDS

    def __init__(self, book: Gradebook, claims, assignment: str, committed: Callable[[dict], None]):
        self.book, self.claims, self.assignment, self.committed = book, claims, assignment, committed
        self.waiting: list[dict] = []
        self.oldest = 0.0

    def add(self, record: dict) -> None:
        if not self.waiting:
            self.oldest = time.monotonic()
        self.waiting.append(record)
        if len(self.waiting) >= self.max_waiting:
            self.flush()
        else:
            self.pause()

    def pause(self) -> None:
        """Commit if the oldest result has waited long enough (also the executor's PAUSE)."""
        if self.waiting and time.monotonic() - self.oldest >= self.max_delay:
            self.flush()

    def flush(self) -> None:
        if not self.waiting:
            return
        from sqlalchemy.exc import DataError  # (the gradebook's library: imported where one is used)

        records = self.waiting
        released = [r["student"] for r in records]
        try:
            self.book.record_many(records)
        except DataError:
            records = self._one_by_one(records)
        self.waiting = []   # after the commit: an interrupted commit is tried again
        self.claims.release_many(self.assignment, released)
        for record in records:
            self.committed(record)

    def _one_by_one(self, records: list[dict]) -> list[dict]:
        """The database refused the data of a transaction (a value it cannot store): each
        result is committed alone, and one it refuses again is recorded as that
        submission's grader failure (not a zero: graded again on the next run), so one
        result never costs the others theirs."""
        from sqlalchemy.exc import DataError

        from autograder.gradebook import summary_line

        kept = []
        for record in records:
            try:
                self.book.record_many([record])
            except DataError as exc:
                why = str(getattr(exc, "orig", None) or exc).strip().splitlines()
                record = dict(record, result=None, error=f"the gradebook refused this submission's result "
                                                         f"({summary_line(why[0] if why else type(exc).__name__)})")
                try:
                    self.book.record_many([record])
                except DataError:
                    continue  # not even as a failure (its name, its source): graded again by the next run
            kept.append(record)
        return kept


# --------------------------------------------------------------------------- driver

@dataclass
class BatchSummary:
    assignment: str
    source: str
    layout: str
    backend: str
    database: str
    run_id: int = 0
    discovered: int = 0
    to_grade: int = 0
    graded: int = 0
    failures: list = field(default_factory=list)     # (student, reason)
    warnings: list = field(default_factory=list)
    missing: list = field(default_factory=list)      # recorded students no longer in SUBMISSIONS
    elapsed: float = 0.0
    totals: dict = field(default_factory=dict)       # student -> total, whole gradebook
    max_score: float = 0.0
    interrupted: bool = False
    # Another grader on the same gradebook at the same time (see gradebook.Claims):
    by_others: list = field(default_factory=list)    # recorded by it: not graded here
    waited_for: int = 0                              # claimed by it when this run came to them
    waited: float = 0.0                              # seconds spent waiting for those
    taken_over: list = field(default_factory=list)   # its claim ended, no matching grade: graded here

    @property
    def skipped(self) -> int:
        return self.discovered - self.to_grade

    def text(self) -> str:
        lines = [f"{self.assignment}: {self.discovered} submission(s) in {self.source} ({self.layout} layout); "
                 f"{self.to_grade} to grade, {self.skipped} unchanged and already recorded."]
        lines += [f"warning: {w}" for w in self.warnings]
        if self.to_grade:
            rate = self.graded / self.elapsed if self.elapsed > 0 else 0.0
            lines.append(f"Graded {self.graded} on {self.backend} in {self.elapsed:.1f} s ({rate:.2f}/s); "
                         f"{len(self.failures)} failure(s). Gradebook: {self.database} (run {self.run_id}).")
        lines += self.sharing_lines()
        if self.interrupted:
            lines.append("Interrupted: what was recorded stays; run the same command again to resume.")
        if self.failures:
            lines.append("Failures (recorded with score 0, retried on the next run):")
            from autograder.gradebook import summary_line

            lines += [f"  {student}: {summary_line(reason)}" for student, reason in self.failures]
        if self.missing:
            lines.append(f"In the gradebook but not in {self.source} (kept): {', '.join(self.missing)}")
        lines += self.distribution_lines()
        return "\n".join(lines)

    def sharing_lines(self) -> list[str]:
        """What another grader of the same gradebook did to this run's to-do list."""
        lines = []
        if self.waited_for:
            lines.append(f"Shared gradebook: another grader was grading {self.waited_for} of these submissions; "
                         f"this run graded only the rest, then waited {self.waited:.1f} s for it.")
        if self.by_others:
            lines.append(f"Recorded by the other grader, not graded here: {len(self.by_others)} "
                         f"({', '.join(sorted(self.by_others))}).")
        if self.taken_over:
            lines.append(f"Left without this grade by the other grader (it stopped, or graded another version of "
                         f"the file), graded here: {', '.join(sorted(self.taken_over))}.")
        return lines

    def distribution_lines(self) -> list[str]:
        if not self.totals:
            return []
        values = sorted(self.totals.values())
        top = self.max_score or max(values) or 1.0
        lines = [f"Score distribution ({len(values)} student(s) in the gradebook, out of {top:g}): "
                 f"mean {statistics.fmean(values):.2f}, median {statistics.median(values):g}, "
                 f"min {values[0]:g}, max {values[-1]:g}"]
        bins = int(top) if float(top).is_integer() and top <= 20 else 10
        counts = [0] * (bins + 1)
        for v in values:
            counts[min(bins, max(0, int(v / top * bins + 1e-9)))] += 1
        width = max(counts)
        for i, count in enumerate(counts):
            low = top * i / bins
            label = f"{low:g}" if i == bins or bins == int(top) else f"{low:g}-{top * (i + 1) / bins:g}"
            lines.append(f"  {label:>9} | {'#' * round(30 * count / width):<30} {count}")
        return lines


def make_executor(assignment: str, workers: int | None, scheduler: str | None, config: dict | None = None,
                  mp_context=None, pending: int = 0, pin: bool = True):
    if scheduler:
        return DaskExecutor(assignment, scheduler, config)
    if workers is None:
        workers = len(usable_cpus())
    if workers <= 0:
        return InlineExecutor(assignment, config)
    return LocalExecutor(assignment, min(workers, max(1, pending)), config, mp_context, pin)


def autograde(assignment: str, submissions: str | Path, db: str | None = None, *, workers: int | None = None,
              scheduler: str | None = None, force: bool = False, config: dict | None = None,
              progress: str = "auto", mp_context=None, students: Iterable[str] = (),
              deadlines=None, on_recorded: Callable[[str, int], None] | None = None,
              pin: bool = True) -> BatchSummary:
    """Grade every submission of SUBMISSIONS that the gradebook lacks (or that changed),
    recording results as they arrive (those that arrive together in one transaction: Recorder). Safe to run
    several at once on one gradebook: each submission is graded by one of them. `students`
    (as nbgrader's --student): grade only these, changed or not; the others are left alone.
    `deadlines` (autograder.deadlines.DeadlineSettings; default: ./rnngrade.toml's): every
    discovered submission's hand-in time and late penalty are recorded beside its score,
    refreshed on each run for those not graded again (an extension granted since).
    `pin`: local workers each on a CPU of their own with their sandbox (LocalExecutor)."""
    from autograder.assignments import get_assignment
    from autograder.deadlines import FROM_MTIME_BAD_STAMP, lateness, load_deadlines
    from autograder.gradebook import (DEFAULT_DB, NOT_GRADED, Gradebook, assignment_fingerprint, content_hash,
                                      needs_grading)

    db = DEFAULT_DB if db is None else db
    if deadlines is None:
        deadlines = load_deadlines()

    spec = get_assignment(assignment)
    found_ungradable: dict[str, str] = {}
    layout, entries, warnings = discover(submissions, assignment, found_ungradable)
    strangers = sorted(set(deadlines.extensions.get(assignment, {})) - {e.student for e in entries})
    if strangers:  # a misspelt name gives its student no extension: said, not silently ignored
        warnings.append(f"extensions of {assignment} for students with no submission here (a misspelt name?): "
                        f"{', '.join(strangers)}")
    chosen = set(students)
    if chosen:
        unknown = sorted(chosen - {e.student for e in entries} - set(found_ungradable))
        if unknown:
            raise DiscoveryError(f"no submission of {', '.join(unknown)} in {submissions}")
        entries = [e for e in entries if e.student in chosen]
        force = True
    fingerprint = assignment_fingerprint(assignment)
    units_on_error = [(u.name, u.points) for u in spec.units]

    late = {e.student: lateness(deadlines, assignment, e.student, e.files) for e in entries}
    bad_stamps = sorted(s for s, fields in late.items() if fields["submitted_at_source"] == FROM_MTIME_BAD_STAMP)
    if bad_stamps:  # the instructor must know: the file's time may be hours off the hand-in
        warnings.append(f"{len(bad_stamps)} timestamp.txt file(s) are not a time; the file's modification time "
                        f"stands for the hand-in time (check the late penalty): {', '.join(bad_stamps)}")

    with Gradebook(db) as book, book.claims() as claims:
        recorded = book.recorded(assignment)
        # a student found with nothing to grade is in the gradebook, said why, with no score
        # (never over a grade recorded before: a folder emptied since keeps its grade)
        ungradable = [dict(assignment=assignment, student=student, source=f"{student}/{assignment}",
                           content_hash="", fingerprint=fingerprint, run_id=None, not_graded=why,
                           units_on_error=[(u.name, u.points) for u in spec.units], lateness=late.get(student))
                      for student, why in sorted(found_ungradable.items())
                      if (not chosen or student in chosen)
                      and (student not in recorded or recorded[student].status == NOT_GRADED)]
        if ungradable:
            book.record_many(ungradable)
            recorded = book.recorded(assignment)
        book.set_lateness(assignment, {s: fields for s, fields in late.items() if s in recorded})
        todo, unreadable = [], []
        for entry in entries:
            try:
                files = [(p.name, read_submission_bytes(p)) for p in entry.files]
            except OSError as exc:
                unreadable.append((entry, f"cannot read {entry.source}: {exc.strerror or exc}"))
                continue
            digest = content_hash(files)
            if needs_grading(recorded.get(entry.student), digest, fingerprint, force):
                # paths, not bytes: the to-do list of a large class stays small; the bytes
                # are read again where the submission is graded (or shipped, for Dask)
                todo.append({"student": entry.student, "source": entry.source,
                             "paths": [str(p) for p in entry.files], "hash": digest, "notes": entry.notes})
        executor = make_executor(assignment, workers, scheduler, config, mp_context, len(todo), pin)
        summary = BatchSummary(assignment, str(submissions), layout,
                               executor.description if todo else "nothing", book.display_url,
                               discovered=len(entries), to_grade=len(todo) + len(unreadable),
                               warnings=warnings, max_score=spec.total_points)
        present = {e.student for e in entries} | set(found_ungradable)
        summary.missing = [] if chosen else sorted(s for s in recorded if s not in present)
        summary.run_id = book.start_run(assignment=assignment, source=str(submissions), layout=layout,
                                        backend=summary.backend, fingerprint=fingerprint, force=force,
                                        discovered=len(entries), to_grade=summary.to_grade)

        bar = Progress(summary.to_grade, assignment, progress)

        def outcome_record(payload: dict, outcome: dict) -> dict:
            ok = outcome.get("ok", False)
            error = None if ok else outcome.get("error", "unknown error")
            if ok and outcome.get("fingerprint") != fingerprint:
                ok, error = False, (f"the worker's grader or assignment differs from this one (worker "
                                    f"fingerprint {outcome.get('fingerprint')}, expected {fingerprint})")
            return dict(assignment=assignment, student=payload["student"], source=payload["source"],
                        content_hash=payload["hash"], fingerprint=fingerprint, run_id=summary.run_id,
                        result=outcome.get("result") if ok else None, error=error,
                        units_on_error=units_on_error, wall_time=outcome.get("wall", 0.0),
                        worker=outcome.get("worker", ""), lateness=late.get(payload["student"]))

        def committed(record: dict) -> None:
            student, ok = record["student"], record["error"] is None
            if ok:
                summary.graded += 1
            else:
                summary.failures.append((student, record["error"]))
            bar.update(student, ok)
            if on_recorded is not None:
                on_recorded(student, summary.graded + len(summary.failures))

        recorder = Recorder(book, claims, assignment, committed)

        deferred: list[dict] = []   # claimed by another grader of this gradebook when we came to them

        def claimed(payloads: Iterable[dict]) -> Iterator[dict]:
            """The payloads this run may grade, claimed a few at a time as the executor takes them."""
            source = iter(payloads)
            while group := list(itertools.islice(source, CLAIM_GROUP)):
                mine = set(claims.try_claim_many(assignment, [p["student"] for p in group]))
                deferred.extend(p for p in group if p["student"] not in mine)
                ours = [p for p in group if p["student"] in mine]
                elsewhere = book.recorded_meanwhile_many(
                    assignment, {p["student"]: (recorded.get(p["student"]), p["hash"]) for p in ours}, fingerprint)
                if elsewhere:
                    claims.release_many(assignment, sorted(elsewhere))
                    summary.by_others.extend(p["student"] for p in ours if p["student"] in elsewhere)
                yield from (p for p in ours if p["student"] not in elsewhere)

        def grade(payloads: Iterable[dict]) -> None:
            results = executor.run(payloads)
            try:
                for item in results:
                    if item is IDLE:
                        recorder.flush()
                    elif item is PAUSE:
                        recorder.pause()
                    else:
                        recorder.add(outcome_record(*item))
                recorder.flush()
            finally:
                results.close()  # shuts the pool down, cancels what is left

        started = time.monotonic()
        try:
            for entry, reason in unreadable:
                recorder.add(outcome_record({"student": entry.student, "source": entry.source, "hash": ""},
                                            {"ok": False, "error": reason}))
            recorder.flush()
            if todo:
                grade(claimed(todo))
            summary.waited_for = len(deferred)
            waited, said = time.monotonic(), 0.0
            while deferred:  # ours are all recorded: wait for the other grader's to be
                if time.monotonic() - said >= 30:
                    said = time.monotonic()
                    bar.note(f"{assignment}: waiting for another grader of this gradebook, which is grading "
                             f"{len(deferred)} of these submissions")
                time.sleep(0.25)
                pending, deferred[:] = list(deferred), []
                takeover = list(claimed(pending))   # what it released without recording (it stopped)
                summary.taken_over += [p["student"] for p in takeover]
                if takeover:
                    grade(takeover)
            summary.waited = time.monotonic() - waited if summary.waited_for else 0.0
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            try:
                recorder.flush()   # what was graded before an interruption is kept
            except KeyboardInterrupt:
                summary.interrupted = True
            bar.close()
            summary.elapsed = time.monotonic() - started
        book.finish_run(summary.run_id, graded=summary.graded, failed=len(summary.failures))
        summary.totals = book.totals(assignment)
    return summary
