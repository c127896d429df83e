"""case times in UTC on SQLite too: earlier versions wrote the Beijing wall time of a case's acts
into SQLite, which keeps no time zone, while everything else stores UTC and reads zoneless
times as UTC; those rows are moved to UTC. PostgreSQL (timestamptz) stored the instants
correctly and is left alone.

Revision ID: 0006_case_times_utc
Revises: 0005_public_answers
"""
from datetime import datetime, timedelta

from alembic import op
import sqlalchemy as sa

revision = "0006_case_times_utc"
down_revision = "0005_public_answers"
branch_labels = None
depends_on = None

BEIJING_OFFSET = timedelta(hours=8)  # China has kept UTC+8 all year since 1992
COLUMNS = {"cases": ("received_at", "accepted_at", "closed_at"), "case_items": ("decided_at",),
           "case_steps": ("at",), "case_materials": ("received_at",), "case_drafts": ("updated_at",)}


def _shift(delta: timedelta) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table, columns in COLUMNS.items():
        t = sa.table(table, sa.column("id", sa.Integer), *(sa.column(c, sa.String) for c in columns))
        for row in bind.execute(sa.select(t)).mappings().all():
            values = {c: (datetime.fromisoformat(row[c]) + delta).isoformat(" ", "microseconds")
                      for c in columns if row[c]}
            if values:
                bind.execute(t.update().where(t.c.id == row["id"]).values(**values))


def upgrade() -> None:
    _shift(-BEIJING_OFFSET)


def downgrade() -> None:
    _shift(BEIJING_OFFSET)
