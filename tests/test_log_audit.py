"""The registry's rows against the log: each kind of tampering by someone with database access."""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from yiyin.config import Settings
from yiyin.registry import audit, tree
from yiyin.registry.db import Database
from yiyin.service.app import App
from yiyin.service.lifecycle import act
from yiyin.service.pipeline import Issuer, IssueRequest
from yiyin.service.seals import add_seal, revoke_seal, rotate_seal
from yiyin.service.samples import resolve_dates

from .test_document_data import SAMPLE

BUREAU = "taian-xzspj"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, list[str]]]:
    home = tmp_path_factory.mktemp("audit-home")
    app = App.open(Settings.from_env({"YIYIN_HOME": str(home)}))
    entry = SAMPLE["documents"][1]
    numbers = [Issuer(app).issue(IssueRequest(entry["type"], resolve_dates(copy.deepcopy(entry["data"]), date.today()),
                                              entry["item"], "AUDIT")).number for _ in range(3)]
    act(app, numbers[0], "suspend", "整改", "《药品管理法》第一百二十六条", "reviewer-1")
    act(app, numbers[0], "resume", "整改完成", "", "reviewer-1")
    act(app, numbers[1], "withdraw", "严重违法", "《中华人民共和国行政处罚法》第九条", "reviewer-2")
    # the custodian's acts: one seal revoked, one rotated (its successor registered)
    lost = add_seal(app, BUREAU, "公章", "custodian")
    revoke_seal(app, lost.id, "custodian", "钥匙遗失")
    rotate_seal(app, add_seal(app, BUREAU, "档案专用章", "custodian").id, "custodian", "年度更换")
    with app.db.transaction() as s:
        tree.integrate(s)
    yield app, numbers
    app.close()


def tampered(base: tuple[App, list[str]], tmp_path: Path, *statements: str) -> list[str]:
    """Copy the registry, run the statements on the copy as an intruder would, audit the copy."""
    app, _ = base
    copy_path = tmp_path / "copy.db"
    src = sqlite3.connect(app.settings.home / "yiyin.db")
    dst = sqlite3.connect(copy_path)
    src.backup(dst)
    src.close()
    for st in statements:
        dst.execute("PRAGMA foreign_keys=OFF")
        dst.execute(st)
        dst.commit()
    dst.close()
    db = Database(f"sqlite:///{copy_path}")
    with db.session() as s:
        problems = audit.check_records(s)
    db.dispose()
    return problems


def test_an_untouched_registry_passes(base, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert tampered(base, tmp_path) == []


@pytest.mark.parametrize("statements, expected", [
    # the 吊销 erased to revive the licence
    (["DELETE FROM status_events WHERE status = '吊销'"], "missing from the registry (deleted)"),
    # its reason or basis rewritten
    (["UPDATE status_events SET basis = '无' WHERE status = '吊销'"], "differs from log entry"),
    # a resumption that never happened
    (["INSERT INTO status_events (document_id, status, reason, basis, actor, at) "
      "SELECT document_id, '有效', '恢复', '', 'intruder', '2026-01-01 00:00:00' FROM status_events WHERE status = '吊销'"],
     "is not in the log (inserted)"),
    # two acts swapped
    (["UPDATE status_events SET status = CASE status WHEN '暂扣' THEN '有效' ELSE '暂扣' END "
      "WHERE status IN ('暂扣', '有效') AND reason != '签发'"], "changed or reordered"),
    # a document's validity extended, its holder renamed, its licence metadata edited
    (["UPDATE documents SET valid_until = '2099-12-31'"], "was changed after issuance"),
    (["UPDATE documents SET holder = '某某公司'"], "was changed after issuance"),
    (["UPDATE licence_records SET holder_code = '91210321000000000X'"], "was changed after issuance"),
    # a document deleted, or one slipped in
    (["DELETE FROM status_events WHERE document_id = (SELECT min(id) FROM documents)",
      "DELETE FROM licence_records WHERE document_id = (SELECT min(id) FROM documents)",
      "DELETE FROM status_list_entries WHERE document_id = (SELECT min(id) FROM documents)",
      "DELETE FROM documents WHERE id = (SELECT min(id) FROM documents)"], "no longer in the registry (deleted)"),
    (["INSERT INTO documents SELECT 'z' || substr(id, 2), number || 'X', doc_type, title, organ_id, item_code, case_ref, "
      "holder, issue_date, valid_from, valid_until, (CASE WHEN substr(sha256, 1, 1) = 'a' THEN 'b' ELSE 'a' END) || "
      "substr(sha256, 2), size, seal_id, code_digest, storage_key, "
      "public_data, issued_at FROM documents LIMIT 1"], "has no issuance entry in the log (inserted"),
    # a log payload changed after the tree was stored (stored hash column fixed up or not)
    (["UPDATE log_entries SET payload = replace(payload, '\"01\"', '\"02\"') WHERE \"index\" = "
      "(SELECT min(\"index\") FROM log_entries WHERE kind = 'issue')"], "no longer matches the stored tree"),
    # the stored tree itself rewritten
    (["UPDATE log_tree_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 0"], "inner nodes do not match"),
    # a revoked seal brought back, or a seal marked revoked without the custodian's act
    (["UPDATE seals SET revoked_at = NULL"], "shows it unrevoked"),
    (["UPDATE seals SET revoked_at = '2026-01-01 00:00:00' WHERE purpose = '行政审批专用章'"], "no revocation is in the log"),
    # a retired seal allowed to seal again
    (["UPDATE seals SET valid_until = '2099-12-31 00:00:00' WHERE id = (SELECT max(id) FROM seals) - 1"], "(extended)"),
    # another certificate (and key) put behind a registered seal
    (["UPDATE seals SET cert_fingerprint = '00' || substr(cert_fingerprint, 3) WHERE purpose = '行政审批专用章'"],
     "differs from its registration"),
    # a seal slipped in, or one deleted
    (["INSERT INTO seals (id, organ_id, purpose, cert_pem, cert_fingerprint, key_location, diameter_mm, valid_from, "
      "valid_until, registered_at, revoked_at) SELECT 9999, organ_id, purpose, cert_pem, 'ff' || substr(cert_fingerprint, 3), "
      "key_location, diameter_mm, valid_from, valid_until, registered_at, NULL FROM seals LIMIT 1"], "(inserted into the registry)"),
    (["DELETE FROM seals WHERE revoked_at IS NOT NULL"], "is no longer in the registry (deleted)"),
])
def test_each_tampering_is_found(base, tmp_path: Path, statements: list[str], expected: str) -> None:  # type: ignore[no-untyped-def]
    problems = tampered(base, tmp_path, *statements)
    assert any(expected in p for p in problems), problems
