"""archive packages built for cases: case, 档号, path, digest, when, who

Revision ID: 0007_archive_packages
Revises: 0006_case_times_utc
"""
from alembic import op
import sqlalchemy as sa

revision = "0007_archive_packages"
down_revision = "0006_case_times_utc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive_packages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("case_ref", sa.String(64), nullable=False),
        sa.Column("archival_code", sa.String(60), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("volume_sha256", sa.String(64), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("built_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_archive_packages_case_id", "archive_packages", ["case_id"])
    op.create_index("ix_archive_packages_case_ref", "archive_packages", ["case_ref"])
    op.create_index("ix_archive_packages_archival_code", "archive_packages", ["archival_code"])


def downgrade() -> None:
    op.drop_table("archive_packages")
