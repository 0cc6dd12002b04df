"""Deadlines and overrides: when a submission was handed in and its late penalty, beside
the raw score (submissions.submitted_at, submitted_at_source, due_at, late_seconds,
late_fraction, late_rule); instructors' per-unit overrides with who, when and why
(table overrides), kept across regrades.

Revision ID: 0002_deadlines_overrides
Revises: 0001_baseline
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_deadlines_overrides"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("submitted_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("submitted_at_source", sa.String(32), nullable=True))
        batch.add_column(sa.Column("due_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("late_seconds", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("late_fraction", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("late_rule", sa.Text(), nullable=True))
    op.create_table(
        "overrides",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("assignment", sa.String(64), nullable=False),
        sa.Column("student", sa.String(255), nullable=False),
        sa.Column("unit", sa.String(128), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("assignment", "student", "unit", name="uq_override_assignment_student_unit"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_overrides_assignment", "overrides", ["assignment"])


def downgrade() -> None:
    op.drop_index("ix_overrides_assignment", table_name="overrides")
    op.drop_table("overrides")
    with op.batch_alter_table("submissions") as batch:
        for column in ("late_rule", "late_fraction", "late_seconds", "due_at", "submitted_at_source", "submitted_at"):
            batch.drop_column(column)
