"""Batch issuance jobs and their tasks: the record of what a batch must issue and what it did.

The job queue only carries "work on job J" messages; these rows are the truth. A task is done in
the same transaction that records its document, so a crash at any moment leaves every task either
done (with exactly one document) or not done (with no document), and a task's number that was
allocated but never recorded is closed as void when the task is taken up again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yiyin.registry.models import Base


class BatchJob(Base):
    __tablename__ = "batch_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))            # issue | reissue
    title: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(12))          # queued | running | finished
    #: for a reissue: {"act": "变更", "reason": …, "basis": …}
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class BatchTask(Base):
    __tablename__ = "batch_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("batch_jobs.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    doc_type: Mapped[str] = mapped_column(String(64))
    item_code: Mapped[str] = mapped_column(String(40))
    case_ref: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON)
    predecessor: Mapped[str] = mapped_column(String(100), default="")   # number of the licence a reissue replaces
    status: Mapped[str] = mapped_column(String(10), index=True)       # pending | done | failed
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    pending_number: Mapped[str] = mapped_column(String(100), default="")  # allocated, not yet recorded
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"), nullable=True, unique=True)
    error: Mapped[str] = mapped_column(Text, default="")
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
