"""Revocation information for the development CA: the CRL and OCSP responses.

The data (which serials are revoked, when) come from the seal registry through the service;
this module only encodes and signs them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp


def ocsp_response(request_der: bytes, *, issuer: x509.Certificate, responder_key: ec.EllipticCurvePrivateKey,
                  responder_cert: x509.Certificate, known: dict[int, x509.Certificate],
                  revoked: dict[int, datetime], now: datetime | None = None) -> bytes:
    """Answer one OCSP request (RFC 6960) about a certificate issued by ``issuer``."""
    try:
        req = ocsp.load_der_ocsp_request(request_der)
    except ValueError:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(serialization.Encoding.DER)
    cert = known.get(req.serial_number)
    if cert is None:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(serialization.Encoding.DER)
    now = now or datetime.now(timezone.utc)
    when = revoked.get(req.serial_number)
    status = ocsp.OCSPCertStatus.REVOKED if when else ocsp.OCSPCertStatus.GOOD
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert, issuer=issuer, algorithm=hashes.SHA256(), cert_status=status,
        this_update=now - timedelta(minutes=1), next_update=now + timedelta(days=1),
        revocation_time=when, revocation_reason=x509.ReasonFlags.key_compromise if when else None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, responder_cert).certificates([responder_cert])
    nonce = next((e.value for e in req.extensions if isinstance(e.value, x509.OCSPNonce)), None)
    if nonce is not None:
        builder = builder.add_extension(nonce, critical=False)
    return builder.sign(responder_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
