"""Staff accounts, their API tokens and page sessions, and the audit trail of everything they do.

Secrets are never stored: passwords as a KDF hash, tokens and session ids as SHA-256 digests
(they are random and long, so a fast digest is enough and lets every request be checked cheaply).

The audit trail is a hash chain: each entry's hash covers its content and the previous entry's
hash. Its head is anchored in the transparency log (``anchor``: a leaf naming the sequence number
and hash of the newest entry), so that rewriting the trail before an anchor means rewriting the
log, which signed checkpoints kept outside the database expose. Anchoring is done on export, by
``yiyin audit anchor`` and every few minutes by a running server; entries after the newest anchor
are protected by the chain alone until the next one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from yiyin.registry import log
from yiyin.registry.models import Base, LogEntry


class StaffUser(Base):
    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(300), default="")
    roles: Mapped[list] = mapped_column(JSON, default=list)
    sections: Mapped[list] = mapped_column(JSON, default=list)   # 审批业务科 a reviewer or lead belongs to
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    __tablename__ = "staff_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class StaffSession(Base):
    __tablename__ = "staff_sessions"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """One act or refused attempt. Inserted only; ``hash`` chains it to the entry before."""

    __tablename__ = "audit_entries"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[str] = mapped_column(String(10))     # done | refused | waived
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


GENESIS = "0" * 64


def entry_body(seq: int, at: str, actor: str, action: str, outcome: str, target: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"seq": seq, "at": at, "actor": actor, "action": action, "outcome": outcome, "target": target, "detail": detail}


def entry_hash(prev_hash: str, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical.encode("utf-8")).hexdigest()


def at_text(at: datetime) -> str:
    at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def lock_trail(session: Session) -> None:
    """The log's lock (PostgreSQL advisory lock; SQLite's write transaction is exclusive already):
    one writer extends the chain at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": log._PG_LOG_LOCK})


def append_audit(session: Session, actor: str, action: str, outcome: str, target: str = "",
                 detail: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction, chained to the last one."""
    lock_trail(session)
    last = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (0, GENESIS)
    now = datetime.now(timezone.utc)
    # JSON round trip: what is stored is exactly what was hashed
    clean = json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str))
    body = entry_body(seq, at_text(now), actor, action, outcome, target, clean)
    entry = AuditEntry(seq=seq, at=now, actor=actor, action=action, outcome=outcome, target=target, detail=clean,
                       prev_hash=prev, hash=entry_hash(prev, body))
    session.add(entry)
    session.flush()
    return entry


def anchor(session: Session) -> LogEntry | None:
    """Append the chain's head to the transparency log, unless it is anchored already."""
    lock_trail(session)
    head = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    if head is None:
        return None
    last = session.execute(select(LogEntry).where(LogEntry.kind == "audit").order_by(LogEntry.index.desc()).limit(1)).scalar_one_or_none()
    if last is not None and json.loads(last.payload).get("seq") == head[0]:
        return last
    return log.append(session, "audit", {"seq": head[0], "hash": head[1]})


def audit_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


