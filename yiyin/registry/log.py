"""The append-only transparency log: every issuance and status act becomes a leaf.

Leaves are hashed as in RFC 9162 (SHA-256 over 0x00 || entry); the tree over them is computed
from the leaves alone, so a changed, deleted or reordered row changes the root.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from yiyin.registry import merkle
from yiyin.registry.merkle import leaf_hash
from yiyin.registry.models import LogEntry


_PG_LOG_LOCK = 0x79_69_79_69_6C_6F_67  # "yiyilog": one lock for the one log


def canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def append(session: Session, kind: str, payload: dict[str, Any], document_id: str | None = None) -> LogEntry:
    """Append one leaf in the caller's transaction. On SQLite that transaction already holds the
    write lock; on PostgreSQL a transaction-scoped advisory lock serialises appenders, so that
    indices stay unique and gap-free under concurrency."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOG_LOCK})
    index = session.execute(select(func.coalesce(func.max(LogEntry.index) + 1, 0))).scalar_one()
    body = canonical({"index": index, "kind": kind, **payload})
    entry = LogEntry(index=index, kind=kind, document_id=document_id, payload=body,
                     leaf_hash=leaf_hash(body.encode("utf-8")).hex(), appended_at=datetime.now(timezone.utc))
    session.add(entry)
    session.flush()
    return entry


def leaves(session: Session) -> list[bytes]:
    """Leaf hashes recomputed from the stored payloads (never trusting the stored hash column)."""
    payloads = session.execute(select(LogEntry.payload).order_by(LogEntry.index)).scalars().all()
    return [leaf_hash(p.encode("utf-8")) for p in payloads]


def root(session: Session) -> tuple[int, str]:
    """Size and root of the tree recomputed from the stored payloads."""
    hashes = leaves(session)
    return len(hashes), merkle.root(hashes).hex()
