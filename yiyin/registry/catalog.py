"""Organs, approval items, delegations, numbering rules and seals: loading and the authority check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiyin.errors import AuthorityError, NotFound
from yiyin.registry import log
from yiyin.registry.models import Delegation, Item, NumberingRule, Organ, Seal
from yiyin.registry.numbering import check_pattern


def upsert_organ(session: Session, spec: dict[str, Any]) -> Organ:
    organ = session.get(Organ, spec["id"]) or Organ(id=spec["id"])
    for k in ("name", "uscc", "division_code", "province", "city", "county", "short_name"):
        setattr(organ, k, spec[k])
    session.add(organ)
    for doc_type, pattern in spec.get("numbering", {}).items():
        check_pattern(pattern)
        rule = session.get(NumberingRule, (organ.id, doc_type)) or NumberingRule(organ_id=organ.id, doc_type=doc_type)
        rule.pattern = pattern
        session.add(rule)
    session.flush()
    return organ


def add_missing_numbering(session: Session, organ_id: str, numbering: dict[str, str]) -> None:
    """Numbering rules for document types the organ has none for yet; existing rules are kept."""
    for doc_type, pattern in numbering.items():
        if session.get(NumberingRule, (organ_id, doc_type)) is None:
            check_pattern(pattern)
            session.add(NumberingRule(organ_id=organ_id, doc_type=doc_type, pattern=pattern))
    session.flush()


def upsert_item(session: Session, spec: dict[str, Any]) -> Item:
    item = session.get(Item, spec["code"]) or Item(code=spec["code"])
    for k in ("name", "category", "legal_basis", "section", "time_limit_days", "organ_id", "mode"):
        setattr(item, k, spec[k])
    item.licence_type = spec.get("licence_type")
    item.delegating_organ_id = spec.get("delegating_organ_id")
    session.add(item)
    session.flush()
    return item


def get_organ(session: Session, organ_id: str) -> Organ:
    organ = session.get(Organ, organ_id)
    if organ is None:
        raise NotFound(f"机关 {organ_id} 未登记（organs.json 或 yiyin catalog）")
    return organ


def get_item(session: Session, code: str) -> Item:
    item = session.get(Item, code)
    if item is None:
        raise NotFound(f"审批事项目录中没有事项编码 {code}；请核对编码，或由管理员导入目录")
    return item


@dataclass(frozen=True)
class Authority:
    """In whose name a document is issued, and under which delegation agreement if any."""

    organ: Organ                    # the organ named on the document
    agent: Organ | None = None      # the bureau acting for it under a 委托协议
    agreement_ref: str = ""


def issuing_authority(session: Session, item: Item, on: date) -> Authority:
    """A transferred item (划转) is the bureau's own; a delegated one (委托) is decided in the
    delegating organ's name, and only while an agreement covers that date."""
    if item.mode == "transferred":
        return Authority(get_organ(session, item.organ_id))
    agreement = _agreement_in_force(session, item, on)
    return Authority(get_organ(session, agreement.delegating_organ_id), get_organ(session, item.organ_id), agreement.agreement_ref)


def issuing_organ(session: Session, item: Item, on: date) -> Organ:
    """The organ in whose name a document for ``item`` is issued on ``on``."""
    return issuing_authority(session, item, on).organ


def _agreement_in_force(session: Session, item: Item, on: date) -> Delegation:
    if item.mode == "transferred":
        raise AuthorityError(f"事项 {item.code}（{item.name}）为本局划转事项，没有委托协议")
    if item.mode == "delegated":
        agreement = session.execute(
            select(Delegation).where(
                Delegation.item_code == item.code,
                Delegation.agent_organ_id == item.organ_id,
                Delegation.valid_from <= on,
                Delegation.valid_until >= on,
            )
        ).scalars().first()
        if agreement is None:
            raise AuthorityError(f"事项 {item.code}（{item.name}）为委托事项，{on.isoformat()} 没有生效的委托协议，不能以委托机关名义签发；请核对委托协议及其有效期")
        return agreement
    raise AuthorityError(f"事项 {item.code}（{item.name}）的实施方式“{item.mode}”无法识别（应为 transferred 或 delegated）")


def add_delegation(session: Session, spec: dict[str, Any]) -> Delegation:
    delegation = Delegation(item_code=spec["item_code"], delegating_organ_id=spec["delegating_organ_id"],
                            agent_organ_id=spec["agent_organ_id"], agreement_ref=spec["agreement_ref"],
                            valid_from=date.fromisoformat(spec["valid_from"]), valid_until=date.fromisoformat(spec["valid_until"]))
    if delegation.valid_until < delegation.valid_from:
        raise AuthorityError(f"委托协议 {delegation.agreement_ref}：委托期限止日早于起日")
    session.add(delegation)
    session.flush()
    return delegation


def register_seal(session: Session, organ_id: str, purpose: str, cert_pem: str, fingerprint: str, key_location: str,
                  valid_from: datetime, valid_until: datetime, diameter_mm: int = 42, *, actor: str = "system",
                  reason: str = "") -> Seal:
    """Register a seal and append the registration to the transparency log: a seal that is in
    the registry but not in the log was inserted behind the custodian's back (``log audit``)."""
    seal = Seal(organ_id=organ_id, purpose=purpose, cert_pem=cert_pem, cert_fingerprint=fingerprint,
                key_location=key_location, diameter_mm=diameter_mm, valid_from=valid_from, valid_until=valid_until,
                registered_at=datetime.now(timezone.utc))
    session.add(seal)
    session.flush()
    log_seal_act(session, "add", seal, actor, reason)
    return seal


SEAL_ACTS = ("add", "retire", "revoke")


def log_seal_act(session: Session, act: str, seal: Seal, actor: str, reason: str = "",
                 at: datetime | None = None) -> None:
    """Append a seal act (add, retire, revoke) to the transparency log."""
    if act not in SEAL_ACTS:
        raise ValueError(f"unknown seal act {act!r}")
    at = at or datetime.now(timezone.utc)
    log.append(session, "seal", {"act": act, "seal_id": seal.id, "organ": seal.organ_id, "purpose": seal.purpose,
                                 "certificate_sha256": seal.cert_fingerprint, "actor": actor, "reason": reason,
                                 "at": at.isoformat()})


def active_seal(session: Session, organ_id: str, purpose: str, at: datetime) -> Seal:
    seals = session.execute(
        select(Seal).where(Seal.organ_id == organ_id, Seal.purpose == purpose, Seal.revoked_at.is_(None)).order_by(Seal.id.desc())
    ).scalars().all()
    for seal in seals:
        if aware(seal.valid_from) <= at <= aware(seal.valid_until):
            return seal
    raise AuthorityError(f"机关 {organ_id} 在 {at.isoformat(timespec='seconds')} 没有在有效期内的已登记{purpose}；请印章管理员登记")


def seal_by_fingerprint(session: Session, fingerprint: str) -> Seal | None:
    return session.execute(select(Seal).where(Seal.cert_fingerprint == fingerprint)).scalar_one_or_none()


def aware(dt: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything yiyin stores is UTC."""
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
