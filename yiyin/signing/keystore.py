"""Where seal keys live. PKCS#12 files are the embedded default."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from pyhanko.sign import signers

from yiyin.errors import ConfigurationError


@dataclass(frozen=True)
class SealKey:
    """A ready signer and the certificate it signs with."""

    signer: signers.Signer
    cert: asn1_x509.Certificate

    @property
    def fingerprint(self) -> str:
        return cert_fingerprint(self.cert.dump())

    @property
    def chain_size(self) -> int:
        """Bytes of DER the CMS structure will carry for certificates."""
        certs = list(getattr(self.signer, "cert_registry", []) or [])
        return sum(len(c.dump()) for c in certs) or len(self.cert.dump())


def cert_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def load_pkcs12(path: Path, passphrase: bytes | None = None) -> SealKey:
    if not path.is_file():  # pyHanko would log a traceback and answer "no key"
        raise ConfigurationError(f"密钥文件 {path} 不存在：印章的密钥文件被移走或删除，请从备份恢复到该位置，或重新备案印章")
    if passphrase is None:
        pass_file = path.with_suffix(".pass")
        if not pass_file.exists():
            raise ConfigurationError(f"密钥文件 {path} 无法打开：未给出口令，旁边也没有口令文件 {pass_file.name}")
        passphrase = pass_file.read_bytes().strip()
    try:
        signer = signers.SimpleSigner.load_pkcs12(str(path), passphrase=passphrase)
    except Exception as exc:  # pyHanko reports bad passphrases and broken files alike
        raise ConfigurationError(f"密钥文件 {path} 无法打开（口令不对或文件已损坏）：{exc}") from exc
    if signer is None or signer.signing_cert is None:
        raise ConfigurationError(f"密钥文件 {path} 中没有密钥和证书")
    return SealKey(signer=signer, cert=signer.signing_cert)
