"""One set of archives per matter, from the service's side: gather the dossier, seal and export the
package with the bureau's archive seal (档案专用章), and check packages against what the bureau
trusts (its root certificates and its log key).

Where a dossier comes from is behind :class:`DossierSource`. Today it is the registry: the
documents that carry the case reference (办件编号), and the agreements under which the bureau
holds their items. Cases with intake materials, notices and delivery receipts plug in as another
source.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlalchemy import select

from yiyin.archive.checks import CheckReport, check_package
from yiyin.archive.dossier import (ArchivalCode, Dossier, DossierEntry, DocumentKind, Evidence, Matter, ProcessEvent,
                                   RegistryRecord, Retention)
from yiyin.archive.package import BuiltPackage, build_package
from yiyin.errors import ConfigurationError, FieldProblem, InvalidData, NotFound
from yiyin.registry import catalog, documents
from yiyin.registry.models import Document, Seal
from yiyin.service.app import App
from yiyin.service.samples import load_json, samples_dir
from yiyin.service.transparency import InclusionBundle, inclusion_bundles, verifier, verify_bundle
from yiyin.service.verify import verify_pdf
from yiyin.signing.revocation import ocsp_response
from yiyin.templates.catalog import DOCUMENT_TYPES
from yiyin.templates.doctype import DocumentKind as TemplateKind

ARCHIVE_SEAL = "档案专用章"
_KIND = {TemplateKind.decision: DocumentKind.decision, TemplateKind.licence: DocumentKind.licence,
         TemplateKind.agreement: DocumentKind.delegation_agreement, TemplateKind.notice: DocumentKind.acceptance_notice}
_ACTION = {"有效": "签发", "变更": "变更", "延续": "延续", "暂扣": "暂扣", "撤销": "撤销", "注销": "注销", "吊销": "吊销"}


@dataclass(frozen=True)
class ArchiveOptions:
    volume: int | None = None          # 案卷号; by default the number of the case reference
    retention: Retention | None = None
    actor: str = "archivist"


class DossierSource(Protocol):
    def dossier(self, app: App, case: str, options: ArchiveOptions) -> Dossier: ...


def _kind(doc: Document, superseded: bool) -> DocumentKind:
    doc_type = DOCUMENT_TYPES.get(doc.doc_type)
    if doc.doc_type == "receipt_service":
        return DocumentKind.delivery_receipt
    kind = _KIND.get(doc_type.kind, DocumentKind.material) if doc_type else DocumentKind.material
    return DocumentKind.earlier_licence if kind is DocumentKind.licence and superseded else kind


def _archive_settings(app: App) -> dict[str, Any]:
    organs = load_json(samples_dir() / "organs.json")["organs"]
    spec = next((o for o in organs if o["id"] == app.bureau_id), {})
    settings = spec.get("archive")
    if not settings:
        raise ConfigurationError(f"organ {app.bureau_id} has no \"archive\" settings (fonds, category, unit, retention) in organs.json")
    return settings


def _ocsp_answers(app: App, certs: list[x509.Certificate]) -> list[bytes]:
    """OCSP responses of the development CA's responder for each seal certificate, made now."""
    with app.db.session() as s:
        pems = s.execute(select(Seal.cert_pem)).scalars().all()
    known = {c.serial_number: c for c in (x509.load_pem_x509_certificate(p.encode()) for p in pems)}
    revoked = dict(app.revoked_serials())
    out = []
    for cert in certs:
        request = ocsp.OCSPRequestBuilder().add_certificate(cert, app.pki.ca.cert, hashes.SHA256()).build()
        out.append(ocsp_response(request.public_bytes(serialization.Encoding.DER), issuer=app.pki.ca.cert,
                                 responder_key=app.pki.ocsp_key, responder_cert=app.pki.ocsp_cert, known=known, revoked=revoked))
    return out


class RegistryCaseSource:
    """The registry's documents of one case reference, plus the agreements the bureau acted under."""

    def dossier(self, app: App, case: str, options: ArchiveOptions) -> Dossier:
        with app.db.session() as s:
            own = list(s.execute(select(Document).where(Document.case_ref == case).order_by(Document.issued_at)).scalars())
            if not own:
                raise NotFound(f"no document in the registry carries the case reference {case!r}")
            codes = {d.item_code for d in own if not d.doc_type.startswith("agreement")}
            items = [catalog.get_item(s, c) for c in sorted(codes)]
            agreements = [d for d in s.execute(select(Document).where(Document.doc_type.like("agreement%"))).scalars()
                          if d not in own and codes & {i.get("code") for i in d.public_data.get("items", [])}]
            rows = []
            for doc in own + agreements:
                status = documents.current_status(s, doc)
                history = documents.history(s, doc.id)
                rows.append((doc, _kind(doc, status.status in ("变更", "延续")), doc.organ.name, doc.seal.cert_pem,
                             [(e.at, e.status, e.actor, e.reason) for e in history]))
            delegated = any(i.mode == "delegated" for i in items)
            produces_licence = any(i.licence_type for i in items)
        order = list(DocumentKind)
        rows.sort(key=lambda r: (order.index(r[1]), r[0].issue_date, r[0].issued_at))
        datas = [app.store.get(doc.storage_key) for doc, *_ in rows]
        bundles: list[InclusionBundle] = inclusion_bundles(app, [doc.sha256 for doc, *_ in rows])
        entries, history = [], []
        for seq, ((doc, kind, organ, _, events), data, bundle) in enumerate(zip(rows, datas, bundles), start=1):
            parties = doc.holder.split("、")
            # several organs: the first and 等 (DA/T 18), as the catalogue column holds one name
            responsible = (parties[0] + ("等" if len(parties) > 1 else "")) if kind is DocumentKind.delegation_agreement else organ
            title = doc.title if kind is DocumentKind.delegation_agreement else f"{doc.title}（{doc.holder}）"
            entries.append(DossierEntry(
                seq=seq, responsible=responsible, title=title, date=doc.issue_date, kind=kind, pdf=data, doc_number=doc.number,
                registry=RegistryRecord(number=doc.number, sha256=doc.sha256, verification=verify_pdf(app, data).to_json(),
                                        inclusion=bundle.to_json())))
            for at, status, actor, reason in events:
                history.append(ProcessEvent(at=catalog.aware(at), action=_ACTION.get(status, status), actor=actor,
                                            description=f"{doc.title} {doc.number}" + (f"：{reason}" if reason else ""), seq=seq))
        now = app.now()
        history.sort(key=lambda e: e.at)
        history.append(ProcessEvent(at=now, action="归档", actor=options.actor, description=f"立卷归档，加盖{ARCHIVE_SEAL}"))
        case_docs = [doc for doc, kind, *_ in rows if kind is not DocumentKind.delegation_agreement]
        application = [d.public_data.get("application_date") for d in case_docs if d.public_data.get("application_date")]
        received = date.fromisoformat(min(application)) if application else min(d.issue_date for d in case_docs)
        closed = max(d.issue_date for d in case_docs)
        settings = _archive_settings(app)
        number = options.volume or _volume_number(case)
        sample = next((a for a in (samples_dir() / "applications").glob("*.json") if load_json(a).get("case_ref") == case), None)
        matter_name = load_json(sample)["matter"] if sample else "、".join(i.name for i in items)
        required = {DocumentKind.decision, DocumentKind.delegation_agreement}
        if produces_licence:
            required.add(DocumentKind.licence)
        holder = next((d.holder for d in case_docs), "")
        applicant_code = next((d.public_data.get("uscc") or d.public_data.get("applicant_code") for d in case_docs
                               if d.public_data.get("uscc") or d.public_data.get("applicant_code")), "")
        seal_certs = {pem for *_, pem, _ in rows}
        certs = [x509.load_pem_x509_certificate(p.encode()) for p in sorted(seal_certs)]
        with app.db.session() as s:
            bureau = catalog.get_organ(s, app.bureau_id)
            archive_seal = catalog.active_seal(s, app.bureau_id, ARCHIVE_SEAL, now)
            certs.append(x509.load_pem_x509_certificate(archive_seal.cert_pem.encode()))
        matter = Matter(
            case_id=case, matter=matter_name, applicant=holder, items=tuple((i.code, i.name) for i in items),
            received=received, closed=closed, organ=bureau.name, applicant_code=str(applicant_code or ""),
            archival_code=ArchivalCode(fonds=settings["fonds"], category=settings["category"], year=closed.year,
                                       retention=options.retention or Retention(settings.get("retention", "D30")),
                                       unit=settings["unit"], volume=number),
            required=frozenset(required) | (frozenset({DocumentKind.delegation_agreement}) if delegated else frozenset()))
        evidence = Evidence(
            trust_anchors=tuple(a.dump() for a in app.trust_roots()), crls=tuple(app.current_crls()),
            ocsp_responses=tuple(_ocsp_answers(app, certs)), log_verifier_key=verifier(app),
            checkpoint=bundles[-1].checkpoint if bundles else "")
        return Dossier(matter=matter, entries=tuple(entries), history=tuple(history), evidence=evidence)


def _volume_number(case: str) -> int:
    digits = re.findall(r"\d+", case)
    if not digits or not 1 <= int(digits[-1]) <= 9999:
        raise InvalidData([FieldProblem("volume", "required", f"cannot take a 案卷号 from {case!r}; give one with --volume")])
    return int(digits[-1])


def build(app: App, case: str, out: Path, options: ArchiveOptions = ArchiveOptions(),
          source: DossierSource | None = None) -> BuiltPackage:
    dossier = (source or RegistryCaseSource()).dossier(app, case, options)
    with app.db.session() as s:
        seal = catalog.active_seal(s, app.bureau_id, ARCHIVE_SEAL, app.now())
        bureau = catalog.get_organ(s, app.bureau_id)
    sealer = app.sealer(seal, bureau.name)
    return build_package(dossier, out, fonts=app.fonts, sealer=sealer, revocation=app.revocation_material(),
                         location=f"{bureau.province}{bureau.city}{bureau.county}", signer_name=f"{bureau.name}{ARCHIVE_SEAL}")


def check(app: App, package: Path) -> CheckReport:
    """The four checks, with the bureau's trust anchors and log key pinned and the registry consulted."""
    anchors = {a.sha256.hex() for a in app.trust_roots()}

    def log_verifier(bundle: dict[str, Any], key: str, sealed: str) -> tuple[bool, str]:
        try:
            b = InclusionBundle(int(bundle["leaf_index"]), str(bundle["leaf"]), list(bundle["proof"]), str(bundle["checkpoint"]))
        except (KeyError, TypeError, ValueError) as exc:
            return False, f"malformed proof bundle: {exc}"
        try:
            return verify_bundle(b, key, sealed)
        except (ValueError, TypeError) as exc:
            return False, f"malformed proof: {exc}"

    def in_registry(sealed: str) -> bool:
        with app.db.session() as s:
            return documents.by_sha256(s, sealed) is not None

    return check_package(package, log_verifier=log_verifier, expected_anchors=anchors, expected_log_key=verifier(app),
                         registry_lookup=in_registry)


def report_json(report: CheckReport) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2)
