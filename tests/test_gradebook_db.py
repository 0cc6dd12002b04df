"""The gradebook as a shared database: its schema under Alembic (a gradebook written before
migrations opens with all its rows), URLs and plain paths."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, make_url

from autograder import gradebook
from autograder.gradebook import Gradebook, database_url, schema_head, schema_revision, upgrade

FIXTURES = Path(__file__).parent / "fixtures"
# Written by rnngrade before the gradebook had migrations (create_all, no version table):
# two runs of the bundled example class plus a grader error on another assignment.
SCHEMA0 = FIXTURES / "gradebook-schema0.sqlite3"
TABLES = ("runs", "submissions", "unit_results")


def _rows(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}


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
        assert book.totals("rnn_layers") == {"dave": 0.0}
        assert [r.graded for r in book.runs("rnn_step_by_step")] == [3, 3]
        with book.engine.connect() as conn:
            assert schema_revision(conn) == schema_head()
        # still writable: a regrade replaces a row of the old file
        old = {s.student: s for s in subs}["bob"]
        book.record(assignment="rnn_step_by_step", student="bob", source=old.source,
                    content_hash=old.content_hash, fingerprint=old.fingerprint, run_id=None,
                    error="boom", units_on_error=[("a", 1.0)])
        assert book.totals("rnn_step_by_step")["bob"] == 0.0

    after = _rows(db)
    assert after["runs"] == before["runs"]
    untouched = [r for r in before["submissions"] if r[2] != "bob"]
    width = len(untouched[0])  # later revisions add columns after the old ones
    assert [r[:width] for r in after["submissions"] if r[2] != "bob"] == untouched
    bob_id = next(r[0] for r in before["submissions"] if r[2] == "bob")
    assert [r for r in after["unit_results"] if r[1] != bob_id and r[1] in {s[0] for s in untouched}] == \
        [r for r in before["unit_results"] if r[1] != bob_id]


def test_upgrade_is_a_no_op_when_current_and_reports_revisions(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    engine = create_engine(url)
    assert upgrade(engine) == (None, schema_head())
    assert upgrade(engine) == (schema_head(), schema_head())
    engine.dispose()


def test_migrations_build_exactly_the_models_schema(tmp_path):
    """The models (what the code reads and writes) and the migrations (what a database
    gets) describe the same schema: a new migration is needed for any model change."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(f"sqlite:///{tmp_path / 'new.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                gradebook.Base.metadata)
        assert diff == []
        assert set(inspect(conn).get_table_names()) == set(TABLES) | {"overrides", "alembic_version"}
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
