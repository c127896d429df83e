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
from datetime import datetime, timezone
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
from yiyin.signing.findings import CHANGES_TEXT, COVERAGE_TEXT, Finding, bad, good, verdict, when
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
    findings: list[Finding] = field(default_factory=list)  # the answers, good and bad, in order

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    @property
    def problems(self) -> list[str]:
        """What is wrong, in English (the Chinese is in :attr:`findings`)."""
        return [f.en for f in self.findings if not f.ok]

    @property
    def problems_zh(self) -> list[str]:
        """What is wrong, in Chinese, each with its finding's code: 签名值与文件不符 [SIGNATURE_VALUE_VALID]."""
        return [f"{f.zh.rstrip('。')} [{f.code}]" for f in self.findings if not f.ok]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def indication(self) -> str:
        return verdict(self.findings)[0]

    @property
    def subindication(self) -> str:
        return verdict(self.findings)[1]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("claimed_time", "timestamp_time", "judged_at"):
            out[k] = out[k].isoformat() if out[k] else None
        out["findings"] = [f.to_json() for f in self.findings]
        out.update(ok=self.ok, indication=self.indication, subindication=self.subindication, problems=self.problems)
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


def _container_findings(sig: EmbeddedPdfSignature, path, trust_roots: list[asn1_x509.Certificate]) -> list[Finding]:  # type: ignore[no-untyped-def]
    """Bytes of the signature container that no signature covers must still be exactly as made:
    zero padding after the DER, and no certificate that is neither in the validated chain nor one
    of our trust anchors (an altered copy of a root would otherwise go unnoticed)."""
    found = []
    raw = bytes(sig.pkcs7_content)
    der_len = len(cms.ContentInfo.load(raw).dump())
    if raw[der_len:].strip(b"\x00"):
        found.append(bad("CONTAINER_ALTERED", "FORMAT_FAILURE", "签名容器在签名后被改动（填充字节不为零）。",
                         "the signature container was altered after the signature (padding is not zero)"))
    known = {c.sha256 for c in trust_roots}
    if path is not None:
        known |= {c.sha256 for c in path.iter_certs(include_root=True)}
    for choice in sig.signed_data["certificates"] or []:
        if choice.name == "certificate" and choice.chosen.sha256 not in known:
            name = choice.chosen.subject.human_friendly
            found.append(bad("FOREIGN_CERTIFICATE", "FORMAT_FAILURE", f"签名中夹带了证书链以外的证书：{name}。",
                             f"the signature carries a certificate outside its chain: {name}"))
    return found


def _names(cert: asn1_x509.Certificate) -> tuple[str, str, str]:
    native = cert.subject.native
    return cert.subject.human_friendly, str(native.get("organization_name", "")), str(native.get("common_name", ""))


def _collect(reader: PdfFileReader) -> tuple[list[tuple[SignatureReport, EmbeddedPdfSignature]], list[SignatureReport]]:
    embedded, damaged = [], []
    for fq_name, sig_obj, sig_field in enumerate_sig_fields(reader, filled_status=None):
        report = SignatureReport(field_name=str(fq_name or ""))  # a plain str: pyHanko's keeps the whole PDF alive
        if sig_obj is None:
            report.add(bad("UNSIGNED_FIELD_ADDED", "FORMAT_FAILURE", "文件中被加入了一个未签名的签名域。",
                           "an unsigned signature field was added to the document"))
            damaged.append(report)
            continue
        try:
            # parses the CMS container: a damaged one is a broken seal, reported, not an unreadable file
            embedded.append((report, EmbeddedPdfSignature(reader, sig_field, fq_name)))
        except Exception as exc:
            report.add(bad("SIGNATURE_DATA_DAMAGED", "FORMAT_FAILURE", f"印章的签名数据已损坏（{type(exc).__name__}）。",
                           f"the seal's signature data is damaged: {type(exc).__name__}: {exc}"))
            damaged.append(report)
    embedded.sort(key=lambda pair: pair[1].signed_revision)
    return embedded, damaged


def ensure_pdf(data: bytes) -> None:
    """Refuse, as unreadable, bytes that do not even begin as a PDF."""
    if data.lstrip()[:5] != b"%PDF-":
        raise UnreadableDocument("文件不是 PDF（开头没有 %PDF- 标记）")


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
    ensure_pdf(data)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded, damaged = _collect(reader)
        revisions = reader.xrefs.total_revisions
    except (PdfReadError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise UnreadableDocument(f"PDF 文件无法读取：{exc}") from exc
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
            report.add(bad("SIGNATURE_NOT_PROCESSABLE", "FORMAT_FAILURE", f"签名结构异常，无法处理（{type(exc).__name__}）。",
                           f"the signature cannot be processed: {type(exc).__name__}: {exc}"))
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
        if stated is not None and at is not None and stated > at:
            report.add(bad("TIMESTAMP_AFTER_DATE", "NO_POE", f"文档时间戳所述时间 {when(stated)} 晚于核验日期 {at.date()}。",
                           f"the document timestamp states {when(stated)}, after {at.date()}"))
        report.timestamp_time = status.timestamp
        report.timestamp_trusted = report.trusted = status.trusted
        report.intact, report.valid = status.intact, status.valid
        report.timestamp_authority = report.signer_subject
        sound = _integrity(report, status.intact, status.valid, "文档时间戳", "document timestamp")
        if sound and status.trusted:
            report.add(good("TSA_TRUSTED", f"时间戳机构可信：{report.signer_common_name}，时间 {when(status.timestamp)}。",
                            f"from a trusted time-stamping authority: {report.signer_common_name}, at {when(status.timestamp)}"))
        elif sound:
            report.add(bad("TSA_UNTRUSTED", "NO_CERTIFICATE_CHAIN_FOUND", "文档时间戳来自不受信任的时间戳机构。",
                           "the document timestamp comes from an untrusted time-stamping authority"))
    else:
        status = _validate_seal(report, sig, context, at)

    for finding in _container_findings(sig, status.validation_path, trust_roots):
        report.add(finding)
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
    _changes(report, later_revisions, later_seals)
    if later_revisions == 0 and len(data) != report.signed_revision_end:
        extra = len(data) - report.signed_revision_end
        report.add(bad("BYTES_APPENDED", "FORMAT_FAILURE", f"签章文件之后被追加了 {extra} 字节。",
                       f"{extra} byte(s) were appended after the sealed document"))
    elif later_revisions and not data.endswith((b"%%EOF", b"%%EOF\n", b"%%EOF\r\n")):
        report.add(bad("BYTES_APPENDED", "FORMAT_FAILURE", "最后一次更新之后有不属于任何修订的字节。",
                       "bytes that belong to no revision were appended after the last update"))


def _integrity(report: SignatureReport, intact: bool, valid: bool, what_zh: str, what_en: str) -> bool:
    """Do the signed bytes and the signature value hold? Nothing else is judged when not
    (ETSI EN 319 102-1 stops there too): a chain check of a broken signature would only add noise."""
    if intact:
        report.add(good("DIGEST_MATCHES", f"{what_zh}覆盖的字节与签名一致。", f"the bytes the {what_en} covers match it"))
    else:
        report.add(bad("DIGEST_MISMATCH", "HASH_FAILURE", f"文件字节与{what_zh}不符（{'盖章' if what_en == 'seal' else '加盖时间戳'}后被改动）。",
                       f"the document's bytes do not match the {what_en} (changed after sealing)"
                       if what_en == "seal" else f"the {what_en} is broken: the document's bytes do not match it"))
    if intact and valid:
        report.add(good("SIGNATURE_VALUE_VALID", "签名值经公钥验证正确。", "the signature value verifies with the certificate's public key"))
    elif intact:
        report.add(bad("SIGNATURE_VALUE_INVALID", "SIG_CRYPTO_FAILURE", f"{what_zh}的密码学签名无效。",
                       f"the {what_en}'s cryptographic signature is invalid"))
    return intact and valid


def _changes(report: SignatureReport, later_revisions: int, later_seals: bool) -> None:
    cov_zh, cov_en = COVERAGE_TEXT.get(report.coverage, COVERAGE_TEXT["unclear"])
    lvl_zh, lvl_en = CHANGES_TEXT.get(report.modification_level, CHANGES_TEXT["unknown"])
    if report.modifications_allowed:
        report.add(good("COVERAGE", f"{cov_zh}。" + (f"其后的修改：{lvl_zh}，允许。" if later_revisions else ""),
                        cov_en + (f"; changes after it: {lvl_en}, allowed" if later_revisions else "")))
    else:
        report.add(bad("CHANGED_AFTER_SEALING", "FORMAT_FAILURE", f"盖章后文件内容被添加或改动（{cov_zh}；修改：{lvl_zh}），不允许。",
                       f"content was added or changed after sealing (coverage {report.coverage}, modifications {report.modification_level})"))


def _validate_seal(report: SignatureReport, sig: EmbeddedPdfSignature, context,  # type: ignore[no-untyped-def]
                   at: datetime | None = None):
    """The seal's own questions: integrity, time, chain, revocation, lock. With ``at``, the seal is
    judged at the time its timestamp proves (the timestamp itself at the time it states), or at
    ``at`` when nothing proves it."""
    report.claimed_time = sig.self_reported_timestamp
    proposed = _proposed_time(sig)
    signer_moment = proposed if proposed is not None or at is None else at
    status = validate_pdf_signature(sig, context(signer_moment),
                                    ts_validation_context=context(proposed if at is not None else None))
    ts = status.timestamp_validity
    if ts is not None:
        report.timestamp_time = ts.timestamp
        report.timestamp_trusted = bool(ts.intact and ts.valid and ts.trusted)
        report.timestamp_authority = ts.signing_cert.subject.human_friendly if ts.signing_cert else ""
    report.judged_at = report.timestamp_time if report.timestamp_trusted else None
    report.intact, report.valid, report.trusted = status.intact, status.valid, status.trusted
    if status.validation_path is not None:
        report.chain = [c.subject.human_friendly for c in reversed(list(status.validation_path.iter_certs(include_root=True)))]
    report.revocation = "revoked" if status.revoked else ("good" if status.trusted else "unknown")

    if _integrity(report, status.intact, status.valid, "印章", "seal"):
        _time(report, ts is not None)
        _trust(report, sig, status, at)
    lock = sig.sig_field.get("/Lock")
    report.locked = bool(lock is not None and int(lock.get_object().get("/P", 0)) == 1)
    if status.docmdp_ok is False:
        report.add(bad("DOCMDP_VIOLATED", "FORMAT_FAILURE", "盖章后的修改违反了文件的修改权限（DocMDP）。",
                       "a change after sealing breaks the document's modification permissions"))
    return status


def _time(report: SignatureReport, timestamped: bool) -> None:
    """When the seal was made: claimed by the signer only, or proven by a trusted timestamp."""
    if not timestamped:
        report.add(good("TIME_CLAIMED_ONLY", f"签章时间 {when(report.claimed_time)} 为签章方自述，无时间戳证明；按当前时间判断证书状态。",
                        f"signing time {when(report.claimed_time)} is claimed by the signer, not proven by a timestamp; "
                        "the certificate is judged as of now"))
    elif report.timestamp_trusted:
        tsa = _common_name(report.timestamp_authority)
        report.add(good("TIME_PROVEN", f"签章时间由可信时间戳证明：{when(report.timestamp_time)}（{tsa}）。",
                        f"signing time proven by a trusted timestamp: {when(report.timestamp_time)} ({tsa})"))
    else:
        report.add(bad("TIMESTAMP_UNTRUSTED", "NO_POE", "签名时间戳来自不受信任的时间戳机构或已损坏，不能证明签章时间。",
                       "the signature timestamp is not from a trusted time-stamping authority or is broken"))


def _trust(report: SignatureReport, sig: EmbeddedPdfSignature, status, at: datetime | None = None) -> None:  # type: ignore[no-untyped-def]
    """Chain to a trust anchor and revocation, at the proven signing time or now (or ``at``)."""
    moment = report.judged_at or at or datetime.now(timezone.utc)
    validity = sig.signer_cert["tbs_certificate"]["validity"]
    not_before, not_after = validity["not_before"].native, validity["not_after"].native
    at_zh = f"签章时（{when(report.judged_at)}）" if report.judged_at else "当前"
    at_en = f"at the proven signing time {when(report.judged_at)}" if report.judged_at else "as of now"
    if status.revoked:
        if report.judged_at:
            report.add(bad("CERTIFICATE_REVOKED", "REVOKED", "印章证书在可证明的签章时间之前已被吊销。",
                           "the seal's certificate was revoked before the time this seal is proven to have been made"))
        else:
            report.add(bad("CERTIFICATE_REVOKED", "REVOKED_NO_POE", "印章证书已被吊销，且没有时间戳证明签章在吊销之前。",
                           "the seal's certificate was revoked before the time this seal is proven to have been made "
                           "(no timestamp proves the seal older than the revocation)"))
    elif status.trusted:
        anchor = _common_name(report.chain[-1]) if report.chain else ""
        report.add(good("CHAIN_TRUSTED", f"证书链可追溯到本局信任的根证书（{anchor}）。",
                        f"the certificate chains to a trust anchor of this bureau ({anchor})"))
        report.add(good("NOT_REVOKED", f"{at_zh}印章证书未被吊销。", f"the seal's certificate was not revoked {at_en}"))
    elif moment > not_after:
        sub = "EXPIRED" if report.judged_at else "OUT_OF_BOUNDS_NO_POE"
        report.add(bad("CERTIFICATE_EXPIRED", sub, f"印章证书已于 {when(not_after)} 过期，{'签章时已失效' if report.judged_at else '且没有时间戳证明签章在过期之前'}。",
                       f"the seal's certificate was not valid when the seal was made: it expired on {when(not_after)}"
                       + ("" if report.judged_at else " and no timestamp proves the seal older")))
    elif at is not None and getattr(status.trust_problem_indic, "name", "") in ("TRY_LATER", "CERTIFICATE_CHAIN_GENERAL_FAILURE"):
        # checked long after, with only what was kept: revocation data must have been kept too
        report.add(bad("NO_REVOCATION_DATA", "TRY_LATER", "没有该印章证书的撤销信息（CRL 或 OCSP），无法证明签章时证书未被吊销。",
                       "no revocation data for the seal's certificate: that it was not revoked when the seal was made cannot be shown"))
    elif moment < not_before:
        report.add(bad("CERTIFICATE_NOT_YET_VALID", "NOT_YET_VALID", f"签章时印章证书尚未生效（生效时间 {when(not_before)}）。",
                       f"the seal's certificate was not yet valid when the seal was made (valid from {when(not_before)})"))
    else:
        report.add(bad("NO_TRUSTED_CHAIN", "NO_CERTIFICATE_CHAIN_FOUND", "印章证书无法追溯到本局信任的根证书。",
                       "the seal's certificate does not chain to a trusted root of this bureau"))


def _common_name(subject: str) -> str:
    for part in subject.split(", "):
        if part.startswith("Common Name: "):
            return part.removeprefix("Common Name: ")
    return subject
