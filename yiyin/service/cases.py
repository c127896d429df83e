"""Cases (办件) from intake to archive: 一口受理、内部流转、并联审批、限时办结.

    收件   intake clerk opens the case and receives the materials (接件)
    补正   completeness check found materials missing: one notice lists them all (一次性告知)
    待受理  complete; waits for the lead section's acceptance decision (业务受理)
    审批中  accepted: each item is reviewed in parallel by its own section (claim, site inspection
           requested from 现场勘验科, drafts of the decision and licence, decision)
    待发证  every item decided; the lead section issues all documents of the case in one act
    待送达  issued; the unified issuance window hands them over or posts them (EMS)
    已送达  delivered; waits for the archivist
    已归档  archived.   不予受理: refused at acceptance (then archived too)

Intake, approval and issuance are kept apart (接件、审批、发证三分离): whoever received or accepted
a case may not decide its items, and whoever decided an item may not issue the case. A small
county may waive a rule in ``YIYIN_SEPARATION_WAIVERS``; each waived act is then audited as such.

Time limits run in working days from the bureau's (Beijing) date of acceptance (see workdays.py).
Every act writes a case step (who, when, what) and an audit entry in the same transaction; every
refusal is audited. Times are stored in UTC, one instant per act (``App.now``), and shown in
Beijing time.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yiyin.errors import (AuthorityError, FieldProblem, InvalidData, NotFound, SeparationOfDuties,
                          WorkflowError, YiyinError)
from yiyin.registry import catalog
from yiyin.registry.cases import (Case, CaseCounter, CaseItem, CaseMaterial, CaseStep, DocumentDraft, ItemProfile, Matter,
                                  MatterItem)
from yiyin.registry.models import Document, Item
from yiyin.registry.staff import lock_trail
from yiyin.service import audit, case_papers
from yiyin.service.app import App
from yiyin.service.staff import Principal
from yiyin.service.workdays import Deadline, WorkCalendar, bureau_time, deadline
from yiyin.templates.fields import holder_code_problem

MAX_MATERIAL = 20 * 1024 * 1024
MATERIAL_TYPES = {"application/pdf", "image/jpeg", "image/png", "image/tiff"}

SEPARATION_RULES: dict[str, str] = {
    "intake-approve": "接件人员不得审批同一办件",
    "accept-approve": "作出受理决定的人员不得审批同一办件",
    "approve-issue": "审批人员不得签发同一办件",
    "intake-issue": "接件人员不得签发同一办件",
}
#: what each case step is called on paper and in the archive's process history (业务行为)
STEP_TITLES: dict[str, str] = {
    "open": "接件", "material": "收取材料", "correction_notice": "一次性告知补正材料", "intake_complete": "形式审查通过",
    "accept": "受理", "refuse": "不予受理", "claim": "认领", "inspection_request": "申请现场勘验", "inspection": "现场勘验结论",
    "draft": "起草文书", "decide": "审批决定", "issue_interrupted": "签发中断", "issue": "签发", "deliver": "送达",
    "archive": "归档", "paper": "出具文书", "paper_failed": "文书未能出具"}
DECISIONS = ("准予", "不予")
#: the decision paper a granted item gets (the licence, if the item produces one, comes beside it)
GRANT_DECISION = "decision_grant"
#: the decision paper a refused item gets, once the template catalogue has it
REFUSE_DECISION = "decision_refuse"


def waivers() -> set[str]:
    raw = os.environ.get("YIYIN_SEPARATION_WAIVERS", "").strip()
    if raw in ("all", "*"):
        return set(SEPARATION_RULES)
    return {w.strip() for w in raw.split(",") if w.strip() in SEPARATION_RULES}


# -- plumbing ------------------------------------------------------------------------------------


@contextmanager
def _act(app: App, who: Principal, action: str, target: str) -> Iterator[Session]:
    """One act: refused attempts are audited; success commits the act, its step and its audit entry."""
    with audit.attempt(app, who.username, f"case.{action}", target), app.db.transaction() as s:
        # the trail's lock first, then rows: the same order as an issuance that records a case
        # step, so two acts on one case wait for each other instead of deadlocking
        lock_trail(s)
        s.info["now"] = app.now()
        yield s


def _case(s: Session, case_id: int, lock: bool = True) -> Case:
    q = select(Case).where(Case.id == case_id)
    case = s.execute(q.with_for_update() if lock else q).scalar_one_or_none()
    if case is None:
        raise NotFound(f"没有编号为 {case_id} 的办件")
    return case


def _item(s: Session, case_item_id: int) -> tuple[CaseItem, Case]:
    ci = s.get(CaseItem, case_item_id)
    if ci is None:
        raise NotFound(f"没有编号为 {case_item_id} 的审批事项办理记录")
    return ci, _case(s, ci.case_id)


def _step(s: Session, who: Principal, case: Case, action: str, detail: dict[str, Any] | None = None,
          case_item: CaseItem | None = None) -> None:
    s.add(CaseStep(case_id=case.id, case_item_id=case_item.id if case_item else None, action=action,
                   actor=who.username, at=_now(s), detail=detail or {}))
    audit.record(s, who.username, f"case.{action}", case.ref, {"case_item": case_item.item_code if case_item else None, **(detail or {})})


def _now(s: Session) -> datetime:
    """The instant of the act ``s`` carries out (UTC), set when the act began."""
    return s.info["now"]


def _status(case: Case, *allowed: str) -> None:
    if case.status not in allowed:
        raise WorkflowError(f"办件 {case.ref} 当前为“{case.status}”，此操作仅适用于“{'、'.join(allowed)}”状态")


def _separate(s: Session, who: Principal, case: Case, rule: str, other: str | None) -> None:
    """Refuse, or with a waiver let through and audit, one person holding two separated duties."""
    if other != who.username:
        return
    if rule in waivers():
        audit.record(s, who.username, "separation.waived", case.ref, {"rule": rule, "text": SEPARATION_RULES[rule]}, outcome="waived")
        return
    raise SeparationOfDuties(f"{SEPARATION_RULES[rule]}：{who.display_name}（{who.username}）已是办件 {case.ref} 的"
                             f"{'接件人' if rule.startswith('intake') else '受理人' if rule.startswith('accept') else '审批人'}")


def _next_ref(s: Session, app: App, on: date) -> str:
    period = str(on.year)
    bump = update(CaseCounter).where(CaseCounter.period == period).values(last_seq=CaseCounter.last_seq + 1).returning(CaseCounter.last_seq)
    seq = s.execute(bump).scalar()
    if seq is None:
        try:
            with s.begin_nested():
                s.add(CaseCounter(period=period, last_seq=1))
                s.flush()
            seq = 1
        except IntegrityError:  # another clerk opened the year's first case at the same moment
            seq = s.execute(bump).scalar_one()
    short = catalog.get_organ(s, app.bureau_id).short_name
    # 办件编号; the 受理编号 is the number of the case's 受理通知书, once there is one
    return f"{short}件〔{on.year}〕{seq:05d}号"


# -- intake --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Application:
    applicant: str
    applicant_code: str
    matter_id: str = ""
    item_code: str = ""
    stage: str = ""
    contact: str = ""
    phone: str = ""
    delivery: str = "window"
    post_address: str = ""


def open_case(app: App, who: Principal, a: Application) -> int:
    """接件: a new case for one combined matter (or one stage of a project) or one item."""
    with audit.attempt(app, who.username, "case.open", a.applicant):
        who.require("intake")
        problems = []
        if not a.applicant.strip():
            problems.append(FieldProblem("applicant", "required", "请填写申请人名称"))
        if not a.applicant_code.strip():
            problems.append(FieldProblem("applicant_code", "required", "请填写统一社会信用代码或身份证号码"))
        elif wrong := holder_code_problem(a.applicant_code.strip().upper()):
            # caught at the window: every paper of the case carries the code
            problems.append(FieldProblem("applicant_code", "check_code", wrong))
        if bool(a.matter_id) == bool(a.item_code):
            problems.append(FieldProblem("matter_id", "one_of", "请选择一件事（matter_id）或单个审批事项（item_code），二者选一"))
        if a.delivery not in ("window", "post"):
            problems.append(FieldProblem("delivery", "choice", "送达方式为 window（窗口领取）或 post（邮寄）"))
        if a.delivery == "post" and not a.post_address.strip():
            problems.append(FieldProblem("post_address", "required", "邮寄送达须填写邮寄地址"))
        if problems:
            raise InvalidData(problems, "办件")
    with _act(app, who, "open", a.applicant) as s:
        if a.matter_id:
            matter = s.get(Matter, a.matter_id)
            if matter is None:
                raise NotFound(f"没有“一件事”{a.matter_id}")
            q = select(MatterItem).where(MatterItem.matter_id == matter.id).order_by(MatterItem.position)
            if a.stage:
                q = q.where(MatterItem.stage == a.stage)
            codes = [mi.item_code for mi in s.execute(q).scalars()]
            if not codes:
                raise InvalidData([FieldProblem("stage", "known_stage", f"{matter.name}没有“{a.stage}”阶段")], "办件")
            stage_lead = next((st["lead_section"] for st in matter.stages if st["name"] == a.stage), None)
            title = f"{matter.name}{'（' + a.stage + '）' if a.stage else ''}"
            lead = stage_lead or matter.lead_section
        else:
            item = catalog.get_item(s, a.item_code)
            codes, title, lead = [item.code], item.name, item.section
        now = _now(s)
        case = Case(ref=_next_ref(s, app, bureau_time(now).date()), title=title, matter_id=a.matter_id or None, stage=a.stage,
                    lead_section=lead, applicant=a.applicant.strip(), applicant_code=a.applicant_code.strip().upper(),
                    contact=a.contact.strip(), phone=a.phone.strip(), delivery=a.delivery, post_address=a.post_address.strip(),
                    status="收件", received_at=now, received_by=who.username)
        s.add(case)
        s.flush()
        for position, code in enumerate(codes):
            item = catalog.get_item(s, code)
            s.add(CaseItem(case_id=case.id, item_code=code, position=position, section=item.section, status="待受理"))
        s.flush()
        _step(s, who, case, "open", {"title": title, "items": codes, "lead_section": lead})
        return case.id


def required_materials(s: Session, case: Case) -> list[str]:
    """Every required material of the case's items, each name once, in order."""
    names: list[str] = []
    for code in s.execute(select(CaseItem.item_code).where(CaseItem.case_id == case.id).order_by(CaseItem.position)).scalars():
        profile = s.get(ItemProfile, code)
        for m in (profile.materials if profile else []):
            if m.get("required", True) and m["name"] not in names:
                names.append(m["name"])
    return names


def add_material(app: App, who: Principal, case_id: int, name: str, filename: str, data: bytes,
                 content_type: str = "") -> int:
    """A material received at the window, kept in the document store by its hash."""
    with audit.attempt(app, who.username, "case.material", str(case_id)):
        who.require("intake")
        content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        problems = []
        if not name.strip():
            problems.append(FieldProblem("name", "required", "请选择这是哪一项申请材料"))
        if not data:
            problems.append(FieldProblem("file", "required", "文件为空"))
        elif len(data) > MAX_MATERIAL:
            problems.append(FieldProblem("file", "max_size", f"文件超过 {MAX_MATERIAL // (1024 * 1024)} MB"))
        if content_type not in MATERIAL_TYPES:
            problems.append(FieldProblem("file", "file_type", f"只接收 PDF、JPEG、PNG、TIFF 文件，收到的是 {content_type}"))
        elif content_type == "application/pdf" and not data.startswith(b"%PDF-"):
            problems.append(FieldProblem("file", "pdf", "文件不是 PDF"))
        if problems:
            raise InvalidData(problems, "申请材料")
    with _act(app, who, "material", str(case_id)) as s:
        case = _case(s, case_id)
        _status(case, "收件", "补正")
        key, new = app.store.put(data)
        try:
            m = CaseMaterial(case_id=case.id, name=name.strip(), filename=filename[:200], content_type=content_type,
                             sha256=hashlib.sha256(data).hexdigest(), size=len(data), storage_key=key,
                             received_by=who.username, received_at=_now(s))
            s.add(m)
            s.flush()
            _step(s, who, case, "material", {"name": m.name, "filename": m.filename, "sha256": m.sha256})
            return m.id
        except BaseException:
            if new:
                app.store.discard(key)
            raise


def check_completeness(app: App, who: Principal, case_id: int) -> list[str]:
    """形式审查: the missing required materials, all at once (一次性告知); none means 待受理."""
    who.require("intake")
    with _act(app, who, "check", str(case_id)) as s:
        case = _case(s, case_id)
        _status(case, "收件", "补正")
        have = set(s.execute(select(CaseMaterial.name).where(CaseMaterial.case_id == case.id)).scalars())
        missing = [m for m in required_materials(s, case) if m not in have]
        if missing:
            case.status = "补正"
            _step(s, who, case, "correction_notice", {"missing": missing})
        else:
            case.status = "待受理"
            _step(s, who, case, "intake_complete", {"materials": sorted(have)})
    if missing:
        case_papers.issue(app, who, case_id, case_papers.correction(case, who, missing))
    return missing


# -- acceptance ----------------------------------------------------------------------------------


def accept(app: App, who: Principal, case_id: int, calendar: WorkCalendar | None = None) -> None:
    """受理: the lead section accepts; every item's time limit starts to run."""
    calendar = calendar or WorkCalendar.load(app.settings.home)
    with _act(app, who, "accept", str(case_id)) as s:
        case = _case(s, case_id)
        who.require_member(case.lead_section, "reviewer", "lead")
        _status(case, "待受理")
        now = _now(s)
        dues = []
        for ci in s.execute(select(CaseItem).where(CaseItem.case_id == case.id)).scalars():
            item = catalog.get_item(s, ci.item_code)
            ci.due_date = calendar.add(bureau_time(now).date(), item.time_limit_days)
            ci.status = "待审"
            dues.append(ci.due_date)
        case.status, case.accepted_at, case.accepted_by, case.due_date = "审批中", now, who.username, max(dues)
        _step(s, who, case, "accept", {"due_date": case.due_date.isoformat(), "calendar_known": calendar.knows(case.due_date.year)})
        received = list(dict.fromkeys(s.execute(select(CaseMaterial.name).where(CaseMaterial.case_id == case.id)
                                                .order_by(CaseMaterial.id)).scalars()))
        promised = max(catalog.get_item(s, code).time_limit_days for code in
                       s.execute(select(CaseItem.item_code).where(CaseItem.case_id == case.id)).scalars())
    case_papers.issue(app, who, case_id, case_papers.acceptance(case, who, received or [case.title], promised))


def refuse_acceptance(app: App, who: Principal, case_id: int, refusal: case_papers.Refusal) -> str | None:
    """不予受理: the case is closed, and the applicant gets a sealed 不予受理通知书 with the grounds, the
    reasons and the remedies. The notice's data is checked before anything changes, so a refusal
    never stands without its notice for want of a field; the notice's number is returned."""
    from yiyin.templates.catalog import document_type

    def allowed(case: Case) -> None:
        who.require_member(case.lead_section, "reviewer", "lead")
        _status(case, "收件", "补正", "待受理")

    with audit.attempt(app, who.username, "case.refuse", str(case_id)):
        with app.db.session() as s:
            case = _case(s, case_id, lock=False)
            allowed(case)
            paper = case_papers.rejection(app, case, refusal)
        if not refusal.reasons.strip():
            raise InvalidData([FieldProblem("reasons", "required", "请写明不予受理的审查意见（告知申请人的具体理由）")], "不予受理")
        app.renderer.validate(document_type(paper[0]), paper[1])
    with _act(app, who, "refuse", str(case_id)) as s:
        case = _case(s, case_id)
        allowed(case)  # again, under the lock: another act may have come first
        case.status, case.closed_at = "不予受理", _now(s)
        for ci in s.execute(select(CaseItem).where(CaseItem.case_id == case.id)).scalars():
            ci.status = "不予受理"
        _step(s, who, case, "refuse", {"grounds": refusal.grounds, "reasons": refusal.reasons.strip(),
                                       "competent_body": refusal.competent_body.strip()})
    return case_papers.issue(app, who, case_id, paper)


# -- parallel review -----------------------------------------------------------------------------


def claim(app: App, who: Principal, case_item_id: int) -> None:
    with _act(app, who, "claim", str(case_item_id)) as s:
        ci, case = _item(s, case_item_id)
        who.require_member(ci.section, "reviewer")
        _status(case, "审批中")
        if ci.status != "待审":
            raise WorkflowError(f"该事项当前为“{ci.status}”，已由 {ci.assignee or '他人'} 办理")
        ci.status, ci.assignee = "审查中", who.username
        _step(s, who, case, "claim", {}, ci)


def _assignee(who: Principal, ci: CaseItem) -> None:
    who.require("reviewer")
    if ci.assignee != who.username:
        raise WorkflowError(f"该事项由 {ci.assignee or '（尚无人）'} 承办；请先认领")


def request_inspection(app: App, who: Principal, case_item_id: int, note: str) -> None:
    """Ask 现场勘验科 for a site inspection (one joint inspection per case: 一车勘验)."""
    with _act(app, who, "inspection_request", str(case_item_id)) as s:
        ci, case = _item(s, case_item_id)
        _assignee(who, ci)
        if ci.status != "审查中":
            raise WorkflowError(f"该事项当前为“{ci.status}”，不能申请现场勘验")
        ci.status = "勘验中"
        _step(s, who, case, "inspection_request", {"note": note.strip()}, ci)


def record_inspection(app: App, who: Principal, case_item_id: int, conclusion: str, passed: bool) -> None:
    with audit.attempt(app, who.username, "case.inspection", str(case_item_id)):
        if not conclusion.strip():
            raise InvalidData([FieldProblem("conclusion", "required", "请填写勘验结论和意见")], "现场勘验")
    with _act(app, who, "inspection", str(case_item_id)) as s:
        ci, case = _item(s, case_item_id)
        who.require("inspector")
        if ci.status != "勘验中":
            raise WorkflowError(f"该事项当前为“{ci.status}”，没有待办的现场勘验")
        ci.status = "审查中"
        _step(s, who, case, "inspection", {"conclusion": conclusion.strip(), "passed": passed}, ci)


def document_types_for(s: Session, ci: CaseItem, decision: str = "") -> list[str]:
    """The documents an item's decision gets: granted, the decision and the licence its item
    produces; refused, the refusal decision (once the template catalogue has it). Without a
    decision: every document the reviewer may draft."""
    from yiyin.templates.catalog import DOCUMENT_TYPES

    item = catalog.get_item(s, ci.item_code)
    grant = [GRANT_DECISION] + ([item.licence_type] if item.licence_type else [])
    refuse = [REFUSE_DECISION] if REFUSE_DECISION in DOCUMENT_TYPES else []
    return grant if decision == "准予" else refuse if decision == "不予" else grant + refuse


def save_draft(app: App, who: Principal, case_item_id: int, doc_type: str, data: dict[str, Any]) -> None:
    """The reviewer's draft of one document; checked against the type's schema and fonts."""
    from yiyin.templates.catalog import document_type

    with audit.attempt(app, who.username, "case.draft", str(case_item_id)):
        dt = document_type(doc_type)
        model = app.renderer.validate(dt, data)
    with _act(app, who, "draft", str(case_item_id)) as s:
        ci, case = _item(s, case_item_id)
        _assignee(who, ci)
        if ci.status not in ("审查中", "勘验中"):
            raise WorkflowError(f"该事项当前为“{ci.status}”，不能再修改文书草稿")
        if doc_type not in document_types_for(s, ci):
            raise InvalidData([FieldProblem("doc_type", "for_item", f"{dt.title}不是该事项的审批结果文书")], "文书草稿")
        draft = s.execute(select(DocumentDraft).where(DocumentDraft.case_item_id == ci.id, DocumentDraft.doc_type == doc_type)).scalar_one_or_none()
        draft = draft or DocumentDraft(case_item_id=ci.id, doc_type=doc_type)
        draft.data, draft.updated_by, draft.updated_at = model.model_dump(mode="json"), who.username, _now(s)
        s.add(draft)
        _step(s, who, case, "draft", {"doc_type": doc_type}, ci)


def decide(app: App, who: Principal, case_item_id: int, decision: str, reason: str = "") -> None:
    """准予 (with the drafts of its documents ready) or 不予 (with the reason)."""
    with audit.attempt(app, who.username, "case.decide", str(case_item_id)):
        if decision not in DECISIONS:
            raise InvalidData([FieldProblem("decision", "choice", "审批决定为“准予”或“不予”")], "审批决定")
        if decision == "不予" and not reason.strip():
            raise InvalidData([FieldProblem("reason", "required", "不予许可须写明理由")], "审批决定")
    with _act(app, who, "decide", str(case_item_id)) as s:
        ci, case = _item(s, case_item_id)
        _assignee(who, ci)
        if ci.status != "审查中":
            raise WorkflowError(f"该事项当前为“{ci.status}”，不能作出决定")
        _separate(s, who, case, "intake-approve", case.received_by)
        _separate(s, who, case, "accept-approve", case.accepted_by)
        have = set(s.execute(select(DocumentDraft.doc_type).where(DocumentDraft.case_item_id == ci.id)).scalars())
        missing = [t for t in document_types_for(s, ci, decision) if t not in have]
        if missing:
            raise InvalidData([FieldProblem("drafts", "required", f"尚未起草：{'、'.join(case_papers.title_of(t) for t in missing)}")], "审批决定")
        ci.status, ci.decision, ci.decision_reason = decision, decision, reason.strip()
        ci.decided_by, ci.decided_at = who.username, _now(s)
        _step(s, who, case, "decide", {"decision": decision, "reason": reason.strip()}, ci)
        open_items = s.execute(select(func.count()).select_from(CaseItem).where(
            CaseItem.case_id == case.id, CaseItem.status.not_in(DECISIONS))).scalar_one()
        if open_items == 0:
            case.status = "待发证"


# -- issuance ------------------------------------------------------------------------------------


@dataclass
class IssueOutcome:
    issued: list[str] = field(default_factory=list)     # numbers issued by this act
    already: list[str] = field(default_factory=list)    # numbers issued by an earlier, interrupted act
    failed: str = ""
    papers: list[Any] = field(default_factory=list)     # what the pipeline handed back for each (verification codes)


def issue(app: App, who: Principal, case_id: int) -> IssueOutcome:
    """The lead section issues every document of the case in one act, through the pipeline.

    Everything that can be checked before the first number is checked first (schemas, fonts,
    authority and seals of every document), so a bad draft stops the act before anything is
    issued. A failure after that (e.g. the HSM going away) leaves the documents already issued
    valid and recorded against their drafts; the case stays 待发证 and issuing again seals only
    the rest. A document is never issued twice for one draft: its draft is linked in the same
    transaction that records it."""
    from yiyin.service.pipeline import Issuer, IssueRequest

    target = str(case_id)
    with _act(app, who, "issue_check", target) as s:
        case = _case(s, case_id)
        who.require_member(case.lead_section, "lead")
        _status(case, "待发证")
        target = case.ref
        for ci in s.execute(select(CaseItem).where(CaseItem.case_id == case.id)).scalars():
            _separate(s, who, case, "approve-issue", ci.decided_by)
        _separate(s, who, case, "intake-issue", case.received_by)
        rows = [(d, ci) for d, ci in s.execute(select(DocumentDraft, CaseItem).join(CaseItem, CaseItem.id == DocumentDraft.case_item_id)
                                               .where(CaseItem.case_id == case.id).order_by(CaseItem.position, DocumentDraft.id)).all()
                if d.doc_type in document_types_for(s, ci, ci.decision)]
        outcome = IssueOutcome(already=[_number(s, d.document_id) for d, _ in rows if d.document_id])
        todo = [(d.id, d.doc_type, dict(d.data), ci.item_code) for d, ci in rows if not d.document_id]
        ref = case.ref
        _precheck(app, s, todo)
    issuer = Issuer(app)
    for draft_id, doc_type, data, item_code in todo:
        def link(session: Session, doc: Document, draft_id: int = draft_id) -> None:
            n = session.execute(update(DocumentDraft).where(DocumentDraft.id == draft_id, DocumentDraft.document_id.is_(None))
                                .values(document_id=doc.id)).rowcount
            if n != 1:
                raise WorkflowError("该文书已由另一次签发完成")
        try:
            issued = issuer.issue(IssueRequest(doc_type=doc_type, data=data, item_code=item_code, case_ref=ref,
                                               actor=who.username, issue_date=app.today(), on_record=link))
        except YiyinError as exc:
            outcome.failed = exc.message
            with app.db.transaction() as s:
                s.info["now"] = app.now()
                case = _case(s, case_id)
                _step(s, who, case, "issue_interrupted", {"issued": outcome.already + outcome.issued, "error": exc.message[:500]})
            raise WorkflowError(f"签发中断：{exc.message}。已签发的 {len(outcome.already) + len(outcome.issued)} 份文书有效；"
                                f"排除故障后再次签发将只签发其余文书") from exc
        outcome.issued.append(issued.number)
        outcome.papers.append(issued)
    with _act(app, who, "issue", ref) as s:
        case = _case(s, case_id)
        _status(case, "待发证")
        case.status, case.issued_by = "待送达", who.username
        _step(s, who, case, "issue", {"documents": outcome.already + outcome.issued})
    return outcome


def _number(s: Session, document_id: str | None) -> str:
    doc = s.get(Document, document_id) if document_id else None
    return doc.number if doc else ""


def _precheck(app: App, s: Session, todo: list[tuple[int, str, dict[str, Any], str]]) -> None:
    from yiyin.service.pipeline import seal_purpose
    from yiyin.templates.catalog import document_type
    from yiyin.templates.doctype import DocumentKind

    on = app.today()
    problems: list[FieldProblem] = []
    for _, doc_type, data, item_code in todo:
        dt = document_type(doc_type)
        try:
            app.renderer.validate(dt, data)
            item = catalog.get_item(s, item_code)
            if dt.kind == DocumentKind.licence and item.licence_type != dt.id:
                raise AuthorityError(f"{item.name}不核发{dt.title}")
            authority = catalog.issuing_authority(s, item, on)
            catalog.active_seal(s, authority.organ.id, seal_purpose(s, authority), app.now())
        except InvalidData as exc:
            problems.extend(FieldProblem(f"{dt.title}.{p.field}", p.rule, p.message) for p in exc.problems)
        except YiyinError as exc:
            problems.append(FieldProblem(dt.title, "authority", exc.message))
    if problems:
        raise InvalidData(problems, "签发前检查")


# -- delivery and archive ------------------------------------------------------------------------


def deliver(app: App, who: Principal, case_id: int, method: str, recipient: str = "", tracking: str = "") -> None:
    """统一发证窗口: handed over at the window (who collected) or posted by EMS (tracking number)."""
    with audit.attempt(app, who.username, "case.deliver", str(case_id)):
        problems = []
        if method not in ("window", "post"):
            problems.append(FieldProblem("method", "choice", "送达方式为 window（窗口领取）或 post（邮寄）"))
        if method == "window" and not recipient.strip():
            problems.append(FieldProblem("recipient", "required", "请填写领取人"))
        if method == "post" and not tracking.strip():
            problems.append(FieldProblem("tracking", "required", "请填写邮件号码（EMS 邮寄凭据）"))
        if problems:
            raise InvalidData(problems, "送达")
    with _act(app, who, "deliver", str(case_id)) as s:
        who.require("window")
        case = _case(s, case_id)
        _status(case, "待送达")
        case.status = "已送达"
        _step(s, who, case, "deliver", {"method": method, "recipient": recipient.strip(), "tracking": tracking.strip()})
        delivered = list(s.execute(select(Document).join(DocumentDraft, DocumentDraft.document_id == Document.id)
                                   .join(CaseItem, CaseItem.id == DocumentDraft.case_item_id)
                                   .where(CaseItem.case_id == case.id).order_by(Document.issued_at)).scalars())
    if delivered:
        case_papers.issue(app, who, case_id, case_papers.delivery(case, who, method, delivered, recipient.strip()))


def archive(app: App, who: Principal, case_id: int) -> None:
    with _act(app, who, "archive", str(case_id)) as s:
        who.require("archivist")
        case = _case(s, case_id)
        _status(case, "已送达", "不予受理")
        case.status, case.closed_at = "已归档", case.closed_at or _now(s)
        _step(s, who, case, "archive", {})


# -- reading -------------------------------------------------------------------------------------

FINISHED = ("待送达", "已送达", "已归档", "不予受理")


@dataclass(frozen=True)
class CaseRow:
    id: int
    ref: str
    title: str
    applicant: str
    status: str
    lead_section: str
    received_at: datetime
    deadline: Deadline | None

    def to_json(self) -> dict[str, Any]:
        d = self.deadline
        return {"id": self.id, "ref": self.ref, "title": self.title, "applicant": self.applicant, "status": self.status,
                "lead_section": self.lead_section, "received_at": self.received_at.isoformat(),
                "due_date": d.due.isoformat() if d else None, "remaining_workdays": d.remaining if d else None,
                "deadline_state": d.state if d else None}


def case_rows(app: App, status: str = "", section: str = "", flagged: bool = False, limit: int = 200) -> list[CaseRow]:
    calendar = WorkCalendar.load(app.settings.home)
    now = app.today()
    with app.db.session() as s:
        q = select(Case).order_by(Case.due_date.is_(None), Case.due_date, Case.id.desc()).limit(limit)
        if status:
            q = q.where(Case.status == status)
        if section:
            q = q.where(Case.id.in_(select(CaseItem.case_id).where(CaseItem.section == section)) | (Case.lead_section == section))
        rows = []
        for c in s.execute(q).scalars():
            d = deadline(calendar, c.due_date, now, c.status in FINISHED) if c.due_date else None
            if flagged and not (d and d.state in ("临期", "超期")):
                continue
            rows.append(CaseRow(c.id, c.ref, c.title, c.applicant, c.status, c.lead_section, bureau_time(c.received_at), d))
        return rows


def case_detail(app: App, case_id: int) -> dict[str, Any]:
    calendar = WorkCalendar.load(app.settings.home)
    now = app.today()
    with app.db.session() as s:
        case = _case(s, case_id, lock=False)
        items = []
        for ci in s.execute(select(CaseItem).where(CaseItem.case_id == case.id).order_by(CaseItem.position)).scalars():
            item = s.get(Item, ci.item_code)
            drafts = s.execute(select(DocumentDraft).where(DocumentDraft.case_item_id == ci.id)).scalars().all()
            items.append({
                "id": ci.id, "code": ci.item_code, "name": item.name if item else ci.item_code, "section": ci.section,
                "status": ci.status, "assignee": ci.assignee, "decision": ci.decision, "decision_reason": ci.decision_reason,
                "decided_by": ci.decided_by, "document_types": document_types_for(s, ci),
                "document_titles": {t: case_papers.title_of(t) for t in document_types_for(s, ci)},
                "site_inspection": bool((profile := s.get(ItemProfile, ci.item_code)) and profile.site_inspection),
                "deadline": _deadline_json(deadline(calendar, ci.due_date, now, ci.status in DECISIONS)) if ci.due_date else None,
                "drafts": [{"doc_type": d.doc_type, "title": case_papers.title_of(d.doc_type), "updated_by": d.updated_by,
                            "document": _doc_json(s.get(Document, d.document_id)) if d.document_id else None} for d in drafts],
            })
        materials = [{"id": m.id, "name": m.name, "filename": m.filename, "size": m.size, "sha256": m.sha256,
                      "content_type": m.content_type, "received_by": m.received_by, "received_at": bureau_time(m.received_at).isoformat()}
                     for m in s.execute(select(CaseMaterial).where(CaseMaterial.case_id == case.id).order_by(CaseMaterial.id)).scalars()]
        have = {m["name"] for m in materials}
        steps = [{"action": st.action, "actor": st.actor, "at": bureau_time(st.at).isoformat(),
                  "detail": {k: v for k, v in st.detail.items() if k != "data"},  # a failed paper's data: kept for 补出具
                  "case_item_id": st.case_item_id}
                 for st in s.execute(select(CaseStep).where(CaseStep.case_id == case.id).order_by(CaseStep.id)).scalars()]
        documents = [_doc_json(d) for d in s.execute(select(Document).where(Document.case_ref == case.ref).order_by(Document.issued_at)).scalars()]
        d = deadline(calendar, case.due_date, now, case.status in FINISHED) if case.due_date else None
        return {
            "id": case.id, "ref": case.ref, "title": case.title, "matter_id": case.matter_id, "stage": case.stage,
            "lead_section": case.lead_section, "applicant": case.applicant, "applicant_code": case.applicant_code,
            "contact": case.contact, "phone": case.phone, "delivery": case.delivery, "post_address": case.post_address,
            "status": case.status, "received_at": bureau_time(case.received_at).isoformat(), "received_by": case.received_by,
            "accepted_at": bureau_time(case.accepted_at).isoformat() if case.accepted_at else None, "accepted_by": case.accepted_by,
            "issued_by": case.issued_by, "deadline": _deadline_json(d) if d else None,
            "items": items, "materials": materials,
            "required_materials": [{"name": n, "received": n in have} for n in required_materials(s, case)],
            "documents": documents, "steps": steps,
            "failed_papers": [asdict(f) for f in case_papers.failed(s, case.id)],
        }


def _deadline_json(d: Deadline) -> dict[str, Any]:
    return {"due_date": d.due.isoformat(), "remaining_workdays": d.remaining, "state": d.state, "calendar_known": d.calendar_known}


def _doc_json(doc: Document | None) -> dict[str, Any] | None:
    if doc is None:
        return None
    return {"id": doc.id, "number": doc.number, "title": doc.title, "doc_type": doc.doc_type, "item_code": doc.item_code,
            "issue_date": doc.issue_date.isoformat(), "sha256": doc.sha256}


def prefill(app: App, case_item_id: int, doc_type: str) -> dict[str, Any]:
    """A draft's starting data: the saved draft, or what the case already knows."""
    with app.db.session() as s:
        ci = s.get(CaseItem, case_item_id)
        if ci is None:
            raise NotFound(f"没有编号为 {case_item_id} 的审批事项办理记录")
        draft = s.execute(select(DocumentDraft).where(DocumentDraft.case_item_id == ci.id, DocumentDraft.doc_type == doc_type)).scalar_one_or_none()
        if draft is not None:
            return dict(draft.data)
        case = _case(s, ci.case_id, lock=False)
        item = catalog.get_item(s, ci.item_code)
        acceptance = next((st.detail.get("number") for st in s.execute(select(CaseStep).where(
            CaseStep.case_id == case.id, CaseStep.action == "paper")).scalars()
            if st.detail.get("doc_type") == case_papers.ACCEPTANCE), None)
        from yiyin.templates.catalog import document_type

        fields = document_type(doc_type).schema.model_fields
        known = {"applicant": case.applicant, "applicant_code": case.applicant_code, "enterprise_name": case.applicant,
                "uscc": case.applicant_code, "acceptance_number": acceptance or case.ref, "item_name": item.name,
                **case_papers.remedies(app),
                "application_date": bureau_time(case.received_at).date().isoformat(),
                 "legal_basis": [b for b in item.legal_basis.replace("；", ";").split(";") if b.strip()]}
        return {k: v for k, v in known.items() if k in fields}
