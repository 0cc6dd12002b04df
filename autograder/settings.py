"""Typed, validated settings: sandbox limits, points and per-assignment options.

Where a setting comes from, later winning:

1. the engine's defaults (`autograder.sandbox.limits.DEFAULTS`);
2. the assignment's description (`Assignment(limits=..., rtol=..., atol=...)`, `Unit(points=...)`);
3. the course file: `rnngrade.toml` in the course directory, else `[tool.rnngrade]` in its
   `pyproject.toml`:

       [limits]                                   # every assignment of the course
       unit_seconds = 10
       [assignments.rnn_step_by_step]
       rtol = 1e-5
       [assignments.rnn_step_by_step.limits]
       memory_mb = 768
       [assignments.rnn_step_by_step.points]
       rnn_cell_forward = 2

4. the caller: `rnngrade grade/autograde --unit-seconds ...`, `Grader(assignment, {...})`.

Every layer is checked by pydantic models with unknown keys forbidden: a typo or a wrong
type is a SettingsError naming the key, where it was written, and what was expected.
The limit fields are built from DEFAULTS, so a limit the sandbox adds is known here at once.
"""
from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Annotated, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from autograder.sandbox.limits import DEFAULTS

COURSE_FILE = "rnngrade.toml"


class SettingsError(ValueError):
    """A setting is unknown or has the wrong type; the message names it."""


def _field_type(default):
    """The type a limit must have, read off its default (bool before int: bool is an int)."""
    if isinstance(default, bool):
        return Annotated[bool, Field(strict=True)]
    if isinstance(default, int):
        return Annotated[int, Field(strict=True, gt=0)]
    if isinstance(default, float):
        return Annotated[float, Field(gt=0)]  # an int is a fine number of seconds
    if isinstance(default, (tuple, list)):
        return tuple[str, ...]
    return type(default)


_STRICT = ConfigDict(extra="forbid", frozen=True)

# Every limit optional: one layer sets only some of them.
LimitOverrides = create_model(
    "LimitOverrides", __config__=_STRICT,
    **{key: (Optional[_field_type(default)], None) for key, default in DEFAULTS.items()})


# What a caller (the command line, Grader(...)) may set besides the limits: grader options
# that are no course's or assignment's business.
CallerConfig = create_model(
    "CallerConfig", __base__=LimitOverrides,
    unsafe_no_sandbox=(Optional[Annotated[bool, Field(strict=True)]], None),  # grade without a safe sandbox
)


class AssignmentOptions(BaseModel):
    """What a course file may change for one assignment."""

    model_config = _STRICT
    limits: LimitOverrides = LimitOverrides()
    points: dict[str, Annotated[float, Field(ge=0)]] = {}
    rtol: Optional[Annotated[float, Field(ge=0)]] = None
    atol: Optional[Annotated[float, Field(ge=0)]] = None


class CourseSettings(BaseModel):
    """The course file: limits for every assignment, options per assignment, and the
    deadlines (a table checked by autograder.deadlines.DeadlineSettings)."""

    model_config = _STRICT
    limits: LimitOverrides = LimitOverrides()
    assignments: dict[str, AssignmentOptions] = {}
    deadlines: dict = {}


def _explain(error: ValidationError, where: str, known=()) -> SettingsError:
    lines = []
    for problem in error.errors():
        path = ".".join(str(part) for part in problem["loc"])
        key = str(problem["loc"][-1]) if problem["loc"] else ""
        if problem["type"] == "extra_forbidden":
            close = difflib.get_close_matches(key, list(known) or list(DEFAULTS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            lines.append(f"unknown setting {path!r} in {where}{hint}")
        else:
            lines.append(f"setting {path!r} in {where}: {problem['msg'].lower()}, got {problem['input']!r}")
    return SettingsError("; ".join(lines))


def check_limits(values: dict | None, where: str) -> dict:
    """The limits in `values`, validated; only the keys given (one layer of several)."""
    try:
        model = LimitOverrides.model_validate(dict(values or {}))
    except ValidationError as exc:
        raise _explain(exc, where, DEFAULTS) from None
    return model.model_dump(exclude_none=True)


def check_config(values: dict | None, where: str) -> dict:
    """A caller's configuration (limits and grader options), validated; only the keys given."""
    try:
        model = CallerConfig.model_validate(dict(values or {}))
    except ValidationError as exc:
        raise _explain(exc, where, set(CallerConfig.model_fields)) from None
    return model.model_dump(exclude_none=True)


def course_file(root: Path) -> tuple[dict, str]:
    """The raw course settings of a course directory and where they were read ({} if none)."""
    path = root / COURSE_FILE
    if path.is_file():
        return _toml(path), str(path)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        table = _toml(pyproject).get("tool", {}).get("rnngrade")
        if table is not None:
            return table, f"{pyproject} [tool.rnngrade]"
    return {}, "no course file"


def _toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from None


def course_settings(root: Path) -> CourseSettings:
    raw, where = course_file(root)
    return validate_course_file(raw, where)


def validate_course_file(raw: dict, where: str) -> CourseSettings:
    try:
        return CourseSettings.model_validate(raw)
    except ValidationError as exc:
        known = set(CourseSettings.model_fields) | set(AssignmentOptions.model_fields) | set(DEFAULTS)
        raise _explain(exc, where, known) from None
