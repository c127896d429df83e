"""public answers found by number: the document's number and code digest on the answer

Revision ID: 0008_answers_by_number
Revises: 0007_archive_packages
"""
from alembic import op
import sqlalchemy as sa

revision = "0008_answers_by_number"
down_revision = "0007_archive_packages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("public_answers", sa.Column("number", sa.String(100), nullable=True))
    op.add_column("public_answers", sa.Column("code_digest", sa.String(64), nullable=True))
    op.execute("UPDATE public_answers SET"
               " number = (SELECT d.number FROM documents d WHERE d.id = public_answers.document_id),"
               " code_digest = (SELECT d.code_digest FROM documents d WHERE d.id = public_answers.document_id)")
    op.create_index("ix_public_answers_number", "public_answers", ["number"])


def downgrade() -> None:
    op.drop_index("ix_public_answers_number", "public_answers")
    op.drop_column("public_answers", "code_digest")
    op.drop_column("public_answers", "number")
