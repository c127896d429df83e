"""The built-in RFC 3161 time-stamping authority.

It answers TimeStampReq with a TimeStampResp whose token is a CMS SignedData over a TSTInfo,
signed by a certificate with the critical timeStamping key purpose. pyHanko uses it in process
while sealing; yiyin's HTTP service can expose ``respond`` at a TSA URL for other clients.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timezone

from asn1crypto import cms, core, tsp, x509
from pyhanko.sign import signers
from pyhanko.sign.timestamps.api import TimeStamper

# 2.25.<UUID>: an OID derived from a UUID (ITU-T X.667), naming yiyin's development TSA policy.
DEV_TSA_POLICY = "2.25.208166837389011587016431296542813337301"


def _rejection(reason: str) -> bytes:
    """TimeStampResp with only a status: asn1crypto's model insists on a token, so the SEQUENCE
    around the PKIStatusInfo is written here."""
    status = tsp.PKIStatusInfo({"status": "rejection", "fail_info": tsp.PKIFailureInfo({reason})}).dump()
    return core.Sequence.load(b"\x30" + _der_length(len(status)) + status).dump()


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


class BuiltinTSA(TimeStamper):
    def __init__(self, signer: signers.SimpleSigner, policy: str = DEV_TSA_POLICY) -> None:
        super().__init__(include_nonce=True)
        self.signer = signer
        self.policy = policy

    @property
    def cert(self) -> x509.Certificate:
        return self.signer.signing_cert

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        if req["message_imprint"]["hash_algorithm"]["algorithm"].native not in ("sha256", "sha384", "sha512"):
            return tsp.TimeStampResp.load(_rejection("bad_alg"))
        info: dict[str, object] = {
            "version": "v1",
            "policy": self.policy,
            "message_imprint": req["message_imprint"],
            "serial_number": secrets.randbits(63),
            "gen_time": core.GeneralizedTime(datetime.now(timezone.utc)),
            "accuracy": {"seconds": 1},
            "ordering": False,
            "tsa": x509.GeneralName(name="directory_name", value=self.cert.subject),
        }
        if req["nonce"].native is not None:
            info["nonce"] = req["nonce"]
        content = cms.EncapsulatedContentInfo({
            "content_type": "tst_info",
            "content": cms.ParsableOctetString(tsp.TSTInfo(info).dump()),
        })
        token = await self.signer.async_sign_general_data(content, "sha256", detached=False, use_cades=True)
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})

    async def async_respond(self, request_der: bytes) -> bytes:
        """RFC 3161 over HTTP: application/timestamp-query in, application/timestamp-reply out."""
        try:
            req = tsp.TimeStampReq.load(request_der)
            req.native  # parse fully: a malformed request is rejected, not half-read
        except (ValueError, TypeError):
            return _rejection("bad_data_format")
        return (await self.async_request_tsa_response(req)).dump()

    def respond(self, request_der: bytes) -> bytes:
        return asyncio.run(self.async_respond(request_der))


__all__ = ["BuiltinTSA", "DEV_TSA_POLICY"]
