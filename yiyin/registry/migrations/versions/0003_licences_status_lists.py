"""licence records (GB/T 36904 identifier and national metadata), licence serials, status list places

Revision ID: 0003_licences
Revises: 0002_log_tree
"""
from alembic import op
import sqlalchemy as sa

revision = "0003_licences"
down_revision = "0002_log_tree"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "licence_records",
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("identifier", sa.String(length=120), nullable=False),
        sa.Column("licence_name", sa.String(length=100), nullable=False),
        sa.Column("licence_number", sa.String(length=100), nullable=False),
        sa.Column("type_code", sa.String(length=40), nullable=False),
        sa.Column("organ_code", sa.String(length=18), nullable=False),
        sa.Column("organ_name", sa.String(length=200), nullable=False),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("holder_code", sa.String(length=40), nullable=False),
        sa.Column("holder_code_type", sa.String(length=20), nullable=False),
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("item_name", sa.String(length=200), nullable=False),
        sa.Column("predecessor_id", sa.String(length=32), nullable=True),
        sa.Column("succession", sa.String(length=10), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"]),
        sa.ForeignKeyConstraint(["predecessor_id"], ["documents.id"]),
        sa.PrimaryKeyConstraint("document_id"),
        sa.UniqueConstraint("identifier"),
        sa.UniqueConstraint("type_code", "organ_code", "serial", "version"),
    )
    op.create_index("ix_licence_records_predecessor_id", "licence_records", ["predecessor_id"])
    op.create_table(
        "licence_serials",
        sa.Column("type_code", sa.String(length=40), nullable=False),
        sa.Column("organ_code", sa.String(length=18), nullable=False),
        sa.Column("last_serial", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("type_code", "organ_code"),
    )
    op.create_table(
        "status_list_entries",
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"]),
        sa.PrimaryKeyConstraint("document_id"),
        sa.UniqueConstraint("list_id", "idx"),
    )


def downgrade() -> None:
    op.drop_table("status_list_entries")
    op.drop_table("licence_serials")
    op.drop_index("ix_licence_records_predecessor_id", table_name="licence_records")
    op.drop_table("licence_records")
