"""The log is append-only and proves it: RFC 9162 proofs, signed checkpoints, audit against tampering."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, text

from yiyin.config import Settings
from yiyin.registry import merkle
from yiyin.registry.checkpoint import Checkpoint, CheckpointError, open_note, verifier_key
from yiyin.registry.models import LogEntry
from yiyin.service import transparency
from yiyin.service.app import App
from yiyin.service.pipeline import Issuer, IssueRequest
from yiyin.service.samples import resolve_dates

from .conftest import run_cli
from .test_document_data import SAMPLE


def test_proofs_match_the_rfc_definitions_and_reject_forgeries() -> None:
    def mth(leaves: list[bytes]) -> bytes:  # the recursive definition of RFC 9162 2.1.1
        if len(leaves) == 1:
            return leaves[0]
        k = merkle._split(len(leaves))
        return merkle.node_hash(mth(leaves[:k]), mth(leaves[k:]))

    for n in range(1, 40):
        leaves = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(n)]
        root = merkle.root(leaves)
        assert root == mth(leaves)
        for i in range(n):
            proof = merkle.inclusion_proof(i, leaves)
            assert merkle.verify_inclusion(i, n, leaves[i], proof, root)
            assert not merkle.verify_inclusion(i, n, merkle.leaf_hash(b"forged"), proof, root)
            if n > 1:
                assert not merkle.verify_inclusion((i + 1) % n, n, leaves[i], proof, root)
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(m, leaves)
            assert merkle.verify_consistency(m, n, mth(leaves[:m]), root, proof)
            if m < n:
                assert not merkle.verify_consistency(m, n, merkle.leaf_hash(b"other"), root, proof)


def test_checkpoint_signed_note_round_trip_and_tamper() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    note = Checkpoint("example.org/log", 7, b"\x01" * 32).sign("example.org/log", key)
    assert note.splitlines()[:2] == ["example.org/log", "7"] and "\n\n\u2014 example.org/log " in note
    verifier = verifier_key("example.org/log", key.public_key())
    assert open_note(note, verifier).size == 7
    with pytest.raises(CheckpointError, match="签名注记上 example.org/log 的签名与正文不符"):
        open_note(note.replace("\n7\n", "\n8\n"), verifier)
    other = verifier_key("example.org/log", Ed25519PrivateKey.generate().public_key())
    with pytest.raises(CheckpointError, match=f"签名注记上没有 example.org/log（密钥编号 {other.split('+')[1]}）的签名"):
        open_note(note, other)


@pytest.fixture()
def log_app(tmp_path) -> Iterator[App]:  # type: ignore[no-untyped-def]
    application = App.open(Settings.from_env({"YIYIN_HOME": str(tmp_path / "home")}))
    entry = SAMPLE["documents"][1]
    for _ in range(3):
        Issuer(application).issue(IssueRequest(entry["type"], resolve_dates(copy.deepcopy(entry["data"]), date.today()),
                                               entry["item"], "LOG"))
    transparency.sign_checkpoint(application)
    yield application
    application.close()


def test_offline_inclusion_proof_for_an_issued_document(log_app: App) -> None:
    with log_app.db.session() as s:
        from yiyin.registry.models import Document

        doc = s.execute(select(Document)).scalars().first()
    bundle = transparency.inclusion_bundle(log_app, doc.sha256)
    ok, detail = transparency.verify_bundle(bundle, transparency.verifier(log_app), doc.sha256)
    assert ok, detail
    assert not transparency.verify_bundle(bundle, transparency.verifier(log_app), "0" * 64)[0]
    forged = transparency.InclusionBundle(bundle.leaf_index, bundle.leaf.replace(doc.number, "辽EA032199999"),
                                          bundle.proof, bundle.checkpoint)
    assert not transparency.verify_bundle(forged, transparency.verifier(log_app), doc.sha256)[0]


@pytest.mark.parametrize("tamper, expected", [
    # (the registry's first entries are the seals registered as the data directory was created)
    ("UPDATE log_entries SET payload = replace(payload, 'licence', 'license') WHERE \"index\" = "
     "1 + (SELECT count(*) FROM log_entries WHERE kind = 'seal')", "日志条目 {issue2} 的内容与同一行记录的叶哈希（leaf_hash）不符"),
    ("DELETE FROM log_entries WHERE \"index\" = 1", "日志条目 1 缺失（其后是条目 2）：有条目被删除"),
    # the newest entry dropped: no gap, but the signed checkpoint counts it
    ("DELETE FROM log_entries WHERE \"index\" = (SELECT max(\"index\") FROM log_entries)",
     "已签名的检查点记载日志有 {size} 个条目，但日志现在只有 {size_1} 个：日志被截短，或有条目被删除"),
    # (the first hex digit is changed to another one, whatever it was)
    ("UPDATE documents SET sha256 = (CASE WHEN substr(sha256, 1, 1) = 'a' THEN 'b' ELSE 'a' END) || substr(sha256, 2) "
     "WHERE number LIKE '%00002'", "文书 {number2} 与记录其签发的日志条目 {issue2} 不符，签发后被改动：文书摘要（SHA-256）日志中为 {sha2}"),
])
def test_audit_detects_tampering_by_someone_with_database_access(log_app: App, tamper: str, expected: str) -> None:
    assert transparency.audit(log_app).ok
    with log_app.db.session() as s:
        from yiyin.registry.models import Document

        _, second = s.execute(select(LogEntry.index, LogEntry.payload).where(LogEntry.kind == "issue")
                              .order_by(LogEntry.index).limit(2)).all()
        doc = s.execute(select(Document).where(Document.number == json.loads(second.payload)["number"])).scalar_one()
    assert doc.number.endswith("00002")
    size = open_note(transparency.latest_checkpoint(log_app), transparency.verifier(log_app)).size
    expected = expected.format(issue2=second.index, number2=doc.number, size=size, size_1=size - 1,
                               sha2=doc.sha256)
    with log_app.db.transaction() as s:
        s.execute(text("PRAGMA foreign_keys=OFF"))
        s.execute(text(tamper))
    report = transparency.audit(log_app)
    assert not report.ok and any(expected in p for p in report.problems), report.problems


def test_audit_detects_a_rewritten_history_with_consistent_hashes(log_app: App) -> None:
    """Change an entry and fix up its stored hash too: only the signed checkpoint gives it away."""
    with log_app.db.transaction() as s:
        row = s.execute(select(LogEntry).where(LogEntry.index == 0)).scalar_one()
        payload = json.loads(row.payload)
        payload["sha256"] = "0" * 64
        row.payload = log_canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        row.leaf_hash = merkle.leaf_hash(log_canonical.encode()).hex()
    report = transparency.audit(log_app)
    size = open_note(transparency.latest_checkpoint(log_app), transparency.verifier(log_app)).size
    assert any(p.startswith(f"前 {size} 个日志条目重新计算的根哈希与树大小为 {size} 的签名检查点") and p.endswith("不符：历史被改写")
               for p in report.problems), report.problems


@pytest.mark.slow
def test_log_commands(log_app: App, demo, home) -> None:  # type: ignore[no-untyped-def]
    ok = run_cli("log", "verify", str(demo.licence.path), home=home)
    assert ok.returncode == 0 and "IN THE LOG" in ok.stdout, ok.stdout + ok.stderr
    assert f"{demo.licence.issued.number} 的签发是日志 " in ok.stdout and "包含证明可推出已签名的根哈希" in ok.stdout, ok.stdout
    audit = run_cli("log", "audit", home=home)
    assert audit.returncode == 0 and "log intact" in audit.stdout


def test_the_served_checkpoint_follows_the_log(log_app: App) -> None:
    first = transparency.current_checkpoint(log_app)
    assert transparency.current_checkpoint(log_app, max_age=0) == first  # nothing appended: the same head
    entry = SAMPLE["documents"][1]
    Issuer(log_app).issue(IssueRequest(entry["type"], resolve_dates(copy.deepcopy(entry["data"]), date.today()),
                                       entry["item"], "LOG"))
    assert transparency.current_checkpoint(log_app, max_age=3600) == first  # signed too recently to sign again
    newer = transparency.current_checkpoint(log_app, max_age=0)
    old, new = open_note(first, transparency.verifier(log_app)), open_note(newer, transparency.verifier(log_app))
    assert new.size == old.size + 1 and transparency.latest_checkpoint(log_app) == newer
    assert transparency.checkpoints(log_app)[-2:] == [first, newer]
    # the new head extends the old one (a witness checks this with a consistency proof)
    with log_app.db.session() as s:
        from yiyin.registry import tree

        proof = tree.consistency_proof(s, old.size, new.size)
    assert merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    assert transparency.audit(log_app).ok


@pytest.mark.slow
def test_log_verify_offline_with_a_bundle_and_the_key(log_app: App, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from yiyin.registry.models import Document
    from yiyin.service.web import create_app

    with log_app.db.session() as s:
        doc = s.execute(select(Document)).scalars().first()
    pdf = tmp_path / "licence.pdf"
    pdf.write_bytes(log_app.store.get(doc.storage_key))
    client = TestClient(create_app(log_app, rate_limit=(0, 1)))
    key = client.get("/api/v1/log").json()["verifier_key"]
    bundle = client.get("/api/v1/log/bundle", params={"sha256": doc.sha256}).json()
    (tmp_path / "proof.json").write_text(json.dumps(bundle), "utf-8")
    elsewhere = tmp_path / "no-registry"  # a data directory that holds nothing: only the files speak
    ok = run_cli("log", "verify", str(pdf), "--bundle", str(tmp_path / "proof.json"), "--key", key, home=elsewhere)
    assert ok.returncode == 0 and "IN THE LOG" in ok.stdout and doc.number in ok.stdout, ok.stdout + ok.stderr
    assert not (elsewhere / "yiyin.db").exists()
    forged = dict(bundle, leaf=bundle["leaf"].replace('"status":"01"', '"status":"02"'))
    (tmp_path / "forged.json").write_text(json.dumps(forged), "utf-8")
    bad = run_cli("log", "verify", str(pdf), "--bundle", str(tmp_path / "forged.json"), "--key", key, home=elsewhere)
    assert bad.returncode == 1 and "NOT PROVEN" in bad.stdout
    assert f"日志条目 {bundle['leaf_index']} 的 RFC 9162 包含证明推不出签名检查点的根哈希" in bad.stdout, bad.stdout
    other_key = verifier_key(transparency.origin(log_app), Ed25519PrivateKey.generate().public_key())
    wrong_key = run_cli("log", "verify", str(pdf), "--bundle", str(tmp_path / "proof.json"), "--key", other_key, home=elsewhere)
    assert wrong_key.returncode == 1 and "签名检查点未通过验证：签名注记上没有" in wrong_key.stdout, wrong_key.stdout
    half = run_cli("log", "verify", str(pdf), "--bundle", str(tmp_path / "proof.json"), home=elsewhere)
    assert half.returncode == 2 and "--key" in half.stderr
    (tmp_path / "junk.pdf").write_text("hello")
    junk = run_cli("log", "verify", str(tmp_path / "junk.pdf"), "--bundle", str(tmp_path / "proof.json"), "--key", key,
                   home=elsewhere)
    assert junk.returncode == 2 and "不是 PDF" in junk.stderr and "Traceback" not in junk.stderr
    assert "Traceback" not in ok.stderr  # reading the seals' byte ranges validates nothing, logs nothing


def test_audit_checks_every_checkpoint_ever_signed(log_app: App) -> None:
    entry = SAMPLE["documents"][1]
    for _ in range(2):
        Issuer(log_app).issue(IssueRequest(entry["type"], resolve_dates(copy.deepcopy(entry["data"]), date.today()),
                                           entry["item"], "LOG"))
        transparency.sign_checkpoint(log_app)
    sizes = [open_note(n, transparency.verifier(log_app)).size for n in transparency.checkpoints(log_app)]
    with log_app.db.session() as s:
        seals = s.scalar(select(func.count()).select_from(LogEntry).where(LogEntry.kind == "seal"))  # registered first
    assert sizes == [seals + 3, seals + 4, seals + 5] and transparency.audit(log_app).ok
    # the 4th issuance rewritten, its stored hash fixed up: the two later checkpoints give it away, not the first
    with log_app.db.transaction() as s:
        row = s.execute(select(LogEntry).where(LogEntry.index == seals + 3)).scalar_one()
        row.payload = row.payload.replace('"status":"01"', '"status":"02"')
        row.leaf_hash = merkle.leaf_hash(row.payload.encode()).hex()
    problems = transparency.audit(log_app).problems
    assert [p.split("（根哈希")[0] for p in problems if "历史被改写" in p] == [
        f"前 {n} 个日志条目重新计算的根哈希与树大小为 {n} 的签名检查点" for n in (seals + 4, seals + 5)]
