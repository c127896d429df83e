"""The papers a case's steps produce for the applicant and the archive: 补正材料通知书 when materials
are missing (one notice listing all of them), 受理通知书 on acceptance, 不予受理通知书 when the
application is refused at intake (with the grounds, the reasons and the applicant's remedies),
送达回证 on delivery.

Each is sealed and numbered through the pipeline, like any document, as soon as its document type
is in the template catalogue (and the organ has a numbering rule for it); until then the step
alone records the facts the paper would carry. A paper that cannot be issued (e.g. the seal is
unavailable) never undoes the step: the failure is recorded as a step of its own, with the data
the paper was to carry, and audited; once the fault is cleared, :func:`retry` issues that paper
from that data (补出具), and the case page offers it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiyin.errors import NotFound, WorkflowError, YiyinError
from yiyin.registry.cases import Case, CaseItem, CaseStep
from yiyin.registry.models import Document, NumberingRule
from yiyin.registry.staff import lock_trail
from yiyin.service import audit
from yiyin.service.app import App
from yiyin.service.samples import load_json, samples_dir
from yiyin.service.staff import Principal
from yiyin.service.workdays import bureau_time

#: the statutory limit where an item names none (行政许可法 第四十二条: twenty working days)
STATUTORY_DAYS = 20
DELIVERY_METHODS = {"window": "直接送达", "post": "邮寄送达"}


def service_phone() -> str:
    """The number printed on papers for the applicant's questions (YIYIN_SERVICE_PHONE; 12345 is
    the government service hotline)."""
    return os.environ.get("YIYIN_SERVICE_PHONE", "").strip() or "12345"


def _application(case: Case) -> dict[str, Any]:
    return {"applicant": case.applicant, "applicant_code": case.applicant_code,
            "application_date": bureau_time(case.received_at).date().isoformat(), "item_name": case.title}


def correction(case: Case, who: Principal, missing: list[str]) -> tuple[str, dict[str, Any]]:
    return "notice_correction", {**_application(case), "missing": [{"name": m, "requirement": "请按申请材料目录提交"} for m in missing],
                                 "handler": who.display_name, "phone": service_phone()}


ACCEPTANCE = "notice_acceptance"


def acceptance(case: Case, who: Principal, materials: list[str], promised_days: int) -> tuple[str, dict[str, Any]]:
    return ACCEPTANCE, {**_application(case), "materials": [{"name": m, "copies": 1, "form": "电子材料"} for m in materials],
                                 "statutory_days": max(STATUTORY_DAYS, promised_days), "promised_days": promised_days,
                                 "handler": who.display_name, "phone": service_phone()}


REJECTION = "notice_rejection"


@dataclass(frozen=True)
class Refusal:
    """Why an application is not accepted (行政许可法 第三十二条第一款第（一）、（二）项, 第七十八条)."""

    grounds: str                    # 依法不需要取得行政许可 | 不属于本机关职权范围 | 隐瞒有关情况或者提供虚假材料
    reasons: str                    # the 审查意见 the applicant reads
    competent_body: str = ""        # where to apply instead, when the matter is not the bureau's
    one_year_bar: bool = False      # false materials for a matter of public safety, health or life
    reconsideration_body: str = ""  # the remedies; by default the bureau's (organs.json "remedies")
    court: str = ""


def remedies(app: App) -> dict[str, str]:
    """The 行政复议机关 and the court the bureau's adverse acts name (organs.json, the bureau's
    "remedies"): the county government reviews its departments' acts (行政复议法 第二十四条); the
    court depends on where the province concentrates administrative cases, so it is configured."""
    organs = load_json(samples_dir() / "organs.json")["organs"]
    spec = next((o for o in organs if o["id"] == app.bureau_id), {})
    return {k: str(v) for k, v in spec.get("remedies", {}).items() if k in ("reconsideration_body", "court")}


def rejection(app: App, case: Case, refusal: Refusal) -> tuple[str, dict[str, Any]]:
    data: dict[str, Any] = {**_application(case), **remedies(app), "grounds": refusal.grounds, "reasons": refusal.reasons,
                            "one_year_bar": refusal.one_year_bar}
    if refusal.competent_body.strip():
        data["competent_body"] = refusal.competent_body
    data.update({k: v for k, v in (("reconsideration_body", refusal.reconsideration_body), ("court", refusal.court)) if v.strip()})
    return REJECTION, data


def delivery(case: Case, who: Principal, method: str, documents: list[Document], recipient: str) -> tuple[str, dict[str, Any]]:
    return "receipt_service", {"document_title": "、".join(d.title for d in documents)[:200],
                               "document_number": "、".join(d.number for d in documents)[:200],
                               "recipient": recipient or case.applicant,
                               "address": case.post_address if method == "post" else "统一发证窗口",
                               "method": DELIVERY_METHODS[method], "servers": [who.display_name]}


def available(app: App, doc_type: str) -> bool:
    from yiyin.templates.catalog import DOCUMENT_TYPES

    if doc_type not in DOCUMENT_TYPES:
        return False
    with app.db.session() as s:
        return s.get(NumberingRule, (app.bureau_id, doc_type)) is not None


def issue(app: App, who: Principal, case_id: int, paper: tuple[str, dict[str, Any]]) -> str | None:
    """Seal the paper through the pipeline and link it to the case; its number, or None when its
    type is not available yet or it could not be issued (recorded as a step)."""
    doc_type, data = paper
    if not available(app, doc_type):
        return None
    try:
        return _issue(app, who, case_id, doc_type, data, {})
    except YiyinError as exc:
        with app.db.transaction() as s:
            s.add(CaseStep(case_id=case_id, action="paper_failed", actor=who.username, at=app.now(),
                           detail={"doc_type": doc_type, "error": exc.message[:500], "data": data}))
        return None


def _issue(app: App, who: Principal, case_id: int, doc_type: str, data: dict[str, Any], note: dict[str, Any]) -> str:
    from yiyin.service.pipeline import Issuer, IssueRequest

    with app.db.session() as s:
        case = s.get(Case, case_id)
        first = s.execute(select(CaseItem.item_code).where(CaseItem.case_id == case_id).order_by(CaseItem.position)).scalars().first()
        ref = case.ref

    def linked(session: Session, doc: Document) -> None:
        if "retry_of" in note:  # under the trail's lock: of two retries at once, one issues, the other is voided
            lock_trail(session)
            if session.execute(select(CaseStep.id).where(CaseStep.case_id == case_id, CaseStep.action == "paper",
                                                         CaseStep.detail["retry_of"].as_integer() == note["retry_of"])).first():
                raise WorkflowError("该文书已由另一次补出具完成")
            audit.record(session, who.username, "case.paper_retry", ref, {"doc_type": doc_type, "number": doc.number, **note})
        session.add(CaseStep(case_id=case_id, action="paper", actor=who.username, at=app.now(),
                             detail={"doc_type": doc_type, "title": doc.title, "number": doc.number, "document_id": doc.id, **note}))

    return Issuer(app).issue(IssueRequest(doc_type, data, first, ref, actor=who.username,
                                          issue_date=app.today(), on_record=linked)).number


#: who may issue a paper again: whoever may take the step that produces it
PAPER_ROLES = {"notice_correction": ("intake",), ACCEPTANCE: ("reviewer", "lead"), REJECTION: ("reviewer", "lead"),
               "receipt_service": ("window",)}


@dataclass(frozen=True)
class FailedPaper:
    step_id: int
    doc_type: str
    title: str
    at: str
    error: str


def title_of(doc_type: str) -> str:
    """A document type's Chinese title (the type id itself for a type no longer in the catalogue)."""
    from yiyin.templates.catalog import DOCUMENT_TYPES

    t = DOCUMENT_TYPES.get(doc_type)
    return t.title if t else doc_type


def failed(session: Session, case_id: int) -> list[FailedPaper]:
    """The case's papers that could not be issued and have not been issued since."""
    steps = list(session.execute(select(CaseStep).where(CaseStep.case_id == case_id, CaseStep.action.in_(("paper", "paper_failed")))
                                 .order_by(CaseStep.id)).scalars())
    done = {st.detail.get("retry_of") for st in steps if st.action == "paper"}
    return [FailedPaper(st.id, st.detail["doc_type"], title_of(st.detail["doc_type"]), bureau_time(st.at).strftime("%Y-%m-%d %H:%M"),
                        st.detail.get("error", ""))
            for st in steps if st.action == "paper_failed" and st.id not in done and "data" in st.detail]


def retry(app: App, who: Principal, case_id: int, step_id: int) -> str:
    """补出具: issue a paper that could not be issued, from the data recorded when it failed (the
    facts as they were at that step), dated today. Its number; a new failure is refused and
    audited, and the paper stays to be issued."""
    with audit.attempt(app, who.username, "case.paper_retry", str(case_id)):
        with app.db.session() as s:
            step = s.get(CaseStep, step_id)
            if step is None or step.case_id != case_id or step.action != "paper_failed":
                raise NotFound(f"办件 {case_id} 没有编号为 {step_id} 的未出具文书记录")
            if "data" not in step.detail:
                raise WorkflowError("该记录未保存文书所载数据，无法补出具")
            paper = next((f for f in failed(s, case_id) if f.step_id == step_id), None)
            if paper is None:
                raise WorkflowError("该文书已补出具，无需再次出具")
            case = s.get(Case, case_id)
            assert case is not None
            roles = PAPER_ROLES.get(paper.doc_type, ("lead",))
            if paper.doc_type in (ACCEPTANCE, REJECTION):  # the lead section's acts
                who.require_member(case.lead_section, *roles)
            else:
                who.require(*roles)
            data = dict(step.detail["data"])
        return _issue(app, who, case_id, paper.doc_type, data, {"retry_of": step_id})
