"""Stages 3-5 for one submission: run every graded unit in the sandbox, in both
fair-credit modes, judge it against the reference, and score it.

The reference and the expected outputs live only here. The hidden cases and the
reference's outputs on them are computed once per assignment and reused for every
submission graded by this process.
"""
from __future__ import annotations

import contextlib
import difflib
import io
import time
import types
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path


from autograder import __version__
from autograder.assignments import Assignment, Unit, get_assignment
from autograder.codec import CodecError, decode, encode
from autograder.driver import run_case, unit_spec
from autograder.hints import classic_mistake_hint
from autograder.judge import Tolerance, compare, gradcheck_error
from autograder.judge import matches as values_match
from autograder.course import course_root
from autograder.reference import data_files, helper_sources, load_reference
from autograder.sandbox.client import UNSAFE_NOTE, PackedUnit, StudentProcess, Zygote, probe_sandbox, require_sandbox
from autograder.settings import check_config
from autograder.submission import Cell, SubmissionError, load_submission

GRADCHECK_THRESHOLD = {"float64": 1e-5, "float32": 5e-2}


@dataclass
class UnitResult:
    name: str
    score: float
    max_score: float
    status: str                 # passed (full score) / failed
    explanation: str
    mode: str = "own"           # own / reference: which fair-credit mode earned the score
    cases_passed: int = 0
    cases_total: int = 0
    cpu: float = 0.0
    wall: float = 0.0


@dataclass
class GradingResult:
    assignment: str
    submission: str
    units: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    execution_time: float = 0.0
    grader_version: str = __version__

    @property
    def score(self) -> float:
        return round(sum(u.score for u in self.units), 6)

    @property
    def max_score(self) -> float:
        return sum(u.max_score for u in self.units)


@dataclass
class PreparedUnit:
    unit: Unit
    spec: dict
    cases: list            # Case
    expected: list         # expected outputs per case
    reference_inputs: list  # per case: inputs for reference mode (with reference_state added)
    own: PackedUnit | None = None        # what the student side receives, encoded once
    reference: PackedUnit | None = None  # the same for reference mode


def prepare(assignment_id: str) -> tuple[Assignment, dict, list]:
    """Hidden cases and the reference's outputs on them, once per process and course."""
    return _prepare(assignment_id, course_root())


@lru_cache(maxsize=None)
def _prepare(assignment_id: str, course: Path) -> tuple[Assignment, dict, list]:
    assignment = get_assignment(assignment_id)
    reference = load_reference(assignment_id)
    definitions = vars(reference)
    prepared = []
    for unit in assignment.units:
        spec = unit_spec(unit)
        if spec["gradcheck"]:  # below this the student side skips the per-input breakdown
            spec["gradcheck"]["threshold"] = GRADCHECK_THRESHOLD.get(assignment.dtype, 1e-5)
        cases = unit.cases()
        expected, reference_inputs = [], []
        for case in cases:
            # the reference runs on what the student side will see: inputs after the boundary
            with quiet():
                expected.append(_roundtrip(run_case(dict(definitions), spec, _roundtrip(case.inputs))))
            extra = unit.reference_state(reference, _roundtrip(case.inputs)) if unit.reference_state else {}
            reference_inputs.append({**case.inputs, **extra})
        reference_spec = dict(spec, setup=unit.reference_setup) if unit.reference_setup is not None else spec
        prepared.append(PreparedUnit(unit, spec, cases, expected, reference_inputs,
                                     PackedUnit.pack(spec, [c.inputs for c in cases]),
                                     PackedUnit.pack(reference_spec, reference_inputs)))
    helpers = helper_sources(assignment_id, assignment.helpers)
    return assignment, helpers, prepared


def quiet():
    """What the reference prints (a training loop's progress) is not the grader's output."""
    return contextlib.redirect_stdout(io.StringIO())


def _roundtrip(value):
    """What the value looks like after crossing the boundary (tuples, dtypes, copies)."""
    return decode(encode(value))


class ReferenceServer:
    """Answers a student unit's calls to the reference units it depends on, and only
    those, only while that unit is graded."""

    def __init__(self, reference: types.SimpleNamespace, allowed: tuple[str, ...]):
        self.reference = reference
        self.allowed = set(allowed)
        self.objects: dict[int, object] = {}

    def __call__(self, message: dict) -> dict | bytes:
        """The reply, encoded here (once) so that a value that is not plain data becomes
        an error reply instead of a grader crash."""
        try:
            args = list(message.get("args") or [])
            value = self._serve(message, args)
            if message.get("op") == "call":
                # a reference unit may update its arguments in place (update_parameters,
                # a gradients dict): send them back so the student side can mirror that
                return encode({"value": value, "args": args})
            return encode({"value": value})
        except CodecError as exc:
            return {"error": f"the reference could not return plain data ({exc})"}
        except PermissionError as exc:
            return {"error": str(exc)}
        except Exception as exc:
            return {"error": f"the reference {message.get('name', 'object')} raised {type(exc).__name__}: {exc}"}

    def _serve(self, message: dict, args: list):
        op = message["op"]
        kwargs = dict(message.get("kwargs") or {})
        if op in ("call", "new"):
            name = message.get("name")
            if name not in self.allowed:
                raise PermissionError(f"{name} is not served while this unit is graded")
            with quiet():
                result = getattr(self.reference, name)(*args, **kwargs)
            if op == "new":
                handle = len(self.objects) + 1
                self.objects[handle] = result
                return handle
            return result
        target = self.objects[int(message["handle"])]
        attr = str(message["attr"])
        if attr.startswith("__"):
            raise PermissionError("private attributes are not served")
        if op == "getattr":
            value = getattr(target, attr)
            if callable(value):
                return {"method": True}
            return {"value": value}
        if op == "setattr":
            setattr(target, attr, message.get("value"))
            return None
        if op == "method":
            return getattr(target, attr)(*args, **kwargs)
        raise PermissionError(f"unknown request {op}")


def missing_explanation(unit: Unit, defined: dict, cell_notes, graded_names=frozenset()) -> str | None:
    """Why a unit cannot be graded at all, or None when it is defined."""
    base, _, method = unit.name.partition(".")
    if base in defined and (not method or method in (defined[base] or [])):
        return None
    what = f"{base} is not defined" if base not in defined else f"class {base} has no method {method}"
    for note in cell_notes:
        if note.status not in ("ok", "not_run") and note.source_mentions(base):
            return f"{what} in the submission: {note.label} would define it but {note.describe()}."
    wanted, pool = (base, defined) if base not in defined else (method, defined[base] or [])
    # a name that is itself a graded unit is not a typo of this one
    pool = [str(n) for n in pool if str(n) not in graded_names]
    close = difflib.get_close_matches(wanted, pool, n=1, cutoff=0.85)
    if close:
        return f"{what} in the submission, but `{close[0]}` is: is the name misspelt?"
    return f"{what} in the submission."


def describe_error(err: dict) -> str:
    text = f"{err.get('type', 'Error')}: {err.get('message', '')}".rstrip(": ")
    if err.get("type") == "NotImplementedError":
        text = "not implemented yet (raises NotImplementedError)"
    if err.get("stage") == "setup":
        snippet = "; ".join(line.strip() for line in str(err.get("snippet", "")).splitlines() if line.strip())
        text = f"while preparing its input (`{snippet[:200]}`): {text}"
    if err.get("traceback"):
        text += "\n" + _indent(err["traceback"])
    return text


def _case_failure(run, expected, tol, unit: Unit) -> str:
    if not run.ok:
        return describe_error(run.error or {})
    for name, value in expected.items():
        if name not in run.outputs:
            return f"`{name}` was not produced"
        problem = compare(value, run.outputs[name], tol, name, exact=unit.exact)
        if problem:
            return problem
    return ""


def _indent(text: str) -> str:
    return "\n".join("      " + line for line in text.splitlines())


class Grader:
    """Grades submissions of one assignment; reuse it across submissions."""

    def __init__(self, assignment_id: str, config: dict | None = None, zygote: Zygote | None = None,
                 check_all_gradients: bool = False, prespawn: bool = False):
        self.assignment, self.helpers, self.prepared = prepare(assignment_id)
        # the numerical gradient check runs for backward units that fail; True: for all
        # (an instructor checking a new assignment's reference, its tolerance, its tests)
        self.check_all_gradients = check_all_gradients
        self._hint_cache: dict = {}
        # batch grading: each submission's end starts the next one's sandbox (Zygote.prepare_spare)
        self.prespawn = prespawn
        self.reference = load_reference(assignment_id)
        self.files = data_files(assignment_id)  # e.g. a names file the student's code reads
        # sandbox limits: the assignment's own (Assignment.limits), then the caller's
        # (validated: an unknown key or a wrong type is a SettingsError naming it)
        self.config = {**self.assignment.limits, **check_config(config, "the grader's configuration")}
        self.tol = Tolerance(self.assignment.rtol, self.assignment.atol)
        self.graded_names = frozenset(n for u in self.assignment.units for n in u.name.split("."))
        self._own_zygote = zygote is None
        self.zygote = zygote or Zygote()
        self.unsafe_note = ""
        try:
            self._check_sandbox()
        except BaseException:
            self.close()
            raise

    def _check_sandbox(self) -> None:
        """Fail closed (client.require_sandbox) unless the caller said --unsafe-no-sandbox,
        which then stands in every result. `harden: False` (benchmarks, tests) says so
        in every result already."""
        if not self.config.get("harden", True):
            return
        if self.config.get("unsafe_no_sandbox"):
            missing = probe_sandbox(self.config, self.zygote)["missing"]
            self.unsafe_note = UNSAFE_NOTE.format(missing="; ".join(missing) or "nothing (the flag was not needed)")
        else:
            require_sandbox(self.config, self.zygote)

    def close(self):
        if self._own_zygote:
            self.zygote.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def grade_file(self, path: str | Path) -> GradingResult:
        started = time.monotonic()
        try:
            cells = load_submission(path)
        except SubmissionError as exc:
            result = self._unreadable(str(path), str(exc))
        else:
            result = self.grade_cells(cells, str(path))
        result.execution_time = time.monotonic() - started
        return result

    def _unreadable(self, name: str, reason: str) -> GradingResult:
        result = GradingResult(self.assignment.id, name, notes=[f"The submission could not be read: {reason}."])
        for p in self.prepared:
            result.units.append(UnitResult(p.unit.name, 0.0, p.unit.points, "failed",
                                           f"Not graded: the submission could not be read ({reason})."))
        return result

    def grade_cells(self, cells: list[Cell], name: str = "<submission>") -> GradingResult:
        result = GradingResult(self.assignment.id, name, notes=[self.unsafe_note] if self.unsafe_note else [])
        student = StudentProcess(self.zygote, self.helpers, self.assignment.preamble, cells, self.config,
                                 files=self.files)
        try:
            reports = [_CellNote(r, cells) for r in student.start()]
            result.notes.extend(note for note in (r.note() for r in reports) if note)
            missing = {p.unit.name: missing_explanation(p.unit, student.defined, reports, self.graded_names)
                       for p in self.prepared}
            together = self._run_together(student, [p for p in self.prepared if not missing[p.unit.name]])
            for prepared in self.prepared:
                result.units.append(self._grade_unit(student, prepared, missing[prepared.unit.name],
                                                     together.get(prepared.unit.name), result.units))
            result.notes.extend(n for n in student.notes if n not in result.notes)  # sandbox fallbacks, budget
            if student.restarts:
                result.notes.append(f"The student process was restarted {student.restarts} time(s).")
        finally:
            student.kill()
            if self.prespawn:
                self.zygote.prepare_spare(student.config)
        return result

    def _run_together(self, student, units: list[PreparedUnit]) -> dict:
        """First pass: every defined unit in the student's own mode, all in one child
        (a fork per unit costs more than most units' cases). Only a unit that passes
        every case keeps this result; any other runs again alone (see _grade_unit), so
        another unit's side effects can never cost it points. A child stopped by one
        unit leaves the units after it for another pass."""
        runs, pending = {}, list(units)
        while pending:
            results = student.run_units([p.own for p in pending])
            if all(r is None for r in results):
                break  # not started (budget, start-up failure): each unit gets its own attempt
            runs.update((p.unit.name, r) for p, r in zip(pending, results) if r is not None)
            pending = [p for p, r in zip(pending, results) if r is None]
        return runs

    def _judge_run(self, prepared: PreparedUnit, run) -> list:
        """(case, problem) for every case of a run that does not match the reference."""
        failures = []
        for case, case_run, expected in zip(prepared.cases, run.cases, prepared.expected):
            if case_run is None:
                failures.append((case, run.ended or "not run"))
                continue
            problem = _case_failure(case_run, expected, self.tol, prepared.unit)
            if problem:
                if case_run.ok and not failures:  # diagnose the first failing case only
                    problem += self._hint(prepared.spec, case.inputs, case_run.outputs)
                failures.append((case, problem))
        return failures

    def _run_mode(self, student, prepared: PreparedUnit, mode: str):
        unit = prepared.unit
        if mode == "own":
            packed, substitute = prepared.own, {}
        else:
            packed = prepared.reference
            substitute = {n: ("class" if isinstance(getattr(self.reference, n), type) else "function")
                          for n in unit.calls}
        server = ReferenceServer(self.reference, unit.calls if mode == "reference" else ())
        # the numerical check is reported for the student's own forward/backward pair
        run = student.run_unit(packed, substitute, server, gradcheck=(mode == "own"))
        return run, self._judge_run(prepared, run)

    def _hint(self, spec: dict, inputs: dict, actual: dict) -> str:
        def run_reference(changed):
            with quiet():
                return _roundtrip(run_case(dict(vars(self.reference)), spec, changed))

        def matches(expected, got):
            return all(name in got and values_match(value, got[name], self.tol, name)
                       for name, value in expected.items() if not name.startswith("__"))

        # the case inputs are the prepared (shared) objects: their variants' outputs are kept
        cache = self._hint_cache.setdefault((spec["name"], id(inputs)), {})
        return classic_mistake_hint(run_reference, inputs, actual, matches, cache)

    def _grade_unit(self, student, prepared: PreparedUnit, missing: str | None, together=None,
                    graded=()) -> UnitResult:
        unit = prepared.unit
        total = len(prepared.cases)
        if missing:
            return UnitResult(unit.name, 0.0, unit.points, "failed", missing, cases_total=total)
        own_run, own_failures = together, None
        if together is not None:
            own_failures = self._judge_run(prepared, together)
        ref_run = ref_failures = None
        failed_together = bool(own_failures) and not together.timed_out
        if failed_together and unit.has_reference_mode:
            # Fair credit first: with the reference's units substituted (alone, as always)
            # a unit that only failed because of what it calls gets full marks, and its
            # own run alone could not change that.
            ref_run, ref_failures = self._run_mode(student, prepared, "reference")
        # alone (and with the gradient check, which then has something to explain) unless it
        # passed together with the others, or already has full marks from the reference
        # mode, or used up its time there: a second run would too
        if (own_failures is None or (failed_together and ref_failures != [])
                or (self.check_all_gradients and unit.gradcheck is not None)):
            own_run, own_failures = self._run_mode(student, prepared, "own")
        best_mode, run, failures = "own", own_run, own_failures
        # A unit that ran out of time while every unit it calls passed is stuck in its own
        # code: substituting the reference's would spend the same time again for nothing.
        own_loop = own_run.timed_out and self._calls_all_passed(unit, graded)
        if ref_run is None and own_failures and unit.has_reference_mode and not own_loop:
            ref_run, ref_failures = self._run_mode(student, prepared, "reference")
        if ref_run is not None and own_failures and len(ref_failures) < len(own_failures):
            best_mode, run, failures = "reference", ref_run, ref_failures
        passed = total - len(failures)
        score = round(unit.points * passed / total, 6) if total else 0.0
        status = "passed" if passed == total else "failed"
        explanation = self._explain(unit, prepared, own_run, own_failures, best_mode, failures, ref_failures)
        if own_failures and unit.has_reference_mode and own_loop:
            explanation += (f"\nNot run again with the reference {', '.join(unit.calls)} substituted: yours passed "
                            "every hidden case, so the time went in this function's own code.")
        cpu = sum(c.cpu for c in run.cases if c)
        return UnitResult(unit.name, score, unit.points, status, explanation, best_mode, passed, total, cpu, run.wall)

    @staticmethod
    def _calls_all_passed(unit: Unit, graded) -> bool:
        """Whether every graded unit that `unit` calls (by its name or its class) passed."""
        status = {}
        for result in graded:
            for name in {result.name, result.name.partition(".")[0]}:
                status[name] = status.get(name, True) and result.status == "passed"
        return all(status.get(name, False) for name in unit.calls)

    def _explain(self, unit, prepared, own_run, own_failures, mode, failures, ref_failures) -> str:
        total = len(prepared.cases)
        deps = ", ".join(unit.calls) or "forward pass"  # "with the reference forward pass substituted"
        lines = []
        if not failures:
            lines.append(f"Passed all {total} hidden cases.")
            if mode == "reference":
                case, problem = own_failures[0]
                lines.append(f"Full credit with the reference {deps} substituted. With your own {deps}, "
                             f"{len(own_failures)} case(s) failed, e.g. case {case.label}: {problem.splitlines()[0]}")
        else:
            lines.append(f"Passed {total - len(failures)} of {total} hidden cases"
                         + (f" (best with the reference {deps} substituted)." if mode == "reference" else "."))
            for case, problem in failures[:2]:
                lines.append(f"- case {case.label}: {problem}")
            if len(failures) > 2:
                lines.append(f"- ... {len(failures) - 2} more case(s) failing")
            if ref_failures and mode == "own":
                case, problem = ref_failures[0]
                lines.append(f"With the reference {deps} substituted it fails too, e.g. case {case.label}: "
                             f"{problem.splitlines()[0]}")
        if unit.gradcheck is not None and not own_failures:
            lines.append("No numerical gradient check was needed: every gradient matches the reference's.")
        lines.extend(self._gradcheck_lines(unit, own_run))
        mutated = sorted({n for c in own_run.cases if c and c.ok for n in (c.outputs or {}).get("__mutated__", [])})
        if mutated:
            lines.append("Note: it modifies its argument(s) " + ", ".join(f"`{n}`" for n in mutated)
                         + " in place; callers may not expect that (no points lost for it).")
        printed = next((c.output for c in own_run.cases if c and c.output), "")
        if printed:
            lines.append("Printed output (trimmed):\n" + _indent(printed[:600]))
        return "\n".join(lines)

    def _gradcheck_lines(self, unit, run) -> list[str]:
        if unit.gradcheck is None:
            return []
        worst: dict[str, float] = {}
        skipped: dict[str, str] = {}
        for case in run.cases:
            if not (case and case.ok):
                continue
            for grad, pair in (case.outputs or {}).get("__gradcheck__", {}).items():
                err = gradcheck_error(pair)
                if err is None:
                    skipped[str(grad)] = str(pair)[:120]
                else:
                    worst[grad] = max(worst.get(grad, 0.0), err)
        if not worst and not skipped:
            return []
        limit = GRADCHECK_THRESHOLD.get(self.assignment.dtype, 1e-5)
        parts = [f"{g} {e:.1e}{'' if e < limit else ' (too large)'}" for g, e in worst.items()]
        parts += [f"{g} {why}" for g, why in sorted(skipped.items()) if g not in worst]
        return ["Numerical gradient check of your backward against the forward it belongs to "
                "(central differences along random directions, worst relative error): " + ", ".join(parts)]


class _CellNote:
    def __init__(self, report, cells):
        self.report = report
        self.label = report.label
        self.status = report.status
        index = report.index - 1  # 0 is the preamble
        self.source = cells[index].source if 0 <= index < len(cells) else ""

    def source_mentions(self, name: str) -> bool:
        return f"def {name}" in self.source or f"class {name}" in self.source

    def describe(self) -> str:
        r = self.report
        if r.status == "syntax_error":
            return f"does not parse: {r.errors[0].get('message') if r.errors else ''}"
        if r.status == "timeout":
            return "was stopped at its time limit"
        if r.status == "crashed":
            return f"crashed ({r.errors[0].get('message') if r.errors else ''})"
        if r.status == "error" and r.errors:
            e = r.errors[0]
            return f"raised {e.get('type')}: {e.get('message')} at line {e.get('line')}"
        return r.status

    def note(self) -> str:
        if self.status in ("ok", "not_run"):
            return ""
        return f"{self.label} {self.describe()}"
