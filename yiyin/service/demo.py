"""The demo: the sample 开办药店 combined matter from intake to delivery through the real case
workflow, each step by its own member of staff (接件、审批、发证三分离), ready to be archived.

    the bureau holds the items under a 划转协议, sealed by the five organs that sign it
    张敏 (window) opens the case and receives the materials (PDFs, and two scanned pictures);
      one is missing: the 补正材料通知书 lists it, the applicant brings it, the check passes
    李强 (企业登记科) accepts: 受理通知书
    赵丽 (企业登记科) and 王芳 (医药器械审批科) review their items in parallel; 孙伟 inspects the
      pharmacy; each reviewer drafts and decides
    周磊 (牵头科室) issues every decision and the licence in one act
    钱敏 (统一发证窗口) hands them over: 送达回证
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typst

from yiyin.service import cases, staff
from yiyin.service.agreements import AgreementRequest, issue_agreement
from yiyin.service.app import App
from yiyin.service.pipeline import Issued
from yiyin.service.samples import load_json, resolve_dates, samples_dir
from yiyin.service.staff import Principal
from yiyin.service.transparency import sign_checkpoint

#: the demo's staff: username -> (name, roles, sections)
STAFF: dict[str, tuple[str, list[str], list[str]]] = {
    "demo.intake": ("张敏", ["intake"], []),
    "demo.accept": ("李强", ["reviewer"], ["企业登记科"]),
    "demo.reg": ("赵丽", ["reviewer"], ["企业登记科"]),
    "demo.drug": ("王芳", ["reviewer"], ["医药器械审批科"]),
    "demo.inspect": ("孙伟", ["inspector"], []),
    "demo.lead": ("周磊", ["lead"], ["企业登记科"]),
    "demo.window": ("钱敏", ["window"], []),
    "demo.archivist": ("吴静", ["archivist"], []),
}
_MATERIAL = """#let t = sys.inputs.at("title")
#set document(title: t)
#set page(paper: "a4", margin: 25mm)
#set text(font: sys.inputs.at("font"), size: 12pt, lang: "zh", region: "cn")
#align(center, text(size: 18pt, weight: "bold", t))
#v(10mm)
#table(columns: (35mm, 1fr), inset: 8pt, stroke: 0.5pt,
  [申请人], sys.inputs.at("applicant"), [统一社会信用代码], sys.inputs.at("code"),
  [联系人], sys.inputs.at("contact"), [事项], sys.inputs.at("matter"))
#v(8mm)
（演示材料：申请人提交的#t。）
"""


@dataclass(frozen=True)
class DemoDocument:
    issued: Issued
    path: Path


@dataclass(frozen=True)
class DemoMatter:
    documents: list[DemoDocument]       # the drug retail decision, the licence, the agreement: copied into OUT
    case_id: int
    case_ref: str                       # 办件编号
    papers: list[tuple[str, str]]       # (title, number) of every sealed paper of the case, in order of issue
    archive_out: Path                   # a new folder for the package


def demo_staff(app: App) -> dict[str, Principal]:
    """The demo's staff accounts (created once, without passwords: they act only through the demo)."""
    have = {u.username for u in staff.list_users(app)}
    out = {}
    for username, (name, roles, sections) in STAFF.items():
        if username not in have:
            staff.add_user(app, username, name, roles, sections, None, "demo")
        out[username] = Principal(username, name, frozenset(roles), frozenset(sections))
    return out


def _materials(app: App, names: list[str], scanned: set[str], facts: dict[str, str]) -> dict[str, tuple[str, bytes, str]]:
    """Each material as the applicant hands it in: a PDF, or a scanned page (PNG) for ``scanned``."""
    workdir = app.settings.home / "demo-materials"
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "material.typ").write_text(_MATERIAL, "utf-8")
    compiler = typst.Compiler(str(workdir / "material.typ"), font_paths=[str(d) for d in app.fonts.dirs], ignore_system_fonts=True)
    out = {}
    for name in names:
        inputs = {"title": name, "font": app.fonts.body[0], **facts}
        if name in scanned:
            out[name] = (f"{name}（扫描件）.png", compiler.compile(sys_inputs=inputs, format="png", ppi=72), "image/png")
        else:
            out[name] = (f"{name}.pdf", compiler.compile(sys_inputs=inputs, pdf_standards=["a-3b"]), "application/pdf")
    return out


def run_demo(app: App, out: Path, application: str = "kaiban_yaodian") -> DemoMatter:
    spec = load_json(samples_dir() / "applications" / f"{application}.json")
    plan: dict[str, Any] = spec["case"]
    out.mkdir(parents=True, exist_ok=True)
    today = app.today()
    who = demo_staff(app)

    # the agreement under which the bureau holds these items, sealed by all five organs in turn
    agreement_data = load_json(samples_dir() / "documents" / "agreement_transfer.json")
    agreement = issue_agreement(app, AgreementRequest("agreement_transfer", resolve_dates(agreement_data, today), spec["case_ref"],
                                                      actor="demo", issue_date=today))

    decision_spec, licence_spec = spec["documents"][0], spec["documents"][1]
    applicant, code = decision_spec["data"]["applicant"], decision_spec["data"]["applicant_code"]
    case_id = cases.open_case(app, who["demo.intake"], cases.Application(
        applicant=applicant, applicant_code=code, matter_id=plan["matter_id"], contact=plan["contact"], phone=plan["phone"],
        delivery=plan["delivery"]))
    required = [m["name"] for m in cases.case_detail(app, case_id)["required_materials"]]
    files = _materials(app, required, set(plan["scanned_materials"]),
                       {"applicant": applicant, "code": code, "contact": plan["contact"], "matter": spec["matter"]})
    late = plan["late_material"]
    for name in required:
        if name != late:
            cases.add_material(app, who["demo.intake"], case_id, name, *files[name])
    cases.check_completeness(app, who["demo.intake"], case_id)   # one material missing: 补正材料通知书
    cases.add_material(app, who["demo.intake"], case_id, late, *files[late])
    cases.check_completeness(app, who["demo.intake"], case_id)
    cases.accept(app, who["demo.accept"], case_id)

    reviewer = {"企业登记科": who["demo.reg"], "医药器械审批科": who["demo.drug"]}
    detail = cases.case_detail(app, case_id)
    for ci in detail["items"]:
        cases.claim(app, reviewer[ci["section"]], ci["id"])
    inspection = plan["inspection"]
    inspected = next(ci for ci in detail["items"] if ci["code"] == inspection["item"])
    cases.request_inspection(app, reviewer[inspected["section"]], inspected["id"], inspection["request"])
    cases.record_inspection(app, who["demo.inspect"], inspected["id"], inspection["conclusion"], inspection["passed"])
    for ci in detail["items"]:
        by = reviewer[ci["section"]]
        prefill = cases.prefill(app, ci["id"], "decision_grant")
        decision = resolve_dates(copy.deepcopy(decision_spec["data"]), today)
        decision.update({k: prefill[k] for k in ("applicant", "acceptance_number", "item_name", "application_date") if k in prefill})
        if ci["code"] != decision_spec["item"]:
            for k in ("licence_name", "valid_from", "valid_until", "conditions"):
                decision.pop(k, None)
            decision.update(plan["decisions"][ci["code"]])
        cases.save_draft(app, by, ci["id"], "decision_grant", decision)
        if licence_spec["type"] in ci["document_types"]:
            cases.save_draft(app, by, ci["id"], licence_spec["type"], resolve_dates(copy.deepcopy(licence_spec["data"]), today))
        cases.decide(app, by, ci["id"], "准予")
    outcome = cases.issue(app, who["demo.lead"], case_id)
    cases.deliver(app, who["demo.window"], case_id, plan["delivery"], plan["recipient"])
    sign_checkpoint(app)  # a signed tree head over everything just issued

    detail = cases.case_detail(app, case_id)
    drug = next(ci for ci in detail["items"] if ci["code"] == decision_spec["item"])
    numbers = {d["doc_type"]: d["document"]["number"] for d in drug["drafts"] if d["document"]}
    issued = {i.number: i for i in outcome.papers}
    documents = [_copy(issued[numbers[decision_spec["type"]]], out, 1), _copy(issued[numbers[licence_spec["type"]]], out, 2),
                 _copy(agreement, out, 3)]
    target = out / f"archive-{detail['ref'].strip('号').split('〕')[-1]}"
    n = 1
    while target.exists():
        n += 1
        target = target.with_name(f"{target.name.split('.')[0]}.{n}")
    return DemoMatter(documents=documents, case_id=case_id, case_ref=detail["ref"],
                      papers=[(d["title"], d["number"]) for d in detail["documents"]], archive_out=target)


def _copy(issued: Issued, out: Path, index: int) -> DemoDocument:
    target = out / f"{index:02d}-{issued.title}.pdf"
    shutil.copyfile(issued.path, target)
    return DemoDocument(issued=issued, path=target)
