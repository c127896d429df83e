"""The papers a case's steps produce for the applicant and the archive: 补正材料通知书 when materials
are missing (one notice listing all of them), 受理通知书 on acceptance, 送达回证 on delivery.

Each is sealed and numbered through the pipeline, like any document, as soon as its document type
is in the template catalogue (and the organ has a numbering rule for it); until then the step
alone records the facts the paper would carry. A paper that cannot be issued (e.g. the seal is
unavailable) never undoes the step: the failure is recorded as a step of its own and audited.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiyin.errors import YiyinError
from yiyin.registry.cases import Case, CaseItem, CaseStep
from yiyin.registry.models import Document, NumberingRule
from yiyin.service.app import App
from yiyin.service.staff import Principal
from yiyin.service.workdays import LOCAL

#: the statutory limit where an item names none (行政许可法 第四十二条: twenty working days)
STATUTORY_DAYS = 20
DELIVERY_METHODS = {"window": "直接送达", "post": "邮寄送达"}


def service_phone() -> str:
    """The number printed on papers for the applicant's questions (YIYIN_SERVICE_PHONE; 12345 is
    the government service hotline)."""
    return os.environ.get("YIYIN_SERVICE_PHONE", "").strip() or "12345"


def _application(case: Case) -> dict[str, Any]:
    return {"applicant": case.applicant, "applicant_code": case.applicant_code,
            "application_date": case.received_at.date().isoformat(), "item_name": case.title}


def correction(case: Case, who: Principal, missing: list[str]) -> tuple[str, dict[str, Any]]:
    return "notice_correction", {**_application(case), "missing": [{"name": m, "requirement": "请按申请材料目录提交"} for m in missing],
                                 "handler": who.display_name, "phone": service_phone()}


ACCEPTANCE = "notice_acceptance"


def acceptance(case: Case, who: Principal, materials: list[str], promised_days: int) -> tuple[str, dict[str, Any]]:
    return ACCEPTANCE, {**_application(case), "materials": [{"name": m, "copies": 1, "form": "电子材料"} for m in materials],
                                 "statutory_days": max(STATUTORY_DAYS, promised_days), "promised_days": promised_days,
                                 "handler": who.display_name, "phone": service_phone()}


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
    from yiyin.service.pipeline import Issuer, IssueRequest

    doc_type, data = paper
    if not available(app, doc_type):
        return None
    with app.db.session() as s:
        case = s.get(Case, case_id)
        first = s.execute(select(CaseItem.item_code).where(CaseItem.case_id == case_id).order_by(CaseItem.position)).scalars().first()
        ref = case.ref

    def linked(session: Session, doc: Document) -> None:
        session.add(CaseStep(case_id=case_id, action="paper", actor=who.username, at=datetime.now(LOCAL),
                             detail={"doc_type": doc_type, "title": doc.title, "number": doc.number, "document_id": doc.id}))

    try:
        return Issuer(app).issue(IssueRequest(doc_type, data, first, ref, actor=who.username,
                                              issue_date=datetime.now(LOCAL).date(), on_record=linked)).number
    except YiyinError as exc:
        with app.db.transaction() as s:
            s.add(CaseStep(case_id=case_id, action="paper_failed", actor=who.username, at=datetime.now(LOCAL),
                           detail={"doc_type": doc_type, "error": exc.message[:500]}))
        return None
