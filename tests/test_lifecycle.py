"""Status acts: who, when, why, on what basis; history kept; terminal acts final; all in the log."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from yiyin.errors import AuthorityError, InvalidData
from yiyin.registry import documents, log
from yiyin.registry.models import LogEntry
from yiyin.service.app import App
from yiyin.service.lifecycle import act, status
from yiyin.service.pipeline import Issuer, IssueRequest
from yiyin.service.samples import resolve_dates
from yiyin.service.verify import verify_pdf

from .conftest import run_cli
from .test_document_data import SAMPLE


def issue(app: App):  # type: ignore[no-untyped-def]
    entry = SAMPLE["documents"][1]
    return Issuer(app).issue(IssueRequest(entry["type"], resolve_dates(copy.deepcopy(entry["data"]), date.today()),
                                          entry["item"], "LIFE"))


def test_suspend_resume_then_withdraw(app: App) -> None:
    doc = issue(app)
    with app.db.session() as s:
        before, _ = log.root(s)
    v = act(app, doc.number, "suspend", "整改期间暂扣", "《药品管理法》第一百二十六条", "reviewer-1")
    assert (v.status, v.code, v.in_force) == ("暂扣", "02", False)
    report = verify_pdf(app, doc.path.read_bytes())
    assert not report.valid and [c.id for c in report.checks if not c.ok] == ["in_force"]
    assert "整改期间暂扣" in next(c.detail for c in report.checks if c.id == "in_force")
    assert act(app, doc.number, "resume", "整改完成", "", "reviewer-1").in_force
    assert verify_pdf(app, doc.path.read_bytes()).valid
    v = act(app, doc.number, "withdraw", "严重违法", "《中华人民共和国行政处罚法》第九条", "reviewer-2")
    assert (v.status, v.code) == ("吊销", "07")
    assert [h[1] for h in status(app, doc.number).history] == ["有效", "暂扣", "有效", "吊销"]
    with app.db.session() as s:
        assert log.root(s)[0] == before + 3
    with pytest.raises(AuthorityError, match="终局"):
        act(app, doc.number, "resume", "x", "y", "reviewer")


def test_bad_acts_name_the_field(app: App) -> None:
    doc = issue(app)
    with pytest.raises(InvalidData) as err:
        act(app, doc.number, "burn", "", "", "x")
    assert {p.field for p in err.value.problems} == {"act", "reason", "basis"}
    with pytest.raises(AuthorityError, match="不是暂扣"):
        act(app, doc.number, "resume", "x", "", "x")


@pytest.mark.slow
def test_a_clerk_runs_the_acts_from_the_command_line(app: App, home) -> None:  # type: ignore[no-untyped-def]
    doc = issue(app)
    shown = run_cli("status", doc.number, home=home)
    assert shown.returncode == 0 and "有效（01）" in shown.stdout and "现行有效" in shown.stdout, shown.stderr
    no_basis = run_cli("revoke", doc.number, "--reason", "以欺骗手段取得许可", home=home)
    assert no_basis.returncode == 2 and "basis" in no_basis.stderr and "法律依据" in no_basis.stderr
    revoked = run_cli("revoke", doc.number, "--reason", "以欺骗手段取得许可", "--basis", "《中华人民共和国行政许可法》第六十九条",
                      "--actor", "审批一科 张三", home=home)
    assert revoked.returncode == 0 and "撤销（03）" in revoked.stdout and "审批一科 张三" in revoked.stdout, revoked.stderr
    shown = run_cli("status", doc.number, home=home)
    assert "撤销（03）" in shown.stdout and "以欺骗手段取得许可" in shown.stdout and "第六十九条" in shown.stdout
    assert "(审批一科 张三)" in shown.stdout
    again = run_cli("cancel", doc.number, "--reason", "x", "--basis", "y", home=home)
    assert again.returncode == 1 and "终局" in again.stderr
    unknown = run_cli("withdraw", doc.number + "9", "--reason", "x", "--basis", "y", home=home)
    assert unknown.returncode == 1 and "没有编号为" in unknown.stderr
    # the act is in the status history and in the log, with who, why and on what basis
    with app.db.session() as s:
        leaf = json.loads(s.execute(select(LogEntry.payload).where(LogEntry.kind == "status")
                                    .order_by(LogEntry.index.desc())).scalars().first())
    assert (leaf["number"], leaf["status"], leaf["actor"]) == (doc.number, "03", "审批一科 张三")
    assert leaf["basis"] == "《中华人民共和国行政许可法》第六十九条"


def test_past_its_validity_a_licence_has_expired(app: App) -> None:
    doc = issue(app)
    with app.db.session() as s:
        record = documents.by_number(s, doc.number)
        later = record.valid_until + timedelta(days=1)
        st = documents.current_status(s, record, later)
    assert (st.status, st.code, st.in_force) == ("过期", "05", False) and record.valid_until.isoformat() in st.reason
    assert status(app, doc.number).in_force  # today it is in force: nothing was recorded
