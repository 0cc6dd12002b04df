"""Baseline: the gradebook as rnngrade wrote it before migrations (runs, submissions,
unit_results). A gradebook of that time has these tables and no version table: it is
stamped with this revision, not created again (autograder.gradebook.upgrade).

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("assignment", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("layout", sa.String(16), nullable=False),
        sa.Column("backend", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("grader_version", sa.String(32), nullable=False),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("discovered", sa.Integer(), nullable=False),
        sa.Column("to_grade", sa.Integer(), nullable=False),
        sa.Column("graded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_runs_assignment", "runs", ["assignment"])

    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("assignment", sa.String(64), nullable=False),
        sa.Column("student", sa.String(255), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("grader_version", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("execution_time", sa.Float(), nullable=False),
        sa.Column("wall_time", sa.Float(), nullable=False),
        sa.Column("worker", sa.String(255), nullable=False),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), nullable=True),
        sa.Column("graded_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("assignment", "student", name="uq_submission_assignment_student"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_submissions_assignment", "submissions", ["assignment"])

    op.create_table(
        "unit_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submissions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("cases_passed", sa.Integer(), nullable=False),
        sa.Column("cases_total", sa.Integer(), nullable=False),
        sa.Column("cpu", sa.Float(), nullable=False),
        sa.Column("wall", sa.Float(), nullable=False),
        sa.UniqueConstraint("submission_id", "name", name="uq_unit_submission_name"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_unit_results_submission_id", "unit_results", ["submission_id"])


def downgrade() -> None:
    op.drop_table("unit_results")
    op.drop_table("submissions")
    op.drop_table("runs")
