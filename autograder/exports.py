"""Exports of the gradebook: a CSV grade sheet, everything as JSON, and Gradescope's
results.json per student (built with `autograder.results.to_gradescope`, so the format
is the one `rnngrade grade --json` prints)."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

from autograder.gradebook import (ERROR, Gradebook, Submission, UnitScore, assignment_fingerprint, summary_line,
                                  utcnow)
from autograder.grader import GradingResult, UnitResult
from autograder.results import to_gradescope


def _num(x: float) -> str:
    return f"{x:g}"


def unit_order(assignment: str, submissions: list[Submission]) -> list[str]:
    """The assignment's units in its order, then any recorded unit it no longer has."""
    from autograder.assignments import get_assignment

    names = [u.name for u in get_assignment(assignment).units]
    for sub in submissions:
        names += [u.name for u in sub.units if u.name not in names]
    return names


def to_csv(assignment: str, submissions: list[Submission]) -> str:
    """One row per student: a column per unit (assignment order), then the total."""
    units = unit_order(assignment, submissions)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", *units, "total"])
    for sub in submissions:
        scores = {u.name: u.score for u in sub.units}
        writer.writerow([sub.student, *(_num(scores[n]) if n in scores else "" for n in units), _num(sub.score)])
    return out.getvalue()


def _iso(value) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def submission_dict(sub: Submission) -> dict:
    return {
        "student": sub.student, "source": sub.source, "status": sub.status, "error": sub.error,
        "score": sub.score, "max_score": sub.max_score, "notes": list(sub.notes or []),
        "content_hash": sub.content_hash, "fingerprint": sub.fingerprint,
        "grader_version": sub.grader_version, "execution_time": sub.execution_time,
        "wall_time": sub.wall_time, "worker": sub.worker, "run_id": sub.run_id, "id": sub.id,
        "graded_at": _iso(sub.graded_at),
        "units": [dataclasses.asdict(unit_result(u)) for u in sub.units],
    }


def to_json_data(book: Gradebook, assignment: str) -> dict:
    """Everything the gradebook holds for the assignment."""
    submissions = book.submissions(assignment)
    runs = [{"id": r.id, "source": r.source, "layout": r.layout, "backend": r.backend,
             "fingerprint": r.fingerprint, "grader_version": r.grader_version, "force": r.force,
             "started_at": _iso(r.started_at), "finished_at": _iso(r.finished_at), "discovered": r.discovered,
             "to_grade": r.to_grade, "graded": r.graded, "failed": r.failed} for r in book.runs(assignment)]
    return {
        "assignment": assignment,
        "exported_at": _iso(utcnow()),
        "current_fingerprint": assignment_fingerprint(assignment),
        "units": unit_order(assignment, submissions),
        "submissions": [submission_dict(s) for s in submissions],
        "runs": runs,
    }


def unit_result(u: UnitScore) -> UnitResult:
    """A recorded unit as the UnitResult the grader made of it."""
    return UnitResult(name=u.name, score=u.score, max_score=u.max_score, status=u.status,
                      explanation=u.explanation, mode=u.mode, cases_passed=u.cases_passed,
                      cases_total=u.cases_total, cpu=u.cpu, wall=u.wall)


def grading_result(sub: Submission) -> GradingResult:
    """A recorded submission as the GradingResult the grader made of it."""
    notes = list(sub.notes or [])
    if sub.status == ERROR:
        notes.append(f"Grading failed: {summary_line(sub.error)}")
    units = [unit_result(u) for u in sub.units]
    for unit in units:
        if unit.status == ERROR:  # a gradebook-only status: the grader (and Gradescope) say "failed"
            unit.status = "failed"
    return GradingResult(assignment=sub.assignment, submission=sub.source, units=units, notes=notes,
                         execution_time=sub.execution_time, grader_version=sub.grader_version)


def write_gradescope(submissions: list[Submission], folder: Path) -> list[Path]:
    """<folder>/<student>/results.json for every student."""
    written = []
    for sub in submissions:
        path = Path(folder) / sub.student / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(to_gradescope(grading_result(sub)), indent=2) + "\n")
        written.append(path)
    return written
