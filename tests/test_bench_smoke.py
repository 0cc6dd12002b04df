"""Smoke test of the course-scale benchmark's inputs (bench/make_submissions.py,
bench/nbgrader_course.py): valid, deterministic notebooks with the intended mix, and
generated notebooks that grade the way their category says. Fast: the benchmarks
themselves are run by hand (bench/README.md)."""
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import make_submissions as ms  # noqa: E402

A = "rnn_step_by_step"


def test_notebooks_are_valid_nbformat_v4(tmp_path):
    import nbformat

    manifest = ms.generate(tmp_path / "class", 20, seed=3)  # one block: every category
    assert len(list((tmp_path / "class").glob("*.ipynb"))) == 20
    assert {e["category"] for e in manifest} == {"correct", "buggy", "failing", "hostile"}
    assert ms.manifest_path(tmp_path / "class").exists() and not (tmp_path / "class" / "class.manifest.json").exists()
    for entry in manifest:
        nb = nbformat.read(tmp_path / "class" / f"{entry['student']}.ipynb", as_version=nbformat.NO_CONVERT)
        assert nb.nbformat == 4
        nbformat.validate(nb)


def test_same_seed_same_bytes_other_seed_other_class(tmp_path):
    ms.generate(tmp_path / "a", 30, seed=7)
    ms.generate(tmp_path / "b", 30, seed=7)
    ms.generate(tmp_path / "c", 30, seed=8)
    read = lambda d: {p.name: p.read_bytes() for p in sorted((tmp_path / d).glob("*.ipynb"))}  # noqa: E731
    assert read("a") == read("b")
    assert ms.manifest_path(tmp_path / "a").read_bytes() == ms.manifest_path(tmp_path / "b").read_bytes()
    assert read("a") != read("c")


def test_the_mix_of_a_class_and_of_its_first_hundred():
    plan = ms.plan(1000, seed=0)
    count = lambda entries, c: sum(e["category"] == c for e in entries)  # noqa: E731
    assert [count(plan, c) for c in ("correct", "buggy", "failing", "hostile")] == [600, 250, 100, 50]
    assert [count(plan[:100], c) for c in ("correct", "buggy", "failing", "hostile")] == [60, 25, 10, 5]
    loops = [e for e in plan if e.get("kind") in ms.INFINITE]
    assert 1 <= len(loops) <= 5  # at most 0.5%: each one costs its time limit
    kinds = {e.get("kind") for e in plan}
    assert {"syntax_error", "name_error_function", "missing_function", "magic", "huge_alloc_unit",
            "sys_exit_toplevel", "os_exit_toplevel", "print_megabytes"} <= kinds


def test_every_bug_applies_to_the_reference_text():
    functions = ms.split_solution()
    assert list(functions) == ms.FUNCTIONS
    for kind, fn, old, new in ms.BUGS:
        assert functions[fn].count(old) == 1, (kind, fn)


def _write(tmp_path, name, nb) -> Path:
    path = tmp_path / f"{name}.ipynb"
    path.write_text(ms.dumps(nb))
    return path


def test_correct_scores_full_marks_and_a_transposed_weight_loses_its_unit_only(graders, tmp_path):
    grader = graders(A)
    correct, kinds = ms.make_student({"student": "s_ok", "category": "correct"}, seed=0)
    result = grader.grade_file(_write(tmp_path, "s_ok", correct))
    assert result.score == result.max_score == 8, [(u.name, u.explanation) for u in result.units]

    buggy, kinds = ms.make_student({"student": "s_bug", "category": "buggy",
                                    "bugs": [("transposed_weight", "rnn_cell_forward")]}, seed=0)
    assert "transposed_weight:rnn_cell_forward" in kinds
    result = grader.grade_file(_write(tmp_path, "s_bug", buggy))
    lost = {u.name for u in result.units if u.score < u.max_score}
    assert lost == {"rnn_cell_forward"}, [(u.name, u.score) for u in result.units]


def test_nbgrader_submission_keeps_the_release_cells_and_takes_the_students_code():
    import nbgrader_course

    release = nbgrader_course.source_notebook()  # same graded cells and ids as the release
    student, kinds = ms.make_student({"student": "s_miss", "category": "failing", "kind": "missing_function"}, seed=1)
    missing = next(k.split(":")[1] for k in kinds if k.startswith("missing_function"))
    placed = nbgrader_course.onto_release(release, student)
    graded = lambda nb: [(c["id"], c["metadata"]["nbgrader"]["grade_id"]) for c in nb["cells"]  # noqa: E731
                         if "nbgrader" in c.get("metadata", {})]
    assert graded(placed) == graded(release)
    answers = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in placed["cells"]
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    for name in ms.FUNCTIONS:
        if name == missing:
            assert answers[name].startswith("### BEGIN SOLUTION")  # untouched: the release's cell
        else:
            assert f"def {name}(" in answers[name] and "BEGIN SOLUTION" not in answers[name]
    student_code = [c for c in placed["cells"] if c["cell_type"] == "code" and "nbgrader" not in c["metadata"]]
    assert student_code and "from rnn_utils import *" in student_code[0]["source"]
    json.dumps(placed)
