"""A combined matter (开办药店) from intake to archive, with the separation of duties, the audit
trail and an issuance interrupted half-way."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from sqlalchemy import select

from yiyin.errors import InvalidData, PermissionDenied, SeparationOfDuties, SealingError, WorkflowError
from yiyin.registry.cases import DocumentDraft
from yiyin.registry.models import Document
from yiyin.registry.staff import AuditEntry
from yiyin.service import audit, cases
from yiyin.service.app import App
from yiyin.service.samples import resolve_dates
from yiyin.service.staff import Principal
from yiyin.service.verify import verify_pdf
from yiyin.service.workdays import WorkCalendar
from yiyin.signing.pades import Sealer

from .test_document_data import SAMPLE

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def person(username: str, *roles: str, sections: tuple[str, ...] = ()) -> Principal:
    return Principal(username, username, frozenset(roles), frozenset(sections))


INTAKE = person("zhang.intake", "intake")
ACCEPTOR = person("li.accept", "reviewer", sections=("企业登记科",))
REG = person("zhao.reg", "reviewer", sections=("企业登记科",))
DRUG = person("wang.drug", "reviewer", sections=("医药器械审批科",))
INSPECTOR = person("sun.inspect", "inspector")
LEAD = person("zhou.lead", "lead", sections=("企业登记科",))
WINDOW = person("qian.window", "window")
ARCHIVIST = person("wu.archive", "archivist")


def drafts_for(app: App, ci: dict) -> dict[str, dict]:
    """Decision (and licence) data for an item of the sample 开办药店 case."""
    today = date.today()
    decision = resolve_dates(copy.deepcopy(SAMPLE["documents"][0]["data"]), today)
    decision.update(cases.prefill(app, ci["id"], "decision_grant"), item_name=ci["name"])
    decision["applicant_code"] = SAMPLE["documents"][0]["data"]["applicant_code"]
    if ci["code"] != "210321-XK-0412":
        for k in ("licence_name", "valid_from", "valid_until"):
            decision.pop(k, None)
    out = {"decision_grant": decision}
    if "licence_drug_retail" in ci["document_types"]:
        out["licence_drug_retail"] = resolve_dates(copy.deepcopy(SAMPLE["documents"][1]["data"]), today)
    return out


def open_pharmacy(app: App) -> int:
    return cases.open_case(app, INTAKE, cases.Application(
        applicant="台安县康宁大药房有限公司", applicant_code="91210321MA10KX3P1U", matter_id="kaiban-yaodian",
        contact="王淑芬", phone="0412-4812345", delivery="post", post_address="台安县台安镇平安路88号"))


def to_decision_ready(app: App, reviewer_for_reg: Principal = REG) -> dict:
    case_id = open_pharmacy(app)
    detail = cases.case_detail(app, case_id)
    for m in detail["required_materials"]:
        cases.add_material(app, INTAKE, case_id, m["name"], "m.pdf", PDF)
    assert cases.check_completeness(app, INTAKE, case_id) == []
    cases.accept(app, ACCEPTOR, case_id)
    detail = cases.case_detail(app, case_id)
    for ci in detail["items"]:
        who = reviewer_for_reg if ci["section"] == "企业登记科" else DRUG
        cases.claim(app, who, ci["id"])
        for doc_type, data in drafts_for(app, ci).items():
            cases.save_draft(app, who, ci["id"], doc_type, data)
    return cases.case_detail(app, case_id)


def test_pharmacy_from_intake_to_archive(app: App) -> None:
    case_id = open_pharmacy(app)
    case = cases.case_detail(app, case_id)
    assert case["ref"].startswith("台审批件〔") and case["status"] == "收件" and case["lead_section"] == "企业登记科"
    assert [i["name"] for i in case["items"]] == ["企业设立、变更、注销登记", "药品零售企业许可", "执业药师注册", "药品经营质量管理规范认证"]

    # 一次性告知: every missing material at once, not one at a time
    required = [m["name"] for m in case["required_materials"]]
    cases.add_material(app, INTAKE, case_id, required[0], "申请书.pdf", PDF)
    missing = cases.check_completeness(app, INTAKE, case_id)
    assert missing == required[1:] and cases.case_detail(app, case_id)["status"] == "补正"
    with pytest.raises(InvalidData, match="PDF"):
        cases.add_material(app, INTAKE, case_id, required[1], "x.pdf", b"not a pdf", "application/pdf")
    for name in missing:
        cases.add_material(app, INTAKE, case_id, name, f"{name}.pdf", PDF)
    assert cases.check_completeness(app, INTAKE, case_id) == []
    with pytest.raises(PermissionDenied):
        cases.accept(app, DRUG, case_id)  # not the lead section
    cases.accept(app, ACCEPTOR, case_id)

    case = cases.case_detail(app, case_id)
    calendar = WorkCalendar.load(app.settings.home)
    accepted = date.fromisoformat(case["accepted_at"][:10])
    # 即办件 1 working day, 承诺件 10; the case is due when its slowest item is
    dues = {i["code"]: i["deadline"]["due_date"] for i in case["items"]}
    assert dues["210321-XK-0101"] == calendar.add(accepted, 1).isoformat()
    assert dues["210321-XK-0412"] == calendar.add(accepted, 10).isoformat() == case["deadline"]["due_date"]

    items = {i["code"]: i for i in case["items"]}
    drug = items["210321-XK-0412"]
    with pytest.raises(PermissionDenied):
        cases.claim(app, REG, drug["id"])  # another section's item
    for ci in case["items"]:
        who = REG if ci["section"] == "企业登记科" else DRUG
        cases.claim(app, who, ci["id"])
    cases.request_inspection(app, DRUG, drug["id"], "经营场所及仓储条件")
    with pytest.raises(WorkflowError):
        cases.decide(app, DRUG, drug["id"], "准予")  # the inspection is still open
    cases.record_inspection(app, INSPECTOR, drug["id"], "经营场所、仓储设施符合要求", True)
    with pytest.raises(InvalidData, match="尚未起草"):
        cases.decide(app, DRUG, drug["id"], "准予")
    for ci in case["items"]:
        who = REG if ci["section"] == "企业登记科" else DRUG
        for doc_type, data in drafts_for(app, ci).items():
            cases.save_draft(app, who, ci["id"], doc_type, data)
        cases.decide(app, who, ci["id"], "准予")
    assert cases.case_detail(app, case_id)["status"] == "待发证"

    outcome = cases.issue(app, LEAD, case_id)
    assert len(outcome.issued) == 5 and not outcome.already  # four decisions and the drug retail licence
    case = cases.case_detail(app, case_id)
    issued = [d for d in case["documents"] if d["doc_type"] in ("decision_grant", "licence_drug_retail")]
    assert case["status"] == "待送达" and {d["number"] for d in issued} == set(outcome.issued)
    # the case papers: one 补正材料通知书 listing everything missing, and the 受理通知书
    papers = {d["doc_type"]: d for d in case["documents"] if d not in issued}
    assert set(papers) == {"notice_correction", "notice_acceptance"}
    # the decisions cite the 受理编号, the number of the 受理通知书
    assert cases.prefill(app, drug["id"], "decision_grant")["acceptance_number"] == papers["notice_acceptance"]["number"]
    with app.db.session() as s:
        paths = [app.store.path_of(s.get(Document, d["id"]).storage_key) for d in case["documents"]]
    assert all(verify_pdf(app, p.read_bytes()).valid for p in paths)
    from pypdf import PdfReader

    with app.db.session() as s:
        notice = app.store.path_of(s.get(Document, papers["notice_correction"]["id"]).storage_key)
    text = "".join(page.extract_text() for page in PdfReader(notice).pages)
    assert "补正材料通知书" in text and all(name.replace("、", "") in text.replace("、", "").replace("\n", "") for name in required[1:3])

    with pytest.raises(InvalidData, match="邮件号码"):
        cases.deliver(app, WINDOW, case_id, "post")
    cases.deliver(app, WINDOW, case_id, "post", tracking="1100123456789")
    assert any(d["doc_type"] == "receipt_service" for d in cases.case_detail(app, case_id)["documents"])  # 送达回证
    cases.archive(app, ARCHIVIST, case_id)
    case = cases.case_detail(app, case_id)
    assert case["status"] == "已归档"
    actions = [s["action"] for s in case["steps"]]
    for expected in ("open", "material", "correction_notice", "intake_complete", "accept", "claim", "inspection_request",
                     "inspection", "draft", "decide", "issue", "deliver", "archive", "paper"):
        assert expected in actions
    assert case["steps"][actions.index("correction_notice")]["detail"]["missing"] == required[1:]
    assert all(s["actor"] and s["at"] for s in case["steps"])

    # the trail holds the acts, each seal applied, and the refusals
    trail = audit.entries(app, limit=500)
    seals = [e for e in trail if e["action"] == "seal.apply" and e["outcome"] == "done" and e["actor"] == LEAD.username]
    assert {e["target"] for e in seals} >= set(outcome.issued)
    refused = {e["action"] for e in trail if e["outcome"] == "refused"}
    assert {"case.accept", "case.claim", "case.decide", "case.material", "case.deliver"} <= refused
    audit.anchor(app)
    assert audit.check(app).ok


def test_separation_of_duties_is_enforced_unless_waived_and_then_audited(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIYIN_SEPARATION_WAIVERS", raising=False)
    # the clerk who accepted the case reviews its registration item: refused when deciding
    case = to_decision_ready(app, reviewer_for_reg=ACCEPTOR)
    reg = next(i for i in case["items"] if i["section"] == "企业登记科")
    with pytest.raises(SeparationOfDuties, match="作出受理决定的人员不得审批"):
        cases.decide(app, ACCEPTOR, reg["id"], "准予")
    last = audit.entries(app, limit=1)[0]
    assert (last["actor"], last["action"], last["outcome"]) == (ACCEPTOR.username, "case.decide", "refused")

    # a small county waives it: the act goes through and the trail shows the waiver
    monkeypatch.setenv("YIYIN_SEPARATION_WAIVERS", "accept-approve")
    cases.decide(app, ACCEPTOR, reg["id"], "准予")
    waived = [e for e in audit.entries(app, limit=5) if e["outcome"] == "waived"]
    assert waived and waived[0]["detail"]["rule"] == "accept-approve" and waived[0]["target"] == case["ref"]
    for ci in case["items"]:
        if ci["id"] != reg["id"]:
            cases.decide(app, DRUG, ci["id"], "准予")
    # the one who approved may not also issue (no waiver for that rule)
    approver_and_lead = Principal(DRUG.username, DRUG.username, frozenset({"lead", "reviewer"}), frozenset({"企业登记科", "医药器械审批科"}))
    with pytest.raises(SeparationOfDuties, match="审批人员不得签发"):
        cases.issue(app, approver_and_lead, case["id"])
    assert cases.case_detail(app, case["id"])["status"] == "待发证"


def test_interrupted_issuance_resumes_without_issuing_twice(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    case = to_decision_ready(app)
    for ci in case["items"]:
        cases.decide(app, REG if ci["section"] == "企业登记科" else DRUG, ci["id"], "准予")
    real_seal, calls = Sealer.seal, {"n": 0}

    def flaky(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise SealingError("sealing failed: HSM session lost")
        return real_seal(self, *args, **kwargs)

    monkeypatch.setattr(Sealer, "seal", flaky)
    with pytest.raises(WorkflowError, match="签发中断"):
        cases.issue(app, LEAD, case["id"])
    def results(detail: dict) -> list[dict]:
        return [d for d in detail["documents"] if d["doc_type"] in ("decision_grant", "licence_drug_retail")]

    detail = cases.case_detail(app, case["id"])
    assert detail["status"] == "待发证" and len(results(detail)) == 2
    assert detail["steps"][-1]["action"] == "issue_interrupted"

    outcome = cases.issue(app, LEAD, case["id"])
    assert len(outcome.already) == 2 and len(outcome.issued) == 3
    detail = cases.case_detail(app, case["id"])
    assert detail["status"] == "待送达" and len(results(detail)) == 5
    assert len({d["number"] for d in results(detail)}) == 5
    with app.db.session() as s:
        refusals = s.execute(select(AuditEntry).where(AuditEntry.outcome == "refused", AuditEntry.action == "seal.apply")).scalars().all()
    assert any("HSM session lost" in r.detail["message"] for r in refusals)
    with app.db.session() as s:
        drafts = s.execute(select(DocumentDraft).where(DocumentDraft.document_id.in_([d["id"] for d in results(detail)]))).scalars().all()
    assert len(drafts) == 5  # each document linked to exactly one draft


def test_a_refused_item_gets_its_refusal_decision(app: App) -> None:
    """不予许可: the reviewer drafts the 不予行政许可决定书; the lead issues it like any other."""
    travel = person("he.travel", "reviewer", sections=("社会事务审批科",))
    lead = person("ma.lead", "lead", sections=("社会事务审批科",))
    case_id = cases.open_case(app, INTAKE, cases.Application(applicant="鞍山市顺达旅行社有限公司", applicant_code="91210321MA10KX3P1U",
                                                             item_code="210321-XK-0601"))
    for m in cases.case_detail(app, case_id)["required_materials"]:
        cases.add_material(app, INTAKE, case_id, m["name"], "m.pdf", PDF)
    cases.check_completeness(app, INTAKE, case_id)
    cases.accept(app, person("qi.accept", "reviewer", sections=("社会事务审批科",)), case_id)
    item = cases.case_detail(app, case_id)["items"][0]
    assert item["document_types"] == ["decision_grant", "licence_travel_agency", "decision_refuse"]
    cases.claim(app, travel, item["id"])
    with pytest.raises(InvalidData, match="不予行政许可决定书"):
        cases.decide(app, travel, item["id"], "不予", "经营场所不符合要求")
    data = {**cases.prefill(app, item["id"], "decision_refuse"), "reasons": ["申请人的营业场所系临时租用，不符合《旅行社条例》第六条的规定。"],
            "reconsideration_body": "台安县人民政府", "court": "鞍山市铁东区人民法院"}
    cases.save_draft(app, travel, item["id"], "decision_refuse", data)
    cases.decide(app, travel, item["id"], "不予", "经营场所不符合要求")
    outcome = cases.issue(app, lead, case_id)
    docs = {d["doc_type"]: d for d in cases.case_detail(app, case_id)["documents"]}
    assert len(outcome.issued) == 1 and docs["decision_refuse"]["number"] == outcome.issued[0]
    assert "licence_travel_agency" not in docs and "decision_grant" not in docs


def test_overdue_and_nearly_due_cases_are_flagged(app: App) -> None:
    from sqlalchemy import update

    from yiyin.registry.cases import Case

    late = to_decision_ready(app)["id"]
    soon = to_decision_ready(app)["id"]
    calendar = WorkCalendar.load(app.settings.home)
    today = app.today()
    past = today
    while calendar.between(past, today) < 2:  # two working days ago: 超期 (time has passed since acceptance)
        past = past.fromordinal(past.toordinal() - 1)
    with app.db.transaction() as s:
        s.execute(update(Case).where(Case.id == late).values(due_date=past))
        s.execute(update(Case).where(Case.id == soon).values(due_date=calendar.add(today, 1)))
    flagged = {r.id: r.deadline.state for r in cases.case_rows(app, flagged=True)}
    assert flagged[late] == "超期" and flagged[soon] == "临期"
    assert cases.case_detail(app, late)["deadline"]["remaining_workdays"] == -2
    assert all(r.deadline and r.deadline.state in ("超期", "临期") for r in cases.case_rows(app, flagged=True))
