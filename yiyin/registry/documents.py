"""Issued documents: recording an issuance in one transaction, lookups, and current status."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiyin.config import BUREAU_TIME
from yiyin.registry import audit, licences, log, numbering, status_list
from yiyin.registry.models import Document, StatusEvent

# Statuses and the national electronic licence status codes they map to.
STATUS_CODES = {"有效": "01", "暂扣": "02", "撤销": "03", "注销": "04", "失效": "05", "吊销": "07",
                # replaced by a new version (变更 amended, 延续 renewed), or past its validity (过期,
                # derived from the dates, never recorded): no longer in force, national 05 失效
                "变更": "05", "延续": "05", "过期": "05"}
IN_FORCE = "有效"
# Validity dates are the bureau's calendar days: a licence valid until 11-22 is in force until
# midnight in Beijing, whatever the server's clock zone.


@dataclass(frozen=True)
class NewDocument:
    number: str
    doc_type: str
    title: str
    organ_id: str
    item_code: str
    case_ref: str
    holder: str
    issue_date: date
    valid_from: date | None
    valid_until: date | None
    sha256: str
    size: int
    seal_id: int
    code_digest: str
    storage_key: str
    public_data: dict[str, Any]


def record_issuance(session: Session, new: NewDocument, actor: str) -> Document:
    """Document, first status, number outcome and log leaf: all in the caller's one transaction."""
    now = datetime.now(timezone.utc)
    doc = Document(id=uuid.uuid4().hex, issued_at=now, **new.__dict__)
    session.add(doc)
    session.flush()
    session.add(StatusEvent(document_id=doc.id, status=IN_FORCE, reason="签发", basis="", actor=actor, at=now))
    numbering.close(session, new.number, "issued")
    licence = licences.record_for(session, doc)  # GB/T 36904 identifier, if the item produces this licence
    status_list.place_of(session, doc.id)
    extra: dict[str, Any] = {"record": audit.record_digest(session, doc)}  # commits to every stored field
    if licence is not None:
        extra.update(licence_id=licence.identifier, version=licence.version)
    if licence is not None and licence.predecessor_id:
        extra["supersedes"] = licence.predecessor_id
    log.append(session, "issue", {
        "document_id": doc.id, "number": new.number, "type": new.doc_type, "organ": new.organ_id,
        "sha256": new.sha256, "issued_at": now.isoformat(), "status": STATUS_CODES[IN_FORCE], **extra,
    }, document_id=doc.id)
    licences.close_predecessor(session, licence, doc, actor)  # a 变更/延续: the replaced version's act
    return doc


def by_sha256(session: Session, sha256: str) -> Document | None:
    return session.execute(select(Document).where(Document.sha256 == sha256)).scalar_one_or_none()


def by_number(session: Session, number: str) -> Document | None:
    return session.execute(select(Document).where(Document.number == number)).scalar_one_or_none()


def by_number_for_act(session: Session, number: str) -> Document | None:
    """The document, locked for a status act until the caller's transaction ends (FOR UPDATE on
    PostgreSQL; SQLite's write transaction is exclusive already), so that two acts on one document
    cannot both pass their checks against the same history."""
    return session.execute(select(Document).where(Document.number == number).with_for_update()).scalar_one_or_none()


def history(session: Session, document_id: str) -> list[StatusEvent]:
    return list(session.execute(
        select(StatusEvent).where(StatusEvent.document_id == document_id).order_by(StatusEvent.id)
    ).scalars())


@dataclass(frozen=True)
class CurrentStatus:
    status: str
    code: str
    in_force: bool
    reason: str
    replaced_by: str = ""  # number of the version that replaced this one (变更, 延续)


def current_status(session: Session, doc: Document, on: date | None = None) -> CurrentStatus:
    """The latest act decides; an in-force document past its validity has expired (过期, 05)."""
    events = history(session, doc.id)
    last = (events[-1].status, events[-1].reason) if events else None
    return derive_status(last, doc.valid_from, doc.valid_until, on,
                         lambda: getattr(licences.successor(session, doc.id), "licence_number", ""))


def derive_status(last: tuple[str, str] | None, valid_from: date | None, valid_until: date | None,
                  on: date | None, replaced_by: Callable[[], str]) -> CurrentStatus:
    """The current status from the latest act (status, reason) and the validity dates;
    ``replaced_by`` names the successor of a replaced version (asked only for one)."""
    on = on or datetime.now(BUREAU_TIME).date()
    status = last[0] if last else IN_FORCE
    if status == IN_FORCE and valid_until is not None and on > valid_until:
        return CurrentStatus("过期", STATUS_CODES["过期"], False, f"有效期至{valid_until.isoformat()}，已过期")
    if status == IN_FORCE and valid_from is not None and on < valid_from:
        return CurrentStatus(IN_FORCE, STATUS_CODES[IN_FORCE], False, f"自{valid_from.isoformat()}起生效")
    successor = replaced_by() if status in ("变更", "延续") else ""
    return CurrentStatus(status, STATUS_CODES.get(status, ""), status == IN_FORCE, last[1] if last else "", successor or "")
