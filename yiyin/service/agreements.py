"""Agreements between organs, co-sealed: each party seals in turn, every seal an incremental update
that leaves the earlier ones valid; the last party's seal locks the document (field /Lock /P 1)
so that only validation data may follow."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from yiyin.errors import FieldProblem, InvalidData
from yiyin.registry import catalog, documents, numbering, vcodes
from yiyin.registry.models import Item, Organ
from yiyin.service import audit
from yiyin.service.app import App
from yiyin.service.pipeline import Issued, issuing, verify_url
from yiyin.service.policy import level_for
from yiyin.signing.pades import PadesLevel, SealPlacement, SealRequest
from yiyin.templates.catalog import document_type
from yiyin.templates.doctype import DocumentKind
from yiyin.templates.render import IssueMeta

AGREEMENT_SEAL = "公章"


@dataclass(frozen=True)
class AgreementRequest:
    doc_type: str
    data: dict[str, Any]
    case_ref: str
    actor: str = "system"
    issue_date: date | None = None


def issue_agreement(app: App, req: AgreementRequest) -> Issued:
    doc_type = document_type(req.doc_type)
    if doc_type.kind != DocumentKind.agreement:
        raise InvalidData([FieldProblem("doc_type", "agreement", f"{doc_type.id}（{doc_type.title}）不是协议类文书")], "协议")
    model = app.renderer.validate(doc_type, req.data)
    data = model.model_dump(mode="json")
    on = req.issue_date or app.today()
    parties = data["parties"]
    with app.db.transaction() as s:
        problems = []
        for i, party in enumerate(parties):
            organ = s.get(Organ, party["organ_id"])
            if organ is None or organ.name != party["organ_name"]:
                problems.append(FieldProblem(f"parties[{i}]", "registered_organ",
                                             f"{party['organ_name']}（{party['organ_id']}）不是已登记的机关，或名称与登记不符"))
        for i, item in enumerate(data["items"]):
            if s.get(Item, item["code"]) is None:
                problems.append(FieldProblem(f"items[{i}].code", "catalogue", f"事项 {item['code']} 不在事项目录中"))
        if problems:
            raise InvalidData(problems, f"{doc_type.id}（{doc_type.title}）")
        seals = [catalog.active_seal(s, p["organ_id"], AGREEMENT_SEAL, app.now()) for p in parties]
        bureau = catalog.get_organ(s, app.bureau_id)
    sealers = [app.sealer(seal, p["organ_name"]) for seal, p in zip(seals, parties)]

    with app.db.transaction() as s:
        number = numbering.allocate(s, app.bureau_id, doc_type.id, on).number
    with issuing(app, number) as stored:
        code = vcodes.new_code()
        url = verify_url(app.settings.public_url, number, code)
        rendered = app.renderer.render(doc_type, model, IssueMeta(
            organ=bureau.name, date=on, number=number, verification_code=code, verify_url=url, public_url=app.settings.public_url))
        anchors = dict(rendered.anchors)
        if len(anchors) != len(parties):
            raise InvalidData([FieldProblem("parties", "layout", f"版式为 {len(parties)} 方只排出了 {len(anchors)} 个盖章位置")], f"{doc_type.id}（{doc_type.title}）")
        level = level_for(doc_type)
        pdf = rendered.pdf
        for i, (sealer, party) in enumerate(zip(sealers, parties)):
            a = anchors[str(i)]
            last = i == len(parties) - 1
            pdf = sealer.seal(pdf, SealPlacement(a.page, a.x, a.y), SealRequest(
                reason=f"{doc_type.title} {number}（{party['role']}）", location=f"{bureau.province}{bureau.city}{bureau.county}",
                signer_name=f"{party['organ_name']}{AGREEMENT_SEAL}", field_name=f"Seal{i + 1}",
                level=PadesLevel.B_T, final=last))
        sealed_sha256 = hashlib.sha256(pdf).hexdigest()
        final = sealers[-1].extend(pdf, level, app.revocation_material())
        stored_key = stored.put(final)
        with app.db.transaction() as s:
            doc = documents.record_issuance(s, documents.NewDocument(
                number=number, doc_type=doc_type.id, title=doc_type.title, organ_id=app.bureau_id,
                item_code=data["items"][0]["code"], case_ref=req.case_ref,
                holder="、".join(p["organ_name"] for p in parties), issue_date=on, valid_from=None, valid_until=None,
                sha256=sealed_sha256, size=len(final), seal_id=seals[1].id, code_digest=vcodes.digest(code),
                storage_key=stored_key, public_data=data,
            ), actor=req.actor)
            document_id = doc.id
            for seal, party in zip(seals, parties):
                audit.record(s, req.actor, "seal.apply", number, {"seal": seal.id, "seal_name": f"{party['organ_name']}{AGREEMENT_SEAL}",
                                                               "doc_type": doc_type.id, "case": req.case_ref, "sha256": sealed_sha256})
    return Issued(document_id=document_id, number=number, verification_code=code, title=doc_type.title,
                  sha256=sealed_sha256, path=app.store.path_of(stored_key), verify_url=url, level=level.value)
