"""Benchmark: grading one rnn_step_by_step notebook.

Prints, all measured in this one run:
- cold: wall time of `rnngrade grade` as a fresh command (start-up included), and its
  ratio to a bare `python -c "import numpy"` start-up (the floor any Python grader pays);
- warm: wall time per submission when one Grader is reused (the batch case), and its
  ratio to the bare cost of running the reference units on the same hidden cases in
  process (the floor any correct grader pays);
- CPU per unit inside the sandbox.

Usage: python bench/bench_grade.py [--repeat N]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = next((ROOT / "tests" / "fixtures" / "seeds").glob("002_*.ipynb"))


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    bare = statistics.median(wall([sys.executable, "-c", "import numpy"]) for _ in range(args.repeat))
    cold = statistics.median(wall([sys.executable, "-m", "autograder.cli", "grade", "rnn_step_by_step", str(NOTEBOOK)])
                             for _ in range(args.repeat))

    from autograder.driver import run_case
    from autograder.grader import Grader, prepare
    from autograder.reference import load_reference

    assignment, _, prepared = prepare("rnn_step_by_step")
    reference = vars(load_reference("rnn_step_by_step"))
    start = time.perf_counter()
    for _ in range(args.repeat):
        for p in prepared:
            for case in p.cases:
                run_case(dict(reference), p.spec, case.inputs)
    floor = (time.perf_counter() - start) / args.repeat

    with Grader("rnn_step_by_step") as grader:
        grader.grade_file(NOTEBOOK)  # warm-up: zygote start
        times, results = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            results.append(grader.grade_file(NOTEBOOK))
            times.append(time.perf_counter() - start)
    warm = statistics.median(times)

    print(f"bare interpreter + numpy start-up : {bare * 1000:8.1f} ms")
    print(f"rnngrade grade (cold, one command): {cold * 1000:8.1f} ms   = {cold / bare:5.1f} x bare start-up")
    print(f"reference on the hidden cases     : {floor * 1000:8.1f} ms   (no sandbox, no comparison)")
    print(f"grading one submission (warm)     : {warm * 1000:8.1f} ms   = {warm / floor:5.1f} x that floor")
    print(f"score of the benchmark notebook   : {results[-1].score:g}/{results[-1].max_score:g}")
    print("CPU per unit in the sandbox (ms, own mode + reference mode when run):")
    for unit in results[-1].units:
        print(f"  {unit.name:<22} cpu {unit.cpu * 1000:7.2f}   wall {unit.wall * 1000:7.2f}")


if __name__ == "__main__":
    main()
