"""the public lookup's prepared answers

Revision ID: 0005_public_answers
Revises: 0004_service_cases
"""
from alembic import op
import sqlalchemy as sa

revision = "0005_public_answers"
down_revision = "0004_service_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "public_answers",
        sa.Column("document_id", sa.String(32), sa.ForeignKey("documents.id"), primary_key=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("format", sa.Integer(), nullable=False),
        sa.Column("base_url", sa.String(500), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("good_from", sa.Date(), nullable=True),
        sa.Column("good_until", sa.Date(), nullable=True),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("public_answers")
