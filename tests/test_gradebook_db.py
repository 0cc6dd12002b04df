"""The gradebook as a shared database, on SQLite and on a real PostgreSQL server started
here (tests/postgres_server.py): its schema under Alembic (a gradebook written before
migrations opens with all its rows), URLs and plain paths, and several graders at once —
schema creation, claims, upserts, and two `rnngrade autograde` processes on one gradebook
ending with exactly the grades of one run."""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, make_url, text

from autograder import gradebook
from autograder.gradebook import Gradebook, database_url, schema_head, schema_revision, upgrade
from fork_server import ForkServer
from postgres_server import PostgresServer, find_bin

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "submissions"
A = "rnn_step_by_step"
FIXTURES = Path(__file__).parent / "fixtures"
# Written by rnngrade before the gradebook had migrations (create_all, no version table):
# two runs of the bundled example class plus a grader error on another assignment.
SCHEMA0 = FIXTURES / "gradebook-schema0.sqlite3"
SCHEMA0_PG = FIXTURES / "gradebook-schema0.postgres.sql"   # the same on PostgreSQL (pg_dump)
TABLES = ("runs", "submissions", "unit_results")


@pytest.fixture(scope="session")
def pg_server():
    try:
        server = PostgresServer().start()
    except FileNotFoundError as exc:
        if os.environ.get("RNNGRADE_REQUIRE_POSTGRES"):  # CI: the PostgreSQL tests must run
            raise
        pytest.skip(f"no PostgreSQL server to test with: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def new_url(request, tmp_path):
    """A new, empty gradebook on each backend, as a user would write it on the command line."""
    if request.param == "sqlite":
        return str(tmp_path / "gradebook.db")
    return request.getfixturevalue("pg_server").new_database().replace("postgresql+psycopg://", "postgresql://")


def _table_rows(url: str) -> dict[str, list[tuple]]:
    engine = create_engine(database_url(url))
    with engine.connect() as conn:
        out = {t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY id"))] for t in TABLES}
    engine.dispose()
    return out


def _rows(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}


@pytest.fixture(scope="module")
def forks():
    """The graders of these tests are forks of one process that imported the engine once
    (tests/fork_server.py): each is a process of its own with its own connections, as two
    `rnngrade` commands are, without the ~0.5 s of CPU of each one's start-up (40 of them)."""
    # (psycopg is the `postgres` extra's: where it is missing, the SQLite tests still run)
    server = ForkServer("import autograder.cli, autograder.batch, autograder.gradebook, autograder.grader, "
                        "sqlalchemy.dialects.sqlite\ntry:\n    import psycopg, sqlalchemy.dialects.postgresql.psycopg\n"
                        "except ImportError:\n    pass", cwd=ROOT)
    yield server
    server.close()


def _python(forks: ForkServer, code: str, *args: str):
    """`python -c code args...`, started (a Popen-like handle), not waited for."""
    return forks.spawn(code, list(args))


def test_old_schema_gradebook_opens_with_every_row(tmp_path):
    db = tmp_path / "old.db"
    shutil.copy(SCHEMA0, db)
    before = _rows(db)
    assert [len(before[t]) for t in TABLES] == [3, 4, 26]
    with sqlite3.connect(db) as conn:
        assert "alembic_version" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}

    with Gradebook(str(db)) as book:
        subs = book.submissions("rnn_step_by_step")
        assert [s.student for s in subs] == ["alice", "bob", "carol"]
        assert all(len(s.units) == 8 for s in subs) and all(s.status == "graded" for s in subs)
        # dave's grading failed: kept, but no total (a grader failure is not a zero)
        assert [s.status for s in book.submissions("rnn_layers")] == ["error"] and book.totals("rnn_layers") == {}
        assert [r.graded for r in book.runs("rnn_step_by_step")] == [3, 3]
        with book.engine.connect() as conn:
            assert schema_revision(conn) == schema_head()
        # still writable: a regrade replaces a row of the old file
        old = {s.student: s for s in subs}["bob"]
        book.record(assignment="rnn_step_by_step", student="bob", source=old.source,
                    content_hash=old.content_hash, fingerprint=old.fingerprint, run_id=None,
                    error="boom", units_on_error=[("a", 1.0)])
        assert {s.student: s.status for s in book.submissions("rnn_step_by_step")}["bob"] == "error"
        assert "bob" not in book.totals("rnn_step_by_step")

    after = _rows(db)
    assert after["runs"] == before["runs"]
    untouched = [r for r in before["submissions"] if r[2] != "bob"]
    width = len(untouched[0])  # later revisions add columns after the old ones
    assert [r[:width] for r in after["submissions"] if r[2] != "bob"] == untouched
    bob_id = next(r[0] for r in before["submissions"] if r[2] == "bob")
    assert [r for r in after["unit_results"] if r[1] != bob_id and r[1] in {s[0] for s in untouched}] == \
        [r for r in before["unit_results"] if r[1] != bob_id]


def test_old_schema_postgresql_gradebook_opens_with_every_row(pg_server):
    url = pg_server.new_database()
    script = "".join(line for line in SCHEMA0_PG.read_text().splitlines(keepends=True)
                     if not line.startswith(("\\restrict", "\\unrestrict")))  # psql < 15.14 lacks them
    loaded = subprocess.run([find_bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(pg_server.root),
                             "-U", "postgres", "-d", make_url(url).database], input=script, text=True,
                            capture_output=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    before = _table_rows(url)
    assert [len(before[t]) for t in TABLES] == [3, 4, 26]

    from click.testing import CliRunner

    from autograder.cli import main

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    out = CliRunner().invoke(main, ["db", "upgrade", "--db", plain])
    assert out.exit_code == 0 and f"upgraded from nothing to {schema_head()}" in out.output, out.output
    with Gradebook(url) as book:
        assert [s.student for s in book.submissions(A)] == ["alice", "bob", "carol"]
        assert book.totals(A) == {"alice": 1.8, "bob": 6.0, "carol": 7.0}
        # dave's grading failed: kept, but no total (a grader failure is not a zero)
        assert [s.status for s in book.submissions("rnn_layers")] == ["error"] and book.totals("rnn_layers") == {}
        with book.engine.connect() as conn:
            assert schema_revision(conn) == schema_head()
        # the old sequences carry on: a new submission gets a new id
        assert book.record(assignment=A, student="erin", source="erin.py", content_hash="h", fingerprint="f",
                           run_id=None, error="boom", units_on_error=[("u", 1.0)]) not in {r[0] for r in before["submissions"]}
    after = _table_rows(url)
    assert after["runs"] == before["runs"]
    width = len(before["submissions"][0])  # later revisions add columns after the old ones
    assert [r[:width] for r in after["submissions"][:4]] == before["submissions"]
    assert after["unit_results"][:26] == before["unit_results"]


REBUILD_SUBMISSIONS = """
from alembic import op
import sqlalchemy as sa

revision = "0002_test_rebuild"
down_revision = "{head}"
branch_labels = depends_on = None


def upgrade():
    # what autogenerate writes for SQLite when a table changes: a copy of the table
    with op.batch_alter_table("submissions", recreate="always") as batch:
        batch.add_column(sa.Column("late_days", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("submissions", recreate="always") as batch:
        batch.drop_column("late_days")
"""


def test_a_migration_that_rebuilds_a_table_keeps_the_rows_that_point_at_it(tmp_path, monkeypatch):
    """SQLite changes a table by copying it and dropping the old one: with foreign keys
    enforced that drop would take every unit row with it (ON DELETE CASCADE). The upgrade
    runs with them off and checks them before committing."""
    migrations = tmp_path / "migrations"
    shutil.copytree(gradebook.MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    # on top of the newest revision (a second head would make "upgrade to head" ambiguous)
    (migrations / "versions" / "0002_test_rebuild.py").write_text(REBUILD_SUBMISSIONS.replace("{head}", schema_head()))
    monkeypatch.setattr(gradebook, "MIGRATIONS", migrations)
    db = tmp_path / "old.db"
    shutil.copy(SCHEMA0, db)
    before = _rows(db)
    engine = gradebook.make_engine(str(db))  # as a Gradebook's: foreign keys enforced
    assert upgrade(engine) == (None, "0002_test_rebuild")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on for the pool
    engine.dispose()
    after = _rows(db)
    assert after["unit_results"] == before["unit_results"] and after["runs"] == before["runs"]
    width = len(before["submissions"][0])  # + the later revisions' columns and late_days, empty
    assert [r[:width] for r in after["submissions"]] == before["submissions"]
    assert {r[-1] for r in after["submissions"]} == {None}


def test_upgrade_is_a_no_op_when_current_and_reports_revisions(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    engine = create_engine(url)
    assert upgrade(engine) == (None, schema_head())
    assert upgrade(engine) == (schema_head(), schema_head())
    engine.dispose()


def test_a_gradebook_from_a_newer_rnngrade_is_refused_clearly(tmp_path):
    from click.testing import CliRunner

    from autograder.cli import main

    db = tmp_path / "newer.db"
    Gradebook(str(db)).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    out = CliRunner().invoke(main, ["export", A, "--format", "csv", "--db", str(db)])
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert "0099_from_the_future, which this rnngrade" in out.output and "newer rnngrade" in out.output
    assert len(_rows(db)["runs"]) == 0  # untouched


def test_migrations_build_exactly_the_models_schema(new_url):
    """The models (what the code reads and writes) and the migrations (what a database
    gets) describe the same schema: a new migration is needed for any model change."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(database_url(new_url))
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                gradebook.Base.metadata)
        assert diff == []
        assert set(inspect(conn).get_table_names()) == set(gradebook.Base.metadata.tables) | {"alembic_version"}
    engine.dispose()


def test_schema_drift_is_detected(tmp_path):
    """The comparison above can fail: a column the migrations do not make is found."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import Column, Integer, MetaData

    engine = create_engine(f"sqlite:///{tmp_path / 'new.db'}")
    upgrade(engine)
    metadata = MetaData()
    for table in gradebook.Base.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["submissions"].append_column(Column("late_days", Integer))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert any(d[0] == "add_column" and d[3].name == "late_days" for d in diff)
    engine.dispose()


@pytest.mark.parametrize("given, expected", [
    ("gradebook.db", "sqlite:///gradebook.db"),
    ("/srv/course/grades.db", "sqlite:////srv/course/grades.db"),
    ("sqlite:///gradebook.db", "sqlite:///gradebook.db"),
    ("postgresql://ta:secret@db.example.org:5432/course", "postgresql+psycopg://ta:secret@db.example.org:5432/course"),
    ("postgres://ta@db/course", "postgresql+psycopg://ta@db/course"),
    ("postgresql:///course?host=/run/postgresql", "postgresql+psycopg:///course?host=/run/postgresql"),
    ("mysql+pymysql://u@h/db", "mysql+pymysql://u@h/db"),
])
def test_database_url_forms(given, expected):
    assert make_url(database_url(given)) == make_url(expected)


@pytest.mark.parametrize("given, expected", [
    ("gradebook.db", "gradebook.db"), ("sqlite:///gradebook.db", "gradebook.db"),
    ("sqlite:////srv/g.db", "/srv/g.db"), ("sqlite://", None), ("sqlite:///:memory:", None),
    ("postgresql://ta@db/course", None),
])
def test_sqlite_file(given, expected):
    assert gradebook.sqlite_file(given) == (Path(expected) if expected else None)


def test_db_commands(tmp_path):
    from click.testing import CliRunner

    from autograder.cli import main

    db = tmp_path / "old.db"
    shutil.copy(SCHEMA0, db)
    runner = CliRunner()
    out = runner.invoke(main, ["db", "current", "--db", str(db)])
    assert out.exit_code == 0 and "schema none" in out.output
    out = runner.invoke(main, ["db", "upgrade", "--db", str(db)])
    assert out.exit_code == 0 and f"upgraded from nothing to {schema_head()}" in out.output
    out = runner.invoke(main, ["db", "upgrade", "--db", str(db)])
    assert out.exit_code == 0 and "already at" in out.output
    assert _rows(db)["submissions"] and len(_rows(db)["unit_results"]) == 26
    out = runner.invoke(main, ["db", "current", "--db", "postgresql://nobody@127.0.0.1:1/none"])
    assert out.exit_code == 2 and "cannot open the gradebook" in out.output and "Traceback" not in out.output


# --------------------------------------------------------------------------- several graders at once

def test_graders_opening_a_new_gradebook_at_once_create_it_once(new_url, forks):
    """Before the schema lock, PostgreSQL failed one of two: both ran CREATE TABLE
    (UniqueViolation on pg_type_typname_nsp_index)."""
    code = "import sys; from autograder.gradebook import Gradebook; Gradebook(sys.argv[1]).close()"
    procs = [_python(forks, code, new_url) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    engine = create_engine(database_url(new_url))
    with engine.connect() as conn:
        assert schema_revision(conn) == schema_head()
        assert set(inspect(conn).get_table_names()) == set(gradebook.Base.metadata.tables) | {"alembic_version"}
    engine.dispose()


RECORDER = """
import sys
from autograder.gradebook import Gradebook
url, points, count = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
units = [{"name": f"u{i}", "score": points, "max_score": points, "status": "passed"} for i in range(count)]
with Gradebook(url) as book:
    for i in range(25):
        book.record(assignment="a", student="zoe", source="zoe.py", content_hash=f"h{points}", fingerprint="f",
                    run_id=None, result={"units": units})
"""


def test_two_graders_recording_one_submission_leave_one_consistent_row(new_url, forks):
    """Recording is an upsert: two graders writing the same submission at once (as two
    `--force` runs did, with an IntegrityError on PostgreSQL) leave one row whose unit rows
    are those of the grading it holds."""
    Gradebook(new_url).close()
    procs = [_python(forks, RECORDER, new_url, "1", "2"), _python(forks, RECORDER, new_url, "2", "3")]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    with Gradebook(new_url) as book:
        (zoe,) = book.submissions("a")
    assert zoe.content_hash in ("h1.0", "h2.0")
    count, points = (2, 1.0) if zoe.content_hash == "h1.0" else (3, 2.0)
    assert [(u.name, u.score) for u in zoe.units] == [(f"u{i}", points) for i in range(count)]
    assert zoe.score == zoe.max_score == count * points
    rows = _table_rows(new_url)
    assert len(rows["submissions"]) == 1 and len(rows["unit_results"]) == count


HOLDER = """
import sys, time
from autograder.gradebook import Gradebook
book = Gradebook(sys.argv[1])
claims = book.claims()
assert claims.try_claim(sys.argv[2], sys.argv[3])
print("held", flush=True)
time.sleep(600)
"""


def test_a_claim_is_exclusive_and_ends_with_its_process(new_url, forks):
    Gradebook(new_url).close()
    holder = _python(forks, HOLDER, new_url, A, "bob")
    try:
        assert holder.readline().strip() == "held", holder.communicate(timeout=30)
        with Gradebook(new_url) as book, book.claims() as claims:
            assert not claims.try_claim(A, "bob")
            assert claims.try_claim(A, "alice") and claims.try_claim("other", "bob")
            holder.send_signal(signal.SIGKILL)   # a grader killed outright: its claim goes with it
            holder.wait(timeout=30)
            deadline = time.monotonic() + 30     # PostgreSQL notices the closed session promptly
            while not claims.try_claim(A, "bob"):
                assert time.monotonic() < deadline, "the killed grader's claim outlived it"
                time.sleep(0.1)
            claims.release(A, "bob")
    finally:
        holder.kill()
        holder.wait()


def test_a_submission_claimed_by_a_grader_that_stops_is_graded_after_waiting(new_url, tmp_path, forks):
    """The other grader holds bob and dies without recording him: this run grades the
    others, waits, then grades bob itself, and says so."""
    from autograder.batch import autograde

    subs = tmp_path / "subs"
    shutil.copytree(EXAMPLES, subs)
    Gradebook(new_url).close()
    holder = _python(forks, HOLDER, new_url, A, "bob")
    try:
        assert holder.readline().strip() == "held", holder.communicate(timeout=30)

        def on_recorded(student, count):
            if count == 2:  # alice and carol: bob is the one left waiting
                holder.send_signal(signal.SIGKILL)

        summary = autograde(A, subs, new_url, workers=0, progress="none", on_recorded=on_recorded)
    finally:
        holder.kill()
        holder.wait()
    assert (summary.graded, summary.failures, summary.waited_for, summary.by_others) == (3, [], 1, [])
    assert summary.taken_over == ["bob"]
    text_out = summary.text()
    assert "another grader was grading 1 of these" in text_out and "(it stopped, or graded another version of the file), graded here: bob." in text_out
    assert set(summary.totals) == {"alice", "bob", "carol"}


def _grades(url: str) -> dict:
    """Every student's grading, without what differs between two runs (times, ids, workers)."""
    with Gradebook(url) as book:
        return {s.student: (s.score, s.max_score, s.status, s.content_hash, s.fingerprint,
                            [(u.position, u.name, u.score, u.status, u.mode, u.cases_passed, u.cases_total,
                              u.explanation) for u in s.units])
                for s in book.submissions(A)}


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    """The bundled example class graded by one run, alone (in this process: the grades,
    not the executor, are what the runs at once are compared on)."""
    from autograder.batch import autograde

    db = tmp_path_factory.mktemp("single") / "gradebook.db"
    summary = autograde(A, EXAMPLES, str(db), workers=0, progress="none")
    assert summary.graded == 3 and not summary.failures
    return _grades(str(db))


RNNGRADE = "from autograder.cli import main\nmain(prog_name='rnngrade')\n"   # the `rnngrade` command


def _two_runs_at_once(forks: ForkServer, url: str, cwd: Path, *extra: str) -> list[subprocess.CompletedProcess]:
    # `--workers 0`: each run grades in its own process. Only that process touches the
    # gradebook (claims, records) whatever the executor, so a pool worker per run
    # (~0.7 s of CPU to spawn, four runs per test) would test nothing more.
    args = ["autograde", A, str(EXAMPLES), "--db", url, "--workers", "0", *extra]
    procs = [forks.spawn(RNNGRADE, args, cwd=cwd) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    return [subprocess.CompletedProcess(args, p.returncode, out, err) for p, (out, err) in zip(procs, outs)]


def _runs(url: str) -> list[tuple]:
    with Gradebook(url) as book:
        return [(r.id, r.graded, r.failed, r.finished_at is not None) for r in book.runs(A)]


def test_two_autograde_runs_at_once_end_with_the_grades_of_one(new_url, tmp_path, one_run, forks):
    """On a new gradebook, then again with --force on the now full one: no error, no
    traceback, one row per student, exactly the grades of a run alone; on the new gradebook
    every submission graded once in all (by one run or the other)."""
    for extra in ((), ("--force",)):
        done = _two_runs_at_once(forks, new_url, tmp_path, *extra)
        for proc in done:
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert "Traceback" not in proc.stderr + proc.stdout and "Error" not in proc.stderr
            assert "0 failure(s)" in proc.stdout or "0 to grade" in proc.stdout
        assert _grades(new_url) == one_run
        rows = _table_rows(new_url)
        assert len(rows["submissions"]) == 3 and len(rows["unit_results"]) == 3 * 8
        runs = _runs(new_url)
        assert all(finished for *_, finished in runs) and all(failed == 0 for _, _, failed, _ in runs)
        if not extra:
            assert sum(graded for _, graded, _, _ in runs) == 3, runs
            shared = [p.stdout for p in done if "Shared gradebook" in p.stdout or "Recorded by the other" in p.stdout]
            alone = [p.stdout for p in done if " 0 to grade" in p.stdout]
            # they overlapped (and the output says how they shared) or one came after the other
            assert shared or alone, [p.stdout for p in done]
        else:
            assert 3 <= sum(graded for _, graded, _, _ in runs[2:]) <= 6, runs


def _units(points: float, names=("u0", "u1")) -> dict:
    return {"units": [{"name": n, "score": points, "max_score": 1.0, "status": "passed"} for n in names]}


def _grading(student: str, content: str, result: dict) -> dict:
    return dict(assignment="a", student=student, source=f"{student}.py", content_hash=content, fingerprint="f",
                run_id=None, result=result)


def test_record_many_is_one_transaction_and_keeps_a_students_last_grading(new_url):
    with Gradebook(new_url) as book:
        (amy_id,) = book.record_many([_grading("amy", "h1", _units(0.0))])
        ids = book.record_many([_grading("bob", "b1", _units(0.0)), _grading("amy", "h2", _units(1.0)),
                                _grading("bob", "b2", _units(0.5, ("u0", "u1", "u2")))])
        assert len(ids) == 2 and ids[0] == amy_id   # amy regraded in place; bob once, his last grading
        graded = {s.student: (s.content_hash, s.score, [(u.name, u.score) for u in s.units])
                  for s in book.submissions("a")}
        assert graded == {"amy": ("h2", 2.0, [("u0", 1.0), ("u1", 1.0)]),
                          "bob": ("b2", 1.5, [("u0", 0.5), ("u1", 0.5), ("u2", 0.5)])}
        before = _table_rows(new_url)
        # the database refuses the second grading (two units of one name): the first goes too
        with pytest.raises(Exception, match="(?i)unique"):
            book.record_many([_grading("carl", "c1", _units(1.0)), _grading("amy", "h3", _units(1.0, ("u0", "u0")))])
        assert _table_rows(new_url) == before


CLAIMER = """
import sys
from autograder.gradebook import Gradebook
with Gradebook(sys.argv[1]) as book, book.claims() as claims:
    print(",".join(claims.try_claim_many(sys.argv[2], sys.argv[3].split(","))))
"""


def _claimed_elsewhere(forks: ForkServer, url: str, students: str) -> str:
    proc = _python(forks, CLAIMER, url, A, students)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out.strip()


def test_claims_taken_and_released_several_at_once(new_url, forks):
    Gradebook(new_url).close()
    with Gradebook(new_url) as book, book.claims() as claims:
        assert claims.try_claim_many(A, ["alice", "carol"]) == ["alice", "carol"]
        assert claims.try_claim_many(A, ["carol", "dan"]) == ["carol", "dan"]   # already ours: still ours
        assert _claimed_elsewhere(forks, new_url, "alice,bob,carol,dan") == "bob"
        claims.release_many(A, ["alice", "dan", "zed"])   # zed: never claimed, nothing to release
        assert _claimed_elsewhere(forks, new_url, "alice,bob,carol,dan") == "alice,bob,dan"


def test_recorded_meanwhile_many(new_url):
    from autograder.gradebook import Recorded

    with Gradebook(new_url) as book:
        book.record_many([_grading("amy", "h1", _units(1.0)), _grading("bob", "b1", _units(1.0))])
        seen = book.recorded("a")
        pending = {"amy": (None, "h1"), "bob": (None, "other bytes"), "carl": (None, "c1")}
        assert book.recorded_meanwhile_many("a", pending, "f") == {"amy"}
        assert book.recorded_meanwhile_many("a", pending, "another fingerprint") == set()
        # what this run read at its start is no news
        assert book.recorded_meanwhile_many("a", {"amy": (seen["amy"], "h1")}, "f") == set()
        older = Recorded(seen["amy"].id, "h0", "f", "graded", None)
        assert book.recorded_meanwhile_many("a", {"amy": (older, "h1")}, "f") == {"amy"}


def test_a_nul_character_in_any_text_is_stored_on_every_backend(new_url):
    """PostgreSQL refused an explanation holding NUL (a student's `raise ValueError("\\0")`):
    the batch stopped with a traceback and lost the results committed with it. Every
    backend now keeps U+FFFD in its place."""
    result = {"units": [{"name": "u0", "score": 0.0, "max_score": 1.0, "status": "failed",
                         "explanation": "ValueError: nul here:\0:end"}],
              "notes": ["printed \0 this"]}
    with Gradebook(new_url) as book:
        book.record_many([_grading("amy", "h1", result),
                          dict(_grading("bob", "b1", None), error="crash \0", units_on_error=[("u0", 1.0)])])
        graded = {s.student: s for s in book.submissions("a")}
        assert graded["amy"].units[0].explanation == "ValueError: nul here:\ufffd:end"
        assert graded["amy"].notes == ["printed \ufffd this"]
        assert graded["bob"].error == "crash \ufffd" and graded["bob"].status == "error"
