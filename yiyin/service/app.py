"""One running yiyin: settings, database, fonts, renderer, document store and seal keys.

On first use the data directory is created with the registry, the sample catalogue and a
development PKI (root CA and one seal per registered seal of the bureau).
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.api import TimeStamper
from sqlalchemy import make_url, select

from yiyin.config import BUREAU_TIME, Settings
from yiyin.errors import ConfigurationError
from yiyin.registry import catalog
from yiyin.registry.db import Database
from yiyin.registry.staff import lock_trail
from yiyin.registry.models import Delegation, Item, Organ, Seal
from yiyin.service import catalogue
from yiyin.service.samples import load_json, samples_dir
from yiyin.service.storage import DocumentStore
from yiyin.signing.appearance import SealAppearanceSpec, appearance_file, standard_diameter_mm
from yiyin.signing.devpki import DevPKI, SealIdentity, write_pkcs12
from yiyin.signing.keystore import cert_fingerprint, load_pkcs12
from yiyin.signing.pades import RevocationMaterial, Sealer
from yiyin.signing.tsa import BuiltinTSA
from yiyin.templates.fonts import FontSet
from yiyin.templates.render import Renderer

APPROVAL_SEAL = "行政审批专用章"


@contextmanager
def _setting_up(home: Path) -> Iterator[None]:
    """One process at a time brings a data directory up to date: processes started together on a
    fresh one (server workers, batch workers, the command line) would otherwise each create a
    development CA, overwriting each other's files, and each a first seal."""
    with open(home / "setup.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _refuse_unless_set_up(settings: Settings, db: Database) -> None:
    """An audit opens only a registry that exists and is migrated to this version."""
    url = make_url(settings.db_url)
    missing = url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file()  # connecting would create it
    if missing or not db.is_current():
        db.dispose()
        raise ConfigurationError(f"数据目录 {settings.home} 的登记簿（{url.render_as_string(hide_password=True)}）尚未建立或尚未升级到本版本："
                                 f"核查不会改动它；请先运行一次 yiyin seal list 等命令完成建立或升级，再核查")


@dataclass
class App:
    settings: Settings
    db: Database
    fonts: FontSet
    renderer: Renderer
    store: DocumentStore
    bureau_id: str

    _sealers: dict[int, Sealer]
    _lock: threading.Lock
    _crl_cache: dict = field(default_factory=dict)
    #: the time acts are recorded at (UTC); an exercise of the bureau's calendar may set another
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc), repr=False)

    @classmethod
    def open(cls, settings: Settings | None = None, *, set_up: bool = True) -> "App":
        """The data directory's App; on first run (and after an upgrade) it is set up: schema
        migrated, development CA and seals created. ``set_up=False`` opens it for an audit, which
        must not write to what it checks: nothing is created or migrated, and a directory that
        is not set up, or not up to date, is refused."""
        settings = settings or Settings.from_env()
        if set_up:
            try:
                settings.home.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(f"无法创建数据目录 {settings.home}：{exc}；请用 YIYIN_HOME 指定一个可写的文件夹") from exc
        db = Database(settings.db_url)
        if not set_up:
            _refuse_unless_set_up(settings, db)
        organs_file = load_json(samples_dir() / "organs.json")
        fonts = FontSet.from_settings(settings.font_dirs, settings.body_fonts, settings.title_fonts)
        app = cls(settings=settings, db=db, fonts=fonts, renderer=Renderer(fonts), store=DocumentStore(settings.documents_dir),
                  bureau_id=str(organs_file["bureau"]), _sealers={}, _lock=threading.Lock())
        if set_up:
            with _setting_up(settings.home):
                db.migrate()
                app.pki  # noqa: B018 - the development CA, created here on first run
                app._bootstrap(organs_file)
        return app

    def close(self) -> None:
        self.db.dispose()

    # -- first run -------------------------------------------------------------------------

    def _bootstrap(self, organs_file: dict[str, Any]) -> None:
        # The sample catalogue fills in what is missing; what an operator changed is left alone.
        # Processes on other machines (PostgreSQL, a shared YIYIN_HOME) are not held by the file
        # lock of _setting_up: each transaction takes the log's lock first (seals take it anyway).
        with self.db.transaction() as s:
            lock_trail(s)
            for spec in organs_file["organs"]:
                if s.get(Organ, spec["id"]) is None:
                    catalog.upsert_organ(s, spec)
                else:
                    catalog.add_missing_numbering(s, spec["id"], spec.get("numbering", {}))
            for spec in load_json(samples_dir() / "items.json")["items"]:
                if s.get(Item, spec["code"]) is None:
                    catalog.upsert_item(s, spec)
            delegations = samples_dir() / "delegations.json"
            known = {(d.item_code, d.agreement_ref) for d in s.execute(select(Delegation)).scalars()}
            for spec in load_json(delegations)["delegations"] if delegations.exists() else []:
                if (spec["item_code"], spec["agreement_ref"]) not in known:
                    catalog.add_delegation(s, spec)
            catalogue.load_samples(s, samples_dir())  # combined matters and what the window needs per item
        with self.db.transaction() as s:
            lock_trail(s)
            for spec in organs_file["organs"]:
                organ = catalog.get_organ(s, spec["id"])
                for seal_spec in spec.get("seals", []):
                    # only an organ that never had this seal gets a development one: a seal the
                    # custodian revoked is replaced by the custodian (seal add), never here
                    exists = s.execute(select(Seal.id).where(Seal.organ_id == organ.id, Seal.purpose == seal_spec["purpose"])).first()
                    if not exists:
                        diameter = int(seal_spec.get("diameter_mm") or standard_diameter_mm(organ.division_code, organ.name))
                        self.create_dev_seal(s, organ, seal_spec["purpose"], diameter)

    @cached_property
    def pki(self) -> DevPKI:
        return DevPKI.load_or_create(self.settings.pki_dir)

    @cached_property
    def builtin_tsa(self) -> BuiltinTSA:
        """The built-in RFC 3161 time-stamping authority (development certificate)."""
        return self.pki.tsa()

    @cached_property
    def tsa(self) -> TimeStamper:
        """The TSA seals are timestamped by: the one at YIYIN_TSA_URL, else the built-in one."""
        if self.settings.tsa_url:
            return HTTPTimeStamper(self.settings.tsa_url, timeout=10)
        return self.builtin_tsa

    def _tsa_chain_size(self) -> int:
        if isinstance(self.tsa, BuiltinTSA):
            return sum(len(c.dump()) for c in [self.tsa.cert, *self.tsa.signer.cert_registry])
        return 8192  # an outside TSA's chain is unknown until it answers: reserve generously

    def create_dev_seal(self, session, organ: Organ, purpose: str, diameter_mm: int, *,  # type: ignore[no-untyped-def]
                        actor: str = "system", reason: str = "development seal") -> Seal:
        """A seal whose key and certificate come from the development CA, registered in ``session``."""
        ca = self.pki.ca
        key, cert = ca.issue_seal(SealIdentity(organ=organ.name, uscc=organ.uscc, purpose=purpose,
                                               province=organ.province, city=organ.city),
                                  crl_url=f"{self.settings.public_url}/pki/crl", ocsp_url=f"{self.settings.public_url}/pki/ocsp")
        fingerprint = cert_fingerprint(cert.public_bytes(serialization.Encoding.DER))
        rel = Path("pki") / "seals" / f"{organ.id}-{fingerprint[:12]}.p12"
        write_pkcs12(self.settings.home / rel, f"{organ.name}{purpose}", key, cert, [ca.cert])
        try:
            return catalog.register_seal(
                session, organ.id, purpose, cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), fingerprint,
                f"pkcs12:{rel.as_posix()}", cert.not_valid_before_utc, cert.not_valid_after_utc, diameter_mm,
                actor=actor, reason=reason)
        except BaseException:  # a key that no registered seal names is only a risk
            for path in (self.settings.home / rel, (self.settings.home / rel).with_suffix(".pass")):
                path.unlink(missing_ok=True)
            raise

    def create_hsm_seal(self, session, organ: Organ, purpose: str, diameter_mm: int, location: str, *,  # type: ignore[no-untyped-def]
                        actor: str = "system") -> Seal:
        """A seal whose key is generated inside a PKCS#11 token; the CA certifies its public key and
        the certificate is stored on the token beside the key."""
        from yiyin.signing import hsm

        loc = hsm.Pkcs11Location.parse(location)
        public_key = hsm.generate_key(loc)
        cert = self.pki.ca.issue_seal_certificate(
            SealIdentity(organ=organ.name, uscc=organ.uscc, purpose=purpose, province=organ.province, city=organ.city),
            public_key, crl_url=f"{self.settings.public_url}/pki/crl", ocsp_url=f"{self.settings.public_url}/pki/ocsp")
        hsm.store_certificate(loc, cert)
        fingerprint = cert_fingerprint(cert.public_bytes(serialization.Encoding.DER))
        return catalog.register_seal(
            session, organ.id, purpose, cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), fingerprint,
            str(loc), cert.not_valid_before_utc, cert.not_valid_after_utc, diameter_mm, actor=actor,
            reason="key generated in the PKCS#11 token")

    # -- trust and keys --------------------------------------------------------------------

    def trust_roots(self) -> list[asn1_x509.Certificate]:
        """The anchors a seal of this bureau must chain to: the CA certificates in the PKI folder."""
        roots = []
        for path in sorted(self.settings.pki_dir.glob("*ca.crt.pem")):
            data = path.read_bytes()
            for _, _, der in pem.unarmor(data, multiple=True):
                roots.append(asn1_x509.Certificate.load(der))
        if not roots:
            raise ConfigurationError(f"{self.settings.pki_dir} 中没有信任锚（根证书，文件名为 *ca.crt.pem）")
        return roots

    def revoked_serials(self) -> list[tuple[int, datetime]]:
        """(certificate serial, revocation time) of every revoked seal, from the seal registry."""
        with self.db.session() as s:
            rows = s.execute(select(Seal.cert_pem, Seal.revoked_at).where(Seal.revoked_at.is_not(None))).all()
        return sorted((x509.load_pem_x509_certificate(pem.encode()).serial_number, catalog.aware(at)) for pem, at in rows)

    def current_crls(self) -> list[bytes]:
        """The development CA's CRL as of now, built from the seal registry (cached until it changes)."""
        revoked = self.revoked_serials()
        key = tuple(revoked)
        with self._lock:
            if self._crl_cache.get("key") != key:
                crl = self.pki.ca.crl(revoked, number=len(revoked) + 1)
                self._crl_cache = {"key": key, "der": crl.public_bytes(serialization.Encoding.DER)}
            return [self._crl_cache["der"]]

    def revocation_material(self) -> RevocationMaterial:
        return RevocationMaterial(trust_roots=self.trust_roots(), crls=self.current_crls())

    def sealer(self, seal: Seal, organ_name: str) -> Sealer:
        """A ready sealer for a registered seal: key opened and appearance drawn once."""
        with self._lock:
            if seal.id in self._sealers:
                return self._sealers[seal.id]
            scheme, _, location = seal.key_location.partition(":")
            if scheme == "pkcs12":
                key = load_pkcs12(self.settings.home / location)
            elif scheme == "pkcs11":
                from yiyin.signing import hsm

                key = hsm.open_seal_key(seal.key_location, self.trust_roots())
            else:
                raise ConfigurationError(f"印章 {seal.id}：不支持密钥位置类型 {scheme!r}（只支持 pkcs12 或 pkcs11）")
            if key.fingerprint != seal.cert_fingerprint:
                raise ConfigurationError(f"印章 {seal.id}：密钥库中的证书与备案的证书不一致，不能用它盖章；请核对密钥位置（{seal.key_location}）")
            spec = SealAppearanceSpec(organ=organ_name, purpose=seal.purpose, diameter_mm=seal.diameter_mm)
            path = appearance_file(spec, self.fonts.title, self.fonts.dirs, self.settings.home / "appearances")
            sealer = Sealer(key, path, spec.diameter_pt, timestamper=self.tsa, tsa_chain_size=self._tsa_chain_size())
            self._sealers[seal.id] = sealer
            return sealer

    def now(self) -> datetime:
        """Now, in UTC: every time yiyin stores is UTC, on PostgreSQL and SQLite alike."""
        return self.clock()

    def today(self) -> date:
        """The bureau's date now (Beijing), which papers carry and numbering years follow."""
        return self.now().astimezone(BUREAU_TIME).date()
