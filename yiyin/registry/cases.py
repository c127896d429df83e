"""The bureau's case records: what each item needs (materials, kind, time limit), combined matters
(一件事 / 一个项目), and cases (办件) with their items, steps, materials and document drafts.

These tables hold facts; the rules that move a case from one state to the next live in
``yiyin.service.cases``. Steps are only ever inserted: a case's history is its list of steps.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yiyin.registry.models import Base

# 即办件, 一审一核件, 承诺件 and the working days each is promised in, unless the item says otherwise.
ITEM_KINDS: dict[str, int] = {"即办件": 1, "一审一核件": 3, "承诺件": 10}


class ItemProfile(Base):
    """How an approval item is handled at the window: its kind and the materials it needs."""

    __tablename__ = "item_profiles"
    item_code: Mapped[str] = mapped_column(ForeignKey("items.code"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    #: [{"name": "营业执照复印件", "required": true}], in the order the window checks them
    materials: Mapped[list] = mapped_column(JSON, default=list)
    site_inspection: Mapped[bool] = mapped_column(Boolean, default=False)


class Matter(Base):
    """A combined matter: 一件事 (e.g. 开办药店) or 一个项目 (e.g. 房地产开发项目, in stages)."""

    __tablename__ = "matters"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(10))               # 一件事 | 一个项目
    lead_section: Mapped[str] = mapped_column(String(50))       # 牵头科室 (总牵头科室 of a project)
    #: stages of a project, in order: [{"name": "工程建设许可阶段", "lead_section": "规划审批科"}]
    stages: Mapped[list] = mapped_column(JSON, default=list)


class MatterItem(Base):
    __tablename__ = "matter_items"
    matter_id: Mapped[str] = mapped_column(ForeignKey("matters.id"), primary_key=True)
    item_code: Mapped[str] = mapped_column(ForeignKey("items.code"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(50), default="")


class CaseCounter(Base):
    """The last case number given in a year."""

    __tablename__ = "case_counters"
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    """One application (办件) for one item or one combined matter."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)         # 办件编号, also the 受理编号
    title: Mapped[str] = mapped_column(String(200))
    matter_id: Mapped[str | None] = mapped_column(ForeignKey("matters.id"), nullable=True)
    stage: Mapped[str] = mapped_column(String(50), default="")
    lead_section: Mapped[str] = mapped_column(String(50))
    applicant: Mapped[str] = mapped_column(String(200))
    applicant_code: Mapped[str] = mapped_column(String(40))
    contact: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    delivery: Mapped[str] = mapped_column(String(10), default="window")  # window | post
    post_address: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_by: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    accepted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    issued_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CaseItem(Base):
    """One approval item of a case, reviewed in parallel by the item's section."""

    __tablename__ = "case_items"
    __table_args__ = (UniqueConstraint("case_id", "item_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    item_code: Mapped[str] = mapped_column(ForeignKey("items.code"))
    position: Mapped[int] = mapped_column(Integer)
    section: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    decision: Mapped[str] = mapped_column(String(10), default="")     # 准予 | 不予
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CaseStep(Base):
    """Who did what to a case, when. Inserted only."""

    __tablename__ = "case_steps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    case_item_id: Mapped[int | None] = mapped_column(ForeignKey("case_items.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class CaseMaterial(Base):
    """An application material received for a case; the file is in the document store."""

    __tablename__ = "case_materials"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))           # which required material this is
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(200))
    received_by: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DocumentDraft(Base):
    """The data a reviewer prepared for one document of a case item; issued once, then linked."""

    __tablename__ = "case_drafts"
    __table_args__ = (UniqueConstraint("case_item_id", "doc_type"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_item_id: Mapped[int] = mapped_column(ForeignKey("case_items.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"), nullable=True, unique=True)
