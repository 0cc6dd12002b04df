"""Stage 6 (report): Gradescope's results.json and a readable table."""
from __future__ import annotations

import json
import re

from autograder.grader import GradingResult


def to_gradescope(result: GradingResult) -> dict:
    """Gradescope's results format: score, execution_time, output, and one test per unit."""
    output = "\n".join(result.notes)
    return {
        "score": result.score,
        "execution_time": round(result.execution_time, 3),
        "output": output,
        # plain text, everywhere: a student's exception message or printed output holds
        # `<a href=...>` or `<img ...>` as easily as words (Gradescope's default renders some
        # HTML), and the grader's own `File "<cell defining ...>"` lines would read as tags
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "tests": [
            {
                "name": u.name,
                "score": u.score,
                "max_score": u.max_score,
                "status": u.status,
                "output": u.explanation,
            }
            for u in result.units
        ],
    }


def to_json(result: GradingResult) -> str:
    return json.dumps(to_gradescope(result), indent=2)


# What a terminal would act on: escape sequences (CSI such as colours and cursor moves,
# OSC such as window titles and hyperlinks, and the rest), C0 and C1 control characters
# but newline and tab, and the bidirectional overrides that reorder what is shown.
_TERMINAL_CONTROLS = re.compile(
    r"\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"          # CSI
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, SOS, PM, APC ... terminator
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"                         # other escapes
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_text(text: str) -> str:
    """Text safe to print on a terminal: submissions choose much of what is printed
    (messages, printed output, file and folder names), and a terminal obeys escapes."""
    return _TERMINAL_CONTROLS.sub("", text)


def to_table(result: GradingResult) -> str:
    return terminal_text(_table(result))


def _table(result: GradingResult) -> str:
    width = max([len(u.name) for u in result.units] + [4])
    lines = [f"{result.assignment}: {result.submission}", ""]
    lines.append(f"{'unit':<{width}}  {'score':<9}  verdict")
    lines.append("-" * (width + 30))
    for u in result.units:
        first = _one_line_reason(u.explanation)
        verdict = "passed" if u.score >= u.max_score else ("partial" if u.score > 0 else "failed")
        points = f"{_pts(u.score)}/{_pts(u.max_score)}"
        lines.append(f"{u.name:<{width}}  {points:<9}  {verdict:<7} {first}")
    lines.append("-" * (width + 30))
    lines.append(f"{'total':<{width}}  {_pts(result.score)}/{_pts(result.max_score)}")
    if result.notes:
        lines += ["", "Notes:"] + [f"- {n}" for n in result.notes]
    details = [u for u in result.units if u.score < u.max_score or "\n" in u.explanation]
    if details:
        lines += ["", "Details:"]
        for u in details:
            lines.append(f"[{u.name}]")
            lines += ["  " + line for line in u.explanation.splitlines()]
    return "\n".join(lines)


def _one_line_reason(explanation: str) -> str:
    """The explanation's first line; for a failing unit, with its first problem."""
    lines = explanation.splitlines() if explanation else [""]
    problem = next((m.group(1) for m in map(re.compile(r"^- case .*?seed \d+: (.*)").match, lines) if m), "")
    if problem:
        text = f"{lines[0]} {problem}"
        return text if len(text) <= 110 else text[:107] + "..."
    return lines[0]


def _pts(x: float) -> str:
    return f"{x:g}" if x == int(x) else f"{x:.2f}"
