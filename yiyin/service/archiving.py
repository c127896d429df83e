"""One set of archives per matter, from the service's side: gather the dossier, seal and export the
package with the bureau's archive seal (档案专用章), and check packages against what the bureau
trusts (its root certificates and its log key).

Where a dossier comes from is behind :class:`DossierSource`. A case of the service (办件, named
by its id or its 办件编号) gives the whole matter: materials, notices, inspection records,
decisions, licences, agreements, the delivery receipt, and its steps as the process history
(:mod:`yiyin.service.case_dossier`). A case reference that names no case of the service falls
back to the registry: the documents that carry it, and the agreements the bureau acted under.
Every package built is recorded (``archive_packages``: case, 档号, path, digest, when, who).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlalchemy import select
from sqlalchemy.orm import Session

from yiyin.archive.checks import CheckReport, check_package
from yiyin.archive.dossier import (ArchivalCode, Dossier, DossierEntry, DocumentKind, Evidence, Matter, ProcessEvent,
                                   RegistryRecord, Retention)
from yiyin.archive.package import BuiltPackage, build_package
from yiyin.config import BUREAU_TIME
from yiyin.errors import ConfigurationError, FieldProblem, InvalidData, NotFound
from yiyin.registry import catalog, documents, licences
from yiyin.registry.models import Document, Seal
from yiyin.service.app import App
from yiyin.service.staff import Principal
from yiyin.service.samples import load_json, samples_dir
from yiyin.service.transparency import InclusionBundle, inclusion_bundles, verifier, verify_bundle
from yiyin.service.verify import verify_pdf
from yiyin.signing.revocation import ocsp_response
from yiyin.templates.catalog import DOCUMENT_TYPES
from yiyin.templates.doctype import DocumentKind as TemplateKind

ARCHIVE_SEAL = "档案专用章"
#: the four properties of DA/T 70-2018, in the order the report shows them
CHECK_GROUPS = (("真实性", "authenticity"), ("完整性", "integrity"), ("可用性", "usability"), ("安全性", "security"))
_KIND = {TemplateKind.decision: DocumentKind.decision, TemplateKind.licence: DocumentKind.licence,
         TemplateKind.agreement: DocumentKind.delegation_agreement, TemplateKind.notice: DocumentKind.acceptance_notice}
_ACTION = {"有效": "签发", "变更": "变更", "延续": "延续", "暂扣": "暂扣", "撤销": "撤销", "注销": "注销", "吊销": "吊销"}


@dataclass(frozen=True)
class ArchiveOptions:
    volume: int | None = None          # 案卷号; by default the number of the case reference
    retention: Retention | None = None
    actor: str = "archivist"           # who files it (机构人员 of the 归档 act)
    now: datetime | None = None        # when it is filed; the clock by default


class DossierSource(Protocol):
    def dossier(self, app: App, case: str, options: ArchiveOptions) -> Dossier: ...


def _kind(doc: Document, superseded: bool) -> DocumentKind:
    doc_type = DOCUMENT_TYPES.get(doc.doc_type)
    if doc.doc_type == "receipt_service":
        return DocumentKind.delivery_receipt
    kind = _KIND.get(doc_type.kind, DocumentKind.material) if doc_type else DocumentKind.material
    return DocumentKind.earlier_licence if kind is DocumentKind.licence and superseded else kind


def licence_versions(s: Session, docs: list[Document]) -> list[Document]:
    """The other versions of the licences among ``docs``, oldest first: the ones they replaced and
    the ones that replaced them, whatever case reference these were issued under (a change is often
    received as an application of its own)."""
    out: list[Document] = []
    for doc in docs:
        for rec in licences.versions(s, doc.id):
            other = s.get(Document, rec.document_id)
            if other is not None and other not in docs and other not in out:
                out.append(other)
    return out


def editions(s: Session, docs: list[Document], current: Mapping[str, str]) -> dict[str, str]:
    """For each licence version among ``docs`` of a licence that has several: which one it is, so that
    the 卷内文件目录 tells them apart (第3版; 第1版，已变更 for a replaced one). ``current``: each
    document's current status, as the caller has read it."""
    out = {}
    for doc in docs:
        rec = licences.by_document(s, doc.id)
        if rec is None:
            continue
        status = current[doc.id]
        replaced = status in ("变更", "延续")
        if rec.version > 1 or replaced:
            out[doc.id] = f"第{rec.version}版" + (f"，已{status}" if replaced else "")
    return out


def archive_settings(app: App) -> dict[str, Any]:
    organs = load_json(samples_dir() / "organs.json")["organs"]
    spec = next((o for o in organs if o["id"] == app.bureau_id), {})
    settings = spec.get("archive")
    if not settings:
        raise ConfigurationError(f"organs.json 中机关 {app.bureau_id} 没有 \"archive\" 设置（fonds 全宗号、category 门类代码、unit 机构（问题）代码、retention 保管期限）")
    return settings


def ocsp_answers(app: App, certs: list[x509.Certificate]) -> list[bytes]:
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
                raise NotFound(f"登记簿中没有办件编号为 {case!r} 的文书")
            own += licence_versions(s, own)
            codes = {d.item_code for d in own if not d.doc_type.startswith("agreement")}
            items = [catalog.get_item(s, c) for c in sorted(codes)]
            agreements = [d for d in s.execute(select(Document).where(Document.doc_type.like("agreement%"))).scalars()
                          if d not in own and codes & {i.get("code") for i in d.public_data.get("items", [])}]
            current = {d.id: documents.current_status(s, d).status for d in own + agreements}
            edition = editions(s, own, current)
            rows = []
            for doc in own + agreements:
                history = documents.history(s, doc.id)
                rows.append((doc, _kind(doc, current[doc.id] in ("变更", "延续")), doc.organ.name, doc.seal.cert_pem,
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
            title = doc.title if kind is DocumentKind.delegation_agreement else f"{doc.title}（{holder_with_edition(doc, edition)}）"
            entries.append(DossierEntry(
                seq=seq, responsible=responsible, title=title, date=doc.issue_date, kind=kind, pdf=data, doc_number=doc.number,
                registry=RegistryRecord(number=doc.number, sha256=doc.sha256, verification=verify_pdf(app, data).to_json(),
                                        inclusion=bundle.to_json())))
            for at, status, actor, reason in events:
                history.append(ProcessEvent(at=catalog.aware(at).astimezone(BUREAU_TIME), action=_ACTION.get(status, status), actor=actor,
                                            description=f"{doc.title} {doc.number}" + (f"：{reason}" if reason else ""), seq=seq))
        now = (options.now or app.now()).astimezone(BUREAU_TIME)
        history.sort(key=lambda e: e.at)
        history.append(ProcessEvent(at=now, action="归档", actor=options.actor, description=f"立卷归档，加盖{ARCHIVE_SEAL}"))
        case_docs = [doc for doc, kind, *_ in rows if kind is not DocumentKind.delegation_agreement]
        application = [d.public_data.get("application_date") for d in case_docs if d.public_data.get("application_date")]
        received = date.fromisoformat(min(application)) if application else min(d.issue_date for d in case_docs)
        closed = max(d.issue_date for d in case_docs)
        settings = archive_settings(app)
        number = options.volume or volume_number(case)
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
            ocsp_responses=tuple(ocsp_answers(app, certs)), log_verifier_key=verifier(app),
            checkpoint=bundles[-1].checkpoint if bundles else "")
        return Dossier(matter=matter, entries=tuple(entries), history=tuple(history), evidence=evidence)


def holder_with_edition(doc: Document, edition: dict[str, str]) -> str:
    """The holder, as a licence's title in the catalogue names it, with its version when it has several."""
    return doc.holder + (f"，{edition[doc.id]}" if doc.id in edition else "")


def volume_number(case: str) -> int:
    digits = re.findall(r"\d+", case)
    if not digits or not 1 <= int(digits[-1]) <= 9999:
        raise InvalidData([FieldProblem("volume", "required", f"无法从 {case!r} 中取得案卷号；请用 --volume 指定")], "立卷归档")
    return int(digits[-1])


def source_for(app: App, case: str) -> DossierSource:
    """A case of the service (by id or 办件编号) if there is one, else the registry's documents."""
    from yiyin.service.case_dossier import CaseDossierSource, find_case

    with app.db.session() as s:
        found = find_case(s, case) is not None
    return CaseDossierSource() if found else RegistryCaseSource()


def build(app: App, case: str, out: Path, options: ArchiveOptions = ArchiveOptions(),
          source: DossierSource | None = None) -> BuiltPackage:
    """Assemble, seal and write the package, and record it (case, 档号, path, digest, when, who)."""
    from yiyin.registry.archives import ArchivePackage
    from yiyin.service.case_dossier import find_case

    dossier = (source or source_for(app, case)).dossier(app, case, options)
    with app.db.session() as s:
        seal = catalog.active_seal(s, app.bureau_id, ARCHIVE_SEAL, app.now())
        bureau = catalog.get_organ(s, app.bureau_id)
    sealer = app.sealer(seal, bureau.name)
    built = build_package(dossier, out, fonts=app.fonts, sealer=sealer, revocation=app.revocation_material(),
                          location=f"{bureau.province}{bureau.city}{bureau.county}", signer_name=f"{bureau.name}{ARCHIVE_SEAL}",
                          created=options.now)
    digest = hashlib.sha256((out / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
    with app.db.transaction() as s:
        found = find_case(s, dossier.matter.case_id)
        s.add(ArchivePackage(case_id=found.id if found else None, case_ref=dossier.matter.case_id, archival_code=built.archival_code,
                             path=str(out.resolve()), digest=digest, volume_sha256=built.volume_sha256, documents=built.documents,
                             pages=built.pages, bytes=built.bytes, built_at=app.now(), built_by=options.actor[:64]))
    return built


@dataclass(frozen=True)
class PackageRow:
    id: int
    case_id: int | None
    case_ref: str
    archival_code: str
    path: str
    digest: str
    documents: int
    pages: int
    bytes: int
    built_at: datetime
    built_by: str

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "built_at": self.built_at.isoformat()}


def packages(app: App, case_id: int | None = None, limit: int = 200) -> list[PackageRow]:
    """Packages built, newest first (of one case, when given)."""
    from yiyin.registry.archives import ArchivePackage

    with app.db.session() as s:
        q = select(ArchivePackage).order_by(ArchivePackage.id.desc()).limit(limit)
        if case_id is not None:
            q = q.where(ArchivePackage.case_id == case_id)
        return [_row(p) for p in s.execute(q).scalars()]


def _row(p: Any) -> PackageRow:
    return PackageRow(p.id, p.case_id, p.case_ref, p.archival_code, p.path, p.digest, p.documents, p.pages, p.bytes,
                      catalog.aware(p.built_at).astimezone(BUREAU_TIME), p.built_by)


def package(app: App, package_id: int) -> PackageRow:
    from yiyin.registry.archives import ArchivePackage

    with app.db.session() as s:
        p = s.get(ArchivePackage, package_id)
        if p is None:
            raise NotFound(f"没有编号为 {package_id} 的档案包")
        return _row(p)


def package_path(app: App, package_id: int) -> Path:
    """Where a recorded package is; it must still be there and still be the one recorded."""
    row = package(app, package_id)
    path, digest = Path(row.path), row.digest
    tag = path / "tagmanifest-sha256.txt"
    if not tag.is_file():
        raise NotFound(f"档案包 {package_id} 已不在 {path}")
    if hashlib.sha256(tag.read_bytes()).hexdigest() != digest:
        raise InvalidData([FieldProblem("package", "unchanged", f"{path} 的清单与立卷时登记的摘要不一致：档案包已被改动或替换")], "档案包")
    return path


def log_verifier(bundle: dict[str, Any], key: str, sealed: str) -> tuple[bool, str]:
    """An inclusion proof checked with nothing but the bundle and the log's key (no registry)."""
    try:
        b = InclusionBundle(int(bundle["leaf_index"]), str(bundle["leaf"]), list(bundle["proof"]), str(bundle["checkpoint"]))
    except (KeyError, TypeError, ValueError) as exc:
        return False, f"包含证明的格式不正确（缺少或无法读取 leaf_index、leaf、proof、checkpoint）：{exc}"
    try:
        return verify_bundle(b, key, sealed)
    except (ValueError, TypeError) as exc:
        return False, f"包含证明的格式不正确：{exc}"


def check(app: App, package: Path) -> CheckReport:
    """The four checks, with the bureau's trust anchors and log key pinned and the registry consulted."""
    anchors = {a.sha256.hex() for a in app.trust_roots()}

    def in_registry(sealed: str) -> bool:
        with app.db.session() as s:
            return documents.by_sha256(s, sealed) is not None

    return check_package(package, log_verifier=log_verifier, expected_anchors=anchors, expected_log_key=verifier(app),
                         registry_lookup=in_registry)


def check_offline(package: Path, on: date) -> CheckReport:
    """The four checks as they will come out on ``on`` (the end of that day, Beijing time), with
    nothing but what the package carries: no registry, no data directory, no network."""
    at = datetime.combine(on, time(23, 59, 59), BUREAU_TIME)
    return check_package(package, log_verifier=log_verifier, at=at)


def report_json(report: CheckReport) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2)


# -- the archivist's desk (staff pages and API) -----------------------------------------------


@dataclass(frozen=True)
class ReadyCase:
    id: int
    ref: str
    title: str
    applicant: str
    status: str
    packages: list[PackageRow]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "ref": self.ref, "title": self.title, "applicant": self.applicant, "status": self.status,
                "packages": [p.to_json() for p in self.packages]}


def ready_cases(app: App, limit: int = 200) -> list[ReadyCase]:
    """Finished cases (delivered, refused, or already filed), newest first, with their packages."""
    from yiyin.registry.cases import Case
    from yiyin.service.case_dossier import READY

    with app.db.session() as s:
        rows = [(c.id, c.ref, c.title, c.applicant, c.status) for c in s.execute(
            select(Case).where(Case.status.in_(READY)).order_by(Case.id.desc()).limit(limit)).scalars()]
    built: dict[int, list[PackageRow]] = {}
    for p in packages(app, limit=1000):
        if p.case_id is not None:
            built.setdefault(p.case_id, []).append(p)
    return [ReadyCase(*r, packages=built.get(r[0], [])) for r in rows]


def build_for_case(app: App, who: Principal, case_id: int) -> PackageRow:
    """The archivist files a finished case: the package is written under the data directory's
    archives/ folder and recorded, and a delivered case becomes 已归档."""
    from yiyin.registry.cases import Case
    from yiyin.service import audit, cases

    with audit.attempt(app, who.username, "archive.build", str(case_id)):
        who.require("archivist")
        with app.db.session() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise NotFound(f"没有编号为 {case_id} 的办件")
            status = case.status
        stamp = app.now().astimezone(BUREAU_TIME).strftime("%Y%m%d-%H%M%S")
        out = app.settings.home / "archives" / f"case-{case_id}-{stamp}"
        build(app, str(case_id), out, ArchiveOptions(actor=f"{who.display_name}（{who.username}）"))
    row = packages(app, case_id, limit=1)[0]
    with app.db.transaction() as s:
        audit.record(s, who.username, "archive.build", row.case_ref, {"archival_code": row.archival_code, "digest": row.digest,
                                                                        "path": row.path})
    if status in ("已送达", "不予受理"):
        cases.archive(app, who, case_id)
    return row


def check_recorded(app: App, who: Principal, package_id: int) -> tuple[PackageRow, CheckReport]:
    from yiyin.service import audit

    with audit.attempt(app, who.username, "archive.check", str(package_id)):
        who.require("archivist", "auditor")
        path = package_path(app, package_id)
    return package(app, package_id), check(app, path)


def zipped(app: App, who: Principal, package_id: int) -> tuple[str, Path]:
    """The package as one ZIP file (a temporary file the caller removes), and its download name."""
    import os
    import tempfile
    import zipfile

    from yiyin.service import audit

    with audit.attempt(app, who.username, "archive.download", str(package_id)):
        who.require("archivist", "auditor")
        path = package_path(app, package_id)
    row = package(app, package_id)
    handle, name = tempfile.mkstemp(prefix="yiyin-package-", suffix=".zip")
    os.close(handle)
    with zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                z.write(file, f"{row.archival_code}/{file.relative_to(path).as_posix()}")
    return f"{row.archival_code}.zip", Path(name)
