"""The dossier of a case (办件) of the service: every paper of the matter in the order the volume
files them, and the case's real steps as its process history.

    申请表、申请材料   each material as received (PDF, JPEG, PNG, TIFF) becomes PDF/A pages; the
                      file as received is attached as the original
    受理（补正）通知书  补正材料通知书, 受理通知书, 不予受理通知书, as sealed
    现场核查记录       each site inspection's conclusion, as the inspector entered it
    决定书、许可证      as sealed; after a change (变更, 延续) every version of the licence: the one in
                      force (also when the change was issued under another reference), then the
                      ones it replaced as earlier versions, each titled with its version
    委托（划转）协议    the agreements under which the bureau holds the case's items
    送达回证           as sealed

Every date is the bureau's (Beijing) date: the case tables and the registry hold instants (UTC;
SQLite keeps them without a zone), brought to Beijing time here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from yiyin.archive.dossier import (ArchivalCode, Dossier, DossierEntry, DocumentKind, Evidence, Matter, Original, ProcessEvent,
                                   RegistryRecord, Retention)
from yiyin.archive.materials import material_to_pdfa, record_to_pdfa
from yiyin.config import BUREAU_TIME
from yiyin.errors import FieldProblem, InvalidData, NotFound, WorkflowError
from yiyin.registry import catalog, documents
from yiyin.registry.cases import Case, CaseItem, CaseMaterial, CaseStep, DocumentDraft
from yiyin.registry.models import Document, Item
from yiyin.registry.staff import StaffUser
from yiyin.service import case_papers
from yiyin.service.app import App
from yiyin.service.cases import STEP_TITLES
from yiyin.service.transparency import inclusion_bundles, verifier
from yiyin.service.verify import verify_pdf

if TYPE_CHECKING:
    from yiyin.service.archiving import ArchiveOptions

#: a case can be filed once it is over: delivered, refused at acceptance, or filed before (re-built)
READY = ("已送达", "不予受理", "已归档")
#: the acts a finished case's history must show, in this order (checked by 2-5)
STEPS_DELIVERED = ("接件", "受理", "审批决定", "签发", "送达", "归档")
STEPS_REFUSED = ("接件", "不予受理", "归档")
_FORMS = re.compile(r"(申请书|申请表)$")
_NOTICES = {"notice_correction", "notice_acceptance", "notice_rejection"}


def bureau_time(dt: datetime) -> datetime:
    """A stored time (UTC; naive from SQLite, which keeps no zone) in the bureau's zone."""
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(BUREAU_TIME)


registry_time = bureau_time


def find_case(s: Session, case: str) -> Case | None:
    """A case by its id (digits) or its 办件编号."""
    text = case.strip()
    if text.isdigit():
        return s.get(Case, int(text))
    return s.execute(select(Case).where(Case.ref == text)).scalar_one_or_none()


@dataclass
class _Paper:
    """One entry being assembled, before 件号 are given."""

    kind: DocumentKind
    when: datetime
    responsible: str
    title: str
    pdf: bytes
    doc_number: str = ""
    originals: tuple[Original, ...] = ()
    document: Document | None = None
    material_id: int | None = None
    inspection_step: int | None = None

    @property
    def day(self) -> date:
        return self.when.date()


def _who(names: dict[str, str], username: str) -> str:
    name = names.get(username)
    return f"{name}（{username}）" if name and name != username else username


def _describe(step: CaseStep, items: dict[int, str]) -> str:
    d, item = step.detail or {}, items.get(step.case_item_id or -1, "")
    prefix = f"{item}：" if item else ""
    if step.action == "open":
        return f"{d.get('title', '')}，牵头科室{d.get('lead_section', '')}"
    if step.action == "material":
        return f"{d.get('name', '')}（{d.get('filename', '')}）"
    if step.action == "correction_notice":
        return "缺少：" + "、".join(d.get("missing", []))
    if step.action == "accept":
        return f"办结时限 {d.get('due_date', '')}"
    if step.action in ("refuse",):
        return d.get("reason", "")
    if step.action == "inspection_request":
        return prefix + d.get("note", "")
    if step.action == "inspection":
        return prefix + d.get("conclusion", "") + ("（符合要求）" if d.get("passed") else "（不符合要求）")
    if step.action == "draft":
        from yiyin.templates.catalog import DOCUMENT_TYPES

        kind = DOCUMENT_TYPES.get(d.get("doc_type", ""))
        return prefix + (kind.title if kind else d.get("doc_type", ""))
    if step.action == "decide":
        return prefix + d.get("decision", "") + (f"：{d['reason']}" if d.get("reason") else "")
    if step.action == "deliver":
        return "、".join(v for v in (d.get("method", ""), d.get("recipient", ""), d.get("tracking", "")) if v)
    if step.action == "paper":
        return f"{d.get('title', '')} {d.get('number', '')}"
    if step.action in ("issue", "issue_interrupted"):
        return "、".join(d.get("documents", d.get("issued", [])))
    return prefix.rstrip("：")


class CaseDossierSource:
    """Every paper of one finished case, in order, with its steps as the process history."""

    def dossier(self, app: App, case: str, options: ArchiveOptions) -> Dossier:
        from yiyin.service.archiving import (ARCHIVE_SEAL, archive_settings, editions, holder_with_edition, licence_versions, ocsp_answers,
                                             volume_number)

        with app.db.session() as s:
            c = find_case(s, case)
            if c is None:
                raise NotFound(f"没有办件 {case}")
            if c.status not in READY:
                raise WorkflowError(f"办件 {c.ref} 当前为“{c.status}”，送达或不予受理之后才能立卷归档")
            bureau = catalog.get_organ(s, app.bureau_id)
            case_items = list(s.execute(select(CaseItem).where(CaseItem.case_id == c.id).order_by(CaseItem.position)).scalars())
            items = [s.get(Item, ci.item_code) for ci in case_items]
            item_names = {ci.id: (it.name if it else ci.item_code) for ci, it in zip(case_items, items)}
            materials = list(s.execute(select(CaseMaterial).where(CaseMaterial.case_id == c.id).order_by(CaseMaterial.id)).scalars())
            steps = list(s.execute(select(CaseStep).where(CaseStep.case_id == c.id).order_by(CaseStep.id)).scalars())
            names = dict(s.execute(select(StaffUser.username, StaffUser.display_name)).all())
            own = list(s.execute(select(Document).where(Document.case_ref == c.ref).order_by(Document.issued_at)).scalars())
            # which case item each decision or licence was drafted for
            drafted = dict(s.execute(select(DocumentDraft.document_id, DocumentDraft.case_item_id)
                                     .join(CaseItem, CaseItem.id == DocumentDraft.case_item_id)
                                     .where(CaseItem.case_id == c.id, DocumentDraft.document_id.is_not(None))).all())
            codes = {ci.item_code for ci in case_items}
            # for each item, the agreement the bureau held it under: the newest one covering it
            # that was signed before the case was opened (else the oldest one there is)
            covering = [d for d in s.execute(select(Document).where(Document.doc_type.like("agreement%"))
                                             .order_by(Document.issued_at)).scalars()
                        if codes & {i.get("code") for i in d.public_data.get("items", [])}]
            opened = bureau_time(c.received_at)
            agreements: list[Document] = []
            for code in sorted(codes):
                mine = [d for d in covering if code in {i.get("code") for i in d.public_data.get("items", [])}]
                before = [d for d in mine if registry_time(d.issued_at) <= opened]
                chosen = before[-1] if before else (mine[0] if mine else None)
                if chosen is not None and chosen not in agreements:
                    agreements.append(chosen)
            # every version of the case's licences: those it replaced, and the one in force after a
            # change even when the change was issued under another reference
            versions = licence_versions(s, own)
            current = {d.id: documents.current_status(s, d).status for d in own + versions}
            superseded = {d for d, status in current.items() if status in ("变更", "延续")}
            edition = editions(s, own + versions, current)
            statuses = {d.id: [(e.at, e.status, e.actor, e.reason) for e in documents.history(s, d.id)]
                        for d in own + versions + agreements}
            organs = {d.id: d.organ.name for d in own + versions + agreements}
            seal_pems = {d.seal.cert_pem for d in own + versions + agreements}
            delegated = any(it is not None and it.mode == "delegated" for it in items)
            archive_seal = catalog.active_seal(s, app.bureau_id, ARCHIVE_SEAL, app.now())
            seal_pems.add(archive_seal.cert_pem)
            snapshot = dict(ref=c.ref, title=c.title, applicant=c.applicant, applicant_code=c.applicant_code, status=c.status,
                            received_at=bureau_time(c.received_at), accepted_at=bureau_time(c.accepted_at) if c.accepted_at else None,
                            lead=c.lead_section)

        papers: list[_Paper] = []
        for m in materials:
            data = app.store.path_of(m.storage_key).read_bytes()
            kind = DocumentKind.application_form if _FORMS.search(m.name) else DocumentKind.material
            pdf = material_to_pdfa(data, m.content_type, m.name, app.fonts, where=f"materials[{m.id}] {m.name}")
            received = bureau_time(m.received_at)
            papers.append(_Paper(kind, received, snapshot["applicant"], m.name, pdf, originals=(Original(
                _plain_name(m.filename, m.id), m.content_type, data,
                f"{received:%Y-%m-%d %H:%M} 由{_who(names, m.received_by)}窗口收取"),), material_id=m.id))
        requests = {st.case_item_id: st for st in steps if st.action == "inspection_request"}
        for st in steps:
            if st.action != "inspection":
                continue
            d, asked, at = st.detail or {}, requests.get(st.case_item_id), bureau_time(st.at)
            rows = [("办件编号", snapshot["ref"]), ("申请人", snapshot["applicant"]), ("审批事项", item_names.get(st.case_item_id or -1, ""))]
            if asked is not None:
                rows.append(("勘验事项", f"{(asked.detail or {}).get('note', '')}（{_who(names, asked.actor)}，"
                                          f"{bureau_time(asked.at):%Y-%m-%d %H:%M} 申请）"))
            rows += [("勘验人员", _who(names, st.actor)), ("勘验时间", f"{at:%Y-%m-%d %H:%M}"),
                     ("勘验结论", d.get("conclusion", "")), ("是否符合要求", "符合" if d.get("passed") else "不符合")]
            pdf = record_to_pdfa("现场勘验记录", rows, f"本记录依据一印办件系统中录入的勘验结论生成（办理过程第 {st.id} 步）。", app.fonts)
            papers.append(_Paper(DocumentKind.inspection_record, at, f"{bureau.name}现场勘验科",
                                 f"现场勘验记录（{item_names.get(st.case_item_id or -1, '')}）", pdf, inspection_step=st.id))
        for doc in own + versions + agreements:
            kind = _registry_kind(doc, doc.id in superseded)
            if kind is DocumentKind.delegation_agreement:
                parties = doc.holder.split("、")
                responsible, title = parties[0] + ("等" if len(parties) > 1 else ""), doc.title
            else:
                responsible = organs[doc.id]
                item = item_names.get(drafted.get(doc.id, -1), "")
                title = (f"{doc.title}（{item}）" if kind is DocumentKind.decision and item
                         else doc.title if kind in (DocumentKind.acceptance_notice, DocumentKind.delivery_receipt)
                         else f"{doc.title}（{holder_with_edition(doc, edition)}）")
            papers.append(_Paper(kind, registry_time(doc.issued_at), responsible, title, app.store.get(doc.storage_key),
                                 doc_number=doc.number, document=doc))
        order = list(DocumentKind)
        papers.sort(key=lambda p: (order.index(p.kind), p.when))

        registry_papers = [p for p in papers if p.document is not None]
        bundles = inclusion_bundles(app, [p.document.sha256 for p in registry_papers]) if registry_papers else []
        proofs = {p.document.id: b for p, b in zip(registry_papers, bundles)}  # type: ignore[union-attr]
        entries, seq_of_doc, seq_of_material, seq_of_inspection = [], {}, {}, {}
        for seq, p in enumerate(papers, start=1):
            record = None
            if p.document is not None:
                doc = p.document
                record = RegistryRecord(number=doc.number, sha256=doc.sha256, verification=verify_pdf(app, p.pdf).to_json(),
                                        inclusion=proofs[doc.id].to_json())
                seq_of_doc[doc.id], seq_of_doc[doc.number] = seq, seq
                day = doc.issue_date   # the date the paper carries (the bureau's, set at issuance)
            else:
                day = p.day
            if p.material_id is not None:
                seq_of_material[p.material_id] = seq
            if p.inspection_step is not None:
                seq_of_inspection[p.inspection_step] = seq
            entries.append(DossierEntry(seq=seq, responsible=p.responsible, title=p.title, date=day, kind=p.kind, pdf=p.pdf,
                                        doc_number=p.doc_number, originals=p.originals, registry=record))

        history = self._history(steps, names, item_names, materials, seq_of_doc, seq_of_material, seq_of_inspection, drafted)
        covered = {e.seq for e in history if e.seq is not None}
        for doc in own + versions + agreements:
            events = statuses[doc.id]
            for k, (at, status, actor, reason) in enumerate(events):
                if doc in own and k == 0 and seq_of_doc[doc.id] in covered:
                    continue  # its issuance is already a step of the case
                history.append(ProcessEvent(at=registry_time(at), action={"有效": "签发"}.get(status, status), actor=actor,
                                            description=f"{doc.title} {doc.number}" + (f"：{reason}" if reason else ""),
                                            seq=seq_of_doc[doc.id]))
        now = (options.now or app.now()).astimezone(BUREAU_TIME)
        history.sort(key=lambda e: e.at)
        history.append(ProcessEvent(at=now, action="归档", actor=options.actor, description=f"立卷归档，加盖{ARCHIVE_SEAL}"))

        refused = snapshot["status"] == "不予受理" or any(st.action == "refuse" for st in steps)
        ends = [bureau_time(st.at) for st in steps if st.action in ("deliver", "refuse")]
        closed = (max(ends) if ends else max(p.when for p in papers) if papers else now).date()
        received = (snapshot["accepted_at"] or snapshot["received_at"]).date()
        kinds = {e.kind for e in entries}
        required = {k for k in (DocumentKind.application_form, DocumentKind.material) if k in kinds}
        if not refused:
            required.add(DocumentKind.decision)
            if case_papers.available(app, case_papers.ACCEPTANCE):
                required.add(DocumentKind.acceptance_notice)
            if any(ci.decision == "准予" and it is not None and it.licence_type for ci, it in zip(case_items, items)):
                required.add(DocumentKind.licence)
            if any(st.action == "inspection" for st in steps):
                required.add(DocumentKind.inspection_record)
            if any(st.action == "deliver" for st in steps) and case_papers.available(app, "receipt_service"):
                required.add(DocumentKind.delivery_receipt)
        elif case_papers.available(app, "notice_rejection"):
            required.add(DocumentKind.acceptance_notice)   # the 不予受理通知书
        if delegated:
            required.add(DocumentKind.delegation_agreement)
        settings = archive_settings(app)
        matter = Matter(
            case_id=snapshot["ref"], matter=snapshot["title"], applicant=snapshot["applicant"],
            items=tuple((it.code, it.name) for it in items if it is not None), received=received, closed=closed, organ=bureau.name,
            applicant_code=snapshot["applicant_code"],
            archival_code=ArchivalCode(fonds=settings["fonds"], category=settings["category"], year=closed.year,
                                       retention=options.retention or Retention(settings.get("retention", "D30")),
                                       unit=settings["unit"], volume=options.volume or volume_number(snapshot["ref"])),
            required=frozenset(required), required_steps=STEPS_REFUSED if refused else STEPS_DELIVERED)
        certs = [x509.load_pem_x509_certificate(p.encode()) for p in sorted(seal_pems)]
        evidence = Evidence(trust_anchors=tuple(a.dump() for a in app.trust_roots()), crls=tuple(app.current_crls()),
                            ocsp_responses=tuple(ocsp_answers(app, certs)), log_verifier_key=verifier(app),
                            checkpoint=bundles[-1].checkpoint if bundles else "")
        if not entries:
            raise InvalidData([FieldProblem("case", "papers", f"办件 {snapshot['ref']} 没有任何材料或文书，无从立卷")], "立卷归档")
        return Dossier(matter=matter, entries=tuple(entries), history=tuple(history), evidence=evidence)

    @staticmethod
    def _history(steps: list[CaseStep], names: dict[str, str], item_names: dict[int, str], materials: list[CaseMaterial],
                 seq_of_doc: dict[str, int], seq_of_material: dict[int, int], seq_of_inspection: dict[int, int],
                 drafted: dict[str, int]) -> list[ProcessEvent]:
        """The case's steps as they were recorded, each with its actor and the paper it produced."""
        by_hash: dict[tuple[str, str], list[int]] = {}
        for m in materials:
            by_hash.setdefault((m.name, m.sha256), []).append(m.id)
        out = []
        for st in steps:
            d, at, actor = st.detail or {}, bureau_time(st.at), _who(names, st.actor)
            title = STEP_TITLES.get(st.action, st.action)
            seq: int | None = None
            if st.action == "material":
                ids = by_hash.get((d.get("name", ""), d.get("sha256", "")), [])
                seq = seq_of_material.get(ids.pop(0)) if ids else None
            elif st.action == "paper":
                seq = seq_of_doc.get(d.get("document_id", ""))
            elif st.action == "inspection":
                seq = seq_of_inspection.get(st.id)
            elif st.action == "decide":
                docs = [seq_of_doc[doc] for doc, item in drafted.items() if item == st.case_item_id and doc in seq_of_doc]
                seq = min(docs) if docs else None
            elif st.action == "issue":
                # one act of the lead section issues every document: one line per document issued
                for number in d.get("documents", []):
                    out.append(ProcessEvent(at=at, action=title, actor=actor, description=f"签发 {number}", seq=seq_of_doc.get(number)))
                continue
            out.append(ProcessEvent(at=at, action=title, actor=actor, description=_describe(st, item_names), seq=seq))
        return out


def _registry_kind(doc: Document, superseded: bool) -> DocumentKind:
    from yiyin.templates.catalog import DOCUMENT_TYPES
    from yiyin.templates.doctype import DocumentKind as TemplateKind

    if doc.doc_type == "receipt_service":
        return DocumentKind.delivery_receipt
    if doc.doc_type in _NOTICES:
        return DocumentKind.acceptance_notice
    kinds = {TemplateKind.decision: DocumentKind.decision, TemplateKind.licence: DocumentKind.licence,
             TemplateKind.agreement: DocumentKind.delegation_agreement, TemplateKind.notice: DocumentKind.acceptance_notice}
    doc_type = DOCUMENT_TYPES.get(doc.doc_type)
    kind = kinds.get(doc_type.kind, DocumentKind.material) if doc_type else DocumentKind.material
    return DocumentKind.earlier_licence if kind is DocumentKind.licence and superseded else kind


def _plain_name(filename: str, material_id: int) -> str:
    """The received file name, reduced to a plain name (no folders, not hidden)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].lstrip(".").strip()
    return name or f"material-{material_id}"
