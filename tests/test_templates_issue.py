"""The new document types issued for real: numbered by the bureau's rules, sealed, recorded, verified."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from yiyin.errors import AuthorityError
from yiyin.registry import documents
from yiyin.registry.licences import LicenceRecord
from yiyin.service.agreements import AgreementRequest, issue_agreement
from yiyin.service.app import App
from yiyin.service.pipeline import Issuer, IssueRequest
from yiyin.service.samples import resolve_dates
from yiyin.service.verify import verify_pdf

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "documents"


def sample(type_id: str) -> dict:
    return resolve_dates(json.loads((SAMPLES / f"{type_id}.json").read_text("utf-8")), date.today())


@pytest.mark.slow
def test_a_new_licence_kind_is_issued_end_to_end_and_verifies(app: App) -> None:
    issued = Issuer(app).issue(IssueRequest(doc_type="licence_hazchem", data=sample("licence_hazchem"),
                                            item_code="210321-XK-0431", case_ref="台审批受〔2026〕0931号", actor="test"))
    assert issued.number.startswith(f"辽鞍台危化经字〔{date.today().year}〕") and len(issued.number.split("〕")[1]) == 6
    report = verify_pdf(app, issued.path.read_bytes())
    assert report.valid, report.to_json()
    assert report.document["seal"] == "台安县行政审批局行政审批专用章"
    with app.db.session() as s:
        doc = documents.by_number(s, issued.number)
        assert doc is not None and doc.holder == "台安县富家加油站有限公司"
        assert doc.valid_until is not None and (doc.valid_until - doc.valid_from).days < 3 * 366
        record = s.get(LicenceRecord, doc.id)
        assert record is not None and record.licence_name == "危险化学品经营许可证" and record.holder_code == "91210321MA0WHP218C"
    attached = json.loads(PdfReader(issued.path).attachments["yiyin-document.json"][0])
    assert attached["number"] == issued.number and attached["data"]["scope"] == ["汽油", "柴油［闭杯闪点≤60℃］"]


@pytest.mark.slow
def test_a_refusal_and_its_case_papers_take_their_own_numbers(app: App) -> None:
    issuer = Issuer(app)
    year = date.today().year
    expected = {"decision_refuse": f"台审批许不〔{year}〕", "notice_correction": f"台审批补正〔{year}〕",
                "receipt_service": f"台审批送〔{year}〕"}
    for type_id, prefix in expected.items():
        issued = issuer.issue(IssueRequest(doc_type=type_id, data=sample(type_id), item_code="210321-XK-0302",
                                           case_ref="台审批受〔2026〕0902号", actor="test"))
        assert issued.number.startswith(prefix), issued.number
        assert verify_pdf(app, issued.path.read_bytes()).valid
    # a licence kind is only issued for an item that produces it
    with pytest.raises(AuthorityError, match="licence_road_transport"):
        issuer.issue(IssueRequest(doc_type="licence_printing", data=sample("licence_printing"), item_code="210321-XK-0302",
                                  case_ref="X-1", actor="test"))


@pytest.mark.slow
def test_delegation_agreement_is_sealed_by_every_party(app: App) -> None:
    issued = issue_agreement(app, AgreementRequest("agreement_delegation", sample("agreement_delegation"), "台审批委-1", actor="test"))
    assert issued.number.startswith(f"台审批委〔{date.today().year}〕")
    report = verify_pdf(app, issued.path.read_bytes())
    assert report.valid, [(c.id, c.detail) for c in report.checks if not c.ok]
    seals = [s for s in report.signatures if s["kind"] == "seal"]
    assert [s["signer_organization"] for s in seals] == ["台安县市场监督管理局", "台安县行政审批局", "台安县司法局"]


def test_a_sealer_used_again_carries_nothing_of_the_earlier_document(app: App) -> None:
    """The seal's appearance in a document references only that document's objects, however many
    documents the same sealer sealed before (a long agreement, then a short one)."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    from yiyin.registry import catalog
    from yiyin.signing.pades import SealPlacement, SealRequest
    from yiyin.templates.catalog import document_type
    from yiyin.templates.render import IssueMeta

    with app.db.session() as s:
        seal = catalog.active_seal(s, "taian-sfj", "公章", app.now())
    sealer = app.sealer(seal, "台安县司法局")
    meta = IssueMeta(organ="台安县行政审批局", date=date.today(), number="T-1")
    for type_id in ("agreement_transfer", "notice_rejection"):
        rendered = app.renderer.render(document_type(type_id), sample(type_id), meta)
        a = rendered.anchors[-1][1]
        sealed = sealer.seal(rendered.pdf, SealPlacement(a.page, a.x, a.y), SealRequest(reason="x", location="x", signer_name="x"))
    from pyhanko.pdf_utils import generic

    reader = PdfFileReader(io.BytesIO(sealed), strict=False)
    unsealed_size = int(PdfFileReader(io.BytesIO(rendered.pdf), strict=False).trailer["/Size"])
    widget = reader.embedded_signatures[0].sig_field
    # every object the appearance reaches exists and was written with this seal (its own copy)
    seen: set[int] = set()
    todo = [widget["/AP"].raw_get("/N")]
    while todo:
        obj = todo.pop()
        if isinstance(obj, generic.IndirectObject):
            assert obj.idnum >= unsealed_size, f"the appearance points at object {obj.idnum} of the document"
            if obj.idnum in seen:
                continue
            seen.add(obj.idnum)
            target = obj.get_object()
            assert not isinstance(target, generic.NullObject), f"dangling reference {obj.idnum}"
            todo.append(target)
        elif isinstance(obj, generic.DictionaryObject):
            todo += [obj.raw_get(k) for k in obj]
        elif isinstance(obj, generic.ArrayObject):
            todo += list(obj.iterate())
    assert len(seen) > 3  # the form, its fonts and colour space
