"""Benchmark: looping, buggy and failing notebooks, this checkout beside a baseline.

Prints, all measured in this one run, the engine of this checkout ("new") beside the
engine of a baseline git revision ("old", extracted with `git archive`) and, for the
looping notebooks and with --fixed, beside fixed limits (`fixed_limits: True`, the limits
before issue 15):
- per notebook kind: wall time and CPU (the grading process, its zygote and every student
  process, from a transient cgroup-v1 cpuacct group; NaN where there is none), medians
  over alternating rounds (new, old, new, old, ...);
- the looping notebooks: the reference of rnn_step_by_step with an endless loop at the
  top of every graded function ("all 8 loop"), and of rnn_cell_backward only (the unit
  that calls it passes with the reference's substituted);
- the buggy and the failing notebooks of a generated class (bench/make_submissions.py;
  the first --n of each category): CPU per notebook;
- whether every verdict (score, mode, explanation) is the same on both sides.

Usage: python bench/bench_loops.py [--baseline REV] [--rounds 3] [--n 40] [--class DIR] [--fixed]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
A = "rnn_step_by_step"


def looping(text: str, names: list[str]) -> str:
    """`text` with `while True: pass` at the top of each named function."""
    for name in names:
        start = text.index(f"\ndef {name}(")
        line_end = text.index(":\n", start) + 2
        text = text[:line_end] + "    while True:\n        pass\n" + text[line_end:]
    return text


def worker(root: str, config: str, out: str, files: list[str]) -> None:
    """Grade `files` with the engine at `root`, in a cpuacct group of its own."""
    sys.path.insert(0, root)
    os.chdir(root)  # the course: reference/ of that checkout
    from autograder.grader import Grader

    group = Path(f"/sys/fs/cgroup/cpuacct/rnngrade-bench-loops-{os.getpid()}")
    try:
        group.mkdir()
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError:
        group = None

    def cpu() -> float:
        return int((group / "cpuacct.usage").read_text()) / 1e9 if group else float("nan")
    rows = []
    with Grader(A, json.loads(config), prespawn=True) as grader:
        grader.grade_file(files[0])  # warm: zygote, first spawn
        for path in files:
            wall, used = time.monotonic(), cpu()
            result = grader.grade_file(path)
            rows.append({"file": path, "wall": time.monotonic() - wall, "cpu": cpu() - used,
                         "units": [[u.name, u.score, u.mode, u.explanation] for u in result.units]})
    Path(out).write_text(json.dumps(rows))
    if group:
        Path("/sys/fs/cgroup/cpuacct/cgroup.procs").write_text(str(os.getpid()))
        for _ in range(50):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def run_side(root: Path, config: dict, files: list[str], scratch: Path) -> list[dict]:
    out = scratch / f"out-{time.monotonic_ns()}.json"
    subprocess.run([sys.executable, __file__, "--worker", str(root), json.dumps(config), str(out), *files],
                   check=True, env=dict(os.environ, PYTHONPATH=str(root)))
    return json.loads(out.read_text())


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default="6ede6be", help="git revision of the old engine")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=40, help="buggy and failing notebooks each (0: none)")
    parser.add_argument("--class", dest="klass", help="a class made by make_submissions.py (default: made here)")
    parser.add_argument("--fixed", action="store_true",
                        help="also the looping notebooks with fixed limits, once (about 90 s more)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-loops-"))
    old = scratch / "old"
    old.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)

    solution = (ROOT / "reference" / A / "solution.py").read_text()
    units = ["rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward",
             "lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward"]
    kinds = {"all 8 loop": [scratch / "all_loop.py"], "rnn_cell_backward loops": [scratch / "one_loop.py"]}
    kinds["all 8 loop"][0].write_text(looping(solution, units))
    kinds["rnn_cell_backward loops"][0].write_text(looping(solution, ["rnn_cell_backward"]))
    if args.n:
        klass = Path(args.klass) if args.klass else scratch / "class"
        if not args.klass:
            subprocess.run([sys.executable, str(ROOT / "bench" / "make_submissions.py"), str(klass), "--n", "400",
                            "--seed", "0"], check=True, stdout=subprocess.DEVNULL)
        manifest = json.loads(Path(f"{klass}.manifest.json").read_text())
        for category in ("buggy", "failing"):
            picked = [e["student"] for e in manifest if e["category"] == category][:args.n]
            kinds[category] = [klass / f"{s}.ipynb" for s in picked]

    sides = {"new": (ROOT, {}), "old": (old, {})}
    loops = [f for k in ("all 8 loop", "rnn_cell_backward loops") for f in kinds[k]]
    rest = [f for k in ("buggy", "failing") if k in kinds for f in kinds[k]]
    figures: dict = {}  # (side, kind) -> list of (wall, cpu) per notebook, all rounds
    verdicts: dict = {}
    for round_ in range(args.rounds):
        for side, (root, config) in sides.items():
            rows = run_side(root, config, [str(f) for f in loops + rest], scratch)
            if round_ == 0 and side == "new" and args.fixed:  # once: each looping unit then costs seconds
                for row in run_side(root, {"fixed_limits": True}, [str(f) for f in loops], scratch):
                    kind = next(k for k, fs in kinds.items() if Path(row["file"]) in fs)
                    figures.setdefault((f"{side}, fixed limits", kind), []).append((row["wall"], row["cpu"]))
            for row in rows:
                kind = next(k for k, fs in kinds.items() if Path(row["file"]) in fs)
                figures.setdefault((side, kind), []).append((row["wall"], row["cpu"]))
                verdicts.setdefault(side, {})[row["file"]] = row["units"]
    load = os.getloadavg()
    print(f"bench_loops: new = this checkout, old = {args.baseline}; {args.rounds} rounds; "
          f"load average now {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print(f"{'notebooks':26} {'engine':20} {'n':>4} {'wall ms':>9} {'CPU ms':>9}   (medians per notebook)")
    for kind in kinds:
        medians = {}
        for side in ("new", "old", "new, fixed limits"):
            values = figures.get((side, kind))
            if not values:
                continue
            wall = statistics.median(w for w, _ in values) * 1000
            cpu = statistics.median(c for _, c in values) * 1000
            medians[side] = (wall, cpu)
            print(f"{kind:26} {side:20} {len(values):4d} {wall:9.0f} {cpu:9.0f}")
        if "new" in medians and "old" in medians:
            (nw, nc), (ow, oc) = medians["new"], medians["old"]
            print(f"{kind:26} {'new / old':20} {'':4} {nw / ow:9.2f} {nc / oc:9.2f}")
    differ = []
    for path, new_units in verdicts["new"].items():
        old_units = verdicts["old"][path]
        for a, b in zip(new_units, old_units):
            if a[:2] != b[:2] or a[2] != b[2]:
                differ.append((Path(path).name, a[0], b[1:3], a[1:3]))
    print(f"verdicts (score, mode) that differ between old and new: {len(differ)}", *differ[:10], sep="\n  ")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
