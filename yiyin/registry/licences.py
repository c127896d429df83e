"""Licences as national licence databases know them: the GB/T 36904 identifier and the metadata
they exchange, and the succession of versions (变更 amends, 延续 renews).

Every document issued for an item whose licence type it is gets a licence record in the same
transaction as its issuance. A new version (变更 or 延续) keeps the licence's serial, takes the next
version number and links back to the version it replaces; the replaced version gets a status act
(变更 or 延续, national code 05 失效) naming its successor, appended to the log in the same
transaction. Nothing is updated in place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from yiyin.errors import AuthorityError, FieldProblem, InvalidData, NotFound
from yiyin.registry import log
from yiyin.registry.licence_id import LicenceId
from yiyin.registry.models import Base, Document, Item, Organ, StatusEvent

# 证照类型代码 per document type. The national 证照目录 assigns these; until the province's catalogue
# assigns one, a local code (the pinyin initials of the licence's name) stands in and can be
# changed here. A type not listed gets its id in capitals.
LICENCE_TYPE_CODES: dict[str, str] = {
    "licence_drug_retail": "YPJYXKZ",             # 药品经营许可证
    "licence_travel_agency": "LXSYWJYXKZ",        # 旅行社业务经营许可证
    "licence_road_transport": "DLYSJYXKZ",        # 道路运输经营许可证
    "licence_hazchem": "WXHXPJYXKZ",              # 危险化学品经营许可证
    "licence_medical_institution": "YLJGZYXKZ",   # 医疗机构执业许可证
    "licence_printing": "YSJYXKZ",                # 印刷经营许可证
}

SUCCESSION_ACTS = {"变更": "amend", "延续": "renew"}

# 持证主体代码类型: which public field holds the holder's code, and what kind of code it is.
HOLDER_CODES = (("uscc", "统一社会信用代码"), ("id_number", "公民身份号码"), ("holder_code", "其他"))


class LicenceRecord(Base):
    """The national metadata of one licence version (GB/T 36903 / 36904)."""

    __tablename__ = "licence_records"
    __table_args__ = (UniqueConstraint("type_code", "organ_code", "serial", "version"),)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(120), unique=True)   # 电子证照标识
    licence_name: Mapped[str] = mapped_column(String(100))              # 证照名称
    licence_number: Mapped[str] = mapped_column(String(100))            # 证照编号
    type_code: Mapped[str] = mapped_column(String(40))                  # 证照类型代码
    organ_code: Mapped[str] = mapped_column(String(18))                 # 颁发机构代码
    organ_name: Mapped[str] = mapped_column(String(200))                # 颁发机构
    serial: Mapped[int] = mapped_column(BigInteger)                     # 顺序号
    version: Mapped[int] = mapped_column(Integer)                       # 版本号
    issue_date: Mapped[date] = mapped_column(Date)                      # 颁证日期
    valid_from: Mapped[date | None] = mapped_column(Date, nullable=True)   # 有效期起始日期
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)  # 有效期截止日期
    holder: Mapped[str] = mapped_column(String(200))                    # 持证主体
    holder_code: Mapped[str] = mapped_column(String(40))                # 持证主体代码
    holder_code_type: Mapped[str] = mapped_column(String(20))           # 持证主体代码类型
    item_code: Mapped[str] = mapped_column(String(40))                  # 关联事项编码
    item_name: Mapped[str] = mapped_column(String(200))                 # 关联事项名称
    predecessor_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"), nullable=True, index=True)
    succession: Mapped[str] = mapped_column(String(10), default="")    # 变更 | 延续 | "" (first version)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LicenceSerial(Base):
    """The last 顺序号 given to licences of one type by one organ."""

    __tablename__ = "licence_serials"
    type_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    organ_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    last_serial: Mapped[int] = mapped_column(BigInteger, default=0)


def type_code(doc_type: str) -> str:
    return LICENCE_TYPE_CODES.get(doc_type) or re.sub(r"[^0-9A-Z]", "", doc_type.upper())[:40]


def identifier_of(rec: LicenceRecord) -> LicenceId:
    return LicenceId(rec.type_code, rec.organ_code, rec.serial, rec.version)


# -- succession ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Succession:
    predecessor_number: str
    act: str  # 变更 | 延续
    reason: str
    basis: str


_pending: ContextVar[Succession | None] = ContextVar("yiyin_licence_succession", default=None)


def check_succession(act: str, reason: str, basis: str) -> None:
    problems = []
    if act not in SUCCESSION_ACTS:
        problems.append(FieldProblem("act", "succession_act", f"“{act}”不是证照的变更或延续，只能为 变更 或 延续"))
    if not reason.strip():
        problems.append(FieldProblem("reason", "required", "请填写理由"))
    if not basis.strip():
        problems.append(FieldProblem("basis", "required", "请填写法律依据"))
    if problems:
        raise InvalidData(problems, "证照变更/延续")


@contextmanager
def succeeding(predecessor_number: str, act: str, reason: str, basis: str) -> Iterator[Succession]:
    """Within this block, the licence issued (through the ordinary pipeline) is the next version of
    ``predecessor_number``: same serial, next version, linked back, and the predecessor is closed
    as 变更 or 延续 in the same transaction as the new version's issuance."""
    check_succession(act, reason, basis)
    succession = Succession(predecessor_number, act, reason.strip(), basis.strip())
    token = _pending.set(succession)
    try:
        yield succession
    finally:
        _pending.reset(token)


def successor_allowed(session: Session, predecessor: Document) -> LicenceRecord:
    """The predecessor's licence record, if a new version may replace it now; AuthorityError if not."""
    from yiyin.registry.documents import history

    rec = session.get(LicenceRecord, predecessor.id)
    if rec is None:
        raise AuthorityError(f"{predecessor.number} 不是证照，只有证照才能变更或延续")
    events = history(session, predecessor.id)
    current = events[-1].status if events else "有效"
    if current not in ("有效", "暂扣"):
        raise AuthorityError(f"证照 {predecessor.number} 当前为“{current}”，已终止的证照不能变更或延续")
    return rec


# -- recording -------------------------------------------------------------------------------------


def _next_serial(session: Session, tcode: str, ocode: str) -> int:
    key = (LicenceSerial.type_code == tcode, LicenceSerial.organ_code == ocode)
    serial = session.execute(update(LicenceSerial).where(*key).values(last_serial=LicenceSerial.last_serial + 1)
                             .returning(LicenceSerial.last_serial)).scalar()
    if serial is None:
        try:
            with session.begin_nested():
                session.add(LicenceSerial(type_code=tcode, organ_code=ocode, last_serial=1))
                session.flush()
            serial = 1
        except IntegrityError:
            serial = session.execute(update(LicenceSerial).where(*key).values(last_serial=LicenceSerial.last_serial + 1)
                                     .returning(LicenceSerial.last_serial)).scalar_one()
    return serial


def _holder_code(public_data: dict[str, Any]) -> tuple[str, str]:
    for field, kind in HOLDER_CODES:
        value = public_data.get(field)
        if isinstance(value, str) and value:
            return value, kind
    return "", ""


def record_for(session: Session, doc: Document) -> LicenceRecord | None:
    """In the issuance transaction: the licence record of ``doc`` if its item produces this
    licence type (else None), honouring a pending succession."""
    item = session.get(Item, doc.item_code)
    succession = _pending.get()
    if item is None or item.licence_type != doc.doc_type:
        if succession is not None:
            raise AuthorityError(f"{doc.doc_type} 不是证照类型，只有证照才能变更或延续")
        return None
    organ = session.get(Organ, doc.organ_id)
    assert organ is not None
    tcode = type_code(doc.doc_type)
    predecessor_id, act = None, ""
    if succession is not None:
        from yiyin.registry.documents import by_number_for_act

        old = by_number_for_act(session, succession.predecessor_number)
        if old is None:
            raise NotFound(f"没有编号为 {succession.predecessor_number} 的文书")
        prev = successor_allowed(session, old)
        if (prev.type_code, prev.organ_code) != (tcode, organ.uscc):
            raise AuthorityError(f"{old.number} 是{prev.organ_name}的{prev.licence_name}；新版本须为同一机关的同一种证照")
        lid = identifier_of(prev).next_version()
        predecessor_id, act = old.id, succession.act
    else:
        lid = LicenceId(tcode, organ.uscc, _next_serial(session, tcode, organ.uscc), 1)
    holder_code, holder_code_type = _holder_code(doc.public_data or {})
    rec = LicenceRecord(
        document_id=doc.id, identifier=str(lid), licence_name=doc.title, licence_number=doc.number,
        type_code=tcode, organ_code=organ.uscc, organ_name=organ.name, serial=lid.serial, version=lid.version,
        issue_date=doc.issue_date, valid_from=doc.valid_from, valid_until=doc.valid_until, holder=doc.holder,
        holder_code=holder_code, holder_code_type=holder_code_type, item_code=item.code, item_name=item.name,
        predecessor_id=predecessor_id, succession=act, recorded_at=datetime.now(timezone.utc),
    )
    session.add(rec)
    session.flush()
    return rec


def close_predecessor(session: Session, rec: LicenceRecord | None, doc: Document, actor: str) -> None:
    """After the new version's issuance leaf: the predecessor's 变更/延续 act, in the log too."""
    succession = _pending.get()
    if rec is None or succession is None or rec.predecessor_id is None:
        return
    from yiyin.registry.documents import STATUS_CODES

    old = session.get(Document, rec.predecessor_id)
    assert old is not None
    now = datetime.now(timezone.utc)
    reason = f"{succession.reason}（由{doc.number}替代）"
    event = StatusEvent(document_id=old.id, status=succession.act, reason=reason, basis=succession.basis, actor=actor, at=now)
    session.add(event)
    session.flush()
    log.append(session, "status", {
        "document_id": old.id, "number": old.number, "status": STATUS_CODES[succession.act], "status_name": succession.act,
        "reason": reason, "basis": succession.basis, "actor": actor, "at": now.isoformat(),
        "replaced_by": doc.id, "replaced_by_number": doc.number,
    }, document_id=old.id)


# -- reading ---------------------------------------------------------------------------------------


def by_document(session: Session, document_id: str) -> LicenceRecord | None:
    return session.get(LicenceRecord, document_id)


def by_identifier(session: Session, identifier: str) -> LicenceRecord | None:
    return session.execute(select(LicenceRecord).where(LicenceRecord.identifier == identifier.strip().upper())).scalar_one_or_none()


def successor(session: Session, document_id: str) -> LicenceRecord | None:
    return session.execute(select(LicenceRecord).where(LicenceRecord.predecessor_id == document_id)).scalar_one_or_none()


def versions(session: Session, document_id: str) -> list[LicenceRecord]:
    """Every version of the licence this document is a version of, oldest first."""
    rec = session.get(LicenceRecord, document_id)
    if rec is None:
        return []
    return list(session.execute(select(LicenceRecord).where(
        LicenceRecord.type_code == rec.type_code, LicenceRecord.organ_code == rec.organ_code,
        LicenceRecord.serial == rec.serial).order_by(LicenceRecord.version)).scalars())


def national_metadata(session: Session, doc: Document, on: date | None = None) -> dict[str, Any] | None:
    """The record as national licence databases exchange it (keys are the data elements' names),
    with the current status and its national code; None for a document that is not a licence."""
    from yiyin.registry.documents import current_status

    rec = session.get(LicenceRecord, doc.id)
    if rec is None:
        return None
    status = current_status(session, doc, on)
    nxt = successor(session, doc.id)
    prev = session.get(Document, rec.predecessor_id) if rec.predecessor_id else None
    return {
        "证照标识": rec.identifier,
        "证照名称": rec.licence_name,
        "证照编号": rec.licence_number,
        "证照类型代码": rec.type_code,
        "版本号": rec.version,
        "颁发机构": rec.organ_name,
        "颁发机构代码": rec.organ_code,
        "颁证日期": rec.issue_date.isoformat(),
        "有效期起始日期": rec.valid_from.isoformat() if rec.valid_from else None,
        "有效期截止日期": rec.valid_until.isoformat() if rec.valid_until else None,
        "持证主体": rec.holder,
        "持证主体代码": rec.holder_code,
        "持证主体代码类型": rec.holder_code_type,
        "关联事项编码": rec.item_code,
        "关联事项名称": rec.item_name,
        "证照状态": status.status,
        "证照状态代码": status.code,
        "前一版本": {"证照编号": prev.number, "变更类型": rec.succession} if prev else None,
        "后一版本": {"证照编号": nxt.licence_number, "证照标识": nxt.identifier, "变更类型": nxt.succession} if nxt else None,
    }
