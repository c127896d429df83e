"""The CA's public services over HTTP, as a validator elsewhere would use them."""

from __future__ import annotations

import hashlib

from asn1crypto import core, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from fastapi.testclient import TestClient

from yiyin.registry import catalog
from yiyin.service.app import APPROVAL_SEAL, App
from yiyin.service.web.app import create_app


def test_ca_crl_ocsp_and_tsa(app: App) -> None:
    client = TestClient(create_app(app))
    ca = x509.load_der_x509_certificate(client.get("/pki/ca.crt").content)
    assert "DEVELOPMENT ONLY" in ca.subject.rfc4514_string()

    crl = x509.load_der_x509_crl(client.get("/pki/crl").content)
    assert crl.is_signature_valid(ca.public_key())

    with app.db.session() as s:
        seal = catalog.active_seal(s, app.bureau_id, APPROVAL_SEAL, app.now())
    cert = x509.load_pem_x509_certificate(seal.cert_pem.encode())
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert cdp[0].full_name[0].value == f"{app.settings.public_url}/pki/crl"
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, ca, hashes.SHA256()).build()
    answer = ocsp.load_der_ocsp_response(client.post("/pki/ocsp", content=req.public_bytes(serialization.Encoding.DER)).content)
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert client.post("/pki/ocsp", content=b"junk").content  # a malformed request gets a proper refusal

    query = tsp.TimeStampReq({"version": "v1", "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                              "hashed_message": hashlib.sha256(b"doc").digest()}, "nonce": 42, "cert_req": True})
    reply = client.post("/tsa", content=query.dump(), headers={"Content-Type": "application/timestamp-query"})
    token = tsp.TimeStampResp.load(reply.content)
    assert token["status"]["status"].native == "granted"
    info = token["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["nonce"].native == 42 and info["message_imprint"]["hashed_message"].native == hashlib.sha256(b"doc").digest()
    bad = tsp.PKIStatusInfo.load(core.Sequence.load(client.post("/tsa", content=b"\x30\x03junk").content).contents)
    assert bad["status"].native == "rejection" and bad["fail_info"].native == {"bad_data_format"}
