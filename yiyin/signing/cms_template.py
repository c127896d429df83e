"""CMS SignedData for PAdES seals, assembled from DER pieces prepared once per seal key.

For one seal every document's CMS structure is the same except for the message digest, the
signature value and (B-T) the signature timestamp. pyHanko builds the structure once here, with
a marker in place of the digest; each document then costs one hash, one signature and a few
byte concatenations instead of a full asn1crypto construction (twice, with a dry run).

What the template holds is exactly what pyHanko puts in a PAdES signature: the signed attributes
content-type, message-digest and signing-certificate-v2 (ETSI EN 319 122-1), no signing-time.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable

from asn1crypto import cms, core
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign import signers
from pyhanko.sign.timestamps.api import TimeStamper

from yiyin.errors import SealingError

DIGEST = "sha256"
DIGEST_SIZE = 32
_TIMESTAMP_TOKEN_OID = core.ObjectIdentifier("1.2.840.113549.1.9.16.2.14").dump()
REQUIRED_ATTRIBUTES = {"content_type", "message_digest", "signing_certificate_v2"}


def der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + der_length(len(content)) + content


def _raw_signer(signer: signers.Signer) -> Callable[[bytes], bytes]:
    """A function signing bytes with the seal key. For a key in memory the key object is loaded
    once (pyHanko loads it from DER on every signature); an HSM signs through pyHanko's session."""
    mechanism = signer.get_signature_mechanism_for_digest(DIGEST)["algorithm"].native
    if isinstance(signer, signers.SimpleSigner) and signer.signing_key is not None:
        key = serialization.load_der_private_key(signer.signing_key.dump(), password=None)
        if mechanism == "sha256_ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return lambda data: key.sign(data, ec.ECDSA(hashes.SHA256()))
        if mechanism == "sha256_rsa" and isinstance(key, rsa.RSAPrivateKey):
            return lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return lambda data: asyncio.run(signer.async_sign_raw(data, DIGEST))


class SignedDataTemplate:
    """The CMS SignedData of one seal key, ready to be completed for any document digest."""

    def __init__(self, signer: signers.Signer) -> None:
        marker = secrets.token_bytes(DIGEST_SIZE)
        try:
            sample: cms.ContentInfo = asyncio.run(signer.async_sign(marker, DIGEST, use_pades=True))
        except Exception as exc:
            raise SealingError(f"印章密钥无法签名：{type(exc).__name__}: {exc}") from exc
        signed_data = sample["content"]
        (info,) = signed_data["signer_infos"]
        kinds = {attr["type"].native for attr in info["signed_attrs"]}
        if not REQUIRED_ATTRIBUTES <= kinds or "signing_time" in kinds:
            raise SealingError(f"签名设备给出的 PAdES 签名属性不符合要求：{sorted(kinds)}")
        attrs = info["signed_attrs"].dump()  # [0] IMPLICIT SET OF Attribute
        if attrs.count(marker) != 1:
            raise SealingError("签名属性模板中的消息摘要不是恰好一处，无法使用")
        self._attrs_head, self._attrs_tail = attrs.split(marker)
        self._content_type = sample["content_type"].dump()
        self._signed_data_head = b"".join(signed_data[k].dump() for k in
                                          ("version", "digest_algorithms", "encap_content_info", "certificates"))
        if signed_data["crls"].native:
            self._signed_data_head += signed_data["crls"].dump()
        self._info_head = b"".join(info[k].dump() for k in ("version", "sid", "digest_algorithm"))
        self._signature_algorithm = info["signature_algorithm"].dump()
        self._sign = _raw_signer(signer)

    def signed_attributes(self, digest: bytes) -> bytes:
        """DER of the signed attributes as hashed for the signature (tagged as a SET)."""
        if len(digest) != DIGEST_SIZE:
            raise SealingError(f"消息摘要须为 {DIGEST_SIZE} 字节的 SHA-256，实为 {len(digest)} 字节")
        return b"\x31" + (self._attrs_head + digest + self._attrs_tail)[1:]

    def build(self, digest: bytes, timestamper: TimeStamper | None = None) -> bytes:
        """DER of the complete ContentInfo for a document whose signed bytes hash to ``digest``;
        with a timestamper, the signature value carries an RFC 3161 signature timestamp (B-T)."""
        signed_attrs = self.signed_attributes(digest)
        signature = self._sign(signed_attrs)
        unsigned = b""
        if timestamper is not None:
            token = asyncio.run(timestamper.async_timestamp(hashlib.sha256(signature).digest(), DIGEST))
            # Attribute ::= SEQUENCE { id-aa-signatureTimeStampToken, SET { token } }, from the
            # token's DER (asn1crypto would serialise a freshly built token again for each level)
            attribute = tlv(0x30, _TIMESTAMP_TOKEN_OID + tlv(0x31, token.dump()))
            unsigned = tlv(0xA1, attribute)
        info = tlv(0x30, self._info_head + b"\xa0" + signed_attrs[1:] + self._signature_algorithm
                   + tlv(0x04, signature) + unsigned)
        signed_data = tlv(0x30, self._signed_data_head + tlv(0x31, info))
        return tlv(0x30, self._content_type + tlv(0xA0, signed_data))
