"""Validation of sealed PDFs: is each seal cryptographically sound, trusted at the time it was
made, and is nothing that a reader sees changed after it?

Policy, deliberately narrow:
- after the last seal only validation data may follow (DSS, document timestamps);
- between the seals of a co-sealed agreement only further seals may follow;
- a seal with a trusted signature timestamp is judged at that time, so a seal revoked later
  still proves the documents sealed before; without one it is judged now;
- a timestamp is worth something only from a trusted time-stamping authority.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from asn1crypto import cms, core, tsp
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from yiyin.errors import UnreadableDocument
from yiyin.signing.keystore import cert_fingerprint


@dataclass
class SignatureReport:
    """One signature or document timestamp, with the answers an auditor asks for."""

    field_name: str
    kind: str = "seal"  # seal | document_timestamp
    signer_subject: str = ""
    signer_organization: str = ""
    signer_common_name: str = ""
    signer_fingerprint: str = ""
    claimed_time: datetime | None = None     # what the signer says (/M, not proven)
    timestamp_time: datetime | None = None   # what a TSA proves
    timestamp_trusted: bool = False
    timestamp_authority: str = ""
    chain: list[str] = field(default_factory=list)  # signer first, trust anchor last
    revocation: str = "unknown"              # good | revoked | unknown, at the time judged
    judged_at: datetime | None = None
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    coverage: str = "unclear"
    modification_level: str = "unknown"
    modifications_allowed: bool = False
    locked: bool = False                     # no changes but validation data after this seal
    signed_revision: int = 0
    signed_revision_end: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("claimed_time", "timestamp_time", "judged_at"):
            out[k] = out[k].isoformat() if out[k] else None
        out["ok"] = self.ok
        return out


@dataclass
class PdfValidation:
    size: int
    signatures: list[SignatureReport]

    @property
    def seals(self) -> list[SignatureReport]:
        return [s for s in self.signatures if s.kind == "seal"]

    @property
    def ok(self) -> bool:
        return bool(self.seals) and all(s.ok for s in self.signatures)


def _check(report: SignatureReport, ok: bool, problem: str) -> None:
    if not ok:
        report.problems.append(problem)


def _proposed_time(sig: EmbeddedPdfSignature) -> datetime | None:
    """genTime of the signature timestamp token, before it is validated (pyHanko validates it)."""
    attrs = sig.signer_info["unsigned_attrs"]
    if isinstance(attrs, core.Void) or not len(attrs):  # not .native: that would decode every token in full
        return None
    for attr in attrs:
        if attr["type"].native == "signature_time_stamp_token":
            token: cms.ContentInfo = attr["values"][0]
            info = token["content"]["encap_content_info"]["content"].parsed
            if isinstance(info, tsp.TSTInfo):
                return info["gen_time"].native
    return None


def _container_problems(sig: EmbeddedPdfSignature, path, trust_roots: list[asn1_x509.Certificate]) -> list[str]:  # type: ignore[no-untyped-def]
    """Bytes of the signature container that no signature covers must still be exactly as made:
    zero padding after the DER, and no certificate that is neither in the validated chain nor one
    of our trust anchors (an altered copy of a root would otherwise go unnoticed)."""
    problems = []
    raw = bytes(sig.pkcs7_content)
    der_len = len(cms.ContentInfo.load(raw).dump())
    if raw[der_len:].strip(b"\x00"):
        problems.append("the signature container was altered after the signature (padding is not zero)")
    known = {c.sha256 for c in trust_roots}
    if path is not None:
        known |= {c.sha256 for c in path.iter_certs(include_root=True)}
    for choice in sig.signed_data["certificates"] or []:
        if choice.name == "certificate" and choice.chosen.sha256 not in known:
            problems.append(f"the signature carries a certificate outside its chain: {choice.chosen.subject.human_friendly}")
    return problems


def _names(cert: asn1_x509.Certificate) -> tuple[str, str, str]:
    native = cert.subject.native
    return cert.subject.human_friendly, str(native.get("organization_name", "")), str(native.get("common_name", ""))


def _collect(reader: PdfFileReader) -> tuple[list[tuple[SignatureReport, EmbeddedPdfSignature]], list[SignatureReport]]:
    embedded, damaged = [], []
    for fq_name, sig_obj, sig_field in enumerate_sig_fields(reader, filled_status=None):
        report = SignatureReport(field_name=str(fq_name or ""))  # a plain str: pyHanko's keeps the whole PDF alive
        if sig_obj is None:
            report.problems.append("an unsigned signature field was added to the document")
            damaged.append(report)
            continue
        try:
            # parses the CMS container: a damaged one is a broken seal, reported, not an unreadable file
            embedded.append((report, EmbeddedPdfSignature(reader, sig_field, fq_name)))
        except Exception as exc:
            report.problems.append(f"the seal's signature data is damaged: {type(exc).__name__}: {exc}")
            damaged.append(report)
    embedded.sort(key=lambda pair: pair[1].signed_revision)
    return embedded, damaged


def validate_pdf(data: bytes, trust_roots: list[asn1_x509.Certificate], crls: list[bytes] | None = None, *,
                 ocsps: list[bytes] | None = None, at: datetime | None = None) -> PdfValidation:
    """Validate every signature in ``data`` against ``trust_roots`` only; no network access.

    ``crls`` (and ``ocsps``) are revocation data of the trust anchors' CAs; revocation data embedded
    in the document (B-LT) are used as well.

    ``at`` judges the document as a verifier will on that date, long after every certificate has
    expired, with nothing but what it is given: each timestamp is judged at the time it states
    (its authority's certificate valid and not revoked then), each seal at the time its timestamp
    proves, and a seal that no timestamp proves at ``at`` itself. Revocation data are then required
    for every certificate, not merely used when present.
    """
    if data.lstrip()[:5] != b"%PDF-":
        raise UnreadableDocument("the file is not a PDF (no %PDF- header)")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded, damaged = _collect(reader)
        revisions = reader.xrefs.total_revisions
    except (PdfReadError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise UnreadableDocument(f"the PDF cannot be read: {exc}") from exc
    crl_objs = [asn1_crl.CertificateList.load(c) for c in (crls or [])]
    ocsp_objs = [asn1_ocsp.OCSPResponse.load(o) for o in (ocsps or [])]

    def context(moment: datetime | None) -> ValidationContext:
        # A seal is judged at the time its timestamp proves, with revocation data issued later
        # (retroactive_revinfo): a CRL from today still says whether the certificate had been
        # revoked by then, which is what matters for a licence verified years after sealing.
        return ValidationContext(trust_roots=trust_roots, allow_fetching=False,
                                 revocation_mode="hard-fail" if at is not None else "soft-fail",
                                 crls=crl_objs, ocsps=ocsp_objs, moment=moment, retroactive_revinfo=True)

    seal_revisions = [sig.signed_revision for _, sig in embedded if sig.sig_object_type == "/Sig"]
    for report, sig in embedded:
        try:
            _validate_one(report, sig, data, revisions, seal_revisions, context, trust_roots, at)
        except Exception as exc:  # a malformed structure inside a seal is a broken seal, not a crash
            report.problems.append(f"the signature cannot be processed: {type(exc).__name__}: {exc}")
    return PdfValidation(size=len(data), signatures=[r for r, _ in embedded] + damaged)


def _token_time(sig: EmbeddedPdfSignature) -> datetime | None:
    """genTime a document timestamp states, before it is validated."""
    info = sig.signed_data["encap_content_info"]["content"].parsed
    return info["gen_time"].native if isinstance(info, tsp.TSTInfo) else None


def _validate_one(report: SignatureReport, sig: EmbeddedPdfSignature, data: bytes, revisions: int,
                  seal_revisions: list[int], context, trust_roots: list[asn1_x509.Certificate],  # type: ignore[no-untyped-def]
                  at: datetime | None = None) -> None:
    cert = sig.signer_cert
    report.signer_subject, report.signer_organization, report.signer_common_name = _names(cert)
    report.signer_fingerprint = cert_fingerprint(cert.dump())
    report.signed_revision = sig.signed_revision
    br = list(sig.byte_range)
    report.signed_revision_end = int(br[2]) + int(br[3]) if len(br) == 4 else 0
    later_revisions = revisions - 1 - sig.signed_revision

    if sig.sig_object_type == "/DocTimeStamp":
        report.kind = "document_timestamp"
        stated = _token_time(sig) if at is not None else None
        status = validate_pdf_timestamp(sig, context(stated))
        if stated is not None and stated > at:
            report.problems.append(f"the document timestamp states {stated.isoformat()}, after {at.date()}")
        report.timestamp_time = status.timestamp
        report.timestamp_trusted = report.trusted = status.trusted
        report.intact, report.valid = status.intact, status.valid
        report.timestamp_authority = report.signer_subject
        _check(report, status.intact and status.valid, "the document timestamp is broken")
        _check(report, status.trusted, "the document timestamp comes from an untrusted time-stamping authority")
    else:
        report.claimed_time = sig.self_reported_timestamp
        proposed = _proposed_time(sig)
        signer_moment = proposed if proposed is not None or at is None else at
        status = validate_pdf_signature(sig, context(signer_moment), ts_validation_context=context(proposed if at is not None else None))
        ts = status.timestamp_validity
        if ts is not None:
            report.timestamp_time = ts.timestamp
            report.timestamp_trusted = bool(ts.intact and ts.valid and ts.trusted)
            report.timestamp_authority = ts.signing_cert.subject.human_friendly if ts.signing_cert else ""
            _check(report, report.timestamp_trusted,
                   "the signature timestamp is not from a trusted time-stamping authority or is broken")
        report.judged_at = report.timestamp_time if report.timestamp_trusted else None
        report.intact, report.valid, report.trusted = status.intact, status.valid, status.trusted
        if status.validation_path is not None:
            report.chain = [c.subject.human_friendly for c in reversed(list(status.validation_path.iter_certs(include_root=True)))]
        report.revocation = "revoked" if status.revoked else ("good" if status.trusted else "unknown")
        _check(report, status.intact, "the document's bytes do not match the seal (changed after sealing)")
        _check(report, status.valid, "the seal's cryptographic signature is invalid")
        if status.revoked:
            report.problems.append("the seal's certificate was revoked before the time this seal is proven to have been made")
        else:
            why = getattr(status.trust_problem_indic, "name", "")
            _check(report, status.trusted, "the seal's certificate does not chain to a trusted root of this bureau, "
                                           "or was not valid when the seal was made"
                                           + (": no revocation data for its certificate" if why == "TRY_LATER"
                                              else f" ({why})" if why and at is not None else ""))
        lock = sig.sig_field.get("/Lock")
        report.locked = bool(lock is not None and int(lock.get_object().get("/P", 0)) == 1)
        _check(report, status.docmdp_ok is not False, "a change after sealing breaks the document's modification permissions")

    report.problems.extend(_container_problems(sig, status.validation_path, trust_roots))
    report.coverage = status.coverage.name.lower() if status.coverage else "unclear"
    level = status.modification_level
    report.modification_level = level.name.lower() if level is not None else "unknown"
    later_seals = any(r > sig.signed_revision for r in seal_revisions)
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        report.modifications_allowed = True
    elif status.coverage == SignatureCoverageLevel.ENTIRE_REVISION and level is not None:
        # co-sealing: later parties' seals are form filling; anything else only validation data
        ceiling = ModificationLevel.FORM_FILLING if later_seals and not report.locked else ModificationLevel.LTA_UPDATES
        report.modifications_allowed = level <= ceiling
    _check(report, report.modifications_allowed,
           f"content was added or changed after sealing (coverage {report.coverage}, modifications {report.modification_level})")
    if later_revisions == 0:
        _check(report, len(data) == report.signed_revision_end,
               f"{len(data) - report.signed_revision_end} byte(s) were appended after the sealed document")
    else:
        _check(report, data.endswith((b"%%EOF", b"%%EOF\n", b"%%EOF\r\n")),
               "bytes that belong to no revision were appended after the last update")
