"""The validation report gives each signature its ETSI EN 319 102-1 verdict and says why, in
Chinese and English: the same cases an auditor meets, each with the indication a validator
following the standard would give."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from yiyin.registry import catalog
from yiyin.service.app import APPROVAL_SEAL, App
from yiyin.service.report_text import render
from yiyin.service.samples import resolve_dates
from yiyin.service.verify import verify_pdf
from yiyin.signing.devpki import DevPKI, SealIdentity, write_pkcs12
from yiyin.signing.keystore import load_pkcs12
from yiyin.signing.pades import PadesLevel, SealPlacement, SealRequest, Sealer
from yiyin.signing.validate import SignatureReport, validate_pdf

from . import attacks
from .test_document_data import SAMPLE


@pytest.fixture(scope="module")
def unsealed(app: App) -> tuple[bytes, SealPlacement]:
    return attacks.unsealed_licence(app, resolve_dates(copy.deepcopy(SAMPLE["documents"][1]["data"]), date.today()))


def appearance(app: App) -> Path:
    return next((app.settings.home / "appearances").glob("seal-*.pdf"))


def seal(sealer: Sealer, unsealed: tuple[bytes, SealPlacement], level: PadesLevel = PadesLevel.B_B) -> bytes:
    pdf, placement = unsealed
    return sealer.seal(pdf, placement, SealRequest(reason="x", location="x", signer_name="x", level=level))


def verdict_of(app: App, data: bytes, crls: list[bytes] | None = None) -> SignatureReport:
    result = validate_pdf(data, app.trust_roots(), app.current_crls() if crls is None else crls)
    return result.seals[0]


def codes(report: SignatureReport) -> set[str]:
    return {f.code for f in report.findings if not f.ok}


def own_key_sealer(app: App, tmp_path: Path, *, years: int = 3, now: datetime | None = None, tsa: bool = False) -> Sealer:
    """A seal certificate from the bureau's CA for a key of the test's own (so that it can be revoked or expire)."""
    key, cert = app.pki.ca.issue_seal(SealIdentity("台安县行政审批局", "11210321MB15990271", APPROVAL_SEAL), years=years, now=now,
                                      crl_url=f"{app.settings.public_url}/pki/crl")
    write_pkcs12(tmp_path / "own.p12", "own", key, cert, [app.pki.ca.cert])
    return Sealer(load_pkcs12(tmp_path / "own.p12"), appearance(app), 119,
                  timestamper=app.tsa if tsa else None, tsa_chain_size=4096 if tsa else 0)


def test_a_genuine_document_passes_with_every_answer_given(app: App, demo) -> None:
    report = verify_pdf(app, demo.licence.path.read_bytes())
    assert report.valid
    seal_, stamp = report.signatures
    assert seal_["indication"] == stamp["indication"] == "TOTAL_PASSED" and seal_["subindication"] == ""
    assert [f["code"] for f in seal_["findings"]] == ["DIGEST_MATCHES", "SIGNATURE_VALUE_VALID", "TIME_PROVEN",
                                                      "CHAIN_TRUSTED", "NOT_REVOKED", "COVERAGE"]
    assert all(f["ok"] and f["zh"] and f["en"] for f in seal_["findings"])
    for check in report.checks:
        assert check.title and check.title_en and check.detail and check.detail_zh


def test_a_changed_byte_is_a_hash_failure_and_nothing_else_is_judged(app: App, demo) -> None:
    data = demo.licence.path.read_bytes()
    report = verdict_of(app, attacks.flip_byte(data, len(data) // 3))
    assert (report.indication, report.subindication) == ("TOTAL_FAILED", "HASH_FAILURE")
    assert codes(report) == {"DIGEST_MISMATCH"}
    assert not {"CHAIN_TRUSTED", "NO_TRUSTED_CHAIN"} & {f.code for f in report.findings}


def test_content_added_after_sealing_is_a_format_failure(app: App, demo) -> None:
    report = verdict_of(app, attacks.append_page_content(demo.licence.path.read_bytes()))
    assert (report.indication, report.subindication) == ("TOTAL_FAILED", "FORMAT_FAILURE")
    assert "CHANGED_AFTER_SEALING" in codes(report)
    assert any("盖章后文件内容被添加或改动" in f.zh for f in report.findings)


def test_a_lookalike_certificate_has_no_chain(app: App, unsealed, tmp_path: Path) -> None:
    report = verdict_of(app, seal(attacks.lookalike_sealer(app, tmp_path), unsealed))
    assert (report.indication, report.subindication) == ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND")
    assert codes(report) == {"NO_TRUSTED_CHAIN"}


def test_an_expired_certificate_without_timestamp_is_out_of_bounds(app: App, unsealed, tmp_path: Path) -> None:
    sealer = own_key_sealer(app, tmp_path, years=1, now=datetime.now(timezone.utc) - timedelta(days=800))
    report = verdict_of(app, seal(sealer, unsealed))
    assert (report.indication, report.subindication) == ("INDETERMINATE", "OUT_OF_BOUNDS_NO_POE")
    assert "CERTIFICATE_EXPIRED" in codes(report)


def test_an_untrusted_timestamp_proves_no_time(app: App, unsealed, tmp_path: Path) -> None:
    rogue = DevPKI.load_or_create(tmp_path / "rogue-pki")
    with app.db.session() as s:
        real = app.sealer(catalog.active_seal(s, app.bureau_id, APPROVAL_SEAL, app.now()), "台安县行政审批局")
    sealer = Sealer(real.key, appearance(app), real.diameter_pt, timestamper=rogue.tsa(), tsa_chain_size=4096)
    report = verdict_of(app, seal(sealer, unsealed, PadesLevel.B_T))
    assert (report.indication, report.subindication) == ("INDETERMINATE", "NO_POE")
    assert codes(report) == {"TIMESTAMP_UNTRUSTED"} and not report.timestamp_trusted and report.judged_at is None
    finding = next(f for f in report.findings if f.code == "TIMESTAMP_UNTRUSTED")
    assert "不受信任的时间戳机构" in finding.zh and "not from a trusted time-stamping authority" in finding.en


@pytest.mark.parametrize(("level", "expected"), [(PadesLevel.B_B, ("INDETERMINATE", "REVOKED_NO_POE")),
                                                 (PadesLevel.B_T, ("TOTAL_FAILED", "REVOKED"))])
def test_a_revoked_certificate(app: App, unsealed, tmp_path: Path, level: PadesLevel, expected: tuple[str, str]) -> None:
    """Revoked before the seal was made: proven so with a timestamp (REVOKED), only likely without
    one (REVOKED_NO_POE)."""
    sealer = own_key_sealer(app, tmp_path, tsa=True)
    cert = sealer.key.cert
    start = cert["tbs_certificate"]["validity"]["not_before"].native
    revoked = [*app.revoked_serials(), (cert.serial_number, start + timedelta(minutes=1))]
    crl = app.pki.ca.crl(revoked, number=999).public_bytes(serialization.Encoding.DER)
    report = verdict_of(app, seal(sealer, unsealed, level), crls=[crl])
    assert (report.indication, report.subindication) == expected
    assert "CERTIFICATE_REVOKED" in codes(report) and report.revocation == "revoked"


def test_the_readable_report_in_each_language(app: App, demo) -> None:
    data = demo.licence.path.read_bytes()
    bad = verify_pdf(app, attacks.flip_byte(data, len(data) // 3))
    zh, en, both = (render(bad, "licence.pdf", lang) for lang in ("zh", "en", "both"))
    assert "无效" in zh and "文件字节与印章不符" in zh and "TOTAL_FAILED/HASH_FAILURE" in zh and "changed after sealing" not in zh
    assert "NOT VALID" in en and "do not match the seal" in en and "文件字节" not in en
    assert "文件字节与印章不符" in both and "do not match the seal" in both
    with pytest.raises(ValueError, match="zh, en, both"):
        render(bad, "licence.pdf", "fr")
