"""A development CA and seal keys, created at run time in the data directory.

Everything here is marked as development-only in the certificate names themselves, so that a
document sealed with it can never be mistaken for one sealed under the bureau's real CA.
Keys are written with mode 0600 and never leave the data directory.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from yiyin.signing.tsa import BuiltinTSA

DEV_MARK = "仅供开发测试 DEVELOPMENT ONLY"
ROOT_CN = f"yiyin 开发根证书 ({DEV_MARK})"
ORGANIZATION_IDENTIFIER = ObjectIdentifier("2.5.4.97")  # ETSI EN 319 412-1 organizationIdentifier


@dataclass(frozen=True)
class SealIdentity:
    """Who a seal certificate names: the organ, its unified social credit code and the seal's purpose."""

    organ: str
    uscc: str
    purpose: str
    province: str = ""
    city: str = ""


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _name(*pairs: tuple[ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs if value])


@dataclass(frozen=True)
class DevCA:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def create(cls, now: datetime | None = None) -> "DevCA":
        now = now or datetime.now(timezone.utc)
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name((NameOID.COUNTRY_NAME, "CN"), (NameOID.ORGANIZATION_NAME, "yiyin development"), (NameOID.COMMON_NAME, ROOT_CN))
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * 10))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key=key, cert=cert)

    def save(self, directory: Path) -> None:
        _write_private(directory / "root-ca.key.pem", self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (directory / "root-ca.crt.pem").write_bytes(self.cert_pem)

    @classmethod
    def load(cls, directory: Path) -> "DevCA":
        key = serialization.load_pem_private_key((directory / "root-ca.key.pem").read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return cls(key=key, cert=x509.load_pem_x509_certificate((directory / "root-ca.crt.pem").read_bytes()))

    def _leaf(self, subject: x509.Name, public_key: ec.EllipticCurvePublicKey, *, days: int, now: datetime | None,
              usage: x509.KeyUsage, extended: list[ObjectIdentifier] | None = None,
              crl_url: str = "", ocsp_url: str = "", ocsp_nocheck: bool = False) -> x509.Certificate:
        now = now or datetime.now(timezone.utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        )
        if extended:
            builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=True)
        if crl_url:
            builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None, reasons=None, crl_issuer=None)]),
                critical=False)
        if ocsp_url:
            builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))]), critical=False)
        if ocsp_nocheck:
            builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def issue_tsa(self, name: str = "yiyin 内置时间戳服务", *, now: datetime | None = None) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        """Certificate of the built-in RFC 3161 time-stamping authority (EKU timeStamping, critical)."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _name((NameOID.COUNTRY_NAME, "CN"), (NameOID.ORGANIZATION_NAME, "yiyin development"),
                        (NameOID.ORGANIZATIONAL_UNIT_NAME, DEV_MARK), (NameOID.COMMON_NAME, name))
        usage = x509.KeyUsage(True, True, False, False, False, False, False, False, False)
        return key, self._leaf(subject, key.public_key(), days=365 * 10 - 1, now=now, usage=usage,
                               extended=[ExtendedKeyUsageOID.TIME_STAMPING])

    def issue_ocsp_responder(self, *, now: datetime | None = None) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        """Delegated OCSP responder certificate (EKU OCSPSigning, id-pkix-ocsp-nocheck)."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _name((NameOID.COUNTRY_NAME, "CN"), (NameOID.ORGANIZATION_NAME, "yiyin development"),
                        (NameOID.ORGANIZATIONAL_UNIT_NAME, DEV_MARK), (NameOID.COMMON_NAME, "yiyin OCSP 响应服务"))
        usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
        return key, self._leaf(subject, key.public_key(), days=365, now=now, usage=usage,
                               extended=[ExtendedKeyUsageOID.OCSP_SIGNING], ocsp_nocheck=True)

    def crl(self, revoked: list[tuple[int, datetime]], *, number: int, now: datetime | None = None,
            next_update: timedelta = timedelta(days=7)) -> x509.CertificateRevocationList:
        """A CRL listing ``(serial, revocation time)``; published by yiyin's own HTTP service."""
        now = now or datetime.now(timezone.utc)
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.cert.subject)
                   .last_update(now - timedelta(minutes=1)).next_update(now + next_update)
                   .add_extension(x509.CRLNumber(number), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False))
        for serial, when in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build())
        return builder.sign(self.key, hashes.SHA256())

    def issue_seal(self, who: SealIdentity, *, years: int = 3, now: datetime | None = None,
                   key: ec.EllipticCurvePrivateKey | None = None, crl_url: str = "",
                   ocsp_url: str = "") -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        """A new seal key with its certificate (the key is generated here unless given)."""
        key = key or ec.generate_private_key(ec.SECP256R1())
        cert = self.issue_seal_certificate(who, key.public_key(), years=years, now=now, crl_url=crl_url, ocsp_url=ocsp_url)
        return key, cert

    def issue_seal_certificate(self, who: SealIdentity, public_key: ec.EllipticCurvePublicKey, *, years: int = 3,
                               now: datetime | None = None, crl_url: str = "", ocsp_url: str = "") -> x509.Certificate:
        """A seal certificate for a key held elsewhere (an HSM): the organ as subject, signing for
        non-repudiation (content commitment)."""
        subject = _name(
            (NameOID.COUNTRY_NAME, "CN"),
            (NameOID.STATE_OR_PROVINCE_NAME, who.province),
            (NameOID.LOCALITY_NAME, who.city),
            (NameOID.ORGANIZATION_NAME, who.organ),
            (ORGANIZATION_IDENTIFIER, f"NTRCN-{who.uscc}"),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, DEV_MARK),
            (NameOID.COMMON_NAME, f"{who.organ}{who.purpose}"),
        )
        usage = x509.KeyUsage(True, True, False, False, False, False, False, False, False)
        return self._leaf(subject, public_key, days=365 * years, now=now, usage=usage, crl_url=crl_url, ocsp_url=ocsp_url)


def write_pkcs12(path: Path, name: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate,
                 chain: list[x509.Certificate]) -> str:
    """Write a PKCS#12 keystore protected by a fresh random passphrase, kept beside it (0600)."""
    passphrase = secrets.token_urlsafe(24)
    blob = pkcs12.serialize_key_and_certificates(
        name.encode("utf-8"), key, cert, chain,
        serialization.BestAvailableEncryption(passphrase.encode("ascii")),
    )
    _write_private(path, blob)
    _write_private(path.with_suffix(".pass"), passphrase.encode("ascii"))
    return passphrase


def _save_key_cert(directory: Path, stem: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    _write_private(directory / f"{stem}.key.pem", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (directory / f"{stem}.crt.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _load_key_cert(directory: Path, stem: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key((directory / f"{stem}.key.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key, x509.load_pem_x509_certificate((directory / f"{stem}.crt.pem").read_bytes())


@dataclass(frozen=True)
class DevPKI:
    """The development CA with the time-stamping authority and OCSP responder it certifies."""

    ca: DevCA
    tsa_key: ec.EllipticCurvePrivateKey
    tsa_cert: x509.Certificate
    ocsp_key: ec.EllipticCurvePrivateKey
    ocsp_cert: x509.Certificate

    @classmethod
    def load_or_create(cls, directory: Path) -> "DevPKI":
        directory.mkdir(parents=True, exist_ok=True)
        if (directory / "root-ca.crt.pem").exists():
            ca = DevCA.load(directory)
        else:
            ca = DevCA.create()
            ca.save(directory)
        parts = {}
        for stem, issue in (("tsa", ca.issue_tsa), ("ocsp", ca.issue_ocsp_responder)):
            if not (directory / f"{stem}.crt.pem").exists():
                _save_key_cert(directory, stem, *issue())
            parts[stem] = _load_key_cert(directory, stem)
        return cls(ca, *parts["tsa"], *parts["ocsp"])

    def tsa(self) -> BuiltinTSA:
        der = lambda c: c.public_bytes(serialization.Encoding.DER)  # noqa: E731
        signer = signers.SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(der(self.tsa_cert)),
            signing_key=asn1_keys.PrivateKeyInfo.load(self.tsa_key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
            cert_registry=SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(der(self.ca.cert))]),
        )
        return BuiltinTSA(signer)
