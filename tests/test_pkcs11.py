"""The PKCS#11 key path at the signing layer, against a real SoftHSM2 token.

A token is created in a temp dir (its own SOFTHSM2_CONF and token directory, PINs generated now), an
EC P-256 key is generated inside it, a fresh development CA certifies the public key read from the
token, and real PDFs are sealed through ``Sealer`` and checked by yiyin's validator and by poppler.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization

from yiyin.errors import ConfigurationError
from yiyin.service.app import APPROVAL_SEAL, App
from yiyin.service.samples import resolve_dates
from yiyin.signing.appearance import SealAppearanceSpec, appearance_file
from yiyin.signing.devpki import DevCA, SealIdentity
from yiyin.signing.pades import SealPlacement, SealRequest, Sealer
from yiyin.signing.validate import validate_pdf

from . import attacks
from .test_document_data import SAMPLE

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN_ENV = "YIYIN_TEST_PKCS11_PIN"
BUREAU = SealIdentity("台安县行政审批局", "11210321MB15990271", APPROVAL_SEAL, province="辽宁省", city="鞍山市")


@pytest.fixture(scope="session")
def softhsm() -> str:
    """SoftHSM2 must be there: installed from Debian when missing and we are root, else a clear failure."""
    if shutil.which("softhsm2-util") and Path(MODULE).exists():
        return MODULE
    if os.geteuid() != 0:
        pytest.fail("SoftHSM2 is missing (softhsm2-util or libsofthsm2.so): run `sudo apt-get install softhsm2` "
                    "or `make sysdeps` as root", pytrace=False)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "softhsm2"]
    if subprocess.run(install, capture_output=True, env=env).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True, env=env)
        done = subprocess.run(install, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            pytest.fail(f"apt-get install softhsm2 failed: {done.stderr.strip()}", pytrace=False)
    if not (shutil.which("softhsm2-util") and Path(MODULE).exists()):
        pytest.fail(f"softhsm2 installed but {MODULE} or softhsm2-util is still missing", pytrace=False)
    return MODULE


def _restart_module() -> None:
    """Close every cached session and finalize the module, so that SoftHSM2 reads SOFTHSM2_CONF
    again at the next use (python-pkcs11 keeps one module object per path for the process)."""
    import pkcs11

    from yiyin.signing import hsm

    hsm.SESSIONS.close_all()
    pkcs11.lib(MODULE).finalize()


@dataclass(frozen=True)
class Token:
    label: str
    dir: Path

    def location(self, key: str, *, token: str | None = None, pin: str | None = None) -> str:
        pin = pin or f"pin-env={PIN_ENV}"
        return f"pkcs11:module={MODULE};token={token or self.label};key={key};{pin}"


@pytest.fixture(scope="module")
def token(softhsm: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Token]:
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    label = f"yiyin-{secrets.token_hex(3)}"
    pin, so_pin = secrets.token_hex(8), secrets.token_hex(8)
    saved = {name: os.environ.get(name) for name in ("SOFTHSM2_CONF", PIN_ENV)}
    os.environ["SOFTHSM2_CONF"] = str(conf)
    os.environ[PIN_ENV] = pin
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
                   check=True, capture_output=True, env=os.environ)
    (root / "pin").write_text(pin + "\n")
    (root / "pin").chmod(0o600)
    _restart_module()
    yield Token(label, root)
    _restart_module()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@dataclass(frozen=True)
class HsmSeal:
    location: str
    ca: DevCA
    cert_der: bytes

    @property
    def root(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.ca.cert.public_bytes(serialization.Encoding.DER))


def custodian_creates(token: Token, key_label: str) -> HsmSeal:
    """What the seal custodian does: key generated in the token, certified by the CA, certificate stored beside it."""
    from yiyin.signing import hsm

    location = token.location(key_label)
    loc = hsm.Pkcs11Location.parse(location)
    public_key = hsm.generate_key(loc)
    ca = DevCA.create()
    cert = ca.issue_seal_certificate(BUREAU, public_key)
    hsm.store_certificate(loc, cert)
    return HsmSeal(location, ca, cert.public_bytes(serialization.Encoding.DER))


@pytest.fixture(scope="module")
def seal(token: Token) -> HsmSeal:
    return custodian_creates(token, "approval-2026")


@pytest.fixture(scope="module")
def licence(app: App) -> tuple[bytes, SealPlacement]:
    """A real unsealed 药品经营许可证 rendered by yiyin, and where its seal goes."""
    entry = SAMPLE["documents"][1]
    return attacks.unsealed_licence(app, resolve_dates(copy.deepcopy(entry["data"]), date.today()))


@pytest.fixture(scope="module")
def appearance(app: App, tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = SealAppearanceSpec(organ=BUREAU.organ, purpose=BUREAU.purpose)
    return appearance_file(spec, app.fonts.title, app.fonts.dirs, tmp_path_factory.mktemp("appearance"))


def sealer_for(seal: HsmSeal, appearance: Path) -> Sealer:
    from yiyin.signing import hsm

    return Sealer(hsm.open_seal_key(seal.location, [seal.root]), appearance, 119)


def request(n: int = 1) -> SealRequest:
    return SealRequest(reason="准予行政许可", location="台安县", signer_name=f"{BUREAU.organ}{BUREAU.purpose}",
                       field_name=f"Seal{n}")


# -- the location string -------------------------------------------------------------------


@pytest.mark.parametrize(("location", "message"), [
    ("module=/x.so;token=t;key=k;pin-env=P", r"不是 PKCS#11 位置（须以 pkcs11: 开头）"),
    ("pkcs11:token=t;key=k;pin-env=P", "缺少 module"),
    ("pkcs11:module=/x.so;key=k;pin-env=P", "缺少 token"),
    ("pkcs11:module=/x.so;token=t;pin-env=P", "缺少 key"),
    ("pkcs11:module=/x.so;token=t;key=k", "pin-env 或 pin-file 中的一个"),
    ("pkcs11:module=/x.so;token=t;key=k;pin-env=P;pin-file=/f", "pin-env 或 pin-file 中的一个"),
    ("pkcs11:module=/x.so;token=t;key=k;pin=1234", "pin-env 或 pin-file 中的一个（只能一个）；PIN 本身不得写在位置中"),
    ("pkcs11:module=/x.so;token=t;key=k;pin-env=P;pin=1234", r"无法识别的部分 \['pin'\]"),
    ("pkcs11:module=/x.so;token=;key=k;pin-env=P", "'token=' 格式不对，须写成 名称=值"),
    ("pkcs11:module=/x.so;token=t;key;pin-env=P", "'key' 格式不对，须写成 名称=值"),
])
def test_a_bad_location_names_the_part_to_fix(location: str, message: str) -> None:
    from yiyin.signing import hsm

    with pytest.raises(ConfigurationError, match=message):
        hsm.Pkcs11Location.parse(location)


def test_a_location_reads_back_as_written() -> None:
    from yiyin.signing import hsm

    text = f"pkcs11:module={MODULE};token=yiyin;key=seal-1;pin-file=/run/secrets/hsm-pin"
    loc = hsm.Pkcs11Location.parse(text)
    assert (loc.module, loc.token, loc.key, loc.pin_env, loc.pin_file) == (MODULE, "yiyin", "seal-1", "", "/run/secrets/hsm-pin")
    assert str(loc) == text
    # the order of the parts does not matter
    assert hsm.Pkcs11Location.parse(f"pkcs11:pin-env=V;key=k;token=t;module={MODULE}") == hsm.Pkcs11Location(MODULE, "t", "k", "V")


def test_the_pin_comes_from_its_source_and_its_absence_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from yiyin.signing import hsm

    monkeypatch.setenv("YIYIN_TEST_SOME_PIN", "123456")
    assert hsm.Pkcs11Location.parse("pkcs11:module=/m;token=t;key=k;pin-env=YIYIN_TEST_SOME_PIN").pin() == "123456"
    (tmp_path / "pin").write_text("654321\n")
    assert hsm.Pkcs11Location.parse(f"pkcs11:module=/m;token=t;key=k;pin-file={tmp_path / 'pin'}").pin() == "654321"
    monkeypatch.delenv("YIYIN_TEST_NO_PIN", raising=False)
    with pytest.raises(ConfigurationError, match="环境变量 YIYIN_TEST_NO_PIN"):
        hsm.Pkcs11Location.parse("pkcs11:module=/m;token=t;key=k;pin-env=YIYIN_TEST_NO_PIN").pin()
    with pytest.raises(ConfigurationError, match=f"无法读取.*PIN 文件 {tmp_path / 'absent'}"):
        hsm.Pkcs11Location.parse(f"pkcs11:module=/m;token=t;key=k;pin-file={tmp_path / 'absent'}").pin()


def test_a_missing_module_is_named(token: Token) -> None:
    from yiyin.signing import hsm

    with pytest.raises(ConfigurationError, match="PKCS#11 模块 /nonexistent/libhsm.so 不存在"):
        hsm.open_seal_key(f"pkcs11:module=/nonexistent/libhsm.so;token={token.label};key=k;pin-env={PIN_ENV}", [])


# -- keys in the token ---------------------------------------------------------------------


def test_the_private_key_never_leaves_the_token(seal: HsmSeal, token: Token) -> None:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    from yiyin.signing import hsm

    session = hsm.SESSIONS.get(hsm.Pkcs11Location.parse(seal.location))
    private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label="approval-2026")
    assert private.key_type == pkcs11.KeyType.EC
    assert private[Attribute.TOKEN] and private[Attribute.PRIVATE] and private[Attribute.SIGN]
    assert private[Attribute.SENSITIVE] and private[Attribute.ALWAYS_SENSITIVE]
    assert not private[Attribute.EXTRACTABLE] and private[Attribute.NEVER_EXTRACTABLE]
    assert private[Attribute.LOCAL]  # generated inside the token, not imported
    with pytest.raises(pkcs11.AttributeSensitive):
        private[Attribute.VALUE]
    with pytest.raises(pkcs11.PKCS11Error):  # no wrapping it out either
        private[Attribute.EXTRACTABLE] = True

    # the certificate the CA issued sits on the token beside the key, for that key
    cert = session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: "approval-2026"})
    (cert,) = list(cert)
    assert cert[Attribute.VALUE] == seal.cert_der
    assert cert[Attribute.ID] == private[Attribute.ID]


def test_a_key_label_is_never_reused(seal: HsmSeal, token: Token) -> None:
    from yiyin.signing import hsm

    with pytest.raises(ConfigurationError, match="已有标签为 'approval-2026' 的密钥"):
        hsm.generate_key(hsm.Pkcs11Location.parse(seal.location))


# -- sealing -------------------------------------------------------------------------------


def test_a_licence_sealed_in_the_hsm_validates(seal: HsmSeal, licence: tuple[bytes, SealPlacement],
                                               appearance: Path, tmp_path: Path) -> None:
    sealer = sealer_for(seal, appearance)
    assert sealer.key.cert.dump() == seal.cert_der
    pdf, placement = licence
    sealed = sealer.seal(pdf, placement, request())

    result = validate_pdf(sealed, [seal.root])
    assert result.ok, [s.to_json() for s in result.signatures]
    (report,) = result.seals
    assert report.trusted and report.intact
    assert report.to_json()["signer_fingerprint"] == hashlib.sha256(seal.cert_der).hexdigest()

    # a root the seal does not chain to is not trusted
    other = asn1_x509.Certificate.load(DevCA.create().cert.public_bytes(serialization.Encoding.DER))
    assert not validate_pdf(sealed, [other]).ok

    path = tmp_path / "hsm-sealed.pdf"
    path.write_bytes(sealed)
    out = subprocess.run(["pdfsig", "-nocert", str(path)], capture_output=True, text=True).stdout
    sig = out.split("Signature #1")[1]
    assert "Signature is Valid" in sig, out
    assert "Total document signed" in sig, out
    assert f"{BUREAU.organ}{BUREAU.purpose}" in sig
    assert re.search(r"Signature Type: ETSI\.CAdES\.detached", sig), out


def test_one_opened_key_seals_many_documents(seal: HsmSeal, licence: tuple[bytes, SealPlacement],
                                             appearance: Path) -> None:
    from yiyin.signing import hsm

    loc = hsm.Pkcs11Location.parse(seal.location)
    session = hsm.SESSIONS.get(loc)
    sealer = sealer_for(seal, appearance)
    pdf, placement = licence
    docs = [sealer.seal(pdf, placement, request()) for _ in range(8)]
    with ThreadPoolExecutor(4) as pool:  # the service seals from several threads at once
        docs += list(pool.map(lambda _: sealer.seal(pdf, placement, request()), range(8)))
    assert hsm.SESSIONS.get(loc) is session  # never reopened, never logged in again
    assert len({hashlib.sha256(d).digest() for d in docs}) == len(docs)  # ECDSA: every seal its own
    for doc in docs:
        assert validate_pdf(doc, [seal.root]).ok

    # a second key opened on the same token shares the same logged-in session
    again = hsm.open_seal_key(seal.location, [seal.root])
    assert again.signer.pkcs11_session is session


def test_two_seals_on_one_token_each_sign_with_their_own_key(token: Token, seal: HsmSeal,
                                                            licence: tuple[bytes, SealPlacement], appearance: Path) -> None:
    second = custodian_creates(token, "archive-2026")
    pdf, placement = licence
    first_sealed = sealer_for(seal, appearance).seal(pdf, placement, request(1))
    both = sealer_for(second, appearance).seal(first_sealed, SealPlacement(placement.page, placement.x - 150, placement.y), request(2))
    result = validate_pdf(both, [seal.root, second.root])
    assert result.ok and len(result.seals) == 2
    fingerprints = [s.to_json()["signer_fingerprint"] for s in result.seals]
    assert fingerprints == [hashlib.sha256(seal.cert_der).hexdigest(), hashlib.sha256(second.cert_der).hexdigest()]


def test_the_pin_can_come_from_a_file(token: Token, seal: HsmSeal, licence: tuple[bytes, SealPlacement],
                                      appearance: Path) -> None:
    from yiyin.signing import hsm

    _restart_module()  # no session left from the environment-variable PIN
    location = token.location("approval-2026", pin=f"pin-file={token.dir / 'pin'}")
    sealer = Sealer(hsm.open_seal_key(location, [seal.root]), appearance, 119)
    pdf, placement = licence
    assert validate_pdf(sealer.seal(pdf, placement, request()), [seal.root]).ok


def test_sessions_close_and_reopen(token: Token, seal: HsmSeal, licence: tuple[bytes, SealPlacement],
                                   appearance: Path) -> None:
    from yiyin.signing import hsm

    hsm.SESSIONS.close_all()
    assert not hsm.SESSIONS._open
    hsm.SESSIONS.close_all()  # closing twice is harmless
    pdf, placement = licence
    assert validate_pdf(sealer_for(seal, appearance).seal(pdf, placement, request()), [seal.root]).ok


# -- what an operator gets wrong -----------------------------------------------------------


def test_wrong_pin_is_refused_clearly(token: Token, seal: HsmSeal, monkeypatch: pytest.MonkeyPatch) -> None:
    from yiyin.signing import hsm

    hsm.SESSIONS.close_all()
    monkeypatch.setenv("YIYIN_TEST_WRONG_PIN", "0" * 16)
    with pytest.raises(ConfigurationError, match=f"拒绝了令牌 '{token.label}' 的用户 PIN"):
        hsm.open_seal_key(token.location("approval-2026", pin="pin-env=YIYIN_TEST_WRONG_PIN"), [seal.root])
    # the right PIN still works afterwards
    assert hsm.open_seal_key(seal.location, [seal.root]).cert.dump() == seal.cert_der


def test_wrong_token_label_is_named(token: Token, seal: HsmSeal) -> None:
    from yiyin.signing import hsm

    with pytest.raises(ConfigurationError, match=f"PKCS#11 模块 {MODULE} 中没有标签为 'no-such-token' 的令牌"):
        hsm.open_seal_key(token.location("approval-2026", token="no-such-token"), [seal.root])


def test_missing_key_is_named(token: Token, seal: HsmSeal) -> None:
    from yiyin.signing import hsm

    with pytest.raises(ConfigurationError, match=f"令牌 '{token.label}' 中没有标签为 'retired-2019' 的私钥"):
        hsm.open_seal_key(token.location("retired-2019"), [seal.root])


def test_a_key_without_its_certificate_is_named(token: Token) -> None:
    from yiyin.signing import hsm

    loc = hsm.Pkcs11Location.parse(token.location("half-made"))
    hsm.generate_key(loc)  # the custodian stopped before the CA answered
    with pytest.raises(ConfigurationError, match="令牌 .* 上的印章密钥 'half-made' 无法使用"):
        hsm.open_seal_key(str(loc), [])


def test_concurrent_first_use_opens_one_session(token: Token, seal: HsmSeal) -> None:
    from yiyin.signing import hsm

    hsm.SESSIONS.close_all()
    loc = hsm.Pkcs11Location.parse(seal.location)
    barrier = threading.Barrier(6)

    def first_use(_: int) -> int:
        barrier.wait()
        return id(hsm.SESSIONS.get(loc))

    with ThreadPoolExecutor(6) as pool:
        assert len(set(pool.map(first_use, range(6)))) == 1
