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

from autograder.gradebook import ERROR, Gradebook, Submission, summary_line, utcnow
from autograder.report import plots

MAX_EXPLANATION = 4000       # characters of one unit's explanation shown on a page
TOP_REASONS = 5              # failure reasons listed per unit
TOP_REASONS_PLOT = 12        # bars in the failure-reasons plot

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

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0

    @property
    def mean(self) -> float:
        return self.score_sum / self.graded if self.graded else 0.0

    def top_reasons(self, n: int = TOP_REASONS):
        return [(reason, count, self.examples[reason]) for reason, count in self.reasons.most_common(n)]


def class_statistics(assignment: str, submissions: list[Submission]) -> list[UnitStats]:
    from autograder.exports import unit_order

    points = {}
    for sub in submissions:
        for u in sub.units:
            points.setdefault(u.name, u.max_score)
    stats = {name: UnitStats(name, points.get(name, 0.0)) for name in unit_order(assignment, submissions)}
    for sub in submissions:
        for u in sub.units:
            s = stats[u.name]
            s.graded += 1
            s.score_sum += u.score
            if u.score >= u.max_score:
                s.passed += 1
                s.reference_credit += u.mode != "own"  # a fair-credit mode earned it
            else:
                reason = failure_reason(u.explanation)
                s.reasons[reason] += 1
                examples = s.examples.setdefault(reason, [])
                if len(examples) < 3:
                    examples.append(sub.student)
    return list(stats.values())


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("autograder.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"], default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pts"] = lambda x: f"{x:g}" if float(x).is_integer() else f"{x:.2f}"
    env.filters["short"] = summary_line
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
    pages = {}
    for sub in submissions:
        pages[sub.student] = "students/" + page_name(sub.student)
        units = [{"name": u.name, "score": u.score, "max_score": u.max_score, "mode": u.mode,
                  "verdict": verdict(u.score, u.max_score, u.status), "cases_passed": u.cases_passed,
                  "cases_total": u.cases_total, "explanation": trim(u.explanation)} for u in sub.units]
        html = student_template.render(assignment=spec, sub=sub, units=units, generated=generated,
                                       error=summary_line(sub.error) if sub.status == ERROR else None)
        path = out / pages[sub.student]
        path.write_text(html, encoding="utf-8")
        written.append(path)

    stats = class_statistics(assignment, submissions)
    totals = [s.score for s in submissions]
    figures = {}
    if submissions:
        figures["histogram"] = plots.score_histogram(totals, spec.total_points)
        figures["pass_rates"] = plots.pass_rates([s.name for s in stats], [s.pass_rate for s in stats])
        common = sorted(((s.name, reason, count) for s in stats for reason, count in s.reasons.items()),
                        key=lambda row: -row[2])[:TOP_REASONS_PLOT]
        if common:
            figures["reasons"] = plots.failure_reasons(common)
    summary = {
        "students": len(submissions),
        "mean": statistics.fmean(totals) if totals else 0.0,
        "median": statistics.median(totals) if totals else 0.0,
        "full": sum(1 for s in submissions if s.score >= s.max_score and s.status != ERROR),
        "errors": [s.student for s in submissions if s.status == ERROR],
    }
    rows = [{"student": s.student, "page": pages[s.student], "score": s.score, "max_score": s.max_score,
             "status": s.status, "units": {u.name: u for u in s.units}} for s in submissions]
    html = env.get_template("class.html.j2").render(assignment=spec, stats=stats, rows=rows, figures=figures,
                                                    summary=summary, generated=generated)
    index = out / "index.html"
    index.write_text(html, encoding="utf-8")
    written.insert(0, index)
    return written
