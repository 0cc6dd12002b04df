"""Dispatch benchmark: how many submissions per second the batch coordinator and the
gradebook take when grading itself costs nothing.

Every submission is a tiny file; each worker's Grader is replaced by one that returns a
ready-made result of 8 units at once (the worker process, the hand-out, the result's
trip back, the claim, the gradebook's transaction are all real). Measured in one run, on
an SQLite gradebook and (when Debian's PostgreSQL is installed: tests/postgres_server.py
starts a throwaway server) on PostgreSQL:

- the gradebook alone: `Gradebook.record` of the same results in a loop (one transaction
  each), and `Gradebook.record_many` in transactions of 64 (where it exists);
- `autograde` in this process (InlineExecutor: no worker processes), and on 1, 2, 4 and
  16 local worker processes (LocalExecutor, fork start), each on a fresh gradebook.

Each row gives the wall time, submissions per second, ms each, and the coordinating
process's CPU per submission (all its threads; the workers' CPU is not in it).
`PYTHONPATH=/path/to/other/checkout python bench/bench_dispatch.py` measures another
version of the engine with the same script (rows it cannot run are left out).

Usage: python bench/bench_dispatch.py [--n 2000] [--workers 0,1,2,4,16] [--backends sqlite,postgresql]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if not os.environ.get("PYTHONPATH"):   # else the engine on PYTHONPATH is measured
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))   # postgres_server

ASSIGNMENT = "rnn_step_by_step"


class FreeGrader:
    """A Grader whose grading costs nothing: the same finished result every time."""

    def __init__(self, template):
        self.template = template

    def grade_file(self, path):
        import copy

        result = copy.copy(self.template)
        result.submission = str(path)
        return result

    def close(self):
        pass


def template_result():
    from autograder.assignments import get_assignment
    from autograder.grader import GradingResult, UnitResult

    spec = get_assignment(ASSIGNMENT)
    return GradingResult(ASSIGNMENT, "x", units=[
        UnitResult(u.name, u.points, u.points, "passed", "Passed all 5 hidden cases.", cases_passed=5, cases_total=5)
        for u in spec.units])


def timed(fn) -> tuple[float, float]:
    """(wall, CPU of this process) of fn()."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def run_batch(folder: Path, url: str, workers: int, n: int) -> tuple[float, float]:
    from autograder import batch

    def go():
        summary = batch.autograde(ASSIGNMENT, folder, url, workers=workers, progress="none",
                                  mp_context=multiprocessing.get_context("fork"))
        assert summary.graded == n, summary.text()

    return timed(go)


def gradebook_alone(url: str, n: int, many: int = 0) -> tuple[float, float] | None:
    from autograder.batch import result_dict
    from autograder.gradebook import Gradebook, assignment_fingerprint

    result = result_dict(template_result())
    fingerprint = assignment_fingerprint(ASSIGNMENT)
    records = [dict(assignment=ASSIGNMENT, student=f"s{i:05d}", source=f"s{i:05d}.py", content_hash=f"{i:064x}",
                    fingerprint=fingerprint, run_id=None, result=result, error=None,
                    units_on_error=[], wall_time=0.0, worker="bench") for i in range(n)]
    with Gradebook(url) as book:
        if many and not hasattr(book, "record_many"):
            return None

        def go():
            if many:
                for i in range(0, n, many):
                    book.record_many(records[i:i + many])
            else:
                for record in records:
                    book.record(**record)

        return timed(go)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--workers", default="0,1,2,4,16")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()

    from autograder import batch

    template = template_result()
    batch.worker_grader = lambda assignment, config=None: FreeGrader(template)  # inherited by forked workers
    work = Path(tempfile.mkdtemp(prefix="rnngrade-dispatch-"))
    folder = work / "class"
    folder.mkdir()
    for i in range(args.n):
        (folder / f"s{i:05d}.py").write_text(f"x = {i}\n")
    print(f"{args.n} zero-cost submissions; engine {Path(batch.__file__).parent.parent}; {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    server = None
    rows = []
    try:
        for backend in args.backends.split(","):
            if backend == "postgresql":
                try:
                    from postgres_server import PostgresServer

                    server = PostgresServer().start()
                except Exception as exc:  # no PostgreSQL here: said, not fatal
                    print(f"PostgreSQL skipped: {exc}")
                    continue
                new_url = server.new_database
            else:
                counter = iter(range(1_000_000))
                new_url = lambda: f"sqlite:///{work}/g{next(counter)}.db"   # noqa: E731
            rows.append((f"{backend}: Gradebook.record, one per transaction", gradebook_alone(new_url(), args.n)))
            many = gradebook_alone(new_url(), args.n, many=64)
            if many is not None:
                rows.append((f"{backend}: Gradebook.record_many, 64 per transaction", many))
            for workers in [int(w) for w in args.workers.split(",")]:
                where = "in this process" if workers == 0 else f"{workers} local worker(s)"
                rows.append((f"{backend}: autograde, {where}", run_batch(folder, new_url(), workers, args.n)))
                print(f"  {rows[-1][0]}: {rows[-1][1][0]:.2f} s", flush=True)
    finally:
        if server is not None:
            server.stop()
    print(f"\n{'':<54} {'wall':>8} {'per second':>11} {'ms each':>8} {'coordinator CPU ms each':>24}")
    for label, (wall, cpu) in rows:
        print(f"{label:<54} {wall:7.2f}s {args.n / wall:11.0f} {wall / args.n * 1e3:8.2f} {cpu / args.n * 1e3:24.2f}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
