"""Benchmark: what one submission costs at the least in this design, against what a
ratio to nbgrader allows.

Measured in this one run, in one process with the real sandbox (CPU of the grading
process, its zygote and every student process, from a transient cgroup-v1 cpuacct group;
NaN where there is none), medians over --rounds:

- the fixed parts of the design: a submission's process tree that runs nothing (started,
  the assignment's preamble loaded, killed, the next one prepared), and one more unit
  child that runs a unit of almost no work alone (a fresh fork of the holder, as every
  fair-credit run and every run alone is);
- the students' own work, in this process with no sandbox (bench_autograde's bare cost:
  cells, then every unit on every hidden case);
- what a graded notebook of each kind costs in all (correct, buggy, failing), and the
  class's mix of kinds (bench/make_submissions.py);
- the budget: nbgrader's seconds per notebook (--nbgrader-seconds, from
  bench_autograde.py's run) times the CPUs, over the target ratio.

The floor of a correct notebook is the fixed parts plus the students' work (the grading
process's own work counted as nothing); the class's floor scales it by what the other
kinds cost beside a correct one (their fair-credit runs, each in a fresh fork). When that
floor is above the budget, no tuning of this design reaches the ratio.

Usage: python bench/bench_floor.py [--n 60] [--rounds 3] [--nbgrader-seconds 1.67] [--ratio 100]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import make_submissions  # noqa: E402
from bench_autograde import CpuAccount, bare_costs  # noqa: E402

A = "rnn_step_by_step"


class TreeCpu(CpuAccount):
    """bench_autograde's cpuacct group, holding this process and everything it forks
    (dead processes included), and the living descendants started before it."""

    def __init__(self):
        super().__init__("floor")
        if self.dir is not None:
            self.add(os.getpid())

    def add(self, pid: int) -> None:
        if self.dir is not None:
            (self.dir / "cgroup.procs").write_text(str(pid))

    def adopt_tree(self) -> None:
        """This process's living descendants (the zygote, started before the group)."""
        def tree(pid):
            out = [pid]
            try:
                for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
                    out += tree(int(child))
            except OSError:
                pass
            return out
        for pid in tree(os.getpid())[1:]:
            try:
                self.add(pid)
            except OSError:
                pass

    def close(self) -> None:
        if self.dir is not None:
            (self.ROOT / "cgroup.procs").write_text(str(os.getpid()))  # out of the group, so it can go
        super().close()


def sliced_cells_cpu(paths: list[Path]) -> float:
    """CPU seconds per notebook of running what the sandbox runs of its cells (the
    static slice's), here, with no sandbox."""
    import contextlib
    import io

    from autograder.grader import prepare
    from autograder.reference import helper_modules_importable
    from autograder.slicing import slice_cells, unit_roots
    from autograder.submission import load_submission

    assignment, helpers, _ = prepare(A)
    roots = unit_roots(assignment)
    total = 0.0
    with helper_modules_importable(helpers), contextlib.redirect_stdout(io.StringIO()):
        for path in paths:
            cells = [c for c in slice_cells(load_submission(path), roots).cells if not c.syntax_error]
            started = time.process_time()
            namespace = {"__name__": "__main__", "get_ipython": lambda: None}
            exec(assignment.preamble, namespace)
            for cell in cells:
                try:
                    exec(compile(cell.source, cell.label, "exec"), namespace)
                except BaseException:
                    pass
            total += time.process_time() - started
    return total / len(paths)


def per_call(cpu: TreeCpu, action, n: int) -> float:
    before = cpu.seconds()
    for _ in range(n):
        action()
    return (cpu.seconds() - before) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=60, help="notebooks of each kind")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nbgrader-seconds", type=float, default=1.67,
                        help="nbgrader's wall seconds per notebook (bench_autograde.py prints it)")
    parser.add_argument("--ratio", type=float, default=100.0)
    parser.add_argument("--cpus", type=int, default=os.cpu_count())
    args = parser.parse_args()

    os.chdir(ROOT)  # the course: reference/ of this checkout
    from autograder.grader import Grader
    from autograder.sandbox.client import StudentProcess
    from autograder.slicing import slice_cells
    from autograder.submission import load_submission

    work = Path(tempfile.mkdtemp(prefix="rnngrade-bench-floor-"))
    manifest = make_submissions.generate(work, 20 * args.n, 0)
    kinds = {k: [work / f"{m['student']}.ipynb" for m in manifest if m["category"] == k and not m["infinite"]][:args.n]
             for k in ("correct", "buggy", "failing")}
    mix = {k: sum(1 for m in manifest if m["category"] == k) / len(manifest) for k in ("correct", "buggy", "failing",
                                                                                        "hostile")}
    bare = bare_costs(kinds["correct"], 0)  # seconds per notebook
    student_work = bare["units_cpu"] + sliced_cells_cpu(kinds["correct"])

    cpu = TreeCpu()
    rows: dict[str, list[float]] = {}
    with Grader(A, {}, prespawn=True) as grader:
        grader.grade_file(kinds["correct"][0])
        cpu.adopt_tree()
        cells = slice_cells(load_submission(kinds["correct"][0]), grader.roots).cells
        trivial = next(p for p in grader.prepared if p.unit.name == "rnn_cell_forward")

        def empty():
            student = StudentProcess(grader.zygote, grader.helpers, grader.assignment.preamble, [], grader.config,
                                     files=grader.files)
            student.start()
            student.kill()
            grader.zygote.prepare_spare(student.config)

        student = StudentProcess(grader.zygote, grader.helpers, grader.assignment.preamble, cells, grader.config,
                                 files=grader.files)
        student.start()
        for _ in range(args.rounds):
            rows.setdefault("empty", []).append(per_call(cpu, empty, 40))
            rows.setdefault("unit child", []).append(
                per_call(cpu, lambda: grader._run_mode(student, trivial, "own"), 60))
            for kind, paths in kinds.items():
                before, own = cpu.seconds(), time.process_time()
                for path in paths:
                    grader.grade_file(path)
                rows.setdefault(kind, []).append((cpu.seconds() - before) / len(paths))
                rows.setdefault(f"{kind}: grading process", []).append((time.process_time() - own) / len(paths))
        student.kill()
    cpu.close()

    med = {k: statistics.median(v) for k, v in rows.items()}
    # the other kinds beside a correct notebook (their fair-credit runs, each a fresh fork)
    scale = sum(mix[k] * med[k] for k in ("correct", "buggy", "failing")) / med["correct"] / (1 - mix["hostile"])
    floor_correct = med["empty"] + med["unit child"] + student_work
    budget = args.nbgrader_seconds * args.cpus / args.ratio
    print(f"rnngrade floor benchmark, {args.cpus} CPUs, {args.n} notebooks of each kind, medians of {args.rounds}; "
          f"load average now {os.getloadavg()[0]:.1f}")
    print("-" * 100)
    print(f"  a submission's process tree that runs nothing (start, preamble, kill): {med['empty'] * 1e3:6.2f} ms of CPU")
    print(f"  one more unit child, a unit of almost no work alone:                   {med['unit child'] * 1e3:6.2f} ms")
    print(f"  the students' own work (cells and every unit's cases, no sandbox):       {student_work * 1e3:6.2f} ms")
    print(f"  floor of a correct notebook (the grading process's work counted as 0):   {floor_correct * 1e3:6.2f} ms")
    for kind in ("correct", "buggy", "failing"):
        print(f"  a {kind:8} notebook in all, measured:                                  {med[kind] * 1e3:6.2f} ms "
              f"(the grading process {med[kind + ': grading process'] * 1e3:.2f} ms)")
    print(f"  the class's mix costs {scale:.2f} x a correct notebook: its floor is        "
          f"{floor_correct * scale * 1e3:6.2f} ms")
    print(f"  budget for {args.ratio:g} x nbgrader ({args.nbgrader_seconds:g} s a notebook on {args.cpus} CPUs):"
          f"          {budget * 1e3:6.2f} ms of CPU per submission")
    verdict = "above" if floor_correct * scale > budget else "within"
    print(f"the class's floor is {floor_correct * scale / budget:.2f} x the budget: {verdict} it")
    print(json.dumps({"ms": {k: round(v * 1e3, 3) for k, v in med.items()}, "student_work_ms": student_work * 1e3,
                      "floor_class_ms": floor_correct * scale * 1e3, "budget_ms": budget * 1e3}))


if __name__ == "__main__":
    main()
