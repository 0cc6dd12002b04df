"""Deadlines: due dates, per-student extensions and the late policy, read from the
`[deadlines]` section of the course file (`rnngrade.toml` in the course directory, see
autograder.settings), and what a submission's hand-in time costs under them.

    [deadlines]
    timezone = "Europe/Paris"           # for dates written without an offset (default UTC)
    policy = "per_day"                  # none | per_day | per_hour | zero_after
    percent = 10                        # per_day / per_hour: percent of the score per started day / hour
    cutoff_hours = 168                  # optional: later than this after the due date scores zero
                                        # (zero_after: the grace period, 0 = any lateness)

    [deadlines.due]
    rnn_step_by_step = "2026-03-01 23:59"

    [deadlines.extensions.rnn_step_by_step]
    alice = "2026-03-04 23:59"          # her own due date for this assignment

The hand-in time is nbgrader's `timestamp.txt` beside the submission when there is one,
else the file's modification time (recorded as such: `submitted_at_source`).
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from autograder.settings import SettingsError  # noqa: F401  (one error for every setting)

POLICIES = ("none", "per_day", "per_hour", "zero_after")
TIMESTAMP = "timestamp.txt"   # nbgrader's record of when a submission was collected
FROM_TIMESTAMP, FROM_MTIME = "timestamp.txt", "file mtime"
FROM_MTIME_BAD_STAMP = "file mtime (bad timestamp.txt)"  # there is one, and it is not a time


def _utc(value, tz, key: str) -> datetime:
    """A due date as naive UTC (the gradebook's convention)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise SettingsError(f"{key}: {value!r} is not a date and time (e.g. 2026-03-01 23:59 or "
                                "2026-03-01T23:59:00+01:00)") from None
    else:
        raise SettingsError(f"{key}: expected a date and time, got {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class DeadlineSettings:
    """The `[deadlines]` section, validated. Dates are naive UTC."""
    policy: str = "none"
    percent: float = 0.0
    cutoff_hours: float | None = None
    due: dict = field(default_factory=dict)          # assignment -> datetime
    extensions: dict = field(default_factory=dict)   # assignment -> {student: datetime}

    @classmethod
    def from_dict(cls, data: dict, assignments=None) -> "DeadlineSettings":
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        data = dict(data or {})
        known = {"timezone", "policy", "percent", "cutoff_hours", "due", "extensions"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingsError(f"deadlines: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        try:
            tz = ZoneInfo(data.get("timezone", "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"deadlines.timezone: unknown time zone {data.get('timezone')!r}") from None
        policy = data.get("policy", "none")
        if policy not in POLICIES:
            raise SettingsError(f"deadlines.policy: {policy!r} is not one of {', '.join(POLICIES)}")
        percent = data.get("percent", 0)
        if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 <= percent <= 100:
            raise SettingsError(f"deadlines.percent: expected a number from 0 to 100, got {percent!r}")
        if policy in ("per_day", "per_hour") and percent == 0:
            raise SettingsError(f"deadlines.percent: policy {policy} needs a percent above 0")
        cutoff = data.get("cutoff_hours")
        if cutoff is not None and (isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) or cutoff < 0):
            raise SettingsError(f"deadlines.cutoff_hours: expected a number of hours >= 0, got {cutoff!r}")
        if policy == "zero_after" and cutoff is None:
            cutoff = 0
        known_ids = set(assignments) if assignments is not None else None

        def check_assignment(name: str, key: str):
            if known_ids is not None and name not in known_ids:
                raise SettingsError(f"{key}: unknown assignment {name!r} (known: {', '.join(sorted(known_ids))})")

        due = {}
        for name, value in (data.get("due") or {}).items():
            check_assignment(name, f"deadlines.due.{name}")
            due[name] = _utc(value, tz, f"deadlines.due.{name}")
        extensions = {}
        for name, students in (data.get("extensions") or {}).items():
            check_assignment(name, f"deadlines.extensions.{name}")
            if not isinstance(students, dict):
                raise SettingsError(f"deadlines.extensions.{name}: expected a table of student = date")
            extensions[name] = {str(s): _utc(v, tz, f"deadlines.extensions.{name}.{s}") for s, v in students.items()}
        return cls(policy, float(percent), None if cutoff is None else float(cutoff), due, extensions)

    def due_for(self, assignment: str, student: str) -> datetime | None:
        return self.extensions.get(assignment, {}).get(student) or self.due.get(assignment)

    def rule(self) -> str:
        """The policy in words, as feedback and exports show it."""
        cutoff = "" if self.cutoff_hours is None else f", zero after {self.cutoff_hours:g} h late"
        if self.policy == "per_day":
            return f"{self.percent:g}% of the score per started day late{cutoff}"
        if self.policy == "per_hour":
            return f"{self.percent:g}% of the score per started hour late{cutoff}"
        if self.policy == "zero_after":
            return "zero when late" if not self.cutoff_hours else f"zero when more than {self.cutoff_hours:g} h late"
        return "no penalty for lateness"

    def penalty(self, late_seconds: float) -> float:
        """The fraction of the score lost (0: none, 1: all) for being this late."""
        if late_seconds <= 0 or self.policy == "none":
            return 0.0
        if self.cutoff_hours is not None and late_seconds > self.cutoff_hours * 3600:
            return 1.0
        if self.policy == "zero_after":
            return 0.0
        period = 86400 if self.policy == "per_day" else 3600
        return min(1.0, math.ceil(late_seconds / period) * self.percent / 100)


def load_deadlines(path: str | Path | None = None) -> DeadlineSettings:
    """The deadlines of the course file (default: the course directory's, see
    autograder.settings; none there: no deadlines), or of the settings file `path`."""
    from autograder.course import assignment_ids, course_root
    from autograder.settings import _toml, course_file

    if path is None:
        raw, where = course_file(course_root())
    else:
        from autograder.settings import validate_course_file

        path = Path(path)
        if not path.is_file():
            raise SettingsError(f"no course settings file at {path}")
        raw, where = _toml(path), str(path)
        # only its [deadlines] are read, but the whole file is checked: a typo anywhere in
        # it is an error (the course file's limits and points are the course directory's)
        validate_course_file(raw, where)
    try:
        return DeadlineSettings.from_dict(raw.get("deadlines", {}), assignment_ids())
    except SettingsError as exc:
        raise SettingsError(f"{where}: {exc}") from None


def submission_time(files: list[Path]) -> tuple[datetime | None, str | None]:
    """(naive UTC time, where it came from) for a submission made of `files`: nbgrader's
    timestamp.txt in their folder, else the newest file's modification time."""
    stamp = Path(files[0]).parent / TIMESTAMP if files else None
    source = FROM_MTIME
    if stamp is not None and stamp.is_file() and not stamp.is_symlink():
        try:
            return _stamp_time(_read_stamp(stamp)), FROM_TIMESTAMP
        except (OSError, ValueError, OverflowError):
            source = FROM_MTIME_BAD_STAMP  # unreadable: fall back to the file's time, and say so
    try:
        mtime = max(os.stat(p).st_mtime for p in files)
    except (OSError, ValueError):
        return None, None
    return datetime.fromtimestamp(mtime, timezone.utc).replace(tzinfo=None), source


STAMP_BYTES = 256  # nbgrader writes about 40: a longer file is not a time (dateutil took 43 s on 1 MB)
_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*")  # a zone's name, never a file's path


def _read_stamp(path: Path) -> str:
    from autograder.submission import read_capped

    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        data = read_capped(fd, STAMP_BYTES)
    finally:
        os.close(fd)
    if len(data) > STAMP_BYTES:
        raise ValueError(f"{TIMESTAMP} holds more than {STAMP_BYTES} bytes")
    return data.decode("utf-8", errors="replace").strip()


def _stamp_time(text: str) -> datetime:
    """nbgrader's timestamp.txt as naive UTC. nbgrader writes "YYYY-MM-DD HH:MM:SS.ffffff
    ZONE", the zone a name ("UTC", "Europe/Paris") or an offset in seconds; read with
    dateutil as nbgrader reads it, without importing nbgrader (about 1.7 s of CPU for
    every autograde run of a collected class)."""
    from dateutil import parser, tz

    parts = text.split(" ")
    if len(parts) == 3:
        day, clock, zone = parts
        if zone.lstrip("+-").isdigit():
            offset = int(zone)
        elif _ZONE.fullmatch(zone):
            offset = tz.gettz(zone)  # (a path here would make dateutil open that file)
        else:
            raise ValueError(f"not a time zone: {zone[:40]!r}")
        moment = parser.parse(f"{day} {clock} TZ", tzinfos={"TZ": offset})
    else:
        moment = parser.parse(text)
    if moment.tzinfo is not None:
        moment = (moment - moment.utcoffset()).replace(tzinfo=None)
    return moment


def lateness(settings: DeadlineSettings, assignment: str, student: str, files: list[Path]) -> dict:
    """The gradebook's deadline fields for one submission."""
    submitted, source = submission_time(files)
    due = settings.due_for(assignment, student)
    late = max(0.0, (submitted - due).total_seconds()) if (submitted and due) else 0.0
    return {"submitted_at": submitted, "submitted_at_source": source, "due_at": due, "late_seconds": late,
            "late_fraction": settings.penalty(late), "late_rule": settings.rule() if due else None}
