"""Render the gradebook of one assignment as HTML: `index.html` (the class report) and
`students/<student>.html` (one feedback page per student).

Every page is self-contained (inline CSS, plots as base64 PNG, no script, no external
resource) and every value is escaped by Jinja2's autoescape: explanations quote
student-controlled text (printed output, error messages). The pages also carry a
Content-Security-Policy that forbids scripts, in case something ever slips through.
"""
from __future__ import annotations

import collections
import hashlib
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from autograder.gradebook import ERROR, NOT_GRADED, Gradebook, Submission, summary_line, utcnow
from autograder.grades import grade_of
from autograder.report import plots

MAX_EXPLANATION = 4000       # characters of one unit's explanation shown on a page
TOP_REASONS = 5              # failure reasons listed per unit
TOP_REASONS_CHART = 12       # bars in the class report's root-cause chart

_COUNT_LINE = re.compile(r"^Passed \d+ of \d+ hidden cases")
_CASE_PREFIX = re.compile(r"^- case .*?, seed \d+: ")
_NUMBER = re.compile(r"(?<![A-Za-z_\d.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def failure_reason(explanation: str) -> str:
    """What a failed unit's explanation says went wrong, with numbers stripped so that
    the same mistake groups across students: its first line, or, when that line only
    counts the cases passed, the first failing case's line without the case label."""
    lines = [line.strip() for line in (explanation or "").splitlines() if line.strip()]
    if not lines:
        return "(no explanation)"
    line = lines[0]
    if _COUNT_LINE.match(line) and len(lines) > 1 and lines[1].startswith("- case"):
        line = _CASE_PREFIX.sub("", lines[1])
    return re.sub(r"\s+", " ", _NUMBER.sub("#", line)).strip()


def trim(text: str, limit: int = MAX_EXPLANATION) -> str:
    text = text or ""
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters trimmed)"


def page_name(student: str) -> str:
    """A file name for the student's page: the name itself when it is plain, else a
    cleaned name plus a short hash (so two students never share a page)."""
    clean = re.sub(r"[^A-Za-z0-9_.-]", "_", student).strip(".") or "student"
    if clean != student:
        clean += "-" + hashlib.sha1(student.encode()).hexdigest()[:8]
    return clean + ".html"


def verdict(score: float, max_score: float, status: str) -> str:
    if status == ERROR:
        return "error"
    if score >= max_score:
        return "passed"
    return "partial" if score > 0 else "failed"


_TRACE_FRAME = re.compile(r'File "[^"]*", line \d+, in (\w+)')
_FAILS_TOO = re.compile(r"^With .*,? it fails too, e\.g\. case .*?, seed \d+: (.*)$")
_FAILS_SAME = "It fails with the same kind of failure with "


def dependencies(spec, unit) -> list[str]:
    """The graded units a unit relies on (the assignment's `depends_on`, which the grader's
    fair credit reads too): those its setup runs to prepare its input (a backward pass's
    forward, e.g. `layer.forward(xs)` of `TimeRNN`) first, then those it calls."""
    from autograder.assignments.model import runs_in

    calls = list(unit.calls)

    def order(dep):
        if runs_in(dep.name, unit.setup):
            return (0, 0)
        called = dep.name if dep.name in calls else dep.name.partition(".")[0]
        return (1, calls.index(called) if called in calls else len(calls))

    return [u.name for u in sorted(spec.depends_on(unit), key=order)]


def root_cause(explanation: str, deps: list[str], failed: set[str]) -> tuple[str | None, str | None]:
    """(reason, None) for a failure of the unit's own; (None, dependency) for a unit that
    failed only because a unit it relies on failed for the same student: its own-mode
    error arose while preparing its input or inside that dependency, and with the
    reference's versions substituted it did not fail on its own (or has no such mode)."""
    lines = [line.strip() for line in (explanation or "").splitlines() if line.strip()]
    for line in lines:  # its own reason, shown when it fails with the reference's units too
        match = _FAILS_TOO.match(line)
        if match:
            return failure_reason(match.group(1)), None
        if line.startswith(_FAILS_SAME):  # the same failure with the reference's units: its own
            return failure_reason(explanation), None
    broken = [d for d in deps if d in failed]
    if broken and len(lines) > 1 and lines[1].startswith("- case"):
        frames = []
        for line in lines[2:]:
            if line.startswith("- "):
                break
            frames += _TRACE_FRAME.findall(line)
        innermost = frames[-1] if frames else None
        named = [d for d in broken if d.rpartition(".")[2] == innermost]
        if "while preparing its input" in lines[1] or named:
            return None, (named or broken)[0]
    return failure_reason(explanation), None


@dataclass
class UnitStats:
    name: str
    points: float
    graded: int = 0
    passed: int = 0
    reference_credit: int = 0
    score_sum: float = 0.0
    reasons: collections.Counter = field(default_factory=collections.Counter)
    examples: dict = field(default_factory=dict)
    knock_on: collections.Counter = field(default_factory=collections.Counter)  # dependency -> students

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0

    @property
    def mean(self) -> float:
        return self.score_sum / self.graded if self.graded else 0.0

    def top_reasons(self, n: int = TOP_REASONS):
        return [(reason, count, self.examples[reason]) for reason, count in self.reasons.most_common(n)]


def class_statistics(assignment: str, submissions: list[Submission]) -> list[UnitStats]:
    """Per unit: pass rate, mean, and the failures grouped by root cause (a unit that
    failed only because a unit it relies on failed counts under `knock_on`, not as a
    reason of its own)."""
    from autograder.assignments import get_assignment
    from autograder.exports import unit_order

    spec = get_assignment(assignment)
    spec_units = spec.units
    deps = {u.name: dependencies(spec, u) for u in spec_units}
    points = {}
    for sub in submissions:
        for u in sub.units:
            points.setdefault(u.name, u.max_score)
    stats = {name: UnitStats(name, points.get(name, 0.0)) for name in unit_order(assignment, submissions)}
    for sub in submissions:
        failed = {u.name for u in sub.units if u.score < u.max_score}
        for u in sub.units:
            s = stats[u.name]
            s.graded += 1
            s.score_sum += u.score
            if u.score >= u.max_score:
                s.passed += 1
                s.reference_credit += u.mode != "own"  # a fair-credit mode earned it
                continue
            reason, because = (failure_reason(u.explanation), None) if u.status == ERROR else \
                root_cause(u.explanation, deps.get(u.name, []), failed)
            if because is not None:
                s.knock_on[because] += 1
                continue
            s.reasons[reason] += 1
            examples = s.examples.setdefault(reason, [])
            if len(examples) < 3:
                examples.append(sub.student)
    return list(stats.values())


def common_reasons(stats: list[UnitStats], n: int = TOP_REASONS_CHART) -> list[dict]:
    """The most common root causes across units, as rows for the report's bar chart."""
    rows = sorted(((s.name, reason, count) for s in stats for reason, count in s.reasons.items()),
                  key=lambda row: -row[2])[:n]
    top = max((count for _, _, count in rows), default=1)
    return [{"unit": unit, "reason": reason, "count": count, "width": round(100 * count / top)}
            for unit, reason, count in rows]


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("autograder.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"], default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pts"] = lambda x: f"{x:g}" if float(x).is_integer() else f"{x:.2f}"
    env.filters["short"] = summary_line
    # a long unit name may wrap after "." and "_" and inside CamelCase (compact table headers)
    env.filters["breakable"] = lambda name: Markup("<wbr>").join(
        escape(part) for part in re.split(r"(?<=[._])|(?<=[a-z])(?=[A-Z])", str(name)))
    return env


def write_feedback(book: Gradebook, assignment: str, out_dir: str | Path) -> list[Path]:
    """Write index.html and students/*.html; return the paths written."""
    from autograder.assignments import get_assignment

    spec = get_assignment(assignment)
    out = Path(out_dir)
    (out / "students").mkdir(parents=True, exist_ok=True)
    env = _environment()
    submissions = book.submissions(assignment)
    generated = utcnow().strftime("%Y-%m-%d %H:%M UTC")
    written = []

    student_template = env.get_template("student.html.j2")
    overrides = book.overrides(assignment)
    grades = {sub.student: grade_of(sub, overrides.get(sub.student)) for sub in submissions}
    pages = {}
    for sub in submissions:
        pages[sub.student] = "students/" + page_name(sub.student)
        grade = grades[sub.student]
        units = [{"name": u.name, "score": g.score, "graded": u.score, "max_score": u.max_score, "mode": u.mode,
                  "verdict": verdict(g.score, u.max_score, u.status), "cases_passed": u.cases_passed,
                  "cases_total": u.cases_total, "explanation": trim(u.explanation), "override": g.override}
                 for u, g in zip(sub.units, grade.units)]
        if sub.status == ERROR:  # no score but the instructor's; the grader's own error is not the student's
            for u in units:
                u["score"] = u["score"] if u["override"] is not None else None  # (capped: grades.UnitGrade)
                u["explanation"] = "Not graded: the grader failed on this submission (see above)."
        html = student_template.render(assignment=spec, sub=sub, units=units, generated=generated, grade=grade,
                                       # the grader's own error stays with the instructor (class report, exports)
                                       error=sub.status == ERROR)
        path = out / pages[sub.student]
        path.write_text(html, encoding="utf-8")
        written.append(path)

    stats = class_statistics(assignment, submissions)
    totals = [g.final for g in grades.values() if g.final is not None]
    figures = {}
    if totals:
        figures["histogram"] = plots.score_histogram(totals, spec.total_points)
        figures["pass_rates"] = plots.pass_rates([s.name for s in stats], [s.pass_rate for s in stats])
    summary = {
        "students": len(submissions),
        "mean": statistics.fmean(totals) if totals else 0.0,
        "median": statistics.median(totals) if totals else 0.0,
        "full": sum(1 for g in grades.values() if g.final is not None and g.final >= g.max_score),
        "errors": [s.student for s in submissions if s.status == ERROR],
        "not_graded": [s.student for s in submissions if s.status == NOT_GRADED],
    }
    rows = [{"student": s.student, "page": pages[s.student], "grade": grades[s.student], "max_score": s.max_score,
             "status": s.status, "units": {u.name: u for u in grades[s.student].units}} for s in submissions]
    html = env.get_template("class.html.j2").render(assignment=spec, stats=stats, rows=rows, figures=figures,
                                                    summary=summary, generated=generated,
                                                    common=common_reasons(stats))
    index = out / "index.html"
    index.write_text(html, encoding="utf-8")
    written.insert(0, index)
    return written
