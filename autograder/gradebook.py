"""The gradebook: one row per (assignment, student) submission and one per graded unit,
in any database SQLAlchemy 2.x reaches (default: `sqlite:///gradebook.db`; a plain path
is an SQLite file, see `database_url`).

Its schema is versioned with Alembic (autograder/migrations): opening a gradebook brings
it to the newest revision under a schema lock (`upgrade`), so a gradebook written by an
older rnngrade keeps its rows, and two graders opening a new database at once do not
both create the tables.

Resume and idempotence rest on three rules:

- A submission is recorded in one transaction, together with all its unit rows: a run
  killed at any moment (SIGKILL included) leaves either the whole grading or none of it.
- `(assignment, student)` is unique: recording is an upsert on it (PostgreSQL and
  SQLite: INSERT … ON CONFLICT DO UPDATE, the unit rows replaced in the same
  transaction), so a regrade replaces the old row and two graders recording the same
  submission at once leave one row, never an IntegrityError.
- A recorded submission is graded again only when something it depends on changed: the
  file's bytes (`content_hash`, sha256), or the assignment's `fingerprint` (grader
  version + a hash of the reference folder and of the assignment's description module),
  or when its last grading ended in a grader error. `needs_grading` is that rule.

Only the process that runs the batch writes here; workers send results back to it.
Several batch processes may share one gradebook (TAs, a CI job): each claims a submission
before grading it (`Claims`: PostgreSQL advisory locks, or byte-range locks on a file
beside an SQLite gradebook; a process's claims end with it, even on SIGKILL), so a
submission is graded by one of them at a time.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from sqlalchemy import (JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint,
                        bindparam, create_engine, delete, event, insert, inspect, make_url, select, text)
from sqlalchemy.dialects import postgresql as pg_dialect, sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload, sessionmaker

from autograder import __version__

DEFAULT_DB = "sqlite:///gradebook.db"

GRADED = "graded"   # the grader produced a verdict (whatever the score)
ERROR = "error"     # grading this submission raised, or its worker died: retried next run
NOT_GRADED = "not_graded"  # found, but with nothing gradable (no notebook, several, a link): no score


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


# --------------------------------------------------------------------------- fingerprint

def _hash_tree(folder: Path, digest) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        if "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo"):
            continue
        digest.update(rel.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())


@lru_cache(maxsize=None)
def assignment_fingerprint(assignment_id: str) -> str:
    """What a recorded grade depends on besides the submission: the grader version, the
    assignment's folder (description, solution, helpers, checks)."""
    from autograder.reference import reference_dir

    digest = hashlib.sha256()
    digest.update(f"rnngrade {__version__}\0{assignment_id}\0".encode())
    _hash_tree(reference_dir(assignment_id), digest)  # the folder holds the description too
    # the settings in force (the course file may change points, tolerances, limits)
    from autograder.assignments import get_assignment

    graded = get_assignment(assignment_id)
    settings = (sorted(graded.limits.items()), [(u.name, u.points) for u in graded.units], graded.rtol, graded.atol)
    digest.update(b"\0settings\0" + repr(settings).encode())
    return f"{__version__}:{digest.hexdigest()}"


def content_hash(files: list[tuple[str, bytes]]) -> str:
    """sha256 of the file's bytes; for a submission made of several notebooks, sha256 over
    the (name, sha256) pairs in name order."""
    if len(files) == 1:
        return hashlib.sha256(files[0][1]).hexdigest()
    digest = hashlib.sha256()
    for name, data in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


# --------------------------------------------------------------------------- models

class Base(DeclarativeBase):
    pass


class Run(Base):
    """One `rnngrade autograde` invocation (finished_at stays empty if it was killed)."""
    __tablename__ = "runs"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(Text)
    layout: Mapped[str] = mapped_column(String(16))
    backend: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(128))
    grader_version: Mapped[str] = mapped_column(String(32))
    force: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    discovered: Mapped[int] = mapped_column(Integer, default=0)
    to_grade: Mapped[int] = mapped_column(Integer, default=0)
    graded: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("assignment", "student", name="uq_submission_assignment_student"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment: Mapped[str] = mapped_column(String(64), index=True)
    student: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(Text)              # path(s) relative to SUBMISSIONS
    content_hash: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(128))
    grader_version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))        # graded / error
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    notes: Mapped[list] = mapped_column(JSON, default=list)
    execution_time: Mapped[float] = mapped_column(Float, default=0.0)  # the grader's own measure
    wall_time: Mapped[float] = mapped_column(Float, default=0.0)       # in the worker, end to end
    worker: Mapped[str] = mapped_column(String(255), default="")
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True)
    graded_at: Mapped[datetime] = mapped_column(DateTime)
    # Deadlines (autograder.deadlines): when it was handed in and what that costs. `score`
    # stays the grader's raw score; the penalty is a fraction of the score (after any
    # override), applied when grades are read (autograder.grades).
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)   # UTC
    submitted_at_source: Mapped[str | None] = mapped_column(String(32), nullable=True)  # timestamp.txt / file mtime
    due_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)         # UTC, extension included
    late_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    late_fraction: Mapped[float] = mapped_column(Float, default=0.0)                # 0 on time, 1 scores zero
    late_rule: Mapped[str | None] = mapped_column(Text, nullable=True)              # the policy, in words

    units: Mapped[list["UnitScore"]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", passive_deletes=True,
        order_by="UnitScore.position")


class UnitScore(Base):
    __tablename__ = "unit_results"
    __table_args__ = (UniqueConstraint("submission_id", "name", name="uq_unit_submission_name"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))        # passed / failed / error
    explanation: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16))          # own / reference
    cases_passed: Mapped[int] = mapped_column(Integer, default=0)
    cases_total: Mapped[int] = mapped_column(Integer, default=0)
    cpu: Mapped[float] = mapped_column(Float, default=0.0)
    wall: Mapped[float] = mapped_column(Float, default=0.0)

    submission: Mapped[Submission] = relationship(back_populates="units")


class Override(Base):
    """An instructor's score for one unit of one submission, replacing the grader's. Kept
    apart from the gradings so that it survives every regrade; removed only by hand."""
    __tablename__ = "overrides"
    __table_args__ = (UniqueConstraint("assignment", "student", "unit", name="uq_override_assignment_student_unit"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment: Mapped[str] = mapped_column(String(64), index=True)
    student: Mapped[str] = mapped_column(String(255))
    unit: Mapped[str] = mapped_column(String(128))
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime)


# --------------------------------------------------------------------------- access

@dataclass(frozen=True)
class Recorded:
    """What resume needs to know about a recorded submission."""
    id: int
    content_hash: str
    fingerprint: str
    status: str
    graded_at: datetime | None = None


def needs_grading(recorded: Recorded | None, content: str, fingerprint: str, force: bool = False) -> bool:
    return (force or recorded is None or recorded.status != GRADED
            or recorded.content_hash != content or recorded.fingerprint != fingerprint)


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # A write-ahead log synced at checkpoints, not at every commit: in the default
    # rollback journal each submission's commit costs the batch process two fsyncs
    # (1-7 ms, while it should be handing out work). A committed submission still survives
    # the process being killed (SIGKILL included): it is in the -wal file, which the next
    # connection replays. Only a power cut may lose the last few commits (never half of
    # one), and those are graded again on the next run. Left as is where WAL cannot be
    # had (in-memory databases, a lock held elsewhere).
    try:
        mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()
        if mode and str(mode[0]).lower() == "wal":
            cursor.execute("PRAGMA synchronous=NORMAL")
    except Exception:  # sqlite3.OperationalError: locked, read-only
        pass
    cursor.close()


def database_url(db: str) -> str:
    """The SQLAlchemy URL of a gradebook given as a URL or as a plain path.

    - a path (no `://`): an SQLite file, `grades/course.db` → `sqlite:///grades/course.db`;
    - `postgresql://user:password@host:5432/dbname` (or `postgres://`, or a unix socket as
      `postgresql:///dbname?host=/run/postgresql`): PostgreSQL through psycopg 3, the
      driver of the `postgres` extra (SQLAlchemy's default PostgreSQL driver is psycopg2);
    - any other SQLAlchemy URL, unchanged.
    """
    if "://" not in db:
        return f"sqlite:///{Path(db).expanduser()}"
    url = make_url(db)
    if url.drivername not in ("postgresql", "postgres"):
        return db
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


class GradebookMissing(Exception):
    """A reader (export, feedback) asked for a gradebook that does not exist, or for a
    database that holds no gradebook."""


def sqlite_file(db: str) -> Path | None:
    """The file of a gradebook on SQLite, however it was given (None: another database,
    or one in memory)."""
    url = make_url(database_url(db))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") \
            or url.query.get("mode") == "memory":
        return None
    return Path(url.database)


def make_engine(url: str) -> Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


# --------------------------------------------------------------------------- schema

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001_baseline"      # the schema rnngrade wrote before it had migrations
SCHEMA_LOCK = 0x726E6E67_72616465   # PostgreSQL advisory lock key ("rnngrade")


def _alembic_config(connection: Connection | None = None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def schema_head() -> str:
    """The newest schema revision this rnngrade knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def schema_revision(connection: Connection) -> str | None:
    """The gradebook's schema revision (None: no version table)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _begin_locked(connection: Connection) -> None:
    """Begin the transaction that holds the schema lock until it ends: PostgreSQL's
    transaction-level advisory lock; SQLite's write lock (BEGIN IMMEDIATE: a second
    writer waits for it, up to the connection's busy timeout). Other databases: a plain
    transaction."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        # A migration may rebuild a table (SQLite's batch mode): with foreign keys
        # enforced, dropping the old `submissions` would cascade to every unit row. The
        # pragma only changes outside a transaction; foreign keys are checked before commit.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
    else:
        connection.begin()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the gradebook's schema to `revision` under the schema lock, in one
    transaction; (revision before, revision after). A database with the baseline's tables
    but no version table (written before migrations existed) is stamped with the baseline
    first, its rows kept. Cheap when the schema is already current."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    script = ScriptDirectory.from_config(_alembic_config())
    target = script.get_current_head() if revision == "head" else revision
    with engine.connect() as connection:
        current = schema_revision(connection)
        connection.rollback()
    if current == target:
        return current, current
    if current is not None and current not in {s.revision for s in script.walk_revisions()}:
        raise CommandError(f"its schema is at revision {current}, which this rnngrade ({__version__}, newest "
                           f"revision {target}) does not know: it was upgraded by a newer rnngrade; use that one")
    with engine.connect() as connection:
        try:
            _begin_locked(connection)
            before = schema_revision(connection)   # again: another grader may have done it
            config = _alembic_config(connection)
            if before is None and inspect(connection).has_table(Submission.__tablename__):
                command.stamp(config, BASELINE)
            command.upgrade(config, revision)
            if connection.dialect.name == "sqlite":
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the schema upgrade broke foreign keys: {broken[:5]}")
            after = schema_revision(connection)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    return before, after


class Gradebook:
    def __init__(self, url: str = DEFAULT_DB, *, migrate: bool = True, create: bool = True):
        """create=False: a reader (export, feedback). A missing SQLite file, or a database
        without the gradebook's tables, is GradebookMissing, and nothing is created."""
        self.url = database_url(url)
        if not create:
            path = sqlite_file(self.url)
            if path is not None and not path.is_file():
                raise GradebookMissing(f"no gradebook at {path} (run `rnngrade autograde` first, or pass --db)")
        self.engine = make_engine(self.url)
        if not create and not inspect(self.engine).has_table(Submission.__tablename__):
            self.engine.dispose()
            raise GradebookMissing(f"{self.display_url} is not an rnngrade gradebook (it has no submissions table)")
        if migrate:
            try:
                upgrade(self.engine)
            except BaseException:
                self.engine.dispose()
                raise
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        self._statements: dict = {}   # built once: see record_many

    def close(self):
        self.engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    # ---- runs
    def start_run(self, **fields) -> int:
        with self.Session.begin() as session:
            run = Run(started_at=utcnow(), grader_version=__version__, **fields)
            session.add(run)
            session.flush()
            return run.id

    def finish_run(self, run_id: int, **counts) -> None:
        with self.Session.begin() as session:
            run = session.get(Run, run_id)
            for key, value in counts.items():
                setattr(run, key, value)
            run.finished_at = utcnow()

    # ---- submissions
    def recorded(self, assignment: str) -> dict[str, Recorded]:
        with self.Session() as session:
            rows = session.execute(
                select(Submission.student, Submission.id, Submission.content_hash,
                       Submission.fingerprint, Submission.status, Submission.graded_at)
                .where(Submission.assignment == assignment)).all()
        return {r.student: Recorded(r.id, r.content_hash, r.fingerprint, r.status, r.graded_at) for r in rows}

    def recorded_meanwhile_many(self, assignment: str, pending: dict[str, tuple[Recorded | None, str]],
                                fingerprint: str) -> set[str]:
        """The students of `pending` ({student: (seen, content hash)}) whose very submission
        (same bytes, same assignment fingerprint) another grader recorded since `seen` was
        read, in one query: they need not be graded again, whatever the verdict (a grader
        error is retried by the next run, as with one run)."""
        if not pending:
            return set()
        with self.engine.connect() as conn:
            rows = conn.execute(self._statement("meanwhile"), {"assignment": assignment, "students": list(pending)})
            found = set()
            for row in rows:
                seen, content = pending[row.student]
                if seen is not None and row.graded_at == seen.graded_at:
                    continue
                if row.content_hash == content and row.fingerprint == fingerprint:
                    found.add(row.student)
        return found

    def claims(self) -> "Claims":
        return Claims(self)

    def record(self, *, assignment: str, student: str, source: str, content_hash: str, fingerprint: str,
               run_id: int | None, result: dict | None = None, error: str | None = None,
               units_on_error: list[tuple[str, float]] = (), wall_time: float = 0.0,
               worker: str = "", lateness: dict | None = None) -> int:
        """Record one grading (a GradingResult as a dict, or an error) in one transaction,
        replacing any earlier grading of the same (assignment, student). `lateness`: the
        deadline fields (autograder.deadlines.lateness)."""
        return self.record_many([dict(
            assignment=assignment, student=student, source=source, content_hash=content_hash,
            fingerprint=fingerprint, run_id=run_id, result=result, error=error, units_on_error=units_on_error,
            wall_time=wall_time, worker=worker, lateness=lateness)])[0]

    def record_many(self, records: list[dict]) -> list[int]:
        """Record several gradings (each with `record`'s keyword arguments) in ONE
        transaction: all of them or none. The batch coordinator commits the results that
        arrived together this way (a commit costs more than the rows it writes). A
        (assignment, student) given twice keeps its last grading. Returns the row ids."""
        latest: dict[tuple[str, str], dict] = {}
        for record in records:
            latest.pop((record["assignment"], record["student"]), None)   # the last one counts, in its place
            latest[(record["assignment"], record["student"])] = record
        prepared = [_grading_rows(**record) for record in latest.values()]
        submissions = Submission.__table__
        # Core statements, not ORM objects, each built once per gradebook (building an
        # upsert with its `excluded` columns cost ~0.7 ms, half of a record).
        ids = []
        with self.engine.begin() as conn:
            if conn.dialect.name in _upsert_dialects:
                # An upsert, atomic against a concurrent grader: the row (and its id) stays, its
                # fields and unit rows are replaced. Rows of the same columns go in one
                # executemany (SQLAlchemy sends them as multi-row INSERTs); the ids come back
                # with their student, in whatever order.
                by_columns: dict[tuple, list[dict]] = {}
                for row, _ in prepared:
                    by_columns.setdefault(tuple(row), []).append(row)
                id_of = {}
                for columns, rows in by_columns.items():
                    returned = conn.execute(self._upsert(conn.dialect.name, columns), rows)
                    id_of.update(((r.assignment, r.student), r.id) for r in returned)
                ids = [id_of[row["assignment"], row["student"]] for row, _ in prepared]
                conn.execute(self._statement("delete_units"), {"ids": ids})
            else:
                # Elsewhere: the old grading's unit rows go with it by ON DELETE CASCADE.
                for row, _ in prepared:
                    conn.execute(delete(submissions).where(submissions.c.assignment == row["assignment"],
                                                           submissions.c.student == row["student"]))
                    ids.append(conn.execute(insert(submissions), row).inserted_primary_key[0])
            units = [dict(u, submission_id=row_id) for row_id, (_, rows) in zip(ids, prepared) for u in rows]
            if units:
                conn.execute(self._statement("insert_units"), units)
        return ids

    def _upsert(self, dialect: str, columns: tuple[str, ...]):
        """INSERT … ON CONFLICT (assignment, student) DO UPDATE every other given column."""
        key = ("upsert", dialect, columns)
        stmt = self._statements.get(key)
        if stmt is None:
            submissions = Submission.__table__
            stmt = _upsert_dialects[dialect].insert(submissions)
            stmt = stmt.on_conflict_do_update(
                index_elements=[submissions.c.assignment, submissions.c.student],
                set_={k: stmt.excluded[k] for k in columns if k not in ("assignment", "student")},
            ).returning(submissions.c.assignment, submissions.c.student, submissions.c.id)
            self._statements[key] = stmt
        return stmt

    def _statement(self, name: str):
        stmt = self._statements.get(name)
        if stmt is None:
            unit_results = UnitScore.__table__
            submissions = Submission.__table__
            if name == "meanwhile":
                stmt = (select(submissions.c.student, submissions.c.content_hash, submissions.c.fingerprint,
                               submissions.c.graded_at)
                        .where(submissions.c.assignment == bindparam("assignment"),
                               submissions.c.student.in_(bindparam("students", expanding=True))))
            elif name == "delete_units":
                stmt = delete(unit_results).where(unit_results.c.submission_id.in_(bindparam("ids", expanding=True)))
            else:
                stmt = insert(unit_results)
            self._statements[name] = stmt
        return stmt

    def submissions(self, assignment: str) -> list[Submission]:
        """Every recorded submission of an assignment with its units, by student."""
        with self.Session() as session:
            return list(session.scalars(
                select(Submission).where(Submission.assignment == assignment)
                .options(selectinload(Submission.units)).order_by(Submission.student)))

    def set_lateness(self, assignment: str, by_student: dict[str, dict]) -> None:
        """Refresh the deadline fields of recorded submissions (an extension granted since,
        a changed policy), in one transaction; students not recorded are skipped."""
        if not by_student:
            return
        submissions = Submission.__table__
        with self.engine.begin() as conn:
            for student, fields in by_student.items():
                conn.execute(submissions.update().where(submissions.c.assignment == assignment,
                                                        submissions.c.student == student).values(**fields))

    # ---- overrides
    def overrides(self, assignment: str) -> dict[str, dict[str, "Override"]]:
        """{student: {unit: Override}} for the assignment."""
        with self.Session() as session:
            rows = session.scalars(select(Override).where(Override.assignment == assignment)
                                   .order_by(Override.student, Override.unit))
            out: dict[str, dict[str, Override]] = {}
            for row in rows:
                out.setdefault(row.student, {})[row.unit] = row
        return out

    def set_override(self, *, assignment: str, student: str, unit: str, score: float, reason: str,
                     author: str) -> Override:
        """Set (or replace) the override of one unit of one student's submission."""
        with self.Session.begin() as session:
            row = session.scalars(select(Override).where(Override.assignment == assignment,
                                                         Override.student == student,
                                                         Override.unit == unit)).first()
            if row is None:
                row = Override(assignment=assignment, student=student, unit=unit)
                session.add(row)
            row.score, row.reason, row.author, row.created_at = float(score), reason, author, utcnow()
            session.flush()
            return row

    def remove_override(self, assignment: str, student: str, unit: str) -> bool:
        """Remove one override; False if there was none."""
        table = Override.__table__
        with self.engine.begin() as conn:
            gone = conn.execute(delete(table).where(table.c.assignment == assignment, table.c.student == student,
                                                    table.c.unit == unit))
        return gone.rowcount > 0

    def totals(self, assignment: str) -> dict[str, float]:
        """The graded students' totals: a submission the grader failed on has none (not a zero)."""
        with self.Session() as session:
            return dict(session.execute(select(Submission.student, Submission.score)
                                        .where(Submission.assignment == assignment, Submission.status == GRADED)).all())

    def runs(self, assignment: str) -> list[Run]:
        with self.Session() as session:
            return list(session.scalars(select(Run).where(Run.assignment == assignment).order_by(Run.id)))


def _storable(text: str) -> str:
    """PostgreSQL's text and JSON refuse the NUL character, which a student's exception
    message or printed output can hold: every backend keeps U+FFFD in its place."""
    return text.replace("\0", "\ufffd") if "\0" in text else text


def _grading_rows(*, assignment: str, student: str, source: str, content_hash: str, fingerprint: str,
                  run_id: int | None, result: dict | None = None, error: str | None = None,
                  units_on_error=(), wall_time: float = 0.0, worker: str = "",
                  lateness: dict | None = None, not_graded: str | None = None) -> tuple[dict, list[dict]]:
    """(submission row, unit rows) of one grading: a GradingResult as a dict, or an error,
    or (`not_graded`: why) a student found with nothing to grade."""
    if not_graded is not None:
        units = []
        row = dict(status=NOT_GRADED, error=None, notes=[_storable(f"Not graded: {not_graded}.")],
                   execution_time=0.0, grader_version=__version__)
    elif result is not None and error is None:
        units = [dict(position=i, name=u["name"], score=float(u["score"]),
                      max_score=float(u["max_score"]), status=u["status"],
                      explanation=_storable(u.get("explanation", "")), mode=u.get("mode", "own"),
                      cases_passed=int(u.get("cases_passed", 0)),
                      cases_total=int(u.get("cases_total", 0)),
                      cpu=float(u.get("cpu", 0.0)), wall=float(u.get("wall", 0.0)))
                 for i, u in enumerate(result["units"])]
        row = dict(status=GRADED, error=None, notes=[_storable(str(n)) for n in result.get("notes", [])],
                   execution_time=float(result.get("execution_time", 0.0)),
                   grader_version=str(result.get("grader_version", __version__)))
    else:
        error = _storable(error or "unknown error")
        units = [dict(position=i, name=name, score=0.0, max_score=float(points), status=ERROR,
                      explanation=f"Not graded: the grader failed on this submission ({summary_line(error)}).",
                      mode="own", cases_passed=0, cases_total=0, cpu=0.0, wall=0.0)
                 for i, (name, points) in enumerate(units_on_error)]
        row = dict(status=ERROR, error=error, notes=[], execution_time=0.0,
                   grader_version=__version__)
    row.update(assignment=assignment, student=student, source=source, content_hash=content_hash,
               fingerprint=fingerprint, run_id=run_id,
               score=round(sum(u["score"] for u in units), 6), max_score=sum(u["max_score"] for u in units),
               wall_time=float(wall_time), worker=worker, graded_at=utcnow())
    if not_graded is not None:  # no unit rows, but out of the assignment's points
        row["max_score"] = float(sum(points for _, points in units_on_error))
    row.update(lateness or {})
    return row, units


_upsert_dialects = {"postgresql": pg_dialect, "sqlite": sqlite_dialect}


# --------------------------------------------------------------------------- claims

def _claim_key(assignment: str, student: str) -> int:
    digest = hashlib.sha256(f"rnngrade claim\0{assignment}\0{student}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Claims:
    """The submissions this process is grading, as seen by every other process grading
    the same gradebook. A claim is a lock the database or the operating system drops when
    its holder ends, however it ends: nothing to expire, no claim left by a killed run.

    - PostgreSQL: a session advisory lock per (assignment, student), on a connection kept
      for the run;
    - SQLite file: a byte-range lock (fcntl) on `<gradebook>-claims` beside it (like the
      database's own locks, for graders on one machine or a file system with working
      POSIX locks);
    - anything else: no claims (every claim succeeds).
    """

    def __init__(self, book: Gradebook):
        self.held: set[int] = set()
        self._conn = self._fd = None
        if book.engine.url.get_backend_name() == "postgresql":
            self._conn = book.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        elif (path := sqlite_file(book.url)) is not None:
            self._fd = os.open(f"{path}-claims", os.O_RDWR | os.O_CREAT, 0o644)

    def try_claim(self, assignment: str, student: str) -> bool:
        """Claim without waiting; False if another process holds it."""
        return bool(self.try_claim_many(assignment, [student]))

    def try_claim_many(self, assignment: str, students: list[str]) -> list[str]:
        """Claim each without waiting (PostgreSQL: in one round trip); the students claimed,
        in order (the others are held by another process)."""
        keys = {student: _claim_key(assignment, student) for student in students}
        wanted = [k for k in dict.fromkeys(keys.values()) if k not in self.held]
        if self._conn is not None and wanted:
            got = self._conn.execute(text("SELECT k, pg_try_advisory_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"),
                                     {"keys": wanted}).all()
            self.held.update(k for k, ok in got if ok)
        else:
            for key in wanted:
                if self._fd is not None:
                    try:
                        fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, key % (1 << 62))
                    except (BlockingIOError, PermissionError):
                        continue
                self.held.add(key)
        return [student for student in students if keys[student] in self.held]

    def release(self, assignment: str, student: str) -> None:
        self.release_many(assignment, [student])

    def release_many(self, assignment: str, students: list[str]) -> None:
        keys = [k for k in dict.fromkeys(_claim_key(assignment, s) for s in students) if k in self.held]
        if not keys:
            return
        self.held.difference_update(keys)
        if self._conn is not None:
            self._conn.execute(text("SELECT pg_advisory_unlock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"),
                               {"keys": keys})
        elif self._fd is not None:
            for key in keys:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, key % (1 << 62))

    def close(self) -> None:
        self.held.clear()
        if self._conn is not None:
            try:  # explicitly: a pooled connection's session (and its locks) outlives close()
                self._conn.execute(text("SELECT pg_advisory_unlock_all()"))
            finally:
                self._conn.close()
                self._conn = None
        if self._fd is not None:
            os.close(self._fd)   # and the file's locks with the descriptor
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def summary_line(text: str | None) -> str:
    """The line of an error report worth showing: a traceback's last line."""
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "unknown error"
