"""The registry's rows against the log: each kind of tampering by someone with database access."""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

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


class Facts:
    """What the untouched registry holds, to name in the expected findings: log entry indices,
    document numbers, seal ids."""

    def __init__(self, base: tuple[App, list[str]]) -> None:
        self.app, self.numbers = base

    def sql(self, query: str) -> Any:
        with sqlite3.connect(self.app.settings.home / "yiyin.db") as conn:
            return conn.execute(query).fetchone()[0]

    def leaf(self, kind: str, **match: Any) -> tuple[int, dict[str, Any]]:
        with sqlite3.connect(self.app.settings.home / "yiyin.db") as conn:
            rows = conn.execute('SELECT "index", payload FROM log_entries WHERE kind = ? ORDER BY "index"', (kind,)).fetchall()
        found = [(i, leaf) for i, leaf in ((i, json.loads(p)) for i, p in rows)
                 if all(leaf.get(k) == v for k, v in match.items())]
        assert len(found) == 1, (kind, match, found)
        return found[0]

    def entry(self, kind: str, **match: Any) -> int:
        return self.leaf(kind, **match)[0]

    def issue(self, number: str) -> int:
        return self.entry("issue", number=number)

    def seal(self, act: str, **match: Any) -> tuple[int, int]:
        """Log index and seal id of a seal act."""
        index, leaf = self.leaf("seal", act=act, **match)
        return index, leaf["seal_id"]

    def approval_seal(self) -> int:
        return self.sql("SELECT min(id) FROM seals WHERE purpose = '行政审批专用章'")

    def first_issue(self) -> int:
        return self.sql("SELECT min(\"index\") FROM log_entries WHERE kind = 'issue'")


@pytest.mark.parametrize("statements, expected", [
    # the 吊销 erased to revive the licence
    (["DELETE FROM status_events WHERE status = '吊销'"],
     lambda f: f"文书 {f.numbers[1]}：日志条目 {f.entry('status', status_name='吊销')} 记载的状态行为“吊销”在登记簿中已不存在（被删除）"),
    # its reason or basis rewritten
    (["UPDATE status_events SET basis = '无' WHERE status = '吊销'"],
     lambda f: f"文书 {f.numbers[1]}：签发后的第 1 个状态行为（登记簿中为“吊销”）与日志条目 {f.entry('status', status_name='吊销')} "
               "的记载不符（被改动或调换了顺序）"),
    # a resumption that never happened
    (["INSERT INTO status_events (document_id, status, reason, basis, actor, at) "
      "SELECT document_id, '有效', '恢复', '', 'intruder', '2026-01-01 00:00:00' FROM status_events WHERE status = '吊销'"],
     lambda f: f"文书 {f.numbers[1]}：登记簿中时间为 2026-01-01T00:00:00+00:00 的状态行为“有效”不在日志中"),
    # two acts swapped
    (["UPDATE status_events SET status = CASE status WHEN '暂扣' THEN '有效' ELSE '暂扣' END "
      "WHERE status IN ('暂扣', '有效') AND reason != '签发'"],
     lambda f: f"文书 {f.numbers[0]}：签发后的第 2 个状态行为（登记簿中为“暂扣”）与日志条目 "
               f"{f.entry('status', number=f.numbers[0], status_name='有效')} 的记载不符（被改动或调换了顺序）"),
    # a document's validity extended, its holder renamed, its licence metadata edited
    (["UPDATE documents SET valid_until = '2099-12-31'"],
     lambda f: f"文书 {f.numbers[2]} 的登记内容（持证人、日期、公开数据、印章、验证码、许可证元数据等）在签发后被改动："
               f"与日志条目 {f.issue(f.numbers[2])} 记载的登记内容摘要不符"),
    (["UPDATE documents SET holder = '某某公司'"],
     lambda f: f"文书 {f.numbers[0]} 的登记内容（持证人、日期、公开数据、印章、验证码、许可证元数据等）在签发后被改动："
               f"与日志条目 {f.issue(f.numbers[0])} 记载的登记内容摘要不符"),
    (["UPDATE licence_records SET holder_code = '91210321000000000X'"],
     lambda f: f"文书 {f.numbers[1]} 的登记内容（持证人、日期、公开数据、印章、验证码、许可证元数据等）在签发后被改动："
               f"与日志条目 {f.issue(f.numbers[1])} 记载的登记内容摘要不符"),
    # a document deleted, or one slipped in
    (["DELETE FROM status_events WHERE document_id = (SELECT min(id) FROM documents)",
      "DELETE FROM licence_records WHERE document_id = (SELECT min(id) FROM documents)",
      "DELETE FROM status_list_entries WHERE document_id = (SELECT min(id) FROM documents)",
      "DELETE FROM documents WHERE id = (SELECT min(id) FROM documents)"],
     lambda f: (lambda number: f"日志条目 {f.issue(number)} 记载了 {number} 的签发，但登记簿中已没有这份文书（被删除）")(
         f.sql("SELECT number FROM documents WHERE id = (SELECT min(id) FROM documents)"))),
    (["INSERT INTO documents SELECT 'z' || substr(id, 2), number || 'X', doc_type, title, organ_id, item_code, case_ref, "
      "holder, issue_date, valid_from, valid_until, (CASE WHEN substr(sha256, 1, 1) = 'a' THEN 'b' ELSE 'a' END) || "
      "substr(sha256, 2), size, seal_id, code_digest, storage_key, "
      "public_data, issued_at FROM documents LIMIT 1"],
     lambda f: f"文书 {f.sql('SELECT number FROM documents LIMIT 1')}X 在日志中没有签发条目：它未经签发写入了登记簿（被插入）"),
    # a log payload changed after the tree was stored (stored hash column fixed up or not)
    (["UPDATE log_entries SET payload = replace(payload, '\"01\"', '\"02\"') WHERE \"index\" = "
      "(SELECT min(\"index\") FROM log_entries WHERE kind = 'issue')"],
     lambda f: f"日志条目 {f.first_issue()} 与存储的默克尔树不符：纳入树之后被改动"),
    # the stored tree itself rewritten
    (["UPDATE log_tree_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 0"],
     lambda f: "存储的默克尔树第 1 层的节点 0 与其下层节点不符：树被篡改"),
    # a revoked seal brought back, or a seal marked revoked without the custodian's act
    (["UPDATE seals SET revoked_at = NULL"],
     lambda f: "印章 #{1} 已在日志条目 {0} 中吊销，但登记簿显示它未被吊销".format(*f.seal("revoke"))),
    (["UPDATE seals SET revoked_at = '2026-01-01 00:00:00' WHERE purpose = '行政审批专用章'"],
     lambda f: f"登记簿显示印章 #{f.approval_seal()} 已吊销，但日志中没有它的吊销记录"),
    # a retired seal allowed to seal again
    (["UPDATE seals SET valid_until = '2099-12-31 00:00:00' WHERE id = (SELECT max(id) FROM seals) - 1"],
     lambda f: ("印章 #{1} 已在日志条目 {0} 中于 ".format(*f.seal("retire")),
                "停用，但登记簿允许它用印至 2099-12-31T00:00:00+00:00（有效期被延长）")),
    # another certificate (and key) put behind a registered seal
    (["UPDATE seals SET cert_fingerprint = '00' || substr(cert_fingerprint, 3) WHERE purpose = '行政审批专用章'"],
     lambda f: (lambda index, leaf: f"印章 #{leaf['seal_id']} 与日志条目 {index} 中的备案不符，备案后被改动：证书指纹（SHA-256）"
                                    f"日志中为 {leaf['certificate_sha256']}，登记簿中为 00{leaf['certificate_sha256'][2:]}")(
         *f.leaf("seal", act="add", seal_id=f.approval_seal()))),
    # a seal slipped in, or one deleted
    (["INSERT INTO seals (id, organ_id, purpose, cert_pem, cert_fingerprint, key_location, diameter_mm, valid_from, "
      "valid_until, registered_at, revoked_at) SELECT 9999, organ_id, purpose, cert_pem, 'ff' || substr(cert_fingerprint, 3), "
      "key_location, diameter_mm, valid_from, valid_until, registered_at, NULL FROM seals LIMIT 1"],
     lambda f: "印章 #9999（"),
    (["DELETE FROM seals WHERE revoked_at IS NOT NULL"],
     lambda f: "日志条目 {} 备案的印章 #{} 已不在登记簿中（被删除）".format(
         f.seal("add", seal_id=f.seal("revoke")[1])[0], f.seal("revoke")[1])),
], ids=["act-deleted", "act-changed", "act-inserted", "acts-swapped", "validity-extended", "holder-renamed",
        "licence-record-edited", "document-deleted", "document-inserted", "log-payload-changed", "tree-node-changed",
        "seal-unrevoked", "seal-revoked-unlogged", "seal-extended", "seal-certificate-swapped", "seal-inserted",
        "seal-deleted"])
def test_each_tampering_is_found(base, tmp_path: Path, statements: list[str], expected) -> None:  # type: ignore[no-untyped-def]
    """Each finding names what an auditor looks up: the document's number or the seal's id, and the log entry."""
    problems = tampered(base, tmp_path, *statements)
    wanted = expected(Facts(base))
    parts = wanted if isinstance(wanted, tuple) else (wanted,)
    assert any(all(part in p for part in parts) for p in problems), (parts, problems)


def test_the_audit_command_writes_nothing_to_what_it_checks(tmp_path: Path) -> None:
    """An intruder marks the bureau's approval seal revoked without logging it: `yiyin log audit`
    finds it, and neither it nor any other command appends to the log or puts a new seal in its
    place (the custodian replaces a revoked seal, nobody else)."""
    from .conftest import run_cli

    home = tmp_path / "home"
    assert run_cli("seal", "list", home=home).returncode == 0
    db = sqlite3.connect(home / "yiyin.db")
    db.execute("UPDATE seals SET revoked_at = '2026-01-01 00:00:00' WHERE organ_id = ? AND purpose = '行政审批专用章'", (BUREAU,))
    db.commit()

    def state() -> tuple[int, int, int]:
        return (db.execute("SELECT count(*) FROM log_entries").fetchone()[0], db.execute("SELECT count(*) FROM seals").fetchone()[0],
                db.execute("SELECT count(*) FROM audit_entries").fetchone()[0])

    before = state()
    audited = run_cli("log", "audit", home=home)
    assert audited.returncode == 1 and "印章" in audited.stdout, audited.stdout + audited.stderr
    checked = run_cli("audit", "check", home=home)
    assert checked.returncode == 1 and "印章 #1 已吊销" in checked.stdout, checked.stdout
    assert state() == before
    assert run_cli("seal", "list", home=home).returncode == 0  # a command that sets the directory up
    assert state()[:2] == before[:2], "no development seal was put in place of the revoked one"
    db.close()


def test_auditing_a_directory_that_is_not_set_up_creates_nothing(tmp_path: Path) -> None:
    from .conftest import run_cli

    home = tmp_path / "nothing-here"
    home.mkdir()
    for args in (("log", "audit"), ("audit", "check")):
        r = run_cli(*args, home=home)
        assert r.returncode == 2 and "尚未建立" in r.stderr + r.stdout, r.stderr
    assert list(home.iterdir()) == []


def test_the_live_audit_check_names_every_deleted_entry(tmp_path: Path) -> None:
    """Two entries deleted from the audit trail, far apart: `yiyin audit check` names both, and
    an entry changed after the second gap, rather than stopping at the first."""
    import sqlalchemy as sa

    from yiyin.service import audit as audit_trail

    from .conftest import run_cli

    home = tmp_path / "home"
    app = App.open(Settings.from_env({"YIYIN_HOME": str(home)}))
    try:
        with app.db.transaction() as s:
            for n in range(8):
                audit_trail.record(s, "clerk.li", "test.act", f"act {n}")
        with app.db.session() as s:
            first = s.execute(sa.text("SELECT min(seq) FROM audit_entries WHERE actor = 'clerk.li'")).scalar_one()
    finally:
        app.close()
    db = sqlite3.connect(home / "yiyin.db")
    db.execute("DELETE FROM audit_entries WHERE seq IN (?, ?)", (first + 1, first + 4))
    db.execute("UPDATE audit_entries SET target = 'act 99' WHERE seq = ?", (first + 6,))
    db.commit()
    db.close()
    checked = run_cli("audit", "check", home=home)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert f"审计记录 #{first + 1} 缺失（该位置上是 #{first + 2}）" in checked.stdout, checked.stdout
    assert f"审计记录 #{first + 4} 缺失（该位置上是 #{first + 5}）" in checked.stdout, checked.stdout
    assert f"审计记录 #{first + 6}（现记为 clerk.li 的 test.act）写入后被改动" in checked.stdout, checked.stdout
