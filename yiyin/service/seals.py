"""The seal custodian's acts (印章备案): register, rotate and revoke seals.

Every act is appended to the transparency log, so the history of a seal cannot be rewritten
quietly; revocation also reaches the CA's CRL, which B-LT sealing embeds and verification reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from sqlalchemy import select

from yiyin.errors import AuthorityError, FieldProblem, InvalidData, NotFound
from yiyin.registry import catalog
from yiyin.registry.models import Organ, Seal
from yiyin.service import audit
from yiyin.service.app import App
from yiyin.signing.appearance import standard_diameter_mm



@dataclass(frozen=True)
class SealView:
    id: int
    organ: str
    purpose: str
    status: str          # 在用 in use | 已停用 retired | 已吊销 revoked | 已过期 expired
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None
    fingerprint: str
    serial: int
    key_location: str


def _status(seal: Seal, cert: x509.Certificate, now: datetime) -> str:
    if seal.revoked_at is not None:
        return "已吊销 revoked"
    if catalog.aware(seal.valid_until) < now:
        return "已过期 expired" if cert.not_valid_after_utc < now else "已停用 retired"
    return "在用 in use"


def _view(seal: Seal, organ_name: str, now: datetime) -> SealView:
    cert = x509.load_pem_x509_certificate(seal.cert_pem.encode())
    return SealView(seal.id, organ_name, seal.purpose, _status(seal, cert, now), catalog.aware(seal.valid_from),
                    catalog.aware(seal.valid_until), catalog.aware(seal.revoked_at) if seal.revoked_at else None,
                    seal.cert_fingerprint, cert.serial_number, seal.key_location)


def list_seals(app: App) -> list[SealView]:
    now = app.now()
    with app.db.session() as s:
        rows = s.execute(select(Seal, Organ.name).join(Organ, Seal.organ_id == Organ.id).order_by(Seal.id)).all()
        return [_view(seal, name, now) for seal, name in rows]


def _log(session, act: str, seal: Seal, actor: str, reason: str = "", at: datetime | None = None) -> None:  # type: ignore[no-untyped-def]
    """Record the act in the audit trail and, but for a registration (logged by the registry as
    the seal is registered), in the transparency log."""
    audit.record(session, actor, f"seal.{act}", f"seal {seal.id}", {"organ": seal.organ_id, "purpose": seal.purpose, "reason": reason})
    if act != "add":
        catalog.log_seal_act(session, act, seal, actor, reason, at)


def add_seal(app: App, organ_id: str, purpose: str, actor: str, diameter_mm: int | None = None,
             pkcs11: str = "") -> SealView:
    """Register a new seal: key created now (in the HSM named by ``pkcs11``, else a development
    PKCS#12 file), certified by the CA; the act is logged. Its diameter is the standard one for
    the organ's level unless given."""
    problems = []
    if not purpose.strip():
        problems.append(FieldProblem("purpose", "required", "请填写印章用途（如 行政审批专用章）"))
    if diameter_mm is not None and not 20 <= diameter_mm <= 60:
        problems.append(FieldProblem("diameter_mm", "range", f"印章直径 {diameter_mm} 毫米超出 20–60 毫米的范围"))
    if problems:
        raise InvalidData(problems, "印章备案")
    with app.db.transaction() as s:
        organ = catalog.get_organ(s, organ_id)
        diameter = diameter_mm or standard_diameter_mm(organ.division_code, organ.name)
        seal = (app.create_hsm_seal(s, organ, purpose.strip(), diameter, pkcs11, actor=actor) if pkcs11
                else app.create_dev_seal(s, organ, purpose.strip(), diameter, actor=actor))
        _log(s, "add", seal, actor)
        return _view(seal, organ.name, app.now())


def rotate_seal(app: App, seal_id: int, actor: str, reason: str) -> SealView:
    """Replace a seal's key: a new seal takes over now; the old one stops sealing but stays
    valid for everything it sealed (its certificate is not revoked)."""
    now = app.now()
    with app.db.transaction() as s:
        old = _get(s, seal_id)
        if old.revoked_at is not None:
            raise AuthorityError(f"印章 {seal_id} 已吊销，不能更换密钥；请用 `yiyin seal add` 备案新印章")
        organ = catalog.get_organ(s, old.organ_id)
        new = app.create_dev_seal(s, organ, old.purpose, old.diameter_mm, actor=actor,
                                  reason=f"rotation of seal {seal_id}: {reason}")
        old.valid_until = now
        s.add(old)
        _log(s, "retire", old, actor, reason, now)
        _log(s, "add", new, actor, f"rotation of seal {seal_id}: {reason}")
        return _view(new, organ.name, now)


def revoke_seal(app: App, seal_id: int, actor: str, reason: str) -> SealView:
    """Revoke a seal (key lost or compromised): it can never seal again and its certificate goes
    on the CRL from this moment; documents proven sealed before stay valid."""
    if not reason.strip():
        raise InvalidData([FieldProblem("reason", "required", "请填写吊销印章的理由")], "印章备案")
    now = app.now()
    with app.db.transaction() as s:
        seal = _get(s, seal_id)
        if seal.revoked_at is not None:
            raise AuthorityError(f"印章 {seal_id} 已于 {catalog.aware(seal.revoked_at).isoformat()} 吊销")
        seal.revoked_at = now
        s.add(seal)
        _log(s, "revoke", seal, actor, reason, now)
        organ = catalog.get_organ(s, seal.organ_id)
        return _view(seal, organ.name, now)


def _get(session, seal_id: int) -> Seal:  # type: ignore[no-untyped-def]
    seal = session.get(Seal, seal_id)
    if seal is None:
        raise NotFound(f"印章 {seal_id} 未备案；`yiyin seal list` 列出已备案的印章")
    return seal
