"""The issuance pipeline (DESIGN.md): validate, check authority, number, render, seal, record, store.

Every step completes or leaves nothing behind: a failure after numbering closes the number as
void with the reason, and a stored file that never got recorded is removed again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiyin.errors import AuthorityError, YiyinError
from yiyin.registry import catalog, documents, numbering, vcodes
from yiyin.registry.models import Document, Seal
from yiyin.service import audit
from yiyin.service.app import APPROVAL_SEAL, App
from yiyin.service.policy import level_for
from yiyin.signing.pades import SealPlacement, SealRequest
from yiyin.templates.catalog import document_type
from yiyin.templates.doctype import DocumentKind
from yiyin.templates.render import IssueMeta


@dataclass(frozen=True)
class IssueRequest:
    doc_type: str
    data: dict[str, Any]
    item_code: str
    case_ref: str
    actor: str = "system"
    issue_date: date | None = None
    #: called in the transaction that allocates the number (e.g. to note it against a batch task)
    on_allocated: Callable[[Session, str], None] | None = None
    #: called in the transaction that records the document, so the caller's own bookkeeping
    #: (a case's draft, a batch task) commits with the issuance or not at all
    on_record: Callable[[Session, Document], None] | None = None


@dataclass(frozen=True)
class Issued:
    document_id: str
    number: str
    verification_code: str
    title: str
    sha256: str
    path: Path
    verify_url: str
    level: str


class _StoredFile:
    """The sealed file stored for a number that is still being issued."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.key: str | None = None
        self.new = False

    def put(self, data: bytes) -> str:
        self.key, self.new = self.app.store.put(data)
        return self.key


@contextmanager
def issuing(app: App, number: str) -> Iterator[_StoredFile]:
    """Every step after numbering completes, or leaves nothing behind: the number is closed as
    void with the reason, and a file stored for it that never got recorded is removed."""
    stored = _StoredFile(app)
    try:
        yield stored
    except BaseException as exc:
        if stored.key and stored.new:
            app.store.discard(stored.key)
        reason = exc.message if isinstance(exc, YiyinError) else f"{type(exc).__name__}: {exc}"
        with app.db.transaction() as s:
            numbering.close(s, number, "void", reason[:2000])
        raise


def verify_url(public_url: str, number: str, code: str) -> str:
    return f"{public_url}/v?n={quote(number, safe='')}&c={code}"


class Issuer:
    def __init__(self, app: App) -> None:
        self.app = app

    def issue(self, req: IssueRequest) -> Issued:
        with audit.attempt(self.app, req.actor, "seal.apply", f"{req.doc_type} {req.case_ref}"):
            return self._issue(req)

    def _issue(self, req: IssueRequest) -> Issued:
        app = self.app
        doc_type = document_type(req.doc_type)
        model = app.renderer.validate(doc_type, req.data)  # schema and fonts, before any number
        on = req.issue_date or app.today()

        with app.db.transaction() as s:
            item = catalog.get_item(s, req.item_code)
            if doc_type.kind == DocumentKind.licence and item.licence_type != doc_type.id:
                raise AuthorityError(
                    f"事项 {item.code}（{item.name}）核发的是{item.licence_type or '（不核发证照）'}，不是{doc_type.title}（{doc_type.id}）")
            authority = catalog.issuing_authority(s, item, on)
            organ = authority.organ
            seal = catalog.active_seal(s, organ.id, seal_purpose(s, authority), app.now())
            organ_name, organ_id, province, city, county = organ.name, organ.id, organ.province, organ.city, organ.county
            note = (f"{authority.agent.name}受{organ_name}委托实施（委托协议：{authority.agreement_ref}）"
                    if authority.agent else "")
        sealer = app.sealer(seal, organ_name)

        with app.db.transaction() as s:
            allocation = numbering.allocate(s, organ_id, doc_type.id, on)
            if req.on_allocated:
                req.on_allocated(s, allocation.number)
        number = allocation.number

        with issuing(app, number) as stored:
            code = vcodes.new_code()
            url = verify_url(app.settings.public_url, number, code)
            meta = IssueMeta(organ=organ_name, date=on, number=number, verification_code=code,
                             verify_url=url, public_url=app.settings.public_url, delegation_note=note)
            rendered = app.renderer.render(doc_type, model, meta)
            level = level_for(doc_type)
            sealed = sealer.seal(
                rendered.pdf,
                SealPlacement(rendered.anchor.page, rendered.anchor.x, rendered.anchor.y),
                SealRequest(reason=f"{doc_type.title} {number}", location=f"{province}{city}{county}",
                            signer_name=f"{organ_name}{seal.purpose}", level=level, final=True),
            )
            # The registry keeps the hash of the document as sealed; validation data appended now
            # (B-LT, B-LTA) or at a later archive-timestamp renewal do not change it.
            sealed_sha256 = hashlib.sha256(sealed).hexdigest()
            final = sealer.extend(sealed, level, app.revocation_material())
            stored_key = stored.put(final)
            data_json = model.model_dump(mode="json")
            with app.db.transaction() as s:
                doc = documents.record_issuance(s, documents.NewDocument(
                    number=number, doc_type=doc_type.id, title=doc_type.title, organ_id=organ_id,
                    item_code=req.item_code, case_ref=req.case_ref, holder=doc_type.holder(model),
                    issue_date=on, valid_from=_date(data_json.get("valid_from")), valid_until=_date(data_json.get("valid_until")),
                    sha256=sealed_sha256, size=len(final), seal_id=seal.id,
                    code_digest=vcodes.digest(code), storage_key=stored_key, public_data=data_json,
                ), actor=req.actor)
                document_id = doc.id
                audit.record(s, req.actor, "seal.apply", number, {
                    "seal": seal.id, "seal_name": f"{organ_name}{seal.purpose}", "doc_type": doc_type.id,
                    "item": req.item_code, "case": req.case_ref, "sha256": sealed_sha256})
                if req.on_record:
                    req.on_record(s, doc)
        return Issued(document_id=document_id, number=number, verification_code=code, title=doc_type.title,
                      sha256=sealed_sha256, path=app.store.path_of(stored_key), verify_url=url, level=level.value)


# Under a delegation the document is sealed with the delegating organ's own seal, which the
# agreement places with the bureau: its licensing seal where it has one, otherwise its 公章.
DELEGATED_SEAL_PREFERENCE = ("行政许可专用章", "公章")


def seal_purpose(session, authority: catalog.Authority) -> str:  # type: ignore[no-untyped-def]
    if authority.agent is None:
        return APPROVAL_SEAL
    registered = {p for (p,) in session.execute(select(Seal.purpose).where(
        Seal.organ_id == authority.organ.id, Seal.revoked_at.is_(None))).all()}
    for purpose in DELEGATED_SEAL_PREFERENCE:
        if purpose in registered:
            return purpose
    raise AuthorityError(f"{authority.organ.name}没有用于委托实施的已登记印章（{'或'.join(DELEGATED_SEAL_PREFERENCE)}）；请印章管理员登记")


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None
