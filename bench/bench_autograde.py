"""Course-scale benchmark: `rnngrade autograde` on a generated class of notebooks.

Prints, all measured in this one run (medians over --repeat runs):
(a) throughput of the real command `rnngrade autograde rnn_step_by_step DIR --db
    sqlite:///...` (full sandbox, default workers = CPUs) on 100 and 1,000 generated
    notebooks (bench/make_submissions.py), and the cost per submission next to the bare
    cost of running the students' functions on the hidden cases in this process (no
    sandbox, no comparison, no gradient check; hostile notebooks left out);
(b) nbgrader's real `nbgrader autograde` on 20 of the same notebooks in a minimal course
    (bench/nbgrader_course.py), and the per-submission time ratio nbgrader / rnngrade;
(c) peak memory of the grading process tree (RSS sampled from /proc; the bench makes
    itself a child subreaper so the sandbox's orphaned student processes stay in its
    tree) for 100 vs 1,000 submissions;
(d) where one submission's time goes (in-process Grader with timers around reading,
    cell execution in the sandbox, units in the sandbox, comparison; plus a gradebook
    write), next to the bare costs.

CPU is read from a transient cgroup-v1 cpuacct group (NaN where unavailable): it moves
much less than wall time when other work shares the machine.

Usage: python bench/bench_autograde.py [--n 1000] [--subset 100] [--nbgrader 20 (0: skip)]
       [--repeat 3] [--profile 40 (0: skip)] [--workdir DIR] [--keep] [--quick]
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import io
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import make_submissions  # noqa: E402

ASSIGNMENT = "rnn_step_by_step"
TARGET_RATE = 40.0
TARGET_RATIO = 100.0      # like for like
TARGET_RATIO_ALL = 50.0   # time-limited notebooks included


def rnngrade_command() -> list[str]:
    script = Path(sys.executable).parent / "rnngrade"
    if script.exists():
        return [str(script)]
    found = shutil.which("rnngrade")
    return [found] if found else [sys.executable, "-m", "autograder.cli"]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


# --------------------------------------------------------------------------- memory

class TreeSampler:
    """Samples the RSS of every process below this one (from /proc), every `period` s, and
    reaps orphans reparented to us (we are a child subreaper while it runs)."""

    PR_SET_CHILD_SUBREAPER = 36

    def __init__(self, protect: int, period: float = 0.1):
        import psutil

        self.psutil = psutil
        self.me = psutil.Process()
        self.protect, self.period = protect, period
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak_sum = self.peak_one = self.peak_main = self.peak_other = 0
        self.peak_procs = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._sample, daemon=True),
                         threading.Thread(target=self._reap, daemon=True)]

    @classmethod
    def become_subreaper(cls, on: bool = True) -> bool:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            return libc.prctl(cls.PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) == 0
        except Exception:
            return False

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join()

    def _descendants(self) -> list[int] | None:
        """Every process below this one, from /proc/PID/task/TID/children: a walk of this
        tree alone (psutil's recursive children() reads every process of the machine, ~2 ms
        a sample, 2% of a core taken from the command it measures). None where the kernel
        lacks those files."""
        found, todo = [], [os.getpid()]
        while todo:
            pid = todo.pop()
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tasks:
                try:
                    with open(f"/proc/{pid}/task/{tid}/children") as f:
                        kids = [int(k) for k in f.read().split()]
                except FileNotFoundError:
                    if pid == os.getpid():
                        return None
                    continue
                except OSError:
                    continue
                found += kids
                todo += kids
        return found

    def _rss(self, pid: int) -> int | None:
        try:
            with open(f"/proc/{pid}/statm") as f:
                return int(f.read().split()[1]) * self.page
        except (OSError, ValueError, IndexError):
            return None

    def _sample(self):
        psutil = self.psutil
        while not self._stop.is_set():
            total, count = 0, 0
            pids = self._descendants()
            if pids is None:
                try:
                    pids = [p.pid for p in self.me.children(recursive=True)]
                except psutil.Error:
                    pids = []
            for pid in pids:
                rss = self._rss(pid)
                if rss is None:
                    continue
                total += rss
                count += 1
                self.peak_one = max(self.peak_one, rss)
                if pid == self.protect:
                    self.peak_main = max(self.peak_main, rss)
                else:
                    self.peak_other = max(self.peak_other, rss)
            self.peak_sum = max(self.peak_sum, total)
            self.peak_procs = max(self.peak_procs, count)
            self._stop.wait(self.period)

    def _reap(self):
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        while not self._stop.is_set():
            try:
                info = os.waitid(os.P_ALL, 0, flags)
            except ChildProcessError:
                info = None
            if info is None or info.si_pid == self.protect:
                self._stop.wait(0.05)  # the command itself is reaped by its Popen
                continue
            try:
                os.waitpid(info.si_pid, 0)
            except ChildProcessError:
                pass


class CpuAccount:
    """CPU seconds used by a command and everything it ever forks (dead processes too),
    from a transient cgroup-v1 cpuacct group; NaN where that is not available. Wall
    times move with whatever else the machine runs; this moves much less."""

    ROOT = Path("/sys/fs/cgroup/cpuacct")

    def __init__(self, name: str):
        self.dir = self.ROOT / f"rnngrade-bench-{os.getpid()}-{name}"
        try:
            self.dir.mkdir()
        except OSError:
            self.dir = None

    def prefix(self) -> list[str]:
        if self.dir is None:
            return []
        return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(self.dir)]

    def seconds(self) -> float:
        try:
            return int((self.dir / "cpuacct.usage").read_text()) / 1e9 if self.dir else float("nan")
        except (OSError, ValueError):
            return float("nan")

    def system_share(self) -> float:
        """Fraction of that CPU spent in the kernel (fork, page faults, exit, I/O)."""
        try:
            stat = dict(line.split() for line in (self.dir / "cpuacct.stat").read_text().splitlines())
            user, system = int(stat["user"]), int(stat["system"])
            return system / (user + system) if user + system else float("nan")
        except (OSError, ValueError, KeyError, TypeError):
            return float("nan")

    def close(self) -> None:
        for _ in range(50):
            if self.dir is None:
                return
            try:
                self.dir.rmdir()
                return
            except OSError:
                time.sleep(0.1)


def reap_leftovers() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# --------------------------------------------------------------------------- rnngrade runs

def run_autograde(folder: Path, db_path: Path, extra: list[str] | None = None) -> dict:
    """One `rnngrade autograde` run on a fresh gradebook; wall time, rate, memory."""
    if db_path.exists():
        db_path.unlink()
    cmd = rnngrade_command() + ["autograde", ASSIGNMENT, str(folder), "--db", f"sqlite:///{db_path}"] + (extra or [])
    TreeSampler.become_subreaper(True)  # orphaned student processes stay in our tree
    account = CpuAccount(db_path.stem)
    try:
        started = time.perf_counter()
        # the course is this checkout (its reference/ folders), wherever the gradebook lies
        env = dict(os.environ, RNNGRADE_COURSE=os.environ.get("RNNGRADE_COURSE", str(ROOT)))
        proc = subprocess.Popen(account.prefix() + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=db_path.parent, env=env)
        with TreeSampler(proc.pid) as sampler:
            out, err = proc.communicate()
        wall = time.perf_counter() - started
    finally:
        TreeSampler.become_subreaper(False)
        reap_leftovers()
        cpu, system = account.seconds(), account.system_share()
        account.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{out[-3000:]}\n{err[-3000:]}")
    match = re.search(r"Graded (\d+) on (.+?) in ([\d.]+) s \(([\d.]+)/s\)", out)
    graded = int(match.group(1)) if match else None
    return {"wall": wall, "graded": graded, "backend": match.group(2) if match else "?",
            "inner_wall": float(match.group(3)) if match else None, "cpu": cpu, "system": system, "peak_sum": sampler.peak_sum,
            "peak_other": sampler.peak_other,
            "peak_one": sampler.peak_one, "peak_main": sampler.peak_main, "procs": sampler.peak_procs,
            "output": out}


def _notes(db_path: Path) -> list:
    """Every note recorded in a gradebook (a JSON list per submission)."""
    try:
        with contextlib.closing(sqlite3.connect(db_path)) as db:
            return [n for (notes,) in db.execute("select notes from submissions") for n in json.loads(notes or "[]")]
    except (sqlite3.Error, ValueError):
        return []


def gradebook_rows(db_path: Path) -> dict:
    """student -> (score, wall_time in the worker), read straight from the SQLite file."""
    try:
        with contextlib.closing(sqlite3.connect(db_path)) as db:
            return {s: (score, wall) for s, score, wall in
                    db.execute("select student, score, wall_time from submissions")}
    except sqlite3.Error:
        return {}


# --------------------------------------------------------------------------- bare cost

class _Sink(io.TextIOBase):
    def writable(self):
        return True

    def write(self, text):
        return len(text)


class _NoIPython:
    def __getattr__(self, name):
        return lambda *a, **k: None


def bare_costs(paths: list[Path], gradcheck_n: int) -> dict:
    """Seconds per submission, in this process: reading the file (rnngrade's reader),
    executing its cells, calling its units on every hidden case (no copy, no comparison),
    and, for the first `gradcheck_n`, the same calls with rnngrade's gradient check.
    Wall clock (`<stage>`) and CPU of this process (`<stage>_cpu`, load-independent)."""
    from autograder.driver import run_case
    from autograder.grader import prepare
    from autograder.reference import helper_modules_importable
    from autograder.submission import load_submission

    assignment, helpers, prepared = prepare(ASSIGNMENT)
    totals: dict = {}

    def clock():
        return time.perf_counter(), time.process_time()

    def add(stage, since):
        now = clock()
        totals[stage] = totals.get(stage, 0.0) + now[0] - since[0]
        totals[stage + "_cpu"] = totals.get(stage + "_cpu", 0.0) + now[1] - since[1]
        return now

    counted_gc = 0
    with helper_modules_importable(helpers), contextlib.redirect_stdout(_Sink()), contextlib.redirect_stderr(_Sink()):
        for index, path in enumerate(paths):
            mark = clock()
            cells = load_submission(path)
            mark = add("read", mark)
            ns = {"__name__": "__main__", "get_ipython": lambda: _NoIPython()}
            exec(assignment.preamble, ns)
            for cell in cells:
                if cell.syntax_error:
                    continue
                try:
                    exec(compile(cell.source, f"<{cell.label}>", "exec"), ns)
                except BaseException:
                    pass
            mark = add("cells", mark)
            for p in prepared:
                for case in p.cases:
                    local = dict(case.inputs)
                    try:
                        if p.spec["setup"]:
                            exec(p.spec["setup"], ns, local)
                        eval(p.spec["call"], ns, local)
                    except Exception:
                        pass
            mark = add("units", mark)
            if index < gradcheck_n:
                for p in prepared:
                    for case in p.cases:
                        try:
                            run_case(ns, p.spec, case.inputs, gradcheck=True)
                        except Exception:
                            pass
                add("units_gradcheck", mark)
                counted_gc += 1
    n = max(len(paths), 1)
    return {k: v / (max(counted_gc, 1) if "gradcheck" in k else n) for k, v in totals.items()}


# --------------------------------------------------------------------------- stage profile

def stage_profile(paths: list[Path], db_dir: Path) -> dict:
    """Mean ms per submission of each stage of Grader.grade_file, in this process (the
    sandbox is the real one), by wrapping the engine's functions with timers."""
    import autograder.grader as grader_mod
    from autograder.grader import Grader

    t = {"read": 0.0, "cells_sandbox": 0.0, "units_together": 0.0, "units_sandbox": 0.0,
         "units_sandbox_reference_mode": 0.0, "units_student_cpu": 0.0, "compare": 0.0, "hint": 0.0, "total": 0.0}
    patches = []

    def wrap(owner, name, key, after=None):
        original = getattr(owner, name, None)
        if original is None:
            return

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                result = original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                t[key if after is None else after(args, kwargs, elapsed)] += elapsed
            if key == "units_sandbox":
                t["units_student_cpu"] += sum(c.cpu for c in getattr(result, "cases", []) if c)
            if key == "units_together":
                t["units_student_cpu"] += sum(c.cpu for r in result if r for c in r.cases if c)
            return result
        setattr(owner, name, timed)
        patches.append((owner, name, original))

    def unit_mode(args, kwargs, elapsed):
        substitute = args[2] if len(args) > 2 else kwargs.get("substitute")
        return "units_sandbox_reference_mode" if substitute else "units_sandbox"

    # the sandbox's message timeline: time between successive protocol messages
    import autograder.sandbox.client as client_mod

    timeline: list = []
    gaps: dict = {}
    for fname, direction in (("recv_message", "recv"), ("send_message", "send")):
        original_io = getattr(client_mod, fname, None)
        if original_io is None:
            continue

        def logged(*args, _original=original_io, _direction=direction, **kwargs):
            if _direction == "send":
                timeline.append((time.perf_counter(), str(args[1].get("op") if len(args) > 1 else "?")))
                return _original(*args, **kwargs)
            message = _original(*args, **kwargs)
            timeline.append((time.perf_counter(), str(message.get("op") if isinstance(message, dict) else "?")))
            return message
        setattr(client_mod, fname, logged)
        patches.append((client_mod, fname, original_io))

    wrap(grader_mod, "load_submission", "read")
    wrap(grader_mod.StudentProcess, "start", "cells_sandbox")
    wrap(grader_mod.StudentProcess, "run_units", "units_together")
    wrap(grader_mod.StudentProcess, "run_unit", "units_sandbox", unit_mode)
    wrap(grader_mod, "_case_failure", "compare")
    wrap(grader_mod, "classic_mistake_hint", "hint")
    results = []
    try:
        with Grader(ASSIGNMENT) as grader:
            grader.grade_file(paths[0])  # warm-up
            for k in t:
                t[k] = 0.0
            for path in paths:
                timeline.clear()
                start = time.perf_counter()
                results.append(grader.grade_file(path))
                t["total"] += time.perf_counter() - start
                for (t0, a), (t1, b) in zip(timeline, timeline[1:]):
                    gaps.setdefault(f"{a} -> {b}", []).append(t1 - t0)
    finally:
        for owner, name, original in reversed(patches):
            setattr(owner, name, original)
    n = len(paths)
    out = {k: v / n for k, v in t.items()}
    out["gradebook_write"] = gradebook_write_cost(results, db_dir)
    out["timeline"] = sorted(((k, len(v) / n, median(v), sum(v) / n) for k, v in gaps.items()),
                             key=lambda row: -row[3])
    return out


def gradebook_write_cost(results: list, db_dir: Path) -> float | None:
    """Mean seconds to record one result in a fresh SQLite gradebook, as the batch does."""
    try:
        from autograder.batch import result_dict
        from autograder.gradebook import Gradebook, assignment_fingerprint

        db = db_dir / "write_cost.db"
        if db.exists():
            db.unlink()
        fingerprint = assignment_fingerprint(ASSIGNMENT)
        with Gradebook(f"sqlite:///{db}") as book:
            start = time.perf_counter()
            for i, result in enumerate(results):
                book.record(assignment=ASSIGNMENT, student=f"p{i:04d}", source=f"p{i:04d}.ipynb",
                            content_hash=f"{i:064x}", fingerprint=fingerprint, run_id=None,
                            result=result_dict(result), wall_time=result.execution_time, worker="bench")
            return (time.perf_counter() - start) / max(len(results), 1)
    except Exception as exc:  # the gradebook API moved: say so, do not fail the benchmark
        print(f"(gradebook write cost not measured: {type(exc).__name__}: {exc})", file=sys.stderr)
        return None


# --------------------------------------------------------------------------- nbgrader

LOG_FORMAT = "c.Application.log_format = '%(asctime)s.%(msecs)03d [%(name)s | %(levelname)s] %(message)s'\n" \
             "c.Application.log_datefmt = '%H:%M:%S'\n"


def nbgrader_per_notebook(stderr: str) -> list[float]:
    """Seconds per student from nbgrader's log (time between successive students)."""
    stamps = []
    for line in stderr.splitlines():
        m = re.match(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) .*Creating/updating student with ID", line)
        if m:
            h, mi, s, ms = map(int, m.groups())
            stamps.append(h * 3600 + mi * 60 + s + ms / 1000)
        m = re.match(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) ", line)
        if m:
            h, mi, s, ms = map(int, m.groups())
            last = h * 3600 + mi * 60 + s + ms / 1000
    if not stamps:
        return []
    stamps.append(last)
    return [b - a for a, b in zip(stamps, stamps[1:])]


def nbgrader_setup(notebooks: list[Path], course: Path) -> None:
    import nbgrader_course

    nbgrader_course.build_course(course)
    with open(course / "nbgrader_config.py", "a") as f:
        f.write(LOG_FORMAT)
    for path in notebooks:
        nbgrader_course.place_submission(course, path.stem, json.loads(path.read_text()))


def nbgrader_run(course: Path) -> dict:
    """One `nbgrader autograde` over every placed submission: wall, CPU of its process
    tree (the kernels included), median seconds per notebook from its log."""
    import nbgrader_course

    nbgrader_course.reset_grades(course)
    account = CpuAccount("nbgrader")
    try:
        wall, done = nbgrader_course.autograde(course, prefix=tuple(account.prefix()))
        cpu = account.seconds()
    finally:
        account.close()
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader autograde failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return {"wall": wall, "cpu": cpu, "per_notebook": median(nbgrader_per_notebook(done.stderr))}


# --------------------------------------------------------------------------- main

def fmt_mb(b: float) -> str:
    return f"{b / 2 ** 20:7.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--subset", type=int, default=100)
    parser.add_argument("--nbgrader", type=int, default=20, help="notebooks graded by nbgrader (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bare-gradcheck", type=int, default=200, help="notebooks whose gradient check is timed bare")
    parser.add_argument("--profile", type=int, default=40, help="notebooks for the stage profile (0: skip)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    parser.add_argument("--styled", type=int, default=200,
                        help="notebooks written as students write them (test cells, prints, a training cell), "
                             "graded next to the same students' clean notebooks (0: skip)")
    parser.add_argument("--quick", action="store_true", help="--n 200 --subset 100 --nbgrader 5 --repeat 1 --profile 10")
    args = parser.parse_args()
    if args.quick:
        args.n, args.subset, args.nbgrader, args.repeat, args.profile, args.bare_gradcheck = 200, 100, 5, 1, 10, 50

    work = args.workdir or Path(tempfile.mkdtemp(prefix="rnngrade-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"working folder {work}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at start", flush=True)
    try:
        run(args, work)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


def run(args, work: Path) -> None:
    big, small = work / f"class{args.n}", work / f"class{args.subset}"
    started = time.perf_counter()
    manifest = make_submissions.generate(big, args.n, args.seed)
    gen_time = time.perf_counter() - started
    shutil.rmtree(small, ignore_errors=True)
    small.mkdir()
    for entry in manifest[: args.subset]:
        shutil.copy(big / f"{entry['student']}.ipynb", small / f"{entry['student']}.ipynb")
    by_student = {m["student"]: m for m in manifest}
    counts = {c: sum(m["category"] == c for m in manifest) for c in ("correct", "buggy", "failing", "hostile")}
    print(f"generated {args.n} notebooks in {gen_time:.1f} s: {counts}; "
          f"{sum(m['infinite'] for m in manifest)} with an infinite loop", flush=True)

    # bare cost, in this process
    tame = [big / f"{m['student']}.ipynb" for m in manifest if m["category"] != "hostile" and not m["infinite"]]
    bare = bare_costs(tame, args.bare_gradcheck)
    print(f"bare cost per submission ({len(tame)} non-hostile): read {bare['read'] * 1e3:.1f} ms, "
          f"cells {bare['cells'] * 1e3:.1f} ms, units {bare['units'] * 1e3:.1f} ms "
          f"(units with gradient check {bare['units_gradcheck'] * 1e3:.1f} ms)", flush=True)

    styled = clean = None
    if args.styled:
        styled, clean = work / f"styled{args.styled}", work / f"clean{args.styled}"
        make_submissions.generate(styled, args.styled, args.seed, student_style=True)
        shutil.rmtree(clean, ignore_errors=True)
        clean.mkdir()
        for entry in manifest[: args.styled]:
            shutil.copy(big / f"{entry['student']}.ipynb", clean / f"{entry['student']}.ipynb")

    course = work / "nbgrader_course"
    if args.nbgrader:
        chosen = [big / f"{m['student']}.ipynb" for m in manifest if not m["infinite"]][: args.nbgrader]
        nbgrader_setup(chosen, course)

    # each repeat: 100, N, nbgrader on its notebooks, rnngrade on the same notebooks
    runs: dict = {"small": [], "big": [], "nb": [], "same": [], "styled": [], "clean": []}
    for r in range(args.repeat):
        if styled is not None:  # the same students, written student-style and clean, back to back
            for key, folder in (("styled", styled), ("clean", clean)):
                res = run_autograde(folder, work / f"gb_{key}.db")
                runs[key].append(res)
                print(f"run {r + 1}/{args.repeat}: rnngrade {args.styled} {key} notebooks in {res['wall']:.1f} s "
                      f"(CPU {res['cpu']:.1f} s), load {os.getloadavg()[0]:.1f}", flush=True)
        for key, size, folder in (("small", args.subset, small), ("big", args.n, big)):
            res = run_autograde(folder, work / f"gb{size}.db")
            runs[key].append(res)
            print(f"run {r + 1}/{args.repeat}: rnngrade {size} submissions in {res['wall']:.1f} s "
                  f"({size / res['wall']:.2f}/s, {res['backend']}), CPU {res['cpu']:.1f} s, peak RSS main "
                  f"{fmt_mb(res['peak_main']).strip()}, others {fmt_mb(res['peak_other']).strip()}, load {os.getloadavg()[0]:.1f}", flush=True)
        if args.nbgrader:
            res = nbgrader_run(course)
            runs["nb"].append(res)
            same = run_autograde(course / "submitted", work / "gb_same.db")
            runs["same"].append(same)
            print(f"run {r + 1}/{args.repeat}: nbgrader {args.nbgrader} submissions in {res['wall']:.1f} s "
                  f"(CPU {res['cpu']:.1f} s); rnngrade on the same in {same['wall']:.1f} s, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)

    def summarize(rs, size):
        wall = median([x["wall"] for x in rs])
        return {"wall": wall, "rate": size / wall, "per_sub": wall / size, "cpu": median([x["cpu"] for x in rs]),
                "system": median([x["system"] for x in rs]),
                "inner_rate": median([x["graded"] / x["inner_wall"] for x in rs if x["inner_wall"]]),
                "peak_one": median([x["peak_one"] for x in rs]), "peak_sum": median([x["peak_sum"] for x in rs]),
                "peak_main": median([x["peak_main"] for x in rs]), "peak_other": median([x["peak_other"] for x in rs]),
                "procs": max(x["procs"] for x in rs),
                "backend": rs[-1]["backend"]}

    big_s, small_s = summarize(runs["big"], args.n), summarize(runs["small"], args.subset)
    workers = int(m.group(1)) if (m := re.match(r"(\d+)", big_s["backend"])) else (os.cpu_count() or 1)
    cores = os.cpu_count() or 1

    rows = gradebook_rows(work / f"gb{args.n}.db")
    by_cat: dict = {}
    for student, (_, wall) in rows.items():
        key = "time-limited" if by_student[student]["infinite"] else by_student[student]["category"]
        by_cat.setdefault(key, []).append(wall)
    limited = by_cat.get("time-limited", [])
    tame_walls = [w for s, (_, w) in rows.items()
                  if by_student[s]["category"] != "hostile" and not by_student[s]["infinite"]]
    worker_per_sub = statistics.fmean(tame_walls) if tame_walls else float("nan")
    # CPU per submission, the time-limited ones' busy loops (wall ~ CPU) taken out
    cpu_per_sub = (big_s["cpu"] - sum(limited)) / max(args.n - len(limited), 1)
    bare_wall = bare["cells"] + bare["units"]
    bare_cpu = bare["cells_cpu"] + bare["units_cpu"]

    # rnngrade's wall time per submission without the time-limited notebooks (each holds a
    # worker for its limits): the like-for-like figure next to nbgrader's sample, which has none
    tame_per_sub = (big_s["wall"] - sum(limited) / workers) / max(args.n - len(limited), 1)
    nb = None
    if args.nbgrader:
        nb = {"wall": median([x["wall"] for x in runs["nb"]]), "cpu": median([x["cpu"] for x in runs["nb"]]),
              "per_notebook": median([x["per_notebook"] for x in runs["nb"]]),
              "same_wall": median([x["wall"] for x in runs["same"]]),
              "same_cpu": median([x["cpu"] for x in runs["same"]]), "n": args.nbgrader}
        import nbgrader_course

        nb_scores = nbgrader_course.scores(course)
        rn_scores = {s: row[0] for s, row in gradebook_rows(work / "gb_same.db").items()}

    profile = None
    if args.profile:
        sample = [big / f"{m['student']}.ipynb" for m in manifest if m["category"] in ("correct", "buggy")]
        profile = stage_profile(sample[: args.profile], work)

    # ---------------------------------------------------------------- report
    print()
    print(f"rnngrade course-scale benchmark, {date.today().isoformat()}, {cores} CPUs, medians of "
          f"{args.repeat} run(s); load average now {os.getloadavg()[0]:.1f} (other work on the machine slows "
          f"wall times; CPU figures are less sensitive to it)")
    print("-" * 100)
    line = "{:<60} {:>17} {:>18}"
    print(line.format("", f"{args.subset} notebooks", f"{args.n} notebooks"))
    print(line.format("rnngrade autograde wall time (start-up included)", f"{small_s['wall']:.1f} s",
                      f"{big_s['wall']:.1f} s"))
    print(line.format(f"throughput, submissions/s (target >= {TARGET_RATE:g})", f"{small_s['rate']:.2f}",
                      f"{big_s['rate']:.2f}"))
    print(line.format("  as the command reports it (grading loop only)", f"{small_s['inner_rate']:.2f}",
                      f"{big_s['inner_rate']:.2f}"))
    print(line.format("CPU of all grading processes, per submission", f"{small_s['cpu'] / args.subset * 1e3:.0f} ms",
                      f"{big_s['cpu'] / args.n * 1e3:.0f} ms"))
    small_limited = [w for s, (_, w) in gradebook_rows(work / f"gb{args.subset}.db").items() if by_student[s]["infinite"]]
    print(line.format("  the same, busy loops of time-limited notebooks taken out",
                      f"{(small_s['cpu'] - sum(small_limited)) / max(args.subset - len(small_limited), 1) * 1e3:.0f} ms",
                      f"{cpu_per_sub * 1e3:.0f} ms"))
    print(line.format("  of which in the kernel (fork, page faults, exit)", f"{small_s['system'] * 100:.0f}%",
                      f"{big_s['system'] * 100:.0f}%"))
    print(line.format("peak RSS, batch (main) process", fmt_mb(small_s["peak_main"]), fmt_mb(big_s["peak_main"])))
    print(line.format("peak RSS, largest other process (worker, zygote, student)", fmt_mb(small_s["peak_other"]),
                      fmt_mb(big_s["peak_other"])))
    print(line.format("peak RSS, whole tree summed (shared pages counted twice)", fmt_mb(small_s["peak_sum"]),
                      fmt_mb(big_s["peak_sum"])))
    print(line.format("most processes alive at once", str(small_s["procs"]), str(big_s["procs"])))
    print("-" * 100)
    print(f"per submission ({args.n}-notebook run, {workers} workers; worker wall from the gradebook):")
    for key in ("correct", "buggy", "failing", "hostile", "time-limited"):
        if by_cat.get(key):
            print(f"  {key:<14} {len(by_cat[key]):5} submissions, worker wall median {median(by_cat[key]) * 1e3:8.1f} ms, "
                  f"mean {statistics.fmean(by_cat[key]) * 1e3:8.1f} ms")
    if limited:
        rest = big_s["wall"] - sum(limited) / workers
        print(f"  the {len(limited)} time-limited notebook(s) cost {sum(limited):.1f} worker-seconds; without them "
              f"the {args.n} would take about {rest:.1f} s ({args.n / max(rest, 1e-9):.2f}/s)")
    print(f"  bare cost (this process, no sandbox): cells {bare['cells'] * 1e3:.1f} + units {bare['units'] * 1e3:.1f}"
          f" = {bare_wall * 1e3:.1f} ms wall, {bare_cpu * 1e3:.1f} ms CPU; reading {bare['read'] * 1e3:.1f} ms; "
          f"units with every backward unit's gradient checked {bare['units_gradcheck'] * 1e3:.1f} ms")
    print(f"  rnngrade, non-hostile submission in its worker: {worker_per_sub * 1e3:.1f} ms wall = "
          f"{worker_per_sub / bare_wall:.0f} x bare; overhead above bare {(worker_per_sub - bare_wall) * 1e3:.1f} ms")
    print(f"  rnngrade CPU per submission (all processes, busy loops taken out): {cpu_per_sub * 1e3:.1f} ms = "
          f"{cpu_per_sub / bare_cpu:.0f} x bare CPU; overhead above bare {(cpu_per_sub - bare_cpu) * 1e3:.1f} ms; "
          f"ceiling on {cores} idle cores ~ {cores / cpu_per_sub:.1f}/s")
    if nb:
        print("-" * 100)
        nb_per = nb["wall"] / nb["n"]
        print(f"nbgrader autograde, {nb['n']} notebooks: {nb['wall']:.1f} s = {nb_per:.2f} s per submission "
              f"(median per notebook from its log {nb['per_notebook']:.2f} s); CPU {nb['cpu'] / nb['n']:.2f} s per submission")
        print(f"  ratio nbgrader / rnngrade per submission, rnngrade at its {args.n}-notebook throughput: "
              f"{nb_per / big_s['per_sub']:.1f} x, time-limited notebooks included")
        print(f"  the same like for like (nbgrader's sample has no time-limited notebook, so neither does "
              f"rnngrade's figure: {tame_per_sub * 1e3:.1f} ms per submission): {nb_per / tame_per_sub:.1f} x "
              f"(target >= {TARGET_RATIO:g})")
        print(f"  ratio on the same {nb['n']} notebooks, both commands end to end, run back to back: "
              f"{nb['wall'] / nb['same_wall']:.1f} x (rnngrade {nb['same_wall']:.1f} s)")
        print(f"  ratio of CPU per submission, nbgrader / rnngrade ({args.n} run): "
              f"{(nb['cpu'] / nb['n']) / (big_s['cpu'] / args.n):.1f} x")
        agree = sum(1 for s in nb_scores if s in rn_scores and abs(nb_scores[s] - rn_scores[s]) < 1e-9)
        higher = sum(1 for s in nb_scores if s in rn_scores and rn_scores[s] > nb_scores[s] + 1e-9)
        print(f"  totals: identical for {agree} of {len(nb_scores)}; rnngrade higher for {higher} "
              f"(fair credit: a unit is also judged with the reference units it calls)")
    if profile:
        print("-" * 100)
        p = profile
        print(f"where one submission's time goes (in-process Grader, {args.profile} correct/buggy notebooks, ms wall):")
        other = p["total"] - sum(p[k] for k in ("read", "cells_sandbox", "units_together", "units_sandbox",
                                                "units_sandbox_reference_mode", "compare", "hint"))
        parts = [("reading (submission.py)", p["read"], bare["read"]),
                 ("cells in the sandbox (fork-and-commit per cell)", p["cells_sandbox"], bare["cells"]),
                 ("units in the sandbox, own mode, all in one child", p["units_together"], bare["units"]),
                 ("units in the sandbox, own mode, alone (failed together)", p["units_sandbox"], None),
                 ("  CPU in the cases (bare: every gradient checked)", p["units_student_cpu"], bare["units_gradcheck"]),
                 ("units in the sandbox, reference mode (fair credit)", p["units_sandbox_reference_mode"], None),
                 ("comparison (judge.compare)", p["compare"], None),
                 ("classic-mistake hints", p["hint"], None),
                 ("everything else in grade_file", other, None),
                 ("total grade_file", p["total"], bare_wall),
                 ("gradebook write (main process, SQLite)", p["gradebook_write"], None)]
        print("  {:<56} {:>9} {:>16}".format("stage", "rnngrade", "bare equivalent"))
        for name, value, ref in parts:
            v = "n/a" if value is None else f"{value * 1e3:9.1f}"
            r = "" if ref is None else f"{ref * 1e3:9.1f}"
            print(f"  {name:<56} {v:>9} {r:>16}")
        print("  sandbox protocol timeline (time between successive messages, grading side), per submission:")
        for key, count, med, total in p["timeline"][:8]:
            print(f"    {key:<28} {count:5.1f} x, median {med * 1e3:6.2f} ms, total {total * 1e3:6.1f} ms")
    styled_ratio = None
    if styled is not None:
        st, cl = median([x["wall"] for x in runs["styled"]]), median([x["wall"] for x in runs["clean"]])
        st_cpu, cl_cpu = median([x["cpu"] for x in runs["styled"]]), median([x["cpu"] for x in runs["clean"]])
        styled_ratio = st / cl
        skipped = [n for n in _notes(work / "gb_styled.db") if "were not run" in n]
        print("-" * 100)
        print(f"{args.styled} notebooks written as students write them (test cells, extra prints, a training cell of "
              f"1,000 lstm_forward + lstm_backward steps) against the same students' clean notebooks:")
        print(f"  styled {st:.1f} s ({st / args.styled * 1e3:.1f} ms each, CPU {st_cpu:.1f} s); clean {cl:.1f} s "
              f"({cl / args.styled * 1e3:.1f} ms each, CPU {cl_cpu:.1f} s): styled / clean {styled_ratio:.2f} x")
        if skipped:
            print(f"  the slice's note, e.g.: {skipped[0]}")
    print("-" * 100)
    summary = [("throughput, 1,000 notebooks", f"{big_s['rate']:.2f}/s", f">= {TARGET_RATE:g}/s",
                big_s["rate"] >= TARGET_RATE)]
    if styled_ratio is not None:
        summary.append(("student-style / clean, per notebook", f"{styled_ratio:.2f} x", "<= 1 x",
                        styled_ratio <= 1.0))
    if nb:
        ratio = (nb["wall"] / nb["n"]) / tame_per_sub
        summary.append(("nbgrader / rnngrade per submission, like for like", f"{ratio:.1f} x",
                        f">= {TARGET_RATIO:g} x", ratio >= TARGET_RATIO))
        ratio_all = (nb["wall"] / nb["n"]) / big_s["per_sub"]
        summary.append(("  the same, rnngrade's time-limited included", f"{ratio_all:.1f} x",
                        f">= {TARGET_RATIO_ALL:g} x", ratio_all >= TARGET_RATIO_ALL))
    summary.append((f"peak RSS workers/sandbox, {args.n} vs {args.subset}",
                    f"{big_s['peak_other'] / max(small_s['peak_other'], 1):.2f} x", "flat",
                    big_s["peak_other"] <= 1.2 * small_s["peak_other"]))
    summary.append((f"peak RSS batch process, {args.n} vs {args.subset}",
                    f"{big_s['peak_main'] / max(small_s['peak_main'], 1):.2f} x", "flat",
                    big_s["peak_main"] <= 1.2 * small_s["peak_main"]))
    for name, value, target, ok in summary:
        verdict = "" if ok is None else ("met" if ok else "MISSED")
        print(f"{name:<52} {value:>12}   target {target:<10} {verdict}")


if __name__ == "__main__":
    main()
