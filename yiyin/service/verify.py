"""Is this file a genuine, unaltered document of this bureau, in the registry and in force?

Each question is answered separately, so that a reader sees *why* a file fails: a broken seal, a
seal by a key the bureau never registered, a document the registry does not know, or a genuine
document that has since been revoked.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from yiyin.registry import catalog, documents
from yiyin.service.app import App
from yiyin.signing.validate import PdfValidation, validate_pdf


@dataclass
class Check:
    id: str
    title: str  # 中文
    ok: bool
    detail: str  # English
    title_en: str = ""
    detail_zh: str = ""


def _check(id: str, ok: bool, title: tuple[str, str], detail: tuple[str, str]) -> Check:
    """A check with its title and detail as (中文, English)."""
    return Check(id, title[0], ok, detail[1], title[1], detail[0])


STATUS_EN = {"有效": "in force", "暂扣": "suspended", "撤销": "revoked", "注销": "cancelled", "失效": "no longer valid",
             "吊销": "revoked as a penalty", "变更": "replaced after a change", "延续": "replaced on renewal", "过期": "expired"}


@dataclass
class VerificationReport:
    file_sha256: str
    checks: list[Check] = field(default_factory=list)
    document: dict[str, Any] | None = None
    signatures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "file_sha256": self.file_sha256,
            "checks": [asdict(c) for c in self.checks],
            "document": self.document,
            "signatures": self.signatures,
        }


def verify_pdf(app: App, data: bytes, on: date | None = None) -> VerificationReport:
    """Raises UnreadableDocument when the bytes are not a readable PDF."""
    report = VerificationReport(file_sha256=hashlib.sha256(data).hexdigest())
    validation: PdfValidation = validate_pdf(data, app.trust_roots(), app.current_crls())
    report.signatures = [sig.to_json() for sig in validation.signatures]
    seals = validation.seals
    sealed = ("已加盖电子印章", "carries an electronic seal")
    if not seals:
        report.checks.append(_check("sealed", False, sealed, ("文件没有电子印章（PDF 签名）。", "the file carries no electronic seal (PDF signature)")))
        return report
    report.checks.append(_check("sealed", True, sealed, (f"共 {len(seals)} 枚印章。", f"{len(seals)} seal(s)")))
    failed = [(x.field_name, f) for x in validation.signatures for f in x.findings if not f.ok]
    report.checks.append(_check(
        "intact", not failed, ("印章有效、文件未被改动", "seals valid, file unaltered"),
        ("；".join(f"{name}：{f.zh.rstrip('。')}" for name, f in failed) or "每枚印章的签名都有效、可信，并覆盖文件。",
         "; ".join(f"{name}: {f.en}" for name, f in failed) or "every seal is cryptographically valid, trusted and covers the document")))

    last = seals[-1]
    with app.db.session() as s:
        unregistered = [x for x in seals if catalog.seal_by_fingerprint(s, x.signer_fingerprint) is None]
        report.checks.append(_check(
            "registered_seal", not unregistered, ("印章已备案", "seal registered"),
            ("；".join(f"{x.field_name}：所用证书不是本局备案的印章（{x.signer_common_name or x.signer_subject}）" for x in unregistered)
             or "每枚印章都已在本局备案。",
             "; ".join(f"{x.field_name}: sealed with a certificate that is not a registered seal ({x.signer_subject})" for x in unregistered)
             or "every seal is registered with this bureau")))

        issued_bytes = data[: last.signed_revision_end] if last.signed_revision_end else data
        doc = documents.by_sha256(s, hashlib.sha256(issued_bytes).hexdigest())
        if doc is None:
            report.checks.append(_check("in_registry", False, ("登记在册", "in the registry"),
                                        ("本局没有签发过内容与此文件一致的文书（登记记录中没有）。",
                                         "no document with these contents was issued by this bureau (not in the registry)")))
            return report
        seal_matches = doc.seal.cert_fingerprint in {x.signer_fingerprint for x in seals}
        # The validation data added at issuance (DSS, archive timestamp) must be as issued too;
        # later revisions may only extend the issued file.
        as_issued = len(data) >= doc.size and hashlib.sha256(data[: doc.size]).hexdigest() == doc.storage_key
        report.checks.append(_check("as_issued", as_issued, ("与签发文件一致", "as issued"),
                                    ("文件与签发时一致，其后可能追加了验证数据。",
                                     "the file is the one issued, possibly with later validation data appended") if as_issued
                                    else ("签发时加入的验证数据被改动或删除。",
                                          "the validation data added at issuance were changed or removed")))
        report.checks.append(_check("in_registry", seal_matches, ("登记在册", "in the registry"),
                                    (f"{doc.issue_date.isoformat()} 签发，编号 {doc.number}。",
                                     f"issued as {doc.number} on {doc.issue_date.isoformat()}") if seal_matches
                                    else ("登记的文书使用的是另一枚印章。", "the registry holds this document under a different seal")))
        status = documents.current_status(s, doc, on)
        reason = status.reason if status.reason and not status.in_force else ""
        report.checks.append(_check("in_force", status.in_force, ("现行有效", "in force"),
                                    (f"{status.status}（{status.code}）" + (f"：{reason}" if reason else ""),
                                     f"{STATUS_EN.get(status.status, status.status)} (status code {status.code})"
                                     + (f": {reason}" if reason else ""))))
        report.document = {
            "id": doc.id, "number": doc.number, "type": doc.doc_type, "title": doc.title,
            "organ": doc.organ.name, "holder": doc.holder, "issue_date": doc.issue_date.isoformat(),
            "valid_from": doc.valid_from.isoformat() if doc.valid_from else None,
            "valid_until": doc.valid_until.isoformat() if doc.valid_until else None,
            "status": status.status, "status_code": status.code, "seal": f"{doc.organ.name}{doc.seal.purpose}",
            "sha256": doc.sha256,
        }
    return report
