"""Dispatch benchmark: how many submissions per second the batch coordinator and the
gradebook take when grading itself costs nothing.

Every submission is a tiny file; each worker's Grader is replaced by one that returns a
ready-made result of 8 units at once (the worker process, the hand-out, the result's
trip back, the claim, the gradebook's transaction are all real). Measured in one run:

- `autograde` in this process (InlineExecutor: no worker processes), and on 1, 2 and 4
  local worker processes (LocalExecutor, fork start), each on a fresh SQLite gradebook;
- the gradebook alone: `Gradebook.record` of the same results in a loop.

Usage: python bench/bench_dispatch.py [--n 2000] [--workers 0,1,2,4]
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
sys.path.insert(0, str(ROOT))

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


def run_batch(folder: Path, db: Path, workers: int) -> float:
    from autograder import batch

    started = time.perf_counter()
    summary = batch.autograde(ASSIGNMENT, folder, f"sqlite:///{db}", workers=workers, progress="none",
                              mp_context=multiprocessing.get_context("fork"))
    elapsed = time.perf_counter() - started
    assert summary.graded == len(list(folder.iterdir())), summary.text()
    return elapsed


def gradebook_alone(db: Path, n: int) -> float:
    from autograder.batch import result_dict
    from autograder.gradebook import Gradebook, assignment_fingerprint

    result = result_dict(template_result())
    fingerprint = assignment_fingerprint(ASSIGNMENT)
    with Gradebook(f"sqlite:///{db}") as book:
        started = time.perf_counter()
        for i in range(n):
            book.record(assignment=ASSIGNMENT, student=f"s{i:05d}", source=f"s{i:05d}.py", content_hash=f"{i:064x}",
                        fingerprint=fingerprint, run_id=None, result=result, error=None,
                        units_on_error=[], wall_time=0.0, worker="bench")
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--workers", default="0,1,2,4")
    args = parser.parse_args()

    from autograder import batch

    template = template_result()
    batch.worker_grader = lambda assignment, config=None: FreeGrader(template)  # inherited by forked workers
    work = Path(tempfile.mkdtemp(prefix="rnngrade-dispatch-"))
    folder = work / "class"
    folder.mkdir()
    for i in range(args.n):
        (folder / f"s{i:05d}.py").write_text(f"x = {i}\n")
    print(f"{args.n} zero-cost submissions; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    alone = gradebook_alone(work / "alone.db", args.n)
    rows.append(("gradebook alone (Gradebook.record, SQLite)", alone))
    for workers in [int(w) for w in args.workers.split(",")]:
        label = "autograde, in this process (no workers)" if workers == 0 else f"autograde, {workers} local worker(s)"
        rows.append((label, run_batch(folder, work / f"w{workers}.db", workers)))
    print(f"{'':<48} {'wall':>8} {'per second':>12} {'ms each':>9}")
    for label, seconds in rows:
        print(f"{label:<48} {seconds:7.2f}s {args.n / seconds:11.0f} {seconds / args.n * 1e3:9.2f}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
