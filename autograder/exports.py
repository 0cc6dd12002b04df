"""Exports of the gradebook: a CSV grade sheet, a Canvas gradebook import, everything as
JSON, and Gradescope's results.json per student (built with
`autograder.results.to_gradescope`, so the format is the one `rnngrade grade --json`
prints). Scores with overrides and late penalties come from autograder.grades."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

from autograder.gradebook import (ERROR, NOT_GRADED, Gradebook, Submission, UnitScore, assignment_fingerprint, summary_line,
                                  utcnow)
from autograder.grader import GradingResult, UnitResult
from autograder.grades import Grade, grade_of
from autograder.results import to_gradescope

SHEET_COLUMNS = ["raw_score", "overrides", "late_penalty", "final_score", "max_points", "submitted_at",
                 "submitted_at_source", "late_hours", "status"]


def _num(x: float) -> str:
    return f"{x:g}"


def _hours(seconds: float | None) -> str:
    """Hours late, never 0.00 for a hand-in that was late (and penalised) by seconds."""
    hours = (seconds or 0) / 3600
    return f"{hours:.2f}" if hours == 0 or hours >= 0.005 else f"{hours:.2g}"


def unit_order(assignment: str, submissions: list[Submission]) -> list[str]:
    """The assignment's units in its order, then any recorded unit it no longer has."""
    from autograder.assignments import get_assignment

    names = [u.name for u in get_assignment(assignment).units]
    for sub in submissions:
        names += [u.name for u in sub.units if u.name not in names]
    return names


def _sheet_time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else ""


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """A text cell a spreadsheet would run as a formula (a student named
    `=HYPERLINK(...)`, a roster's field) gets a leading apostrophe (OWASP's advice for CSV
    injection); numbers, negative ones included, stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


class _SheetWriter:
    """csv.writer whose text cells cannot be formulas."""

    def __init__(self, out):
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row) -> None:
        self._writer.writerow([_cell(value) for value in row])


def to_csv(assignment: str, submissions: list[Submission], overrides: dict | None = None,
           roster: dict | None = None) -> str:
    """One row per student: a column per unit (assignment order; an override replaces the
    grader's score), then the raw score, the overrides' net change, the late penalty, the
    final score, the maximum, the hand-in time and where it came from, hours late, status
    (and e-mail when a roster gives it). A submission the grader failed on has no final
    score (empty), never a zero."""
    overrides = overrides or {}
    units = unit_order(assignment, submissions)
    out = io.StringIO()
    writer = _SheetWriter(out)
    with_email = bool(roster) and any(r.get("email") for r in roster.values())
    writer.writerow(["student", *(["email"] if with_email else []), *units, *SHEET_COLUMNS])
    for sub in submissions:
        grade = grade_of(sub, overrides.get(sub.student))
        scores = {u.name: u.score for u in grade.units}
        email = [(roster or {}).get(sub.student, {}).get("email", "")] if with_email else []
        final = "" if grade.final is None else _num(grade.final)
        if not grade.graded:  # a grader failure: no scores but the instructor's own, never zeros
            scores = {u.name: u.score for u in grade.units if u.override is not None}
        raw, changed, penalty = ((_num(grade.raw), _num(grade.adjusted - grade.raw), _num(grade.late_penalty))
                                 if grade.graded else ("", "", ""))
        writer.writerow([sub.student, *email, *(_num(scores[n]) if n in scores else "" for n in units),
                         raw, changed, penalty, final,
                         _num(grade.max_score), _sheet_time(sub.submitted_at), sub.submitted_at_source or "",
                         _hours(sub.late_seconds), sub.status])
    return out.getvalue()


# Canvas's gradebook import: these identity columns, then one column per assignment
# ("Name (id)"), and a "Points Possible" row under the header.
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
ROSTER_KEYS = {"student": "student", "login": "student", "name": "name", "email": "email", "e-mail": "email",
               "id": "id", "canvas_id": "id", "sis_user_id": "sis_user_id", "sis user id": "sis_user_id",
               "sis_login_id": "sis_login_id", "sis login id": "sis_login_id", "section": "section"}


class RosterError(ValueError):
    pass


def read_roster(path: str | Path) -> dict[str, dict]:
    """A class roster CSV → {student: {name, email, id, sis_user_id, sis_login_id, section}}.
    Columns by name, case-insensitive: `student` (the name rnngrade knows the student by,
    required), `name`, `email`, `id` (Canvas's user ID), `sis_user_id`, `sis_login_id`,
    `section`; others are ignored."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = {c: ROSTER_KEYS.get(c.strip().lower()) for c in (reader.fieldnames or [])}
        if "student" not in columns.values():
            raise RosterError(f"{path}: no `student` column (the students' names as rnngrade knows them)")
        roster = {}
        for row in reader:
            entry = {key: (row.get(col) or "").strip() for col, key in columns.items() if key}
            if entry.get("student"):
                roster[entry["student"]] = entry
    return roster


def to_canvas_csv(assignment: str, submissions: list[Submission], overrides: dict | None = None,
                  roster: dict | None = None, column: str | None = None) -> str:
    """Canvas's gradebook import format: the identity columns, one column for the
    assignment holding the final score, and the "Points Possible" row. Without a roster
    the student's name goes in Student and SIS Login ID (what Canvas matches on). A
    submission the grader failed on is left empty (not graded), never a zero."""
    from autograder.assignments import get_assignment

    spec = get_assignment(assignment)
    overrides, roster = overrides or {}, roster or {}
    out = io.StringIO()
    writer = _SheetWriter(out)
    writer.writerow([*CANVAS_IDENTITY, column or spec.id])
    writer.writerow(["Points Possible", "", "", "", "", _num(spec.total_points)])
    for sub in submissions:
        person = roster.get(sub.student, {})
        grade = grade_of(sub, overrides.get(sub.student))
        writer.writerow([person.get("name") or sub.student, person.get("id", ""), person.get("sis_user_id", ""),
                         person.get("sis_login_id") or person.get("email") or sub.student, person.get("section", ""),
                         "" if grade.final is None else _num(grade.final)])
    return out.getvalue()


def _iso(value) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def _override_dict(o) -> dict:
    return {"unit": o.unit, "score": o.score, "reason": o.reason, "by": o.author, "at": _iso(o.created_at)}


def submission_dict(sub: Submission, overrides: dict | None = None) -> dict:
    grade: Grade = grade_of(sub, overrides)
    return {
        "student": sub.student, "source": sub.source, "status": sub.status, "error": sub.error,
        "score": sub.score, "max_score": sub.max_score, "notes": list(sub.notes or []),
        "content_hash": sub.content_hash, "fingerprint": sub.fingerprint,
        "grader_version": sub.grader_version, "execution_time": sub.execution_time,
        "wall_time": sub.wall_time, "worker": sub.worker, "run_id": sub.run_id, "id": sub.id,
        "graded_at": _iso(sub.graded_at),
        "submitted_at": _iso(sub.submitted_at), "submitted_at_source": sub.submitted_at_source,
        "due_at": _iso(sub.due_at), "late_seconds": sub.late_seconds, "late_fraction": sub.late_fraction,
        "late_rule": sub.late_rule, "late_penalty": grade.late_penalty,
        "overrides": [_override_dict(o) for o in grade.overrides], "final_score": grade.final,
        "units": [dataclasses.asdict(unit_result(u)) for u in sub.units],
    }


def to_json_data(book: Gradebook, assignment: str) -> dict:
    """Everything the gradebook holds for the assignment."""
    submissions = book.submissions(assignment)
    overrides = book.overrides(assignment)
    runs = [{"id": r.id, "source": r.source, "layout": r.layout, "backend": r.backend,
             "fingerprint": r.fingerprint, "grader_version": r.grader_version, "force": r.force,
             "started_at": _iso(r.started_at), "finished_at": _iso(r.finished_at), "discovered": r.discovered,
             "to_grade": r.to_grade, "graded": r.graded, "failed": r.failed} for r in book.runs(assignment)]
    return {
        "assignment": assignment,
        "exported_at": _iso(utcnow()),
        "current_fingerprint": assignment_fingerprint(assignment),
        "units": unit_order(assignment, submissions),
        "submissions": [submission_dict(s, overrides.get(s.student)) for s in submissions],
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
    """<folder>/<student>/results.json for every graded student: one the grader failed on
    gets none (a results.json must carry a score, and a grader failure is not a zero)."""
    written = []
    for sub in submissions:
        if sub.status in (ERROR, NOT_GRADED):
            continue
        path = Path(folder) / sub.student / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(to_gradescope(grading_result(sub)), indent=2) + "\n")
        written.append(path)
    return written
