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
    detail: str


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
    if not seals:
        report.checks.append(Check("sealed", "已加盖电子印章", False, "the file carries no electronic seal (PDF signature)"))
        return report
    report.checks.append(Check("sealed", "已加盖电子印章", True, f"{len(seals)} seal(s)"))
    problems = [f"{x.field_name}: {p}" for x in validation.signatures for p in x.problems]
    report.checks.append(Check("intact", "印章有效、文件未被改动", not problems,
                               "; ".join(problems) or "every seal is cryptographically valid, trusted and covers the document"))

    last = seals[-1]
    with app.db.session() as s:
        unregistered = [x for x in seals if catalog.seal_by_fingerprint(s, x.signer_fingerprint) is None]
        report.checks.append(Check(
            "registered_seal", "印章已备案", not unregistered,
            "; ".join(f"{x.field_name}: sealed with a certificate that is not a registered seal ({x.signer_subject})" for x in unregistered)
            or "every seal is registered with this bureau"))

        issued_bytes = data[: last.signed_revision_end] if last.signed_revision_end else data
        doc = documents.by_sha256(s, hashlib.sha256(issued_bytes).hexdigest())
        if doc is None:
            report.checks.append(Check("in_registry", "登记在册", False,
                                       "no document with these contents was issued by this bureau (not in the registry)"))
            return report
        seal_matches = doc.seal.cert_fingerprint in {x.signer_fingerprint for x in seals}
        # The validation data added at issuance (DSS, archive timestamp) must be as issued too;
        # later revisions may only extend the issued file.
        as_issued = len(data) >= doc.size and hashlib.sha256(data[: doc.size]).hexdigest() == doc.storage_key
        report.checks.append(Check("as_issued", "与签发文件一致", as_issued,
                                   "the file is the one issued, possibly with later validation data appended" if as_issued
                                   else "the validation data added at issuance were changed or removed"))
        report.checks.append(Check("in_registry", "登记在册", seal_matches,
                                   f"issued as {doc.number} on {doc.issue_date.isoformat()}" if seal_matches
                                   else "the registry holds this document under a different seal"))
        status = documents.current_status(s, doc, on)
        report.checks.append(Check("in_force", "现行有效", status.in_force,
                                   f"{status.status}（{status.code}）" + (f": {status.reason}" if status.reason and not status.in_force else "")))
        report.document = {
            "id": doc.id, "number": doc.number, "type": doc.doc_type, "title": doc.title,
            "organ": doc.organ.name, "holder": doc.holder, "issue_date": doc.issue_date.isoformat(),
            "valid_from": doc.valid_from.isoformat() if doc.valid_from else None,
            "valid_until": doc.valid_until.isoformat() if doc.valid_until else None,
            "status": status.status, "status_code": status.code, "seal": f"{doc.organ.name}{doc.seal.purpose}",
            "sha256": doc.sha256,
        }
    return report
