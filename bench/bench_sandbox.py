"""What isolation costs: grade the same well-behaved rnn_step_by_step notebook N times
with the full sandbox and with the hardening disabled (`harden: False`: no namespaces,
no private root, no dedicated uid, no seccomp; rlimits and time limits stay), in the
same process, interleaved so that machine noise hits both alike.

    python bench/bench_sandbox.py [N]

Prints the per-submission time of each (median and mean) and their ratio (target <= ~2x).
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.grader import Grader  # noqa: E402

SEED = next((ROOT / "tests" / "fixtures" / "seeds").glob("002_*.ipynb"))


def main(n: int = 20) -> None:
    graders = {"full sandbox": Grader("rnn_step_by_step", {}),
               "harden: False": Grader("rnn_step_by_step", {"harden": False})}
    times = {name: [] for name in graders}
    try:
        scores = {name: g.grade_file(SEED).score for name, g in graders.items()}  # warm up
        assert len(set(scores.values())) == 1, f"the two modes disagree: {scores}"
        for _ in range(n):
            for name, grader in graders.items():
                started = time.perf_counter()
                grader.grade_file(SEED)
                times[name].append(time.perf_counter() - started)
    finally:
        for grader in graders.values():
            grader.close()
    print(f"{SEED.name}: {n} submissions per mode, score {scores['full sandbox']:g}")
    for name, values in times.items():
        print(f"  {name:<14} median {statistics.median(values) * 1000:7.1f} ms   "
              f"mean {statistics.mean(values) * 1000:7.1f} ms per submission")
    full, bare = (statistics.median(times[k]) for k in graders)
    print(f"  ratio (full / harden: False, medians): {full / bare:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
