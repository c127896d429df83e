"""The document types yiyin knows, by id."""

from __future__ import annotations

from yiyin.errors import FieldProblem, InvalidData
from yiyin.templates import (
    agreement_delegation, agreement_transfer, decision_grant, decision_refuse, licence_drug_retail, licence_hazchem,
    licence_medical_institution, licence_printing, licence_road_transport, licence_travel_agency, notice_acceptance,
    notice_correction, notice_rejection, receipt_service,
)
from yiyin.templates.doctype import DocumentType

DOCUMENT_TYPES: dict[str, DocumentType] = {
    t.id: t for t in (
        decision_grant.DOCUMENT_TYPE, decision_refuse.DOCUMENT_TYPE,
        notice_acceptance.DOCUMENT_TYPE, notice_rejection.DOCUMENT_TYPE, notice_correction.DOCUMENT_TYPE,
        receipt_service.DOCUMENT_TYPE,
        licence_drug_retail.DOCUMENT_TYPE, licence_travel_agency.DOCUMENT_TYPE, licence_road_transport.DOCUMENT_TYPE,
        licence_hazchem.DOCUMENT_TYPE, licence_medical_institution.DOCUMENT_TYPE, licence_printing.DOCUMENT_TYPE,
        agreement_transfer.DOCUMENT_TYPE, agreement_delegation.DOCUMENT_TYPE,
    )
}


def document_type(type_id: str) -> DocumentType:
    try:
        return DOCUMENT_TYPES[type_id]
    except KeyError:
        known = ", ".join(f"{k}（{v.title}）" for k, v in DOCUMENT_TYPES.items())
        raise InvalidData([FieldProblem("doc_type", "known_type", f"没有文书类型“{type_id}”；可用的类型：{known}")], "文书类型") from None
