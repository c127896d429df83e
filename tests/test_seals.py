"""Seals as the law treats them: registration, rotation, revocation, time of sealing, co-sealing."""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from yiyin.config import Settings
from yiyin.errors import AuthorityError, ConfigurationError, InvalidData
from yiyin.registry import catalog, log
from yiyin.registry.models import Seal
from yiyin.service.app import APPROVAL_SEAL, App
from yiyin.service.pipeline import Issuer, IssueRequest
from yiyin.service.samples import resolve_dates
from yiyin.service.seals import add_seal, list_seals, revoke_seal, rotate_seal
from yiyin.service.verify import verify_pdf
from yiyin.signing.appearance import standard_diameter_mm
from yiyin.signing.devpki import DevPKI, SealIdentity, write_pkcs12
from yiyin.signing.keystore import load_pkcs12
from yiyin.signing.pades import PadesLevel, SealPlacement, SealRequest, Sealer
from yiyin.signing.validate import validate_pdf

from . import attacks
from .test_document_data import SAMPLE


@pytest.fixture(scope="module")
def own_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """An App of its own: these tests revoke and rotate the bureau's seal."""
    application = App.open(Settings.from_env({"YIYIN_HOME": str(tmp_path_factory.mktemp("seal-home"))}))
    yield application
    application.close()


def licence_request() -> IssueRequest:
    entry = SAMPLE["documents"][1]
    return IssueRequest(entry["type"], resolve_dates(copy.deepcopy(entry["data"]), date.today()), entry["item"], "SEAL-TEST")


def bureau_seal(app: App):  # type: ignore[no-untyped-def]
    with app.db.session() as s:
        return catalog.active_seal(s, app.bureau_id, APPROVAL_SEAL, app.now())


def test_revoked_seal_cannot_seal_but_what_it_sealed_before_stays_valid(own_app: App) -> None:
    app = own_app
    before = Issuer(app).issue(licence_request())
    seal = bureau_seal(app)
    time.sleep(1.1)  # CRL times have whole seconds; the revocation must fall after the proven sealing second
    revoke_seal(app, seal.id, "custodian", "钥匙遗失 key lost")
    assert any(v.id == seal.id and v.status.startswith("已吊销") for v in list_seals(app))
    with app.db.session() as s:
        size, _ = log.root(s)
        assert size >= 2  # issuance and revocation are both in the log

    report = verify_pdf(app, before.path.read_bytes())
    assert report.valid, report.to_json()  # proven sealed (timestamp) before the revocation

    with pytest.raises(AuthorityError, match="没有在有效期内的已登记行政审批专用章"):
        Issuer(app).issue(licence_request())

    # a document sealed with the revoked key now is rejected even if someone has the key
    pdf, placement = attacks.unsealed_licence(app, licence_request().data)
    late = app.sealer(seal, "台安县行政审批局").seal(pdf, placement, SealRequest(
        reason="x", location="x", signer_name="x", level=PadesLevel.B_T))
    result = validate_pdf(late, app.trust_roots(), app.current_crls())
    assert not result.ok and any("revoked" in p for p in result.seals[0].problems)

    new = add_seal(app, app.bureau_id, APPROVAL_SEAL, "custodian")
    after = Issuer(app).issue(licence_request())
    assert verify_pdf(app, after.path.read_bytes()).valid
    assert new.fingerprint in {s["signer_fingerprint"] for s in verify_pdf(app, after.path.read_bytes()).signatures}


def test_rotation_keeps_old_documents_valid(own_app: App) -> None:
    app = own_app
    old_doc = Issuer(app).issue(licence_request())
    old = bureau_seal(app)
    new = rotate_seal(app, old.id, "custodian", "annual rotation")
    assert bureau_seal(app).id == new.id != old.id
    assert verify_pdf(app, old_doc.path.read_bytes()).valid
    new_doc = Issuer(app).issue(licence_request())
    assert verify_pdf(app, new_doc.path.read_bytes()).valid


def test_bad_seal_acts_are_refused(own_app: App) -> None:
    with pytest.raises(InvalidData, match="reason"):
        revoke_seal(own_app, 1, "custodian", " ")
    with pytest.raises(InvalidData, match="diameter_mm"):
        add_seal(own_app, own_app.bureau_id, APPROVAL_SEAL, "custodian", diameter_mm=5)


def test_timestamp_from_an_untrusted_tsa_is_rejected(app: App, tmp_path: Path) -> None:
    rogue = DevPKI.load_or_create(tmp_path / "rogue-pki")
    seal = bureau_seal(app)
    real = app.sealer(seal, "台安县行政审批局")
    sealer = Sealer(real.key, next((app.settings.home / "appearances").glob("seal-*.pdf")), real.diameter_pt,
                    timestamper=rogue.tsa(), tsa_chain_size=4096)
    pdf, placement = attacks.unsealed_licence(app, licence_request().data)
    sealed = sealer.seal(pdf, placement, SealRequest(reason="x", location="x", signer_name="x", level=PadesLevel.B_T))
    result = validate_pdf(sealed, app.trust_roots(), app.current_crls())
    assert not result.ok
    assert any("time-stamping authority" in p for p in result.seals[0].problems)


def test_expired_seal_certificate_is_rejected(app: App, tmp_path: Path) -> None:
    long_ago = datetime.now(timezone.utc) - timedelta(days=800)
    key, cert = app.pki.ca.issue_seal(SealIdentity("台安县行政审批局", "11210321MB15990271", APPROVAL_SEAL), years=1, now=long_ago)
    write_pkcs12(tmp_path / "old.p12", "old", key, cert, [app.pki.ca.cert])
    sealer = Sealer(load_pkcs12(tmp_path / "old.p12"), next((app.settings.home / "appearances").glob("seal-*.pdf")), 119)
    pdf, placement = attacks.unsealed_licence(app, licence_request().data)
    sealed = sealer.seal(pdf, placement, SealRequest(reason="x", location="x", signer_name="x"))
    result = validate_pdf(sealed, app.trust_roots(), app.current_crls())
    assert not result.ok and not result.seals[0].trusted


def _co_seal(app: App, parties: list[tuple[Sealer, SealPlacement]], pdf: bytes) -> bytes:
    for i, (sealer, placement) in enumerate(parties):
        pdf = sealer.seal(pdf, placement, SealRequest(reason="协议", location="台安县", signer_name=f"party {i + 1}",
                                                      field_name=f"Seal{i + 1}", level=PadesLevel.B_T,
                                                      final=i == len(parties) - 1))
    return pdf


def test_co_sealing_keeps_every_seal_valid_and_the_last_locks(app: App) -> None:
    with app.db.transaction() as s:
        organ = catalog.get_organ(s, "taian-scjgj")
        other = app.create_dev_seal(s, organ, "公章", 42)
    bureau = app.sealer(bureau_seal(app), "台安县行政审批局")
    department = app.sealer(other, "台安县市场监督管理局")
    pdf, placement = attacks.unsealed_licence(app, licence_request().data)
    left = SealPlacement(placement.page, placement.x - 200, placement.y + 150)
    agreement = _co_seal(app, [(department, left), (bureau, placement)], pdf)
    result = validate_pdf(agreement, app.trust_roots(), app.current_crls())
    assert result.ok, [s.problems for s in result.signatures]
    assert [s.signer_organization for s in result.seals] == ["台安县市场监督管理局", "台安县行政审批局"]
    assert result.seals[-1].locked and not result.seals[0].locked

    # after the locking seal nothing but validation data may follow, not even another seal
    third = department.seal(agreement, SealPlacement(placement.page, placement.x - 200, placement.y - 150),
                            SealRequest(reason="x", location="x", signer_name="x", field_name="Seal3"))
    result = validate_pdf(third, app.trust_roots(), app.current_crls())
    assert not result.ok
    # and content added between two seals breaks the earlier one
    first_only = department.seal(pdf, left, SealRequest(reason="x", location="x", signer_name="x", field_name="Seal1"))
    tampered = bureau.seal(attacks.append_annotation(first_only), placement,
                           SealRequest(reason="x", location="x", signer_name="x", field_name="Seal2", final=True))
    result = validate_pdf(tampered, app.trust_roots(), app.current_crls())
    assert not result.seals[0].ok and result.seals[1].ok


def test_timestamps_from_a_tsa_url(tmp_path: Path) -> None:
    """YIYIN_TSA_URL: seals are timestamped over RFC 3161 HTTP (here the built-in TSA on loopback)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    home = tmp_path / "home"
    bootstrap = App.open(Settings.from_env({"YIYIN_HOME": str(home)}))
    tsa = bootstrap.builtin_tsa
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            seen.append(self.headers.get("Content-Type", ""))
            body = tsa.respond(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
        app = App.open(Settings.from_env({"YIYIN_HOME": str(home), "YIYIN_TSA_URL": url}))
        issued = Issuer(app).issue(licence_request())
        report = verify_pdf(app, issued.path.read_bytes())
        assert report.valid
        assert report.signatures[0]["timestamp_trusted"] and seen and seen[0] == "application/timestamp-query"
    finally:
        server.shutdown()
    with pytest.raises(Exception, match="YIYIN_TSA_URL"):
        Settings.from_env({"YIYIN_HOME": str(home), "YIYIN_TSA_URL": "ftp://x"})


def test_ocsp_responder_answers_good_then_revoked(own_app: App) -> None:
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp

    app = own_app
    pki = app.pki
    seal = add_seal(app, "taian-sfj", "合同专用章", "custodian")
    with app.db.session() as s:
        from yiyin.registry.models import Seal

        cert = cx509.load_pem_x509_certificate(s.get(Seal, seal.id).cert_pem.encode())
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, pki.ca.cert, hashes.SHA256()).build()
    der = request.public_bytes(serialization.Encoding.DER)

    def ask() -> ocsp.OCSPResponse:
        revoked = dict(app.revoked_serials())
        from yiyin.signing.revocation import ocsp_response

        return ocsp.load_der_ocsp_response(ocsp_response(der, issuer=pki.ca.cert, responder_key=pki.ocsp_key,
                                                         responder_cert=pki.ocsp_cert, known={cert.serial_number: cert},
                                                         revoked=revoked))

    assert ask().certificate_status == ocsp.OCSPCertStatus.GOOD
    revoke_seal(app, seal.id, "custodian", "test")
    answer = ask()
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.responder_key_hash is not None


def test_a_seal_verified_long_after_sealing_with_a_newer_crl(app: App, demo) -> None:
    """Years later the CRL is newer than the seal; it still tells whether the seal was good then."""
    later = datetime.now(timezone.utc) + timedelta(days=400)
    crl = app.pki.ca.crl([], number=999, now=later)
    from cryptography.hazmat.primitives import serialization

    der = crl.public_bytes(serialization.Encoding.DER)
    result = validate_pdf(demo.licence.path.read_bytes(), app.trust_roots(), [der])
    assert result.ok, [s.problems for s in result.signatures]


@pytest.mark.parametrize(("code", "name", "mm"), [
    ("210321", "台安县行政审批局", 42), ("210321", "台安县人民政府", 45), ("210300", "鞍山市人民政府", 45),
    ("210300", "鞍山市行政审批局", 42), ("210000", "辽宁省人民政府", 50), ("210000", "辽宁省市场监督管理局", 45),
    ("210321100", "台安镇人民政府", 42), ("210302", "鞍山市铁东区人民政府", 45),
])
def test_standard_seal_diameter_by_the_organs_level(code: str, name: str, mm: int) -> None:
    assert standard_diameter_mm(code, name) == mm


def test_a_seal_registered_without_a_size_gets_its_organs_standard_size(own_app: App) -> None:
    app = own_app
    with app.db.transaction() as s:
        catalog.upsert_organ(s, {"id": "taian-gov", "name": "台安县人民政府", "uscc": "11210321001234567X",
                                 "division_code": "210321", "province": "辽宁省", "city": "鞍山市", "county": "台安县",
                                 "short_name": "台政"})
    view = add_seal(app, "taian-gov", "公章", "custodian")
    with app.db.session() as s:
        seal = s.get(Seal, view.id)
        assert seal.diameter_mm == 45
        sealer = app.sealer(seal, "台安县人民政府")
    pdf, placement = attacks.unsealed_licence(app, licence_request().data)
    sealed = sealer.seal(pdf, placement, SealRequest(reason="x", location="x", signer_name="x"))
    x0, _, x1, _ = (float(v) for v in re.search(rb"/Rect\[([\d. ]+)\]", sealed[len(pdf):])[1].split())
    assert x1 - x0 == pytest.approx(45 * 72 / 25.4, abs=0.01)  # the picture drawn at 45 mm
    with pytest.raises(ConfigurationError, match="行政区划代码 '21'"):
        standard_diameter_mm("21", "台安县人民政府")
