"""Processes started together on a fresh data directory (server workers, batch workers, the
command line) set it up once: one development CA, one seal per organ and purpose, and no key file
that the seal registry does not name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import create_engine, select

from yiyin.registry.models import Seal

from .test_postgres import pg_url  # noqa: F401 - a database of its own on the local server

pytestmark = pytest.mark.slow
PROCESSES = 4


def start_together(home: Path, env: dict[str, str]) -> None:
    exe = shutil.which("yiyin", path=str(Path(sys.executable).parent)) or "yiyin"
    procs = [subprocess.Popen([exe, "seal", "list"], env={**os.environ, "YIYIN_HOME": str(home), **env},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(PROCESSES)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        assert "行政审批专用章" in out


def assert_set_up_once(home: Path, db_url: str) -> None:
    pki = home / "pki"
    assert sorted(p.name for p in pki.glob("*ca.crt.pem")) == ["root-ca.crt.pem"]
    ca = x509.load_pem_x509_certificate((pki / "root-ca.crt.pem").read_bytes())
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            seals = conn.execute(select(Seal.organ_id, Seal.purpose, Seal.key_location, Seal.cert_pem)
                                 .where(Seal.revoked_at.is_(None))).all()
    finally:
        engine.dispose()
    assert seals and len({(s.organ_id, s.purpose) for s in seals}) == len(seals), "one seal per organ and purpose"
    named = {s.key_location.removeprefix("pkcs12:") for s in seals}
    on_disk = {p.relative_to(home).as_posix() for p in (pki / "seals").glob("*.p12")}
    assert on_disk == named, "every key file is a registered seal's, and every seal's key is there"
    assert {p.with_suffix(".p12") for p in (pki / "seals").glob("*.pass")} == set((pki / "seals").glob("*.p12"))
    for seal in seals:  # certified by the CA that is in the folder, not by one a neighbour overwrote
        cert = x509.load_pem_x509_certificate(seal.cert_pem.encode())
        assert cert.issuer == ca.subject
        public = ca.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))


def test_processes_started_together_on_a_fresh_sqlite_home(tmp_path: Path) -> None:
    start_together(tmp_path, {})
    assert_set_up_once(tmp_path, f"sqlite:///{tmp_path / 'yiyin.db'}")


def test_processes_started_together_on_a_fresh_postgresql_database(tmp_path: Path, pg_url: str) -> None:  # noqa: F811
    start_together(tmp_path, {"YIYIN_DATABASE_URL": pg_url})
    assert_set_up_once(tmp_path, pg_url)
