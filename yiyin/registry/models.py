"""Tables of the registry. Rows that record facts (numbers, documents, status acts, log entries)
are only ever inserted; a status change is a new row, never an update of an old one."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Organ(Base):
    """An administrative organ: the bureau itself, or a department that delegates items to it."""

    __tablename__ = "organs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    division_code: Mapped[str] = mapped_column(String(6))
    province: Mapped[str] = mapped_column(String(50))
    city: Mapped[str] = mapped_column(String(50))
    county: Mapped[str] = mapped_column(String(50))
    short_name: Mapped[str] = mapped_column(String(20))  # 机关代字, e.g. 台审批


class Seal(Base):
    """A registered seal: organ, purpose, certificate, where its key is."""

    __tablename__ = "seals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organ_id: Mapped[str] = mapped_column(ForeignKey("organs.id"))
    purpose: Mapped[str] = mapped_column(String(50))
    cert_pem: Mapped[str] = mapped_column(Text)
    cert_fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    key_location: Mapped[str] = mapped_column(String(500))
    diameter_mm: Mapped[int] = mapped_column(Integer, default=42)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    organ: Mapped[Organ] = relationship()


class Item(Base):
    """An approval item (审批事项) the bureau decides, owned (划转) or delegated (委托)."""

    __tablename__ = "items"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))       # 行政许可, 行政确认, …
    legal_basis: Mapped[str] = mapped_column(Text)
    section: Mapped[str] = mapped_column(String(50))        # 审批业务科
    time_limit_days: Mapped[int] = mapped_column(Integer)
    licence_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    organ_id: Mapped[str] = mapped_column(ForeignKey("organs.id"))  # the organ that decides
    mode: Mapped[str] = mapped_column(String(12))            # transferred | delegated
    delegating_organ_id: Mapped[str | None] = mapped_column(ForeignKey("organs.id"), nullable=True)


class Delegation(Base):
    """A delegation agreement (委托协议) in force for an item over a period."""

    __tablename__ = "delegations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_code: Mapped[str] = mapped_column(ForeignKey("items.code"))
    delegating_organ_id: Mapped[str] = mapped_column(ForeignKey("organs.id"))
    agent_organ_id: Mapped[str] = mapped_column(ForeignKey("organs.id"))
    agreement_ref: Mapped[str] = mapped_column(String(100))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)


class NumberingRule(Base):
    """How an organ numbers a document type, e.g. ``台审批许准〔{year}〕{seq}号``."""

    __tablename__ = "numbering_rules"
    organ_id: Mapped[str] = mapped_column(ForeignKey("organs.id"), primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    pattern: Mapped[str] = mapped_column(String(100))


class NumberCounter(Base):
    __tablename__ = "number_counters"
    organ_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)  # year, or "all" for patterns without one
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class IssuedNumber(Base):
    """Every number ever allocated: issued, void (with the reason), or still being issued."""

    __tablename__ = "numbers"
    __table_args__ = (UniqueConstraint("organ_id", "doc_type", "period", "seq"),)
    number: Mapped[str] = mapped_column(String(100), primary_key=True)
    organ_id: Mapped[str] = mapped_column(String(64))
    doc_type: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(10))
    seq: Mapped[int] = mapped_column(Integer)
    allocated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class NumberOutcome(Base):
    """How a number ended: issued, or void with the reason. Written once, never changed."""

    __tablename__ = "number_outcomes"
    number: Mapped[str] = mapped_column(ForeignKey("numbers.number"), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(10))  # issued | void
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Document(Base):
    """An issued, sealed document."""

    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    number: Mapped[str] = mapped_column(ForeignKey("numbers.number"), unique=True)
    doc_type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(100))
    organ_id: Mapped[str] = mapped_column(ForeignKey("organs.id"))
    item_code: Mapped[str] = mapped_column(ForeignKey("items.code"))
    case_ref: Mapped[str] = mapped_column(String(64))
    holder: Mapped[str] = mapped_column(String(200))
    issue_date: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    # SHA-256 of the document as sealed (up to the end of its last seal's revision); validation
    # data appended later (DSS, archive timestamps) leave it unchanged. ``size`` is of the stored file.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    seal_id: Mapped[int] = mapped_column(ForeignKey("seals.id"))
    code_digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the verification code
    storage_key: Mapped[str] = mapped_column(String(200))
    public_data: Mapped[dict] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seal: Mapped[Seal] = relationship()
    organ: Mapped[Organ] = relationship()


class StatusEvent(Base):
    """One act on a document's status (issued, suspended, revoked, …): who, when, why, on what basis."""

    __tablename__ = "status_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    basis: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PublicAnswer(Base):
    """The public lookup's answer for a document, prepared ahead so that a lookup is one indexed
    read: the JSON bytes as served, and what they were prepared from. The answer is served only
    while all of it still holds: the same answer format, the same public URL, no status act newer
    than ``last_event_id``, and a date within [``good_from``, ``good_until``] (the validity dates
    decide 过期 and 尚未生效). Anything else is answered afresh and prepared again; a row is never
    the only copy of anything."""

    __tablename__ = "public_answers"
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    # the document's number and code digest again, so that a lookup finds its answer in one
    # index of this table rather than through the documents' (always written; nullable only
    # because making them NOT NULL on an existing SQLite table means rebuilding it)
    number: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    code_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    format: Mapped[int] = mapped_column(Integer)
    base_url: Mapped[str] = mapped_column(String(500))
    last_event_id: Mapped[int] = mapped_column(Integer)
    good_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    good_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    prepared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LogEntry(Base):
    """A leaf of the append-only transparency log (RFC 9162 leaf hash over the canonical JSON)."""

    __tablename__ = "log_entries"
    index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))
    document_id: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    payload: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[str] = mapped_column(String(64))
    appended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
