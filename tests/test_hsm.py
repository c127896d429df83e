"""Seal keys in a real PKCS#11 token (SoftHSM2): generated inside, never extractable, used for many seals."""

from __future__ import annotations

import copy
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from yiyin.config import Settings
from yiyin.errors import ConfigurationError
from yiyin.service.app import APPROVAL_SEAL, App
from yiyin.service.pipeline import Issuer, IssueRequest
from yiyin.service.samples import resolve_dates
from yiyin.service.seals import add_seal
from yiyin.service.verify import verify_pdf

from .test_document_data import SAMPLE

MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def _ensure_softhsm() -> None:
    if shutil.which("softhsm2-util") and Path(MODULE).exists():
        return
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "softhsm2"], check=True, capture_output=True)
        return
    pytest.fail("SoftHSM2 is missing: run `sudo apt-get install softhsm2` (make test does this as root)")


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh SoftHSM2 token in a temp dir; PINs generated now and passed by environment only."""
    _ensure_softhsm()
    from yiyin.signing import hsm

    hsm.SESSIONS.close_all()
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    label = f"yiyin-{secrets.token_hex(3)}"
    pin, so_pin = secrets.token_hex(8), secrets.token_hex(8)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
                   check=True, capture_output=True, env=os.environ)
    os.environ["YIYIN_TEST_HSM_PIN"] = pin
    yield label
    hsm.SESSIONS.close_all()


@pytest.fixture(scope="module")
def hsm_app(tmp_path_factory: pytest.TempPathFactory, token: str) -> Iterator[App]:
    application = App.open(Settings.from_env({"YIYIN_HOME": str(tmp_path_factory.mktemp("hsm-home"))}))
    yield application
    application.close()


def location(token: str, key: str, pin_env: str = "YIYIN_TEST_HSM_PIN") -> str:
    return f"pkcs11:module={MODULE};token={token};key={key};pin-env={pin_env}"


def request() -> IssueRequest:
    entry = SAMPLE["documents"][1]
    return IssueRequest(entry["type"], resolve_dates(copy.deepcopy(entry["data"]), date.today()), entry["item"], "HSM")


def test_seal_with_a_key_that_never_leaves_the_token(hsm_app: App, token: str, tmp_path: Path) -> None:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    from yiyin.registry import catalog
    from yiyin.service.seals import revoke_seal
    from yiyin.signing import hsm

    with hsm_app.db.session() as s:
        old = catalog.active_seal(s, hsm_app.bureau_id, APPROVAL_SEAL, hsm_app.now())
    time.sleep(1.1)
    revoke_seal(hsm_app, old.id, "custodian", "moved to the HSM")
    view = add_seal(hsm_app, hsm_app.bureau_id, APPROVAL_SEAL, "custodian", pkcs11=location(token, "approval-seal"))
    assert view.key_location.startswith("pkcs11:") and "pin-env=" in view.key_location

    session = hsm.SESSIONS.get(hsm.Pkcs11Location.parse(view.key_location))
    private = next(session.get_objects({Attribute.LABEL: "approval-seal", Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
    assert private[Attribute.SENSITIVE] and not private[Attribute.EXTRACTABLE]
    with pytest.raises(pkcs11.PKCS11Error):
        private[Attribute.VALUE]

    issued = [Issuer(hsm_app).issue(request()) for _ in range(3)]  # one session, many seals
    for doc in issued:
        report = verify_pdf(hsm_app, doc.path.read_bytes())
        assert report.valid, report.to_json()
        assert report.signatures[0]["signer_fingerprint"] == view.fingerprint
    out = subprocess.run(["pdfsig", "-nocert", str(issued[0].path)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in out.split("Signature #")[1]


def test_clear_errors_for_bad_locations(hsm_app: App, token: str) -> None:
    from yiyin.signing import hsm

    with pytest.raises(ConfigurationError, match="缺少 key"):
        hsm.Pkcs11Location.parse(f"pkcs11:module={MODULE};token={token};pin-env=X")
    with pytest.raises(ConfigurationError, match="pin-env 或 pin-file 中的一个"):
        hsm.Pkcs11Location.parse(f"pkcs11:module={MODULE};token={token};key=k")
    with pytest.raises(ConfigurationError, match="没有标签为 'nope' 的令牌"):
        hsm.open_seal_key(location("nope", "k"), [])
    with pytest.raises(ConfigurationError, match="没有标签为 'missing' 的私钥"):
        hsm.open_seal_key(location(token, "missing"), [])
    with pytest.raises(ConfigurationError, match="环境变量 YIYIN_NO_SUCH_PIN"):
        hsm.Pkcs11Location.parse(location(token, "k", "YIYIN_NO_SUCH_PIN")).pin()


def test_wrong_pin_is_refused(token: str) -> None:
    from yiyin.signing import hsm

    hsm.SESSIONS.close_all()
    os.environ["YIYIN_WRONG_PIN"] = "00000000"
    with pytest.raises(ConfigurationError, match="PIN 不正确"):
        hsm.SESSIONS.get(hsm.Pkcs11Location.parse(location(token, "k", "YIYIN_WRONG_PIN")))
