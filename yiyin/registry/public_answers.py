"""Storing the public lookup's prepared answers (see :class:`yiyin.registry.models.PublicAnswer`).

What an answer says is decided by the service, which shows the public a masked view; the registry
keeps the bytes and what they were prepared from, and finds the documents whose answer is
missing or no longer holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yiyin.registry.models import Document, PublicAnswer, StatusEvent


@dataclass(frozen=True)
class Prepared:
    document_id: str
    number: str
    code_digest: str
    body: bytes
    last_event_id: int
    good_from: date | None
    good_until: date | None


def store(session: Session, answers: Sequence[Prepared], answer_format: int, base_url: str) -> None:
    """Insert or replace these answers."""
    if not answers:
        return
    now = datetime.now(timezone.utc)
    rows = [{"document_id": a.document_id, "number": a.number, "code_digest": a.code_digest, "body": a.body, "format": answer_format, "base_url": base_url,
             "last_event_id": a.last_event_id, "good_from": a.good_from, "good_until": a.good_until,
             "prepared_at": now} for a in answers]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(PublicAnswer)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[PublicAnswer.document_id],
        set_={c: stmt.excluded[c] for c in ("number", "code_digest", "body", "format", "base_url", "last_event_id",
                                            "good_from", "good_until", "prepared_at")}), rows)


def needing(session: Session, answer_format: int, base_url: str, on: date, after: str = "", limit: int = 500) -> list[str]:
    """Ids (in id order, after ``after``) of documents whose prepared answer is missing or no
    longer holds on ``on``."""
    newest = (select(func.max(StatusEvent.id)).where(StatusEvent.document_id == Document.id)
              .correlate(Document).scalar_subquery())
    stale = or_(PublicAnswer.document_id.is_(None), PublicAnswer.format != answer_format,
                PublicAnswer.base_url != base_url, PublicAnswer.last_event_id != func.coalesce(newest, 0),
                and_(PublicAnswer.good_from.is_not(None), PublicAnswer.good_from > on),
                and_(PublicAnswer.good_until.is_not(None), PublicAnswer.good_until < on))
    query = (select(Document.id).outerjoin(PublicAnswer, PublicAnswer.document_id == Document.id)
             .where(Document.id > after, stale).order_by(Document.id).limit(limit))
    return list(session.scalars(query))
