"""A recorded submission's grade as exports and feedback show it: the grader's raw score,
the instructor's overrides, the late penalty, the final score. One place computes it.

    adjusted = sum over units of (the override's score if there is one, else the grader's)
    penalty  = late_fraction x adjusted       (late_fraction from autograder.deadlines)
    final    = adjusted - penalty

A submission the grader failed on has no final score (None): a grader failure is not a
zero, whatever the overrides.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from autograder.gradebook import ERROR, NOT_GRADED, Override, Submission


@dataclass
class UnitGrade:
    name: str
    graded: float          # the grader's score
    max_score: float
    override: Override | None = None

    @property
    def score(self) -> float:
        if self.override is None:
            return self.graded
        return min(self.override.score, self.max_score)  # (the unit's points lowered since the override)

    @property
    def override_above_points(self) -> bool:
        return self.override is not None and self.override.score > self.max_score


@dataclass
class Grade:
    student: str
    status: str
    raw: float             # the grader's total
    max_score: float
    units: list = field(default_factory=list)   # UnitGrade, in recorded order
    late_fraction: float = 0.0

    @property
    def overrides(self) -> list[Override]:
        return [u.override for u in self.units if u.override is not None]

    @property
    def adjusted(self) -> float:
        return round(sum(u.score for u in self.units), 6)

    @property
    def graded(self) -> bool:
        """False for a submission the grader failed on: it has no score, penalty or final
        grade, only the overrides the instructor gave (a grader failure is not a zero)."""
        return self.status not in (ERROR, NOT_GRADED)

    @property
    def late_penalty(self) -> float | None:
        if not self.graded:
            return None
        return round(self.late_fraction * self.adjusted, 6)

    @property
    def final(self) -> float | None:
        if not self.graded:
            return None
        return round(self.adjusted - self.late_penalty, 6)


def grade_of(sub: Submission, overrides: dict | None = None) -> Grade:
    """`overrides`: {unit: Override} of this student (Gradebook.overrides(...)[student])."""
    overrides = overrides or {}
    units = [UnitGrade(u.name, u.score, u.max_score, overrides.get(u.name)) for u in sub.units]
    return Grade(sub.student, sub.status, sub.score, sub.max_score, units, sub.late_fraction or 0.0)
