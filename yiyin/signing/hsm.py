"""Seal keys in a PKCS#11 HSM: the production path. Tested against SoftHSM2.

A key location names the PKCS#11 module, the token, the key and where the user PIN comes from:

    pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=yiyin;key=seal-1;pin-env=YIYIN_HSM_PIN
    pkcs11:module=...;token=...;key=...;pin-file=/run/secrets/hsm-pin

The PIN itself is never part of the location, the registry or the code. A session is opened
once per token and reused for every seal; the private key never leaves the token (it is
generated there, sensitive and not extractable).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pkcs11
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
from pyhanko.sign.pkcs11 import PKCS11Signer

from yiyin.errors import ConfigurationError
from yiyin.signing.keystore import SealKey

SCHEME = "pkcs11:"
_REQUIRED = ("module", "token", "key")


@dataclass(frozen=True)
class Pkcs11Location:
    module: str
    token: str
    key: str
    pin_env: str = ""
    pin_file: str = ""

    @classmethod
    def parse(cls, location: str) -> "Pkcs11Location":
        if not location.startswith(SCHEME):
            raise ConfigurationError(f"密钥位置 {location!r} 不是 PKCS#11 位置（须以 {SCHEME} 开头）")
        parts: dict[str, str] = {}
        for item in filter(None, location[len(SCHEME):].split(";")):
            name, sep, value = item.partition("=")
            if not sep or not value:
                raise ConfigurationError(f"PKCS#11 位置中的 {item!r} 格式不对，须写成 名称=值（如 token=yiyin）")
            parts[name.strip()] = value.strip()
        missing = [p for p in _REQUIRED if p not in parts]
        if missing:
            raise ConfigurationError(f"PKCS#11 位置缺少 {'、'.join(missing)}（须写明 module、token、key，以及 pin-env 或 pin-file）")
        if ("pin-env" in parts) == ("pin-file" in parts):
            raise ConfigurationError("PKCS#11 位置须写明 pin-env 或 pin-file 中的一个（只能一个）；PIN 本身不得写在位置中")
        unknown = set(parts) - {*_REQUIRED, "pin-env", "pin-file"}
        if unknown:
            raise ConfigurationError(f"PKCS#11 位置含有无法识别的部分 {sorted(unknown)}（只可有 module、token、key、pin-env、pin-file）")
        return cls(parts["module"], parts["token"], parts["key"], parts.get("pin-env", ""), parts.get("pin-file", ""))

    def __str__(self) -> str:
        pin = f"pin-env={self.pin_env}" if self.pin_env else f"pin-file={self.pin_file}"
        return f"{SCHEME}module={self.module};token={self.token};key={self.key};{pin}"

    def pin(self) -> str:
        if self.pin_env:
            value = os.environ.get(self.pin_env, "")
            if not value:
                raise ConfigurationError(f"硬件安全模块（HSM）的用户 PIN 应由环境变量 {self.pin_env} 提供，但该变量未设置或为空；请设置后重试")
            return value
        try:
            return Path(self.pin_file).read_text().strip()
        except OSError as exc:
            raise ConfigurationError(f"无法读取硬件安全模块（HSM）的用户 PIN 文件 {self.pin_file}：{exc.strerror}") from None


class _Sessions:
    """One logged-in session per (module, token), shared by every seal on that token."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[tuple[str, str], pkcs11.Session] = {}

    def get(self, loc: Pkcs11Location) -> pkcs11.Session:
        key = (loc.module, loc.token)
        with self._lock:
            if key not in self._open:
                if not Path(loc.module).exists():
                    raise ConfigurationError(f"PKCS#11 模块 {loc.module} 不存在；请核对 module= 的路径")
                try:
                    token = pkcs11.lib(loc.module).get_token(token_label=loc.token)
                except pkcs11.NoSuchToken:
                    raise ConfigurationError(f"PKCS#11 模块 {loc.module} 中没有标签为 {loc.token!r} 的令牌；请核对 token= 是否与令牌标签一致") from None
                try:
                    self._open[key] = token.open(user_pin=loc.pin(), rw=True)
                except pkcs11.PinIncorrect:
                    raise ConfigurationError(f"硬件安全模块（HSM）拒绝了令牌 {loc.token!r} 的用户 PIN（PIN 不正确）；请核对 PIN") from None
            return self._open[key]

    def close_all(self) -> None:
        with self._lock:
            for session in self._open.values():
                session.close()
            self._open.clear()


SESSIONS = _Sessions()


def generate_key(loc: Pkcs11Location) -> ec.EllipticCurvePublicKey:
    """Generate an EC P-256 seal key inside the token (sensitive, never extractable)."""
    session = SESSIONS.get(loc)
    if list(session.get_objects({Attribute.LABEL: loc.key, Attribute.CLASS: ObjectClass.PRIVATE_KEY})):
        raise ConfigurationError(f"令牌 {loc.token!r} 中已有标签为 {loc.key!r} 的密钥；请换一个密钥标签（key=）")
    params = session.create_domain_parameters(KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
    public, _private = params.generate_keypair(
        store=True, label=loc.key, id=loc.key.encode(),
        private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True},
    )
    key = serialization.load_der_public_key(encode_ec_public_key(public))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def store_certificate(loc: Pkcs11Location, cert: x509.Certificate) -> None:
    """Keep the seal's certificate on the token beside its key (same label and id)."""
    SESSIONS.get(loc).create_object({
        Attribute.CLASS: ObjectClass.CERTIFICATE,
        Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
        Attribute.TOKEN: True,
        Attribute.LABEL: loc.key,
        Attribute.ID: loc.key.encode(),
        Attribute.SUBJECT: cert.subject.public_bytes(),
        Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
    })


def open_seal_key(location: str, chain: list[asn1_x509.Certificate]) -> SealKey:
    """A ready signer for a key in an HSM; the session stays open for the next seal."""
    loc = Pkcs11Location.parse(location)
    session = SESSIONS.get(loc)
    if not list(session.get_objects({Attribute.LABEL: loc.key, Attribute.CLASS: ObjectClass.PRIVATE_KEY})):
        raise ConfigurationError(f"令牌 {loc.token!r} 中没有标签为 {loc.key!r} 的私钥；请核对 key= 是否与备案时的密钥标签一致")
    try:
        # The digest is computed here and the token signs it with plain CKM_ECDSA: SoftHSM2 and many
        # HSMs do not offer the combined hash-and-sign mechanism, and the key never leaves either way.
        signer = PKCS11Signer(session, cert_label=loc.key, key_label=loc.key, ca_chain=chain, use_raw_mechanism=True)
        cert = signer.signing_cert
    except Exception as exc:
        raise ConfigurationError(f"令牌 {loc.token!r} 上的印章密钥 {loc.key!r} 无法使用：{exc}") from exc
    return SealKey(signer=signer, cert=cert)
