"""Dask cluster benchmark: a generated class graded through a Dask cluster whose scheduler
and two workers are separate OS processes (as on a real cluster), and the same class
graded by local workers; the grades must be identical per student and unit.

Steps, all in one run:

1. `bench/make_submissions.py` writes N notebooks (the class of bench_autograde.py);
2. `dask scheduler` and two `dask worker` processes (one thread each, under their nannies)
   start, each in a fresh session, the workers with this checkout's PYTHONPATH and course;
3. `rnngrade autograde rnn_step_by_step CLASS --db … --scheduler tcp://…` (the real
   command; its wall time includes its own start-up, not the cluster's); the cluster is
   then stopped, so that its CPU is counted;
4. `rnngrade autograde … --workers 2` on the same class into another gradebook;
5. both gradebooks are read: every student's score and every unit's score and status
   must agree; per worker (the gradebook's `worker` column, host:pid) the submissions
   graded, their rate over the run and the share of the run the worker spent grading.

CPU is that of every process of a step (the command; for Dask also the scheduler, the
workers and their nannies) and of everything they fork, dead or alive, from a transient
cgroup-v1 cpuacct group (bench_autograde.CpuAccount; `nan` where it cannot be made). For
Dask it is read just before and just after the command, so the cluster's start is left out.

Usage: python bench/bench_dask.py [--n 10000] [--workdir DIR] [--keep]
(10,000 notebooks take tens of minutes on 2 cores; develop with --n 500)
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from bench_autograde import CpuAccount, rnngrade_command  # noqa: E402
ASSIGNMENT = "rnn_step_by_step"
WORKERS = 2


def environment() -> dict:
    """This checkout's code and course for every process started here."""
    path = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=f"{ROOT}:{path}" if path else str(ROOT),
                RNNGRADE_COURSE=os.environ.get("RNNGRADE_COURSE", str(ROOT)))


class Cluster:
    """`dask scheduler` and WORKERS `dask worker` processes, started and stopped here."""

    def __init__(self, work: Path, workers: int, prefix: list[str]):
        self.work, self.workers, self.procs, self.prefix = work, workers, [], prefix
        self.file = work / "scheduler.json"
        self.address = ""

    def _start(self, *args: str, log: str) -> subprocess.Popen:
        out = open(self.work / log, "wb")
        proc = subprocess.Popen(self.prefix + ["dask", *args], cwd=self.work, env=environment(), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.procs.append(proc)
        return proc

    def __enter__(self) -> "Cluster":
        from distributed import Client

        self.file.unlink(missing_ok=True)
        self._start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(self.file), log="scheduler.log")
        deadline = time.monotonic() + 60
        while not self.file.is_file():
            if time.monotonic() > deadline or self.procs[0].poll() is not None:
                raise RuntimeError(f"the scheduler did not start: {(self.work / 'scheduler.log').read_text()[-2000:]}")
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written whole, but give the scheduler a moment to listen
        self.address = json.loads(self.file.read_text())["address"]
        for i in range(self.workers):
            self._start("worker", "--scheduler-file", str(self.file), "--nthreads", "1", "--nworkers", "1",
                        "--name", f"w{i}", "--no-dashboard", "--local-directory", str(self.work / f"dask-w{i}"),
                        log=f"worker{i}.log")
        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(self.workers, timeout=120)
        return self

    def __exit__(self, *exc) -> None:
        for proc in reversed(self.procs):   # workers first, then the scheduler
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def autograde(folder: Path, db: Path, account: CpuAccount, *extra: str) -> dict:
    db.unlink(missing_ok=True)
    cmd = rnngrade_command() + ["autograde", ASSIGNMENT, str(folder), "--db", f"sqlite:///{db}", *extra]
    started = time.perf_counter()
    cpu = account.seconds()
    proc = subprocess.run(account.prefix() + cmd, cwd=db.parent, env=environment(), capture_output=True, text=True)
    wall = time.perf_counter() - started
    cpu = account.seconds() - cpu
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return {"wall": wall, "cpu": cpu, "output": proc.stdout}


def grades(db: Path) -> dict:
    """student -> (score, status, [(unit, score, status)]); worker -> (count, busy seconds); seconds
    from the first recorded submission to the last."""
    with contextlib.closing(sqlite3.connect(db)) as con:
        out = {student: (score, status, []) for student, score, status in con.execute(
            "SELECT student, score, status FROM submissions WHERE assignment = ?", (ASSIGNMENT,))}
        for student, name, score, status in con.execute(
                "SELECT s.student, u.name, u.score, u.status FROM unit_results u JOIN submissions s "
                "ON u.submission_id = s.id WHERE s.assignment = ? ORDER BY s.student, u.position", (ASSIGNMENT,)):
            out[student][2].append((name, score, status))
        workers = {w: (n, busy) for w, n, busy in con.execute(
            "SELECT worker, count(*), sum(wall_time) FROM submissions GROUP BY worker")}
        first, last = con.execute("SELECT min(graded_at), max(graded_at) FROM submissions").fetchone()
    span = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds() if first else 0.0
    return out, workers, span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the class, the gradebooks and the logs")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="rnngrade-dask-"))
    work.mkdir(parents=True, exist_ok=True)
    folder = work / "class"
    print(f"{args.n} notebooks; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}; work in {work}",
          flush=True)
    try:
        if not (folder.is_dir() and len(list(folder.glob("*.ipynb"))) == args.n):
            shutil.rmtree(folder, ignore_errors=True)
            subprocess.run([sys.executable, str(ROOT / "bench" / "make_submissions.py"), str(folder),
                            "--n", str(args.n), "--seed", str(args.seed)], check=True, env=environment(),
                           stdout=subprocess.DEVNULL)

        load = [os.getloadavg()[0]]
        accounts = [CpuAccount("dask"), CpuAccount("local")]
        try:
            with Cluster(work, WORKERS, accounts[0].prefix()) as cluster:
                print(f"cluster up at {cluster.address}: scheduler and {WORKERS} workers, separate processes",
                      flush=True)
                dask = autograde(folder, work / "dask.db", accounts[0], "--scheduler", cluster.address)
                load.append(os.getloadavg()[0])
            print(f"Dask cluster: {dask['wall']:.1f} s", flush=True)
            local = autograde(folder, work / "local.db", accounts[1], "--workers", str(WORKERS))
            load.append(os.getloadavg()[0])
            print(f"local workers: {local['wall']:.1f} s", flush=True)
        finally:
            for account in accounts:
                account.close()

        dask_grades, dask_workers, dask["span"] = grades(work / "dask.db")
        local_grades, local_workers, local["span"] = grades(work / "local.db")
        differ = sorted(s for s in set(dask_grades) | set(local_grades) if dask_grades.get(s) != local_grades.get(s))

        print(f"\n{'':<34} {'wall':>8} {'per second':>11} {'ms each':>8} {'CPU ms each':>12} "
              f"{'first to last result, per second':>33}")
        for label, run, n in (("Dask cluster (2 workers)", dask, len(dask_grades)),
                              ("local workers (2)", local, len(local_grades))):
            steady = (n - 1) / run["span"] if run["span"] > 0 else float("nan")
            print(f"{label:<34} {run['wall']:7.1f}s {n / run['wall']:11.2f} {run['wall'] / n * 1e3:8.1f} "
                  f"{run['cpu'] / n * 1e3:12.1f} {steady:33.2f}")
        print(f"\n{'per worker':<34} {'graded':>8} {'per second':>11} {'busy':>8}")
        for label, run, workers in (("Dask", dask, dask_workers), ("local", local, local_workers)):
            for worker, (count, busy) in sorted(workers.items()):
                print(f"{label + ' ' + worker:<34} {count:8d} {count / run['wall']:11.2f} "
                      f"{100 * (busy or 0) / run['wall']:7.0f}%")
        print(f"\nstudents: {len(dask_grades)} (Dask) and {len(local_grades)} (local); "
              f"identical grades per student and unit: {len(dask_grades) - len(differ)}, different: {len(differ)}"
              + (f" ({', '.join(differ[:10])}{' …' if len(differ) > 10 else ''})" if differ else ""))
        by_status = collections.Counter(status for _, status, _ in dask_grades.values())
        print(f"statuses (Dask run): {dict(by_status)}; load average at the steps: "
              + ", ".join(f"{x:.1f}" for x in load))
        if differ:
            sys.exit(1)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
