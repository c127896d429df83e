"""stored Merkle tree of the log: head and node hashes, filled from the existing entries

Revision ID: 0002_log_tree
Revises: 0001
"""
import hashlib

from alembic import op
import sqlalchemy as sa

revision = "0002_log_tree"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_tree_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "log_tree_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
    )
    # Entries logged before this revision: their tree is built here, from their payloads.
    conn = op.get_bind()
    payloads = conn.execute(sa.text('SELECT "index", payload FROM log_entries ORDER BY "index"')).all()
    frontier: dict[int, bytes] = {}
    rows = []
    for expected, (index, payload) in enumerate(payloads):
        if index != expected:
            raise RuntimeError(f"log entry {expected} is missing; repair the log before migrating")
        h = hashlib.sha256(b"\x00" + payload.encode("utf-8")).digest()
        rows.append({"level": 0, "idx": index, "hash": h})
        level, idx = 0, index
        while idx & 1:
            h = hashlib.sha256(b"\x01" + frontier.pop(level) + h).digest()
            level, idx = level + 1, idx >> 1
            rows.append({"level": level, "idx": idx, "hash": h})
        frontier[level] = h
    nodes = sa.table("log_tree_nodes", sa.column("level"), sa.column("idx"), sa.column("hash", sa.LargeBinary))
    if rows:
        op.bulk_insert(nodes, rows)
    head = sa.table("log_tree_head", sa.column("id"), sa.column("size"))
    op.bulk_insert(head, [{"id": 1, "size": len(payloads)}])


def downgrade() -> None:
    op.drop_table("log_tree_nodes")
    op.drop_table("log_tree_head")
